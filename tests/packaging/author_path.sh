#!/bin/bash
# The plugin author's path, from the packages alone: builds the .deb files and the tarball
# with CPack, unpacks them into a scratch root with `dpkg -x`, generates a tool plugin with
# the unpacked `moss plugin new`, builds it against the unpacked SDK, tests it with
# `moss plugin test`, loads and calls it, and shows a plugin built for another ABI major
# refused. It also checks what the packages hold, and runs lintian when it is installed.
# After step 1 nothing is read from the build or source tree but the list of built plugins.
# Usage: author_path.sh BUILD_DIR
set -euo pipefail

build=$(cd "$1" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
step_name="setting up"

step() {
  step_name=$1
  echo "== step $step_name"
}
fail() {
  echo "FAILED at step $step_name: $*" >&2
  exit 1
}
# Runs a command, its standard output to $out and its standard error to $err; on a failure
# shows both and fails the step.
out=$scratch/last.out
err=$scratch/last.err
run() {
  local status=0
  "$@" >"$out" 2>"$err" || status=$?
  if [ "$status" -ne 0 ]; then
    cat "$out" "$err" >&2
    fail "'$*' exited with $status"
  fi
}
require_tool() {
  command -v "$1" >/dev/null || fail "$1 is not installed (Debian package $2)"
}

step "1: build the packages with cpack"
require_tool cpack cmake
require_tool dpkg-shlibdeps dpkg-dev
require_tool file file
[ -f "$build/CPackConfig.cmake" ] || fail "$build/CPackConfig.cmake is missing"
packages=$scratch/packages
run cpack --config "$build/CPackConfig.cmake" -B "$packages"
deb_host=$(ls "$packages"/moss_*.deb 2>/dev/null || true)
deb_sdk=$(ls "$packages"/moss-sdk-dev_*.deb 2>/dev/null || true)
tarball=$(ls "$packages"/moss-*.tar.gz 2>/dev/null || true)
[ -f "$deb_host" ] || fail "no moss_*.deb in $packages: $(ls "$packages")"
[ -f "$deb_sdk" ] || fail "no moss-sdk-dev_*.deb in $packages: $(ls "$packages")"
[ -f "$tarball" ] || fail "no moss-*.tar.gz in $packages: $(ls "$packages")"

step "2: unpack the packages into a scratch root with dpkg -x"
root=$scratch/root
run dpkg -x "$deb_host" "$root"
run dpkg -x "$deb_sdk" "$root"
moss=$root/usr/bin/moss
[ -x "$moss" ] || fail "the moss package has no usr/bin/moss (was the build configured with \
CMAKE_INSTALL_PREFIX=/usr? The package holds: $(dpkg-deb -c "$deb_host" | awk '{print $6}' | tr '\n' ' '))"

step "2a: the tarball holds the same files as the two packages"
(cd "$root" && find . -type f -o -type l | sed 's|^\./||' | sort) >"$scratch/deb-files"
tar -tzf "$tarball" | grep -v '/$' | sed 's|^[^/]*/||' | sort >"$scratch/tar-files"
if ! diff -u "$scratch/deb-files" "$scratch/tar-files" >"$scratch/files.diff"; then
  cat "$scratch/files.diff" >&2
  fail "the tarball and the .deb files hold different files (- .deb, + tarball)"
fi

step "2b: the moss package's control data"
control=$scratch/control
run dpkg-deb -e "$deb_host" "$control"
grep -qx "/etc/moss/moss.toml" "$control/conffiles" ||
  fail "DEBIAN/conffiles does not list /etc/moss/moss.toml: $(cat "$control/conffiles" 2>&1)"
[ -f "$root/etc/moss/moss.toml" ] || fail "the moss package has no etc/moss/moss.toml"
for script in postinst prerm postrm; do
  [ -x "$control/$script" ] || fail "the moss package has no executable DEBIAN/$script"
done
depends=$(dpkg-deb -f "$deb_host" Depends)
[ -n "$depends" ] || fail "the moss package has an empty Depends field"
echo "Depends: $depends"
# Every library that moss and the packaged plugins link must be depended on, by the package
# that holds it on this system.
depended=" $(echo "$depends" | tr ',|' '\n\n' | sed 's/(.*)//; s/ //g' | tr '\n' ' ') "
elf_files=("$moss" "$root"/usr/lib/moss/plugins/*.so)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
for needed in $(objdump -p "${elf_files[@]}" | awk '$1 == "NEEDED" {print $2}' | sort -u); do
  owner=""
  for dir in "/lib/$multiarch" "/usr/lib/$multiarch"; do
    if [ -z "$owner" ] && dpkg -S "$dir/$needed" >"$scratch/owner" 2>/dev/null; then
      owner=$(cut -d: -f1 "$scratch/owner")
    fi
  done
  [ -n "$owner" ] || fail "no installed package holds $needed in /lib/$multiarch or /usr/lib/$multiarch"
  # The owner's shlibs file may name a virtual package it provides (libspdlog1.10 provides
  # libspdlog1.10-fmt9, which encodes the fmt ABI it was built with).
  provides=$(dpkg-query -W -f='${Provides}' "$owner" | tr ',' '\n' | sed 's/(.*)//; s/ //g')
  found=""
  for name in $owner $provides; do
    case "$depended" in *" $name "*) found=$name ;; esac
  done
  [ -n "$found" ] || fail "moss links $needed (package $owner), but Depends is '$depends'"
  echo "links $needed: Depends has $found"
done
case "$depended" in
  *" adduser "*) ;;
  *) fail "Depends lacks adduser, which the postinst runs: '$depends'" ;;
esac

step "2c: the service unit, the man page, the documentation"
unit=$root/lib/systemd/system/moss.service
[ -f "$unit" ] || fail "the moss package has no lib/systemd/system/moss.service"
grep -q '^ExecStart=/usr/bin/moss .*serve$' "$unit" || fail "moss.service does not run moss serve"
grep -qx 'User=moss' "$unit" || fail "moss.service does not run as the user moss"
grep -qx 'StateDirectory=moss' "$unit" || fail "moss.service has no StateDirectory=moss"
if command -v systemd-analyze >/dev/null; then
  # Checked with the unpacked moss in ExecStart; any message is a complaint (verify exits 0
  # on directives it ignores).
  sed "s|^ExecStart=/usr/bin/moss |ExecStart=$moss |" "$unit" >"$scratch/moss.service"
  systemd-analyze verify --man=no "$scratch/moss.service" >"$out" 2>&1 || true
  if [ -s "$out" ]; then
    cat "$out" >&2
    fail "systemd-analyze verify complains about moss.service"
  fi
fi
[ -f "$root/usr/share/man/man1/moss.1.gz" ] ||
  fail "the moss package has no man page (was help2man installed when the build was configured?)"
for package in moss moss-sdk-dev; do
  for doc in copyright changelog.Debian.gz; do
    [ -f "$root/usr/share/doc/$package/$doc" ] || fail "no usr/share/doc/$package/$doc"
  done
done

step "2d: the bundled plugins"
# Every plugin the build made, except the demo's deliberately buggy slug-tool.
[ ! -e "$root/usr/lib/moss/plugins/slug-tool.so" ] || fail "slug-tool.so is packaged"
for built in "$build"/plugins/*.so; do
  name=$(basename "$built")
  [ "$name" = "slug-tool.so" ] && continue
  packaged=$root/usr/lib/moss/plugins/$name
  [ -f "$packaged" ] || fail "the built plugin $name is not in usr/lib/moss/plugins"
  # Stripped, the plugin must still carry its manifest and entry symbol.
  run "$moss" plugin inspect "$packaged"
done
run "$moss" config check "$root/etc/moss/moss.toml"
# The paths the packaged config's examples name exist in the package.
for key in path eval; do
  example=$(sed -n "s|^# $key = \"\\([^\"]*\\)\".*|\\1|p" "$root/etc/moss/moss.toml" | head -n 1)
  [ -n "$example" ] || fail "moss.toml has no '# $key = \"...\"' example"
  [ -e "$root$example" ] || fail "moss.toml's example $key $example is not in the package"
done

step "2e: lintian"
if command -v lintian >/dev/null; then
  lintian --tag-display-limit 0 "$deb_host" "$deb_sdk" >"$scratch/lintian.log" 2>&1 || true
  cat "$scratch/lintian.log"
  if grep -q '^E: ' "$scratch/lintian.log"; then
    fail "lintian reports errors (E:) on the packages"
  fi
else
  echo "lintian is not installed: skipped"
fi

step "3: generate a tool plugin with the unpacked moss plugin new"
# The template comes from beside the executable: <root>/usr/share/moss/template.
unset MOSS_TEMPLATE_DIR MOSS_CONFIG
[ -f "$root/usr/share/moss/template/common/CMakeLists.txt" ] ||
  fail "the moss-sdk-dev package has no usr/share/moss/template"
project=$scratch/wordcount
run "$moss" plugin new wordcount --kind tool --dir "$project"
[ -f "$project/CMakeLists.txt" ] || fail "moss plugin new wrote no $project/CMakeLists.txt"

step "4: build it out of tree against the unpacked SDK only"
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
run cmake -S "$project" -B "$project/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$root/usr" -DMOSS_PROGRAM="$moss"
run cmake --build "$project/build" -j 2
grep -qx "moss-sdk_DIR:PATH=$root/usr/lib/.*" "$project/build/CMakeCache.txt" ||
  fail "find_package(moss-sdk) did not use the unpacked SDK: $(grep moss-sdk_DIR "$project/build/CMakeCache.txt")"
plugin=$project/build/wordcount.so
[ -f "$plugin" ] || fail "the build made no $plugin"
# Its own unit test; the conformance test is step 5.
run ctest --test-dir "$project/build" --output-on-failure -E conformance

step "5: moss plugin test passes"
run "$moss" plugin test "$plugin" --suite "$project/eval"
cat "$out"

step "6: load it into the unpacked moss and call it"
cat >"$scratch/moss.toml" <<EOF
state_dir = "$scratch/state"

[plugins.wordcount]
path = "$plugin"
eval = "$project/eval"

[plugins.text]
path = "$root/usr/lib/moss/plugins/text-tool.so"
EOF
export MOSS_CONFIG=$scratch/moss.toml
run "$moss" plugin list
cat "$out"
for instance in wordcount text; do
  awk -v i="$instance" '$1 == i && $2 == "active" {found = 1} END {exit !found}' "$out" ||
    fail "moss plugin list does not show $instance active"
done
run "$moss" call wordcount '{"text": "moss grows moss"}'
[ -s "$out" ] || fail "moss call wordcount printed nothing"
cat "$out"
run "$moss" call text '{"op": "upper", "text": "packaged"}'
grep -q "PACKAGED" "$out" || fail "the packaged text-tool answered $(cat "$out")"

step "7: a plugin built for the next ABI major is refused with exit code 4"
# `moss --version` says "moss X.Y.Z (SDK ABI MAJOR.MINOR, TOOLCHAIN)".
abi=$("$moss" --version | sed -n 's/.*SDK ABI \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
read -r major minor <<<"$abi"
[ -n "$minor" ] || fail "cannot read the SDK ABI from '$("$moss" --version)'"
next=$((major + 1))
abi_next=$scratch/wordcount-abi$next
cp -R "$project" "$abi_next"
rm -rf "$abi_next/build"
source_file=$abi_next/src/wordcount.cpp
{
  printf '#include <moss/sdk/version.hpp>\n#undef MOSS_SDK_ABI_MAJOR\n#define MOSS_SDK_ABI_MAJOR %s\n' "$next"
  cat "$project/src/wordcount.cpp"
} >"$source_file"
run cmake -S "$abi_next" -B "$abi_next/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$root/usr" -DMOSS_PROGRAM="$moss"
run cmake --build "$abi_next/build" -j 2 --target wordcount
refused=$abi_next/build/wordcount.so
# The message of the README's table, row "wrong ABI major".
expected="$refused: plugin 'wordcount' was built for moss SDK ABI $next.$minor, but this host supports ABI $major.$minor: ABI major mismatch (expected $major, found $next)"
# Refused when inspected, and when offered to the loaded instance as its next version.
expect_refused() {
  local code=0
  "$moss" "$@" >"$out" 2>"$err" || code=$?
  cat "$out" "$err"
  [ "$code" -eq 4 ] || fail "moss $* exited with $code for an ABI $next plugin, expected 4"
  grep -qF "$expected" "$out" "$err" || fail "moss $* did not print: $expected"
}
expect_refused plugin inspect "$refused"
expect_refused candidate add wordcount "$refused"

echo "== the author's path works from the packages"
