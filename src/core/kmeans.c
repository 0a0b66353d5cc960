/*
 * kmeans.c — k-means++ and Lloyd's iterations with Hamerly's bounds (see kmeans.h).
 *
 * Design: one restart is a km_run.  The assignment pass is the only O(n k d) step and
 * runs over rows with par_for; each row writes only its own label and bounds, and counts
 * its label change into its thread's slot, so the pass needs no locks.  The centre update
 * and the empty-cluster re-seeding are O(n d) and run on the calling thread in row order,
 * which keeps every figure independent of the thread count and equal to plain Lloyd's.
 */
#include "mlwb/core/kmeans.h"

#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlwb/core/parfor.h"

#define KM_SLACK 1e-9  /* relative slack of the bound tests */

/* Squared distances in double, summed in four interleaved partial sums (columns j with
 * the same j mod 4 go to one sum; then (s0 + s1) + (s2 + s3)), which the compiler can
 * vectorise.  kmeans.h's "distances in double" means exactly this sum. */
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
    int full;        /* this pass computes every distance */
} km_run;

static void km_assign_row(void *ctx, size_t i, int tid)
{
    km_run *r = ctx;
    const float *xi = r->x + i * r->d;
    if (!r->full) {
        int32_t a = r->lab[i];
        double u = r->u[i] + r->move[a];
        double l = r->l[i] - ((size_t)a == r->m1 ? r->mv2 : r->mv1);
        r->l[i] = l;
        double z = r->s[a] / 2 > l ? r->s[a] / 2 : l;
        if (u * (1 + KM_SLACK) < z * (1 - KM_SLACK)) {
            r->u[i] = u;
            return;
        }
        u = sqrt(km_dist2(xi, r->c + (size_t)a * r->d, r->d));
        r->u[i] = u;
        if (u * (1 + KM_SLACK) < z * (1 - KM_SLACK))
            return;
    }
    size_t best = 0;
    double b1 = km_dist2(xi, r->c, r->d), b2 = INFINITY;
    for (size_t j = 1; j < r->k; j++) {
        double t = km_dist2(xi, r->c + j * r->d, r->d);
        if (t < b1) {
            b2 = b1;
            b1 = t;
            best = j;
        } else if (t < b2) {
            b2 = t;
        }
    }
    if (r->full || r->lab[i] != (int32_t)best)
        r->changed[tid]++;
    r->lab[i] = (int32_t)best;
    r->u[i] = sqrt(b1);
    r->l[i] = sqrt(b2);
}

static size_t km_assign(km_run *r, int full, int nthreads)
{
    r->full = full;
    memset(r->changed, 0, (size_t)nthreads * sizeof *r->changed);
    par_for(r->n, km_assign_row, r);
    size_t ch = 0;
    for (int t = 0; t < nthreads; t++)
        ch += r->changed[t];
    return ch;
}

/* Move each centre to the mean of its rows, re-seeding empty clusters; returns the total
 * squared shift and sets move, m1, mv1, mv2 and s.  *reseeds counts re-seeded clusters. */
static double km_update(km_run *r, int *reseeds)
{
    size_t n = r->n, d = r->d, k = r->k;
    memset(r->sum, 0, k * d * sizeof *r->sum);
    memset(r->count, 0, k * sizeof *r->count);
    for (size_t i = 0; i < n; i++) {
        double *s = r->sum + (size_t)r->lab[i] * d;
        const float *xi = r->x + i * d;
        for (size_t j = 0; j < d; j++)
            s[j] += xi[j];
        r->count[r->lab[i]]++;
    }
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

typedef struct km_pp {
    const float *x;
    size_t n, d;
    const double *closest;
    const size_t *cand;
    double *cd;   /* trials * n */
    double *ppot; /* trials * nchunks partial potentials */
    size_t nchunks;
} km_pp;

#define KM_PP_CHUNK 4096  /* rows per k-means++ work item */

/* Item it: candidate it / nchunks over the rows of chunk it % nchunks. */
static void km_pp_cand(void *ctx, size_t it, int tid)
{
    km_pp *p = ctx;
    size_t t = it / p->nchunks, ch = it % p->nchunks;
    size_t i0 = ch * KM_PP_CHUNK, i1 = i0 + KM_PP_CHUNK < p->n ? i0 + KM_PP_CHUNK : p->n;
    const float *xc = p->x + p->cand[t] * p->d;
    double *cd = p->cd + t * p->n, pot = 0;
    for (size_t i = i0; i < i1; i++) {
        double v = km_dist2ff(p->x + i * p->d, xc, p->d);
        if (p->closest[i] < v)
            v = p->closest[i];
        cd[i] = v;
        pot += v;
    }
    p->ppot[it] = pot;
}

static void km_plusplus(const float *x, size_t n, size_t d, size_t k, gsl_rng *rng,
                        double *c, double *closest, double *cum, double *cd, double *ppot)
{
    size_t trials = 2 + (size_t)log((double)k);
    size_t cand[64];
    double potv[64];
    if (trials > 64)
        trials = 64;
    size_t first = (size_t)gsl_rng_uniform_int(rng, (unsigned long)n);
    double pot = 0;
    for (size_t j = 0; j < d; j++)
        c[j] = x[first * d + j];
    for (size_t i = 0; i < n; i++) {
        closest[i] = km_dist2ff(x + i * d, x + first * d, d);
        pot += closest[i];
    }
    size_t nchunks = (n + KM_PP_CHUNK - 1) / KM_PP_CHUNK;
    km_pp p = {x, n, d, closest, cand, cd, ppot, nchunks};
    for (size_t ci = 1; ci < k; ci++) {
        double acc = 0;
        for (size_t i = 0; i < n; i++) {
            acc += closest[i];
            cum[i] = acc;
        }
        for (size_t t = 0; t < trials; t++) {
            double rv = gsl_rng_uniform(rng) * pot;
            size_t lo = 0, hi = n; /* first index with cum >= rv */
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (cum[mid] < rv)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            cand[t] = lo < n ? lo : n - 1;
        }
        par_for(trials * nchunks, km_pp_cand, &p);
        for (size_t t = 0; t < trials; t++) {
            potv[t] = 0;
            for (size_t ch = 0; ch < nchunks; ch++)
                potv[t] += ppot[t * nchunks + ch];
        }
        size_t bt = 0;
        for (size_t t = 1; t < trials; t++)
            if (potv[t] < potv[bt])
                bt = t;
        pot = potv[bt];
        memcpy(closest, cd + bt * n, n * sizeof *closest);
        for (size_t j = 0; j < d; j++)
            c[ci * d + j] = x[cand[bt] * d + j];
    }
}

/* --- the fit ------------------------------------------------------------------------- */

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
    for (size_t i = 0; o->init && i < (size_t)o->k * d; i++)
        if (!isfinite(o->init[i]))
            return err_set(err, MLWB_ERR_INVALID, "kmeans: initial centre %zu column %zu is"
                           " not finite", i / d, i % d);
    for (size_t i = 0; i < n * d; i++)
        if (!isfinite(x[i]))
            return err_set(err, MLWB_ERR_INVALID, "kmeans: row %zu column %zu is not finite",
                           i / d, i % d);
    size_t k = (size_t)o->k;
    int n_init = o->n_init && !o->init ? o->n_init : 1;
    int max_iter = o->max_iter ? o->max_iter : KM_MAX_ITER;
    double tol = o->tol == 0 ? KM_TOL : o->tol < 0 ? 0 : o->tol;
    int nthreads = par_threads();
    size_t trials = 2 + (size_t)log((double)k);
    if (trials > 64)
        trials = 64;

    /* tol scaled by the mean column variance (population), as scikit-learn */
    double mvar = 0;
    for (size_t j = 0; j < d; j++) {
        double m = 0, v = 0;
        for (size_t i = 0; i < n; i++)
            m += x[i * d + j];
        m /= (double)n;
        for (size_t i = 0; i < n; i++) {
            double t = x[i * d + j] - m;
            v += t * t;
        }
        mvar += v / (double)n;
    }
    double tol_abs = tol * mvar / (double)d;

    mlwb_status st = MLWB_OK;
    km_run r = {.x = x, .n = n, .d = d, .k = k};
    double *cum = NULL, *cd = NULL, *closest = NULL, *best_c = NULL, *ppot = NULL;
    int32_t *best_lab = NULL;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (n > SIZE_MAX / sizeof(double) / 64 || d > SIZE_MAX / sizeof(double) / n) {
        st = err_set(err, MLWB_ERR_NOMEM, "kmeans: %zu rows x %zu columns is too large", n, d);
        goto done;
    }
    r.c = malloc(k * d * sizeof *r.c);
    r.sum = malloc(k * d * sizeof *r.sum);
    r.count = malloc(k * sizeof *r.count);
    r.move = malloc(k * sizeof *r.move);
    r.s = malloc(k * sizeof *r.s);
    r.lab = malloc(n * sizeof *r.lab);
    r.u = malloc(n * sizeof *r.u);
    r.l = malloc(n * sizeof *r.l);
    r.changed = calloc((size_t)nthreads, sizeof *r.changed);
    cum = malloc(n * sizeof *cum);
    closest = malloc(n * sizeof *closest);
    cd = malloc(trials * n * sizeof *cd);
    ppot = malloc(trials * ((n + KM_PP_CHUNK - 1) / KM_PP_CHUNK) * sizeof *ppot);
    best_c = malloc(k * d * sizeof *best_c);
    best_lab = malloc(n * sizeof *best_lab);
    if (!rng || !r.c || !r.sum || !r.count || !r.move || !r.s || !r.lab || !r.u || !r.l ||
        !r.changed || !cum || !closest || !cd || !ppot || !best_c || !best_lab) {
        st = err_set(err, MLWB_ERR_NOMEM, "kmeans: out of memory for %zu rows x %zu columns,"
                     " k=%zu", n, d, k);
        goto done;
    }
    gsl_rng_set(rng, o->seed);

    double best_inertia = INFINITY;
    for (int init = 0; init < n_init; init++) {
        if (o->init)
            for (size_t i = 0; i < k * d; i++)
                r.c[i] = o->init[i];
        else
            km_plusplus(x, n, d, k, rng, r.c, closest, cum, cd, ppot);
        int it = 0, conv = 0, strict = 0, reseeds = 0;
        while (it < max_iter) {
            it++;
            size_t ch = km_assign(&r, it == 1, nthreads);
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
            km_assign(&r, it == 0, nthreads);
        double inertia = 0;
        for (size_t i = 0; i < n; i++)
            inertia += km_dist2(x + i * d, r.c + (size_t)r.lab[i] * d, d);
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
    free(cum);
    free(closest);
    free(cd);
    free(ppot);
    free(best_c);
    free(best_lab);
    return st;
}
