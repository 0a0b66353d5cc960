#!/usr/bin/env bash
# hostile_run.sh — the HTTP listener's figures under abuse (not part of make check):
# a well-behaved load, `wrk -t1 -c8 -dDUR --latency -s tests/bench/post_iris.lua`
# (POST /v1/predict, one iris instance, keep-alive), against
#   `mlwb --db TMP -c 'load sample iris; train knn k=5; serve 127.0.0.1:PORT'`
# with the default limits (1024 connections, 64 per address, 15 s timeout, 1 MiB bodies),
# once alone and once while `hostile abuse` (tests/tools/hostile.c, one process, poll())
# runs for the whole time:
#   - NSLOW slowloris connections from 127.0.0.2-21, a header byte a second each
#     (reopened when cut);
#   - a burst of 200 idle connections every second from 127.0.0.30-49, closed 500 ms later;
#   - 4 connections cycling through oversized and malformed requests (a 64 KiB header,
#     2,000 headers, a 2 MB declared body, 100,000 nested arrays, truncated JSON, bad
#     chunking, a 2 MB chunked body, TRACE on a dot-dot path), at most 100 a second.
# Prints requests/s, p50/p99 latency and errors of the good load in both runs, the
# server's RSS before, at its peak during the abuse (sampled every 0.5 s) and after,
# its open descriptors at the peak, and what the abuser did.  The machine's cores are
# shared by wrk, the abuser and the server.
#
# Environment: DUR (seconds per wrk run, default 10), NSLOW (500), MLWB (./mlwb),
# BUILD (build), KEEP=1 keeps the temp dir.  Run from the top of the tree after `make`.
set -eu

DUR=${DUR:-10}
NSLOW=${NSLOW:-500}
MLWB=${MLWB:-./mlwb}
BUILD=${BUILD:-build}
LUA=tests/bench/post_iris.lua

die() { echo "hostile bench: $*" >&2; exit 1; }
[ -x "$MLWB" ] || die "$MLWB is missing: run 'make' first"
if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk \
            >/dev/null 2>&1 || true
    fi
    command -v wrk >/dev/null 2>&1 || die "wrk is needed (apt-get install wrk)"
fi
command -v curl >/dev/null 2>&1 || die "curl is needed (apt-get install curl)"
mkdir -p "$BUILD/bench"
cc -O2 -o "$BUILD/bench/hostile" tests/tools/hostile.c
H=$BUILD/bench/hostile

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mlwb-hostile.XXXXXX")
SERVER=
ABUSER=
cleanup() {
    for p in $ABUSER $SERVER; do kill -TERM "$p" 2>/dev/null || true; done
    for p in $ABUSER $SERVER; do wait "$p" 2>/dev/null || true; done
    [ "${KEEP:-0}" = 1 ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. tests/tools/lib.sh
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
"$MLWB" --db "$TMP/h.db" -c "load sample iris; train knn k=5; serve 127.0.0.1:$PORT" \
    </dev/null >"$TMP/server.out" 2>&1 &
SERVER=$!
wait_http "$URL/healthz" 30 || die "the server did not answer: $(cat "$TMP/server.out")"
curl -s -d '{"instances": [[5.1,3.5,1.4,0.2]]}' "$URL/v1/predict" | grep -q '"label":"setosa"' ||
    die "the server does not predict setosa"

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER/status"; }
fds() { ls "/proc/$SERVER/fd" | wc -l; }

. tests/bench/lib_wrk.sh  # parse_wrk

echo "== HTTP under abuse: wrk -t1 -c8 -d${DUR}s POST /v1/predict on 127.0.0.1" \
     "($(nproc) cores shared by wrk, the abuser and the server)"
wrk -t1 -c8 -d2s -s "$LUA" "$URL/v1/predict" >/dev/null   # warm-up
sleep 1
RSS0=$(rss)
FDS0=$(fds)
wrk -t1 -c8 -d"${DUR}s" --latency -s "$LUA" "$URL/v1/predict" > "$TMP/alone.wrk"
read -r A_RPS A_P50 A_P99 A_N A_ERR < <(parse_wrk "$TMP/alone.wrk")

"$H" abuse "$PORT" $((DUR + 5)) "$NSLOW" > "$TMP/abuse.out" 2>&1 &
ABUSER=$!
PEAK=$RSS0 PEAKFD=$FDS0
sample() {
    while kill -0 "$ABUSER" 2>/dev/null; do
        r=$(rss) f=$(fds)
        echo "$r $f"
        sleep 0.5
    done > "$TMP/samples"
}
sample &
SAMPLER=$!
sleep 3    # the slowloris connections are up, bursts have begun
wrk -t1 -c8 -d"${DUR}s" --latency -s "$LUA" "$URL/v1/predict" > "$TMP/abused.wrk"
read -r B_RPS B_P50 B_P99 B_N B_ERR < <(parse_wrk "$TMP/abused.wrk")
wait "$ABUSER" || true
ABUSER=
wait "$SAMPLER" || true
read -r PEAK PEAKFD < <(awk '$1 > r { r = $1 } $2 > f { f = $2 } END { print r + 0, f + 0 }' "$TMP/samples")
sleep 3
curl -s -o /dev/null -w '%{http_code}' "$URL/healthz" | grep -q 200 || die "no /healthz after the abuse"
RSS1=$(rss)
FDS1=$(fds)

printf '\n%-34s %10s %9s %9s %10s %7s\n' "good load" "req/s" "p50 ms" "p99 ms" "requests" "errors"
printf '%-34s %10s %9s %9s %10s %7s\n' "alone" "$A_RPS" "$A_P50" "$A_P99" "$A_N" "$A_ERR"
printf '%-34s %10s %9s %9s %10s %7s\n' "under abuse ($NSLOW slowloris + ...)" "$B_RPS" "$B_P50" "$B_P99" "$B_N" "$B_ERR"
echo
echo "server RSS: before $((RSS0 / 1024)) MiB ($RSS0 kB), peak during $((PEAK / 1024)) MiB ($PEAK kB)," \
     "after $((RSS1 / 1024)) MiB ($RSS1 kB)"
echo "server descriptors: before $FDS0, peak $PEAKFD, after $FDS1"
echo "abuser ($((DUR + 5)) s):"
sed 's/^/   /' "$TMP/abuse.out"
