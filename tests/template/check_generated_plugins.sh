#!/bin/sh
# What a plugin author does, for every kind: generate a project with `moss plugin new`, build it
# against the SDK installed into a scratch prefix (find_package only; no path into the source
# tree), run its own tests, inspect the .so and load it into moss.
# Usage: check_generated_plugins.sh BUILD_DIR MOSS_BINARY SOURCE_DIR
# Each project's ctest runs its unit test and its `conformance` test (moss plugin test), so
# every kind of the template must pass the conformance kit.
set -eu
build=$1 moss=$2 source=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
prefix=$scratch/prefix

fail() {
  echo "FAILED: $*" >&2
  exit 1
}

cmake --install "$build" --prefix "$prefix" --component sdk >/dev/null
[ -f "$prefix/share/moss/template/common/CMakeLists.txt" ] ||
  fail "the sdk component did not install the template into share/moss/template"
# The installed layout: a moss in <prefix>/bin finds <prefix>/share/moss/template by itself.
mkdir -p "$prefix/bin"
cp "$moss" "$prefix/bin/moss"

generator=
command -v ninja >/dev/null && generator="-G Ninja"
launcher=
command -v ccache >/dev/null && launcher=-DCMAKE_CXX_COMPILER_LAUNCHER=ccache

for kind in tool llm-backend evolver guard compiler planner; do
  name=my-$kind
  project=$scratch/$name
  echo "== $kind: $name"
  (cd "$scratch" && "$prefix/bin/moss" plugin new "$name" --kind "$kind" --json) >"$scratch/new.json" ||
    fail "$kind: moss plugin new exited with $?"
  grep -q "\"template\": \"$prefix/share/moss/template\"" "$scratch/new.json" ||
    fail "$kind: the template was not taken from the installed layout: $(cat "$scratch/new.json")"

  # shellcheck disable=SC2086  # $generator and $launcher are empty or one word each
  cmake -S "$project" -B "$project/build" $generator $launcher -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" -DMOSS_PROGRAM="$moss" >"$scratch/configure.log" 2>&1 ||
    { cat "$scratch/configure.log"; fail "$kind: the generated project does not configure"; }
  grep -Eq "^moss-sdk_DIR:PATH=$prefix/lib/([a-z0-9_-]+/)?cmake/moss-sdk\$" "$project/build/CMakeCache.txt" ||
    fail "$kind: find_package(moss-sdk) found $(grep '^moss-sdk_DIR' "$project/build/CMakeCache.txt")"
  cmake --build "$project/build" >"$scratch/build.log" 2>&1 ||
    { cat "$scratch/build.log"; fail "$kind: the generated project does not build"; }
  # The SDK came from the prefix, not from the source tree (the build tree's moss, named by
  # MOSS_PROGRAM for the conformance test, may well lie inside the source tree).
  if grep -rqF "$source/sdk" "$project/build" 2>/dev/null; then
    fail "$kind: the build refers to the SDK in the source tree, $source/sdk"
  fi
  grep -qF -- "-isystem $prefix/include" "$project/build/build.ninja" "$project/build/CMakeFiles/"*/flags.make 2>/dev/null ||
    fail "$kind: the plugin is not compiled with the installed SDK's headers ($prefix/include)"

  ctest --test-dir "$project/build" -N | grep -q "conformance" ||
    fail "$kind: the conformance test is not registered although moss was given"
  ctest --test-dir "$project/build" --output-on-failure >"$scratch/ctest.log" 2>&1 ||
    { cat "$scratch/ctest.log"; fail "$kind: the generated project's own tests fail"; }
  grep -q "Test #1: unit .* Passed" "$scratch/ctest.log" &&
    grep -q "Test #2: conformance .* Passed" "$scratch/ctest.log" ||
    { cat "$scratch/ctest.log"; fail "$kind: the unit or the conformance test did not run"; }

  so=$project/build/$name.so
  sdk_kind=$(echo "$kind" | tr - _)
  "$moss" plugin inspect "$so" >"$scratch/inspect.txt" || fail "$kind: moss plugin inspect refused $so"
  grep -Eq "^kinds: +$sdk_kind\$" "$scratch/inspect.txt" ||
    { cat "$scratch/inspect.txt"; fail "$kind: inspect does not show kind $sdk_kind"; }
  grep -Eq "^name: +$name\$" "$scratch/inspect.txt" || fail "$kind: inspect does not show the name"

  # Loads at once into moss, with the moss.toml lines its README gives.
  printf 'state_dir = "state"\n\n[plugins.%s]\npath = "build/%s.so"\n' "$name" "$name" \
    >"$project/moss.toml"
  (cd "$project" && "$moss" plugin list) >"$scratch/list.txt" 2>"$scratch/list.err" ||
    fail "$kind: moss plugin list exited with $?: $(cat "$scratch/list.err")"
  grep -Eq "^$name +active +$name +0\.1\.0 +$sdk_kind " "$scratch/list.txt" ||
    { cat "$scratch/list.txt" "$scratch/list.err"; fail "$kind: not active in moss plugin list"; }
  if [ "$kind" = tool ]; then
    (cd "$project" && "$moss" call "$name" '{"text": "the cat and the hat", "top": 1}') \
      >"$scratch/call.txt" 2>/dev/null || fail "tool: moss call failed"
    tr -d ' \n' <"$scratch/call.txt" | grep -qF '{"distinct":4,"top":[{"count":2,"word":"the"}],"words":5}' ||
      fail "tool: moss call answered $(cat "$scratch/call.txt")"
  fi
done
echo "every kind: generated, built against the installed SDK, tested, inspected and loaded"
