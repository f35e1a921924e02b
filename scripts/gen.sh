#!/usr/bin/env bash
# Regenerates proto/ and gen/ from an etcd release: `scripts/gen.sh [VERSION [KEEP [-check]]]`.
# VERSION and KEEP default to ETCD_VERSION and ROOT_KEEP of scripts/pins.env (every service
# package etcd calls). v3.4.x means
# Debian's 3.4.23 source protos (scripts/etcd.sh debian-protos); later releases come from
# the Go module proxy. The generator (cmd/etcdkit-gen) trims the release's protos, checks
# them against upstream, and runs buf with buf.gen.yaml; buf and protoc-gen-go are pinned
# in tools/go.mod and put in .cache/bin (buf by scripts/buf.sh). With -check it writes
# nothing to proto/ or gen/: etcdkit-gen generates in-process, as users run it, and fails
# unless proto/ and gen/ hold exactly those bytes.
set -eu -o pipefail
cd "$(dirname "$0")/.."

source scripts/pins.env
version="${1:-$ETCD_VERSION}"
keep="${2:-$ROOT_KEEP}"
bin=.cache/bin

log() { echo "gen.sh: $*" >&2; }

# build_tools puts the pinned buf in .cache/bin (scripts/buf.sh), builds protoc-gen-go
# (tools/go.mod) unless it is newer than its pin, then etcdkit-gen, protoc-gen-etcdkit-grpc
# and protoc-gen-etcdkit-codec (incremental; no VCS stamp, so that the version the plugins
# write into gen/ does not change with every commit).
build_tools() {
  mkdir -p "$bin"
  scripts/buf.sh >/dev/null
  if [[ ! -x "$bin/protoc-gen-go" || tools/go.mod -nt "$bin/protoc-gen-go" || tools/go.sum -nt "$bin/protoc-gen-go" ]]; then
    GOWORK=off go -C tools build -buildvcs=false -o "../$bin/" google.golang.org/protobuf/cmd/protoc-gen-go
  fi
  go -C cmd build -buildvcs=false -o "../$bin/" ./etcdkit-gen ./protoc-gen-etcdkit-grpc \
    ./protoc-gen-etcdkit-codec
}

build_tools
mapfile -t source < <(scripts/kit-source.sh "$version")
[[ ${#source[@]} -gt 0 ]] || exit 1
out=(-go-out gen -proto-out proto)
if [[ "${3:-}" == -check ]]; then
  "$bin/etcdkit-gen" "${source[@]}" -keep "$keep" "${out[@]}" -check
else
  PATH="$PWD/$bin:$PATH" "$bin/etcdkit-gen" "${source[@]}" -keep "$keep" "${out[@]}" \
    -buf "$bin/buf" -buf-template buf.gen.yaml
fi
