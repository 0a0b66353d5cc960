#!/usr/bin/env bash
# test_api.sh — the service around prediction, with curl on 127.0.0.1: feedback (200, the
# same label again, 409 for another, 404, 400), quality (online accuracy per version
# with its interval), the model list and one model (404 for an unknown one), /metrics in
# Prometheus text, ?explain=1, set min-confidence (abstaining), the KServe v2 routes
# (health, metadata, infer with FP32/FP64 flat and nested, the errors naming the field,
# another model name 404), the listener's limits as settings (instances, body), the
# token from token-file= and MLWB_TOKEN, and that an address other machines can reach
# needs a token or 'insecure' (loopback judged on the parsed address: [::ffff:127.0.0.1],
# [0:0:0:0:0:0:0:1], 127.0.0.2 need none; [::ffff:10.0.0.1], [::127.0.0.1] do), and
# that the setting http-header-size shows the default serve uses (16k).  Then a hot swap: models are activated in a loop (every
# 100 ms) while a client sends requests; not one request may fail.
#
# Run from the top of the tree: bash tests/http/test_api.sh   (MLWB=path to override)

. "$(dirname "$0")/../tools/lib.sh"
scratch

PID=
trap '[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null; rm -rf "$SCRATCH"' EXIT

if ! command -v curl >/dev/null 2>&1; then
    not_ok http_api_curl "curl is not installed (make deps installs it)"
    exit 0
fi

# call CURL_ARGS... : one request; sets CODE, CTYPE, BODY.
call() {
    _out=$(curl -s -g -m 10 -w '\n%{http_code} %{content_type}' "$@")
    _last=${_out##*$'\n'}
    BODY=${_out%$'\n'*}
    CODE=${_last%% *}
    CTYPE=${_last#* }
}

# expect NAME STATUS NEEDLE
expect() {
    if [ "$CODE" != "$2" ]; then
        not_ok "$1" "status $CODE, want $2; body: $(printf '%s' "$BODY" | head -c 300)"
    else
        check_contains "$1" "$BODY" "$3"
    fi
}

# start NAME COMMANDS [ENV...]: mlwb running COMMANDS; serve on a free port (B, PORT).
start() {
    local name=$1 cmds=$2
    shift 2
    PORT=$(free_port)
    B=http://127.0.0.1:$PORT
    env "$@" "$MLWB" --db "$SCRATCH/t.db" -c "$cmds; serve 127.0.0.1:$PORT" \
        </dev/null >"$SCRATCH/serve.out" 2>"$SCRATCH/serve.err" &
    PID=$!
    if ! wait_http "$B/healthz" 30; then
        not_ok "$name" "no answer within 30 s; stderr: $(head -c 400 "$SCRATCH/serve.err")"
        exit 0
    fi
    ok "$name"
}

stop() {
    kill -TERM "$PID" 2>/dev/null
    wait "$PID"
    check_eq "$1" "$?" 0
    PID=
}

start api_start "load sample iris; train knn k=5; set http-max-instances=3; set http-max-body=2k"

# --- feedback ------------------------------------------------------------------------
call -d '{"instances": [[5.1, 3.5, 1.4, 0.2], [6.3, 2.8, 5.1, 1.5]]}' "$B/v1/predict"
expect fb_predict 200 '"predictions":['
ID1=$(printf '%s' "$BODY" | grep -o '"id":[0-9]*' | sed -n 1p | cut -d: -f2)
ID2=$(printf '%s' "$BODY" | grep -o '"id":[0-9]*' | sed -n 2p | cut -d: -f2)
call -d "{\"id\": $ID1, \"label\": \"setosa\"}" "$B/v1/feedback"
expect fb_new 200 '"new":true'
check_contains fb_new_version "$BODY" '"model_version":1'
call -d "{\"id\": $ID1, \"label\": \"setosa\"}" "$B/v1/feedback"
expect fb_same 200 '"new":false'
call -d "{\"id\": $ID1, \"label\": \"virginica\"}" "$B/v1/feedback"
expect fb_conflict 409 "already has the label 'setosa'"
call -d "{\"id\": $ID2, \"label\": \"virginica\"}" "$B/v1/feedback"
expect fb_second 200 '"new":true'
call -d '{"id": 999999, "label": "setosa"}' "$B/v1/feedback"
expect fb_unknown 404 'no prediction 999999'
call -d '{"id": "x", "label": "setosa"}' "$B/v1/feedback"
expect fb_bad_id 400 "field 'id'"
call -d '{"id": -3, "label": "setosa"}' "$B/v1/feedback"
expect fb_negative_id 400 "field 'id': expected a prediction id (a positive integer), got -3"
call -d '{"id": 1.5, "label": "setosa"}' "$B/v1/feedback"
expect fb_real_id 400 "got 1.5"
call -d "{\"id\": $ID1}" "$B/v1/feedback"
expect fb_no_label 400 "field 'label'"
call -d "{\"id\": $ID1, \"label\": \"\"}" "$B/v1/feedback"
expect fb_empty_label 400 "field 'label': expected a string of 1 to 200 bytes, got an empty string"
call --data-binary "{\"id\": $ID1, \"label\": \"a\\u0000b\"}" "$B/v1/feedback"
expect fb_nul_label 400 'a NUL character) is not allowed in a string'
call -d '{"id": 1, ' "$B/v1/feedback"
expect fb_bad_json 400 'invalid JSON'
call "$B/v1/feedback"
expect fb_get_405 405 'not allowed'

# --- quality -------------------------------------------------------------------------
call "$B/v1/quality"
expect quality_200 200 '"versions":[{"version":1'
check_contains quality_counts "$BODY" '"predictions":2,"feedback":2,"correct":1'
check_contains quality_accuracy "$BODY" '"accuracy":0.5,"ci95":['
check_contains quality_offline "$BODY" '"offline_accuracy":0.96'
check_contains quality_drift "$BODY" '"drift":{"model_version":1'

# --- models --------------------------------------------------------------------------
call "$B/v1/models"
expect models_list 200 '"models":[{"version":1,"kind":"knn","active":true'
check_contains models_active_features "$BODY" '"features":["sepal_length"'
call "$B/v1/models/1"
expect model_one 200 '"version":1'
check_contains model_one_curve "$BODY" '"curve":{"kind":"knn"'
call "$B/v1/models/7"
expect model_unknown 404 'no model version 7'
call "$B/v1/models/abc"
expect model_bad 404 'is not a model version'

# --- explain, limits -----------------------------------------------------------------
call "$B/v1/predict?x=5.1,3.5,1.4,0.2&explain=1"
expect explain_200 200 '"neighbours":[{"row":'
check_eq explain_count "$(printf '%s' "$BODY" | grep -o '"row":' | wc -l)" 5
call -d '{"instances": [[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4]]}' "$B/v1/predict"
expect limit_instances 413 'at most 3 per request'
call -d "{\"instances\": [[$(printf '1.0,%.0s' $(seq 1 800))1]]}" "$B/v1/predict"
expect limit_body 413 'over the limit of 2048 bytes'

# --- metrics -------------------------------------------------------------------------
call "$B/metrics"
if [ "$CODE" = 200 ] && [ "${CTYPE%%;*}" = text/plain ]; then ok metrics_200
else not_ok metrics_200 "status $CODE type $CTYPE"; fi
check_contains metrics_requests "$BODY" 'mlwb_http_requests_total{route="/v1/predict",code="200"}'
check_contains metrics_409 "$BODY" 'mlwb_http_requests_total{route="/v1/feedback",code="409"} 1'
check_contains metrics_hist "$BODY" 'mlwb_http_request_duration_seconds_bucket{le="+Inf"}'
check_contains metrics_feedback "$BODY" 'mlwb_feedback_total 2'
check_contains metrics_version "$BODY" 'mlwb_model_active_version 1'
check_contains metrics_rows "$BODY" 'mlwb_dataset_rows 150'
check_contains metrics_alert "$BODY" 'mlwb_alert{kind="drift"}'

# --- KServe v2 -----------------------------------------------------------------------
call "$B/v2/health/live"
expect v2_live 200 '{"live":true}'
call "$B/v2/health/ready"
expect v2_ready 200 '{"ready":true}'
call "$B/v2/models/default"
expect v2_meta 200 '"inputs":[{"name":"input-0","datatype":"FP32","shape":[-1,4]}]'
check_contains v2_meta_outputs "$BODY" '"name":"label","datatype":"BYTES"'
call "$B/v2/models/default/ready"
expect v2_model_ready 200 '"ready":true'
call "$B/v2/models/other"
expect v2_other_404 404 "no model 'other'"
call -d '{"id": "r1", "inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]}]}' "$B/v2/models/default/infer"
expect v2_infer_flat 200 '"data":["setosa","virginica"]'
check_contains v2_infer_id "$BODY" '"id":"r1"'
check_contains v2_infer_version "$BODY" '"model_version":"1"'
call -d '{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [[6.7, 3.0, 5.2, 2.3]]}]}' "$B/v2/models/default/infer"
expect v2_infer_nested 200 '"data":["virginica"]'
call -d '{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}' "$B/v2/models/default/infer"
expect v2_bad_shape 400 'inputs[0].shape: 3 features, the model takes 4'
call -d '{"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP32", "data": [1, 2, 3, 4, 5]}]}' "$B/v2/models/default/infer"
expect v2_bad_count 400 'inputs[0].data: 5 values'
call -d '{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "INT8", "data": [1, 2, 3, 4]}]}' "$B/v2/models/default/infer"
expect v2_bad_type 400 'inputs[0].datatype'
call -d '{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, "a", 3, 4]}]}' "$B/v2/models/default/infer"
expect v2_bad_value 400 'inputs[0].data[1]: expected a number'
# nested data must follow the shape
call -d '{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [[1, 2], [3, 4]]}]}' "$B/v2/models/default/infer"
expect v2_nested_rows_vs_shape 400 'inputs[0].data: 2 rows, the shape [1, 4] has 1'
call -d '{"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP32", "data": [[1, 2, 3, 4], []]}]}' "$B/v2/models/default/infer"
expect v2_nested_short_row 400 'inputs[0].data[1]: 0 values, a row of the shape [2, 4] holds 4'
call -d '{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [[1, 2, 3, [4]]]}]}' "$B/v2/models/default/infer"
expect v2_nested_deeper 400 'inputs[0].data[0][3]: expected a number, got an array'
call -d '{"inputs": [{"name": "x", "shape": [4], "datatype": "FP32", "data": [[1, 2, 3, 4]]}]}' "$B/v2/models/default/infer"
expect v2_nested_rank1 400 'inputs[0].data: the shape [4] takes 4 numbers, not arrays'
call -d '{"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP64", "data": [[1, 2, 3, 4], [0, 2e38, 0, 0]]}]}' "$B/v2/models/default/infer"
expect v2_nested_too_far 400 'inputs[0].data[1][1]: 2e+38 is too far from the training data'
call -d '{"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP32", "data": [1, 2, 3, 4, 0, 2e38, 0, 0]}]}' "$B/v2/models/default/infer"
expect v2_flat_too_far 400 'inputs[0].data[5]: 2e+38 is too far from the training data'
call -d '{"inputs": [{"shape": [1, 4], "datatype": "FP32", "data": [1,2,3,4]}]}' "$B/v2/models/nope/infer"
expect v2_infer_404 404 "no model 'nope'"
stop api_stop

# --- min-confidence, model-name ------------------------------------------------------
start api_minconf "set min-confidence=0.9; set model-name=iris-knn"
call "$B/v1/predict?x=6.3,2.8,5.1,1.5"
expect minconf_abstain 200 '"label":null,"confidence":0.6,"abstained":true'
call "$B/v1/predict?x=5.1,3.5,1.4,0.2"
expect minconf_sure 200 '"label":"setosa","confidence":1.0'
call -d '{"inputs": [{"name": "x", "shape": [4], "datatype": "FP32", "data": [6.3, 2.8, 5.1, 1.5]}]}' "$B/v2/models/iris-knn/infer"
expect v2_named 200 '"model_name":"iris-knn"'
check_contains v2_abstain_null "$BODY" '"data":[null]'
stop api_minconf_stop

# --- tokens --------------------------------------------------------------------------
printf 'sekrit-token-123\nignored\n' > "$SCRATCH/tok"
PORT=$(free_port)
B=http://127.0.0.1:$PORT
"$MLWB" --db "$SCRATCH/t.db" -c "serve 127.0.0.1:$PORT token-file=$SCRATCH/tok" \
    </dev/null >"$SCRATCH/serve.out" 2>&1 &
PID=$!
wait_http "$B/healthz" 30
call "$B/v1/predict?x=5.1,3.5,1.4,0.2"
expect token_file_401 401 'bearer token'
call -H 'Authorization: Bearer sekrit-token-123' "$B/v1/predict?x=5.1,3.5,1.4,0.2"
expect token_file_200 200 '"label":"setosa"'
call "$B/metrics"
check_eq token_metrics_open "$CODE" 200
stop token_file_stop

PORT=$(free_port)
B=http://127.0.0.1:$PORT
MLWB_TOKEN=env-token-456 "$MLWB" --db "$SCRATCH/t.db" -c "serve 127.0.0.1:$PORT" \
    </dev/null >"$SCRATCH/serve.out" 2>&1 &
PID=$!
wait_http "$B/healthz" 30
call -H 'Authorization: Bearer env-token-456' -d '{"id": 1, "label": "setosa"}' "$B/v1/feedback"
expect token_env_200 200 '"id":1'
call -d '{"id": 1, "label": "setosa"}' "$B/v1/feedback"
expect token_env_401 401 'bearer token'
stop token_env_stop

out=$("$MLWB" --db "$SCRATCH/t.db" -c "serve 0.0.0.0:$(free_port)" 2>&1 </dev/null)
check_contains public_needs_token "$out" "reachable from other machines: give a token"
out=$("$MLWB" --db "$SCRATCH/t.db" -c "serve 127.0.0.1:1 token=short" 2>&1 </dev/null)
check_contains token_too_short "$out" "at least 8 characters"
out=$("$MLWB" --db "$SCRATCH/t.db" -c "serve 127.0.0.1:1 token-file=$SCRATCH/none" 2>&1 </dev/null)
check_contains token_file_missing "$out" "token-file=$SCRATCH/none: cannot read"
# loopback is judged on the parsed address, not its spelling: these need no token (where
# the machine has no IPv6 the bind fails instead, but the address is not refused)
for a in '[::ffff:127.0.0.1]' '[0:0:0:0:0:0:0:1]' '[::1]' '127.0.0.2' 'localhost'; do
    n=loopback_$(printf '%s' "$a" | tr -c 'a-z0-9' _)
    out=$(timeout 20 "$MLWB" --db "$SCRATCH/t.db" -c "serve $a:0; serve stop" 2>&1 </dev/null)
    case $out in
        *"reachable from other machines"*) not_ok "$n" "refused without a token: $out" ;;
        *"serving on"*|*"cannot listen"*) ok "$n" ;;
        *) not_ok "$n" "neither served nor failed to bind: $(printf '%s' "$out" | head -c 300)" ;;
    esac
done
for a in '[::ffff:10.0.0.1]' '[::]' '[::127.0.0.1]' '[::ffff:128.0.0.1]'; do
    out=$("$MLWB" --db "$SCRATCH/t.db" -c "serve $a:$(free_port)" 2>&1 </dev/null)
    check_contains "public_$(printf '%s' "$a" | tr -c 'a-z0-9' _)_needs_token" "$out" \
        "reachable from other machines: give a token"
done
# the default header memory: the setting shows what serve uses (16 KiB, HEADER_MEMORY)
out=$("$MLWB" --db "$SCRATCH/t.db" -c "settings" 2>&1 </dev/null)
check_contains header_size_default_16k "$out" "http-header-size 16k"

# --- hot swap: models activated in a loop while requests come in ----------------------
start swap_start "train knn k=1; train knn k=15; every 100ms use 1; every 150ms use 2"
fails=0
versions=""
for i in $(seq 1 300); do
    call -d '{"instances": [[5.9, 3.0, 5.1, 1.8]]}' "$B/v1/predict"
    if [ "$CODE" != 200 ]; then
        fails=$((fails + 1))
    else
        versions="$versions $(printf '%s' "$BODY" | grep -o '"model_version":[0-9]*' | cut -d: -f2)"
    fi
done
check_eq swap_no_failures "$fails" 0
distinct=$(printf '%s\n' $versions | sort -u | wc -l)
check_eq swap_both_versions_served "$distinct" 2
stop swap_stop
