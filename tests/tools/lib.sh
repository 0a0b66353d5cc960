# lib.sh — helpers for the shell test tiers (http, tui, scripts).  Source it.
#
# Every check prints one line, "ok NAME" or "not ok NAME: why", on stdout; the tier
# runner collects these lines into build/results/TIER.txt and summary.sh counts them.
# A test file is a bash script; it may run many checks.

MLWB=${MLWB:-./mlwb}

ok()     { echo "ok $1"; }
not_ok() { echo "not ok $1${2:+: $2}"; }

# check NAME COMMAND... : ok when COMMAND exits 0.
check() {
    _name=$1; shift
    if "$@" >/dev/null 2>&1; then ok "$_name"; else not_ok "$_name" "command failed: $*"; fi
}

# check_contains NAME HAYSTACK NEEDLE
check_contains() {
    case $2 in
        *"$3"*) ok "$1" ;;
        *) not_ok "$1" "expected to find '$3' in: $(printf '%s' "$2" | head -c 400)" ;;
    esac
}

# check_eq NAME GOT WANT
check_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', want '$3'"; fi
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    # below the kernel's ephemeral range (32768 up), where a client connection's own
    # port could make the bind fail although nothing listens there
    _p=$(( 20000 + ($$ * 7 + $(date +%N | sed 's/^0*//;s/^$/1/') ) % 12000 ))
    while (echo > /dev/tcp/127.0.0.1/$_p) 2>/dev/null; do _p=$((_p + 1)); done
    echo $_p
}

# wait_http URL [SECONDS]: wait until URL answers (any status).
wait_http() {
    _n=$(( ${2:-10} * 10 ))
    while [ $_n -gt 0 ]; do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.1; _n=$((_n - 1))
    done
    return 1
}

# A scratch directory removed at exit.
scratch() {
    SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/mlwb-test.XXXXXX")
    trap 'rm -rf "$SCRATCH"' EXIT
}
