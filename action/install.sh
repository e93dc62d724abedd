#!/usr/bin/env bash
# Installs the prebuilt trustpub binary for this runner, verified against the SHA-256 pinned in
# action/checksums.txt, and exports its path. Run by action.yml; also runs on its own.
#
# Environment:
#   TRUSTPUB_BINARY            use this already-installed binary (e.g. built from source) and
#                              download nothing
#   TRUSTPUB_VERSION           the release to install; empty: the version checksums.txt pins
#   TRUSTPUB_TARGET            the Rust target triple to install, instead of detecting it
#   TRUSTPUB_RELEASE_BASE_URL  where releases are downloaded from: an https:// URL (a mirror);
#                              default https://github.com/trustpub/trustpub/releases/download
#   TRUSTPUB_CHECKSUMS_FILE    tests only: another pinned checksums file than checksums.txt
#                              beside this script
#   TRUSTPUB_INSTALL_TESTING   `1` in the action's own tests: allows TRUSTPUB_CHECKSUMS_FILE and
#                              an http://127.0.0.1 base URL. Nothing else may move the pin.
#   RUNNER_OS, RUNNER_ARCH     set by GitHub Actions (uname is asked when they are not)
#   RUNNER_TEMP                where to install (default: a new temporary directory)
#   GITHUB_OUTPUT, GITHUB_PATH receive `path=<binary>` and the binary's directory, when set
#
# A download is run only if its SHA-256 equals the pinned one: a missing entry or a mismatch
# stops here with an ::error:: and nothing is installed.
#
# Portable to bash 3.2 (macOS): no ${x,,}, no associative arrays, no mapfile.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
default_base_url="https://github.com/trustpub/trustpub/releases/download"

fail() {
  # An ::error:: annotation on GitHub Actions, a plain line anywhere else (the same text).
  echo "::error title=trustpub install::$*"
  exit 1
}

lower() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }

# A Windows path (D:\a\_temp) in the form bash on Windows (Git Bash, MSYS2) understands.
unix_path() {
  if command -v cygpath >/dev/null 2>&1; then cygpath -u "$1"; else printf '%s' "$1"; fi
}

# The path as the runner and other shells on Windows understand it.
native_path() {
  if command -v cygpath >/dev/null 2>&1; then cygpath -w "$1"; else printf '%s' "$1"; fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
  else
    fail "no SHA-256 tool (sha256sum, shasum or openssl) on this runner: cannot verify the trustpub download"
  fi
}

export_binary() {
  local binary="$1"
  local native
  native="$(native_path "$binary")"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    echo "path=$native" >>"$GITHUB_OUTPUT"
  fi
  if [ -n "${GITHUB_PATH:-}" ]; then
    printf '%s\n' "$(native_path "$(dirname "$binary")")" >>"$GITHUB_PATH"
  fi
  echo "trustpub: $native"
}

# --- An already-installed binary ---------------------------------------------------------------

if [ -n "${TRUSTPUB_BINARY:-}" ]; then
  binary="$(unix_path "$TRUSTPUB_BINARY")"
  [ -f "$binary" ] || fail "TRUSTPUB_BINARY=$TRUSTPUB_BINARY does not exist: build trustpub (cargo build --release -p trustpub) or unset TRUSTPUB_BINARY to install a release"
  version_line="$("$binary" --version 2>&1)" || fail "TRUSTPUB_BINARY=$TRUSTPUB_BINARY does not run (\`--version\` failed: $version_line)"
  echo "Using TRUSTPUB_BINARY ($version_line): nothing downloaded"
  export_binary "$binary"
  exit 0
fi

# --- Where from: the pin and the transport ------------------------------------------------------

testing=false
if [ "${TRUSTPUB_INSTALL_TESTING:-}" = 1 ]; then
  testing=true
fi
# The pin is this copy of the action's checksums.txt: a job's environment cannot swap it.
if [ -n "${TRUSTPUB_CHECKSUMS_FILE:-}" ] && [ "$testing" != true ]; then
  fail "TRUSTPUB_CHECKSUMS_FILE is set: only the action's own tests may replace the pinned action/checksums.txt. Unset it (pin another trustpub by pinning another commit of the action)"
fi
base_url="${TRUSTPUB_RELEASE_BASE_URL:-$default_base_url}"
case "$base_url" in
  https://*) ;;
  http://127.0.0.1:* | http://127.0.0.1/*)
    [ "$testing" = true ] || fail "TRUSTPUB_RELEASE_BASE_URL=$base_url is not https: releases are downloaded over https only"
    ;;
  *) fail "TRUSTPUB_RELEASE_BASE_URL=$base_url is not https: releases are downloaded over https only" ;;
esac

# --- Which release, which target ----------------------------------------------------------------

checksums_file="$(unix_path "${TRUSTPUB_CHECKSUMS_FILE:-$script_dir/checksums.txt}")"
[ -f "$checksums_file" ] || fail "the pinned checksums file $checksums_file is missing: this copy of the action is incomplete"

version="${TRUSTPUB_VERSION:-}"
version="${version#v}"
if [ -z "$version" ]; then
  version="$(sed -n 's/^# version: *\([^ ]*\) *$/\1/p' "$checksums_file" | head -n 1)"
  [ -n "$version" ] || fail "$checksums_file names no version (a \`# version: X.Y.Z\` line): regenerate it with action/update-checksums.sh"
fi
case "$version" in
  *[!0-9A-Za-z.+-]* | .* | *..*)
    fail "\`$version\` is not a trustpub version: use a release number such as 1.2.3"
    ;;
esac

# Sets `target` from RUNNER_OS/RUNNER_ARCH (or uname). Not run in $(...), so `fail` stops the
# script rather than a subshell.
detect_target() {
  local os arch
  os="${RUNNER_OS:-$(uname -s)}"
  arch="${RUNNER_ARCH:-$(uname -m)}"
  case "$(lower "$os")" in
    linux) os=linux ;;
    macos | darwin) os=macos ;;
    windows | mingw* | msys* | cygwin*) os=windows ;;
    *) os="unsupported:$os" ;;
  esac
  case "$(lower "$arch")" in
    x64 | x86_64 | amd64) arch=x86_64 ;;
    arm64 | aarch64) arch=aarch64 ;;
    *) arch="unsupported:$arch" ;;
  esac
  case "$os/$arch" in
    linux/x86_64)
      # A static musl build where the C library is musl (Alpine job containers), else glibc.
      if ldd --version 2>&1 | grep -qi musl || [ -e /lib/ld-musl-x86_64.so.1 ]; then
        target=x86_64-unknown-linux-musl
      else
        target=x86_64-unknown-linux-gnu
      fi
      ;;
    linux/aarch64) target=aarch64-unknown-linux-gnu ;;
    macos/aarch64) target=aarch64-apple-darwin ;;
    macos/x86_64) target=x86_64-apple-darwin ;;
    # Windows on Arm runs x64 binaries under emulation.
    windows/x86_64 | windows/aarch64) target=x86_64-pc-windows-msvc ;;
    *)
      fail "no prebuilt trustpub for ${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)}: build it from source (cargo build --release -p trustpub) and set TRUSTPUB_BINARY to the binary"
      ;;
  esac
}

target="${TRUSTPUB_TARGET:-}"
if [ -z "$target" ]; then
  detect_target
fi
case "$target" in
  *windows*) archive_ext=zip exe=.exe ;;
  *) archive_ext=tar.gz exe= ;;
esac
stem="trustpub-$version-$target"
asset="$stem.$archive_ext"

# --- The pinned checksum ------------------------------------------------------------------------

expected=""
while read -r hash name rest; do
  case "$hash" in '' | '#'*) continue ;; esac
  name="${name#\*}"
  if [ "$name" = "$asset" ]; then
    case "$(lower "$hash")" in
      *[!0-9a-f]*) fail "the pinned checksum for $asset in $checksums_file is not hex: regenerate the file with action/update-checksums.sh" ;;
    esac
    [ "${#hash}" -eq 64 ] || fail "the pinned checksum for $asset in $checksums_file is not a SHA-256 (64 hex digits): regenerate the file with action/update-checksums.sh"
    expected="$(lower "$hash")"
    break
  fi
done <"$checksums_file"
[ -n "$expected" ] || fail "no pinned checksum for $asset in trustpub $version ($checksums_file): this action only installs binaries whose SHA-256 it pins. Use a trustpub-version this action pins, or build from source and set TRUSTPUB_BINARY"

# --- Download, verify, unpack -------------------------------------------------------------------

temp_root="$(unix_path "${RUNNER_TEMP:-${TMPDIR:-/tmp}}")"
work="$(mktemp -d "$temp_root/trustpub-install.XXXXXX")"
trap 'rm -rf "$work"' EXIT

url="${base_url%/}/v$version/$asset"
curl_args=(--fail --location --silent --show-error --retry 3 --connect-timeout 30 --output "$work/$asset")
case "$base_url" in
  # Only HTTPS, redirects included: the pin is the real check, this keeps the transport honest.
  https://*) curl_args+=(--proto "=https" --proto-redir "=https") ;;
  # The tests' loopback server: no redirect may leave it.
  *) curl_args+=(--proto "=http" --proto-redir "=http" --max-redirs 0) ;;
esac
echo "Downloading $url"
curl "${curl_args[@]}" "$url" || fail "downloading $url failed: see the curl error above. Is trustpub $version released for $target?"

actual="$(lower "$(sha256_of "$work/$asset")")"
if [ "$actual" != "$expected" ]; then
  fail "checksum mismatch for $asset: $checksums_file pins sha256 $expected, the download has $actual. It is not the pinned trustpub $version: refusing to run it"
fi
echo "sha256 $actual matches the pin in $(basename "$checksums_file")"

# A fresh directory nobody else could have prepared (no fixed, guessable path).
install_root="$(mktemp -d "$temp_root/trustpub-$version-$target.XXXXXX")" \
  || fail "cannot create an install directory in $temp_root"
case "$archive_ext" in
  tar.gz)
    tar -xzf "$work/$asset" -C "$install_root" || fail "unpacking $asset failed"
    ;;
  zip)
    if command -v unzip >/dev/null 2>&1; then
      unzip -q -o "$work/$asset" -d "$install_root" || fail "unpacking $asset failed"
    elif command -v 7z >/dev/null 2>&1; then
      7z x -y -bd "-o$install_root" "$work/$asset" >/dev/null || fail "unpacking $asset failed"
    else
      powershell -NoProfile -Command "Expand-Archive -Force -LiteralPath '$(native_path "$work/$asset")' -DestinationPath '$(native_path "$install_root")'" \
        || fail "unpacking $asset failed"
    fi
    ;;
esac

binary="$install_root/$stem/trustpub$exe"
[ -f "$binary" ] || fail "$asset does not contain $stem/trustpub$exe: the release archive has an unexpected layout"
chmod +x "$binary"
version_line="$("$binary" --version 2>&1)" || fail "the installed trustpub does not run (\`--version\` failed: $version_line)"
case "$version_line" in
  "trustpub $version" | "trustpub $version "*) ;;
  *) fail "the binary in $asset says \`$version_line\`, not trustpub $version" ;;
esac
echo "Installed $version_line ($target)"
export_binary "$binary"
