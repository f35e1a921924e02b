#!/usr/bin/env bash
# A short tour of etcdkit's CLI against a throwaway etcd, or against ENDPOINTS when set
# (`make demo ENDPOINTS=host:port`): keys under a prefix, a compare-and-swap transaction, a key
# that vanishes with its lease, a watch printing another process's writes, a lock handed from
# one process to another, an election whose leader stops, and an operator's status table and
# snapshot.
set -eu -o pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/etcdkit-demo.XXXXXX")"
etcd_pid=""
bg_pids=()

cleanup() {
  local pid
  for pid in "${bg_pids[@]}" $etcd_pid; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${bg_pids[@]}" $etcd_pid; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n# %s\n' "$*"; }
run() { printf '$ etcdkit %s\n' "$*"; "$work/etcdkit" --endpoints "$ENDPOINTS" "$@"; }
kit() { "$work/etcdkit" --endpoints "$ENDPOINTS" "$@"; }
# Background processes start as "${ek[@]}" ... & (not through kit), so that $! is etcdkit itself.

# wait_for waits up to five seconds for a condition given as a command.
wait_for() {
  for _ in $(seq 100); do
    "$@" && return
    sleep 0.05
  done
  echo "timed out waiting for: $*" >&2
  exit 1
}
# lines FILE N: FILE has at least N lines. keys PREFIX N: N keys live under PREFIX.
lines() { [[ -f "$1" && "$(wc -l <"$1")" -ge "$2" ]]; }
keys() { [[ "$(kit get --prefix "$1" --keys-only | grep -c .)" -ge "$2" ]]; }

# free_port prints a loopback port nobody listens on.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}

echo "building etcdkit" >&2
(cd "$repo/cmd" && go build -o "$work/etcdkit" ./etcdkit)

if [[ -z "${ENDPOINTS:-}" ]]; then
  source "$repo/scripts/pins.env"
  etcd_bin="$("$repo/scripts/etcd.sh" server "$ETCD_VERSION")"
  client_port="$(free_port)"
  peer_port="$(free_port)"
  ENDPOINTS="127.0.0.1:$client_port"
  echo "starting etcd $ETCD_VERSION on $ENDPOINTS" >&2
  "$etcd_bin" --name demo --data-dir "$work/data" \
    --listen-client-urls "http://$ENDPOINTS" --advertise-client-urls "http://$ENDPOINTS" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "demo=http://127.0.0.1:$peer_port" >"$work/etcd.log" 2>&1 &
  etcd_pid=$!
  for _ in $(seq 100); do
    if "$work/etcdkit" --endpoints "$ENDPOINTS" --command-timeout 1s endpoint health >/dev/null 2>&1; then
      break
    fi
    kill -0 "$etcd_pid" 2>/dev/null || { cat "$work/etcd.log" >&2; exit 1; }
    sleep 0.1
  done
fi
ek=("$work/etcdkit" --endpoints "$ENDPOINTS")
# Every key of the tour lives under one prefix, cleared first, so an existing cluster's other
# keys are left alone.
p="etcdkit-demo/"
"$work/etcdkit" --endpoints "$ENDPOINTS" del --prefix "$p" >/dev/null

say "Keys under a prefix"
run put "${p}config/color" blue
run put "${p}config/size" XL
run get --prefix "${p}config/"

say "Compare-and-swap: change the color only if it is still blue (twice; the second loses)"
cas="val(\"${p}config/color\") = \"blue\"

put ${p}config/color green

get ${p}config/color
"
printf '%s\n' "$cas" | run txn
printf '%s\n' "$cas" | run txn

say "A key on a 2-second lease vanishes when the lease expires"
lease="$("$work/etcdkit" --endpoints "$ENDPOINTS" lease grant 2 | awk '{print $2}')"
echo "(lease $lease granted)"
run put --lease "$lease" "${p}session" alive
run get "${p}session"
sleep 3.5
echo "(3.5 s later)"
run get "${p}session"
echo "(nothing: the key is gone)"

say "A watch in one process prints what another process writes"
rev="$("$work/etcdkit" --endpoints "$ENDPOINTS" get -w json "${p}x" | sed -E 's/.*"revision":([0-9]+).*/\1/')"
"$work/etcdkit" --endpoints "$ENDPOINTS" watch --prefix "${p}jobs/" --rev "$((rev + 1))" >"$work/watch.out" &
bg_pids+=($!)
run put "${p}jobs/1" queued
run put "${p}jobs/1" running
run del "${p}jobs/1"
for _ in $(seq 100); do
  [[ "$(wc -l <"$work/watch.out")" -ge 7 ]] && break
  sleep 0.05
done
echo "(the watcher printed:)"
sed 's/^/    /' "$work/watch.out"

say "A lock handed between two processes: B queues behind A and runs once A lets go"
# shellcheck disable=SC2016 # expanded by the locked shell, not this one
holder='echo "$0: holds the lock (revision $ETCD_LOCK_REV)"; sleep 1; echo "$0: lets go"'
echo "\$ etcdkit lock ${p}lock -- sh -c '$holder' A &"
"${ek[@]}" lock "${p}lock" -- sh -c "$holder" A >>"$work/lock.out" &
lock_a=$!
bg_pids+=("$lock_a")
wait_for lines "$work/lock.out" 1
echo "\$ etcdkit lock ${p}lock -- sh -c '$holder' B &"
"${ek[@]}" lock "${p}lock" -- sh -c "$holder" B >>"$work/lock.out" &
lock_b=$!
bg_pids+=("$lock_b")
queued() { keys "${p}lock/" 2 || lines "$work/lock.out" 3; } # or A was quicker than B's start
wait_for queued
echo "(B waits in the queue while A holds the lock)"
wait "$lock_a" "$lock_b"
echo "(what they printed, in order:)"
sed 's/^/    /' "$work/lock.out"

say "An election: alice leads, bob waits; when alice stops, bob takes over"
echo "\$ etcdkit elect -l ${p}election &     # an observer, printing each new leader"
"${ek[@]}" elect -l "${p}election" >"$work/observer.out" &
bg_pids+=($!)
echo "\$ etcdkit elect ${p}election alice &"
"${ek[@]}" elect "${p}election" alice >"$work/alice.out" &
alice=$!
bg_pids+=("$alice")
wait_for lines "$work/alice.out" 2
sed 's/^/    /' "$work/alice.out"
echo "\$ etcdkit elect ${p}election bob &"
"${ek[@]}" elect "${p}election" bob >"$work/bob.out" &
bob=$!
bg_pids+=("$bob")
wait_for keys "${p}election/" 2
echo "(bob is a candidate, not the leader: he printed nothing yet)"
echo "\$ kill -INT <alice>        # alice resigns"
kill -INT "$alice"
wait "$alice"
wait_for lines "$work/bob.out" 2
sed 's/^/    /' "$work/bob.out"
wait_for lines "$work/observer.out" 4
echo "(the observer printed:)"
sed 's/^/    /' "$work/observer.out"
kill -INT "$bob"
wait "$bob"

say "An operator task: the cluster's status as a table, and a snapshot saved and checked"
run endpoint status -w table
first="${ENDPOINTS%%,*}"
echo "\$ etcdkit --endpoints $first snapshot save demo.db"
"$work/etcdkit" --endpoints "$first" snapshot save "$work/demo.db"
echo "(saved only after its sha256 trailer matched: $(wc -c <"$work/demo.db") bytes)"

kit del --prefix "$p" >/dev/null
say "Done."
