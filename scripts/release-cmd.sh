#!/usr/bin/env bash
# Points the cmd module at the root module's current commit: `scripts/release-cmd.sh`.
# The release order is: commit the root's change (etcd/, gen/, kit.go, go.mod), run this,
# commit cmd/go.mod and cmd/go.work, then tag the root module before the cmd module, so that
# `go install github.com/etcdkit/etcdkit/cmd/etcdkit-gen@VERSION` builds the generator with
# the package etcd it was tested with. tools/pins_test.go fails while the requirement lags.
set -eu -o pipefail
cd "$(dirname "$0")/.."

if ! git diff --quiet HEAD -- etcd gen kit.go go.mod go.sum; then
  echo "release-cmd: commit the root module's changes first (etcd/, gen/, kit.go, go.mod)" >&2
  exit 1
fi
commit="$(git rev-parse HEAD)"
when="$(TZ=UTC git show -s --format=%cd --date=format-local:%Y%m%d%H%M%S "$commit")"
version="v0.0.0-$when-${commit:0:12}"
root=github.com/etcdkit/etcdkit
(cd cmd && GOWORK=off go mod edit -require="$root@$version")
sed -i -E "s|^replace $root v[^ ]+ => ../$|replace $root $version => ../|" cmd/go.work
grep -q "^replace $root $version => ../$" cmd/go.work || { echo "release-cmd: cmd/go.work has no replace line for $root" >&2; exit 1; }
echo "release-cmd: cmd requires $root $version"
