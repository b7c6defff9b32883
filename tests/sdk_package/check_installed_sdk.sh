#!/bin/sh
# Installs the SDK component into a scratch prefix, builds tests/sdk_package/example against
# it with find_package(moss-sdk), and inspects the result with the host.
# Usage: check_installed_sdk.sh BUILD_DIR SOURCE_DIR MOSS_BINARY
set -eu
build=$1 source=$2 moss=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cmake --install "$build" --prefix "$scratch/prefix" --component sdk >/dev/null
cmake -S "$source/tests/sdk_package/example" -B "$scratch/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$scratch/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$scratch/build" >/dev/null
"$moss" plugin inspect "$scratch/build/hello.so"
