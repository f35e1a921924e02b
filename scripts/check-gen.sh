#!/usr/bin/env bash
# Fails when proto/ or gen/ differ from what scripts/gen.sh (buf) produces for the committed
# release and keep-list, or when etcdkit-gen's in-process generation (what users run) differs
# from buf's output. It writes nothing to the checkout: it regenerates into a temporary copy
# and compares, so a failing check leaves every file as it found it. The release and the
# keep-list are read from the stamp at the top of rpc.proto as it is now, so that after
# `make gen ETCD_VERSION=X` it checks (and make test then tests) X's stubs; on a clean
# checkout that is the committed release.
set -eu -o pipefail
cd "$(dirname "$0")/.."
repo=$PWD

header=proto/github.com/etcdkit/etcdkit/gen/etcdserverpb/rpc.proto
stamp="$(sed -n 1,2p "$header")"
version="$(sed -n -e 's|.*go\.etcd\.io/etcd/api/v3@\(v[^ ,]*\)[ ,].*|\1|p' \
  -e 's|.*Debian golang-etcd-server-dev \([0-9.]*\)[ ,].*|v\1|p' <<<"$stamp" | sed -n 1p)"
keep="$(sed -n 's|^// etcd .*, keep-list \(.*\)$|\1|p' <<<"$stamp")"
if [[ -z "$version" || -z "$keep" ]]; then
  echo "check-gen: cannot read the etcd release and keep-list from the top of $header" >&2
  exit 1
fi

# A copy of the checkout (tracked and untracked files that git does not ignore) that shares
# the tool and etcd caches.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p .cache
git ls-files --cached --others --exclude-standard -z | tar --null -T - -cf - | tar -C "$work" -xf -
ln -s "$repo/.cache" "$work/.cache"

(cd "$work" && scripts/gen.sh "$version" "$keep")
# buf.yaml names proto/ as the module: the committed protos must compile on their own.
(cd "$work" && .cache/bin/buf build)

if grep -rlE 'gogoproto|google\.api|google/api|openapiv2|versionpb' proto; then
  echo "check-gen: the files above still mention an option-only proto package" >&2
  exit 1
fi

for p in proto gen; do
  if ! diff -r "$p" "$work/$p" >"$work/diff" 2>&1; then
    echo "check-gen: $p differs from a fresh 'make gen ETCD_VERSION=$version' (left: the checkout):" >&2
    head -n 100 "$work/diff" >&2
    exit 1
  fi
done

# What users run: the same generator without buf must write exactly these bytes (-check
# writes nothing).
if ! scripts/gen.sh "$version" "$keep" -check; then
  echo "check-gen: etcdkit-gen's in-process output differs from buf's (above)" >&2
  exit 1
fi
echo "check-gen: proto/ and gen/ match etcd $version with keep-list $keep (buf and in-process)"
