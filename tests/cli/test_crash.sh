#!/bin/bash
# test_crash.sh — crash consistency: mlwb killed with SIGKILL at random moments while it
# loads data sets, trains, publishes and rolls back models and logs predictions; after
# every kill the store must be whole.
#
# Each trial copies a store holding iris (data v1) and a KNN model (v1, active), runs a
# session that stores three more data sets (two of 150,000 x 8 floats, 4.8 MB each),
# trains and publishes three models, rolls back and serves HTTP predictions (a client
# posts while it runs, so the prediction log writes too), and kills it with SIGKILL
# after a random delay spread over the session's length (measured first, unkilled).
# After each kill:
# - PRAGMA integrity_check is ok;
# - mlwb reopens the store, and restores its current data set and active model with no
#   warning (a model is read back through its checked deserialiser: a complete version);
# - no data set is half-written (every blob is rows x cols x 4 bytes) and every model
#   row has its blob, parameters and metrics; the active model and current data set
#   exist;
# - nothing the session reported as stored before the kill is missing;
# - the store takes new writes: a load and a training succeed.
# The phases the kills landed in are counted and printed ("# kills during: ...").
# Run from the top of the tree: bash tests/cli/test_crash.sh   (MLWB=path; TRIALS=N,
# default 24, 8 under a sanitizer)
set -u
. tests/tools/lib.sh
scratch
# under ASan or TSan a session is 5-20 times slower: fewer trials keep the tier's time
if nm -an "$MLWB" 2>/dev/null | grep -q -E '__(a|t)san_init'; then TRIALS=${TRIALS:-8}; fi
TRIALS=${TRIALS:-24}
CPID=""
trap 'for p in $CPID; do kill -9 "$p" 2>/dev/null; done; rm -rf "$SCRATCH"' EXIT

base=$SCRATCH/base.db
"$MLWB" --db "$base" -c 'load sample iris' -c 'train knn k=5' >/dev/null 2>&1
check_eq crash_base_store "$(sqlite3 "$base" 'SELECT count(*) FROM models')" 1

# The session: every line stores something.  PORT is filled in per trial.
session() {
    cat <<EOF
serve 127.0.0.1:$1
load synth blobs n=150000 d=8 classes=3 seed=$2
train kmeans k=3 n_init=1 max_iter=30
load sample digits
train knn k=5 folds=3
load synth blobs n=150000 d=8 classes=4 seed=$(( $2 + 1000 ))
train kmeans k=4 n_init=1 max_iter=30
use 2
load sample wine
EOF
}

# client PORT: post predictions until killed (most fail while the model's width changes)
client() {
    while :; do
        curl -s -m 2 -o /dev/null -X POST -d '{"instances":[[5.1,3.5,1.4,0.2]]}' \
            "http://127.0.0.1:$1/v1/predict"
        curl -s -m 2 -o /dev/null "http://127.0.0.1:$1/v1/predict?x=1,2,3,4,5,6,7,8"
    done
}

# run_session DB SEED OUT: the session in the background (SPID), its client (CPID)
run_session() {
    _port=$(free_port)
    session "$_port" "$2" > "$SCRATCH/s.mlwb"
    "$MLWB" --db "$1" -f "$SCRATCH/s.mlwb" > "$3" 2>&1 &
    SPID=$!
    client "$_port" > /dev/null 2>&1 &
    CPID=$!
}

# The session's length, unkilled (it keeps serving after its last line: it is done when
# the last load is reported).
now_ms() { date +%s%3N; }
cp "$base" "$SCRATCH/cal.db"
t0=$(now_ms)
run_session "$SCRATCH/cal.db" 7 "$SCRATCH/cal.out"
while ! grep -q 'data v5 loaded' "$SCRATCH/cal.out" 2>/dev/null; do  # the last line
    kill -0 "$SPID" 2>/dev/null || break
    [ $(( $(now_ms) - t0 )) -gt 120000 ] && break
    sleep 0.05
done
span=$(( $(now_ms) - t0 ))
kill -TERM "$SPID"; wait "$SPID"; st=$?
kill -9 "$CPID" 2>/dev/null; wait "$CPID" 2>/dev/null; CPID=""
check_eq crash_calibration_run "$(grep -c 'loaded\|^model v' "$SCRATCH/cal.out")" 8
check_eq crash_calibration_exit "$st" 0
echo "# the session takes $span ms unkilled"

# phase OUT: what the session was doing when it was killed (from what it had reported)
phase() {
    case $(grep -c 'loaded\|^model v' "$1") in
        0) echo "load-1" ;;  1) echo "train-1" ;;  2) echo "load-2" ;;  3) echo "train-2" ;;
        4) echo "load-3" ;;  5) echo "train-3" ;;  6) echo "rollback" ;;  7) echo "load-4" ;;
        *) echo "serving" ;;
    esac
}

declare -A phases
fails=0
for i in $(seq 1 "$TRIALS"); do
    db=$SCRATCH/t$i.db
    rm -f "$db" "$db-wal" "$db-shm"
    cp "$base" "$db"
    # a delay spread over the session (from 30 ms to its full length)
    delay=$(( 30 + (RANDOM * 32768 + RANDOM) % (span > 60 ? span : 60) ))
    run_session "$db" "$i" "$SCRATCH/t$i.out"
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    kill -9 "$SPID"; wait "$SPID" 2>/dev/null
    kill -9 "$CPID" 2>/dev/null; wait "$CPID" 2>/dev/null; CPID=""
    ph=$(phase "$SCRATCH/t$i.out")
    phases[$ph]=$(( ${phases[$ph]:-0} + 1 ))
    why=""
    ic=$(sqlite3 "$db" 'PRAGMA integrity_check' 2>&1 | head -3 | tr '\n' ' ')
    [ "$ic" = "ok " ] || why="$why integrity_check: $ic;"
    half=$(sqlite3 "$db" "SELECT count(*) FROM datasets WHERE x IS NULL OR length(x) != rows * cols * 4
                          OR (y IS NOT NULL AND length(y) != rows * 4)" 2>&1)
    [ "$half" = 0 ] || why="$why half-written data sets: $half;"
    bad=$(sqlite3 "$db" "SELECT count(*) FROM models WHERE blob IS NULL OR length(blob) = 0
                         OR params IS NULL OR metrics IS NULL
                         OR dataset_version NOT IN (SELECT version FROM datasets)" 2>&1)
    [ "$bad" = 0 ] || why="$why incomplete models: $bad;"
    dangling=$(sqlite3 "$db" "SELECT count(*) FROM state WHERE
                 (key = 'active_model' AND value NOT IN (SELECT version FROM models)) OR
                 (key = 'current_dataset' AND value NOT IN (SELECT version FROM datasets))" 2>&1)
    [ "$dangling" = 0 ] || why="$why active model or current data set missing: $dangling;"
    # everything reported as stored before the kill is there
    for v in $(sed -n 's/^data v\([0-9]*\) loaded.*/\1/p' "$SCRATCH/t$i.out"); do
        [ "$(sqlite3 "$db" "SELECT count(*) FROM datasets WHERE version = $v")" = 1 ] ||
            why="$why data v$v was reported stored but is missing;"
    done
    for v in $(sed -n 's/^model v\([0-9]*\):.*/\1/p' "$SCRATCH/t$i.out"); do
        [ "$(sqlite3 "$db" "SELECT count(*) FROM models WHERE version = $v")" = 1 ] ||
            why="$why model v$v was reported stored but is missing;"
    done
    # mlwb reopens it and restores its state without a warning, then writes again
    out=$("$MLWB" --db "$db" -c models -c datasets 2>&1); rc=$?
    [ $rc = 0 ] || why="$why reopen exit $rc;"
    case $out in *"not restored"*|*"corrupt"*|*"malformed"*) why="$why reopen: $(echo "$out" | grep -m1 'restored\|corrupt\|malformed');" ;; esac
    out=$("$MLWB" --db "$db" -c 'load sample iris' -c 'train knn k=3' 2>&1); rc=$?
    [ $rc = 0 ] || why="$why no write after the crash (exit $rc): $(echo "$out" | tail -1);"
    if [ -z "$why" ]; then
        ok "crash_trial_$i ($ph, ${delay} ms)"
    else
        not_ok "crash_trial_$i ($ph, ${delay} ms)" "$why"
        fails=$((fails + 1))
    fi
    rm -f "$db" "$db-wal" "$db-shm"
done
line=""
for k in "${!phases[@]}"; do line="$line $k ${phases[$k]},"; done
echo "# kills during:${line%,}"
echo "# $TRIALS trials, $fails with a damaged store"
