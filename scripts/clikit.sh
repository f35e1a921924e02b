#!/usr/bin/env bash
# Vendors the kit the CLI builds on into cmd/internal/kit: `scripts/clikit.sh [-check]`.
# The CLI dogfoods `etcdkit-gen vendor` with every service of etcd v3.7.3 (the library's own
# gen/ keeps its small default keep-list). Run it after scripts/gen.sh, which snapshots
# package etcd into the generator (cmd/internal/kitsrc); the generator is built from this
# checkout. With -check it writes nothing and fails unless cmd/internal/kit is exactly
# what the generator writes.
set -eu -o pipefail
cd "$(dirname "$0")/.."

release=v3.7.3
keep=KV,Watch,Lease,Cluster,Maintenance,Auth
bin=.cache/bin

mkdir -p "$bin"
go -C cmd build -buildvcs=false -o "../$bin/" ./etcdkit-gen
cd cmd
"../$bin/etcdkit-gen" vendor -release "$release" -keep "$keep" -into internal/kit "$@"
