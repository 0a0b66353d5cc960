#!/usr/bin/env bash
# test_predict.sh — the HTTP prediction API against a real listener: iris, knn k=5,
# `serve` on a free port.  Checks the routes (POST/GET /v1/predict, the old template's
# GET /predict?prompt=, /v1/models, /healthz, /readyz), that errors are JSON naming the
# place with the right status (400, 404, 405, 413), that every answer is
# application/json, and that SIGTERM stops the server with status 0.  A second server
# on an empty store answers /readyz and /v1/predict with 503.
#
# Run from the top of the tree: bash tests/http/test_predict.sh   (MLWB=path to override)

. "$(dirname "$0")/../tools/lib.sh"
scratch

PID=
PID2=
# scratch's trap removes the directory; also never leave a server behind.
trap 'for p in $PID $PID2; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$SCRATCH"' EXIT

if ! command -v curl >/dev/null 2>&1; then
    not_ok http_curl "curl is not installed (make deps installs it)"
    exit 0
fi

# call CURL_ARGS... : one request; sets CODE, CTYPE (Content-Type), BODY, HDRS (headers).
call() {
    _out=$(curl -s -g -m 10 -D "$SCRATCH/hdrs" -w '\n%{http_code} %{content_type}' "$@")
    _last=${_out##*$'\n'}
    BODY=${_out%$'\n'*}
    CODE=${_last%% *}
    CTYPE=${_last#* }
    HDRS=$(tr -d '\r' < "$SCRATCH/hdrs" 2>/dev/null)
}

# expect NAME STATUS NEEDLE : the last call answered STATUS, as JSON, with NEEDLE in it.
expect() {
    if [ "$CODE" != "$2" ]; then
        not_ok "$1" "status $CODE, want $2; body: $(printf '%s' "$BODY" | head -c 300)"
    elif [ "${CTYPE%%;*}" != "application/json" ]; then
        not_ok "$1" "Content-Type '$CTYPE', want application/json"
    else
        check_contains "$1" "$BODY" "$3"
    fi
}

# stop NAME PID : SIGTERM, then the process must exit with status 0 within 5 s.
stop() {
    kill -TERM "$2" 2>/dev/null
    _n=50
    while kill -0 "$2" 2>/dev/null && [ $_n -gt 0 ]; do sleep 0.1; _n=$((_n - 1)); done
    if kill -0 "$2" 2>/dev/null; then
        not_ok "$1" "still running 5 s after SIGTERM"
        kill -KILL "$2" 2>/dev/null
        wait "$2" 2>/dev/null
        return
    fi
    wait "$2"
    check_eq "$1" "$?" 0
}

# ---------------------------------------------------------------------------------
# A server with a trained model.

PORT=$(free_port)
B=http://127.0.0.1:$PORT
"$MLWB" --db "$SCRATCH/t.db" -c "load sample iris; train knn k=5; serve 127.0.0.1:$PORT" \
    </dev/null >"$SCRATCH/serve.out" 2>"$SCRATCH/serve.err" &
PID=$!
if ! wait_http "$B/healthz" 30; then
    not_ok http_start "no answer on $B/healthz within 30 s; stderr: $(head -c 400 "$SCRATCH/serve.err")"
    exit 0
fi
ok http_start

call "$B/healthz"
expect healthz 200 '{"status":"ok"}'

# train finished before serve started: ready at once
call "$B/readyz"
expect readyz_200 200 '"status":"ready"'
check_contains readyz_version "$BODY" '"model_version":'

# POST one instance
call -H 'Content-Type: application/json' -d '{"instances": [[5.1, 3.5, 1.4, 0.2]]}' "$B/v1/predict"
expect predict_post_200 200 '"label":"setosa"'
if [[ $BODY =~ \"model_version\":([0-9]+) ]]; then VERSION=${BASH_REMATCH[1]}; else VERSION=; fi
if [ -n "$VERSION" ] && [ "$VERSION" -ge 1 ]; then ok predict_post_model_version
else not_ok predict_post_model_version "no positive model_version in: $BODY"; fi
if [[ $BODY =~ \"id\":([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 1 ]; then ok predict_post_id
else not_ok predict_post_id "no positive prediction id in: $BODY"; fi
if [[ $BODY =~ \"confidence\":(0\.[0-9]+|1\.0) ]]; then ok predict_post_confidence
else not_ok predict_post_confidence "no confidence in (0, 1] as a JSON real in: $BODY"; fi

# POST two instances: two predictions, in order, with distinct ids
call -d '{"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}' "$B/v1/predict"
expect predict_two_200 200 '"predictions":['
check_eq predict_two_count "$(printf '%s' "$BODY" | grep -o '"id":' | wc -l)" 2
check_eq predict_two_labels "$(printf '%s' "$BODY" | grep -o '"label":"[a-z]*"' | tr '\n' ' ')" \
    '"label":"setosa" "label":"virginica" '
IDS=$(printf '%s' "$BODY" | grep -o '"id":[0-9]*' | sort -u | wc -l)
check_eq predict_two_distinct_ids "$IDS" 2

# GET with x=
call "$B/v1/predict?x=6.7,3.0,5.2,2.3"
expect predict_get_x 200 '"label":"virginica"'
check_eq predict_get_x_count "$(printf '%s' "$BODY" | grep -o '"id":' | wc -l)" 1

# the old template's call: the prompt is JSON, never evaluated
call "$B/predict?prompt=[[5.1,3.5,1.4,0.2]]"
expect predict_prompt 200 '"label":"setosa"'
call "$B/predict?prompt=__import__('os').system('true')"
expect predict_prompt_not_evaluated 400 '"error":"prompt: invalid JSON'

# the active model
call "$B/v1/models"
expect models_200 200 "\"active\":$VERSION"
check_contains models_kind "$BODY" '"kind":"knn"'
check_contains models_params "$BODY" '"k":5'
check_contains models_metrics "$BODY" '"metrics":{'

# ---------------------------------------------------------------------------------
# Errors: JSON {"error": ...}, the right status, the place named.

call -d '{"instances": [[5.1, 3.5' "$B/v1/predict"
expect err_bad_json 400 '"error":"invalid JSON at line 1, column'

call -d '{"rows": [[5.1, 3.5, 1.4, 0.2]]}' "$B/v1/predict"
expect err_missing_instances 400 "\"error\":\"field 'instances' is required\""

call -d '{"instances": [[5.1, 3.5, 1.4]]}' "$B/v1/predict"
expect err_wrong_dims 400 '"error":"instances[0]: expected 4 features, got 3"'

call -d '{"instances": [[5.1, 3.5, 1.4, 0.2], [1, 2, 3, 4, 5]]}' "$B/v1/predict"
expect err_wrong_dims_second 400 'instances[1]: expected 4 features, got 5'

call -d '{"instances": [[5.1, "x", 1.4, 0.2]]}' "$B/v1/predict"
expect err_string_feature 400 'instances[0][1]: not a finite number'

call -d '{"instances": [[5.1, NaN, 1.4, 0.2]]}' "$B/v1/predict"
expect err_nan 400 '"error":'

call -d '{"instances": [[5.1, 1e39, 1.4, 0.2]]}' "$B/v1/predict"
expect err_out_of_float_range 400 'instances[0][1]: not a finite number'

# valid float32, but so far from the training data that distances would overflow (inf
# is not JSON): refused, the value named
call "$B/v1/predict?x=0,2e38,0,0&explain=1"
expect err_too_far_x 400 "x[1]: 2e+38 is too far from the training data"
check_contains err_too_far_x_feature "$BODY" "training sds from the mean of 'sepal_width'"
call -d '{"instances": [[5.1, 3.5, 1.4, 0.2], [1, 2, 3, 1e16]]}' "$B/v1/predict"
expect err_too_far_second 400 'instances[1][3]: 1e+16 is too far from the training data'
call -g "$B/predict?prompt=[1,2,-3e20,4]"
expect err_too_far_prompt_flat 400 'prompt[2]: -3e+20 is too far'
# an integer past 64 bits is a number like any other (here: too far)
call -d '{"instances": [[1, 2, 3, 123456789012345678901234567890]]}' "$B/v1/predict"
expect err_big_integer_named 400 'instances[0][3]: 1.23457e+29 is too far'
call -d '{"instances": [[1, 2, 3, 12345678901234567890123]]}' "$B/v1/predict?explain=1"
expect err_big_integer_full_path 400 'instances[0][3]: 1.23457e+22 is too far'
call -d '{"instances": [[1, 2, 3, 1e15]]}' "$B/v1/predict?explain=1"
expect near_bound_is_json 400 'instances[0][3]: 1e+15 is too far'
call -d '{"instances": [[1, 2, 3, 1e14]]}' "$B/v1/predict?explain=1"
expect far_but_finite_200 200 '"neighbours":[{"row":'
if printf '%s' "$BODY" | grep -qi 'inf\|nan'; then not_ok far_but_finite_no_inf "$BODY"
else ok far_but_finite_no_inf; fi

printf '{"instances": [[1, 2, 3, 4\0]]}' > "$SCRATCH/nul.json"
call --data-binary @"$SCRATCH/nul.json" "$B/v1/predict"
expect err_nul_byte_body 400 'the request body holds a NUL byte at offset 26'
call -d '{"instances": [[5.1, 3.5, 1.4, 0.2]], "instances": [[6.7, 3.0, 5.2, 2.3]]}' "$B/v1/predict"
expect err_duplicate_key 400 'duplicate object key near'
call "$B/v1/predict?x=5.1,3.5,1.4,0.2&explain=yes"
expect err_explain_value 400 "query parameter 'explain': expected 1, true, 0 or false, got 'yes'"
call "$B/v1/predict?x=5.1,3.5,1.4,0.2&explain=false"
expect explain_false_200 200 '"label":"setosa","confidence":1.0}]}'

call -d '{"instances": []}' "$B/v1/predict"
expect err_empty_instances 400 '"error":"instances: no instances'

call -X POST "$B/v1/predict"
expect err_empty_body 400 '"error":"the request body is empty'

call "$B/v1/predict?x=6.7,3.0,abc,2.3"
expect err_x_not_number 400 "x[2]: 'abc' is not a number"

call "$B/nope"
expect err_404 404 '{"error":"no route GET /nope"}'

call -X DELETE "$B/v1/predict"
expect err_405 405 '"error":"method DELETE not allowed on /v1/predict"'
check_contains err_405_allow "$HDRS" 'Allow: GET, POST'

call -X POST -d '{}' "$B/healthz"
expect err_405_post_healthz 405 '"error":'

# 2 MB, declared in Content-Length: refused before it is read
head -c 2000000 /dev/zero | tr '\0' ' ' > "$SCRATCH/big.json"
call -H 'Content-Type: application/json' --data-binary @"$SCRATCH/big.json" "$B/v1/predict"
expect err_413 413 '"error":"request body of 2000000 bytes is over the limit'

# the same body chunked (no Content-Length): counted as it arrives
call -H 'Transfer-Encoding: chunked' --data-binary @"$SCRATCH/big.json" "$B/v1/predict"
expect err_413_chunked 413 '"error":"request body over the limit'

# after all that, the server still predicts
call "$B/v1/predict?x=5.1,3.5,1.4,0.2"
expect still_serving 200 '"label":"setosa"'

stop sigterm_exit_0 "$PID"
PID=
if curl -s -m 2 -o /dev/null "$B/healthz"; then not_ok sigterm_closed "still answering after exit"
else ok sigterm_closed; fi

# ---------------------------------------------------------------------------------
# A server without a model: alive, not ready.

PORT2=$(free_port)
B2=http://127.0.0.1:$PORT2
"$MLWB" --db "$SCRATCH/empty.db" -c "serve 127.0.0.1:$PORT2" \
    </dev/null >"$SCRATCH/serve2.out" 2>"$SCRATCH/serve2.err" &
PID2=$!
if ! wait_http "$B2/healthz" 30; then
    not_ok nomodel_start "no answer on $B2/healthz within 30 s; stderr: $(head -c 400 "$SCRATCH/serve2.err")"
    exit 0
fi
call "$B2/healthz"
expect nomodel_healthz 200 '{"status":"ok"}'
call "$B2/readyz"
expect nomodel_readyz_503 503 '{"error":"no active model"}'
call -d '{"instances": [[5.1, 3.5, 1.4, 0.2]]}' "$B2/v1/predict"
expect nomodel_predict_503 503 '{"error":"no active model"}'
call "$B2/v1/predict?x=5.1,3.5,1.4,0.2"
expect nomodel_predict_get_503 503 '{"error":"no active model"}'
# no model: 503 before the content is read, whatever it is
call -d 'garbage' "$B2/v1/predict"
expect nomodel_garbage_503 503 '{"error":"no active model"}'
call "$B2/v1/predict"
expect nomodel_no_x_503 503 '{"error":"no active model"}'
call "$B2/predict?prompt=bad"
expect nomodel_bad_prompt_503 503 '{"error":"no active model"}'
call -d 'garbage' "$B2/v2/models/default/infer"
expect nomodel_v2_garbage_503 503 '{"error":"no active model"}'
call -d 'garbage' "$B2/v2/models/other/infer"
expect nomodel_v2_other_name_404 404 "no model 'other'"
call "$B2/v1/models"
expect nomodel_models 200 '"active":null'
stop nomodel_sigterm_exit_0 "$PID2"
PID2=
