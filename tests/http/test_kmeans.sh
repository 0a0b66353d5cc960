#!/usr/bin/env bash
# test_kmeans.sh — the HTTP prediction API with an active k-means model: every predict
# route answers the cluster and the distance to its centroid (the same as the prompt's
# predict), /v1/models describes the model (kind, features, clusters), bad rows are 400
# naming the place, and a restarted server on the same store serves the same k-means
# model (it is read back from its stored blob).
#
# Run from the top of the tree: bash tests/http/test_kmeans.sh   (MLWB=path to override)

. "$(dirname "$0")/../tools/lib.sh"
scratch

PID=
trap '[ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null; rm -rf "$SCRATCH"' EXIT

if ! command -v curl >/dev/null 2>&1; then
    not_ok http_km_curl "curl is not installed (make deps installs it)"
    exit 0
fi

call() {
    _out=$(curl -s -g -m 10 -w '\n%{http_code}' "$@")
    BODY=${_out%$'\n'*}
    CODE=${_out##*$'\n'}
}

# start NAME COMMANDS : a server on a free port running COMMANDS then serve.
start() {
    PORT=$(free_port)
    B=http://127.0.0.1:$PORT
    "$MLWB" --db "$SCRATCH/t.db" -c "$2; serve 127.0.0.1:$PORT" \
        </dev/null >"$SCRATCH/serve.out" 2>"$SCRATCH/serve.err" &
    PID=$!
    if ! wait_http "$B/readyz" 30; then
        not_ok "$1" "not ready on $B within 30 s; stderr: $(head -c 400 "$SCRATCH/serve.err")"
        exit 0
    fi
    ok "$1"
}

stop() {
    kill -TERM "$PID" 2>/dev/null
    wait "$PID"
    check_eq "$1" "$?" 0
    PID=
}

# What the prompt answers for the two rows, from the same store (v2 is k-means).
"$MLWB" --db "$SCRATCH/t.db" --json -c "load sample iris; train knn k=5; train kmeans k=3 scale=none seed=4; predict 5.1 3.5 1.4 0.2; predict 6.7 3.0 5.2 2.3" \
    >"$SCRATCH/cli.out" 2>&1 </dev/null
C1=$(grep -o '"cluster":[0-9]*' "$SCRATCH/cli.out" | sed -n 1p)
C2=$(grep -o '"cluster":[0-9]*' "$SCRATCH/cli.out" | sed -n 2p)
if [ -n "$C1" ] && [ -n "$C2" ] && [ "$C1" != "$C2" ]; then
    ok http_km_cli_clusters
else
    not_ok http_km_cli_clusters "want two different clusters from the prompt, got '$C1' '$C2'"
fi

start http_km_start "use 2"

call -X POST -H 'Content-Type: application/json' \
    -d '{"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}' "$B/v1/predict"
check_eq http_km_post_status "$CODE" 200
check_contains http_km_post_version "$BODY" '"model_version":2'
check_eq http_km_post_clusters "$(printf '%s' "$BODY" | grep -o '"cluster":[0-9]*' | tr '\n' ' ')" "$C1 $C2 "
check_eq http_km_post_distances "$(printf '%s' "$BODY" | grep -o '"distance":[0-9.e-]*' | wc -l)" 2
check_eq http_km_post_no_label "$(printf '%s' "$BODY" | grep -c '"label"')" 0

call "$B/v1/predict?x=5.1,3.5,1.4,0.2"
check_contains http_km_get_x "$BODY" "$C1,\"distance\":"

call "$B/predict?prompt=[[6.7,3.0,5.2,2.3]]"
check_contains http_km_prompt "$BODY" "$C2,\"distance\":"

call "$B/v1/models"
check_contains http_km_models_kind "$BODY" '"kind":"kmeans"'
check_contains http_km_models_clusters "$BODY" '"clusters":3'
check_contains http_km_models_features "$BODY" '"features":["sepal_length","sepal_width","petal_length","petal_width"]'
check_contains http_km_models_metrics "$BODY" '"silhouette":'

# a row of the wrong width: 400 naming the instance
call -X POST -d '{"instances": [[1, 2, 3]]}' "$B/v1/predict"
check_eq http_km_bad_width "$CODE" 400
check_contains http_km_bad_width_msg "$BODY" 'instances[0]'
stop http_km_stop

# A restart restores the active k-means model from the store.
start http_km_restart ""
call "$B/v1/predict?x=6.7,3.0,5.2,2.3"
check_eq http_km_restart_status "$CODE" 200
check_contains http_km_restart_cluster "$BODY" "$C2,\"distance\":"
check_contains http_km_restart_version "$BODY" '"model_version":2'
# unscaled (scale=none): a value past 1e15 in size would overflow the distances to inf
call "$B/v1/predict?x=0,2e38,0,0"
check_eq http_km_too_large_status "$CODE" 400
check_contains http_km_too_large_named "$BODY" 'x[1]: 2e+38 is too large for the model (at most 1e+15 in size)'
call "$B/v1/predict?x=0,1e14,0,0&explain=1"
check_eq http_km_large_status "$CODE" 200
if printf '%s' "$BODY" | grep -qi 'inf\|nan'; then not_ok http_km_large_no_inf "$BODY"
else ok http_km_large_no_inf; fi
stop http_km_restart_stop
