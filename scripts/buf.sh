#!/usr/bin/env bash
# Puts buf, at the release scripts/pins.env names (TOOLS_BUF, the version tools/go.mod
# requires), in .cache/bin and prints its path: `scripts/buf.sh`.
#
# On Linux (x64, aarch64) and macOS (x64, arm64) it takes the release's prebuilt binary from
# the npm registry (@bufbuild/buf-<os>-<arch>, the package buf publishes there) and checks
# the tarball's SHA-512 against the pin for that platform in pins.env before using it: about
# 2 s, where building buf from tools/go.mod takes 90 s on two cores. Elsewhere, or without
# npm, it builds buf from tools/go.mod. Either way it checks that the binary says it is the
# pinned release.
set -eu -o pipefail
cd "$(dirname "$0")/.."

source scripts/pins.env
bin=.cache/bin
want="${TOOLS_BUF#v}"

log() { echo "buf.sh: $*" >&2; }

# current reports whether .cache/bin/buf is the pinned release.
current() {
  [[ -x "$bin/buf" && "$("$bin/buf" --version 2>/dev/null)" == "$want" ]]
}

# platform prints the npm package's platform suffix and pins.env's key for its hash, or
# fails on a platform buf publishes no package for here.
platform() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) return 1 ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=$([[ $os == linux ]] && echo aarch64 || echo arm64) ;;
    *) return 1 ;;
  esac
  echo "$os-$arch TOOLS_BUF_SHA512_${os^^}_${arch^^}"
}

# fetch takes the prebuilt binary from the npm registry; it fails, leaving nothing behind,
# when the platform has no pin, npm is missing or the tarball's hash is not the pin.
fetch() {
  local plat key pin tmp tgz got
  read -r plat key < <(platform) || return 1
  pin="${!key:-}"
  [[ -n "$pin" ]] && command -v npm >/dev/null && command -v openssl >/dev/null || return 1
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  log "fetching buf $want for $plat from the npm registry"
  npm pack --silent --pack-destination "$tmp" "@bufbuild/buf-$plat@$want" >/dev/null || return 1
  tgz=("$tmp"/*.tgz)
  got="sha512-$(openssl dgst -sha512 -binary "${tgz[0]}" | base64 | tr -d '\n')"
  if [[ "$got" != "$pin" ]]; then
    log "the npm tarball's hash is $got; pins.env's $key says $pin"
    return 1
  fi
  tar -xzf "${tgz[0]}" -C "$tmp" package/bin/buf && mv "$tmp/package/bin/buf" "$bin/buf"
}

# build builds buf from tools/go.mod.
build() {
  log "building buf $want from tools/go.mod (about 90 s on two cores)"
  GOWORK=off go -C tools build -buildvcs=false -o "../$bin/" github.com/bufbuild/buf/cmd/buf
}

mkdir -p "$bin"
if ! current; then
  fetch || build
  if ! current; then
    log "$bin/buf says it is $("$bin/buf" --version 2>&1), not $want"
    exit 1
  fi
fi
echo "$PWD/$bin/buf"
