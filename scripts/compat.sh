#!/usr/bin/env bash
# The version matrix (`make test-compat`): runs the etcd package's integration suite
# (`go test ./etcd/`) once per etcd release, selected with ETCDKIT_ETCD_VERSION, and prints a
# table of release × result × duration, naming the failed tests. Builds missing servers first.
#
#   scripts/compat.sh                      every release below
#   VERSIONS="v3.4.23 v3.5.35" scripts/compat.sh
#   GOTESTFLAGS="-race -run TestCompat" scripts/compat.sh
#
# Logs go to .cache/compat/VERSION.log; the exit status is non-zero when any release failed.
set -eu -o pipefail
cd "$(dirname "$0")/.."

source scripts/pins.env
# The pinned releases and the newest 3.6 between them.
versions=(${VERSIONS:-$ETCD_DEBIAN_VERSION $ETCD_OLD_VERSION v3.6.16 $ETCD_VERSION})
flags=(${GOTESTFLAGS:-})
logs=.cache/compat
mkdir -p "$logs"

# ensure builds or reuses the server of release $1.
ensure() {
  if [[ "$1" == v3.4.* ]]; then
    scripts/etcd.sh debian >/dev/null
  else
    scripts/etcd.sh server "$1" >/dev/null
  fi
}

rows=()
failed=0
for v in "${versions[@]}"; do
  ensure "$v"
  echo "== go test ./etcd/ against etcd $v" >&2
  start=$SECONDS
  if ETCDKIT_ETCD_VERSION="$v" go test -count=1 -timeout 20m -v "${flags[@]}" ./etcd/ >"$logs/$v.log" 2>&1; then
    result=pass
    detail=""
  else
    result=FAIL
    failed=1
    detail="$(grep -E '^\s*--- FAIL' "$logs/$v.log" | awk '{print $3}' | paste -sd ' ' - || true)"
    [[ -n "$detail" ]] || detail="see $logs/$v.log"
  fi
  skips="$(grep -cE '^\s*--- SKIP' "$logs/$v.log" || true)"
  rows+=("$(printf '| %-8s | %-15s | %4ss | %7s | %s |' "$v" "$result" "$((SECONDS - start))" "$skips" "$detail")")
  echo "   $result in $((SECONDS - start))s" >&2
done

echo
echo "| etcd     | go test ./etcd/ | time | skipped | failed tests |"
echo "|----------|-----------------|-----:|--------:|--------------|"
printf '%s\n' "${rows[@]}"
exit "$failed"
