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

# The first run of a schedule comes before the next command: a script that loads
# every= and then trains trains on that data (the first load's job is waited for).
out=$(timeout 10 $MLWB --db "$SCRATCH/first.db" -c "load csv $f every=1h; train knn k=3; quit" 2>&1)
check_contains first-run-before-train "$out" "model v1: knn k=3"
check_eq first-run-no-error "$(printf '%s\n' "$out" | grep -c 'no data loaded')" 0

# every DURATION COMMAND: any command, run on the main thread, counted in schedules.
log2=$SCRATCH/every.out
$MLWB --db "$db" -c "train knn k=3; every 200ms predict 5.1 3.5 1.4 0.2; every 300ms predict file=$f out=$SCRATCH/scored.csv" > "$log2" 2>&1 &
pid=$!
check every-runs wait_for "schedule 1: every 200ms: predict 5.1 3.5 1.4 0.2" "$log2"
n=100
while [ $n -gt 0 ] && [ "$(grep -c '^setosa' "$log2")" -lt 3 ]; do sleep 0.05; n=$((n - 1)); done
check_eq every-repeats "$([ "$(grep -c '^setosa' "$log2")" -ge 3 ] && echo yes)" yes
check every-batch-file wait_for "rows predicted with model v.* -> $SCRATCH/scored.csv" "$log2"
check_eq every-batch-csv "$(head -1 "$SCRATCH/scored.csv" 2>/dev/null | cut -d, -f5-)" "label,confidence"
kill -TERM $pid
wait $pid
check_eq every-sigterm-status $? 0
out=$($MLWB --db "$db" -c "every 10ms data; every 1s every 1s data; every 1s frobnicate; every 1s load csv $f every=2s; every soon data" 2>&1)
check_contains every-too-fast "$out" "every: '10ms': the period must be at least 100ms"
check_contains every-nested "$out" "every: 'every' cannot be scheduled"
check_contains every-unknown "$out" "every: unknown command 'frobnicate'"
check_contains every-twice "$out" "every: give the period once"
check_contains every-bad-duration "$out" "every: 'soon': expected a duration like 500ms, 30s, 5m, 1h"

# set retrain=on-new-data: a periodic load that finds changed content retrains with the
# last training's parameters; unchanged content does not.
g=$SCRATCH/grow.csv
head -101 samples/data/iris.csv > "$g"
log3=$SCRATCH/retrain.out
$MLWB --db "$SCRATCH/re.db" -c "set retrain=on-new-data; load csv $g every=200ms; train knn k=auto kmax=9" > "$log3" 2>&1 &
pid=$!
check retrain-first-model wait_for "model v1: knn" "$log3"
check retrain-unchanged wait_for "data v1 unchanged" "$log3"
cp samples/data/iris.csv "$g"
check retrain-logged wait_for "data v2 is new (set retrain=on-new-data): retraining" "$log3"
check retrain-model wait_for "model v2: knn k=.* on data v2" "$log3"
kill -TERM $pid
wait $pid
check_eq retrain-sigterm-status $? 0
check_eq retrain-once "$(grep -c 'model v3' "$log3")" 0
