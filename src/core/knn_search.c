/*
 * knn_search.c — exact k-nearest-neighbour search (see mlwb/core/knn_search.h).
 *
 * What is exact.  Every distance that decides a result is the row's "exact key",
 * computed in double from the float inputs in a fixed order (Euclidean: the sum over j
 * of ((double)q_j - (double)x_j)^2; Manhattan: the sum of |q_j - x_j|; cosine:
 * 1 - q.x / sqrt(|q|^2 |x|^2), and 1 when either is a zero vector).  A result is the k
 * smallest keys, ties to the lower row index; a NaN key counts as +infinity.  Reported
 * distances are the keys rounded to float (Euclidean: the square root; cosine: at
 * least 0).  A plain loop over all rows (knn_search_brute) is the definition; the fast
 * paths below are proven to return the same rows in the same order.
 *
 * How it is fast.  Queries are cut into blocks of KNN_QB; par_for spreads the blocks
 * over the threads, and each thread owns its scratch (found by its tid).  One of four
 * methods is chosen when the index is built (knn_choose):
 *   KNN_TREE — Euclidean and Manhattan with at most KNN_TREE_MAX_DIMS dims and at least
 *              KNN_TREE_MIN_ROWS rows: a kd-tree whose leaves compute exact keys
 *              directly (see "the kd-tree" below for why that is exact).  Measured on
 *              blobs of 90,000 rows: 5-15x faster than the tiles at 2-4 dims, about even
 *              at 6, 4x slower at 8 and more.
 *   KNN_FMA  — Euclidean and cosine on x86 CPUs with AVX2 and FMA (checked at run time;
 *              the rest of the build stays baseline x86-64), dims <= KNN_FMA_MAX_DIMS;
 *   KNN_GEMM — Euclidean and cosine elsewhere, and with more dims;
 *   KNN_L1   — Manhattan.
 * The last three give each query of a block an approximate value a(q, x) for every row:
 *   Euclidean: the dot product of [-2(q-mu), 1] and [x-mu, |x-mu|^2], which is
 *     |x-mu|^2 - 2(q-mu).(x-mu) = |q-x|^2 - |q-mu|^2: the key up to a per-query
 *     constant (mu, the column means, is subtracted at build time to keep the norms, and
 *     so the error bound, small);
 *   cosine: the dot product of -q/|q| and x/|x|, which is -cos = key - 1;
 *   Manhattan: the float sum of |q_j - x_j|.
 * KNN_FMA stores the rows in panels of 8 (column-major inside a panel); a tile of
 * 4 queries x 3 panels keeps 12 accumulators in registers and compares them with the
 * 4 queries' thresholds at once, so no distance matrix is ever written, and every query
 * of a block visits a run of KNN_PB panels while it sits in L1.  KNN_GEMM calls
 * sgemm (blas.h) for the block's queries by KNN_RB rows into a KNN_QB x KNN_RB scratch, then
 * scans it: at 16 dims the inner dimension is so short that sgemm spends much of its
 * time packing and writing C (measured here at 35-45% of the square-sgemm rate, the
 * tiles at 50-65%: docs/BENCHMARKS.md).  KNN_L1 uses the panels with a plain loop
 * across the 8 rows of a panel, which the compiler vectorises without reordering any
 * row's sum (built twice: baseline and AVX2).
 * Each query keeps (knn_qbuf) a max-heap of the k smallest values seen so far — its top
 * is v_k — and a buffer of candidates: every row seen whose value is at most the
 * threshold v_k + 2E (Euclidean, cosine) or v_k (1+rho)/(1-rho) (Manhattan), +infinity
 * until k rows were seen.  The buffer is compacted (and doubled when more than half
 * stays) when it fills.  At the end the survivors get their exact keys and the k best
 * by (key, row) are the answer.  MLWB_KNN_KERNEL=brute|tree|blas|avx2|auto in the
 * environment forces a method at index build time (tests run every method this way).
 *
 * Why that is safe.  E bounds |a - (key - const)| for every row:
 *   Euclidean: S = |q-mu| + max_x |x-mu|.  The dot product of K = dims+1 terms in float
 *   errs by at most gamma_K (2|q-mu||x-mu| + |x-mu|^2) <= gamma_K S^2 whatever order or
 *   FMA use the kernel chooses (the tiles start from the norm and add the products in
 *   order; sgemm as it likes); rounding |x-mu|^2 to float adds u S^2, rounding the
 *   centred inputs moves |q-x|^2 by at most 2u S^2, and the double key is within
 *   (dims+1) 2^-53 of the truth.  That is about (K+4) u S^2; we take E = (2K+16) u S^2
 *   plus (2K+16) FLT_MIN for underflow (u = 2^-24, gamma_K = K u / (1 - K u)).
 *   Cosine: unit vectors rounded to float, a dot of K = dims terms of size <= 1:
 *   about (K+3) u; E = (2K+16) u (+ underflow).  Manhattan: a float sum of dims
 *   rounded |differences| errs by at most about (dims+1) u times the sum: rho = (2 dims
 *   + 16) u, relative.
 * If row x is among the true k nearest, its key is at most the k-th smallest key, which
 * is at most v_k + E (k rows have value <= v_k); so a(x) <= key(x) + E <= v_k + 2E, and
 * x is never dropped — neither are rows whose key ties with the k-th, so the exact
 * re-ranking sees every row that can take a place, and orders them by (key, row).
 * Rows dropped under an earlier, larger v_k would be dropped by the final one too.
 * Inputs that are not finite, or so large (> 1e15) that float squares could overflow,
 * take the brute-force path (the whole index at build time; one query at search time).
 *
 * Threads.  OpenBLAS is told once (pthread_once in knn_index_build) to use one thread
 * of its own: the search calls sgemm from inside par_for workers, which already use the
 * cores, so BLAS threads on top would oversubscribe them; the process's other BLAS users
 * (none in the core today) inherit that setting.  Scratch per thread: the prepared
 * queries, the candidate buffers and heaps of a block, and (KNN_GEMM) the sgemm output,
 * allocated on a thread's first block and freed when the search returns.
 *
 * Thread-safety: an index is immutable after knn_index_build; any number of threads may
 * search it at once.  Build and free from one thread.
 */
#include "mlwb/core/knn_search.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mlwb/core/blas.h"
#include "mlwb/core/parfor.h"

enum {
    KNN_QB = 64,          /* queries per block (one par_for item) */
    KNN_RB = 1024,        /* KNN_GEMM: rows per sgemm; scratch KNN_QB x KNN_RB floats */
    KNN_PANEL = 8,        /* rows per panel (one AVX register of floats) */
    KNN_PB = 24,          /* panels per run that every query of a block visits in turn */
    KNN_MIN_FAST = 32,    /* below this many rows, brute force */
    KNN_FMA_MAX_DIMS = 128, /* above, sgemm (its packing pays off) */
    KNN_TREE_MAX_DIMS = 5,  /* Euclidean, Manhattan: a kd-tree up to this many dims... */
    KNN_TREE_MIN_ROWS = 256, /* ...and from this many rows (measured: docs/BENCHMARKS.md) */
    KNN_LEAF = 16           /* kd-tree: at most this many rows in a leaf (unless all equal) */
};

#define KNN_U (1.0 / 16777216.0)  /* unit roundoff of float, 2^-24 */
#define KNN_BIG 1e15              /* larger magnitudes take the brute-force path */

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define KNN_HAVE_AVX2 1
#include <immintrin.h>
#else
#define KNN_HAVE_AVX2 0
#endif

typedef enum knn_method {
    KNN_BRUTE,  /* the exact key of every row */
    KNN_GEMM,   /* Euclidean, cosine: sgemm over row blocks */
    KNN_FMA,    /* Euclidean, cosine: AVX2+FMA tiles over panels */
    KNN_L1,     /* Manhattan: loops over panels (AVX2 when the CPU has it) */
    KNN_TREE    /* Euclidean, Manhattan, few dims: a kd-tree, exact keys at the leaves */
} knn_method;

/* A kd-tree node: rows [start, end) of the tree order; children, or -1 for a leaf. */
typedef struct knn_node {
    int32_t lo, hi;
    int32_t start, end;
} knn_node;

struct knn_index {
    size_t rows, dims;
    knn_metric metric;
    knn_method method;
    int avx2;       /* KNN_L1: run the AVX2 build of the loop */
    float *x;       /* rows*dims, the caller's values (exact keys come from these) */
    double *xn2;    /* cosine: |x|^2 per row, in double */
    size_t ka;      /* floats per prepared row: Euclidean dims+1, else dims */
    float *mu;      /* Euclidean: column means (dims) */
    double maxnorm; /* Euclidean: max |x-mu| */
    float *xa;      /* KNN_GEMM: rows*ka prepared rows (knn_prep_row), row-major */
    float *xp;      /* KNN_FMA, KNN_L1: ceil(rows/8) panels of ka*8 floats, panel row j
                     * holding column j of its 8 prepared rows (zeros pad the last) */
    knn_node *nodes; /* KNN_TREE: nnodes, the root first */
    size_t nnodes;
    float *box;     /* KNN_TREE: per node dims lows then dims highs */
    float *tx;      /* KNN_TREE: the rows in tree order (rows*dims) */
    int32_t *tid;   /* KNN_TREE: the row number of each tree-order row */
};

typedef struct knn_cand {
    double key;
    int32_t idx;
} knn_cand;

/* --- exact keys ------------------------------------------------------------------- */

static double knn_key_euclid(const float *q, const float *x, size_t dims)
{
    double s = 0;
    for (size_t j = 0; j < dims; j++) {
        double t = (double)q[j] - (double)x[j];
        s += t * t;
    }
    return s;
}

static double knn_key_manhattan(const float *q, const float *x, size_t dims)
{
    double s = 0;
    for (size_t j = 0; j < dims; j++)
        s += fabs((double)q[j] - (double)x[j]);
    return s;
}

static double knn_sqnorm(const float *x, size_t dims)
{
    double s = 0;
    for (size_t j = 0; j < dims; j++)
        s += (double)x[j] * (double)x[j];
    return s;
}

static double knn_key_cosine(const float *q, double qn2, const float *x, double xn2, size_t dims)
{
    if (qn2 == 0 || xn2 == 0)
        return 1.0;
    double dot = 0;
    for (size_t j = 0; j < dims; j++)
        dot += (double)q[j] * (double)x[j];
    return 1.0 - dot / sqrt(qn2 * xn2);
}

/* The exact key of row r for query q (qn2: |q|^2, used by cosine). */
static double knn_key(const knn_index *ix, const float *q, double qn2, size_t r)
{
    const float *x = ix->x + r * ix->dims;
    double key;
    switch (ix->metric) {
    case KNN_MANHATTAN:
        key = knn_key_manhattan(q, x, ix->dims);
        break;
    case KNN_COSINE:
        key = knn_key_cosine(q, qn2, x, ix->xn2[r], ix->dims);
        break;
    default:
        key = knn_key_euclid(q, x, ix->dims);
        break;
    }
    return key == key ? key : INFINITY;
}

static float knn_key_to_dist(knn_metric metric, double key)
{
    switch (metric) {
    case KNN_EUCLIDEAN:
        return (float)sqrt(key);
    case KNN_COSINE:
        return key < 0 ? 0.0f : (float)key;
    default:
        return (float)key;
    }
}

/* --- a bounded max-heap of (key, idx), ordered by key then index ------------------- */

static int knn_cand_less(knn_cand a, knn_cand b)
{
    return a.key < b.key || (a.key == b.key && a.idx < b.idx);
}

static void knn_heap_sift_down(knn_cand *h, int n, int i)
{
    knn_cand v = h[i];
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && knn_cand_less(h[c], h[c + 1]))
            c++;
        if (!knn_cand_less(v, h[c]))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = v;
}

/* Offer c to the heap h of at most k entries (*n in use). */
static void knn_heap_offer(knn_cand *h, int *n, int k, knn_cand c)
{
    if (*n < k) {
        int i = (*n)++;
        while (i > 0) {
            int p = (i - 1) / 2;
            if (!knn_cand_less(h[p], c))
                break;
            h[i] = h[p];
            i = p;
        }
        h[i] = c;
    } else if (knn_cand_less(c, h[0])) {
        h[0] = c;
        knn_heap_sift_down(h, *n, 0);
    }
}

/* Sort the heap in place, nearest first. */
static void knn_heap_sort(knn_cand *h, int n)
{
    for (int m = n - 1; m > 0; m--) {
        knn_cand t = h[0];
        h[0] = h[m];
        h[m] = t;
        knn_heap_sift_down(h, m, 0);
    }
}

/* Write the sorted heap h[0..n) as one query's k results. */
static void knn_emit(knn_metric metric, const knn_cand *h, int n, int k, int32_t *oi, float *od)
{
    for (int j = 0; j < k; j++) {
        oi[j] = j < n ? h[j].idx : -1;
        od[j] = j < n ? knn_key_to_dist(metric, h[j].key) : INFINITY;
    }
}

/* The definition: the exact key of every row. */
static void knn_search_brute(const knn_index *ix, const float *q, int64_t ex, int k,
                             knn_cand *heap, int32_t *oi, float *od)
{
    double qn2 = ix->metric == KNN_COSINE ? knn_sqnorm(q, ix->dims) : 0;
    int n = 0;
    for (size_t r = 0; r < ix->rows; r++)
        if ((int64_t)r != ex)
            knn_heap_offer(heap, &n, k, (knn_cand){knn_key(ix, q, qn2, r), (int32_t)r});
    knn_heap_sort(heap, n);
    knn_emit(ix->metric, heap, n, k, oi, od);
}

/* --- the index ---------------------------------------------------------------------- */

static pthread_once_t knn_blas_once = PTHREAD_ONCE_INIT;

static void knn_blas_init(void)
{
    openblas_set_num_threads(1);
}

static int knn_all_finite(const float *x, size_t n, float limit)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(x[i]) <= limit))
            return 0;
    return 1;
}

static int knn_cpu_avx2(void)
{
#if KNN_HAVE_AVX2
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

/* The method for a new index: MLWB_KNN_KERNEL (brute, tree, blas, avx2 or auto) may
 * force one, for tests and measurements; "blas" means the plain loops for Manhattan, a
 * forced avx2 on a CPU without it means blas, and a forced tree where there is none
 * (cosine) means auto. */
static knn_method knn_choose(knn_index *ix)
{
    const char *env = getenv("MLWB_KNN_KERNEL");
    int avx2 = knn_cpu_avx2() && !(env && strcmp(env, "blas") == 0);
    if (env && strcmp(env, "brute") == 0)
        return KNN_BRUTE;
    if (ix->metric != KNN_COSINE &&
        ((env && strcmp(env, "tree") == 0) ||
         (!env && ix->dims <= KNN_TREE_MAX_DIMS && ix->rows >= KNN_TREE_MIN_ROWS)))
        return KNN_TREE;
    if (ix->metric == KNN_MANHATTAN) {
        ix->avx2 = avx2;
        return KNN_L1;
    }
    if (!avx2)
        return KNN_GEMM;
    if (env && strcmp(env, "avx2") == 0)
        return KNN_FMA;
    return ix->dims <= KNN_FMA_MAX_DIMS ? KNN_FMA : KNN_GEMM;
}

/* --- the kd-tree --------------------------------------------------------------------
 * Built by splitting the widest side of each node's bounding box at the median, down to
 * KNN_LEAF rows (a box with no width stays one leaf).  A search visits nodes nearest
 * first and skips one only when its box's lower bound exceeds the k-th best key so far
 * (strictly: a tie may still win on the row index).  The bound is computed with the same
 * rounded double operations, in the same order, as the exact key, from |q - box| <=
 * |q - x| per coordinate; rounding is monotonic, so the bound never exceeds the key of
 * any row in the box, and the search returns exactly what brute force does. */

/* The k-th smallest (k from 0) of perm[lo..hi) by column j of x, moved into place. */
static void knn_tree_select(const float *x, size_t d, int32_t *perm, size_t lo, size_t hi,
                            size_t want, size_t j)
{
    hi--;
    while (lo < hi) {
        float pivot = x[(size_t)perm[lo + (hi - lo) / 2] * d + j];
        size_t a = lo, b = hi;
        for (;;) {
            while (x[(size_t)perm[a] * d + j] < pivot)
                a++;
            while (x[(size_t)perm[b] * d + j] > pivot)
                b--;
            if (a >= b)
                break;
            int32_t t = perm[a];
            perm[a++] = perm[b];
            perm[b--] = t;
        }
        if (want <= b)
            hi = b;
        else
            lo = b + 1;
    }
}

/* Node for perm[start..end); returns its index or -1 when out of memory. */
static int32_t knn_tree_node(knn_index *ix, int32_t *perm, size_t start, size_t end,
                             size_t *cap)
{
    size_t d = ix->dims;
    if (ix->nnodes == *cap) {
        size_t nc = *cap * 2;
        knn_node *n = realloc(ix->nodes, nc * sizeof *n);
        if (!n)
            return -1;
        ix->nodes = n;
        float *b = realloc(ix->box, nc * 2 * d * sizeof *b);
        if (!b)
            return -1;
        ix->box = b;
        *cap = nc;
    }
    int32_t id = (int32_t)ix->nnodes++;
    float *lo = ix->box + (size_t)id * 2 * d, *hi = lo + d;
    for (size_t j = 0; j < d; j++)
        lo[j] = hi[j] = ix->x[(size_t)perm[start] * d + j];
    for (size_t i = start + 1; i < end; i++)
        for (size_t j = 0; j < d; j++) {
            float v = ix->x[(size_t)perm[i] * d + j];
            lo[j] = v < lo[j] ? v : lo[j];
            hi[j] = v > hi[j] ? v : hi[j];
        }
    size_t wj = 0;
    for (size_t j = 1; j < d; j++)
        if ((double)hi[j] - lo[j] > (double)hi[wj] - lo[wj])
            wj = j;
    ix->nodes[id] = (knn_node){-1, -1, (int32_t)start, (int32_t)end};
    if (end - start <= KNN_LEAF || !(hi[wj] > lo[wj]))
        return id;
    size_t mid = start + (end - start) / 2;
    knn_tree_select(ix->x, d, perm, start, end, mid, wj);
    int32_t a = knn_tree_node(ix, perm, start, mid, cap);
    int32_t b = a < 0 ? -1 : knn_tree_node(ix, perm, mid, end, cap);
    if (b < 0)
        return -1;
    ix->nodes[id].lo = a;  /* ix->nodes may have moved: index, never a pointer */
    ix->nodes[id].hi = b;
    return id;
}

static int knn_build_tree(knn_index *ix)
{
    size_t rows = ix->rows, d = ix->dims, cap = 64;
    int32_t *perm = malloc(rows * sizeof *perm);
    ix->nodes = malloc(cap * sizeof *ix->nodes);
    ix->box = malloc(cap * 2 * d * sizeof *ix->box);
    ix->tx = malloc(rows * d * sizeof *ix->tx);
    ix->tid = malloc(rows * sizeof *ix->tid);
    int rc = -1;
    if (!perm || !ix->nodes || !ix->box || !ix->tx || !ix->tid)
        goto out;
    for (size_t i = 0; i < rows; i++)
        perm[i] = (int32_t)i;
    if (knn_tree_node(ix, perm, 0, rows, &cap) < 0)
        goto out;
    for (size_t i = 0; i < rows; i++) {
        ix->tid[i] = perm[i];
        memcpy(ix->tx + i * d, ix->x + (size_t)perm[i] * d, d * sizeof *ix->tx);
    }
    rc = 0;
out:
    free(perm);
    return rc;
}

/* The lower bound of the keys of node n's rows, computed as knn_key computes a key. */
static double knn_tree_bound(const knn_index *ix, const float *q, int32_t n)
{
    size_t d = ix->dims;
    const float *lo = ix->box + (size_t)n * 2 * d, *hi = lo + d;
    double s = 0;
    for (size_t j = 0; j < d; j++) {
        double t = q[j] < lo[j] ? (double)q[j] - (double)lo[j]
                 : q[j] > hi[j] ? (double)q[j] - (double)hi[j] : 0.0;
        s += ix->metric == KNN_MANHATTAN ? fabs(t) : t * t;
    }
    return s;
}

/* One query by the tree into heap[k]; writes its k results. */
static void knn_search_tree(const knn_index *ix, const float *q, int64_t ex, int k,
                            knn_cand *heap, int32_t *oi, float *od)
{
    struct { int32_t node; double bound; } stack[128];
    int sp = 0, n = 0;
    size_t d = ix->dims;
    stack[sp].node = 0;
    stack[sp++].bound = knn_tree_bound(ix, q, 0);
    while (sp > 0) {
        sp--;
        int32_t nd = stack[sp].node;
        if (n == k && stack[sp].bound > heap[0].key)
            continue;
        const knn_node *node = &ix->nodes[nd];
        if (node->lo < 0) {
            for (int32_t i = node->start; i < node->end; i++) {
                if (ix->tid[i] == ex)
                    continue;
                const float *x = ix->tx + (size_t)i * d;
                double key = ix->metric == KNN_MANHATTAN ? knn_key_manhattan(q, x, d)
                                                         : knn_key_euclid(q, x, d);
                knn_heap_offer(heap, &n, k, (knn_cand){key, ix->tid[i]});
            }
            continue;
        }
        double bl = knn_tree_bound(ix, q, node->lo), bh = knn_tree_bound(ix, q, node->hi);
        int32_t near = bl <= bh ? node->lo : node->hi, far = bl <= bh ? node->hi : node->lo;
        if (sp + 2 > (int)(sizeof stack / sizeof *stack)) {  /* never at 2^31 rows */
            knn_search_brute(ix, q, ex, k, heap, oi, od);
            return;
        }
        stack[sp].node = far;
        stack[sp++].bound = bl <= bh ? bh : bl;
        stack[sp].node = near;
        stack[sp++].bound = bl <= bh ? bl : bh;
    }
    knn_heap_sort(heap, n);
    knn_emit(ix->metric, heap, n, k, oi, od);
}

/* Row r as the fast path sees it, into out[ix->ka]: Euclidean [x-mu, |x-mu|^2],
 * cosine x/|x| (zero stays zero), Manhattan x.  Returns |x-mu|^2 (Euclidean). */
static double knn_prep_row(const knn_index *ix, size_t r, float *out)
{
    const float *x = ix->x + r * ix->dims;
    size_t d = ix->dims;
    if (ix->metric == KNN_EUCLIDEAN) {
        for (size_t j = 0; j < d; j++)
            out[j] = x[j] - ix->mu[j];
        double n2 = knn_sqnorm(out, d);
        out[d] = (float)n2;
        return n2;
    }
    if (ix->metric == KNN_COSINE) {
        double n = sqrt(ix->xn2[r]);
        for (size_t j = 0; j < d; j++)
            out[j] = n > 0 ? (float)((double)x[j] / n) : 0.0f;
        return 0;
    }
    memcpy(out, x, d * sizeof *out);
    return 0;
}

/* The fast path's copy of the rows: row-major xa (KNN_GEMM) or panels xp. */
static int knn_build_fast(knn_index *ix)
{
    size_t rows = ix->rows, d = ix->dims;
    ix->ka = ix->metric == KNN_EUCLIDEAN ? d + 1 : d;
    if (ix->metric == KNN_EUCLIDEAN) {
        double *sum = calloc(d, sizeof *sum);
        if (!(ix->mu = malloc(d * sizeof *ix->mu)) || !sum) {
            free(sum);
            return -1;
        }
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < d; j++)
                sum[j] += ix->x[r * d + j];
        for (size_t j = 0; j < d; j++)
            ix->mu[j] = (float)(sum[j] / (double)rows);
        free(sum);
    }
    float *row = malloc(ix->ka * sizeof *row);
    if (!row)
        return -1;
    size_t np = (rows + KNN_PANEL - 1) / KNN_PANEL;
    if (ix->method == KNN_GEMM)
        ix->xa = malloc(rows * ix->ka * sizeof *ix->xa);
    else
        ix->xp = calloc(np * ix->ka * KNN_PANEL, sizeof *ix->xp);
    if (!ix->xa && !ix->xp) {
        free(row);
        return -1;
    }
    double maxn2 = 0;
    for (size_t r = 0; r < rows; r++) {
        double n2 = knn_prep_row(ix, r, row);
        if (n2 > maxn2)
            maxn2 = n2;
        if (ix->xa)
            memcpy(ix->xa + r * ix->ka, row, ix->ka * sizeof *row);
        else
            for (size_t j = 0; j < ix->ka; j++)
                ix->xp[((r / KNN_PANEL) * ix->ka + j) * KNN_PANEL + r % KNN_PANEL] = row[j];
    }
    free(row);
    ix->maxnorm = sqrt(maxn2);
    return 0;
}

mlwb_status knn_index_build(const float *x, size_t rows, size_t dims, knn_metric metric,
                            knn_index **out, char **err)
{
    *out = NULL;
    if (rows < 1 || dims < 1)
        return err_set(err, MLWB_ERR_INVALID,
                       "knn index: %zu rows x %zu columns: need at least one of each", rows, dims);
    if (rows > INT32_MAX - KNN_PANEL)
        return err_set(err, MLWB_ERR_INVALID, "knn index: %zu rows: at most %d are supported",
                       rows, INT32_MAX - KNN_PANEL);
    if (metric != KNN_EUCLIDEAN && metric != KNN_MANHATTAN && metric != KNN_COSINE)
        return err_set(err, MLWB_ERR_INVALID, "knn index: unknown metric %d", (int)metric);
    if (rows > SIZE_MAX / sizeof(float) / (dims + KNN_PANEL) / 4)
        return err_set(err, MLWB_ERR_NOMEM, "knn index: %zu x %zu rows do not fit in memory",
                       rows, dims);
    pthread_once(&knn_blas_once, knn_blas_init);
    knn_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        goto nomem;
    ix->rows = rows;
    ix->dims = dims;
    ix->metric = metric;
    if (!(ix->x = malloc(rows * dims * sizeof(float))))
        goto nomem;
    memcpy(ix->x, x, rows * dims * sizeof(float));
    if (metric == KNN_COSINE) {
        if (!(ix->xn2 = malloc(rows * sizeof(double))))
            goto nomem;
        for (size_t r = 0; r < rows; r++)
            ix->xn2[r] = knn_sqnorm(ix->x + r * dims, dims);
    }
    ix->method = KNN_BRUTE;
    if (rows >= KNN_MIN_FAST && knn_all_finite(ix->x, rows * dims, (float)KNN_BIG)) {
        ix->method = knn_choose(ix);
        if (ix->method == KNN_TREE ? knn_build_tree(ix)
                                   : ix->method != KNN_BRUTE && knn_build_fast(ix))
            goto nomem;
        if (!(ix->maxnorm <= KNN_BIG))
            ix->method = KNN_BRUTE;
    }
    *out = ix;
    return MLWB_OK;
nomem:
    knn_index_free(&ix);
    return err_set(err, MLWB_ERR_NOMEM, "knn index: cannot copy %zu x %zu rows: out of memory",
                   rows, dims);
}

void knn_index_free(knn_index **pix)
{
    knn_index *ix = *pix;
    *pix = NULL;
    if (!ix)
        return;
    free(ix->x);
    free(ix->xn2);
    free(ix->xa);
    free(ix->mu);
    free(ix->xp);
    free(ix->nodes);
    free(ix->box);
    free(ix->tx);
    free(ix->tid);
    free(ix);
}

size_t knn_index_rows(const knn_index *ix) { return ix->rows; }
size_t knn_index_dims(const knn_index *ix) { return ix->dims; }
knn_metric knn_index_metric(const knn_index *ix) { return ix->metric; }
const float *knn_index_row(const knn_index *ix, size_t i) { return ix->x + i * ix->dims; }

/* --- candidate buffers ------------------------------------------------------------- */

/* One query's candidates: every row seen so far whose value is <= thr, and a max-heap
 * of the k smallest values seen, whose top v_k gives thr = v_k * mul + add. */
typedef struct knn_qbuf {
    float *val;
    int32_t *row;
    size_t n, cap;
    float *top;       /* k: max-heap of the smallest values */
    int ntop;
    float thr;
    double mul, add;  /* thr = v_k * mul + add, rounded up */
    int64_t ex;       /* row to leave out, or -1 */
    int brute;        /* this query takes the brute-force path */
} knn_qbuf;

typedef struct knn_scratch {
    size_t nqb;       /* queries per block this scratch serves (<= KNN_QB) */
    float *qa;        /* (nqb rounded up to 4) * ka, the prepared queries */
    float *c;         /* KNN_GEMM: nqb * KNN_RB */
    knn_qbuf qb[KNN_QB];
    knn_cand *heap;   /* k */
} knn_scratch;

/* v replaces the top of the max-heap h[0..n). */
static void knn_top_replace(float *h, int n, float v)
{
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && h[c] < h[c + 1])
            c++;
        if (!(v < h[c]))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = v;
}

static void knn_top_insert(float *h, int *n, float v)
{
    int i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] < v) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

/* thr from the k-th smallest value, rounded up to a float. */
static void knn_set_thr(knn_qbuf *qb)
{
    double t = (double)qb->top[0] * qb->mul + qb->add;
    float thr = (float)t;
    if ((double)thr < t)
        thr = nextafterf(thr, INFINITY);
    if (thr < qb->thr)
        qb->thr = thr;
}

/* Keep only the candidates at most thr. */
static void knn_compact(knn_qbuf *qb)
{
    size_t m = 0;
    for (size_t i = 0; i < qb->n; i++)
        if (qb->val[i] <= qb->thr) {
            qb->val[m] = qb->val[i];
            qb->row[m++] = qb->row[i];
        }
    qb->n = m;
}

/* Add (v, row) to qb if it passes the threshold.  -1 when out of memory. */
static int knn_push(knn_qbuf *qb, int k, float v, int32_t row)
{
    if (!(v <= qb->thr) || row == qb->ex)
        return 0;
    if (qb->ntop < k) {
        knn_top_insert(qb->top, &qb->ntop, v);
        if (qb->ntop == k)
            knn_set_thr(qb);
    } else if (v < qb->top[0]) {
        knn_top_replace(qb->top, k, v);
        knn_set_thr(qb);
    }
    if (!(v <= qb->thr))
        return 0;
    if (qb->n == qb->cap) {
        knn_compact(qb);
        if (qb->n > qb->cap / 2) {
            size_t cap = qb->cap * 2;
            float *nv = realloc(qb->val, cap * sizeof *nv);
            if (!nv)
                return -1;
            qb->val = nv;
            int32_t *nr = realloc(qb->row, cap * sizeof *nr);
            if (!nr)
                return -1;
            qb->row = nr;
            qb->cap = cap;
        }
    }
    qb->val[qb->n] = v;
    qb->row[qb->n++] = row;
    return 0;
}

/* The exact re-ranking of qb's survivors; writes the query's k results. */
static void knn_finish(const knn_index *ix, knn_scratch *s, knn_qbuf *qb, const float *q,
                       int k, int32_t *oi, float *od)
{
    knn_compact(qb);
    double qn2 = ix->metric == KNN_COSINE ? knn_sqnorm(q, ix->dims) : 0;
    int n = 0;
    for (size_t i = 0; i < qb->n; i++)
        knn_heap_offer(s->heap, &n, k,
                       (knn_cand){knn_key(ix, q, qn2, (size_t)qb->row[i]), qb->row[i]});
    knn_heap_sort(s->heap, n);
    knn_emit(ix->metric, s->heap, n, k, oi, od);
}

static void knn_scratch_free(knn_scratch *s)
{
    if (!s)
        return;
    for (int i = 0; i < KNN_QB; i++) {
        free(s->qb[i].val);
        free(s->qb[i].row);
        free(s->qb[i].top);
    }
    free(s->qa);
    free(s->c);
    free(s->heap);
    free(s);
}

/* Scratch for blocks of up to nqb queries. */
static knn_scratch *knn_scratch_new(const knn_index *ix, int k, size_t nqb)
{
    knn_scratch *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->nqb = nqb;
    size_t cap = (size_t)k * 2 < 64 ? 64 : (size_t)k * 2;
    int ok = (s->heap = malloc((size_t)k * sizeof *s->heap)) != NULL;
    int fast = ix->method != KNN_BRUTE && ix->method != KNN_TREE;
    if (fast)
        ok = ok && (s->qa = calloc((nqb + 3) / 4 * 4 * (ix->ka ? ix->ka : 1), sizeof *s->qa));
    if (ix->method == KNN_GEMM)
        ok = ok && (s->c = malloc(nqb * KNN_RB * sizeof *s->c));
    if (fast)
        for (size_t i = 0; ok && i < nqb; i++) {
            s->qb[i].cap = cap;
            ok = (s->qb[i].val = malloc(cap * sizeof(float))) &&
                 (s->qb[i].row = malloc(cap * sizeof(int32_t))) &&
                 (s->qb[i].top = malloc((size_t)k * sizeof(float)));
        }
    if (!ok) {
        knn_scratch_free(s);
        return NULL;
    }
    return s;
}

/* A thread's last one-block scratch, kept for its next search of the same shape: the
 * HTTP threads predict one row at a time, and making and freeing the scratch (calloc
 * of ~5 KiB and the candidate buffers) was a fifth of a prediction's cost. */
typedef struct knn_cached {
    knn_scratch *s;
    int method, k;
    size_t ka, nqb;
} knn_cached;

static pthread_key_t knn_tls;
static pthread_once_t knn_tls_once = PTHREAD_ONCE_INIT;
static int knn_tls_ok;

static void knn_cached_free(void *p)
{
    knn_cached *c = p;
    knn_scratch_free(c->s);
    free(c);
}

static void knn_tls_init(void)
{
    knn_tls_ok = pthread_key_create(&knn_tls, knn_cached_free) == 0;
}

/* Take the thread's cached scratch when it fits (ix, k, nqb), else NULL. */
static knn_scratch *knn_cache_take(const knn_index *ix, int k, size_t nqb)
{
    pthread_once(&knn_tls_once, knn_tls_init);
    knn_cached *c = knn_tls_ok ? pthread_getspecific(knn_tls) : NULL;
    if (!c || !c->s || c->method != (int)ix->method || c->k != k || c->ka != ix->ka ||
        c->nqb != nqb)
        return NULL;
    knn_scratch *s = c->s;
    c->s = NULL;
    return s;
}

/* Give s back to the thread's cache (freeing what it held before). */
static void knn_cache_put(const knn_index *ix, int k, size_t nqb, knn_scratch *s)
{
    knn_cached *c = knn_tls_ok ? pthread_getspecific(knn_tls) : NULL;
    if (knn_tls_ok && !c && (c = calloc(1, sizeof *c)) && pthread_setspecific(knn_tls, c) != 0) {
        free(c);
        c = NULL;
    }
    if (!c) {
        knn_scratch_free(s);
        return;
    }
    knn_scratch_free(c->s);
    *c = (knn_cached){s, (int)ix->method, k, ix->ka, nqb};
}

/* --- search ------------------------------------------------------------------------ */

typedef struct knn_job {
    const knn_index *ix;
    const float *q;
    size_t nq;
    int k;
    const int64_t *exclude;
    int32_t *idx;
    float *dist;
    int nthreads;
    knn_scratch **scr;  /* per thread, made on first use by that thread */
    atomic_int failed;
} knn_job;

/* Set up the buffers and the prepared queries s->qa for queries [q0, q0+nb):
 * Euclidean [-2(q-mu), 1], cosine -q/|q|, Manhattan q; the error terms of the
 * threshold; brute force for a query with values that are not finite or too large. */
static void knn_prepare(const knn_job *jb, knn_scratch *s, size_t q0, size_t nb)
{
    const knn_index *ix = jb->ix;
    size_t d = ix->dims, ka = ix->ka;
    double K = ix->metric == KNN_EUCLIDEAN ? (double)d + 1 : (double)d;
    double e_rel = (2 * K + 16) * KNN_U, e_abs = (2 * K + 16) * (double)FLT_MIN;
    for (size_t i = 0; i < (nb + 3) / 4 * 4; i++) {
        float *a = s->qa + i * ka;
        if (i >= nb) {  /* padding of the last group of 4 */
            memset(a, 0, ka * sizeof *a);
            continue;
        }
        const float *q = jb->q + (q0 + i) * d;
        knn_qbuf *qb = &s->qb[i];
        qb->n = 0;
        qb->ntop = 0;
        qb->thr = INFINITY;
        qb->ex = jb->exclude ? jb->exclude[q0 + i] : -1;
        qb->brute = !knn_all_finite(q, d, (float)KNN_BIG);
        qb->mul = 1;
        if (qb->brute) {
            memset(a, 0, ka * sizeof *a);
        } else if (ix->metric == KNN_EUCLIDEAN) {
            for (size_t j = 0; j < d; j++)
                a[j] = -2.0f * (q[j] - ix->mu[j]);
            a[d] = 1.0f;
            double S = sqrt(knn_sqnorm(a, d)) / 2 + ix->maxnorm;
            qb->add = 2 * (e_rel * S * S + e_abs);
        } else if (ix->metric == KNN_COSINE) {
            double n = sqrt(knn_sqnorm(q, d));
            for (size_t j = 0; j < d; j++)
                a[j] = n > 0 ? (float)(-(double)q[j] / n) : 0.0f;
            qb->add = 2 * (e_rel * 4 + e_abs);
        } else {
            double rho = (2 * (double)d + 16) * KNN_U;
            memcpy(a, q, d * sizeof *a);
            qb->mul = (1 + rho) / (1 - rho);
            qb->add = 2 * e_abs;
        }
    }
}

/* KNN_GEMM: queries of the block against blocks of KNN_RB rows by sgemm (sgemv for a
 * single query). */
static int knn_block_gemm(const knn_job *jb, knn_scratch *s, size_t nb)
{
    const knn_index *ix = jb->ix;
    size_t ka = ix->ka;
    for (size_t r0 = 0; r0 < ix->rows; r0 += KNN_RB) {
        size_t rb = ix->rows - r0 < KNN_RB ? ix->rows - r0 : KNN_RB;
        if (nb == 1)  /* one query: sgemv streams the rows without packing them */
            blas_sgemv(rb, ka, ix->xa + r0 * ka, ka, s->qa, s->c);
        else
            blas_sgemm_nt(nb, rb, ka, s->qa, ka, ix->xa + r0 * ka, ka, s->c, rb);
        for (size_t i = 0; i < nb; i++) {
            knn_qbuf *qb = &s->qb[i];
            if (qb->brute)
                continue;
            const float *c = s->c + i * rb;
            for (size_t r = 0; r < rb; r++)
                if (c[r] <= qb->thr && knn_push(qb, jb->k, c[r], (int32_t)(r0 + r)))
                    return -1;
        }
    }
    return 0;
}

/* Offer the values v[l] of panel p whose bit l is set in `mask` to qb. */
static int knn_offer(const knn_job *jb, knn_qbuf *qb, const float *v, size_t p, unsigned mask)
{
    size_t r = p * KNN_PANEL;
    while (mask) {
        int l = __builtin_ctz(mask);
        mask &= mask - 1;
        if (r + (size_t)l < jb->ix->rows && knn_push(qb, jb->k, v[l], (int32_t)(r + (size_t)l)))
            return -1;
    }
    return 0;
}

/* KNN_L1: Manhattan over the panels, every query of the block visiting a run of panels
 * while it is in cache.  The inner loop runs across the 8 rows of a panel, so it
 * vectorises without reordering any row's sum.  Inlined twice: plain and AVX2. */
static inline __attribute__((always_inline)) int knn_l1_body(const knn_job *jb, knn_scratch *s,
                                                             size_t nb)
{
    const knn_index *ix = jb->ix;
    size_t d = ix->dims, np = (ix->rows + KNN_PANEL - 1) / KNN_PANEL;
    for (size_t p0 = 0; p0 < np; p0 += KNN_PB) {
        size_t p1 = np - p0 < KNN_PB ? np : p0 + KNN_PB;
        for (size_t i = 0; i < nb; i++) {
            knn_qbuf *qb = &s->qb[i];
            if (qb->brute)
                continue;
            const float *q = s->qa + i * ix->ka;
            for (size_t p = p0; p < p1; p++) {
                const float *xp = ix->xp + p * d * KNN_PANEL;
                float acc[KNN_PANEL] = {0};
                for (size_t j = 0; j < d; j++) {
                    float qj = q[j];
                    for (int l = 0; l < KNN_PANEL; l++)
                        acc[l] += fabsf(qj - xp[j * KNN_PANEL + l]);
                }
                unsigned mask = 0;
                for (int l = 0; l < KNN_PANEL; l++)
                    mask |= (unsigned)(acc[l] <= qb->thr) << l;
                if (mask && knn_offer(jb, qb, acc, p, mask))
                    return -1;
            }
        }
    }
    return 0;
}

static int knn_block_l1(const knn_job *jb, knn_scratch *s, size_t nb)
{
    return knn_l1_body(jb, s, nb);
}

#if KNN_HAVE_AVX2
__attribute__((target("avx2,fma"))) static int knn_block_l1_avx2(const knn_job *jb,
                                                                  knn_scratch *s, size_t nb)
{
    return knn_l1_body(jb, s, nb);
}

/* KNN_FMA: tiles of NQ queries x NP panels in registers; value = init + sum_j a_j x_j
 * over the first `dims` panel rows (init: the norms row for Euclidean, 0 for cosine),
 * compared with each query's threshold at once.  knn_run_NQxNP does the tiles for the
 * queries g .. g+NQ-1 of the block and panels *pp, *pp+NP, ... below pend, advancing *pp
 * past the last whole tile. */
#define KNN_TILE(NQ, NP)                                                                     \
    __attribute__((target("avx2,fma"))) static int knn_run_##NQ##x##NP(                      \
        const knn_job *jb, knn_scratch *s, size_t g, size_t nb, size_t *pp, size_t pend)     \
    {                                                                                        \
        const knn_index *ix = jb->ix;                                                        \
        size_t d = ix->dims, ka = ix->ka, ps = ka * KNN_PANEL;                               \
        const float *a = s->qa + g * ka;                                                     \
        int euclid = ix->metric == KNN_EUCLIDEAN;                                            \
        size_t p = *pp;                                                                      \
        for (; p + NP <= pend; p += NP) {                                                    \
            const float *xp = ix->xp + p * ps;                                               \
            __m256 acc[NQ][NP];                                                              \
            _Pragma("GCC unroll 4") for (int pi = 0; pi < NP; pi++)                          \
            {                                                                                \
                __m256 init = euclid ? _mm256_loadu_ps(xp + (size_t)pi * ps + d * KNN_PANEL) \
                                     : _mm256_setzero_ps();                                  \
                _Pragma("GCC unroll 4") for (int qi = 0; qi < NQ; qi++) acc[qi][pi] = init;  \
            }                                                                                \
            for (size_t j = 0; j < d; j++) {                                                 \
                __m256 x[NP];                                                                \
                _Pragma("GCC unroll 4") for (int pi = 0; pi < NP; pi++)                      \
                    x[pi] = _mm256_loadu_ps(xp + (size_t)pi * ps + j * KNN_PANEL);           \
                _Pragma("GCC unroll 4") for (int qi = 0; qi < NQ; qi++)                      \
                {                                                                            \
                    __m256 b = _mm256_broadcast_ss(a + (size_t)qi * ka + j);                 \
                    _Pragma("GCC unroll 4") for (int pi = 0; pi < NP; pi++)                  \
                        acc[qi][pi] = _mm256_fmadd_ps(b, x[pi], acc[qi][pi]);                \
                }                                                                            \
            }                                                                                \
            _Pragma("GCC unroll 4") for (int qi = 0; qi < NQ; qi++)                          \
            {                                                                                \
                if (g + (size_t)qi >= nb)                                                    \
                    break;                                                                   \
                knn_qbuf *qb = &s->qb[g + (size_t)qi];                                       \
                __m256 t = _mm256_set1_ps(qb->thr);                                          \
                __m256 hit = _mm256_cmp_ps(acc[qi][0], t, _CMP_LE_OQ);                       \
                _Pragma("GCC unroll 4") for (int pi = 1; pi < NP; pi++)                      \
                    hit = _mm256_or_ps(hit, _mm256_cmp_ps(acc[qi][pi], t, _CMP_LE_OQ));      \
                if (!_mm256_movemask_ps(hit) || qb->brute)                                   \
                    continue;                                                                \
                _Pragma("GCC unroll 4") for (int pi = 0; pi < NP; pi++)                      \
                {                                                                            \
                    float v[KNN_PANEL];                                                      \
                    _mm256_storeu_ps(v, acc[qi][pi]);                                        \
                    unsigned m = (unsigned)_mm256_movemask_ps(                               \
                        _mm256_cmp_ps(acc[qi][pi], t, _CMP_LE_OQ));                          \
                    if (m && knn_offer(jb, qb, v, p + (size_t)pi, m))                        \
                        return -1;                                                           \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
        *pp = p;                                                                             \
        return 0;                                                                            \
    }

KNN_TILE(4, 3)
KNN_TILE(4, 1)
KNN_TILE(1, 4)
KNN_TILE(1, 1)

static int knn_block_fma(const knn_job *jb, knn_scratch *s, size_t nb)
{
    size_t np = (jb->ix->rows + KNN_PANEL - 1) / KNN_PANEL;
    for (size_t p0 = 0; p0 < np; p0 += KNN_PB) {
        size_t p1 = np - p0 < KNN_PB ? np : p0 + KNN_PB;
        for (size_t g = 0; g < nb; g += 4) {
            size_t p = p0;
            int rc = nb == 1 ? knn_run_1x4(jb, s, g, nb, &p, p1) || knn_run_1x1(jb, s, g, nb, &p, p1)
                             : knn_run_4x3(jb, s, g, nb, &p, p1) || knn_run_4x1(jb, s, g, nb, &p, p1);
            if (rc)
                return -1;
        }
    }
    return 0;
}
#endif

/* par_for item b: queries [b*KNN_QB, ...). */
static void knn_search_cb(void *arg, size_t b, int tid)
{
    knn_job *jb = arg;
    const knn_index *ix = jb->ix;
    size_t nqb = jb->nq < KNN_QB ? jb->nq : KNN_QB;
    knn_scratch *s = tid < jb->nthreads ? jb->scr[tid] : NULL, *own = NULL;
    if (!s) {
        s = knn_scratch_new(ix, jb->k, nqb);
        if (!s) {
            atomic_store(&jb->failed, 1);
            return;
        }
        if (tid < jb->nthreads)
            jb->scr[tid] = s;
        else
            own = s;  /* the thread count changed under us: private scratch */
    }
    size_t q0 = b * KNN_QB, nb = jb->nq - q0 < KNN_QB ? jb->nq - q0 : KNN_QB;
    size_t k = (size_t)jb->k;
    int rc = 0;
    if (ix->method == KNN_BRUTE || ix->method == KNN_TREE) {
        for (size_t i = q0; i < q0 + nb; i++) {
            const float *q = jb->q + i * ix->dims;
            int64_t ex = jb->exclude ? jb->exclude[i] : -1;
            if (ix->method == KNN_TREE && knn_all_finite(q, ix->dims, (float)KNN_BIG))
                knn_search_tree(ix, q, ex, jb->k, s->heap, jb->idx + i * k, jb->dist + i * k);
            else
                knn_search_brute(ix, q, ex, jb->k, s->heap, jb->idx + i * k, jb->dist + i * k);
        }
        goto out;
    }
    knn_prepare(jb, s, q0, nb);
    switch (ix->method) {
    case KNN_GEMM:
        rc = knn_block_gemm(jb, s, nb);
        break;
#if KNN_HAVE_AVX2
    case KNN_FMA:
        rc = knn_block_fma(jb, s, nb);
        break;
#endif
    default:
#if KNN_HAVE_AVX2
        if (ix->avx2) {
            rc = knn_block_l1_avx2(jb, s, nb);
            break;
        }
#endif
        rc = knn_block_l1(jb, s, nb);
        break;
    }
    for (size_t i = 0; !rc && i < nb; i++) {
        const float *q = jb->q + (q0 + i) * ix->dims;
        if (s->qb[i].brute)
            knn_search_brute(ix, q, s->qb[i].ex, jb->k, s->heap, jb->idx + (q0 + i) * k,
                             jb->dist + (q0 + i) * k);
        else
            knn_finish(ix, s, &s->qb[i], q, jb->k, jb->idx + (q0 + i) * k,
                       jb->dist + (q0 + i) * k);
    }
    if (rc)
        atomic_store(&jb->failed, 1);
out:
    knn_scratch_free(own);
}

mlwb_status knn_index_search(const knn_index *ix, const float *q, size_t nq, int k,
                             const int64_t *exclude, int32_t *idx, float *dist, char **err)
{
    if (k < 1 || (size_t)k > ix->rows)
        return err_set(err, MLWB_ERR_INVALID, "knn search: k=%d: need 1 .. %zu", k, ix->rows);
    if (nq == 0)
        return MLWB_OK;
    knn_job jb = {.ix = ix, .q = q, .nq = nq, .k = k, .exclude = exclude, .idx = idx,
                  .dist = dist};
    atomic_init(&jb.failed, 0);
    size_t blocks = (nq + KNN_QB - 1) / KNN_QB;
    jb.nthreads = blocks == 1 ? 1 : par_threads();  /* one block (a request): this thread */
    knn_scratch *one[1] = {NULL};
    jb.scr = jb.nthreads == 1 ? one : calloc((size_t)jb.nthreads, sizeof *jb.scr);
    if (!jb.scr)
        return err_set(err, MLWB_ERR_NOMEM, "knn search: out of memory");
    if (blocks == 1) {
        one[0] = knn_cache_take(ix, k, nq);
        knn_search_cb(&jb, 0, 0);
        if (one[0] && !atomic_load(&jb.failed)) {
            knn_cache_put(ix, k, nq, one[0]);
            one[0] = NULL;
        }
    } else {
        par_for(blocks, knn_search_cb, &jb);
    }
    for (int t = 0; t < jb.nthreads; t++)
        knn_scratch_free(jb.scr[t]);
    if (jb.scr != one)
        free(jb.scr);
    if (atomic_load(&jb.failed))
        return err_set(err, MLWB_ERR_NOMEM, "knn search: out of memory for k=%d", k);
    return MLWB_OK;
}
