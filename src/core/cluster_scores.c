/*
 * cluster_scores.c — silhouette, Calinski–Harabasz, Davies–Bouldin, ARI, NMI (see the
 * header for the formulas; each matches scikit-learn's definition).
 *
 * Design: every score first renumbers the labels densely (cs_dense).  The silhouette is
 * the only O(n²) score: the rows, centred and sorted by cluster (so each cluster is
 * one run of columns), are taken in blocks of CS_RB; for each block a thread computes
 * the dot products with every row, CS_CB columns at a time, with one sgemm (blas.h) into
 * its own scratch, turns them into distances in place and adds each cluster's run to
 * the block's per-cluster sums (n x m doubles in all, each row written by one thread).
 */
#include "mlwb/core/cluster_scores.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlwb/core/blas.h"
#include "mlwb/core/parfor.h"

#define CS_RB 64    /* rows per block */
#define CS_CB 1024  /* columns per sgemm */

static int cs_cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Labels renumbered 0..m-1 in increasing order of value into dense (n); *m the count. */
static mlwb_status cs_dense(const int32_t *lab, size_t n, const char *what, int32_t *dense,
                            size_t *m, char **err)
{
    for (size_t i = 0; i < n; i++)
        if (lab[i] < 0)
            return err_set(err, MLWB_ERR_INVALID, "%s: row %zu has the negative label %d",
                           what, i, (int)lab[i]);
    int32_t *u = malloc(n * sizeof *u);
    if (!u)
        return err_set(err, MLWB_ERR_NOMEM, "%s: out of memory for %zu labels", what, n);
    memcpy(u, lab, n * sizeof *u);
    qsort(u, n, sizeof *u, cs_cmp_i32);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || u[i] != u[k - 1])
            u[k++] = u[i];
    for (size_t i = 0; i < n; i++) {
        size_t lo = 0, hi = k;
        while (lo + 1 < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (u[mid] <= lab[i])
                lo = mid;
            else
                hi = mid;
        }
        dense[i] = (int32_t)lo;
    }
    free(u);
    *m = k;
    return MLWB_OK;
}

/* Dense labels plus a cluster count check (2 <= m <= n - 1). */
static mlwb_status cs_prep(const float *x, size_t n, size_t d, const int32_t *labels,
                           const char *what, int32_t **dense, size_t *m, char **err)
{
    *dense = NULL;
    if (!x || !labels || n == 0 || d == 0)
        return err_set(err, MLWB_ERR_INVALID, "%s: empty data (%zu rows, %zu columns)",
                       what, n, d);
    int32_t *dl = malloc(n * sizeof *dl);
    if (!dl)
        return err_set(err, MLWB_ERR_NOMEM, "%s: out of memory for %zu labels", what, n);
    mlwb_status st = cs_dense(labels, n, what, dl, m, err);
    if (st == MLWB_OK && (*m < 2 || *m > n - 1))
        st = err_set(err, MLWB_ERR_INVALID, "%s: %zu clusters for %zu rows; needs 2 .. %zu",
                     what, *m, n, n - 1);
    if (st != MLWB_OK) {
        free(dl);
        return st;
    }
    *dense = dl;
    return MLWB_OK;
}

/* Cluster means (m x d) and sizes. */
static void cs_means(const float *x, size_t n, size_t d, const int32_t *lab, size_t m,
                     double *mu, size_t *cnt)
{
    memset(mu, 0, m * d * sizeof *mu);
    memset(cnt, 0, m * sizeof *cnt);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++)
            mu[(size_t)lab[i] * d + j] += x[i * d + j];
        cnt[lab[i]]++;
    }
    for (size_t c = 0; c < m; c++)
        for (size_t j = 0; j < d; j++)
            mu[c * d + j] /= (double)cnt[c];
}

/* --- silhouette ---------------------------------------------------------------------- */

typedef struct cs_sil {
    const float *xc;     /* n x d centred rows */
    const float *nrmf;   /* n squared norms */
    const int32_t *lab;  /* n, sorted */
    const size_t *start; /* m + 1: cluster c is rows start[c] .. start[c+1]-1 */
    size_t n, d, m;
    double *sums;        /* n x m */
    float *scratch;      /* threads x CS_RB x CS_CB */
} cs_sil;

static void cs_sil_block(void *ctx, size_t blk, int tid)
{
    cs_sil *s = ctx;
    size_t r0 = blk * CS_RB, rn = s->n - r0 < CS_RB ? s->n - r0 : CS_RB;
    float *g = s->scratch + (size_t)tid * CS_RB * CS_CB;
    double *sums = s->sums + r0 * s->m;
    memset(sums, 0, rn * s->m * sizeof *sums);
    for (size_t c0 = 0; c0 < s->n; c0 += CS_CB) {
        size_t cn = s->n - c0 < CS_CB ? s->n - c0 : CS_CB;
        blas_sgemm_nt(rn, cn, s->d, s->xc + r0 * s->d, s->d, s->xc + c0 * s->d, s->d, g, cn);
        for (size_t i = 0; i < rn; i++) {
            float *gi = g + i * cn, ni = s->nrmf[r0 + i];
            const float *nc = s->nrmf + c0;
            double *si = sums + i * s->m;
            for (size_t j = 0; j < cn; j++) { /* vectorised: distances in float */
                float d2 = ni + nc[j] - 2.0f * gi[j];
                gi[j] = sqrtf(d2 > 0 ? d2 : 0.0f);
            }
            if (r0 + i >= c0 && r0 + i < c0 + cn)
                gi[r0 + i - c0] = 0; /* the row itself */
            /* rows are sorted by cluster: each cluster is one run of columns */
            for (size_t c = (size_t)s->lab[c0]; c < s->m && s->start[c] < c0 + cn; c++) {
                size_t a = s->start[c] > c0 ? s->start[c] - c0 : 0;
                size_t b = s->start[c + 1] < c0 + cn ? s->start[c + 1] - c0 : cn;
                double p0 = 0, p1 = 0, p2 = 0, p3 = 0;
                size_t j = a;
                for (; j + 4 <= b; j += 4) {
                    p0 += gi[j];
                    p1 += gi[j + 1];
                    p2 += gi[j + 2];
                    p3 += gi[j + 3];
                }
                for (; j < b; j++)
                    p0 += gi[j];
                si[c] += (p0 + p1) + (p2 + p3);
            }
        }
    }
}

static pthread_once_t cs_blas_once = PTHREAD_ONCE_INIT;

static void cs_blas_init(void)
{
    openblas_set_num_threads(1);
}

mlwb_status cs_silhouette(const float *x, size_t n, size_t d, const int32_t *labels,
                          double *score, double *per_row, char **err)
{
    int32_t *lab;
    size_t m;
    mlwb_status st = cs_prep(x, n, d, labels, "silhouette", &lab, &m, err);
    if (st != MLWB_OK)
        return st;
    if (d > SIZE_MAX / sizeof(double) / n || m > SIZE_MAX / sizeof(double) / n) {
        free(lab);
        return err_set(err, MLWB_ERR_NOMEM, "silhouette: %zu rows is too large", n);
    }
    int nt = par_threads();
    float *xc = malloc(n * d * sizeof *xc);
    double *nrm = malloc(n * sizeof *nrm), *mean = calloc(d, sizeof *mean);
    float *nrmf = malloc(n * sizeof *nrmf);
    size_t *perm = malloc(n * sizeof *perm), *start = malloc((m + 1) * sizeof *start);
    size_t *fill = malloc((m + 1) * sizeof *fill);
    int32_t *slab = malloc(n * sizeof *slab);
    double *sums = malloc(n * m * sizeof *sums);
    size_t *cnt = calloc(m, sizeof *cnt);
    float *scratch = malloc((size_t)nt * CS_RB * CS_CB * sizeof *scratch);
    if (!xc || !nrm || !nrmf || !mean || !sums || !cnt || !scratch || !perm || !start ||
        !fill || !slab) {
        st = err_set(err, MLWB_ERR_NOMEM, "silhouette: out of memory for %zu rows", n);
        goto done;
    }
    pthread_once(&cs_blas_once, cs_blas_init);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++)
            mean[j] += x[i * d + j];
        cnt[lab[i]]++;
    }
    for (size_t j = 0; j < d; j++)
        mean[j] /= (double)n;
    /* sort the rows by cluster (stable): position p holds row perm[p] */
    start[0] = 0;
    for (size_t c = 0; c < m; c++)
        start[c + 1] = start[c] + cnt[c];
    for (size_t c = 0; c <= m; c++)
        fill[c] = start[c];
    for (size_t i = 0; i < n; i++) {
        size_t p = fill[lab[i]]++;
        perm[p] = i;
        slab[p] = lab[i];
    }
    for (size_t p = 0; p < n; p++) {
        size_t i = perm[p];
        double s2 = 0;
        for (size_t j = 0; j < d; j++) {
            float v = (float)(x[i * d + j] - mean[j]);
            xc[p * d + j] = v;
            s2 += (double)v * v;
        }
        nrm[p] = s2;
        nrmf[p] = (float)s2;
    }
    cs_sil ctx = {xc, nrmf, slab, start, n, d, m, sums, scratch};
    par_for((n + CS_RB - 1) / CS_RB, cs_sil_block, &ctx);
    double total = 0;
    for (size_t i = 0; i < n; i++) { /* i: sorted position */
        size_t c = (size_t)slab[i];
        double s = 0;
        if (cnt[c] > 1) {
            double a = sums[i * m + c] / (double)(cnt[c] - 1), b = INFINITY;
            for (size_t o = 0; o < m; o++)
                if (o != c && sums[i * m + o] / (double)cnt[o] < b)
                    b = sums[i * m + o] / (double)cnt[o];
            double mx = a > b ? a : b;
            s = mx > 0 ? (b - a) / mx : 0;
        }
        if (per_row)
            per_row[perm[i]] = s;
        total += s;
    }
    *score = total / (double)n;
done:
    free(lab);
    free(xc);
    free(nrm);
    free(nrmf);
    free(perm);
    free(start);
    free(fill);
    free(slab);
    free(mean);
    free(sums);
    free(cnt);
    free(scratch);
    return st;
}

/* --- Calinski–Harabasz, Davies–Bouldin --------------------------------------------- */

mlwb_status cs_calinski_harabasz(const float *x, size_t n, size_t d, const int32_t *labels,
                                 double *score, char **err)
{
    int32_t *lab;
    size_t m;
    mlwb_status st = cs_prep(x, n, d, labels, "calinski_harabasz", &lab, &m, err);
    if (st != MLWB_OK)
        return st;
    double *mu = malloc(m * d * sizeof *mu), *all = calloc(d, sizeof *all);
    size_t *cnt = malloc(m * sizeof *cnt);
    if (!mu || !all || !cnt) {
        st = err_set(err, MLWB_ERR_NOMEM, "calinski_harabasz: out of memory");
        goto done;
    }
    cs_means(x, n, d, lab, m, mu, cnt);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            all[j] += x[i * d + j];
    for (size_t j = 0; j < d; j++)
        all[j] /= (double)n;
    double extra = 0, intra = 0;
    for (size_t c = 0; c < m; c++) {
        double s = 0;
        for (size_t j = 0; j < d; j++) {
            double t = mu[c * d + j] - all[j];
            s += t * t;
        }
        extra += (double)cnt[c] * s;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            double t = x[i * d + j] - mu[(size_t)lab[i] * d + j];
            intra += t * t;
        }
    *score = intra == 0 ? 1.0 : extra * (double)(n - m) / (intra * (double)(m - 1));
done:
    free(lab);
    free(mu);
    free(all);
    free(cnt);
    return st;
}

mlwb_status cs_davies_bouldin(const float *x, size_t n, size_t d, const int32_t *labels,
                              double *score, char **err)
{
    int32_t *lab;
    size_t m;
    mlwb_status st = cs_prep(x, n, d, labels, "davies_bouldin", &lab, &m, err);
    if (st != MLWB_OK)
        return st;
    double *mu = malloc(m * d * sizeof *mu), *intra = calloc(m, sizeof *intra);
    double *cdist = malloc(m * m * sizeof *cdist);
    size_t *cnt = malloc(m * sizeof *cnt);
    if (!mu || !intra || !cdist || !cnt) {
        st = err_set(err, MLWB_ERR_NOMEM, "davies_bouldin: out of memory");
        goto done;
    }
    cs_means(x, n, d, lab, m, mu, cnt);
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < d; j++) {
            double t = x[i * d + j] - mu[(size_t)lab[i] * d + j];
            s += t * t;
        }
        intra[lab[i]] += sqrt(s);
    }
    int intra_zero = 1, cd_zero = 1;
    for (size_t c = 0; c < m; c++) {
        intra[c] /= (double)cnt[c];
        if (fabs(intra[c]) > 1e-8)
            intra_zero = 0;
        for (size_t e = 0; e < m; e++) {
            double s = 0;
            for (size_t j = 0; j < d; j++) {
                double t = mu[c * d + j] - mu[e * d + j];
                s += t * t;
            }
            cdist[c * m + e] = sqrt(s);
            if (cdist[c * m + e] > 1e-8)
                cd_zero = 0;
        }
    }
    if (intra_zero || cd_zero) {
        *score = 0;
        goto done;
    }
    double total = 0;
    for (size_t c = 0; c < m; c++) {
        double best = 0;
        for (size_t e = 0; e < m; e++) {
            if (e == c || cdist[c * m + e] == 0)
                continue;
            double r = (intra[c] + intra[e]) / cdist[c * m + e];
            if (r > best)
                best = r;
        }
        total += best;
    }
    *score = total / (double)m;
done:
    free(lab);
    free(mu);
    free(intra);
    free(cdist);
    free(cnt);
    return st;
}

/* --- ARI, NMI ------------------------------------------------------------------------ */

typedef struct cs_table {
    size_t n, mt, mp;
    double *nuv;  /* mt x mp */
    double *a, *b;
} cs_table;

static void cs_table_free(cs_table *t)
{
    free(t->nuv);
    free(t->a);
    free(t->b);
}

static mlwb_status cs_contingency(const int32_t *truth, const int32_t *pred, size_t n,
                                  const char *what, cs_table *t, char **err)
{
    memset(t, 0, sizeof *t);
    if (!truth || !pred || n == 0)
        return err_set(err, MLWB_ERR_INVALID, "%s: no rows", what);
    int32_t *dt = malloc(n * sizeof *dt), *dp = malloc(n * sizeof *dp);
    mlwb_status st = MLWB_OK;
    if (!dt || !dp) {
        st = err_set(err, MLWB_ERR_NOMEM, "%s: out of memory for %zu labels", what, n);
        goto done;
    }
    if ((st = cs_dense(truth, n, what, dt, &t->mt, err)) != MLWB_OK ||
        (st = cs_dense(pred, n, what, dp, &t->mp, err)) != MLWB_OK)
        goto done;
    if (t->mt > SIZE_MAX / sizeof(double) / t->mp) {
        st = err_set(err, MLWB_ERR_NOMEM, "%s: %zu x %zu clusters is too many", what, t->mt,
                     t->mp);
        goto done;
    }
    t->n = n;
    t->nuv = calloc(t->mt * t->mp, sizeof *t->nuv);
    t->a = calloc(t->mt, sizeof *t->a);
    t->b = calloc(t->mp, sizeof *t->b);
    if (!t->nuv || !t->a || !t->b) {
        st = err_set(err, MLWB_ERR_NOMEM, "%s: out of memory for %zu x %zu clusters", what,
                     t->mt, t->mp);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        t->nuv[(size_t)dt[i] * t->mp + (size_t)dp[i]] += 1;
        t->a[dt[i]] += 1;
        t->b[dp[i]] += 1;
    }
done:
    if (st != MLWB_OK)
        cs_table_free(t);
    free(dt);
    free(dp);
    return st;
}

mlwb_status cs_ari(const int32_t *truth, const int32_t *pred, size_t n, double *score,
                   char **err)
{
    cs_table t;
    mlwb_status st = cs_contingency(truth, pred, n, "ari", &t, err);
    if (st != MLWB_OK)
        return st;
    double ss = 0, sa = 0, sb = 0, nn = (double)n;
    for (size_t i = 0; i < t.mt * t.mp; i++)
        ss += t.nuv[i] * t.nuv[i];
    for (size_t i = 0; i < t.mt; i++)
        sa += t.a[i] * t.a[i];
    for (size_t j = 0; j < t.mp; j++)
        sb += t.b[j] * t.b[j];
    double tp = ss - nn, fp = sb - ss, fn = sa - ss, tn = nn * nn - fp - fn - ss;
    if (fn == 0 && fp == 0)
        *score = 1.0;
    else
        *score = 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
    cs_table_free(&t);
    return MLWB_OK;
}

static double cs_entropy(const double *c, size_t m, double n)
{
    double h = 0;
    for (size_t i = 0; i < m; i++)
        if (c[i] > 0)
            h -= c[i] / n * log(c[i] / n);
    return h;
}

mlwb_status cs_nmi(const int32_t *truth, const int32_t *pred, size_t n, double *score,
                   char **err)
{
    cs_table t;
    mlwb_status st = cs_contingency(truth, pred, n, "nmi", &t, err);
    if (st != MLWB_OK)
        return st;
    double nn = (double)n;
    if (t.mt == 1 && t.mp == 1) {
        *score = 1.0;
    } else {
        double mi = 0;
        for (size_t u = 0; u < t.mt; u++)
            for (size_t v = 0; v < t.mp; v++) {
                double c = t.nuv[u * t.mp + v];
                if (c > 0)
                    mi += c / nn * (log(c) - log(t.a[u]) - log(t.b[v]) + log(nn));
            }
        if (mi < 0)
            mi = 0;
        if (mi == 0) {
            *score = 0;
        } else {
            double norm = (cs_entropy(t.a, t.mt, nn) + cs_entropy(t.b, t.mp, nn)) / 2;
            *score = mi / norm;
        }
    }
    cs_table_free(&t);
    return MLWB_OK;
}
