/*
 * kmeans.h — k-means clustering: k-means++ start, Lloyd iterations with Hamerly's bounds.
 *
 * km_fit clusters n rows of d floats (row-major) into k clusters.
 *
 * Initialisation: greedy k-means++ as scikit-learn's (the first centre a uniformly drawn
 * row; each next centre the best, by resulting potential, of 2 + floor(ln k) candidates
 * drawn with probability proportional to the squared distance to the nearest centre so
 * far).  Random numbers come from GSL's MT19937 seeded once with o->seed; the n_init
 * restarts draw from the same generator one after the other, so a seed gives the same
 * result on every run and for any thread count.  The potentials, and the cumulative sums
 * the draws search (the first row whose cumulative sum reaches uniform * potential), add
 * the squared distances in chunks of 4096 rows in row order, then chunk by chunk.  A
 * candidate's distance to a row is not computed when the triangle inequality proves it
 * is not below the row's nearest so far (relative slack 1e-8), which changes no figure.
 * The nearest centre and distance k-means++ leaves for each row, computed with the same
 * distances and tie rule as an assignment, are the iterations' first assignment.
 *
 * Iterations: Lloyd's (assign every row to its nearest centre, then move each centre to
 * the mean of its rows), accelerated with Hamerly's bounds: per row an upper bound on the
 * distance to its centre and one lower bound on the distance to any other centre, both
 * moved by the centre shifts; a row whose bounds prove its centre is strictly nearest is
 * skipped.  Every row that is not skipped is re-assigned by computing all k distances,
 * exactly as plain Lloyd does, so the result is the same as plain Lloyd's from the same
 * start (same labels, centroids, iteration count).  Rules shared with plain Lloyd:
 * - distances are computed in double from the float rows and double centres: the
 *   squares of column j are added into partial sum j mod 4 (columns after the last full
 *   group of four into the first), and the distance² is (s0 + s1) + (s2 + s3);
 * - the nearest centre is the one with the smallest distance, ties to the lower index;
 * - an iteration is: assign, then update.  A cluster left empty by the assignment is
 *   re-seeded (in cluster order) with the row farthest from its current centre (distance
 *   to the centre it was assigned to, before the update; ties to the lower row index)
 *   taken from a cluster that keeps at least one row; that row moves to the empty
 *   cluster and becomes its centre.  No centroid is ever NaN;
 * - the run stops when an assignment changes no label (converged), when the total
 *   squared centre shift of an update is <= tol * mean column variance (converged, as
 *   scikit-learn), or after max_iter iterations (not converged);
 * - the centre sums add each cluster's rows in row order (in double, from zero);
 * - when it stopped on the shift or on max_iter, a last assignment makes the labels
 *   those of the final centres.  Inertia is the sum of squared distances of the rows to
 *   their centres, added in chunks of 4096 rows in row order, then chunk by chunk.
 * Bound tests keep a relative slack of 1e-9 so that rounding never skips a row whose
 * nearest centre could have changed.
 *
 * Parallelism: with par_for (par_threads() threads) over fixed blocks: the assignment and
 * the k-means++ passes over blocks of rows, the centre sums over groups of 8 columns (each
 * group adds all rows in row order), the column variances likewise.  Every sum is added
 * in an order fixed by the data, never by the thread count, so results do not depend on
 * it.  The distance loops use AVX2 when the CPU has it (checked at run time;
 * MLWB_KM_KERNEL=scalar forces the baseline build): the same operations in the same
 * order (no FMA), hence the same results to the bit.
 *
 * Ownership: km_fit fills a caller-owned km_result and allocates its arrays;
 * km_result_clear frees them and zeroes it (safe on a zeroed result, and twice).
 * Thread-safety: reentrant; the progress callback runs on the calling thread.
 */
#ifndef MLWB_CORE_KMEANS_H
#define MLWB_CORE_KMEANS_H

#include <stddef.h>
#include <stdint.h>

#include "mlwb/core/err.h"

#define KM_MAX_ITER 300  /* default max_iter */
#define KM_TOL 1e-4      /* default tol */

/* Zero-initialised options mean: k must be set; n_init 1, max_iter 300, tol 1e-4,
 * seed 0 (GSL's default seed). */
typedef struct km_opts {
    int k;                /* clusters, 1 .. n */
    int n_init;           /* restarts, the lowest inertia kept (ties: the first); 0 = 1 */
    int max_iter;         /* 0 = KM_MAX_ITER */
    double tol;           /* relative: the run stops when the summed squared centre shift
                           * is <= tol * the mean of the column variances.  0 = KM_TOL;
                           * negative = stop only when no label changes */
    unsigned long seed;
    const float *init;    /* optional k * d starting centres instead of k-means++ (then
                           * one run: n_init is taken as 1); NULL = k-means++ */
} km_opts;

typedef struct km_result {
    size_t k, d, n;
    float *centroids;     /* k * d, row-major */
    int32_t *labels;      /* n, in 0 .. k-1 */
    double inertia;       /* sum over rows of the squared distance to its centroid */
    int iterations;       /* of the kept run */
    int converged;        /* the kept run converged before max_iter */
    int best_init;        /* which restart was kept (0-based) */
    int reseeds;          /* empty clusters re-seeded in the kept run */
} km_result;

/* Called on the calling thread after each iteration of restart `init`; `shift` is the
 * total squared centre shift of that iteration.  A nonzero return stops km_fit with
 * MLWB_ERR_CANCELLED. */
typedef int (*km_progress_fn)(void *ud, int init, int iter, double shift);

/* Cluster x (n rows of d floats, all finite) with options o into *out; progress may be
 * NULL.  Errors: MLWB_ERR_INVALID (k not in 1..n, d = 0, n_init/max_iter negative, a
 * non-finite value), MLWB_ERR_NOMEM, MLWB_ERR_CANCELLED.  On an error *out is cleared. */
mlwb_status km_fit(const float *x, size_t n, size_t d, const km_opts *o, km_result *out,
                   km_progress_fn progress, void *ud, char **err);

/* The nearest of k centroids (k * d floats) to the row x (ties: the lower index) and the
 * Euclidean distance to it (computed in double).  Either output may be NULL. */
void km_predict(const float *centroids, size_t k, size_t d, const float *x,
                int32_t *cluster, double *distance);

void km_result_clear(km_result *r);

#endif
