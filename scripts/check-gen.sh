#!/usr/bin/env bash
# Fails when proto/ or gen/ differ from what scripts/gen.sh produces for the committed
# release: regenerates into the work tree, then shows and rejects any change, untracked
# files included. The release is read from line 1 of rpc.proto as committed (HEAD).
set -eu -o pipefail
cd "$(dirname "$0")/.."

header=proto/github.com/etcdkit/etcdkit/gen/etcdserverpb/rpc.proto
first="$(git show "HEAD:$header")"
first="${first%%$'\n'*}"
version="$(sed -n 's|.*go\.etcd\.io/etcd/api/v3@\(v[^ ]*\) .*|\1|p' <<<"$first")"
if [[ -z "$version" ]]; then
  echo "check-gen: cannot read the etcd release from line 1 of $header" >&2
  exit 1
fi

scripts/gen.sh "$version"
# buf.yaml names proto/ as the module: the committed protos must compile on their own.
go tool -modfile=tools/go.mod buf build

if grep -rlE 'gogoproto|google\.api|google/api|openapiv2|versionpb' proto; then
  echo "check-gen: the files above still mention an option-only proto package" >&2
  exit 1
fi

changes="$(git status --porcelain --untracked-files=all -- proto gen)"
if [[ -n "$changes" ]]; then
  echo "check-gen: proto/ or gen/ differ from a fresh 'make gen ETCD_VERSION=$version':" >&2
  echo "$changes" >&2
  git --no-pager diff --stat -- proto gen >&2
  git --no-pager diff -- proto gen | head -n 100 >&2 || true
  exit 1
fi
echo "check-gen: proto/ and gen/ match etcd $version"
