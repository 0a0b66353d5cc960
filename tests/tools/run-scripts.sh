#!/bin/sh
# run-scripts.sh BUILD — the golden script tests: for each tests/scripts/NAME.mlwb,
# run `mlwb [ARGS] -f NAME.mlwb` on a fresh store (from tests/scripts, so relative paths
# work) and compare stdout with NAME.out, stderr with NAME.err (when present) and the
# exit status with NAME.status (default 0).  Timing fields in JSON output
# (train_seconds, created, latency_ms, read_seconds, store_seconds, seconds) are replaced by N, and load times by TIME, before
# the comparison.  ARGS come from a first line "# args: ...".
build=$1
top=$(pwd)
out=$build/results/scripts.txt
: > "$out"
echo "== script tests"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd tests/scripts || exit 1
for t in *.mlwb; do
    name=${t%.mlwb}
    args=$(sed -n '1s/^# args: //p' "$t")
    rm -f "$tmp"/t.db*
    # shellcheck disable=SC2086
    "$MLWB" --db "$tmp/t.db" $args -f "$t" > "$tmp/out" 2> "$tmp/err" < /dev/null
    status=$?
    # times vary from run to run: normalise them
    sed -E -i -e 's/"(train_seconds|created|latency_ms|read_seconds|store_seconds|seconds)":[0-9.eE+-]+/"\1":N/g' \
        -e 's/loaded [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}/loaded TIME/' "$tmp/out"
    want_status=0
    [ -f "$name.status" ] && want_status=$(cat "$name.status")
    why=""
    if [ "$status" != "$want_status" ]; then
        why="exit status $status, want $want_status"
    elif ! cmp -s "$tmp/out" "$name.out"; then
        why="stdout differs from $name.out"
        diff -u "$name.out" "$tmp/out" | head -20 | sed 's/^/    /'
    elif [ -f "$name.err" ] && ! cmp -s "$tmp/err" "$name.err"; then
        why="stderr differs from $name.err"
        diff -u "$name.err" "$tmp/err" | head -20 | sed 's/^/    /'
    fi
    if [ -z "$why" ]; then
        echo "ok script.$name" >> "$top/$out"
    else
        echo "not ok script.$name: $why" >> "$top/$out"
        echo "  $name: FAILED: $why"
    fi
done
echo "  $(grep -c '^ok' "$top/$out") passed, $(grep -c '^not ok' "$top/$out") failed"
