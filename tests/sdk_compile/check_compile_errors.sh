#!/bin/sh
# Compiles each cases/*.cpp against the SDK and expects it to FAIL with the message in its
# "// expect: ..." line: MOSS_PLUGIN must reject each mistake at compile time, by name.
# A case without an expect line is a control that must compile.
# Usage: check_compile_errors.sh CXX SDK_INCLUDE_DIR CASES_DIR
set -u
cxx=$1 include=$2 cases=$3
failures=0
for case in "$cases"/*.cpp; do
  expect=$(sed -n 's|^// expect: ||p' "$case")
  output=$("$cxx" -std=c++20 -fsyntax-only -I "$include" "$case" 2>&1)
  status=$?
  if [ -z "$expect" ]; then
    if [ $status -ne 0 ]; then
      echo "FAIL $(basename "$case"): a valid plugin did not compile"
      printf '%s\n' "$output" | grep -m3 "error" | sed 's/^/    /'
      failures=$((failures + 1))
    else
      echo "ok   $(basename "$case"): compiles"
    fi
  elif [ $status -eq 0 ]; then
    echo "FAIL $(basename "$case"): compiled, expected an error containing: $expect"
    failures=$((failures + 1))
  elif ! printf '%s' "$output" | grep -qF -- "$expect"; then
    echo "FAIL $(basename "$case"): the error does not contain: $expect"
    printf '%s\n' "$output" | grep -m3 "error" | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "ok   $(basename "$case"): $expect"
  fi
done
exit $failures
