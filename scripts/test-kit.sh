#!/usr/bin/env bash
# The kit matrix (`make test-kit`): package etcd must build over the stubs of every release and
# every keep-list that includes KV.
#
#   scripts/test-kit.sh          releases {3.4.23, v3.5.0, v3.5.35, v3.6.0, v3.6.16, v3.7.0, v3.7.3,
#                                v3.8.0-alpha.0}
#                                × keep-lists {KV; KV,Watch; KV,Watch,Lease; default; all}: each is
#                                vendored into a throwaway module with etcdkit-gen vendor, as a user
#                                would, then built and vetted. On the diagonal (3.4.23, v3.5.35,
#                                v3.6.16 and v3.7.3) a copy of this repo is regenerated for the
#                                release with every service, as the root's gen/ is, and package
#                                etcd's tests run against that release's server.
#   scripts/test-kit.sh quick    the reduced form make test runs: 3.4.23 and v3.5.35 × KV and
#                                default, vendored, built and vetted.
#
# RELEASES, KEEPS and DIAGONAL (space-separated; empty means none) replace the lists, e.g.
# `RELEASES= DIAGONAL=v3.4.23 scripts/test-kit.sh` reruns one diagonal cell.
#
# It prints a table (release, keep-list, check, result, seconds) and writes it to
# .cache/kit/last.md. It exits non-zero when a cell fails, after running every cell.
set -eu -o pipefail
cd "$(dirname "$0")/.."
repo=$PWD

source scripts/pins.env
all=$ROOT_KEEP
case "${1:-full}" in
  full)
    releases=(v3.4.23 v3.5.0 v3.5.35 v3.6.0 v3.6.16 v3.7.0 v3.7.3 v3.8.0-alpha.0)
    keeps=(KV KV,Watch KV,Watch,Lease default "$all")
    diagonal=(v3.4.23 v3.5.35 v3.6.16 v3.7.3)
    ;;
  quick)
    releases=(v3.4.23 v3.5.35)
    keeps=(KV default)
    diagonal=()
    ;;
  *) echo "usage: $0 [full|quick]" >&2; exit 2 ;;
esac
[[ -v RELEASES ]] && read -ra releases <<<"$RELEASES"
[[ -v KEEPS ]] && read -ra keeps <<<"$KEEPS"
[[ -v DIAGONAL ]] && read -ra diagonal <<<"$DIAGONAL"

log() { echo "test-kit: $*" >&2; }

# The generator, built from this checkout, reads package etcd live from it (kit.go).
go -C cmd build -buildvcs=false -o ../.cache/bin/ ./etcdkit-gen
gen="$repo/.cache/bin/etcdkit-gen"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
grpc_version="$(go list -m -f '{{.Version}}' google.golang.org/grpc)"
protobuf_version="$(go list -m -f '{{.Version}}' google.golang.org/protobuf)"

rows=()
failed=0

# record RELEASE KEEP CHECK START STATUS LOG adds a row to the table.
record() {
  local result=ok
  if [[ $5 -ne 0 ]]; then
    result=FAIL
    failed=1
    log "$1 $2 $3 failed; its output:"
    grep -E -- '--- FAIL|_test\.go:[0-9]+:|\.go:[0-9]+:[0-9]+:|^FAIL|^panic|^etcdkit-gen' "$6" | grep -v '"level"' | head -n 40 >&2 || tail -n 30 "$6" >&2
  fi
  rows+=("| $1 | ${2/$all/every service} | $3 | $result | $((SECONDS - $4)) |")
  log "$1 ${2/$all/every service}: $3 $result in $((SECONDS - $4))s"
}

# vendor_cell RELEASE KEEP vendors the kit into a fresh module and builds and vets it there.
vendor_cell() {
  local release=$1 keep=$2 start=$SECONDS status=0
  local dir="$work/vendor-$release-${keep//,/_}" out="$work/vendor-$release-${keep//,/_}.log"
  mkdir -p "$dir"
  printf 'module example.com/kit\n\ngo 1.24\n\nrequire (\n\tgoogle.golang.org/grpc %s\n\tgoogle.golang.org/protobuf %s\n)\n' \
    "$grpc_version" "$protobuf_version" >"$dir/go.mod"
  cp go.sum "$dir/go.sum"
  mapfile -t source < <(scripts/kit-source.sh "$release")
  (
    cd "$dir"
    "$gen" vendor "${source[@]}" -keep "$keep" -into kit
    GOFLAGS=-mod=mod GOWORK=off go build ./...
    GOFLAGS=-mod=mod GOWORK=off go vet ./...
  ) >"$out" 2>&1 || status=$?
  record "$release" "$keep" "vendor, build, vet" "$start" "$status" "$out"
}

# diagonal_cell RELEASE regenerates a copy of this repo for RELEASE and runs package etcd's
# tests against that release's server.
diagonal_cell() {
  local release=$1 start=$SECONDS status=0
  local copy="$work/repo-$release" out="$work/repo-$release.log"
  mkdir -p "$copy"
  git ls-files -z | tar --null -T - -cf - | tar -C "$copy" -xf -
  ln -s "$repo/.cache" "$copy/.cache"
  case "$release" in
    v3.4.23) scripts/etcd.sh debian >/dev/null ;;
    *) scripts/etcd.sh server "$release" >/dev/null ;;
  esac
  (
    cd "$copy"
    scripts/gen.sh "$release"
    go vet ./etcd/...
    ETCDKIT_ETCD_VERSION=$release go test -count=1 -timeout 15m ./etcd/...
  ) >"$out" 2>&1 || status=$?
  record "$release" "$all" "gen, vet, go test ./etcd/..." "$start" "$status" "$out"
}

for release in "${releases[@]+"${releases[@]}"}"; do
  for keep in "${keeps[@]+"${keeps[@]}"}"; do
    vendor_cell "$release" "$keep"
  done
done
for release in "${diagonal[@]+"${diagonal[@]}"}"; do
  diagonal_cell "$release"
done

mkdir -p .cache/kit
{
  echo "| release | keep-list | check | result | seconds |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee .cache/kit/last.md
exit "$failed"
