#!/usr/bin/env bash
# Tests package etcd's operator files (maintenance, members, users and roles, auth status,
# snapshots). They need more services than etcdkit's default stubs keep, so they carry the
# build constraint etcdkit_all and the root module leaves them out. This copies the repo,
# regenerates the copy with every service of v3.7.3, then vets package etcd with the
# constraint on and runs, with -race, the tests and examples declared in the constrained
# test files, against real etcd.
set -eu -o pipefail
cd "$(dirname "$0")/.."
repo=$PWD

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git ls-files --cached --others --exclude-standard -z | tar --null -T - -cf - | tar -C "$work" -xf -
ln -s "$repo/.cache" "$work/.cache"
cd "$work"
scripts/gen.sh v3.7.3 KV,Watch,Lease,Cluster,Maintenance,Auth

mapfile -t files < <(grep -l '^//go:build etcdkit_all$' etcd/*_test.go)
[[ ${#files[@]} -gt 0 ]] || { echo "test-operator: no test file carries the etcdkit_all constraint" >&2; exit 1; }
tests="$(grep -ho '^func \(Test\|Example\)[A-Za-z0-9_]*' "${files[@]}" | sed 's/^func //' | paste -sd'|')"
echo "== go vet -tags etcdkit_all ./etcd/ (every service)"
go vet -tags etcdkit_all ./etcd/
echo "== go test -race -tags etcdkit_all ./etcd/: ${tests//|/ }"
go test -race -count=1 -timeout 15m -tags etcdkit_all -run "^($tests)\$" ./etcd/
