#!/usr/bin/env bash
# Client CPU per operation as instructions, counted by valgrind's callgrind: unlike CPU time
# on a shared 2-core machine, the count repeats to within a few per cent. Each runner does a
# workload twice, with -n N1 and -n N2; the difference of the two totals, divided by the
# difference in operations (measured plus warm-up), is the marginal cost of one operation, so
# start-up and the warm-up's fixed part cancel out.
#
#   bench/scripts/instructions.sh ENDPOINT [workload ...]   (default: get put txn)
#
# Environment: BIN (the runners, default .cache/bench/bin), CONC (default "1 64"), CLIENTS
# (default "etcdkit raw"), N1 and N2 (default 2000 and 6000). Prints one line per case.
set -eu -o pipefail
ep=$1
shift
workloads=("$@")
[[ $# -gt 0 ]] || workloads=(get put txn)
bin=${BIN:-.cache/bench/bin}
n1=${N1:-2000}
n2=${N2:-6000}
# The harness warms up with min(n/10, 2000) operations of the workload.
ops() { echo $(($1 + ($1 / 10 < 2000 ? $1 / 10 : 2000))); }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Go's asynchronous preemption signals trip an assertion in callgrind now and then; the runs
# here do without them.
count() { # client workload conc n → total instructions
  GODEBUG=asyncpreemptoff=1 taskset -c 1 valgrind --tool=callgrind --callgrind-out-file="$tmp/out" \
    "$bin/bench-$1" -endpoints "$ep" -workload "$2" -conc "$3" -n "$4" -prefix "ir/$1/$2$3/$4/$RANDOM/" \
    2>&1 >/dev/null | sed -n 's/.*Collected : //p'
}
for w in "${workloads[@]}"; do
  for c in ${CONC:-1 64}; do
    for cl in ${CLIENTS:-etcdkit raw}; do
      a=$(count "$cl" "$w" "$c" "$n1")
      b=$(count "$cl" "$w" "$c" "$n2")
      echo "$cl $w x$c instructions/op $(( (b - a) / ($(ops "$n2") - $(ops "$n1")) ))"
    done
  done
done
