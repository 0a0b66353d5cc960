#!/usr/bin/env bash
# test_roles.sh — the headless roles as separate processes on one store: a loader
# (`mlwb load csv F --every`), a trainer (`mlwb train knn --every`) and a server
# (`mlwb serve --listen`).  The server is not ready until a model exists, then follows
# what the trainer publishes; while a client sends requests and the loader keeps
# finding new data (the file grows), not one request fails and the model_version the
# server answers with moves forward.  Also: one-shot runs and their exit status, usage
# errors, and SIGTERM ending every loop with status 0.
. tests/tools/lib.sh
scratch
PIDS=
trap 'for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$SCRATCH"' EXIT
db=$SCRATCH/s.db

# --- one-shot runs -----------------------------------------------------------------------
"$MLWB" load csv /nonexistent.csv --db "$db" >/dev/null 2>"$SCRATCH/err"
check_eq oneshot_load_fails_status $? 1
check_contains oneshot_load_fails_reason "$(cat "$SCRATCH/err")" "/nonexistent.csv: cannot open"
"$MLWB" train knn --db "$db" >/dev/null 2>"$SCRATCH/err"
check_eq oneshot_train_no_data_status $? 1
check_contains oneshot_train_no_data_reason "$(cat "$SCRATCH/err")" "no data loaded"
"$MLWB" serve --db "$db" >/dev/null 2>"$SCRATCH/err"
check_eq serve_needs_listen $? 2
"$MLWB" train --db "$db" >/dev/null 2>&1
check_eq train_needs_kind $? 2
"$MLWB" load csv x.csv --frobnicate >/dev/null 2>&1
check_eq unknown_role_option $? 2

# --- three processes ---------------------------------------------------------------------
f=$SCRATCH/live.csv
head -81 samples/data/iris.csv > "$f"       # the header and 80 rows
"$MLWB" load csv "$f" --db "$db" > "$SCRATCH/load1" 2>&1
check_eq oneshot_load_status $? 0

PORT=$(free_port)
B=http://127.0.0.1:$PORT
"$MLWB" serve --db "$db" --listen "127.0.0.1:$PORT" > "$SCRATCH/serve.out" 2>&1 &
SERVE=$!
PIDS="$PIDS $SERVE"
wait_http "$B/healthz" 30
code=$(curl -s -o /dev/null -w '%{http_code}' "$B/readyz")
check_eq serve_not_ready_without_model "$code" 503

"$MLWB" train knn k=5 --db "$db" > "$SCRATCH/train1" 2>&1
check_eq oneshot_train_status $? 0
n=40
while [ $n -gt 0 ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "$B/readyz")" != 200 ]; do
    sleep 0.1; n=$((n - 1))
done
check_eq serve_follows_first_model "$(curl -s -o /dev/null -w '%{http_code}' "$B/readyz")" 200

"$MLWB" load csv "$f" --every 300ms --db "$db" > "$SCRATCH/loader.out" 2>&1 &
LOADER=$!
"$MLWB" train knn k=5 --every 400ms --db "$db" > "$SCRATCH/trainer.out" 2>&1 &
TRAINER=$!
PIDS="$PIDS $LOADER $TRAINER"

fails=0
first=
last=
row=82
for i in $(seq 1 250); do
    if [ $((i % 25)) = 0 ] && [ $row -le 151 ]; then   # new data now and then
        sed -n "${row},$((row + 9))p" samples/data/iris.csv >> "$f"
        row=$((row + 10))
    fi
    body=$(curl -s -m 5 -w ' %{http_code}' -d '{"instances": [[5.9, 3.0, 5.1, 1.8]]}' "$B/v1/predict")
    case $body in
        *' 200') v=$(printf '%s' "$body" | grep -o '"model_version":[0-9]*' | cut -d: -f2)
                 [ -z "$first" ] && first=$v
                 last=$v ;;
        *) fails=$((fails + 1)) ;;
    esac
done
check_eq three_process_no_failed_request "$fails" 0
if [ -n "$first" ] && [ -n "$last" ] && [ "$last" -gt "$first" ]; then
    ok three_process_version_moves_forward
else
    not_ok three_process_version_moves_forward "first v$first, last v$last"
fi
n=100  # the trainer trains when it sees the new data (at most a second later)
while [ $n -gt 0 ] && ! grep -q "on data v[2-9]" "$SCRATCH/trainer.out"; do sleep 0.1; n=$((n - 1)); done
check_contains trainer_trained_new_data "$(cat "$SCRATCH/trainer.out")" "on data v"
if ! grep -q "on data v[2-9]" "$SCRATCH/trainer.out"; then
    not_ok trainer_trained_new_data_v2 "trainer output: $(head -c 600 "$SCRATCH/trainer.out")"
else
    ok trainer_trained_new_data_v2
fi
check_contains server_logged_follow "$(cat "$SCRATCH/serve.out")" "published by another process"

for p in $LOADER $TRAINER $SERVE; do
    kill -TERM "$p"
done
wait "$LOADER"; check_eq loader_sigterm_status $? 0
wait "$TRAINER"; check_eq trainer_sigterm_status $? 0
wait "$SERVE"; check_eq server_sigterm_status $? 0
PIDS=
ok_db=$(sqlite3 "$db" 'PRAGMA integrity_check' 2>/dev/null || echo "no sqlite3")
check_eq store_integrity "$ok_db" ok

# --- --set, and words with blanks ----------------------------------------------------------
"$MLWB" serve --db "$db" --listen 127.0.0.1:1 --set nosuch=1 >/dev/null 2>"$SCRATCH/err"
check_eq set_unknown_status $? 1
check_contains set_unknown_reason "$(cat "$SCRATCH/err")" "unknown option 'nosuch'"
"$MLWB" serve --db "$db" --listen 127.0.0.1:1 --set http-threads=99 >/dev/null 2>"$SCRATCH/err"
check_eq set_bad_value_status $? 1
check_contains set_bad_value_reason "$(cat "$SCRATCH/err")" "http-threads=99: expected"
"$MLWB" train knn --db "$db" --set promote >/dev/null 2>"$SCRATCH/err"
check_eq set_needs_equals $? 2
check_contains set_needs_equals_reason "$(cat "$SCRATCH/err")" "--set 'promote': expected NAME=VALUE"

mkdir -p "$SCRATCH/a dir"
sed '1s/species/the species/' samples/data/iris.csv > "$SCRATCH/a dir/b lanks.csv"
"$MLWB" load csv "$SCRATCH/a dir/b lanks.csv" "label=the species" --db "$db" > "$SCRATCH/out" 2>&1
check_eq load_blank_path_and_label $? 0
check_contains load_blank_path_and_label_out "$(cat "$SCRATCH/out")" "150 rows x 4 columns, 3 classes"
"$MLWB" train knn k=3 --db "$db" --set promote=always >/dev/null 2>&1
check_eq train_with_set $? 0

printf 'a-token-of-some-length\n' > "$SCRATCH/a dir/tok en"
PORT=$(free_port)
B=http://127.0.0.1:$PORT
"$MLWB" serve --db "$db" --listen "127.0.0.1:$PORT" --token-file "$SCRATCH/a dir/tok en" \
    --set model-name=iris --set http-max-instances=2 --set min-confidence=0.99 \
    > "$SCRATCH/serve2.out" 2>&1 &
SERVE=$!
PIDS="$SERVE"
wait_http "$B/healthz" 30
code=$(curl -s -o /dev/null -w '%{http_code}' "$B/v2/models/iris")
check_eq set_model_name "$code" 200
code=$(curl -s -o /dev/null -w '%{http_code}' "$B/v2/models/default")
check_eq set_model_name_default_gone "$code" 404
AUTH="Authorization: Bearer a-token-of-some-length"
code=$(curl -s -o /dev/null -w '%{http_code}' -d '{"instances": [[5.9, 3.0, 5.1, 1.8]]}' "$B/v1/predict")
check_eq token_file_with_blank_needed "$code" 401
body=$(curl -s -H "$AUTH" -d '{"instances": [[1,2,3,4],[1,2,3,4],[1,2,3,4]]}' "$B/v1/predict")
check_contains set_max_instances "$body" "at most 2 per request"
body=$(curl -s -H "$AUTH" -d '{"instances": [[6.0, 2.7, 5.1, 1.6]]}' "$B/v1/predict")
check_contains set_min_confidence "$body" '"abstained":true'
kill -TERM "$SERVE"
wait "$SERVE"; check_eq server2_sigterm_status $? 0
PIDS=
