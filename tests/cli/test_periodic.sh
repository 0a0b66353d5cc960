#!/bin/bash
# test_periodic.sh — a periodic load notices a changed file, ignores an unchanged one,
# reports a failed run without losing the current version or its schedule, and the
# process ends cleanly on SIGTERM.
. tests/tools/lib.sh
scratch
db=$SCRATCH/t.db
f=$SCRATCH/live.csv
log=$SCRATCH/out
cp samples/data/iris.csv "$f"

# wait_for PATTERN FILE [SECONDS]: until a line of FILE matches PATTERN
wait_for() {
    local n=$(( ${3:-10} * 20 ))
    while [ $n -gt 0 ]; do
        grep -q -- "$1" "$2" 2>/dev/null && return 0
        sleep 0.05; n=$((n - 1))
    done
    return 1
}

$MLWB --db "$db" -c "load csv $f every=200ms" > "$log" 2>&1 &
pid=$!
check first-load wait_for "data v1 loaded: 150 rows" "$log"
check unchanged wait_for "data v1 unchanged" "$log"
echo "5.0,3.0,1.5,0.25,setosa" >> "$f"
check changed wait_for "data v2 loaded: 151 rows" "$log"
cp "$f" "$SCRATCH/good.csv"
echo "1,2,3" >> "$f"
check failure-reported wait_for "load: $f:153: 3 fields, expected 5" "$log"
cp "$SCRATCH/good.csv" "$f"
before=$(grep -c "data v2 unchanged" "$log")
n=100
while [ $n -gt 0 ] && [ "$(grep -c "data v2 unchanged" "$log")" -le "$before" ]; do
    sleep 0.05; n=$((n - 1))
done
check_eq schedule-survives-failure "$([ "$(grep -c "data v2 unchanged" "$log")" -gt "$before" ] && echo yes)" yes
kill -TERM $pid
wait $pid
check_eq sigterm-status $? 0
check_eq no-version-from-failure "$(grep -c 'data v3' "$log")" 0
out=$($MLWB --db "$db" -c 'datasets; data')
check_contains two-versions "$out" "* 2        151 "
check_contains current-after-restart "$out" "data v2: csv $f"
