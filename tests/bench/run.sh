#!/bin/sh
# run.sh — benchmarks side by side with their peers (called by `make bench`, from the top
# of the tree, after `make all`).  Results go to stdout; docs/BENCHMARKS.md records them.
#
# CSV load: a deterministic 1,000,000-row x 16-feature CSV with a text label (~143 MB,
# written by tests/bench/gencsv.c into a temporary directory, never into the tree) is
# loaded, one thing at a time (the machine has few cores), by
#   - mlwb as a whole process:  ./mlwb --db TMP/s.db -c 'load csv FILE'  (parse, hash, and
#     store the new version in a fresh SQLite store), wall time and peak RSS
#   - mlwb's parse alone:       csvbench (tests/bench/csvbench.c: csv_load_file, timed)
#   - pandas.read_csv:          as a whole python process, and its parse time
#   - numpy.loadtxt:            its parse time on the first tenth of the rows, x10
# Times are the best of RUNS runs (default 3); the file is read once first so that every
# contender finds it in the page cache.
#
# Environment: ROWS (default 1000000), RUNS (default 3), KEEP=1 keeps the temp dir,
# MLWB (./mlwb), BUILD (build), PY (/usr/bin/python3: Debian's, with python3-pandas and
# python3-numpy, which are installed here when missing and running as root, as is GNU
# /usr/bin/time).  Without pandas the peers' rows are left out.
#
# k-curve (at the end): tests/bench/curve_run.sh, described there.
set -eu

ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}
FEATURES=16
SEED=42
MLWB=${MLWB:-./mlwb}
PY=${PY:-/usr/bin/python3}
BUILD=${BUILD:-build}

die() { echo "bench: $*" >&2; exit 1; }
[ -x "$MLWB" ] || die "$MLWB is missing: run 'make' first"
[ -f "$BUILD/libmlwb.a" ] || die "$BUILD/libmlwb.a is missing: run 'make' first"

# --- tools -------------------------------------------------------------------------------
need=""
[ -x /usr/bin/time ] || need="$need time"
if ! [ -x "$PY" ] || ! "$PY" -c 'import pandas, numpy' 2>/dev/null; then
    need="$need python3-pandas python3-numpy"
fi
if [ -n "$need" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "bench: installing$need"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq --no-install-recommends $need >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 &&
              apt-get install -y -qq --no-install-recommends $need >/dev/null; } ||
            die "apt-get install$need failed"
    else
        echo "bench: missing$need (install them with: sudo apt-get install$need)"
    fi
fi
[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) is needed for peak memory"
HAVE_PY=0
"$PY" -c 'import pandas, numpy' 2>/dev/null && HAVE_PY=1

# --- the bench programs, built as the Makefile builds (same warnings, -O2 -g) ---------------
WARN="-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
-Wmissing-declarations -Wpointer-arith -Wcast-qual -Wwrite-strings -Wundef -Wformat=2 \
-Wvla -Wold-style-definition -Wredundant-decls -Wnested-externs -Wno-unused-parameter"
CFLAGS="-std=c11 -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE -O2 -g $WARN -Werror -Iinclude"
PKGS="ncursesw readline sqlite3 libmicrohttpd jansson openblas"
LIBS="$(pkg-config --libs $PKGS) -lgsl -lm -lpthread"
mkdir -p "$BUILD/bench"
cc $CFLAGS -o "$BUILD/bench/gencsv" tests/bench/gencsv.c
cc $CFLAGS -o "$BUILD/bench/csvbench" tests/bench/csvbench.c "$BUILD/libmlwb.a" $LIBS

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mlwb-bench.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$TMP"' EXIT INT TERM
CSV=$TMP/data.csv

# --- the data --------------------------------------------------------------------------------
"$BUILD/bench/gencsv" "$ROWS" "$FEATURES" "$SEED" > "$CSV"
BYTES=$(wc -c < "$CSV")
MB=$(awk -v b="$BYTES" 'BEGIN { printf "%.1f", b / 1e6 }')
head -n $((ROWS / 10 + 1)) "$CSV" > "$TMP/slice.csv"
cat "$CSV" > /dev/null  # into the page cache
MATRIX_MB=$(awk -v r="$ROWS" -v f="$FEATURES" 'BEGIN { printf "%.1f", r * f * 4 / 1e6 }')

echo "== CSV load: $ROWS rows x $FEATURES features + label, $MB MB ($(nproc) cores)"
echo "   file: $CSV (gencsv $ROWS $FEATURES $SEED)"

# best (lowest) value of column $1 over lines of $2
best() { awk -v c="$1" 'NR == 1 || $c < m { m = $c } END { print m }' "$2"; }
most() { awk -v c="$1" 'NR == 1 || $c > m { m = $c } END { print m }' "$2"; }

# time_process NAME OUT CMD... — wall seconds and peak RSS (KB) of a whole process
time_process() {
    name=$1 out=$2
    shift 2
    : > "$out"
    i=0
    while [ $i -lt "$RUNS" ]; do
        /usr/bin/time -f '%e %M' -o "$TMP/time.txt" "$@" > "$TMP/stdout.txt" 2> "$TMP/stderr.txt" ||
            { cat "$TMP/stderr.txt" >&2; die "$name failed"; }
        cat "$TMP/time.txt" >> "$out"
        i=$((i + 1))
    done
}

# 1. mlwb as a whole process, a fresh store each run
: > "$TMP/mlwb.times"
i=0
while [ $i -lt "$RUNS" ]; do
    rm -f "$TMP/s.db" "$TMP/s.db-wal" "$TMP/s.db-shm"
    /usr/bin/time -f '%e %M' -o "$TMP/time.txt" "$MLWB" --db "$TMP/s.db" -c "load csv $CSV" \
        > "$TMP/stdout.txt" 2> "$TMP/stderr.txt" || { cat "$TMP/stderr.txt" >&2; die "mlwb load failed"; }
    cat "$TMP/time.txt" >> "$TMP/mlwb.times"
    i=$((i + 1))
done
MLWB_OUT=$(cat "$TMP/stdout.txt")
MLWB_WALL=$(best 1 "$TMP/mlwb.times")
MLWB_RSS=$(most 2 "$TMP/mlwb.times")
# the same load into a store that already holds this content (parse + hash, no write)
/usr/bin/time -f '%e %M' -o "$TMP/time.txt" "$MLWB" --db "$TMP/s.db" -c "load csv $CSV" > /dev/null
MLWB_SAME=$(awk '{ print $1 }' "$TMP/time.txt")
# start-up and shutdown alone
time_process "mlwb start-up" "$TMP/start.times" "$MLWB" --db "$TMP/empty.db" -c 'help'
MLWB_START=$(best 1 "$TMP/start.times")

# 2. mlwb's parse alone
"$BUILD/bench/csvbench" "$CSV" 0 "$RUNS" > "$TMP/parse.txt"
PARSE=$(awk '/^best/ { print $2 }' "$TMP/parse.txt")
PARSE_MBS=$(awk '/^best/ { print $4 }' "$TMP/parse.txt")
PARSE_RSS=$(awk '/^best/ { print $6 }' "$TMP/parse.txt")
"$BUILD/bench/csvbench" "$CSV" 1 "$RUNS" > "$TMP/parse1.txt"
PARSE1=$(awk '/^best/ { print $2 }' "$TMP/parse1.txt")
PARSE1_MBS=$(awk '/^best/ { print $4 }' "$TMP/parse1.txt")

# 3. pandas and numpy
if [ $HAVE_PY = 1 ]; then
    PANDAS_VER=$("$PY" -c 'import pandas, numpy; print(pandas.__version__, numpy.__version__)')
    time_process "pandas" "$TMP/pandas.times" "$PY" -c "import pandas; pandas.read_csv('$CSV')"
    PANDAS_WALL=$(best 1 "$TMP/pandas.times")
    PANDAS_RSS=$(most 2 "$TMP/pandas.times")
    "$PY" - "$CSV" "$TMP/slice.csv" "$RUNS" "$FEATURES" > "$TMP/py.txt" <<'EOF'
import sys, time
import numpy, pandas
csv, piece, runs, nf = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
best = 1e30
for _ in range(runs):
    t = time.perf_counter()
    df = pandas.read_csv(csv)
    best = min(best, time.perf_counter() - t)
    del df
print("pandas", best)
best = 1e30
for _ in range(runs):
    t = time.perf_counter()
    x = numpy.loadtxt(piece, delimiter=",", skiprows=1, usecols=range(nf), dtype=numpy.float32)
    y = numpy.loadtxt(piece, delimiter=",", skiprows=1, usecols=(nf,), dtype=str)
    best = min(best, time.perf_counter() - t)
print("numpy", best)
EOF
    PANDAS=$(awk '$1 == "pandas" { print $2 }' "$TMP/py.txt")
    NUMPY_SLICE=$(awk '$1 == "numpy" { print $2 }' "$TMP/py.txt")
    NUMPY=$(awk -v s="$NUMPY_SLICE" 'BEGIN { print s * 10 }')
    time_process "python start-up" "$TMP/pystart.times" "$PY" -c 'import pandas'
    PY_START=$(best 1 "$TMP/pystart.times")
fi

# --- the table -------------------------------------------------------------------------------
echo "   mlwb: $MLWB_OUT"
[ $HAVE_PY = 1 ] && echo "   peers: Debian python3-pandas/numpy $PANDAS_VER ($PY)"
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.1fx", b / a; else print "-" }'; }
row() { printf '   %-44s %8s %10s %9s\n' "$1" "$2" "$3" "$4"; }
row "" "seconds" "MB/s" "peak RSS"
row "mlwb parse (csv_load_file, all cores)" "$PARSE" "$PARSE_MBS" "$((PARSE_RSS / 1024)) MB"
row "mlwb parse (csv_load_file, 1 thread)" "$PARSE1" "$PARSE1_MBS" ""
row "mlwb process: load csv, new version stored" "$MLWB_WALL" \
    "$(awk -v b="$BYTES" -v t="$MLWB_WALL" 'BEGIN { printf "%.0f", b / 1e6 / t }')" \
    "$((MLWB_RSS / 1024)) MB"
row "mlwb process: load csv, content unchanged" "$MLWB_SAME" "" ""
row "mlwb process: start-up and exit alone" "$MLWB_START" "" ""
if [ $HAVE_PY = 1 ]; then
    row "pandas.read_csv parse" "$(printf %.3f "$PANDAS")" \
        "$(awk -v b="$BYTES" -v t="$PANDAS" 'BEGIN { printf "%.0f", b / 1e6 / t }')" ""
    row "pandas process: python3 -c 'read_csv'" "$PANDAS_WALL" "" "$((PANDAS_RSS / 1024)) MB"
    row "python3 -c 'import pandas' alone" "$PY_START" "" ""
    row "numpy.loadtxt parse (first tenth, x 10)" "$(printf %.3f "$NUMPY")" \
        "$(awk -v b="$BYTES" -v t="$NUMPY" 'BEGIN { printf "%.0f", b / 1e6 / t }')" ""
    echo
    echo "   mlwb parse vs pandas.read_csv parse:      $(ratio "$PARSE" "$PANDAS") faster (target 3x)"
    echo "   mlwb parse vs numpy.loadtxt parse:        $(ratio "$PARSE" "$NUMPY") faster"
    echo "   mlwb process vs pandas process:           $(ratio "$MLWB_WALL" "$PANDAS_WALL") faster"
fi
LIMIT=$(awk -v m="$MATRIX_MB" 'BEGIN { printf "%.0f", 1.5 * m + 8.4 }')
echo "   float32 matrix: $MATRIX_MB MB; parse peak RSS $((PARSE_RSS / 1024)) MB vs target" \
     "1.5 x matrix + 8 MB of I/O windows = $LIMIT MB"

# --- the k-curve: mlwb's knn_curve vs GridSearchCV and a one-search numpy approach --------
# (tests/bench/curve_run.sh; CURVE_ROWS, BENCH_SLOW=1 for GridSearchCV at 100,000 rows)
RUNS="$RUNS" BUILD="$BUILD" PY="$PY" sh tests/bench/curve_run.sh

# --- KNN batch predict: mlwb vs sklearn brute / kd_tree and faiss IndexFlatL2 -------------
# (tests/bench/knn_run.sh; KNN_ROWS, KNN_QUERIES, KNN_K, KNN_SINGLE, KNN_KD_QUERIES)
RUNS="$RUNS" BUILD="$BUILD" PY="$PY" sh tests/bench/knn_run.sh
RUNS="$RUNS" BUILD="$BUILD" PY="$PY" sh tests/bench/km_run.sh  # k-means sweep and silhouettes (KM_* there)
MLWB="$MLWB" BUILD="$BUILD" PY="$PY" sh tests/bench/http_run.sh  # POST /v1/predict vs FastAPI and bare libmicrohttpd (DUR, CONNS there)
bash tests/bench/tui_run.sh  # the workbench: idle CPU and key latency under load (IDLE, KEYS there)
