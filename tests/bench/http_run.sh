#!/bin/sh
# http_run.sh — the HTTP service benchmark: POST /v1/predict with one iris instance,
# driven by wrk on 127.0.0.1, side by side in one run, one contender at a time:
#   - FastAPI 1 worker:   the old template's service (tests/bench/template_app.py: FastAPI +
#                         a scikit-learn KNeighborsClassifier(5) on iris) under
#                         `python3 -m uvicorn` with its defaults;
#   - FastAPI 2 workers:  the same with `--workers 2 --loop uvloop --http httptools`;
#   - bare MHD:           build/bench/bare_mhd (tests/bench/bare_mhd.c): libmicrohttpd as
#                         mlwb starts it, answering a fixed body — the ceiling — with a
#                         pool of 2 threads and of 1 (the targets take the faster);
#   - mlwb:               `load sample iris; train knn k=5; serve` on a fresh store, every
#                         prediction logged (the default);
#   - mlwb re-training:   the template's loader+trainer loop done the mlwb way: `set
#                         retrain=on-new-data; load csv LIVE every=1s; train knn k=5; serve`
#                         while this script appends a row to LIVE every second, so a new
#                         model version is trained and published about every second.
# For each contender: one curl to check the answer, WARM seconds of warm-up, then
# `wrk -t2 -cN -dDUR --latency -s tests/bench/post_iris.lua` for N in CONNS.  wrk shares
# the cores with the server.  For mlwb the table adds its own view from GET /metrics in
# the same run: the request-duration bucket holding the 99th percentile (handler time,
# no queueing) and the predictions answered but not logged.  About 2 minutes with the
# defaults.  Called by tests/bench/run.sh (make bench) or alone from the top of the tree
# after `make`; every server it started is stopped on exit.
#
# Environment: DUR (seconds per wrk run, default 10), WARM (2), CONNS ("16 64"), MLWB
# (./mlwb), MLWB_OPTS (options for both mlwb contenders, e.g. "--threads 2"; the
# listener's threads are a setting: MLWB_SET="set http-threads=2;"), BUILD
# (build), PY (/usr/bin/python3, Debian's, with python3-fastapi, python3-uvicorn,
# python3-uvloop, python3-httptools and python3-sklearn; these and wrk are installed
# here when missing and running as root), KEEP=1 keeps the temp dir.
set -eu

DUR=${DUR:-10}
WARM=${WARM:-2}
CONNS=${CONNS:-16 64}
MLWB=${MLWB:-./mlwb}
MLWB_OPTS=${MLWB_OPTS:-}
MLWB_SET=${MLWB_SET:-}
BUILD=${BUILD:-build}
PY=${PY:-/usr/bin/python3}
LUA=tests/bench/post_iris.lua
BODY='{"instances": [[5.1,3.5,1.4,0.2]]}'

die() { echo "http bench: $*" >&2; exit 1; }
[ -x "$MLWB" ] || die "$MLWB is missing: run 'make' first"

# --- tools -------------------------------------------------------------------------------
need=""
command -v wrk >/dev/null 2>&1 || need="$need wrk"
command -v curl >/dev/null 2>&1 || need="$need curl"
"$PY" -c 'import fastapi' 2>/dev/null || need="$need python3-fastapi"
"$PY" -c 'import uvicorn' 2>/dev/null || need="$need python3-uvicorn"
"$PY" -c 'import uvloop' 2>/dev/null || need="$need python3-uvloop"
"$PY" -c 'import httptools' 2>/dev/null || need="$need python3-httptools"
"$PY" -c 'import sklearn' 2>/dev/null || need="$need python3-sklearn"
if [ -n "$need" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "http bench: installing$need"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq --no-install-recommends $need >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 &&
              apt-get install -y -qq --no-install-recommends $need >/dev/null; } ||
            echo "http bench: apt-get install$need failed; those contenders are left out"
    else
        echo "http bench: missing$need (install them with: sudo apt-get install$need)"
    fi
fi
command -v wrk >/dev/null 2>&1 || die "wrk is needed (apt-get install wrk)"
command -v curl >/dev/null 2>&1 || die "curl is needed (apt-get install curl)"
HAVE_FASTAPI=0
"$PY" -c 'import fastapi, uvicorn, sklearn' 2>/dev/null && HAVE_FASTAPI=1
FAST2="--loop uvloop --http httptools"
"$PY" -c 'import uvloop' 2>/dev/null || FAST2=""
"$PY" -c 'import httptools' 2>/dev/null && FAST2_HTTP=1 || FAST2_HTTP=0
[ $FAST2_HTTP = 1 ] || FAST2=$(echo "$FAST2" | sed 's/--http httptools//')

# --- the ceiling, built with the project's warnings -------------------------------------------
WARN="-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
-Wmissing-declarations -Wpointer-arith -Wcast-qual -Wwrite-strings -Wundef -Wformat=2 \
-Wvla -Wold-style-definition -Wredundant-decls -Wnested-externs -Wno-unused-parameter"
CFLAGS="-std=c11 -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE -O2 -g $WARN -Werror \
$(pkg-config --cflags libmicrohttpd)"
mkdir -p "$BUILD/bench"
cc $CFLAGS -o "$BUILD/bench/bare_mhd" tests/bench/bare_mhd.c \
    $(pkg-config --libs libmicrohttpd) -lpthread

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mlwb-http.XXXXXX")
SERVER=""   # the pid of the server under test
CHANGER=""  # the pid of the loop that changes the live CSV

# kill_tree PID: PID and everything under it (uvicorn's workers), by pid, TERM then KILL
kill_tree() {
    for k in $(ps -o pid= --ppid "$1" 2>/dev/null || true); do kill_tree "$k"; done
    kill "$1" 2>/dev/null || true
}
stop_server() {
    [ -n "$SERVER" ] || return 0
    pids="$SERVER $(ps -o pid= --ppid "$SERVER" 2>/dev/null || true)"
    kill_tree "$SERVER"
    i=0
    while [ $i -lt 50 ] && kill -0 $pids 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
    for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
    wait "$SERVER" 2>/dev/null || true
    SERVER=""
}
stop_changer() {
    [ -n "$CHANGER" ] || return 0
    kill "$CHANGER" 2>/dev/null || true
    wait "$CHANGER" 2>/dev/null || true
    CHANGER=""
}
cleanup() {
    stop_changer
    stop_server
    [ "${KEEP:-0}" = 1 ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_ready NAME URL: until POST URL answers 200 (30 s at most)
wait_ready() {
    i=0
    while [ $i -lt 300 ]; do
        code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
               -d "$BODY" "$2" 2>/dev/null) || true
        [ "$code" = 200 ] && return 0
        kill -0 "$SERVER" 2>/dev/null || { cat "$TMP/server.out" >&2; die "$1 exited"; }
        sleep 0.1
        i=$((i + 1))
    done
    cat "$TMP/server.out" >&2
    die "$1 did not answer 200 at $2 within 30 s"
}

# check NAME URL: one prediction must say setosa
check() {
    ans=$(curl -s -H 'Content-Type: application/json' -d "$BODY" "$2")
    case $ans in
        *'"label":"setosa"'*) echo "   $1: $ans" ;;
        *) die "$1 answered $ans (expected setosa)" ;;
    esac
}

. tests/bench/lib_wrk.sh  # parse_wrk

# mlwb's own view (GET /metrics): the request-duration histogram and the log's drops
snap_metrics() {
    curl -s "$1/metrics" | awk '
        /^mlwb_http_request_duration_seconds_bucket/ {
            match($0, /le="[^"]*"/); print substr($0, RSTART + 4, RLENGTH - 5), $2 }
        /^mlwb_predictions_dropped_total/ { print "dropped", $2 }' > "$2"
}
# server_side BEFORE AFTER -> "p99_ms dropped": the histogram's bucket holding the 99th
# percentile of the requests between the two snapshots (an upper bound, powers of 2 us)
server_side() {
    awk 'NR == FNR { a[$1] = $2; next } { d[$1] = $2 - a[$1]; if ($1 != "dropped") o[++n] = $1 }
         END { tot = d["+Inf"]; p = "-"
               for (i = 1; i <= n; i++) if (o[i] != "+Inf" && d[o[i]] >= 0.99 * tot) { p = sprintf("%.3f", o[i] * 1000); break }
               print p, d["dropped"] + 0 }' "$1" "$2"
}

# bench KEY URL [BASE]: warm up, then wrk at each connection count -> $TMP/KEY.N.txt;
# with BASE (mlwb), its server-side p99 and the predictions its log dropped in that run
bench() {
    wrk -t2 -c"${CONNS##* }" -d"${WARM}s" -s "$LUA" "$2" > /dev/null
    for c in $CONNS; do
        [ $# -lt 3 ] || snap_metrics "$3" "$TMP/m0"
        wrk -t2 -c"$c" -d"${DUR}s" --latency -s "$LUA" "$2" > "$TMP/$1.$c.wrk"
        if [ $# -ge 3 ]; then
            snap_metrics "$3" "$TMP/m1"
            echo "$(parse_wrk "$TMP/$1.$c.wrk") $(server_side "$TMP/m0" "$TMP/m1")" > "$TMP/$1.$c.txt"
        else
            echo "$(parse_wrk "$TMP/$1.$c.wrk") - -" > "$TMP/$1.$c.txt"
        fi
    done
}

# metric NAME URL: a counter of mlwb's /metrics (the sum of its lines)
metric() {
    curl -s "$2/metrics" | awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $2 } END { print s + 0 }'
}
versions() {
    curl -s "$1/v1/models" | "$PY" -c 'import json, sys
d = json.load(sys.stdin)
print(len(d["models"]), d["active"])'
}

echo
echo "== HTTP service: POST /v1/predict, one iris instance, wrk -t2 -c{${CONNS}} -d${DUR}s" \
     "on 127.0.0.1 ($(nproc) cores, shared by wrk and the server)"
echo "   $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2); libmicrohttpd $(pkg-config --modversion libmicrohttpd)"
if [ $HAVE_FASTAPI = 1 ]; then
    echo "   peers: Debian $("$PY" -c 'import fastapi, uvicorn, sklearn, pydantic
print("fastapi", fastapi.__version__ + ", uvicorn", uvicorn.__version__ + ", pydantic",
      str(pydantic.VERSION) + ", scikit-learn", sklearn.__version__)') ($PY)"
    [ -n "$FAST2" ] || echo "   (no uvloop: the 2-worker run uses uvicorn's default loop)"
fi
CONTENDERS=""

# 1, 2. the template: FastAPI + uvicorn, 1 worker, then 2 workers with uvloop
if [ $HAVE_FASTAPI = 1 ]; then
    for w in 1 2; do
        port=$(free_port)
        extra=""
        [ $w = 2 ] && extra="--workers 2 $FAST2"
        PYTHONDONTWRITEBYTECODE=1 IRIS_CSV=samples/data/iris.csv "$PY" -m uvicorn --app-dir tests/bench template_app:app \
            --host 127.0.0.1 --port "$port" --log-level warning --no-access-log $extra \
            > "$TMP/server.out" 2>&1 &
        SERVER=$!
        wait_ready "FastAPI $w worker(s)" "http://127.0.0.1:$port/v1/predict"
        check "fastapi${w}" "http://127.0.0.1:$port/v1/predict"
        bench "fastapi$w" "http://127.0.0.1:$port/v1/predict"
        stop_server
        CONTENDERS="$CONTENDERS fastapi$w"
    done
fi

# 3. the ceiling: bare libmicrohttpd, a fixed body, with a pool of 2 threads (its fastest
# here) and with 1 (what mlwb's listener has on 2 cores); the targets take the faster
for t in 2 1; do
    port=$(free_port)
    "$BUILD/bench/bare_mhd" "$port" $t > "$TMP/server.out" 2>&1 &
    SERVER=$!
    wait_ready "bare_mhd" "http://127.0.0.1:$port/v1/predict"
    check "bare_mhd $t" "http://127.0.0.1:$port/v1/predict"
    bench bare$t "http://127.0.0.1:$port/v1/predict"
    stop_server
    CONTENDERS="$CONTENDERS bare$t"
done

# 4. mlwb on a fresh store, logging every prediction
port=$(free_port)
URL=http://127.0.0.1:$port
"$MLWB" $MLWB_OPTS --db "$TMP/m.db" -c "${MLWB_SET:-} load sample iris; train knn k=5; serve 127.0.0.1:$port" \
    > "$TMP/server.out" 2>&1 &
SERVER=$!
wait_ready "mlwb" "$URL/v1/predict"
check "mlwb" "$URL/v1/predict"
bench mlwb "$URL/v1/predict" "$URL"
MLWB_PRED=$(metric mlwb_predictions_total "$URL")
MLWB_DROP=$(metric mlwb_predictions_dropped_total "$URL")
stop_server
MLWB_LOGGED=$("$PY" -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM predictions").fetchone()[0])' \
    "$TMP/m.db" 2>/dev/null || echo "?")
CONTENDERS="$CONTENDERS mlwb"

# 5. mlwb while a new model is trained and published every second
cp samples/data/iris.csv "$TMP/iris.csv"
cp samples/data/iris.csv "$TMP/live.csv"
port=$(free_port)
URL=http://127.0.0.1:$port
"$MLWB" $MLWB_OPTS --db "$TMP/r.db" -c "${MLWB_SET:-} set retrain=on-new-data; load csv $TMP/live.csv every=1s;
train knn k=5; serve 127.0.0.1:$port" > "$TMP/server.out" 2>&1 &
SERVER=$!
wait_ready "mlwb (re-training)" "$URL/v1/predict"
check "mlwb re-training" "$URL/v1/predict"
# the data changes every second: one more row, cycling through iris' 150 (written aside
# and renamed, so the loader never reads half a row)
(
    i=0
    while :; do
        sleep 1
        sed -n "$((i % 150 + 2))p" "$TMP/iris.csv" | cat "$TMP/live.csv" - > "$TMP/live.tmp"
        mv "$TMP/live.tmp" "$TMP/live.csv"
        i=$((i + 1))
    done
) &
CHANGER=$!
sleep 2
set -- $(versions "$URL")
V0=$1 A0=$2
bench retrain "$URL/v1/predict" "$URL"
set -- $(versions "$URL")
V1=$1 A1=$2
RETRAIN_DROP=$(metric mlwb_predictions_dropped_total "$URL")
stop_changer
stop_server
CONTENDERS="$CONTENDERS retrain"
TIMED=$(( (WARM + DUR * $(echo $CONNS | wc -w)) ))

# --- the table -------------------------------------------------------------------------------
name() {
    case $1 in
        fastapi1) echo "FastAPI + uvicorn, 1 worker" ;;
        fastapi2) echo "FastAPI + uvicorn, 2 workers${FAST2:+ (uvloop)}" ;;
        bare2) echo "bare libmicrohttpd, 2 threads" ;;
        bare1) echo "bare libmicrohttpd, 1 thread" ;;
        mlwb) echo "mlwb serve, logging on" ;;
        retrain) echo "mlwb serve, re-trained every second" ;;
    esac
}
f() { cut -d' ' -f"$2" "$TMP/$1.txt"; }
echo
printf '   %-40s %5s %8s %7s %7s %9s %6s %9s %7s\n' "" "conns" "req/s" "p50 ms" "p99 ms" \
    "requests" "errors" "server p99" "unlogged"
for k in $CONTENDERS; do
    for c in $CONNS; do
        printf '   %-40s %5s %8s %7s %7s %9s %6s %9s %7s\n' "$(name $k)" "$c" "$(f $k.$c 1)" \
            "$(f $k.$c 2)" "$(f $k.$c 3)" "$(f $k.$c 4)" "$(f $k.$c 5)" "$(f $k.$c 6)" "$(f $k.$c 7)"
    done
done
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "-" }'; }
# the faster bare server at C connections
bare_best() { awk -v a="$(f bare2.$1 1)" -v b="$(f bare1.$1 1)" 'BEGIN { print (a > b ? a : b) }'; }
printf '   %-22s %5s %14s %14s %12s %8s\n' "against the targets" "conns" "x FastAPI 1w" \
    "x FastAPI 2w" "of bare (best)" "p99 ms"
for k in mlwb retrain; do
    for c in $CONNS; do
        f1=-
        f2=-
        if [ $HAVE_FASTAPI = 1 ]; then
            f1=$(ratio "$(f $k.$c 1)" "$(f fastapi1.$c 1)")
            f2=$(ratio "$(f $k.$c 1)" "$(f fastapi2.$c 1)")
        fi
        printf '   %-22s %5s %14s %14s %12s %8s\n' "$([ $k = mlwb ] && echo mlwb || echo "mlwb re-training")" \
            "$c" "$f1" "$f2" "$(pct "$(f $k.$c 1)" "$(bare_best $c)")" "$(f $k.$c 3)"
    done
done
echo "   targets: >= 50x the template's requests/s, >= 50% of bare libmicrohttpd's, p99 <= 5 ms at" \
     "64 connections, and no errors while re-training"
RETRAIN_ERR=0
for c in $CONNS; do RETRAIN_ERR=$((RETRAIN_ERR + $(f retrain.$c 5))); done
echo "   mlwb: $MLWB_PRED predictions answered, $MLWB_LOGGED rows in the store's log," \
     "$MLWB_DROP dropped by the log"
echo "   re-training: $((V1 - V0)) model versions published during the ${TIMED} s of wrk" \
     "(v$A0 -> v$A1 active, $V1 in all); $RETRAIN_DROP predictions dropped by the log;" \
     "errors: $RETRAIN_ERR (target 0)"
