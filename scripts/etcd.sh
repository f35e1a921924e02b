#!/usr/bin/env bash
# Builds or reuses the etcd binaries that the integration tests run, and prints the resulting path.
#
#   scripts/etcd.sh server VERSION    etcd VERSION (v3.5.x..v3.7.x) built from the Go module proxy
#   scripts/etcd.sh etcdctl VERSION   etcdctl VERSION, the same way
#   scripts/etcd.sh etcdutl VERSION   etcdutl VERSION's snapshot command (restore, status) as
#                                     a program of its own, etcdutl-snapshot, the same way
#   scripts/etcd.sh debian            Debian's etcd-server (3.4.23), unpacked, not installed
#   scripts/etcd.sh debian-protos     Debian's golang-etcd-server-dev (3.4.23 sources); prints the
#                                     tree that holds etcdserver/etcdserverpb/rpc.proto
#   scripts/etcd.sh all               what `make test` needs: servers ETCD_VERSION and
#                                     ETCD_OLD_VERSION of scripts/pins.env, etcdctl ETCD_VERSION
#                                     (cmd/etcdkit compares its output), etcdutl ETCD_VERSION
#                                     (restores snapshots), debian, debian-protos
#
# Results live under $ETCDKIT_CACHE (default: the repo's ignored .cache/), as
# etcd/VERSION/etcd and etcd/VERSION/etcdctl; package etcd/etcdtest looks for them there.
# Every command is idempotent: what is already there is reused. Paths go to stdout, progress to stderr.
set -eu -o pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${ETCDKIT_CACHE:-$repo/.cache}"
root="$cache/etcd"

# The releases `all` prepares, from scripts/pins.env (which etcd/etcdtest reads too).
source "$repo/scripts/pins.env"
default_version=$ETCD_VERSION
old_version=$ETCD_OLD_VERSION

log() { echo "etcd.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# check_version refuses anything that is not a plain vX.Y.Z release.
check_version() {
  [[ "$1" =~ ^v3\.[0-9]+\.[0-9]+$ ]] || die "bad version \"$1\": want v3.Y.Z"
}

# go_binary NAME VERSION MODULE CALL IMPORTS... builds a three-line main that runs CALL, with
# MODULE pinned to VERSION, into $root/VERSION/NAME, unless that file is already there.
go_binary() {
  local name=$1 version=$2 module=$3 call=$4
  shift 4
  local out="$root/$version/$name"
  if [[ -x "$out" ]]; then
    echo "$out"
    return
  fi
  local dir="$root/build/$name-$version"
  log "building $name $version from $module@$version in $dir"
  local start=$SECONDS
  rm -rf "$dir"
  mkdir -p "$dir" "$root/$version"
  printf 'module etcdkit.local/%s\n\ngo 1.24\n' "$name" >"$dir/go.mod"
  {
    printf 'package main\n\nimport (\n'
    printf '\t"%s"\n' "$@"
    printf ')\n\nfunc main() { %s }\n' "$call"
  } >"$dir/main.go"
  (
    cd "$dir"
    export GOWORK=off GOFLAGS='-mod=mod -buildvcs=false' CGO_ENABLED=0
    go get "$module@$version" >&2
    go mod tidy >&2
    go build -trimpath -o "$out.tmp" . >&2
  )
  mv -f "$out.tmp" "$out"
  log "built $out in $((SECONDS - start))s"
  echo "$out"
}

server() {
  check_version "$1"
  go_binary etcd "$1" go.etcd.io/etcd/server/v3 'etcdmain.Main(os.Args)' \
    os go.etcd.io/etcd/server/v3/etcdmain
}

etcdctl() {
  check_version "$1"
  go_binary etcdctl "$1" go.etcd.io/etcd/etcdctl/v3 'ctlv3.MustStart()' go.etcd.io/etcd/etcdctl/v3/ctlv3
}

etcdutl() {
  check_version "$1"
  go_binary etcdutl-snapshot "$1" go.etcd.io/etcd/etcdutl/v3 'etcdutl.NewSnapshotCommand().Execute()' \
    go.etcd.io/etcd/etcdutl/v3/etcdutl
}

# deb PACKAGE DIR downloads PACKAGE with apt-get (refreshing the lists once if that fails) and
# unpacks it into DIR; it prints the package's upstream version (3.4.23-4+b4 → 3.4.23).
deb() {
  local pkg=$1 dir=$2
  local dl="$root/build/deb-$pkg"
  rm -rf "$dl" "$dir"
  mkdir -p "$dl" "$dir"
  log "downloading Debian's $pkg"
  # Root downloads into a directory that apt's sandbox user cannot write: say so up front.
  local get=(apt-get -q -o APT::Sandbox::User=root download "$pkg")
  if ! (cd "$dl" && "${get[@]}" >&2); then
    log "apt-get download failed; running apt-get update and trying again"
    apt-get -q update >&2
    (cd "$dl" && "${get[@]}" >&2)
  fi
  local file
  file="$(ls "$dl"/"$pkg"_*.deb)"
  dpkg-deb -x "$file" "$dir"
  dpkg-deb -f "$file" Version | sed -e 's/^[0-9]*://' -e 's/[-+~].*//'
}

debian() {
  local out
  out="$(ls "$root"/v3.4.*/etcd 2>/dev/null | head -n1 || true)"
  if [[ -n "$out" && -x "$out" ]]; then
    echo "$out"
    return
  fi
  local dir="$root/build/debian-etcd-server" version
  version="$(deb etcd-server "$dir")"
  local bin="$dir/usr/bin/etcd"
  [[ -x "$bin" ]] || die "no usr/bin/etcd in Debian's etcd-server package"
  out="$root/v$version/etcd"
  mkdir -p "$root/v$version"
  cp "$bin" "$out.tmp"
  mv -f "$out.tmp" "$out"
  log "unpacked Debian's etcd $version into $out"
  echo "$out"
}

debian_protos() {
  local dir="$root/debian-src" rpc
  rpc="$(find "$dir" -path '*/etcdserver/etcdserverpb/rpc.proto' 2>/dev/null | head -n1 || true)"
  if [[ -z "$rpc" ]]; then
    local version
    version="$(deb golang-etcd-server-dev "$dir.tmp")"
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
    rpc="$(find "$dir" -path '*/etcdserver/etcdserverpb/rpc.proto' | head -n1)"
    [[ -n "$rpc" ]] || die "no etcdserver/etcdserverpb/rpc.proto in golang-etcd-server-dev"
    log "unpacked Debian's etcd $version sources into $dir"
  fi
  dirname "$(dirname "$(dirname "$rpc")")"
}

usage() {
  sed -n '2,/^set /p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

# One run at a time: `make etcd` and a test run may start together.
mkdir -p "$root"
exec 9>"$root/.lock"
flock 9

case "${1:-}" in
  server) [[ $# -eq 2 ]] || usage; server "$2" ;;
  etcdctl) [[ $# -eq 2 ]] || usage; etcdctl "$2" ;;
  etcdutl) [[ $# -eq 2 ]] || usage; etcdutl "$2" ;;
  debian) [[ $# -eq 1 ]] || usage; debian ;;
  debian-protos) [[ $# -eq 1 ]] || usage; debian_protos ;;
  all)
    [[ $# -eq 1 ]] || usage
    start=$SECONDS
    server "$default_version"
    server "$old_version"
    etcdctl "$default_version"
    etcdutl "$default_version"
    debian
    debian_protos
    log "all ready in $((SECONDS - start))s"
    ;;
  *) usage ;;
esac
