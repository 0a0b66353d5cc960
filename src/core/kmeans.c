/*
 * kmeans.c — k-means++ and Lloyd's iterations with Hamerly's bounds (see kmeans.h).
 *
 * Design: one restart is a km_run.  Every O(n) pass runs with par_for over work items
 * whose bounds depend on the data alone, and every figure a pass adds up is added in an
 * order fixed by the data, never by the thread that took an item:
 * - assignment (the O(n k d) step), over blocks of KM_ABLOCK rows: each row writes only
 *   its own label and bounds, and counts its label change into its thread's slot
 *   (integers: the total is exact);
 * - centre update, over groups of KM_COLS columns: each item streams all rows in row
 *   order and adds each to its cluster's sums in a cache-line-aligned block of its own,
 *   the very additions of one serial pass.  Empty clusters are re-seeded afterwards on
 *   the calling thread;
 * - k-means++, over chunks of KM_CHUNK rows: one pass evaluates every candidate's
 *   potential (each row read once; rows a candidate provably cannot take are not
 *   measured), a second moves the rows the chosen one takes; potentials are summed per
 *   chunk in row order, then chunk by chunk, and the draws search those sums.  Its last
 *   state (each row's nearest centre and distance) is the first Lloyd assignment;
 * - inertia: per chunk in row order, then chunk by chunk.
 * The distance kernels come in two builds with the same arithmetic, picked at run time:
 * baseline x86-64, and AVX2 (the four partial sums of kmeans.h are the four lanes of one
 * register, and four distances are reduced together; no FMA, which would round
 * differently), so both give the same bits.  MLWB_KM_KERNEL=scalar forces the baseline.
 * Per-thread scratch rows sit on cache lines of their own.
 */
#include "mlwb/core/kmeans.h"

#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlwb/core/parfor.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define KM_HAVE_AVX2 1
#include <immintrin.h>
#define KM_AVX2 __attribute__((target("avx2")))
#else
#define KM_HAVE_AVX2 0
#endif

#define KM_SLACK 1e-9  /* relative slack of the bound tests */
#define KM_CHUNK 4096  /* rows per chunk: k-means++ potentials and draws, inertia */
#define KM_ABLOCK 512  /* rows per work item of the assignment */
#define KM_COLS 8      /* columns per work item of the centre sums */
#define KM_MAX_TRIALS 64
#define KM_INLINE static inline __attribute__((always_inline))

/* A squared distance between two rows in double (see km_d2), four of them at once (d a
 * multiple of 4; or NULL), and a float row converted to double (exactly). */
typedef double (*km_dist_fn)(const double *a, const double *b, size_t d);
typedef void (*km_dist4_fn)(const double *a, const double *b0, const double *b1,
                            const double *b2, const double *b3, size_t d, double *out);
typedef void (*km_cvt_fn)(double *xd, const float *x, size_t d);

/* Squared distance in double, summed in four interleaved partial sums (column j goes to
 * sum j mod 4, the columns after the last full group of four to the first; then
 * (s0 + s1) + (s2 + s3)).  kmeans.h's "distances in double" means exactly this.  Float
 * rows are converted to double first, which is exact. */
static double km_d2(const double *a, const double *b, size_t d)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t j = 0;
    for (; j + 4 <= d; j += 4) {
        double t0 = a[j] - b[j], t1 = a[j + 1] - b[j + 1];
        double t2 = a[j + 2] - b[j + 2], t3 = a[j + 3] - b[j + 3];
        s0 += t0 * t0;
        s1 += t1 * t1;
        s2 += t2 * t2;
        s3 += t3 * t3;
    }
    for (; j < d; j++) {
        double t = a[j] - b[j];
        s0 += t * t;
    }
    return (s0 + s1) + (s2 + s3);
}

#if KM_HAVE_AVX2
/* km_d2 with the partial sums s0..s3 in the lanes of one register: the same operations
 * in the same order, so the same result. */
KM_AVX2 static inline double km_d2_avx2(const double *a, const double *b, size_t d)
{
    __m256d acc = _mm256_setzero_pd();
    size_t j = 0;
    for (; j + 4 <= d; j += 4) {
        __m256d t = _mm256_sub_pd(_mm256_loadu_pd(a + j), _mm256_loadu_pd(b + j));
        acc = _mm256_add_pd(acc, _mm256_mul_pd(t, t));
    }
    if (j == d) { /* (s0 + s1, s2 + s3), then their sum */
        __m128d h = _mm_hadd_pd(_mm256_castpd256_pd128(acc), _mm256_extractf128_pd(acc, 1));
        return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
    }
    double s[4];
    _mm256_storeu_pd(s, acc);
    for (; j < d; j++) {
        double t = a[j] - b[j];
        s[0] += t * t;
    }
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* km_d2 of a against four rows at once (d a multiple of 4): the four partial-sum
 * registers are reduced together, (s0 + s1) + (s2 + s3) for each, into out[0..3]. */
KM_AVX2 static inline void km_d2x4_avx2(const double *a, const double *b0, const double *b1,
                                        const double *b2, const double *b3, size_t d,
                                        double *out)
{
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t j = 0; j < d; j += 4) {
        __m256d x = _mm256_loadu_pd(a + j);
        __m256d t0 = _mm256_sub_pd(x, _mm256_loadu_pd(b0 + j));
        __m256d t1 = _mm256_sub_pd(x, _mm256_loadu_pd(b1 + j));
        __m256d t2 = _mm256_sub_pd(x, _mm256_loadu_pd(b2 + j));
        __m256d t3 = _mm256_sub_pd(x, _mm256_loadu_pd(b3 + j));
        a0 = _mm256_add_pd(a0, _mm256_mul_pd(t0, t0));
        a1 = _mm256_add_pd(a1, _mm256_mul_pd(t1, t1));
        a2 = _mm256_add_pd(a2, _mm256_mul_pd(t2, t2));
        a3 = _mm256_add_pd(a3, _mm256_mul_pd(t3, t3));
    }
    /* h01 = (a0.s0+s1, a1.s0+s1, a0.s2+s3, a1.s2+s3), h23 likewise */
    __m256d h01 = _mm256_hadd_pd(a0, a1), h23 = _mm256_hadd_pd(a2, a3);
    __m256d lo = _mm256_permute2f128_pd(h01, h23, 0x20);
    __m256d hi = _mm256_permute2f128_pd(h01, h23, 0x31);
    _mm256_storeu_pd(out, _mm256_add_pd(lo, hi));
}
#endif

/* The same sum for a float row and double centre (rare paths: re-seeding). */
static double km_dist2(const float *x, const double *c, size_t d)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t j = 0;
    for (; j + 4 <= d; j += 4) {
        double t0 = (double)x[j] - c[j], t1 = (double)x[j + 1] - c[j + 1];
        double t2 = (double)x[j + 2] - c[j + 2], t3 = (double)x[j + 3] - c[j + 3];
        s0 += t0 * t0;
        s1 += t1 * t1;
        s2 += t2 * t2;
        s3 += t3 * t3;
    }
    for (; j < d; j++) {
        double t = (double)x[j] - c[j];
        s0 += t * t;
    }
    return (s0 + s1) + (s2 + s3);
}

static double km_dist2ff(const float *a, const float *b, size_t d)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t j = 0;
    for (; j + 4 <= d; j += 4) {
        double t0 = (double)a[j] - b[j], t1 = (double)a[j + 1] - b[j + 1];
        double t2 = (double)a[j + 2] - b[j + 2], t3 = (double)a[j + 3] - b[j + 3];
        s0 += t0 * t0;
        s1 += t1 * t1;
        s2 += t2 * t2;
        s3 += t3 * t3;
    }
    for (; j < d; j++) {
        double t = (double)a[j] - b[j];
        s0 += t * t;
    }
    return (s0 + s1) + (s2 + s3);
}

static double km_dist2dd(const double *a, const double *b, size_t d)
{
    double s = 0;
    for (size_t j = 0; j < d; j++) {
        double t = a[j] - b[j];
        s += t * t;
    }
    return s;
}

static int km_use_avx2(void)
{
#if KM_HAVE_AVX2
    const char *env = getenv("MLWB_KM_KERNEL");
    if (env && strcmp(env, "scalar") == 0)
        return 0;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

static void km_to_double(double *xd, const float *x, size_t d)
{
    for (size_t j = 0; j < d; j++)
        xd[j] = x[j];
}

#if KM_HAVE_AVX2
/* Four at a time, so that km_d2_avx2's loads of xd are served from these stores. */
KM_AVX2 static inline void km_to_double_avx2(double *xd, const float *x, size_t d)
{
    size_t j = 0;
    for (; j + 4 <= d; j += 4)
        _mm256_storeu_pd(xd + j, _mm256_cvtps_pd(_mm_loadu_ps(x + j)));
    for (; j < d; j++)
        xd[j] = x[j];
}
#endif

void km_predict(const float *centroids, size_t k, size_t d, const float *x,
                int32_t *cluster, double *distance)
{
    size_t best = 0;
    double bd = INFINITY;
    for (size_t j = 0; j < k; j++) {
        double t = km_dist2ff(x, centroids + j * d, d);
        if (t < bd || j == 0) {
            bd = t;
            best = j;
        }
    }
    if (cluster)
        *cluster = (int32_t)best;
    if (distance)
        *distance = sqrt(bd);
}

void km_result_clear(km_result *r)
{
    if (!r)
        return;
    free(r->centroids);
    free(r->labels);
    memset(r, 0, sizeof *r);
}

/* --- one restart ----------------------------------------------------------------- */

typedef struct km_run {
    const float *x;
    size_t n, d, k;
    int avx2;        /* use the AVX2 kernels */
    double *c;       /* k * d current centres */
    double *sum;     /* k * d */
    size_t *count;   /* k */
    double *move;    /* k: distance each centre moved in the last update */
    double *s;       /* k: distance to the nearest other centre */
    size_t m1;       /* the centre that moved most */
    double mv1, mv2; /* the largest and second largest move */
    int32_t *lab;    /* n */
    double *u, *l;   /* n: upper bound to own centre, lower bound to any other */
    size_t *changed; /* par_threads() slots */
    double *xd;      /* par_threads() * xs: each thread's current row in double, on
                      * cache lines of its own */
    size_t xs;       /* d rounded up to whole cache lines (8 doubles) */
    void *xmem;      /* xd's allocation */
    double *bsum;    /* nchunks: partial inertia per chunk */
    double *gsum;    /* per column group, k * KM_COLS sums (64-byte aligned blocks) */
    size_t gstride;  /* doubles from one group's block to the next */
    void *gmem;      /* gsum's allocation */
    int full;        /* this pass computes every distance */
} km_run;

static size_t km_nchunks(size_t n)
{
    return (n + KM_CHUNK - 1) / KM_CHUNK;
}

/* Centre j at squared distance t, in centre order: keeps the nearest (b1, *best; ties
 * to the lower index) and the second nearest (b2), without branches (they would be
 * mispredicted). */
KM_INLINE void km_keep2(double t, size_t j, double *b1, double *b2, size_t *best)
{
    double hi = t > *b1 ? t : *b1;
    *b2 = hi < *b2 ? hi : *b2;
    *best = t < *b1 ? j : *best;
    *b1 = t < *b1 ? t : *b1;
}

/* Rows [b * KM_ABLOCK, ...) of one assignment pass. */
KM_INLINE void km_assign_block(km_run *r, size_t b, int tid, km_dist_fn dist,
                               km_dist4_fn dist4, km_cvt_fn cvt)
{
    size_t d = r->d, k = r->k, i0 = b * KM_ABLOCK;
    size_t i1 = i0 + KM_ABLOCK < r->n ? i0 + KM_ABLOCK : r->n, ch = 0;
    size_t k4 = dist4 && d % 4 == 0 ? k / 4 * 4 : 0;
    double *xd = r->xd + (size_t)tid * r->xs;
    for (size_t i = i0; i < i1; i++) {
        const float *xi = r->x + i * d;
        if (!r->full) {
            int32_t a = r->lab[i];
            double u = r->u[i] + r->move[a];
            double l = r->l[i] - ((size_t)a == r->m1 ? r->mv2 : r->mv1);
            r->l[i] = l;
            double z = r->s[a] / 2 > l ? r->s[a] / 2 : l;
            if (u * (1 + KM_SLACK) < z * (1 - KM_SLACK)) {
                r->u[i] = u;
                continue;
            }
            cvt(xd, xi, d);
            u = sqrt(dist(xd, r->c + (size_t)a * d, d));
            r->u[i] = u;
            if (u * (1 + KM_SLACK) < z * (1 - KM_SLACK))
                continue;
        } else {
            cvt(xd, xi, d);
        }
        /* the nearest and second nearest, in centre order (ties to the lower index) */
        size_t best = 0, j = 0;
        double b1 = INFINITY, b2 = INFINITY, t4[4];
        for (; j < k4; j += 4) {
            const double *c = r->c + j * d;
            dist4(xd, c, c + d, c + 2 * d, c + 3 * d, d, t4);
            for (size_t q = 0; q < 4; q++)
                km_keep2(t4[q], j + q, &b1, &b2, &best);
        }
        for (; j < k; j++)
            km_keep2(dist(xd, r->c + j * d, d), j, &b1, &b2, &best);
        if (r->full || r->lab[i] != (int32_t)best)
            ch++;
        r->lab[i] = (int32_t)best;
        r->u[i] = sqrt(b1);
        r->l[i] = sqrt(b2);
    }
    r->changed[tid] += ch;
}

static void km_assign_sc(void *ctx, size_t b, int tid)
{
    km_assign_block(ctx, b, tid, km_d2, NULL, km_to_double);
}

#if KM_HAVE_AVX2
KM_AVX2 static void km_assign_avx2(void *ctx, size_t b, int tid)
{
    km_assign_block(ctx, b, tid, km_d2_avx2, km_d2x4_avx2, km_to_double_avx2);
}
#endif

static size_t km_assign(km_run *r, int full, int nthreads)
{
    r->full = full;
    memset(r->changed, 0, (size_t)nthreads * sizeof *r->changed);
    size_t nb = (r->n + KM_ABLOCK - 1) / KM_ABLOCK;
#if KM_HAVE_AVX2
    if (r->avx2)
        par_for(nb, km_assign_avx2, r);
    else
#endif
        par_for(nb, km_assign_sc, r);
    size_t ch = 0;
    for (int t = 0; t < nthreads; t++)
        ch += r->changed[t];
    return ch;
}

/* Sum of the squared distances of chunk b's rows to their centres, in row order. */
KM_INLINE void km_inertia_block(km_run *r, size_t b, int tid, km_dist_fn dist,
                                km_cvt_fn cvt)
{
    size_t d = r->d, i0 = b * KM_CHUNK, i1 = i0 + KM_CHUNK < r->n ? i0 + KM_CHUNK : r->n;
    double *xd = r->xd + (size_t)tid * r->xs, s = 0;
    for (size_t i = i0; i < i1; i++) {
        cvt(xd, r->x + i * d, d);
        s += dist(xd, r->c + (size_t)r->lab[i] * d, d);
    }
    r->bsum[b] = s;
}

static void km_inertia_sc(void *ctx, size_t b, int tid)
{
    km_inertia_block(ctx, b, tid, km_d2, km_to_double);
}

#if KM_HAVE_AVX2
KM_AVX2 static void km_inertia_avx2(void *ctx, size_t b, int tid)
{
    km_inertia_block(ctx, b, tid, km_d2_avx2, km_to_double_avx2);
}
#endif

static double km_inertia(km_run *r)
{
    size_t nb = km_nchunks(r->n);
#if KM_HAVE_AVX2
    if (r->avx2)
        par_for(nb, km_inertia_avx2, r);
    else
#endif
        par_for(nb, km_inertia_sc, r);
    double s = 0;
    for (size_t b = 0; b < nb; b++)
        s += r->bsum[b];
    return s;
}

#if KM_HAVE_AVX2
/* The sums of 8 columns, row by row in row order: each row is added to its cluster's
 * sums (gs: k rows of 8), the same additions as the scalar loop. */
KM_AVX2 static void km_sum8_avx2(const float *x, size_t d, const int32_t *lab, size_t n,
                                 double *gs)
{
    for (size_t i = 0; i < n; i++) {
        double *s = gs + (size_t)lab[i] * 8;
        __m256 v = _mm256_loadu_ps(x + i * d);
        _mm256_storeu_pd(s, _mm256_add_pd(_mm256_loadu_pd(s),
                                          _mm256_cvtps_pd(_mm256_castps256_ps128(v))));
        _mm256_storeu_pd(s + 4, _mm256_add_pd(_mm256_loadu_pd(s + 4),
                                              _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1))));
    }
}
#endif

/* Work item g: the sums of columns [g * KM_COLS, ...) for every cluster, each row added in
 * row order, into the item's own cache-line-aligned k x KM_COLS block (no sharing of
 * lines between items), then copied to sum; item 0 also counts each cluster's rows. */
static void km_sum_cols(void *ctx, size_t g, int tid)
{
    km_run *r = ctx;
    size_t n = r->n, d = r->d, k = r->k, j0 = g * KM_COLS;
    size_t w = d - j0 < KM_COLS ? d - j0 : KM_COLS;
    const float *x = r->x + j0;
    double *gs = r->gsum + g * r->gstride;
    memset(gs, 0, k * KM_COLS * sizeof *gs);
    if (g == 0) {
        memset(r->count, 0, k * sizeof *r->count);
        for (size_t i = 0; i < n; i++)
            r->count[r->lab[i]]++;
    }
#if KM_HAVE_AVX2
    if (r->avx2 && w == KM_COLS)
        km_sum8_avx2(x, d, r->lab, n, gs);
    else
#endif
        for (size_t i = 0; i < n; i++) {
            double *s = gs + (size_t)r->lab[i] * KM_COLS;
            const float *xi = x + i * d;
            for (size_t j = 0; j < w; j++)
                s[j] += xi[j];
        }
    for (size_t c = 0; c < k; c++)
        memcpy(r->sum + c * d + j0, gs + c * KM_COLS, w * sizeof *gs);
}

/* Move each centre to the mean of its rows, re-seeding empty clusters; returns the total
 * squared shift and sets move, m1, mv1, mv2 and s.  *reseeds counts re-seeded clusters. */
static double km_update(km_run *r, int *reseeds)
{
    size_t n = r->n, d = r->d, k = r->k;
    par_for((d + KM_COLS - 1) / KM_COLS, km_sum_cols, r);
    for (size_t e = 0; e < k; e++) {
        if (r->count[e])
            continue;
        /* the row farthest from its (pre-update) centre, from a cluster that keeps one */
        size_t p = n;
        double pd = -1;
        for (size_t i = 0; i < n; i++) {
            if (r->count[r->lab[i]] < 2)
                continue;
            double t = km_dist2(r->x + i * d, r->c + (size_t)r->lab[i] * d, d);
            if (t > pd) {
                pd = t;
                p = i;
            }
        }
        if (p == n)
            break; /* cannot happen when k <= n */
        size_t old = (size_t)r->lab[p];
        const float *xp = r->x + p * d;
        for (size_t j = 0; j < d; j++) {
            r->sum[old * d + j] -= xp[j];
            r->sum[e * d + j] = xp[j];
        }
        r->count[old]--;
        r->count[e] = 1;
        r->lab[p] = (int32_t)e;
        r->u[p] = INFINITY;
        r->l[p] = 0;
        (*reseeds)++;
    }
    double shift = 0;
    r->m1 = 0;
    r->mv1 = r->mv2 = 0;
    for (size_t c = 0; c < k; c++) {
        double *cc = r->c + c * d, m2 = 0;
        const double *s = r->sum + c * d;
        double cnt = (double)r->count[c];
        for (size_t j = 0; j < d; j++) {
            double v = r->count[c] ? s[j] / cnt : cc[j];
            double t = v - cc[j];
            m2 += t * t;
            cc[j] = v;
        }
        shift += m2;
        r->move[c] = sqrt(m2);
        if (r->move[c] > r->mv1) {
            r->mv2 = r->mv1;
            r->mv1 = r->move[c];
            r->m1 = c;
        } else if (r->move[c] > r->mv2) {
            r->mv2 = r->move[c];
        }
    }
    for (size_t a = 0; a < k; a++)
        r->s[a] = INFINITY;
    for (size_t a = 0; a < k; a++)
        for (size_t b = a + 1; b < k; b++) {
            double t = sqrt(km_dist2dd(r->c + a * d, r->c + b * d, d));
            if (t < r->s[a])
                r->s[a] = t;
            if (t < r->s[b])
                r->s[b] = t;
        }
    return shift;
}

/* --- k-means++ ----------------------------------------------------------------------- */

/* A candidate c cannot come nearer to row x than x's nearest centre m when
 * |c - m| >= 2 |x - m| (triangle inequality); the candidate's distance is then not
 * computed, since min(closest, distance) is closest either way.  The test is
 * closest < |c - m|^2 / 4 * (1 - KM_PP_SLACK), whose slack dwarfs the rounding of both
 * squared distances, so a row is never skipped when its computed distance could have
 * come out below closest. */
#define KM_PP_SLACK 1e-8

typedef struct km_pp {
    const float *x;
    size_t n, d, trials, nchunks;
    double *closest;    /* n: squared distance of each row to its nearest centre so far */
    int32_t *near;      /* n: that centre (ties to the lower index) */
    double *u, *l;      /* n: the Hamerly bounds, set by the last pass */
    const double *thr;  /* centres * trials: |cand t - centre m|^2 / 4 * (1 - slack),
                         * at thr[m * trials + t] */
    const double *cand; /* trials * d: the candidate rows in double */
    double *ppot;       /* trials * nchunks: potentials per candidate and chunk */
    size_t bt;          /* apply: the chosen candidate */
    int32_t centre;     /* apply: its index among the centres */
    int last;           /* apply: the last centre (set u and l too) */
    double *xd;         /* per thread, xs */
    size_t xs;
} km_pp;

/* The first centre (cand[0]): every row's distance to it. */
KM_INLINE void km_pp_first(km_pp *p, size_t ch, int tid, km_dist_fn dist, km_cvt_fn cvt)
{
    size_t d = p->d, i0 = ch * KM_CHUNK, i1 = i0 + KM_CHUNK < p->n ? i0 + KM_CHUNK : p->n;
    double *xd = p->xd + (size_t)tid * p->xs, s = 0;
    for (size_t i = i0; i < i1; i++) {
        cvt(xd, p->x + i * d, d);
        p->closest[i] = dist(xd, p->cand, d);
        p->near[i] = 0;
        s += p->closest[i];
    }
    p->ppot[ch] = s;
}

/* Chunk ch: the potential every candidate would leave, sum over the chunk's rows in row
 * order of min(closest, distance to the candidate); each row is read once. */
KM_INLINE void km_pp_eval(km_pp *p, size_t ch, int tid, km_dist_fn dist, km_dist4_fn dist4,
                          km_cvt_fn cvt)
{
    size_t d = p->d, trials = p->trials, i0 = ch * KM_CHUNK;
    size_t i1 = i0 + KM_CHUNK < p->n ? i0 + KM_CHUNK : p->n;
    double *xd = p->xd + (size_t)tid * p->xs, pot[KM_MAX_TRIALS], v[KM_MAX_TRIALS + 3];
    const double *cp[KM_MAX_TRIALS + 3]; /* the last group of four padded */
    int four = dist4 && d % 4 == 0;
    for (size_t t = 0; t < trials + 3; t++)
        cp[t] = p->cand + (t < trials ? t : trials - 1) * d;
    for (size_t t = 0; t < trials; t++)
        pot[t] = 0;
    for (size_t i = i0; i < i1; i++) {
        double ci = p->closest[i];
        const double *th = p->thr + (size_t)p->near[i] * trials;
        int need = 0;
        for (size_t t = 0; t < trials; t++)
            need |= !(ci < th[t]);
        if (!need) {
            for (size_t t = 0; t < trials; t++)
                pot[t] += ci;
            continue;
        }
        /* every candidate's distance: min(closest, distance) is closest for those the
         * test would have skipped */
        cvt(xd, p->x + i * d, d);
        if (four)
            for (size_t t = 0; t < trials; t += 4)
                dist4(xd, cp[t], cp[t + 1], cp[t + 2], cp[t + 3], d, v + t);
        else
            for (size_t t = 0; t < trials; t++)
                v[t] = dist(xd, cp[t], d);
        for (size_t t = 0; t < trials; t++)
            pot[t] += ci < v[t] ? ci : v[t];
    }
    for (size_t t = 0; t < trials; t++)
        p->ppot[t * p->nchunks + ch] = pot[t];
}

/* Chunk ch: candidate bt becomes a centre; the rows it is strictly nearer to move to it
 * (the distances computed again, the same way). */
KM_INLINE void km_pp_apply(km_pp *p, size_t ch, int tid, km_dist_fn dist, km_cvt_fn cvt)
{
    size_t d = p->d, trials = p->trials, bt = p->bt, i0 = ch * KM_CHUNK;
    size_t i1 = i0 + KM_CHUNK < p->n ? i0 + KM_CHUNK : p->n;
    double *xd = p->xd + (size_t)tid * p->xs;
    const double *cb = p->cand + bt * d;
    for (size_t i = i0; i < i1; i++) {
        double ci = p->closest[i];
        if (!(ci < p->thr[(size_t)p->near[i] * trials + bt])) {
            cvt(xd, p->x + i * d, d);
            double v = dist(xd, cb, d);
            if (v < ci) {
                p->closest[i] = ci = v;
                p->near[i] = p->centre;
            }
        }
        if (p->last) {
            p->u[i] = sqrt(ci);
            p->l[i] = 0;
        }
    }
}

static void km_pp_first_sc(void *ctx, size_t ch, int tid)
{
    km_pp_first(ctx, ch, tid, km_d2, km_to_double);
}

static void km_pp_eval_sc(void *ctx, size_t ch, int tid)
{
    km_pp_eval(ctx, ch, tid, km_d2, NULL, km_to_double);
}

static void km_pp_apply_sc(void *ctx, size_t ch, int tid)
{
    km_pp_apply(ctx, ch, tid, km_d2, km_to_double);
}

#if KM_HAVE_AVX2
KM_AVX2 static void km_pp_first_avx2(void *ctx, size_t ch, int tid)
{
    km_pp_first(ctx, ch, tid, km_d2_avx2, km_to_double_avx2);
}

KM_AVX2 static void km_pp_eval_avx2(void *ctx, size_t ch, int tid)
{
    km_pp_eval(ctx, ch, tid, km_d2_avx2, km_d2x4_avx2, km_to_double_avx2);
}

KM_AVX2 static void km_pp_apply_avx2(void *ctx, size_t ch, int tid)
{
    km_pp_apply(ctx, ch, tid, km_d2_avx2, km_to_double_avx2);
}
#define KM_PP_RUN(p, avx2, what) \
    par_for((p)->nchunks, (avx2) ? km_pp_##what##_avx2 : km_pp_##what##_sc, (p))
#else
#define KM_PP_RUN(p, avx2, what) par_for((p)->nchunks, km_pp_##what##_sc, (p))
#endif

/* A row drawn with probability closest[i] / pot: the first row whose cumulative
 * potential reaches rv = uniform * pot, where a row's cumulative potential is the sum of
 * the chunks before it (off, chunk order) plus the running sum of its chunk's rows. */
static size_t km_pp_draw(const km_pp *p, const double *off, double rv)
{
    size_t lo = 0, hi = p->nchunks; /* the first chunk with off[ch + 1] >= rv */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (off[mid + 1] < rv)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == p->nchunks)
        return p->n - 1;
    size_t i0 = lo * KM_CHUNK, i1 = i0 + KM_CHUNK < p->n ? i0 + KM_CHUNK : p->n;
    double acc = 0;
    for (size_t i = i0; i < i1; i++) {
        acc += p->closest[i];
        if (off[lo] + acc >= rv)
            return i;
    }
    return i1 - 1;
}

/* Greedy k-means++ into c (k * d), as scikit-learn's: each new centre the best of
 * `trials` candidates drawn with probability proportional to closest[].  Scratch:
 * closest n; cand trials * d; thr k * trials; ppot trials * nchunks; off nchunks + 1;
 * xd par_threads() * xs.  On return near[i] is row i's nearest centre (ties to the lower
 * index) and u[i] the distance to it, computed as an assignment computes them: the first
 * assignment of the Lloyd iterations.  l[i] = 0 (the second nearest is not known). */
static void km_plusplus(const float *x, size_t n, size_t d, size_t k, gsl_rng *rng,
                        int avx2, double *c, double *closest, int32_t *near, double *u,
                        double *l, double *cand, double *thr, double *ppot, double *off,
                        double *xd, size_t xs)
{
    size_t trials = 2 + (size_t)log((double)k);
    if (trials > KM_MAX_TRIALS)
        trials = KM_MAX_TRIALS;
    km_pp p = {.x = x, .n = n, .d = d, .trials = 1, .nchunks = km_nchunks(n),
               .closest = closest, .near = near, .u = u, .l = l, .thr = thr, .cand = cand,
               .ppot = ppot, .xd = xd, .xs = xs};
    size_t first = (size_t)gsl_rng_uniform_int(rng, (unsigned long)n), nch = p.nchunks;
    for (size_t j = 0; j < d; j++)
        c[j] = cand[j] = x[first * d + j];
    KM_PP_RUN(&p, avx2, first);
    off[0] = 0;
    for (size_t ch = 0; ch < nch; ch++)
        off[ch + 1] = off[ch] + ppot[ch];
    p.trials = trials;
    for (size_t cc = 1; cc < k; cc++) {
        double pot = off[nch];
        for (size_t t = 0; t < trials; t++) {
            size_t row = km_pp_draw(&p, off, gsl_rng_uniform(rng) * pot);
            for (size_t j = 0; j < d; j++)
                cand[t * d + j] = x[row * d + j];
        }
        for (size_t m = 0; m < cc; m++)
            for (size_t t = 0; t < trials; t++)
                thr[m * trials + t] = km_d2(cand + t * d, c + m * d, d) / 4 *
                                      (1 - KM_PP_SLACK);
        KM_PP_RUN(&p, avx2, eval);
        double potv[KM_MAX_TRIALS];
        size_t bt = 0;
        for (size_t t = 0; t < trials; t++) {
            potv[t] = 0;
            for (size_t ch = 0; ch < nch; ch++)
                potv[t] += ppot[t * nch + ch];
            if (potv[t] < potv[bt])
                bt = t;
        }
        p.bt = bt;
        p.centre = (int32_t)cc;
        p.last = cc + 1 == k;
        KM_PP_RUN(&p, avx2, apply);
        for (size_t ch = 0; ch < nch; ch++)
            off[ch + 1] = off[ch] + ppot[bt * nch + ch];
        memcpy(c + cc * d, cand + bt * d, d * sizeof *c);
    }
    if (k == 1)
        for (size_t i = 0; i < n; i++) {
            u[i] = sqrt(closest[i]);
            l[i] = 0;
        }
}

/* --- the fit ------------------------------------------------------------------------- */

/* The first non-finite value of x[0 .. m), or m. */
static size_t km_first_nonfinite(const float *x, size_t m)
{
    for (size_t i0 = 0; i0 < m; i0 += KM_CHUNK) {
        size_t i1 = i0 + KM_CHUNK < m ? i0 + KM_CHUNK : m;
        int bad = 0;
        for (size_t i = i0; i < i1; i++)
            bad |= !(x[i] - x[i] == 0);
        if (bad)
            for (size_t i = i0; i < i1; i++)
                if (!isfinite(x[i]))
                    return i;
    }
    return m;
}

/* Column means and variances (population) of groups of KM_COLS columns: each column's
 * sums added in row order, as a pass per column would. */
typedef struct km_cs {
    const float *x;
    size_t n, d;
    int avx2;
    double *m, *v; /* d each */
} km_cs;

#if KM_HAVE_AVX2
KM_AVX2 static void km_colstats8_avx2(const float *x, size_t n, size_t d, double *m,
                                      double *v)
{
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, nn = _mm256_set1_pd((double)n);
    for (size_t i = 0; i < n; i++) {
        __m256 r = _mm256_loadu_ps(x + i * d);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(r)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(r, 1)));
    }
    __m256d m0 = _mm256_div_pd(s0, nn), m1 = _mm256_div_pd(s1, nn);
    s0 = s1 = _mm256_setzero_pd();
    for (size_t i = 0; i < n; i++) {
        __m256 r = _mm256_loadu_ps(x + i * d);
        __m256d t0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(r)), m0);
        __m256d t1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(r, 1)), m1);
        s0 = _mm256_add_pd(s0, _mm256_mul_pd(t0, t0));
        s1 = _mm256_add_pd(s1, _mm256_mul_pd(t1, t1));
    }
    _mm256_storeu_pd(m, m0);
    _mm256_storeu_pd(m + 4, m1);
    _mm256_storeu_pd(v, s0);
    _mm256_storeu_pd(v + 4, s1);
}
#endif

static void km_colstats(void *ctx, size_t g, int tid)
{
    km_cs *cs = ctx;
    size_t n = cs->n, d = cs->d, j0 = g * KM_COLS;
    size_t w = d - j0 < KM_COLS ? d - j0 : KM_COLS;
    const float *x = cs->x + j0;
    double *m = cs->m + j0, *v = cs->v + j0;
#if KM_HAVE_AVX2
    if (cs->avx2 && w == KM_COLS) {
        km_colstats8_avx2(x, n, d, m, v);
        return;
    }
#endif
    double sm[KM_COLS] = {0}, sv[KM_COLS] = {0};
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < w; j++)
            sm[j] += x[i * d + j];
    for (size_t j = 0; j < w; j++)
        sm[j] /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < w; j++) {
            double t = x[i * d + j] - sm[j];
            sv[j] += t * t;
        }
    memcpy(m, sm, w * sizeof *m);
    memcpy(v, sv, w * sizeof *v);
}

mlwb_status km_fit(const float *x, size_t n, size_t d, const km_opts *o, km_result *out,
                   km_progress_fn progress, void *ud, char **err)
{
    memset(out, 0, sizeof *out);
    if (!o)
        return err_set(err, MLWB_ERR_INVALID, "kmeans: no options");
    if (d == 0 || n == 0)
        return err_set(err, MLWB_ERR_INVALID, "kmeans: empty data (%zu rows, %zu columns)",
                       n, d);
    if (o->k < 1 || (size_t)o->k > n)
        return err_set(err, MLWB_ERR_INVALID, "kmeans: k=%d must be in 1..%zu (the rows)",
                       o->k, n);
    if (o->n_init < 0 || o->max_iter < 0)
        return err_set(err, MLWB_ERR_INVALID, "kmeans: n_init and max_iter must be >= 0");
    size_t bad;
    if (o->init && (bad = km_first_nonfinite(o->init, (size_t)o->k * d)) < (size_t)o->k * d)
        return err_set(err, MLWB_ERR_INVALID, "kmeans: initial centre %zu column %zu is"
                       " not finite", bad / d, bad % d);
    if (n > SIZE_MAX / sizeof(double) / 64 || d > SIZE_MAX / sizeof(double) / n)
        return err_set(err, MLWB_ERR_NOMEM, "kmeans: %zu rows x %zu columns is too large", n, d);
    /* the column statistics for tol; a non-finite value makes its column's mean so */
    int avx2 = km_use_avx2();
    double *ms = malloc(2 * d * sizeof *ms), mvar = 0;
    if (!ms)
        return err_set(err, MLWB_ERR_NOMEM, "kmeans: out of memory");
    km_cs cs = {.x = x, .n = n, .d = d, .avx2 = avx2, .m = ms, .v = ms + d};
    par_for((d + KM_COLS - 1) / KM_COLS, km_colstats, &cs);
    for (size_t j = 0; j < d; j++) {
        if (!isfinite(ms[j])) {
            free(ms);
            bad = km_first_nonfinite(x, n * d);
            return err_set(err, MLWB_ERR_INVALID, "kmeans: row %zu column %zu is not finite",
                           bad / d, bad % d);
        }
        mvar += ms[d + j] / (double)n; /* the mean of the column variances */
    }
    free(ms);
    size_t k = (size_t)o->k;
    int n_init = o->n_init && !o->init ? o->n_init : 1;
    int max_iter = o->max_iter ? o->max_iter : KM_MAX_ITER;
    double tol = o->tol == 0 ? KM_TOL : o->tol < 0 ? 0 : o->tol;
    int nthreads = par_threads();
    size_t trials = 2 + (size_t)log((double)k), nch = km_nchunks(n);
    if (trials > KM_MAX_TRIALS)
        trials = KM_MAX_TRIALS;

    mlwb_status st = MLWB_OK;
    km_run r = {.x = x, .n = n, .d = d, .k = k, .avx2 = avx2};
    double *off = NULL, *closest = NULL, *best_c = NULL, *ppot = NULL, *cand = NULL;
    double *thr = NULL;
    int32_t *best_lab = NULL;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    r.c = malloc(k * d * sizeof *r.c);
    r.sum = malloc(k * d * sizeof *r.sum);
    r.count = malloc(k * sizeof *r.count);
    r.move = malloc(k * sizeof *r.move);
    r.s = malloc(k * sizeof *r.s);
    r.lab = malloc(n * sizeof *r.lab);
    r.u = malloc(n * sizeof *r.u);
    r.l = malloc(n * sizeof *r.l);
    r.changed = calloc((size_t)nthreads, sizeof *r.changed);
    r.xs = (d + 7) / 8 * 8;
    r.xmem = malloc(((size_t)nthreads * r.xs + 8) * sizeof *r.xd);
    if (r.xmem)
        r.xd = (double *)(((uintptr_t)r.xmem + 63) & ~(uintptr_t)63);
    r.bsum = malloc(nch * sizeof *r.bsum);
    r.gstride = (k * KM_COLS + 7) / 8 * 8;
    r.gmem = malloc(((d + KM_COLS - 1) / KM_COLS * r.gstride + 8) * sizeof(double));
    if (r.gmem)
        r.gsum = (double *)(((uintptr_t)r.gmem + 63) & ~(uintptr_t)63);
    off = malloc((nch + 1) * sizeof *off);
    closest = malloc(n * sizeof *closest);
    cand = malloc(trials * d * sizeof *cand);
    thr = malloc(k * trials * sizeof *thr);
    ppot = malloc(trials * nch * sizeof *ppot);
    best_c = malloc(k * d * sizeof *best_c);
    best_lab = malloc(n * sizeof *best_lab);
    if (!rng || !r.c || !r.sum || !r.count || !r.move || !r.s || !r.lab || !r.u || !r.l ||
        !r.changed || !r.xd || !r.bsum || !r.gmem || !off || !closest ||
        !cand || !thr || !ppot || !best_c || !best_lab) {
        st = err_set(err, MLWB_ERR_NOMEM, "kmeans: out of memory for %zu rows x %zu columns,"
                     " k=%zu", n, d, k);
        goto done;
    }
    gsl_rng_set(rng, o->seed);
    /* tol scaled by the mean column variance (population), as scikit-learn */
    double tol_abs = tol * mvar / (double)d;

    double best_inertia = INFINITY;
    for (int init = 0; init < n_init; init++) {
        if (o->init)
            for (size_t i = 0; i < k * d; i++)
                r.c[i] = o->init[i];
        else
            km_plusplus(x, n, d, k, rng, r.avx2, r.c, closest, r.lab, r.u, r.l, cand, thr,
                        ppot, off, r.xd, r.xs);
        int it = 0, conv = 0, strict = 0, reseeds = 0;
        while (it < max_iter) {
            it++;
            /* k-means++ leaves the first assignment done (every label counts as set) */
            size_t ch = it == 1 && !o->init ? n : km_assign(&r, it == 1, nthreads);
            int rs = 0;
            double shift = km_update(&r, &rs);
            reseeds += rs;
            ch += (size_t)rs;
            if (progress && progress(ud, init, it, shift)) {
                st = err_set(err, MLWB_ERR_CANCELLED, "kmeans: cancelled");
                goto done;
            }
            if (ch == 0) {
                conv = strict = 1;
                break;
            }
            if (shift <= tol_abs) {
                conv = 1;
                break;
            }
        }
        if (!strict)
            km_assign(&r, 0, nthreads);
        double inertia = km_inertia(&r);
        if (inertia < best_inertia) {
            best_inertia = inertia;
            memcpy(best_c, r.c, k * d * sizeof *best_c);
            memcpy(best_lab, r.lab, n * sizeof *best_lab);
            out->iterations = it;
            out->converged = conv;
            out->best_init = init;
            out->reseeds = reseeds;
        }
    }
    out->centroids = malloc(k * d * sizeof *out->centroids);
    if (!out->centroids) {
        st = err_set(err, MLWB_ERR_NOMEM, "kmeans: out of memory for the centroids");
        goto done;
    }
    for (size_t i = 0; i < k * d; i++)
        out->centroids[i] = (float)best_c[i];
    out->labels = best_lab;
    best_lab = NULL;
    out->k = k;
    out->d = d;
    out->n = n;
    out->inertia = best_inertia;

done:
    if (st != MLWB_OK)
        km_result_clear(out);
    gsl_rng_free(rng);
    free(r.c);
    free(r.sum);
    free(r.count);
    free(r.move);
    free(r.s);
    free(r.lab);
    free(r.u);
    free(r.l);
    free(r.changed);
    free(r.xmem);
    free(r.bsum);
    free(r.gmem);
    free(off);
    free(closest);
    free(cand);
    free(thr);
    free(ppot);
    free(best_c);
    free(best_lab);
    return st;
}
