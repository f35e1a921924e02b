# Sourced by test.sh and bench.sh. need_packages CMD:PACKAGE... installs with apt-get the
# Debian packages whose command (or, for a path, file) is missing; a failed install fails the
# caller, so under CI a missing tool never lets a test pass without it.
need_packages() {
  local want missing=()
  for want in "$@"; do
    local what=${want%%:*} pkg=${want#*:}
    if [[ $what == /* ]]; then
      [[ -e $what ]] || missing+=("$pkg")
    else
      command -v "$what" >/dev/null || missing+=("$pkg")
    fi
  done
  ((${#missing[@]} == 0)) && return
  echo "== apt-get install ${missing[*]}" >&2
  local sudo=()
  ((EUID == 0)) || sudo=(sudo)
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
    { "${sudo[@]}" apt-get update >&2 && "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" >&2; }
}
