#!/usr/bin/env bash
# Runs the project's checks. `test.sh vet` vets every module; `test.sh all` is `make test`:
# build or reuse the pinned etcd servers, check that gen/ is reproducible, vendor the kit for
# 3.4.23 and v3.5.35 with a KV-only and the default keep-list (test-kit.sh quick), vet, then
# `go test -race` in every module of the repo, integration tests included, and package etcd's
# operator files over stubs of every service (test-operator.sh).
set -eu -o pipefail
cd "$(dirname "$0")/.."

# modules lists the directories holding a go.mod, the root first, skipping caches.
modules() {
  git ls-files --cached --others --exclude-standard -- '*go.mod' | grep -v '^\.cache/' |
    xargs -n1 dirname | sort -u
}

vet_all() {
  local m
  for m in $(modules); do
    echo "== go vet ($m)"
    (cd "$m" && go vet ./...)
  done
}

test_all() {
  local m
  for m in $(modules); do
    echo "== go test -race ($m)"
    (cd "$m" && go test -race -count=1 -timeout 20m ./...)
  done
}

case "${1:-all}" in
  vet) vet_all ;;
  all)
    scripts/etcd.sh all
    scripts/check-gen.sh
    scripts/clikit.sh -check
    scripts/test-kit.sh quick
    vet_all
    test_all
    scripts/test-operator.sh
    ;;
  *) echo "usage: $0 [vet|all]" >&2; exit 2 ;;
esac
