#!/usr/bin/env bash
# Prints etcdkit-gen's source flags for an etcd release, one per line: -release for releases
# on the Go module proxy (v3.5.0 on), Debian's 3.4.23 source protos for v3.4.23.
set -eu -o pipefail
cd "$(dirname "$0")/.."
case "${1:?usage: kit-source.sh VERSION}" in
  v3.4.23)
    dir="$(scripts/etcd.sh debian-protos)"
    printf '%s\n' -source "$dir" -source-name "Debian golang-etcd-server-dev 3.4.23"
    ;;
  v3.4.*) echo "kit-source.sh: etcd 3.4 is not on the Go module proxy; only Debian's 3.4.23 sources are supported" >&2; exit 1 ;;
  *) printf '%s\n' -release "$1" ;;
esac
