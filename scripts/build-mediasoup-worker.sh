#!/usr/bin/env bash
# Builds the mediasoup C++ worker offline, from the sources of the installed npm package, against
# Debian's libraries, into a cache folder outside the repository; prints the binary's path last.
#
#   scripts/build-mediasoup-worker.sh            # build once; later runs find the cached binary
#   PROMETHEAN_CACHE=/some/dir scripts/...       # cache root (default: $HOME/.cache/promethean)
#
# Why not mediasoup's own build: its postinstall downloads a prebuilt worker, and its meson build
# downloads every dependency (openssl, libuv, libsrtp2, usrsctp, abseil, nlohmann_json, catch2) as
# meson "wraps" from outside the package registries. mediasoup 3.12.x is the last release whose
# dependencies are the very versions Debian bookworm ships (libsrtp 2.5, libuv 1.44, abseil
# 20220623, OpenSSL 3.0); 3.13+ needs flatbuffers 24 and its own libsrtp 3 fork. So this script
# copies the package's worker/ into the cache, replaces each wrap by a two-line meson subproject that
# finds the Debian library through pkg-config, relaxes meson_version to Debian's meson 1.0, and
# builds only the `mediasoup-worker` executable. node_modules is never written to.
#
# Needs (Debian): python3 meson ninja-build pkg-config g++ libssl-dev libuv1-dev libsrtp2-dev
#                 libusrsctp-dev libabsl-dev nlohmann-json3-dev
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[mediasoup-worker] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The installed package (a dependency of the server workspace).
pkg_json="$(node -e 'const { createRequire } = require("node:module"); process.stdout.write(createRequire(process.argv[1]).resolve("mediasoup/package.json"))' "$PWD/server/package.json" 2>/dev/null)" ||
  die "mediasoup is not installed: run npm ci first"
pkg_dir="$(dirname "$pkg_json")"
version="$(node -p 'require(process.argv[1]).version' "$pkg_json")"
case "$version" in
  3.12.*) ;;
  *) die "this recipe is for mediasoup 3.12.x (found $version): later releases need flatbuffers 24 and libsrtp 3, which Debian bookworm lacks" ;;
esac

cache_root="${PROMETHEAN_CACHE:-$HOME/.cache/promethean}"
out="$cache_root/mediasoup-$version"
bin="$out/mediasoup-worker"
stamp="$out/recipe.sha256"
# The cached binary is reused while this script (the recipe) and the version are unchanged.
recipe="$( (cat "$0"; printf '%s\n' "$version") | sha256sum | cut -d' ' -f1)"

if [ -x "$bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$recipe" ]; then
  log "cached: mediasoup $version worker ($(du -h "$bin" | cut -f1))"
  printf '%s\n' "$bin"
  exit 0
fi

# Prerequisites, all named at once.
missing=()
for tool in python3 meson ninja pkg-config g++; do command -v "$tool" >/dev/null || missing+=("$tool"); done
for module in openssl libuv libsrtp2 usrsctp absl_strings absl_flat_hash_map absl_optional absl_variant nlohmann_json; do
  pkg-config --exists "$module" 2>/dev/null || missing+=("pkg-config:$module")
done
if [ ${#missing[@]} -gt 0 ]; then
  die "missing ${missing[*]}; install: apt-get install -y python3 meson ninja-build pkg-config g++ libssl-dev libuv1-dev libsrtp2-dev libusrsctp-dev libabsl-dev nlohmann-json3-dev"
fi

started=$SECONDS
src="$out/src"
log "mediasoup $version: copying $pkg_dir/worker to $src"
rm -rf "$src"
mkdir -p "$out"
cp -R "$pkg_dir/worker" "$src"
chmod -R u+w "$src"

# Source fixes, in the copy only.
sed -i "s/meson_version: '>= 1.1.0'/meson_version: '>= 1.0.0'/" "$src/meson.build"
grep -q "meson_version: '>= 1.0.0'" "$src/meson.build" || die "meson.build no longer says meson_version '>= 1.1.0': update this recipe"

# Each wrap becomes a subproject that provides the variables mediasoup's meson.build reads, from
# Debian's library. The *_lib variables only feed libmediasoup-worker (not built): empty lists.
sub="$src/subprojects"
rm -f "$sub"/*.wrap
subproject() { # name, meson.build body, [meson_options.txt body]
  mkdir -p "$sub/$1"
  printf '%s\n' "$2" >"$sub/$1/meson.build"
  if [ $# -gt 2 ]; then printf '%s\n' "$3" >"$sub/$1/meson_options.txt"; fi
}
subproject openssl "project('openssl', 'c')
openssl_dep = dependency('openssl', version: '>= 3.0')
libcrypto_lib = []
libssl_lib = []"
subproject nlohmann_json "project('nlohmann_json', 'cpp')
nlohmann_json_dep = dependency('nlohmann_json')"
subproject libuv "project('libuv', 'c')
libuv_dep = dependency('libuv')
libuv = []" "option('build_tests', type: 'boolean', value: false)
option('build_benchmarks', type: 'boolean', value: false)"
# Debian installs srtp.h under srtp2/; mediasoup includes it as <srtp.h>.
subproject libsrtp2 "project('libsrtp2', 'c')
libsrtp2_dep = declare_dependency(dependencies: dependency('libsrtp2'), compile_args: ['-I/usr/include/srtp2'])
libsrtp2 = []" "option('crypto-library', type: 'string', value: '')
option('crypto-library-kdf', type: 'string', value: '')
option('tests', type: 'string', value: '')"
subproject usrsctp "project('usrsctp', 'c')
usrsctp_dep = dependency('usrsctp')
usrsctp = []" "option('sctp_build_programs', type: 'boolean', value: false)"
subproject abseil-cpp "project('abseil-cpp', 'cpp')
absl_container_dep = dependency('absl_flat_hash_map')
absl_strings_dep = dependency('absl_strings')
absl_types_dep = declare_dependency(dependencies: [dependency('absl_optional'), dependency('absl_variant')])
absl_container_lib = []"
# Only the worker's own unit tests use Catch2; they are not built.
subproject catch2 "project('catch2', 'cpp')
catch2_dep = dependency('', required: false)"

build="$src/out"
log "configuring (meson $(meson --version), Debian's libraries, no downloads)"
meson setup --buildtype=release -Db_ndebug=true --wrap-mode=nodownload "$build" "$src" >"$out/meson-setup.log" 2>&1 ||
  { tail -30 "$out/meson-setup.log" >&2; die "meson setup failed (log: $out/meson-setup.log)"; }

jobs="$(nproc 2>/dev/null || echo 2)"
log "compiling mediasoup-worker with $jobs jobs (several minutes; log: $out/ninja.log)"
ninja -C "$build" -j "$jobs" mediasoup-worker >"$out/ninja.log" 2>&1 &
ninja_pid=$!
while kill -0 "$ninja_pid" 2>/dev/null; do
  sleep 30
  progress="$(grep -o '^\[[0-9]*/[0-9]*\]' "$out/ninja.log" | tail -1 || true)"
  log "  ${progress:-starting} after $((SECONDS - started)) s"
done
wait "$ninja_pid" || { grep -B2 -A10 -m3 'FAILED\|error:' "$out/ninja.log" >&2 || tail -30 "$out/ninja.log" >&2; die "build failed (log: $out/ninja.log)"; }

install -m 0755 "$build/mediasoup-worker" "$bin.tmp"
mv -f "$bin.tmp" "$bin"
printf '%s\n' "$recipe" >"$stamp"
rm -rf "$src"
log "built in $((SECONDS - started)) s: $(du -h "$bin" | cut -f1)"
printf '%s\n' "$bin"
