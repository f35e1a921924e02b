#!/usr/bin/env bash
# Regenerates proto/ and gen/ from an etcd release: `scripts/gen.sh [VERSION [KEEP]]`.
# VERSION defaults to v3.7.3 and KEEP to the generator's default, the keep-list etcd/
# needs (KV, Watch, Lease and a few Cluster, Maintenance and Auth RPCs). The generator
# (cmd/etcdkit-gen) trims the release's protos, checks them against upstream, and runs
# buf with buf.gen.yaml; buf and the plugins are pinned in tools/go.mod.
set -eu -o pipefail
cd "$(dirname "$0")/.."

version="${1:-v3.7.3}"
keep=()
if [[ $# -ge 2 ]]; then
  keep=(-keep "$2")
fi

mkdir -p .cache/bin
go -C cmd build -o ../.cache/bin/etcdkit-gen ./etcdkit-gen
.cache/bin/etcdkit-gen \
  -release "$version" \
  "${keep[@]}" \
  -go-package github.com/etcdkit/etcdkit/gen \
  -go-module github.com/etcdkit/etcdkit \
  -go-out . \
  -proto-out proto \
  -buf "go tool -modfile=tools/go.mod buf" \
  -buf-template buf.gen.yaml
