#!/usr/bin/env bash
# The full fault-injection suite (`make test-faults`): tests/faults with ETCDKIT_FAULTS=full,
# under -race, against three-member clusters of ETCDKIT_ETCD_VERSION (default v3.7.3), then a
# table of every scenario's row: operations, faults injected, lost, duplicated, ambiguous and
# recovery time. `make test` runs the short version of the same tests.
#
#   scripts/faults.sh                    the full suite
#   MODE=short scripts/faults.sh         the short one, with the table
#   RUN=TestWatch scripts/faults.sh      only the matching tests
#
# The log is .cache/faults/faults.log; the exit status is go test's.
set -eu -o pipefail
cd "$(dirname "$0")/.."

scripts/etcd.sh server "${ETCDKIT_ETCD_VERSION:-v3.7.3}" >/dev/null
scripts/etcd.sh etcdctl v3.7.3 >/dev/null
mkdir -p .cache/faults
log=.cache/faults/faults.log
mode=full
[[ "${MODE:-full}" == short ]] && mode=short

start=$SECONDS
status=0
ETCDKIT_FAULTS=$mode go test -race -count=1 -v -timeout 30m -run "${RUN:-.}" ./tests/faults/ >"$log" 2>&1 || status=$?

echo "fault suite ($mode), $((SECONDS - start))s, etcd ${ETCDKIT_ETCD_VERSION:-v3.7.3}; log: $log"
echo
echo "| scenario | ops | faults | lost | duplicated | ambiguous | recovery | notes |"
echo "|----------|----:|-------:|-----:|-----------:|----------:|---------:|-------|"
grep -o 'FAULTROW|.*' "$log" | cut -d'|' -f2- | sed 's/^/| /; s/$/ |/' || true
echo
grep -E '^\s*--- (PASS|FAIL|SKIP)' "$log" | sed 's/^ *//' || true
exit "$status"
