#!/usr/bin/env bash
# Runs the project's checks. `test.sh vet` vets every module and runs staticcheck (pinned in
# tools/go.mod) over the root and cmd modules; `test.sh all` is `make test`: build or reuse the
# pinned etcd servers, check that gen/ is reproducible (writing nothing), vendor the kit for
# 3.4.23 and v3.5.35 with a KV-only and the default keep-list (test-kit.sh quick), vet, then
# `go test -race` in every module of the repo, integration tests included.
set -eu -o pipefail
cd "$(dirname "$0")/.."
repo=$PWD
source scripts/packages.sh

# modules lists the directories holding a go.mod, the root first, skipping caches.
modules() {
  git ls-files --cached --others --exclude-standard -- '*go.mod' | grep -v '^\.cache/' |
    xargs -n1 dirname | sort -u
}

vet_all() {
  local m bin=.cache/bin
  for m in $(modules); do
    echo "== go vet ($m)"
    (cd "$m" && go vet ./...)
  done
  mkdir -p "$bin"
  if [[ ! -x "$bin/staticcheck" || tools/go.mod -nt "$bin/staticcheck" ]]; then
    GOWORK=off go -C tools build -buildvcs=false -o "../$bin/" honnef.co/go/tools/cmd/staticcheck
  fi
  for m in . cmd; do
    echo "== staticcheck ($m)"
    (cd "$m" && "$repo/$bin/staticcheck" ./...)
  done
}

# shells installs what the completion tests drive (bash with bash-completion, zsh, fish and
# script(1)) when one is missing; under CI a missing one fails those tests.
shells() {
  need_packages zsh:zsh fish:fish script:bsdutils /usr/share/bash-completion/bash_completion:bash-completion
}

test_all() {
  local m
  shells
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
    scripts/test-kit.sh quick
    vet_all
    test_all
    ;;
  *) echo "usage: $0 [vet|all]" >&2; exit 2 ;;
esac
