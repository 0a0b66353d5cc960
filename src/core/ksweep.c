/*
 * ksweep.c — the k-means k-sweep and its choices (see ksweep.h).
 *
 * Design: one km_fit per k, in order, then the scores of that clustering; the silhouette
 * sample (rows and their float values) is drawn once before the first k so every k is
 * scored on the same rows.  The choices are recomputed from the points so far after each
 * k, so a cancelled or still-running sweep shows consistent figures.
 */
#include "mlwb/core/ksweep.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlwb/core/cluster_scores.h"
#include "mlwb/core/kmeans.h"

static double ks_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void km_sweep_clear(km_sweep_result *r)
{
    if (r->points) {
        for (int i = 0; i <= r->kmax - r->kmin; i++) {
            free(r->points[i].centroids);
            free(r->points[i].sizes);
        }
        free(r->points);
    }
    memset(r, 0, sizeof *r);
}

const km_sweep_point *km_sweep_at(const km_sweep_result *r, int k)
{
    if (!r->points || k < r->kmin || k >= r->kmin + r->done)
        return NULL;
    return &r->points[k - r->kmin];
}

int km_elbow(const int *k, const double *inertia, int n)
{
    if (n < 3 || k[n - 1] == k[0])
        return 0;
    double lo = inertia[0], hi = inertia[0];
    for (int i = 1; i < n; i++) {
        lo = inertia[i] < lo ? inertia[i] : lo;
        hi = inertia[i] > hi ? inertia[i] : hi;
    }
    if (!(hi > lo))
        return 0;
    int best = 0;
    double bd = 0;
    for (int i = 1; i < n - 1; i++) {
        double x = (double)(k[i] - k[0]) / (double)(k[n - 1] - k[0]);
        double y = (inertia[i] - lo) / (hi - lo);
        double dist = (1 - x) - y;
        if (dist > bd + 1e-12) {
            bd = dist;
            best = k[i];
        }
    }
    return best;
}

/* The choices from points[0 .. done-1]. */
static void ks_choose(km_sweep_result *r)
{
    int n = r->done;
    int *ks = malloc((size_t)(n > 0 ? n : 1) * sizeof *ks);
    double *in = malloc((size_t)(n > 0 ? n : 1) * sizeof *in);
    r->best_silhouette_k = 0;
    double best = -INFINITY;
    for (int i = 0; i < n; i++) {
        const km_sweep_point *p = &r->points[i];
        ks[i] = p->k;
        in[i] = p->inertia;
        if (isfinite(p->silhouette) && p->silhouette > best) {
            best = p->silhouette;
            r->best_silhouette_k = p->k;
        }
    }
    r->elbow_k = ks && in ? km_elbow(ks, in, n) : 0;
    free(ks);
    free(in);
}

typedef struct ks_cancel {
    const km_sweep_opts *o;
    void *ud;
} ks_cancel;

static int ks_iter(void *ud, int init, int iter, double shift)
{
    (void)init, (void)iter, (void)shift;
    ks_cancel *c = ud;
    return c->o->cancelled ? c->o->cancelled(c->ud) : 0;
}

/* A score, or NaN where it is not defined (one cluster, too few rows). */
static double ks_score(mlwb_status (*fn)(const float *, size_t, size_t, const int32_t *,
                                         double *, char **),
                       const float *x, size_t n, size_t d, const int32_t *lab,
                       mlwb_status *fatal, char **err)
{
    double s = NAN;
    char *e = NULL;
    mlwb_status rc = fn(x, n, d, lab, &s, &e);
    if (rc == MLWB_ERR_NOMEM) {
        *fatal = rc;
        err_set(err, rc, "%s", e ? e : "out of memory");
    }
    free(e);
    return rc == MLWB_OK ? s : NAN;
}

static mlwb_status ks_silhouette(const float *x, size_t n, size_t d, const int32_t *lab,
                                 double *s, char **err)
{
    return cs_silhouette(x, n, d, lab, s, NULL, err);
}

static double ks_external(mlwb_status (*fn)(const int32_t *, const int32_t *, size_t,
                                            double *, char **),
                          const int32_t *t, const int32_t *p, size_t n)
{
    double s = NAN;
    char *e = NULL;
    if (fn(t, p, n, &s, &e) != MLWB_OK)
        s = NAN;
    free(e);
    return s;
}

mlwb_status km_sweep(const float *x, size_t n, size_t d, const km_sweep_opts *o,
                     km_sweep_result *out, km_sweep_fn progress, void *ud, char **err)
{
    memset(out, 0, sizeof *out);
    int kmin = o->kmin ? o->kmin : KM_SWEEP_KMIN;
    int kmax = o->kmax ? o->kmax : KM_SWEEP_KMAX;
    size_t cap = o->sample ? o->sample : KM_SWEEP_SAMPLE;
    if (n < 2 || d < 1)
        return err_set(err, MLWB_ERR_INVALID, "k-means needs at least 2 rows and 1 feature "
                       "(the data has %zu rows, %zu features)", n, d);
    if (kmin < 1)
        return err_set(err, MLWB_ERR_INVALID, "kmin=%d: must be at least 1", kmin);
    if ((size_t)kmin > n)
        return err_set(err, MLWB_ERR_INVALID, "kmin=%d is more than the %zu rows", kmin, n);
    if (kmax < kmin)
        return err_set(err, MLWB_ERR_INVALID, "kmax=%d is below kmin=%d", kmax, kmin);
    if (kmax > kmin && (size_t)kmax > n - 1)
        kmax = (int)(n - 1) > kmin ? (int)(n - 1) : kmin;
    if (o->n_init < 0 || o->max_iter < 0)
        return err_set(err, MLWB_ERR_INVALID, "n_init and max_iter must not be negative");
    if (cap < 2)
        return err_set(err, MLWB_ERR_INVALID, "the silhouette sample needs at least 2 rows");

    out->kmin = kmin;
    out->kmax = kmax;
    out->n = n;
    out->d = d;
    out->has_truth = o->truth != NULL;
    out->sample_seed = o->sample_seed;
    out->points = calloc((size_t)(kmax - kmin + 1), sizeof *out->points);
    int32_t *labels = NULL, *slab = NULL;
    float *sx = NULL;
    size_t *sidx = NULL;
    mlwb_status rc = MLWB_OK;
    if (!out->points)
        goto nomem;

    /* The silhouette's rows: all of them, or one seeded sample for every k. */
    size_t sn = n <= cap ? n : cap;
    out->silhouette_rows = sn;
    if (sn < n) {
        size_t *all = malloc(n * sizeof *all);
        sidx = malloc(sn * sizeof *sidx);
        sx = malloc(sn * d * sizeof *sx);
        slab = malloc(sn * sizeof *slab);
        gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
        if (!all || !sidx || !sx || !slab || !rng) {
            if (rng)
                gsl_rng_free(rng);
            free(all);
            goto nomem;
        }
        gsl_rng_set(rng, o->sample_seed);
        for (size_t i = 0; i < n; i++)
            all[i] = i;
        /* gsl_ran_choose keeps the chosen rows in increasing order */
        gsl_ran_choose(rng, sidx, sn, all, n, sizeof *sidx);
        gsl_rng_free(rng);
        free(all);
        for (size_t i = 0; i < sn; i++)
            memcpy(sx + i * d, x + sidx[i] * d, d * sizeof *sx);
    }

    ks_cancel cc = {o, ud};
    for (int k = kmin; k <= kmax; k++) {
        km_sweep_point *p = &out->points[k - kmin];
        double t0 = ks_now();
        km_opts ko = {.k = k, .n_init = o->n_init ? o->n_init : KM_SWEEP_NINIT,
                      .max_iter = o->max_iter, .tol = o->tol, .seed = o->seed};
        km_result kr = {0};
        if ((rc = km_fit(x, n, d, &ko, &kr, ks_iter, &cc, err)) != MLWB_OK)
            goto out;
        p->k = k;
        p->inertia = kr.inertia;
        p->iterations = kr.iterations;
        p->converged = kr.converged;
        p->reseeds = kr.reseeds;
        p->centroids = kr.centroids;  /* taken over */
        kr.centroids = NULL;
        free(labels);
        labels = kr.labels;
        kr.labels = NULL;
        km_result_clear(&kr);
        if (!(p->sizes = calloc((size_t)k, sizeof *p->sizes)))
            goto nomem;
        for (size_t i = 0; i < n; i++)
            p->sizes[labels[i]]++;
        mlwb_status fatal = MLWB_OK;
        if (sx) {
            for (size_t i = 0; i < sn; i++)
                slab[i] = labels[sidx[i]];
            p->silhouette = ks_score(ks_silhouette, sx, sn, d, slab, &fatal, err);
        } else {
            p->silhouette = ks_score(ks_silhouette, x, n, d, labels, &fatal, err);
        }
        p->calinski_harabasz = ks_score(cs_calinski_harabasz, x, n, d, labels, &fatal, err);
        p->davies_bouldin = ks_score(cs_davies_bouldin, x, n, d, labels, &fatal, err);
        if (fatal) {
            rc = fatal;
            goto out;
        }
        p->ari = o->truth ? ks_external(cs_ari, o->truth, labels, n) : NAN;
        p->nmi = o->truth ? ks_external(cs_nmi, o->truth, labels, n) : NAN;
        p->seconds = ks_now() - t0;
        out->done++;
        ks_choose(out);
        if (progress && progress(ud, out, p)) {
            rc = err_set(err, MLWB_ERR_CANCELLED, "cancelled");
            goto out;
        }
    }
    goto out;
nomem:
    rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
out:
    free(labels);
    free(slab);
    free(sx);
    free(sidx);
    return rc;
}
