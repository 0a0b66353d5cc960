/*
 * tune.h — the whole k-curve of a KNN classifier from one neighbour search per row.
 *
 * knn_curve cross-validates KNN for every k = 1..kmax at the price of one k: for each
 * fold it builds one index over the training part (scaled, when asked, with a z-score
 * fitted on that part only), searches each held-out row's kmax+1 nearest neighbours
 * ONCE (knn_index_search), then reads the vote for every k off that sorted list,
 * adding one neighbour at a time to running class counts (or weights).  The cost is
 * one search per held-out row, not one per k.
 *
 * Folds.  Stratified: the rows of each class, shuffled with GSL's MT19937 seeded with
 * `seed`, are dealt round-robin to the folds, one class after the other, the deal
 * continuing where the previous class stopped, so fold sizes differ by at most one and
 * every class is spread evenly.  The same data, fold count and seed give the same folds
 * (knn_curve_folds exposes them).  Or leave-one-out: one index over all rows, each row
 * searched with itself excluded.  Or the caller's own assignment (opts.fold_of).
 *
 * The figures, for each k:
 * - mean: the mean over folds of the fold's accuracy (each fold weighs the same, as
 *   scikit-learn's GridSearchCV mean_test_score).  Leave-one-out: the share of rows
 *   predicted correctly.
 * - sd: the sample standard deviation (n - 1) of the fold accuracies; 0 with one fold.
 *   Leave-one-out treats each row as a fold whose accuracy is 0 or 1, so sd is the
 *   sample sd of the n per-row outcomes, sqrt(p (1 - p) n / (n - 1)) for accuracy p.
 * - se = sd / sqrt(folds): the standard error of the mean (leave-one-out:
 *   sqrt(p (1 - p) / (n - 1))).
 * - best_k: the k with the highest mean (ties: the smaller k); k_1se: the smallest k
 *   whose mean is at least mean(best_k) - se(best_k) (the one-standard-error rule).
 *
 * Tie rule (the same as knn.c; deterministic for any thread count):
 * - Among neighbours at equal distance the one with the lower row index (the data
 *   set's order; training parts keep it) is nearer (knn_index_search).
 * - Among classes with equal votes (or equal summed weights) the lower class index wins.
 *   scikit-learn breaks vote ties the same way (its classes_ are sorted, as ours are);
 *   its order among equal distances depends on its algorithm (kd-tree or brute force)
 *   and is not specified, so where the k-th and (k+1)-th neighbours tie, sklearn and
 *   mlwb may pick different neighbours.
 * Weights: uniform (one vote each) or distance (1/d; when some of the k neighbours are
 * at distance 0, those alone vote, with weight 1 each — scikit-learn's rule; when all
 * are infinitely far, one each) — knn.c's vote, so the curve at k predicts what a model
 * with that k predicts.
 *
 * Ties are counted, per k, over the held-out rows (knn_curve_point):
 * - vote_ties: two or more classes share the top count (or weight);
 * - dist_ties: the k-th and (k+1)-th nearest are tied in distance.  Distances count as
 *   tied when they differ by no more than float32 storage and rounding can move them:
 *   eps * (|q| + (|a| + |b|) / 2 + d_b) for Euclidean (L2 norms |.| of the query and
 *   the two rows, eps = FLT_EPSILON, after scaling), the same with L1 norms for
 *   Manhattan, eps * (4 + d_b) for cosine.  Data written with a few decimals has exact
 *   ties (in decimal) that float32 turns into differences of a few ulps; this catches
 *   them (and the rare distinct distances that float32 cannot tell apart);
 * - set_ties: distance ties where the choice matters: which of the tied neighbours
 *   (those chained within the tolerance across the k boundary) are among the k nearest
 *   may change the winner.  With uniform votes this is decided by counting, for each
 *   class, the fewest and the most votes any choice gives it; with distance weights
 *   (unless only exact matches vote) and for a run that may go on past the searched
 *   list, any tie that holds two classes counts;
 * - tie_rows: rows whose prediction at k may depend on a tie-breaking rule: a vote tie
 *   or a set tie.  Against scikit-learn only set ties can make a difference, since both
 *   break vote ties alike (tests/oracle/README.md has the counts for four data sets).
 *
 * Scaling: scale=zscore fits the mean and the population sd (sklearn's StandardScaler;
 * a constant column is only centred) on each fold's training part and applies them to
 * that fold's training and held-out rows, (x - mean) / sd, exactly as knn_fit does.
 * Leave-one-out with scale=zscore is refused (MLWB_ERR_INVALID): one index over all rows
 * would fit the scaling on the held-out row.
 *
 * Ownership: knn_curve fills a caller-owned knn_curve_result and allocates its arrays;
 * knn_curve_clear frees them and zeroes it (safe on a zeroed result, and twice).
 * Thread-safety: reentrant; one call searches and votes on par_threads() threads
 * (par_for) and returns when they are done; the progress callback runs on the calling
 * thread.
 */
#ifndef MLWB_CORE_TUNE_H
#define MLWB_CORE_TUNE_H

#include <stddef.h>
#include <stdint.h>

#include "mlwb/core/dataset.h"
#include "mlwb/core/err.h"
#include "mlwb/core/knn.h"
#include "mlwb/core/knn_search.h"

#define KNN_CURVE_KMAX 50  /* default kmax */
#define KNN_CURVE_FOLDS 5  /* default folds */

/* Zero-initialised options mean: kmax 50, 5 stratified folds, seed 0, Euclidean,
 * uniform, no scaling. */
typedef struct knn_curve_opts {
    int kmax;              /* the largest k; 0 = KNN_CURVE_KMAX.  Capped to the smallest
                            * training part (leave-one-out: rows - 1); the result's kmax
                            * says what was used */
    int folds;             /* 0 = KNN_CURVE_FOLDS; 2 .. rows (1 .. with fold_of) */
    int loo;               /* nonzero: leave-one-out (folds and fold_of are ignored) */
    unsigned long seed;    /* the fold shuffle (GSL MT19937; 0 is GSL's default seed) */
    knn_metric metric;
    int weights;           /* KNN_UNIFORM (0) or KNN_DISTANCE */
    int scale;             /* KNN_SCALE_NONE (0) or KNN_SCALE_ZSCORE */
    const int32_t *fold_of;  /* optional, rows entries: row i is held out in fold
                              * fold_of[i] (0 .. folds-1) or, for -1, is in every
                              * training part.  Every fold needs a held-out row and a
                              * training row.  NULL = stratified folds from seed */
    int keep_predictions;  /* nonzero: fill the result's pred and tie arrays */
} knn_curve_opts;

/* Flags of knn_curve_result.tie */
#define KNN_TIE_VOTE 1u  /* vote tie at this k */
#define KNN_TIE_DIST 2u  /* the k-th and (k+1)-th nearest are tied in distance */
#define KNN_TIE_SET 4u   /* ... and which of the tied are taken may change the winner */

typedef struct knn_curve_point {
    int k;
    double mean, sd, se;  /* accuracy over the folds done; see the top of this file */
    size_t vote_ties;     /* held-out rows with a vote tie at this k */
    size_t dist_ties;     /* held-out rows with a distance tie at the k boundary */
    size_t set_ties;      /* ... of which the choice may change the winner */
    size_t tie_rows;      /* held-out rows with a vote tie or a set tie: the prediction
                           * may depend on a tie-breaking rule */
} knn_curve_point;

typedef struct knn_curve_result {
    knn_metric metric;
    int weights;           /* KNN_UNIFORM (0) or KNN_DISTANCE */
    int scale;             /* KNN_SCALE_NONE (0) or KNN_SCALE_ZSCORE */
    int loo;
    unsigned long seed;
    size_t rows, nclasses;
    int kmax;              /* as used (after the cap) */
    int folds;             /* folds (leave-one-out: rows) */
    int folds_done;        /* folds (leave-one-out: rows) in the figures so far */
    knn_curve_point *points;  /* kmax entries: points[k - 1] */
    int best_k, k_1se;     /* 0 until a fold is done */
    double *fold_acc;      /* k-fold: folds * kmax, the accuracy of fold f at k is
                            * fold_acc[f * kmax + k - 1]; NULL for leave-one-out */
    int32_t *pred;         /* keep_predictions: rows * kmax out-of-fold predictions,
                            * pred[i * kmax + k - 1]; -1 for a row never held out */
    uint8_t *tie;          /* keep_predictions: rows * kmax KNN_TIE_* flags */
} knn_curve_result;

/* Called on the calling thread after each fold (the result's folds_done went up: the
 * figures are the curve over the folds done, ready to draw) and between blocks of
 * held-out rows within a fold (folds_done unchanged); `fraction` is the share of the
 * held-out rows done.  Leave-one-out counts rows as folds and calls it after each
 * block of rows.  The result must not be kept past the call.  A nonzero return stops
 * knn_curve with MLWB_ERR_CANCELLED. */
typedef int (*knn_curve_fn)(void *ud, const knn_curve_result *sofar, double fraction);

/* The curve of d (labelled, two or more classes) with options o (NULL = defaults)
 * into *out; progress may be NULL.  Errors: MLWB_ERR_INVALID (bad options, data set),
 * MLWB_ERR_NOMEM, MLWB_ERR_CANCELLED.  On an error *out is cleared. */
mlwb_status knn_curve(const ds *d, const knn_curve_opts *o, knn_curve_result *out,
                      knn_curve_fn progress, void *ud, char **err);

void knn_curve_clear(knn_curve_result *c);

/* The stratified folds knn_curve uses for `folds` and `seed`: fold[i] in 0..folds-1
 * for each of d's rows.  MLWB_ERR_INVALID when d has no labels or folds is not in
 * 2 .. rows; MLWB_ERR_NOMEM. */
mlwb_status knn_curve_folds(const ds *d, int folds, unsigned long seed, int32_t *fold,
                            char **err);

#endif
