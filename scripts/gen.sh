#!/usr/bin/env bash
# Regenerates proto/ and gen/ from an etcd release: `scripts/gen.sh [VERSION [KEEP [-check]]]`.
# VERSION defaults to v3.7.3 and KEEP to the generator's default, the keep-list etcd/
# needs (KV, Watch, Lease and a few Cluster, Maintenance and Auth RPCs). v3.4.x means
# Debian's 3.4.23 source protos (scripts/etcd.sh debian-protos); later releases come from
# the Go module proxy. The generator (cmd/etcdkit-gen) trims the release's protos, checks
# them against upstream, and runs buf with buf.gen.yaml; buf and protoc-gen-go are pinned
# in tools/go.mod and built into .cache/bin. It also snapshots package etcd's sources into
# cmd/internal/kitsrc/etcd.txtar, which `etcdkit-gen vendor` embeds. With -check it writes
# nothing to proto/ or gen/: etcdkit-gen generates in-process, as users run it, and fails
# unless proto/ and gen/ hold exactly those bytes.
set -eu -o pipefail
cd "$(dirname "$0")/.."

version="${1:-v3.7.3}"
keep="${2:-default}"
bin=.cache/bin

log() { echo "gen.sh: $*" >&2; }

# snapshot_etcd writes the non-test .go files of etcd/ and of its sub-packages (etcdtls,
# naming; not etcdtest, which starts etcd servers for tests) that git knows (git add a new
# file before make gen) into cmd/internal/kitsrc/etcd.txtar, so that files of work in
# progress beside it do not leak into the snapshot.
snapshot_etcd() {
  local f out=cmd/internal/kitsrc/etcd.txtar
  {
    echo "Package etcd's non-test sources, snapshotted from etcd/ by scripts/gen.sh for etcdkit-gen vendor. Do not edit."
    local files
    # Outside a git checkout (a copy made by test-kit.sh), every file is the kit's.
    files=$(git ls-files -- 'etcd/*.go' 2>/dev/null) || files=$(ls etcd/*.go etcd/*/*.go)
    for f in $files; do
      [[ "$f" == *_test.go || "$f" == etcd/etcdtest/* || "$f" == etcd/*/*/* ]] && continue
      printf -- '-- %s --\n' "${f#etcd/}"
      cat "$f"
    done
  } >"$out.tmp"
  mv -f "$out.tmp" "$out"
}

# build_tools builds buf and protoc-gen-go (tools/go.mod) unless they are newer than their
# pins, then etcdkit-gen and protoc-gen-etcdkit-grpc (incremental; no VCS stamp, so that
# the version the plugin writes into gen/ does not change with every commit).
build_tools() {
  mkdir -p "$bin"
  if [[ ! -x "$bin/buf" || tools/go.mod -nt "$bin/buf" || tools/go.sum -nt "$bin/buf" ]]; then
    log "building buf and protoc-gen-go as pinned in tools/go.mod into $bin (the first build takes several minutes)"
    local start=$SECONDS
    GOWORK=off go -C tools build -buildvcs=false -o "../$bin/" \
      github.com/bufbuild/buf/cmd/buf google.golang.org/protobuf/cmd/protoc-gen-go
    log "built buf and protoc-gen-go in $((SECONDS - start))s"
  fi
  go -C cmd build -buildvcs=false -o "../$bin/" ./etcdkit-gen ./protoc-gen-etcdkit-grpc
}

snapshot_etcd
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
