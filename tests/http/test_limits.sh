#!/usr/bin/env bash
# test_limits.sh — request-body memory under stalled uploads: iris, knn k=5, `serve` on a
# free port, then clients that declare `Content-Length: 1000000`, send part of it and
# stall (curl uploading a shorter file under a longer declared length, from 127.0.0.2-5
# so the 64-per-address limit is not what stops them).
#
# - 100 stalls of a few bytes each: the server is not holding 1 MB each (RSS < 60 MB),
#   and well-behaved requests (a small POST, a 1 MB POST, a chunked POST) answer 200.
#   (With glibc the old code passes this RSS check too: a malloc'd but untouched
#   declared length is not resident.  The 999,000-byte stalls below are what it fails.)
# - 150 stalls of 999,000 bytes each (150 MB offered): RSS grows by less than the 64 MiB
#   body budget plus slack (the old code, which kept every byte it was sent, grew by
#   ~146 MiB here); a 1 MB request is answered 503 "server busy" with Retry-After; a
#   small POST still answers 200.
# - Once the stalled clients are gone, their bytes are given back: the 1 MB POST is 200.
# - 413 for a declared or chunked body over the limit; a chunked body without a length
#   is read and answered.
# - SIGTERM with stalled uploads in flight exits 0 (http_stop asserts that the budget
#   counter is back to exactly 0 once every connection has ended).
# - http-threads: 3 gives three listener threads, auto half the cores (at least 1).
#
# Every stalled client is a curl with -m 10, killed by its pid when its phase ends.
# Run from the top of the tree: bash tests/http/test_limits.sh   (MLWB=path to override)

. "$(dirname "$0")/../tools/lib.sh"
scratch

PID=
STALLS=
# scratch's trap removes the directory; also never leave a server or a client behind.
trap 'for p in $STALLS $PID; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$SCRATCH"' EXIT

if ! command -v curl >/dev/null 2>&1; then
    not_ok limits_curl "curl is not installed (make deps installs it)"
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

# Under ASan or TSan (make sanitize, make tsan) RSS measures the sanitizer's shadow memory
# and quarantine, not ours: the RSS bounds are skipped there (TAP's "# skip").
SANITIZED=
if grep -q -a -e __asan_init -e __tsan_init "$MLWB" 2>/dev/null; then SANITIZED=1; fi

# rss_check NAME STATUS WHY : ok when STATUS is 0, else not ok WHY; a skip under a sanitizer.
rss_check() {
    if [ -n "$SANITIZED" ]; then ok "$1 # skip: under a sanitizer RSS is not ours"
    elif [ "$2" = 0 ]; then ok "$1"
    else not_ok "$1" "$3"; fi
}

# rss_kb : the server's resident set, in kB.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status" 2>/dev/null; }

# conns : client connections to the server that are open now (ESTABLISHED, state 01,
# with the server's port as the remote one, in /proc/net/tcp).
conns() {
    awk -v p=":$(printf '%04X' "$PORT")" '$4 == "01" && substr($3, length($3) - 4) == p' \
        /proc/net/tcp | wc -l
}

# stall N BYTES : N uploads declaring 1,000,000 bytes that send the first BYTES of a
# JSON body and then wait (at most 10 s), spread over 127.0.0.2-5.
stall() {
    head -c "$2" "$SCRATCH/pad.json" > "$SCRATCH/part.$2"
    for _i in $(seq 1 "$1"); do
        curl -s -o /dev/null -m 10 --interface "127.0.0.$((2 + _i % 4))" -X POST \
            -H 'Expect:' -H 'Content-Type: application/json' -H 'Content-Length: 1000000' \
            -T "$SCRATCH/part.$2" "$B/v1/predict" 2>/dev/null &
        STALLS="$STALLS $!"
    done
}

# unstall : kill every stalled client, by pid, and reap it.
unstall() {
    for _p in $STALLS; do kill -KILL "$_p" 2>/dev/null; done
    for _p in $STALLS; do wait "$_p" 2>/dev/null; done
    STALLS=
}

# wait_conns N SECONDS : until at least N client connections are open.
wait_conns() {
    _n=$(( $2 * 10 ))
    while [ "$(conns)" -lt "$1" ] && [ $_n -gt 0 ]; do sleep 0.1; _n=$((_n - 1)); done
}

# wait_rss_steady : until RSS has not changed for 0.6 s (at most 8 s).
wait_rss_steady() {
    _prev=-1 _same=0 _n=80
    while [ $_same -lt 3 ] && [ $_n -gt 0 ]; do
        sleep 0.2
        _now=$(rss_kb)
        if [ "$_now" = "$_prev" ]; then _same=$((_same + 1)); else _same=0; fi
        _prev=$_now _n=$((_n - 1))
    done
}

# Bodies: a valid request padded with spaces to exactly 1,000,000 bytes (under the
# 1 MiB limit); the padding source for stalls ('{' and spaces: never valid JSON).
ONE='{"instances": [[5.1, 3.5, 1.4, 0.2]]}'
{ printf '%s' "$ONE"; head -c $((1000000 - ${#ONE})) /dev/zero | tr '\0' ' '; } \
    > "$SCRATCH/mb.json"
{ printf '{'; head -c 999999 /dev/zero | tr '\0' ' '; } > "$SCRATCH/pad.json"
head -c 2000000 /dev/zero | tr '\0' ' ' > "$SCRATCH/big.json"
check_eq limits_mb_body_size "$(wc -c < "$SCRATCH/mb.json")" 1000000

# ---------------------------------------------------------------------------------
# A server with a trained model.

PORT=$(free_port)
B=http://127.0.0.1:$PORT
"$MLWB" --db "$SCRATCH/t.db" -c "load sample iris; train knn k=5; serve 127.0.0.1:$PORT" \
    </dev/null >"$SCRATCH/serve.out" 2>"$SCRATCH/serve.err" &
PID=$!
if ! wait_http "$B/healthz" 30; then
    not_ok limits_start "no answer on $B/healthz within 30 s; stderr: $(head -c 400 "$SCRATCH/serve.err")"
    exit 0
fi
ok limits_start

# ---------------------------------------------------------------------------------
# 100 stalled uploads of a few bytes each.

stall 100 13
wait_conns 100 5
check_eq stall_few_held "$(conns)" 100
sleep 0.5
RSS=$(rss_kb)
[ -n "$RSS" ] && [ "$RSS" -lt 61440 ]
rss_check stall_few_rss_under_60mb $? "VmRSS ${RSS:-?} kB with 100 stalled 1 MB uploads"

call -H 'Content-Type: application/json' -d "$ONE" "$B/v1/predict"
expect stall_few_small_post_200 200 '"label":"setosa"'
# a 1 MB body arrives in many reads: the buffer grows through every doubling intact
call -H 'Content-Type: application/json' --data-binary @"$SCRATCH/mb.json" "$B/v1/predict"
expect stall_few_mb_post_200 200 '"label":"setosa"'
call -H 'Transfer-Encoding: chunked' --data-binary @"$SCRATCH/mb.json" "$B/v1/predict"
expect stall_few_chunked_post_200 200 '"label":"setosa"'
# the stalls are still there, unanswered
check_eq stall_few_still_held "$(conns)" 100
unstall

# ---------------------------------------------------------------------------------
# 150 stalled uploads of 999,000 bytes each: 150 MB offered, 64 MiB buffered at most.

sleep 0.5
RSS0=$(rss_kb)
stall 150 999000
wait_rss_steady
RSS=$(rss_kb)
GROWTH=$(( ${RSS:-0} - ${RSS0:-0} ))
# the 64 MiB budget + 40 MiB for MHD's per-connection pools and malloc's slack (buffers
# freed by refused uploads stay mapped): +72..+85 MiB measured here; the old code, which
# allocated the declared length, grew by +146 MiB
[ -n "$RSS" ] && [ -n "$RSS0" ] && [ "$GROWTH" -lt 106496 ]
rss_check stall_big_rss_bounded $? \
    "VmRSS ${RSS0:-?} -> ${RSS:-?} kB (+$GROWTH kB), want < +104 MiB"
HELD=$(conns)
if [ "$HELD" -ge 60 ]; then ok stall_big_held
else not_ok stall_big_held "only $HELD stalled uploads open; the budget was never filled"; fi

call -H 'Content-Type: application/json' --data-binary @"$SCRATCH/mb.json" "$B/v1/predict"
expect busy_503 503 '{"error":"server busy: too many request bodies in flight; retry"}'
check_contains busy_retry_after "$HDRS" 'Retry-After: 1'
call -H 'Content-Type: application/json' -d "$ONE" "$B/v1/predict"
expect busy_small_post_200 200 '"label":"setosa"'
call "$B/v1/predict?x=5.1,3.5,1.4,0.2"
expect busy_get_200 200 '"label":"setosa"'

# the clients go away: every byte they held is given back
unstall
_n=30
while [ $_n -gt 0 ]; do
    call -H 'Content-Type: application/json' --data-binary @"$SCRATCH/mb.json" "$B/v1/predict"
    [ "$CODE" = 200 ] && break
    sleep 0.1; _n=$((_n - 1))
done
expect released_mb_post_200 200 '"label":"setosa"'

# ---------------------------------------------------------------------------------
# Limits on one body.

call -H 'Content-Type: application/json' --data-binary @"$SCRATCH/big.json" "$B/v1/predict"
expect err_413 413 '"error":"request body of 2000000 bytes is over the limit'
call -H 'Transfer-Encoding: chunked' --data-binary @"$SCRATCH/big.json" "$B/v1/predict"
expect err_413_chunked 413 '"error":"request body over the limit'
call -H 'Transfer-Encoding: chunked' -d "$ONE" "$B/v1/predict"
expect chunked_small_200 200 '"label":"setosa"'

# ---------------------------------------------------------------------------------
# SIGTERM with stalled uploads in flight: drained for 5 s, then closed; exit status 0
# (an unbalanced budget counter would abort in http_stop's assert).

stall 8 999000
wait_conns 8 5
check_eq stop_stalls_held "$(conns)" 8
kill -TERM "$PID" 2>/dev/null
_n=100
while kill -0 "$PID" 2>/dev/null && [ $_n -gt 0 ]; do sleep 0.1; _n=$((_n - 1)); done
if kill -0 "$PID" 2>/dev/null; then
    not_ok stop_exit_0 "still running 10 s after SIGTERM"
    kill -KILL "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
else
    wait "$PID"
    check_eq stop_exit_0 "$?" 0
fi
PID=
check_eq stop_stalls_closed "$(conns)" 0
unstall

# ---------------------------------------------------------------------------------
# The listener's threads: http-threads=3 gives three (libmicrohttpd names them MHD-*);
# the default (auto) is half the cores, at least 1.  Both answer predictions.

# listener_threads : the server's threads named MHD-*.
listener_threads() { cat /proc/"$PID"/task/*/comm 2>/dev/null | grep -c '^MHD-'; }

NPROC=$(getconf _NPROCESSORS_ONLN)
AUTO=$(( NPROC >= 4 ? NPROC / 2 : 1 ))
for want in 3 auto; do
    PORT=$(free_port)
    B=http://127.0.0.1:$PORT
    "$MLWB" --db "$SCRATCH/t.db" -c "set http-threads=$want; serve 127.0.0.1:$PORT" \
        </dev/null >"$SCRATCH/serve.out" 2>"$SCRATCH/serve.err" &
    PID=$!
    if ! wait_http "$B/healthz" 30; then
        not_ok "threads_${want}_start" "no answer within 30 s; stderr: $(head -c 400 "$SCRATCH/serve.err")"
        kill -KILL "$PID" 2>/dev/null
        continue
    fi
    [ "$want" = auto ] && n=$AUTO || n=$want
    check_eq "threads_${want}_count" "$(listener_threads)" "$n"
    call -H 'Content-Type: application/json' -d "$ONE" "$B/v1/predict"
    expect "threads_${want}_predict" 200 '"label":"setosa"'
    kill -TERM "$PID" 2>/dev/null
    wait "$PID"
    check_eq "threads_${want}_exit_0" "$?" 0
    PID=
done
