#!/bin/sh
# km_run.sh — the k-means benchmark: a sweep k = 2..16 on 100,000 x 16 Gaussian blobs,
# one k-means++ initialisation per k, side by side in one run:
#   - mlwb:    build/bench/km_bench (tests/bench/km_bench.c): km_fit per k on all cores,
#              then cs_silhouette of each k's labels on a fixed 10,000-row sample;
#   - sklearn: KMeans(n_clusters=k, n_init=1, init="k-means++", random_state=SEED) with
#              algorithm="lloyd" and "elkan", and silhouette_score on the same sample rows
#              with mlwb's labels (tests/bench/km_peers.py);
#   - faiss:   faiss.Kmeans (niter 25) on all points and with its default subsampling
#              (256 rows per centroid), once each, when python3-faiss is there.
# The timed part runs in RUNS rounds, one contender at a time within a round (mlwb, then
# lloyd, elkan and the silhouettes), so that all of them meet the same load on a shared
# machine; each contender's best round counts, and the spread of the same-round ratios
# is shown.  The peers read the bytes km_bench wrote (the features as float32;
# KM_DTYPE=float64 converts them for sklearn).  Every inertia is recomputed in double
# from the contender's labels and centres.  Inertia from one initialisation depends on
# the seed (different generators draw different k-means++ centres and reach different
# local optima), so two untimed comparisons follow:
#   - KM_SEEDS seeds per k on both sides, their mean inertia per k;
#   - the same starts: scikit-learn's kmeans_plusplus centres for those seeds, given to
#     km_fit (km_opts.init) and to KMeans(init=...): Lloyd from the same start on both
#     sides, so the inertia should agree.
# Called by tests/bench/run.sh (make bench) or alone from the top of the tree after
# `make`.
#
# Environment: KM_ROWS (100000), KM_DIMS (16), KM_CLASSES (10), KM_SPREAD (1: the blobs'
# standard deviation; centres uniform in [-10, 10]^d), KM_KMIN/KM_KMAX (2/16), KM_SAMPLE
# (10000 silhouette rows), KM_SEEDS (5), KM_SEED (0, the timed seed), KM_DTYPE (float32),
# KM_FAISS (1), RUNS (3 rounds: best of, for the sweeps and each silhouette), BUILD, PY
# (/usr/bin/python3, Debian's, with python3-sklearn and python3-faiss, installed here
# when missing and running as root).
set -eu

ROWS=${KM_ROWS:-100000}
DIMS=${KM_DIMS:-16}
CLASSES=${KM_CLASSES:-10}
SPREAD=${KM_SPREAD:-1}
KMIN=${KM_KMIN:-2}
KMAX=${KM_KMAX:-16}
SAMPLE=${KM_SAMPLE:-10000}
SEEDS=${KM_SEEDS:-5}
SEED=${KM_SEED:-0}
DTYPE=${KM_DTYPE:-float32}
FAISS=${KM_FAISS:-1}
RUNS=${RUNS:-3}
BUILD=${BUILD:-build}
PY=${PY:-/usr/bin/python3}
DATA_SEED=42

die() { echo "k-means bench: $*" >&2; exit 1; }
[ -f "$BUILD/libmlwb.a" ] || die "$BUILD/libmlwb.a is missing: run 'make' first"

need=""
"$PY" -c 'import sklearn' 2>/dev/null || need="$need python3-sklearn"
[ "$FAISS" = 1 ] && ! "$PY" -c 'import faiss' 2>/dev/null && need="$need python3-faiss"
if [ -n "$need" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "k-means bench: installing$need"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq --no-install-recommends $need >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 &&
              apt-get install -y -qq --no-install-recommends $need >/dev/null; } ||
            echo "k-means bench: apt-get install$need failed; those peers are left out"
    else
        echo "k-means bench: missing$need (install them with: sudo apt-get install$need)"
    fi
fi
HAVE_PY=0
"$PY" -c 'import sklearn, numpy' 2>/dev/null && HAVE_PY=1

WARN="-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
-Wmissing-declarations -Wpointer-arith -Wcast-qual -Wwrite-strings -Wundef -Wformat=2 \
-Wvla -Wold-style-definition -Wredundant-decls -Wnested-externs -Wno-unused-parameter"
PKGS="ncursesw readline sqlite3 libmicrohttpd jansson openblas"
CFLAGS="-std=c11 -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE -O2 -g $WARN -Werror -Iinclude \
$(pkg-config --cflags openblas)"
LIBS="$(pkg-config --libs $PKGS) -lgsl -lm -lpthread"
mkdir -p "$BUILD/bench"
cc $CFLAGS -o "$BUILD/bench/km_bench" tests/bench/km_bench.c "$BUILD/libmlwb.a" $LIBS

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mlwb-km.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$TMP"' EXIT INT TERM

echo
echo "== k-means sweep: k = $KMIN..$KMAX, one k-means++ initialisation each, $ROWS x $DIMS" \
     "Gaussian blobs ($CLASSES blobs, sd $SPREAD, centres in [-10,10]^$DIMS, seed $DATA_SEED)," \
     "$(nproc) cores"
BENCH="$BUILD/bench/km_bench n=$ROWS d=$DIMS classes=$CLASSES spread=$SPREAD data_seed=$DATA_SEED \
kmin=$KMIN kmax=$KMAX seed=$SEED sample=$SAMPLE"
peers() { "$PY" tests/bench/km_peers.py "$1" "$TMP" "$ROWS" "$DIMS" "$KMIN" "$KMAX" "$2" \
              "$SEEDS" "$SEED" "$DTYPE" "$FAISS"; }
# The timed part in RUNS rounds, mlwb then the peers in each, so that both meet the same
# load (the machine is shared); each contender's best round counts.
: > "$TMP/mlwb.out"
: > "$TMP/peers.out"
r=1
while [ $r -le "$RUNS" ]; do
    out=""
    [ $r = 1 ] && out="out=$TMP"
    echo "round $r" >> "$TMP/mlwb.out"
    $BENCH runs=1 sil=1 seeds=0 $out >> "$TMP/mlwb.out" || die "km_bench failed"
    if [ $HAVE_PY = 1 ]; then
        echo "round $r" >> "$TMP/peers.out"
        peers timed 1 >> "$TMP/peers.out" || die "km_peers.py timed failed"
    fi
    r=$((r + 1))
done
# Untimed: the inertia of SEEDS seeds on both sides, then Lloyd from the same starts;
# faiss once.
$BENCH runs=0 sil=0 seeds="$SEEDS" >> "$TMP/mlwb.out" || die "km_bench seeds= failed"
if [ $HAVE_PY = 1 ]; then
    peers starts 0 || die "km_peers.py starts failed"
    $BENCH seeds="$SEEDS" starts="$TMP/starts.f32" >> "$TMP/mlwb.out" ||
        die "km_bench starts= failed"
    peers quality 0 >> "$TMP/peers.out" || die "km_peers.py quality failed"
    awk '$1 == "version" && !seen[$0]++ { sub(/^version /, ""); print "   peers: " $0 }' \
        "$TMP/peers.out"
fi
[ "${KEEP:-0}" = 1 ] && echo "   raw figures: $TMP/mlwb.out $TMP/peers.out"

# One awk over both outputs: mlwb's lines first (file 1), then the peers' (file 2).
awk -v kmin="$KMIN" -v kmax="$KMAX" -v seeds="$SEEDS" -v sample="$SAMPLE" -v seed="$SEED" \
    -v runs="$RUNS" '
function keepmin(arr, key, v) { if (!(key in arr) || v < arr[key]) arr[key] = v }
$1 == "round" { rd = $2; next }
FNR == NR {
    if ($1 == "best") { keepmin(best, "mlwb", $2); bt["mlwb", rd] = $2; threads = $4 }
    else if ($1 == "k") { keepmin(kt, "mlwb" SUBSEP $2, $3); ki["mlwb", $2] = $4; kn["mlwb", $2] = $5 }
    else if ($1 == "sil") { keepmin(st, "mlwb" SUBSEP $2, $3); ss["mlwb", $2] = $4 }
    else if ($1 == "q") { qs["mlwb", $3] += $4; qn["mlwb", $3]++ }
    else if ($1 == "f") { fi["mlwb", $2, $3] = $4; fn["mlwb", $2, $3] = $5 }
    next
}
{
    if ($1 == "best") { keepmin(best, $2, $3); bt[$2, rd] = $3; have[$2] = 1 }
    else if ($1 == "k") { keepmin(kt, $2 SUBSEP $3, $4); ki[$2, $3] = $5; kn[$2, $3] = $6 }
    else if ($1 == "sil") { keepmin(st, "sk" SUBSEP $2, $3); ss["sk", $2] = $4; havesil = 1 }
    else if ($1 == "q") { qs[$2, $4] += $5; qn[$2, $4]++ }
    else if ($1 == "f") { fi[$2, $3, $4] = $5; fn[$2, $3, $4] = $6; havef = 1 }
}
function sum_inertia(who,   k, s) { s = 0; for (k = kmin; k <= kmax; k++) s += ki[who, k]; return s }
function rounds(who,   r, lo, hi, x) {   # the same-round ratios who / mlwb
    lo = 1e30; hi = 0
    for (r = 1; r <= runs; r++) {
        x = bt[who, r] / bt["mlwb", r]
        if (x < lo) lo = x
        if (x > hi) hi = x
    }
    return runs > 1 ? sprintf("%.1f-%.1fx", lo, hi) : ""
}
function row(label, who, target,   s) {
    s = sum_inertia(who)
    printf "   %-42s %8.3f %7.1fx %11s %14.6e %8.4f  %s\n", label, best[who],
        best[who] / best["mlwb"], rounds(who), s, s / sum_inertia("lloyd"), target
}
END {
    nk = kmax - kmin + 1
    printf "   %-42s %8s %8s %11s %14s %8s\n", "", "seconds", "mlwb is", "per round",
        "summed inertia", "/ lloyd"
    printf "   %-42s %8.3f %8s %11s %14.6e %8s\n", "mlwb km_fit (" threads " threads)",
        best["mlwb"], "", "", sum_inertia("mlwb"),
        have["lloyd"] ? sprintf("%.4f", sum_inertia("mlwb") / sum_inertia("lloyd")) : ""
    if (!have["lloyd"]) exit 0
    row("sklearn KMeans lloyd", "lloyd", "(target 2x)")
    row("sklearn KMeans elkan", "elkan", "")
    if (have["faiss_all"]) printf "   %-42s %8.3f %7.1fx %11s %14.6e %8.4f\n",
        "faiss Kmeans, all points (niter 25), once", best["faiss_all"],
        best["faiss_all"] / best["mlwb"], "", sum_inertia("faiss_all"),
        sum_inertia("faiss_all") / sum_inertia("lloyd")
    if (have["faiss_sub"]) printf "   %-42s %8.3f %7.1fx %11s %14.6e %8.4f\n",
        "faiss Kmeans, 256 rows/centroid, once", best["faiss_sub"],
        best["faiss_sub"] / best["mlwb"], "", sum_inertia("faiss_sub"),
        sum_inertia("faiss_sub") / sum_inertia("lloyd")

    printf "\n   per k (seed %d):   seconds: mlwb   lloyd   elkan | iterations: mlwb lloyd |" \
        " inertia mlwb/lloyd | silhouette ms: mlwb sklearn\n", seed
    maxr = 0; within = 0; silm = 0; sils = 0; maxd = 0
    for (k = kmin; k <= kmax; k++) {
        r = ki["mlwb", k] / ki["lloyd", k]
        if (r > maxr) { maxr = r; maxk = k }
        if (r <= 1.001) within++
        silm += st["mlwb", k]; sils += st["sk", k]
        dd = ss["mlwb", k] - ss["sk", k]; if (dd < 0) dd = -dd; if (dd > maxd) maxd = dd
        printf "   k=%-3d %25.3f %7.3f %7.3f | %15d %5d | %19.6f | %18.1f %7.1f\n", k,
            kt["mlwb", k], kt["lloyd", k], kt["elkan", k], kn["mlwb", k], kn["lloyd", k], r,
            st["mlwb", k] * 1000, st["sk", k] * 1000
    }
    printf "\n   inertia, seed %d: mlwb / sklearn lloyd at most %.4f (k=%d); %d of %d k within" \
        " 0.1%% or lower\n", seed, maxr, maxk, within, nk
    if (seeds > 0) {
        maxq = 0; wq = 0; sm = 0; sl = 0
        for (k = kmin; k <= kmax; k++) {
            m = qs["mlwb", k] / qn["mlwb", k]; l = qs["lloyd", k] / qn["lloyd", k]
            sm += m; sl += l
            if (m / l > maxq) { maxq = m / l; maxqk = k }
            if (m / l <= 1.001) wq++
        }
        printf "   inertia, mean of %d seeds per k (untimed): mlwb / lloyd at most %.4f (k=%d);" \
            " %d of %d k within 0.1%% or lower; summed %.4f\n", seeds, maxq, maxqk, wq, nk, sm / sl
    }
    if (havef) {
        maxf = 0; minf = 1e30; tot = 0; same = 0; le = 0; its = 0; fm = 0; fl = 0
        for (s = seed; s < seed + seeds; s++)
            for (k = kmin; k <= kmax; k++) {
                r = fi["mlwb", s, k] / fi["lloyd", s, k]; tot++
                fm += fi["mlwb", s, k]; fl += fi["lloyd", s, k]
                if (r > maxf) maxf = r
                if (r < minf) minf = r
                if (r - 1 <= 1e-6 && 1 - r <= 1e-6) same++
                if (r <= 1.001) le++
                if (fn["mlwb", s, k] == fn["lloyd", s, k]) its++
            }
        printf "   inertia from the same starts (sklearn'"'"'s k-means++ centres, %d seeds x %d k):" \
            " mlwb / lloyd %.6f .. %.6f, summed %.6f; %d of %d within 0.1%% or lower, %d within" \
            " 1e-6; iterations equal in %d\n", seeds, nk, minf, maxf, fm / fl, le, tot, same, its
    }
    if (havesil)
        printf "   silhouette (%d rows, mlwb'"'"'s labels): mlwb %.1f ms per k, sklearn %.1f ms" \
            " per k: %.1fx (target 5x); scores differ by at most %.1e\n", sample,
            silm * 1000 / nk, sils * 1000 / nk, sils / silm, maxd
}' "$TMP/mlwb.out" "$TMP/peers.out"
exit 0
