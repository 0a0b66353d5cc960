# lib.sh — helpers for tests/deploy/*.sh (make check-deploy, make test-compose).  Source it.
# shellcheck shell=bash
#
# Each check prints "ok NAME" or "not ok NAME: why" and is counted; finish() prints the
# closing "deploy: N passed, N failed" line and the run time, and returns the status.
# Tools are installed outside the repository: Debian packages with apt-get (when root),
# npm packages and helm under $MLWB_DEPLOY_CACHE (default ~/.cache/mlwb-deploy).

DEPLOY_CACHE=${MLWB_DEPLOY_CACHE:-${HOME:-/root}/.cache/mlwb-deploy}
DEPLOY_START=$(date +%s)
PASSED=0
FAILED=0

ok()     { echo "ok $1"; PASSED=$((PASSED + 1)); }
not_ok() { echo "not ok $1${2:+: $2}"; FAILED=$((FAILED + 1)); }

# run NAME COMMAND... : ok when COMMAND exits 0; else not ok with its last output lines.
run() {
    _name=$1; shift
    if _out=$("$@" 2>&1); then
        ok "$_name"
    else
        not_ok "$_name" "$(printf '%s' "$_out" | tail -n 8 | tr '\n' ' ' | cut -c1-600)"
    fi
}

# run_fails NAME COMMAND... : ok when COMMAND fails (a negative control).
run_fails() {
    _name=$1; shift
    if "$@" >/dev/null 2>&1; then not_ok "$_name" "accepted: $*"; else ok "$_name"; fi
}

# need_debs CMD:PACKAGE... : install the packages whose command is missing (root only).
need_debs() {
    _missing=
    for _cp in "$@"; do
        command -v "${_cp%%:*}" >/dev/null 2>&1 || _missing="$_missing ${_cp#*:}"
    done
    [ -z "$_missing" ] && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "deploy: missing packages:$_missing (install them: sudo apt-get install$_missing)"
        return 1
    fi
    echo "deploy: installing$_missing"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            $_missing >/dev/null || { echo "deploy: apt-get install failed"; return 1; }
}

# finish: the closing line; status 0 when nothing failed.
finish() {
    echo "deploy: finished in $(( $(date +%s) - DEPLOY_START )) s"
    echo "deploy: $PASSED passed, $FAILED failed"
    [ "$FAILED" = 0 ] && [ "$PASSED" -gt 0 ]
}
