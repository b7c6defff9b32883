#!/usr/bin/env bash
# Benchmark: the evolution cycle's overhead beyond the compiler, measured side by side.
#
# For the one-file plugin slug-tool, one `moss evolve` cycle takes the demo's first patch
# (llm-replay, so the LLM costs nothing) from "apply" to "promoted": apply the patch in the
# git workspace, build, evaluate in the isolated worker, Ratchet, hot swap, record. It is
# compared with the bare compile command of the same source plus the eval suite's own time
# in the worker. ccache is off for both, so each compiles for real.
#
# Usage: tests/bench/evolution_cycle.sh [BUILD_DIR] [RUNS]   (defaults: build, 5)
# Goals (issue #4): cycle <= 1.3 x (bare compile + eval suite); verdict -> serving <= 1 ms.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
runs=${2:-5}
moss_bin="$build/host/moss"
export CCACHE_DISABLE=1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -n 2 "$root/config/demo/evolution.jsonl" >"$work/replay.jsonl"  # analyze, the diff fix

deployment() {  # $1: a fresh directory
  mkdir -p "$1"
  cat >"$1/moss.toml" <<EOF
state_dir = "state"
llm_backend = "llm-replay"
[logging]
level = "warn"
[self_evolution]
llm_backoff_s = 0
[plugins.ratchet-guard]
path = "$build/plugins/ratchet-guard.so"
[plugins.evolver-moss]
path = "$build/plugins/evolver-moss.so"
[plugins.llm-replay]
path = "$build/plugins/llm-replay.so"
file = "$work/replay.jsonl"
mode = "sequence"
[plugins.slug-tool]
path = "$build/plugins/slug-tool.so"
eval = "$root/plugins/slug-tool/eval"
source = "$root/plugins/slug-tool"
EOF
}

# The elapsed_s of a stage event, or a cycle's field, from `moss evolve --json` output.
stage_at() { grep "\"stage\":\"$2\"" "$1" | sed -n 's/.*"elapsed_s":\([0-9.e-]*\).*/\1/p' | head -1; }
field() { grep '"event":"cycle"' "$1" | sed -n "s/.*\"$2\":\([0-9.e-]*\).*/\1/p" | head -1; }
now_ms() { date +%s%N | awk '{printf "%.3f", $1 / 1e6}'; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

: >"$work/bare" >"$work/cycle" >"$work/eval" >"$work/serve"
for run in $(seq "$runs"); do
  dir="$work/run$run"
  deployment "$dir"
  "$moss_bin" --config "$dir/moss.toml" evolve slug-tool --json >"$dir/out.jsonl"
  grep -q '"outcome":"promoted"' "$dir/out.jsonl" || { cat "$dir/out.jsonl"; exit 1; }
  apply=$(stage_at "$dir/out.jsonl" apply)
  promoted=$(stage_at "$dir/out.jsonl" promoted)
  awk -v a="$apply" -v p="$promoted" 'BEGIN {printf "%.3f\n", (p - a) * 1000}' >>"$work/cycle"
  field "$dir/out.jsonl" eval_wall_ms >>"$work/eval"
  field "$dir/out.jsonl" verdict_to_serving_ms >>"$work/serve"

  # The bare compile: the Builder's own command line, recorded with the attempt, run again on
  # the same patched source, put back where the Builder had it.
  "$moss_bin" --config "$dir/moss.toml" lineage slug-tool --json >"$dir/lineage.json"
  commit=$(sed -n 's/.*"commit": "\([0-9a-f]*\)".*/\1/p' "$dir/lineage.json" | tail -1)
  line=$(sed -n 's/.*"build_command": "\(.*\)".*/\1/p' "$dir/lineage.json" | tail -1)
  read -r -a command <<<"$line"
  source_dir="$dir/state/evolution/slug-tool/builds/$commit/src"
  mkdir -p "$source_dir"
  git --git-dir="$dir/state/evolution/slug-tool/source.git" show "$commit:src/slug_tool.cpp" \
    >"$source_dir/slug_tool.cpp"
  start=$(now_ms)
  "${command[@]}"
  end=$(now_ms)
  awk -v s="$start" -v e="$end" 'BEGIN {printf "%.3f\n", e - s}' >>"$work/bare"
done

bare=$(median <"$work/bare")
eval_ms=$(median <"$work/eval")
cycle=$(median <"$work/cycle")
serve=$(median <"$work/serve")
awk -v b="$bare" -v e="$eval_ms" -v c="$cycle" -v s="$serve" -v n="$runs" 'BEGIN {
  printf "evolution cycle, slug-tool (one file), ccache off, median of %d runs\n", n
  printf "  %-40s %10.1f ms\n", "bare compile (same command, same source)", b
  printf "  %-40s %10.1f ms\n", "eval suite (worker wall time)", e
  printf "  %-40s %10.1f ms\n", "patch -> promoted (moss evolve)", c
  printf "  %-40s %10.2f x   (goal <= 1.3)\n", "cycle / (bare compile + eval suite)", c / (b + e)
  printf "  %-40s %10.3f ms  (goal <= 1 ms)\n", "verdict -> serving", s
}'
