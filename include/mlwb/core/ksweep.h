/*
 * ksweep.h — the k-means k-sweep: one clustering per k, scored, and the two choices.
 *
 * km_sweep clusters the rows for k = kmin, kmin+1, …, kmax in that order (km_fit with the
 * same options and the same seed for every k, so a sweep's point at k is exactly what a
 * single fit at k with that seed gives) and scores each clustering as soon as it is made:
 * - inertia (km_fit's), iterations, whether it converged;
 * - silhouette (cluster_scores.h), exact over every row when n <= sample (default
 *   10,000), else over one seeded sample of `sample` rows drawn without replacement
 *   (GSL MT19937 seeded with sample_seed, the same rows for every k), with the labels the
 *   clustering gave them;
 * - Calinski–Harabasz and Davies–Bouldin over all rows;
 * - with the true labels (opts.truth), the adjusted Rand index and the normalised mutual
 *   information of the clusters against them;
 * - the cluster sizes and the centroids.
 * A score that is not defined (k = 1, or a sample that holds one cluster) is NaN.
 * After each k the progress callback gets the point (the UI draws the curve filling in).
 *
 * The two choices, recomputed after each point:
 * - best_silhouette_k: the k with the highest silhouette (ties: the smaller k);
 * - elbow_k: the knee of the inertia curve by the kneedle method (Satopää et al. 2011,
 *   without smoothing): with x = (k - kmin) / (kmax - kmin) and
 *   y = (inertia - min) / (max - min) over the points so far, the k that maximises
 *   (1 - x) - y, the distance below the chord from the first point to the last; 0 when
 *   fewer than 3 points or when no point lies strictly below the chord (no elbow).
 *
 * Ownership: the result's arrays belong to it; km_sweep_clear frees them (safe on a
 * zeroed result and twice).  Thread-safety: reentrant; the callback runs on the calling
 * thread.  Compute runs on par_threads() threads (km_fit, cs_silhouette).
 */
#ifndef MLWB_CORE_KSWEEP_H
#define MLWB_CORE_KSWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "mlwb/core/err.h"

#define KM_SWEEP_KMIN 2
#define KM_SWEEP_KMAX 12
#define KM_SWEEP_NINIT 3
#define KM_SWEEP_SAMPLE 10000

typedef struct km_sweep_opts {
    int kmin, kmax;            /* 0: KM_SWEEP_KMIN / KM_SWEEP_KMAX; kmax is lowered to
                                * n - 1 when the data has fewer rows */
    int n_init;                /* restarts per k (0: KM_SWEEP_NINIT) */
    int max_iter;              /* 0: KM_MAX_ITER */
    double tol;                /* 0: KM_TOL (see kmeans.h) */
    unsigned long seed;        /* k-means++ (every k) */
    size_t sample;             /* silhouette sample size (0: KM_SWEEP_SAMPLE) */
    unsigned long sample_seed; /* which rows the sample holds */
    const int32_t *truth;      /* n true labels (>= 0) for ARI/NMI, or NULL */
    int (*cancelled)(void *ud);  /* polled between iterations; may be NULL */
} km_sweep_opts;

typedef struct km_sweep_point {
    int k;
    double inertia, silhouette, calinski_harabasz, davies_bouldin, ari, nmi;
    int iterations, converged, reseeds;
    double seconds;            /* the fit and the scores of this k */
    float *centroids;          /* k * d */
    int64_t *sizes;            /* k: rows per cluster */
} km_sweep_point;

typedef struct km_sweep_result {
    int kmin, kmax;            /* as run (after the defaults and the lowering) */
    int done;                  /* points computed: points[0 .. done-1] are k = kmin .. */
    km_sweep_point *points;    /* kmax - kmin + 1 */
    size_t n, d;
    size_t silhouette_rows;    /* rows the silhouette is over (n when exact) */
    unsigned long sample_seed;
    int has_truth;
    int best_silhouette_k;     /* 0 until a silhouette is known */
    int elbow_k;               /* 0: none (yet) */
} km_sweep_result;

/* After each k; a nonzero return stops the sweep with MLWB_ERR_CANCELLED. */
typedef int (*km_sweep_fn)(void *ud, const km_sweep_result *sofar, const km_sweep_point *p);

/* Errors: MLWB_ERR_INVALID (n < 2, kmin < 1, kmax < kmin, kmin > n, …; the message names
 * the option), MLWB_ERR_NOMEM, MLWB_ERR_CANCELLED.  On an error *out keeps the points
 * already computed (out->done) so a cancelled sweep can still be shown. */
mlwb_status km_sweep(const float *x, size_t n, size_t d, const km_sweep_opts *o,
                     km_sweep_result *out, km_sweep_fn progress, void *ud, char **err);
void km_sweep_clear(km_sweep_result *r);

/* The kneedle elbow of n points (k increasing, inertia) as above; 0 when none. */
int km_elbow(const int *k, const double *inertia, int n);

/* The point for k, or NULL when k was not (yet) computed. */
const km_sweep_point *km_sweep_at(const km_sweep_result *r, int k);

#endif
