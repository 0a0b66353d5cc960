#!/bin/sh
# curve_run.sh — the k-curve benchmark (issue 4): KNN accuracy for every k = 1..50 by
# 5-fold cross-validation on Gaussian blobs (16 features, 10 overlapping classes), side
# by side in one run, one contender at a time:
#   - mlwb:  build/bench/curve_bench (tests/bench/curve_bench.c), knn_curve on all cores:
#            one neighbour search per held-out row, the vote for every k read off it;
#   - numpy: one kneighbors(k=50) per fold with sklearn, votes for every k with numpy;
#   - grid:  sklearn GridSearchCV(KNeighborsClassifier, k=1..50, n_jobs=2): one search
#            per row and per k.  At 100,000 rows it takes about 12 minutes: run only with
#            BENCH_SLOW=1 (else the issue's figure is quoted).
# All three score the same folds (mlwb's stratified folds, written by curve_bench with
# the data; the peers use PredefinedSplit) and their curves are compared.
# Called by tests/bench/run.sh (make bench) or alone from the top of the tree after make.
#
# Environment: CURVE_ROWS (default "20000 100000"), RUNS (default 3: mlwb and numpy take
# the best of RUNS; GridSearchCV runs once), BENCH_SLOW=1, BUILD (build), PY
# (/usr/bin/python3, Debian's, with python3-sklearn, installed here when missing and
# running as root).
set -eu

CURVE_ROWS=${CURVE_ROWS:-20000 100000}
RUNS=${RUNS:-3}
BENCH_SLOW=${BENCH_SLOW:-0}
BUILD=${BUILD:-build}
PY=${PY:-/usr/bin/python3}
FEATURES=16 CLASSES=10 SPREAD=6 SEED=42 KMAX=50 FOLDS=5
GRID_100K_ISSUE="about 12 minutes (issue 4's figure on this machine)"

die() { echo "curve bench: $*" >&2; exit 1; }
[ -f "$BUILD/libmlwb.a" ] || die "$BUILD/libmlwb.a is missing: run 'make' first"

if ! "$PY" -c 'import sklearn, numpy' 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "curve bench: installing python3-sklearn"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq --no-install-recommends python3-sklearn >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 &&
              apt-get install -y -qq --no-install-recommends python3-sklearn >/dev/null; } ||
            die "apt-get install python3-sklearn failed"
    fi
fi
HAVE_PY=0
"$PY" -c 'import sklearn, numpy' 2>/dev/null && HAVE_PY=1

WARN="-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
-Wmissing-declarations -Wpointer-arith -Wcast-qual -Wwrite-strings -Wundef -Wformat=2 \
-Wvla -Wold-style-definition -Wredundant-decls -Wnested-externs -Wno-unused-parameter"
CFLAGS="-std=c11 -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE -O2 -g $WARN -Werror -Iinclude \
$(pkg-config --cflags openblas)"
PKGS="ncursesw readline sqlite3 libmicrohttpd jansson openblas"
LIBS="$(pkg-config --libs $PKGS) -lgsl -lm -lpthread"
mkdir -p "$BUILD/bench"
cc $CFLAGS -o "$BUILD/bench/curve_bench" tests/bench/curve_bench.c "$BUILD/libmlwb.a" $LIBS

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mlwb-curve.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$TMP"' EXIT INT TERM

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b != "") printf "%.1fx", b / a; else print "-" }'; }
row() { printf '   %-52s %9s %9s %11s\n' "$1" "$2" "$3" "$4"; }

echo
echo "== k-curve: k = 1..$KMAX, $FOLDS-fold CV, Gaussian blobs ($FEATURES features, $CLASSES classes," \
     "sd $SPREAD, centres in [-10,10]^$FEATURES, seed $SEED), $(nproc) cores"
[ $HAVE_PY = 1 ] && echo "   peers: Debian scikit-learn $("$PY" -c 'import sklearn, numpy; print(sklearn.__version__ + ", numpy " + numpy.__version__)') ($PY)"
for N in $CURVE_ROWS; do
    "$BUILD/bench/curve_bench" "$N" $FEATURES $CLASSES $SPREAD $SEED $KMAX $FOLDS "$RUNS" \
        "$TMP/data.bin" "$TMP/mlwb.txt" > "$TMP/mlwb.out" || die "curve_bench failed"
    MLWB=$(awk '/^best/ { print $2 }' "$TMP/mlwb.out")
    BEST=$(awk '/^best/ { printf "best k %s (mean accuracy %s), 1-SE k %s", $4, $8, $6 }' "$TMP/mlwb.out")
    FLOOR=$(awk -v t="$MLWB" '/^gflop/ { printf "limit: %.1f GFLOP of distances = %.3f s at the sgemm rate measured here (%.0f GFLOP/s); mlwb takes %.1fx that", $2, $2 / $4, $4, t / ($2 / $4) }' "$TMP/mlwb.out")
    NP="" GRID="" NPLINE="" GRIDLINE=""
    if [ $HAVE_PY = 1 ]; then
        grid=0
        if [ "$N" -le 20000 ] || [ "$BENCH_SLOW" = 1 ]; then grid=1; fi
        "$PY" tests/bench/curve_peers.py "$TMP/data.bin" "$TMP/mlwb.txt" $KMAX "$RUNS" $grid \
            > "$TMP/peers.out" || die "curve_peers.py failed"
        NP=$(awk '$1 == "numpy" { print $2 }' "$TMP/peers.out")
        GRID=$(awk '$1 == "grid" { print $2 }' "$TMP/peers.out")
        NPLINE=$(awk '$1 == "numpy" { printf "max |diff| %s, equal on %s of '$KMAX' k, best k %s", $3, $4, $5 }' "$TMP/peers.out")
        GRIDLINE=$(awk '$1 == "grid" { printf "max |diff| %s, equal on %s of '$KMAX' k, best k %s", $3, $4, $5 }' "$TMP/peers.out")
    fi
    echo
    echo "   $N rows: mlwb $BEST"
    row "" "seconds" "mlwb is" ""
    row "mlwb knn_curve (one search per row, all cores)" "$MLWB" "" ""
    echo "     ($FLOOR)"
    if [ $HAVE_PY = 1 ]; then
        row "numpy/sklearn, one kneighbors per fold" "$NP" "$(ratio "$MLWB" "$NP")" "(target 3x)"
        if [ -n "$GRID" ]; then
            row "sklearn GridSearchCV(n_jobs=2)" "$GRID" "$(ratio "$MLWB" "$GRID")" "(target 100x)"
        else
            row "sklearn GridSearchCV(n_jobs=2): not run" "~720" "$(ratio "$MLWB" 720)" "(target 100x)"
            echo "     (GridSearchCV at $N rows: $GRID_100K_ISSUE; BENCH_SLOW=1 measures it)"
        fi
        echo "   curves vs mlwb's: numpy: $NPLINE"
        [ -n "$GRID" ] && echo "                     GridSearchCV: $GRIDLINE"
    fi
done
exit 0
