#!/bin/sh
# knn_run.sh — the batch-predict benchmark (issue 4, "Speed"): 10,000 queries against
# 90,000 rows of Gaussian blobs (16 features, 10 overlapping classes: mlwb's synth blobs
# spread=6 seed=42, as the curve benchmark), k = 10, side by side in one run, one
# contender at a time:
#   - mlwb:    build/bench/knn_bench (tests/bench/knn_bench.c): knn_index_search and
#              knn_predict_batch on all cores (Euclidean, uniform, no scaling), and the
#              median latency of one-row knn_predict calls; also this machine's sgemm
#              rate (2048^3, 1 and 2 threads) and the search's own sgemm shape alone;
#   - sklearn: KNeighborsClassifier brute and kd_tree (tests/bench/knn_peers.py);
#   - faiss:   IndexFlatL2 search + a numpy vote.
# The peers read the same bytes (written by knn_bench) and their neighbours are compared
# with mlwb's.  Called by tests/bench/run.sh (make bench) or alone from the top of the
# tree after `make`.
#
# Environment: KNN_ROWS (total rows, default 100000: the last KNN_QUERIES are the
# queries), KNN_QUERIES (10000), KNN_K (10), RUNS (3: best of), KNN_SINGLE (1000 one-row
# calls), KNN_KD_QUERIES (queries for kd_tree, default all), BUILD (build), PY
# (/usr/bin/python3, Debian's, with python3-sklearn and python3-faiss, installed here
# when missing and running as root).  OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are reported,
# never changed.
set -eu

ROWS=${KNN_ROWS:-100000}
QUERIES=${KNN_QUERIES:-10000}
K=${KNN_K:-10}
RUNS=${RUNS:-3}
SINGLE=${KNN_SINGLE:-1000}
KD_QUERIES=${KNN_KD_QUERIES:-$QUERIES}
BUILD=${BUILD:-build}
PY=${PY:-/usr/bin/python3}
FEATURES=16 CLASSES=10 SPREAD=6 SEED=42

die() { echo "knn bench: $*" >&2; exit 1; }
[ -f "$BUILD/libmlwb.a" ] || die "$BUILD/libmlwb.a is missing: run 'make' first"

need=""
"$PY" -c 'import sklearn' 2>/dev/null || need="$need python3-sklearn"
"$PY" -c 'import faiss' 2>/dev/null || need="$need python3-faiss"
if [ -n "$need" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "knn bench: installing$need"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq --no-install-recommends $need >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 &&
              apt-get install -y -qq --no-install-recommends $need >/dev/null; } ||
            echo "knn bench: apt-get install$need failed; those peers are left out"
    else
        echo "knn bench: missing$need (install them with: sudo apt-get install$need)"
    fi
fi

WARN="-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
-Wmissing-declarations -Wpointer-arith -Wcast-qual -Wwrite-strings -Wundef -Wformat=2 \
-Wvla -Wold-style-definition -Wredundant-decls -Wnested-externs -Wno-unused-parameter"
PKGS="ncursesw readline sqlite3 libmicrohttpd jansson openblas"
CFLAGS="-std=c11 -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE -O2 -g $WARN -Werror -Iinclude \
$(pkg-config --cflags openblas)"
LIBS="$(pkg-config --libs $PKGS) -lgsl -lm -lpthread"
mkdir -p "$BUILD/bench"
cc $CFLAGS -o "$BUILD/bench/knn_bench" tests/bench/knn_bench.c "$BUILD/libmlwb.a" $LIBS

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mlwb-knn.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$TMP"' EXIT INT TERM

echo
echo "== KNN batch predict: $QUERIES queries against $((ROWS - QUERIES)) rows, $FEATURES features," \
     "$CLASSES classes (synth blobs spread=$SPREAD seed=$SEED), k=$K ($(nproc) cores)"
echo "   OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE:-(unset)}"
"$BUILD/bench/knn_bench" n="$ROWS" d=$FEATURES classes=$CLASSES spread=$SPREAD seed=$SEED \
    queries="$QUERIES" k="$K" runs="$RUNS" single="$SINGLE" out="$TMP" > "$TMP/mlwb.txt"
HAVE_PY=0
if "$PY" -c 'import numpy' 2>/dev/null; then
    HAVE_PY=1
    "$PY" tests/bench/knn_peers.py "$TMP" "$QUERIES" "$K" "$RUNS" "$((SINGLE < 300 ? SINGLE : 300))" \
        "$KD_QUERIES" > "$TMP/peers.txt" 2> "$TMP/peers.err" ||
        { cat "$TMP/peers.err" >&2; die "knn_peers.py failed"; }
fi
cp "$TMP/mlwb.txt" "$TMP/all.txt"
[ $HAVE_PY = 0 ] || cat "$TMP/peers.txt" >> "$TMP/all.txt"
v() { awk -v k="$1" '$1 == k { print $2; exit }' "$TMP/all.txt"; }

echo "   $(grep '^openblas_config' "$TMP/all.txt" | cut -d' ' -f2-)"
[ $HAVE_PY = 1 ] && grep '^pool ' "$TMP/all.txt" | sed 's/^pool /   peers thread pool: /'
[ $HAVE_PY = 1 ] && echo "   peers: Debian scikit-learn $(v sklearn_version), faiss $(v faiss_version) ($PY)"
echo
row() { printf '   %-46s %10s %12s %9s %10s\n' "$1" "$2" "$3" "$4" "$5"; }
row "" "queries/s" "1 query (ms)" "accuracy" "same nbrs"
row "mlwb knn_predict_batch (all cores)" "$(v predict_qps)" "$(v predict_single_median_ms)" \
    "$(v predict_accuracy)" ""
row "mlwb knn_index_search alone" "$(v search_qps)" "$(v search_single_median_ms)" "" ""
if [ $HAVE_PY = 1 ]; then
    for p in sklearn_brute sklearn_kd_tree faiss_flat; do
        case $p in
            sklearn_brute) name="sklearn KNeighborsClassifier brute" ;;
            sklearn_kd_tree) name="sklearn KNeighborsClassifier kd_tree" ;;
            faiss_flat) name="faiss IndexFlatL2 search + numpy vote" ;;
        esac
        [ -n "$(v ${p}_qps)" ] && row "$name" "$(v ${p}_qps)" "$(v ${p}_single_median_ms)" \
            "$(v ${p}_accuracy)" "$(v ${p}_same_neighbours)"
    done
    [ -n "$(v faiss_flat_search_qps)" ] && row "faiss IndexFlatL2 search alone" "$(v faiss_flat_search_qps)" "" "" ""
fi
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'; }
PQ=$(v predict_qps)
if [ $HAVE_PY = 1 ] && [ -n "$(v sklearn_brute_qps)" ]; then
    echo "   mlwb batch predict vs sklearn brute:  $(ratio "$PQ" "$(v sklearn_brute_qps)") (target 3x)"
    echo "   mlwb batch predict vs sklearn kd_tree: $(ratio "$PQ" "$(v sklearn_kd_tree_qps)")"
fi
if [ $HAVE_PY = 1 ] && [ -n "$(v faiss_flat_qps)" ]; then
    echo "   mlwb batch predict vs faiss:          $(ratio "$PQ" "$(v faiss_flat_qps)") (target: ahead)"
fi
echo "   one query, mlwb knn_predict median:    $(v predict_single_median_ms) ms (target <= 0.5 ms)"
# the machine's limit: the distance FLOPs (2 (d+1) per pair) at the measured sgemm rate
awk -v g="$(v distance_gflop)" -v s1="$(v sgemm_square_1t_gflops)" -v s2="$(v sgemm_square_2t_gflops)" \
    -v sh="$(v sgemm_shape_gflops)" -v t="$(v search_batch_s)" -v q="$QUERIES" 'BEGIN {
    printf "   sgemm here: %.0f GFLOP/s on 1 thread, %.0f on 2 (2048^3); the search'"'"'s own shape\n", s1, s2
    printf "   (64 queries x 1024 rows x 17) alone: %.0f GFLOP/s on 2 threads\n", sh
    printf "   distance FLOPs: %.1f GFLOP; at %.0f GFLOP/s that is %.3f s = %.0f queries/s (the limit);\n", g, s2, g / s2, q / (g / s2)
    printf "   mlwb search took %.3f s = %.0f GFLOP/s, %.0f%% of the limit\n", t, g / t, 100 * (g / t) / s2 }'
