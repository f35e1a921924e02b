#!/usr/bin/env bash
# `make bench`: etcdkit against clientv3 v3.7.3 and the raw gen/ stubs, on an etcd 3.7.3 that
# this script starts (one member, --unsafe-no-fsync; a three-member one for the connect case).
# Writes bench/results.md, the chart bench/results.svg and the raw figures bench/results.json.
# About 20 minutes on 2 cores: the KV, watch, lock and footprint cases, then the scale cases
# (100,000 keys of 1 KiB listed streamed, paged and in one response, 10,000 watchers, 10,000
# leases kept alive for a minute, connecting), then etcdkit's and the raw stubs' instructions
# per KV operation, counted with valgrind's callgrind (installed with apt-get when missing). The footprint builds a probe over a copy of the kit
# vendored with etcdkit-gen (built from this checkout) for KV,Watch,Lease, and one over the bare
# stubs of that copy.
#
#   BENCH_QUICK=1     small counts, one repetition, no cold builds: a smoke run of a minute,
#                     written under .cache/bench/quick/ so that it never replaces the committed
#                     results (make test runs the same as bench/cmd/benchdrive's TestQuick)
#   BENCH_OUT=dir     where to write the results (default: bench/)
#   BENCH_REPS=N      repetitions of each case (default 3)
#   BENCH_PIN=0       do not pin etcd and the clients to different CPUs (default: pin when
#                     there are at least two CPUs and taskset is installed)
#   BENCH_NOTE=text   a warning printed at the top of the report (e.g. a busy machine)
#   BENCH_ONLY=put,lock  run only these workloads (put get txn watch lock keepalive list
#                     list-paged list-single watchers connect instructions)
#   BENCH_BIN=dir     where to build the runners and etcdkit-gen (default: .cache/bench/bin)
#   BENCH_PROFILE=dir write each runner's CPU profile there (<client>-<workload>-<conc>.prof)
set -eu -o pipefail
cd "$(dirname "$0")/.."

source scripts/pins.env
source scripts/packages.sh
need_packages valgrind:valgrind
scripts/etcd.sh server "$ETCD_VERSION" >/dev/null

bin="${BENCH_BIN:-${ETCDKIT_CACHE:-$PWD/.cache}/bench/bin}"
mkdir -p "$bin"
echo "bench.sh: building the runners and etcdkit-gen into $bin" >&2
(cd bench && go build -o "$bin/" ./cmd/...)
go -C cmd build -buildvcs=false -o "$bin/" ./etcdkit-gen

pin=true
if [[ "${BENCH_PIN:-1}" == 0 ]] || ! command -v taskset >/dev/null || (( $(nproc) < 2 )); then
  pin=false
fi
quick=false
command="make bench"
out=bench
if [[ -n "${BENCH_QUICK:-}" && "${BENCH_QUICK}" != 0 ]]; then
  quick=true
  command="BENCH_QUICK=1 scripts/bench.sh"
  out="${bin%/bin}/quick"
fi
out="${BENCH_OUT:-$out}"
mkdir -p "$out"

exec "$bin/benchdrive" -bin "$bin" -out "$out" -footprint bench/footprint -gen "$bin/etcdkit-gen" -release "$ETCD_VERSION" \
  -reps "${BENCH_REPS:-3}" -quick="$quick" -cold="$([[ $quick == true ]] && echo false || echo true)" \
  -pin="$pin" -note "${BENCH_NOTE:-}" -command "$command" -only "${BENCH_ONLY:-}" -profile "${BENCH_PROFILE:-}"
