#!/usr/bin/env bash
# Fails when proto/ or gen/ differ from what scripts/gen.sh (buf) produces for the
# committed release and keep-list, when etcdkit-gen's in-process generation (what users
# run) differs from buf's output, or when the snapshot of package etcd that
# `etcdkit-gen vendor` embeds differs from etcd/. It regenerates into the work tree,
# then shows and rejects any change, new files included. The release and the keep-list
# are read from the stamp at the top of rpc.proto as it is now, so that after
# `make gen ETCD_VERSION=X` it checks (and make test then tests) X's stubs; on a clean
# checkout that is the committed release.
set -eu -o pipefail
cd "$(dirname "$0")/.."

header=proto/github.com/etcdkit/etcdkit/gen/etcdserverpb/rpc.proto
stamp="$(sed -n 1,2p "$header")"
version="$(sed -n -e 's|.*go\.etcd\.io/etcd/api/v3@\(v[^ ,]*\)[ ,].*|\1|p' \
  -e 's|.*Debian golang-etcd-server-dev \([0-9.]*\)[ ,].*|v\1|p' <<<"$stamp" | sed -n 1p)"
keep="$(sed -n 's|^// etcd .*, keep-list \(.*\)$|\1|p' <<<"$stamp")"
if [[ -z "$version" ]]; then
  echo "check-gen: cannot read the etcd release from the top of $header" >&2
  exit 1
fi

paths=(proto gen cmd/internal/kitsrc)
before="$(mktemp -d)"
trap 'rm -rf "$before"' EXIT
cp -a "${paths[@]}" "$before/"

scripts/gen.sh "$version" "${keep:-default}"
# buf.yaml names proto/ as the module: the committed protos must compile on their own.
.cache/bin/buf build

if grep -rlE 'gogoproto|google\.api|google/api|openapiv2|versionpb' proto; then
  echo "check-gen: the files above still mention an option-only proto package" >&2
  exit 1
fi

for p in "${paths[@]}"; do
  if ! diff -r "$before/$(basename "$p")" "$p" >"$before/diff" 2>&1; then
    echo "check-gen: $p differs from a fresh 'make gen ETCD_VERSION=$version':" >&2
    head -n 100 "$before/diff" >&2
    exit 1
  fi
done

# What users run: the same generator without buf must write exactly these bytes.
if ! scripts/gen.sh "$version" "${keep:-default}" -check; then
  echo "check-gen: etcdkit-gen's in-process output differs from buf's (above)" >&2
  exit 1
fi
echo "check-gen: proto/ and gen/ match etcd $version (buf and in-process); the etcd/ snapshot is current"
