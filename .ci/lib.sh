# Shared by .ci/run and .ci/demo: install what is missing (Debian 12), configure, build.
# Sourced, not executed. Honours MOSS_BUILD_DIR (default: build) and MOSS_CMAKE_ARGS.

MOSS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MOSS_BUILD_DIR=${MOSS_BUILD_DIR:-$MOSS_ROOT/build}

MOSS_PACKAGES=(
  g++ cmake ninja-build pkg-config ccache git
  libboost-dev libboost-program-options-dev
  libtomlplusplus-dev libspdlog-dev libsqlite3-dev sqlite3 catch2 nlohmann-json3-dev
  libcurl4-openssl-dev libcpp-httplib-dev libgit2-dev libvalijson-dev libbenchmark-dev
  json-schema-test-suite dpkg-dev fakeroot file lintian help2man
)

moss_install_packages() {
  local missing=()
  for p in "${MOSS_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "== installing: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

moss_build() {
  echo "== configuring in $MOSS_BUILD_DIR"
  local launcher=()
  if command -v ccache >/dev/null 2>&1; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  # shellcheck disable=SC2086
  cmake -S "$MOSS_ROOT" -B "$MOSS_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMOSS_BUILD_BENCHMARKS=ON \
    "${launcher[@]}" ${MOSS_CMAKE_ARGS:-}
  echo "== building"
  cmake --build "$MOSS_BUILD_DIR" -j "$(nproc)"
}
