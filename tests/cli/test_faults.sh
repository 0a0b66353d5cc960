#!/bin/bash
# test_faults.sh — the store failing under mlwb, and memory running out.  Each case
# checks the error names the store and says why, that serving goes on with the model in
# memory, and that nothing already stored is lost (PRAGMA integrity_check, the rows).
#
# - read-only: the store file and its directory may not be written (run as the user
#   nobody when we are root, since root writes anything): mlwb opens it read-only,
#   browses, predicts and serves; load, train, use and feedback fail naming the store.
# - locked: another process (sqlite3) holds the write lock: predictions and serving go
#   on; a load fails after the busy timeout with "database is locked" and a hint.
# - full: the store on a 1 MiB tmpfs filled up (as root; else a file-size limit,
#   `ulimit -f`, which mlwb survives since it ignores SIGXFSZ): a load fails with
#   "database or disk is full"; a server keeps answering, counts the predictions it
#   could not log, and logs them again once there is space.
# - corrupted: a damaged page refuses the store at open with the path and the reason;
#   a damaged model blob is refused (never trusted) and the rest of the store works.
# - memory: under `ulimit -v` a data set too big for memory fails to load with a clear
#   error; the previous data set and model stay; a server started before goes on.
# Run from the top of the tree: bash tests/cli/test_faults.sh   (MLWB=path to override)
set -u
. tests/tools/lib.sh
scratch
MLWB=$(cd "$(dirname "$MLWB")" && pwd)/$(basename "$MLWB")
PIDS=""
cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    [ -n "${MNT:-}" ] && umount "$MNT" 2>/dev/null
    rm -rf "$SCRATCH"
}
trap cleanup EXIT

# Under ASan and TSan the shadow memory needs a huge address space: no `ulimit -v` there.
SANITIZED=""
if nm -an "$MLWB" 2>/dev/null | grep -q -E '__(a|t)san_init'; then SANITIZED=1; fi

predict_x='5.1 3.5 1.4 0.2'
body='{"instances":[[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]}'
# A store with iris (data v1) and a KNN model (v1, active) and one logged prediction.
base="$SCRATCH/base.db"
"$MLWB" --db "$base" -c 'load sample iris' -c 'train knn k=5' -c "predict $predict_x" \
    >/dev/null 2>&1
check_eq base_store "$(sqlite3 "$base" 'SELECT count(*) FROM models; SELECT count(*) FROM datasets' | tr '\n' ' ')" "1 1 "

# integrity DB : "ok" when SQLite finds the file sound
integrity() { sqlite3 "$1" 'PRAGMA integrity_check' 2>&1 | head -3 | tr '\n' ' ' | sed 's/ $//'; }
# counts DB : models, datasets and the active model, for before/after comparisons
counts() {
    sqlite3 "$1" "SELECT (SELECT count(*) FROM models) || ' ' || (SELECT count(*) FROM datasets)
                  || ' ' || (SELECT value FROM state WHERE key = 'active_model')" 2>&1
}
# serve DB PORT LOG [mlwb args...]: start a server in the background (PIDS, $SPID)
serve() {
    _db=$1 _port=$2 _log=$3; shift 3
    # (not holding the lock holder's control pipe open: fd 7)
    "$@" "$MLWB" --db "$_db" -c "serve 127.0.0.1:$_port" > "$_log" 2>&1 7>&- &
    SPID=$!
    PIDS="$PIDS $SPID"
}
predict_code() { curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST -d "$body" "http://127.0.0.1:$1/v1/predict"; }

# --- read-only ---------------------------------------------------------------------
ro=$SCRATCH/ro
mkdir "$ro" && cp "$base" "$ro/s.db"
before=$(counts "$ro/s.db")
if [ "$(id -u)" = 0 ]; then
    chmod 755 "$SCRATCH" "$ro"; chmod 644 "$ro/s.db"
    AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    cp "$MLWB" "$SCRATCH/mlwb-ro" && chmod 755 "$SCRATCH/mlwb-ro"
    RO_MLWB=$SCRATCH/mlwb-ro
else
    chmod 444 "$ro/s.db"; chmod 555 "$ro"
    AS=()
    RO_MLWB=$MLWB
fi
out=$("${AS[@]}" "$RO_MLWB" --db "$ro/s.db" -c models -c "predict $predict_x" \
      -c 'load sample wine' -c 'train knn k=3' -c 'use 1' -c 'feedback 1 setosa' -c datasets 2>&1)
check_eq readonly_status $? 1
check_contains readonly_warned "$out" "warning: $ro/s.db is read-only: predictions are not logged"
check_contains readonly_models "$out" "* 1        knn"
check_contains readonly_predicts "$out" "setosa  (confidence 1.00, model v1)"
check_contains readonly_load_refused "$out" "load: $ro/s.db: cannot store dataset: attempt to write a readonly database (the file or its directory may not be written)"
check_contains readonly_train_refused "$out" "train: $ro/s.db: cannot store model: attempt to write a readonly database"
check_contains readonly_use_refused "$out" "use: $ro/s.db: cannot select model 1: attempt to write a readonly database"
check_contains readonly_datasets "$out" "sample iris"
port=$(free_port)
"${AS[@]}" "$RO_MLWB" --db "$ro/s.db" -c "serve 127.0.0.1:$port" > "$SCRATCH/ro.log" 2>&1 &
rpid=$!; PIDS="$PIDS $rpid"
wait_http "http://127.0.0.1:$port/readyz" 10
check_eq readonly_serves "$(predict_code "$port")" 200
kill -TERM "$rpid"; wait "$rpid"; check_eq readonly_server_exit $? 0
[ "$(id -u)" = 0 ] || chmod 755 "$ro"
check_eq readonly_nothing_lost "$(counts "$ro/s.db")" "$before"
check_eq readonly_integrity "$(integrity "$ro/s.db")" ok
check_eq readonly_no_side_files "$(ls "$ro")" s.db

# --- locked by another writer --------------------------------------------------------
cp "$base" "$SCRATCH/l.db"
before=$(counts "$SCRATCH/l.db")
mkfifo "$SCRATCH/lockctl"
sqlite3 "$SCRATCH/l.db" < "$SCRATCH/lockctl" > /dev/null 2>&1 &
lpid=$!; PIDS="$PIDS $lpid"
exec 7> "$SCRATCH/lockctl"
echo "BEGIN IMMEDIATE; INSERT INTO state VALUES('lock-holder', 1);" >&7
sleep 0.3
port=$(free_port)
serve "$SCRATCH/l.db" "$port" "$SCRATCH/l.log"
wait_http "http://127.0.0.1:$port/readyz" 15
check_eq locked_serves "$(predict_code "$port")" 200
t0=$(date +%s)
out=$("$MLWB" --db "$SCRATCH/l.db" -c "predict $predict_x" -c 'load sample wine' -c data 2>&1)
check_eq locked_status $? 1
check_contains locked_predicts "$out" "setosa  (confidence 1.00, model v1"
check_contains locked_load_refused "$out" "load: $SCRATCH/l.db: cannot store dataset: database is locked (another process is writing to the store; try again when it is done)"
check_contains locked_data_kept "$out" "data v1: sample iris"
check_eq locked_server_still_serves "$(predict_code "$port")" 200
echo "ROLLBACK;" >&7
exec 7>&-
wait "$lpid" 2>/dev/null
# the lock gone: the store takes writes again (the server logs its predictions)
out=$("$MLWB" --db "$SCRATCH/l.db" -c 'load sample wine' 2>&1)
check_contains locked_then_loads "$out" "data v2 loaded: 178 rows"
kill -TERM "$SPID"; wait "$SPID"; check_eq locked_server_exit $? 0
check_eq locked_integrity "$(integrity "$SCRATCH/l.db")" ok
check_eq locked_no_lock_row "$(sqlite3 "$SCRATCH/l.db" "SELECT count(*) FROM state WHERE key = 'lock-holder'")" 0

# --- full disk --------------------------------------------------------------------------
MNT=""
if [ "$(id -u)" = 0 ] && mkdir -p "$SCRATCH/tmpfs" &&
   mount -t tmpfs -o size=1m tmpfs "$SCRATCH/tmpfs" 2>/dev/null; then
    MNT=$SCRATCH/tmpfs
    fdb=$MNT/f.db
    cp "$base" "$fdb"
    # leave ~90 kB: the store and its WAL fill the rest
    avail=$(df -k --output=avail "$MNT" | tail -1)
    head -c $(( (avail - 90) * 1024 )) /dev/zero > "$MNT/filler" 2>/dev/null
    LIMIT=()
    full_msg="database or disk is full (free some space and try again)"
else  # no tmpfs: a file-size limit (EFBIG) stands in for the full disk
    fdb=$SCRATCH/f.db
    cp "$base" "$fdb"
    LIMIT=(bash -c 'ulimit -f 200; exec "$@"' limit)
    full_msg="cannot store dataset"
fi
before=$(counts "$fdb")
out=$("${LIMIT[@]}" "$MLWB" --db "$fdb" -c 'load synth blobs n=20000 d=8 classes=3' \
      -c datasets -c "predict $predict_x" 2>&1)
check_eq full_status $? 1
check_contains full_load_refused "$out" "load: $fdb: cannot store dataset"
check_contains full_reason "$out" "$full_msg"
check_contains full_data_kept "$out" "* 1        150"
check_contains full_predicts "$out" "setosa  (confidence 1.00, model v1"
check_eq full_nothing_lost "$(counts "$fdb")" "$before"
port=$(free_port)
serve "$fdb" "$port" "$SCRATCH/f.log" "${LIMIT[@]}"
wait_http "http://127.0.0.1:$port/readyz" 10
codes=""
for i in $(seq 1 300); do codes="$codes$(predict_code "$port") "; done
check_eq full_all_answered "$(echo "$codes" | tr ' ' '\n' | grep -c 200)" 300
dropped=$(curl -s "http://127.0.0.1:$port/metrics" | sed -n 's/^mlwb_predictions_dropped_total //p')
if [ -n "$MNT" ]; then
    if [ "${dropped:-0}" -gt 0 ]; then ok full_drops_counted
    else not_ok full_drops_counted "mlwb_predictions_dropped_total is '${dropped}'"; fi
    # the server's complaints are rate-limited: a few lines, not one per batch
    n=$(grep -c 'prediction log:\|prediction ids:' "$SCRATCH/f.log")
    if [ "$n" -ge 1 ] && [ "$n" -le 6 ]; then ok full_complaints_throttled
    else not_ok full_complaints_throttled "$n log lines about the store"; fi
    check_contains full_complaint_named "$(cat "$SCRATCH/f.log")" "$fdb: cannot"
    rm -f "$MNT/filler"
    sleep 1.2  # past the 1 s back-off of a failed id reservation
    for i in 1 2 3; do predict_code "$port" >/dev/null; sleep 0.3; done
    id=$(curl -s -X POST -d "$body" "http://127.0.0.1:$port/v1/predict" | sed -n 's/.*"predictions":\[{"id":\([0-9]*\).*/\1/p')
    if [ -n "$id" ]; then ok full_logging_recovers; else not_ok full_logging_recovers "no id after space was freed"; fi
    fb=$(curl -s -X POST -d "{\"id\":$id,\"label\":\"setosa\"}" "http://127.0.0.1:$port/v1/feedback")
    check_contains full_feedback_after "$fb" '"label":"setosa"'
fi
kill -TERM "$SPID"; wait "$SPID"; check_eq full_server_exit $? 0
check_eq full_integrity "$(integrity "$fdb")" ok
check_eq full_model_kept "$(sqlite3 "$fdb" 'SELECT count(*) FROM models')" 1
[ -n "$MNT" ] && umount "$MNT" && MNT=""

# --- corrupted ----------------------------------------------------------------------
cp "$base" "$SCRATCH/c.db"
sqlite3 "$SCRATCH/c.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
# a damaged page in the middle of the file (pages 2.. hold tables and blobs)
dd if=/dev/urandom of="$SCRATCH/c.db" bs=4096 seek=2 count=3 conv=notrunc 2>/dev/null
out=$("$MLWB" --db "$SCRATCH/c.db" -c models -c "predict $predict_x" 2>&1)
rc=$?
if [ $rc -eq 1 ] || [ $rc -eq 0 ]; then ok corrupt_no_crash; else not_ok corrupt_no_crash "exit status $rc: $out"; fi
check_contains corrupt_named "$out" "$SCRATCH/c.db"
check_contains corrupt_reason "$out" "malformed"
# a damaged model blob is refused: the store opens, the model is not trusted
cp "$base" "$SCRATCH/b.db"
sqlite3 "$SCRATCH/b.db" "UPDATE models SET blob = substr(blob, 1, 60) || randomblob(length(blob) - 60) WHERE version = 1"
out=$("$MLWB" --db "$SCRATCH/b.db" -c models -c "predict $predict_x" -c 'train knn k=3' -c "predict $predict_x" 2>&1)
check_contains blob_refused "$out" "warning: active model 1 not restored: model 1: model blob"
check_contains blob_no_guess "$out" "predict: no active model"
check_contains blob_store_usable "$out" "model v2: knn k=3"
check_contains blob_then_predicts "$out" "setosa  (confidence 1.00, model v2"
# a truncated blob, and a blob of the wrong kind
sqlite3 "$SCRATCH/b.db" "UPDATE models SET blob = substr(blob, 1, 100) WHERE version = 2"
out=$("$MLWB" --db "$SCRATCH/b.db" -c "predict $predict_x" 2>&1)
check_contains blob_truncated_refused "$out" "warning: active model 2 not restored"
check_eq blob_integrity "$(integrity "$SCRATCH/b.db")" ok
# a damaged data set blob: the data set is refused, the store goes on
cp "$base" "$SCRATCH/d.db"
sqlite3 "$SCRATCH/d.db" "UPDATE datasets SET x = substr(x, 1, 100) WHERE version = 1"
out=$("$MLWB" --db "$SCRATCH/d.db" -c data -c models -c "predict $predict_x" 2>&1)
check_contains dataset_refused "$out" "warning: current data set 1 not restored: $SCRATCH/d.db: dataset 1 is corrupted: x blob holds 100 bytes, expected 2400"
check_contains dataset_models_ok "$out" "* 1        knn"
check_contains dataset_predict_ok "$out" "setosa  (confidence 1.00, model v1"

# --- memory -------------------------------------------------------------------------------
if [ -n "$SANITIZED" ]; then
    ok "memory_limit # skip: a sanitizer's shadow memory needs the address space"
else
    cp "$base" "$SCRATCH/m.db"
    port=$(free_port)
    # 1 GB of address space: mlwb itself maps ~0.45 GB (thread stacks, malloc arenas)
    ( ulimit -v 1000000
      exec "$MLWB" --db "$SCRATCH/m.db" -c "serve 127.0.0.1:$port" \
          -c 'load synth blobs n=20000000 d=16 classes=3' -c data -c 'train kmeans k=3' \
          -c "predict $predict_x" ) > "$SCRATCH/m.log" 2>&1 &
    mpid=$!; PIDS="$PIDS $mpid"
    wait_http "http://127.0.0.1:$port/readyz" 10
    for i in $(seq 1 50); do grep -q "predict\|setosa" "$SCRATCH/m.log" && break; sleep 0.2; done
    sleep 0.3
    out=$(cat "$SCRATCH/m.log")
    check_contains memory_load_refused "$out" "load: cannot allocate 20000000 rows x 16 columns (1280.0 MB): out of memory"
    check_contains memory_data_kept "$out" "data v1: sample iris"
    check_contains memory_trains_after "$out" "model v2: kmeans k=3"
    check_contains memory_session_goes_on "$out" "cluster"
    check_eq memory_server_serves "$(predict_code "$port")" 200
    check_eq memory_server_alive "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" 200
    # SIGTERM ends it cleanly; its status is 1 since a command of its script failed
    kill -TERM "$mpid"; wait "$mpid"; check_eq memory_server_exit $? 1
    check_eq memory_integrity "$(integrity "$SCRATCH/m.db")" ok
fi
