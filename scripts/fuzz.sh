#!/usr/bin/env bash
# Runs every fuzz target of every module (`make fuzz`) for FUZZTIME each (default 2m), one at
# a time, and prints a summary. New failing inputs land in the package's testdata/fuzz, where
# plain `go test` replays them; commit the ones worth keeping.
#
#   scripts/fuzz.sh                     every target, 2 minutes each
#   FUZZTIME=10s scripts/fuzz.sh        a quick pass
#   TARGETS=FuzzParseTxn scripts/fuzz.sh
set -eu -o pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-2m}"

# module_of prints the directory of the go.mod that owns directory $1.
module_of() {
  local d="$1"
  while [[ ! -f "$d/go.mod" ]]; do d="$(dirname "$d")"; done
  echo "$d"
}

rows=()
failed=0
while IFS=: read -r file name; do
  [[ -z "${TARGETS:-}" || " $TARGETS " == *" $name "* ]] || continue
  pkg="$(dirname "$file")"
  mod="$(module_of "$pkg")"
  rel="./${pkg#"$mod"}"
  rel="${rel/#.\/\//./}"
  echo "== $name in $pkg for $fuzztime" >&2
  start=$SECONDS
  if (cd "$mod" && go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$rel") >&2; then
    result=pass
  else
    result=FAIL
    failed=1
  fi
  rows+=("$(printf '| %-16s | %-32s | %-4s | %4ss |' "$name" "$pkg" "$result" "$((SECONDS - start))")")
done < <(git ls-files --cached --others --exclude-standard -- '*_test.go' | grep -v '^\.cache/' |
  xargs grep -oE '^func (Fuzz[A-Za-z0-9_]+)' | sed 's/func //' | sort)

echo
echo "| target | package | result | time |"
echo "|--------|---------|--------|------|"
printf '%s\n' "${rows[@]}"
exit "$failed"
