/*
 * knn_search.h — exact k-nearest-neighbour search over a fixed set of rows.
 *
 * A knn_index owns a copy of its rows (float32, row-major) and whatever it precomputes
 * (squared norms for the BLAS path, a tree for low dimensions); it is immutable after
 * knn_index_build, so any number of threads may search it at once.
 *
 * Results are exact and deterministic: for each query the k nearest rows sorted by
 * distance, ties broken by the lower row index, whatever the thread count, block size
 * or search method (brute force with sgemm, or a tree) — candidates found with the
 * fast ‖q‖² − 2 q·x + ‖x‖² form are re-ranked with exactly computed distances so that
 * rounding never reorders them.  "Exactly computed" means in double from the float
 * inputs: Euclidean sqrt(sum (q_j - x_j)^2), Manhattan sum |q_j - x_j|, cosine
 * 1 - q.x / (|q| |x|) (1 when either is a zero vector); the order is decided on those
 * doubles (a NaN counts as +infinity), and the distances reported are them rounded to
 * float.
 *
 * Thread-safety: build/free from one thread; search from any.  A batch search spreads
 * its queries over par_threads() threads (par_for).  The first knn_index_build sets
 * OpenBLAS to one thread of its own (openblas_set_num_threads(1), once per process):
 * the search calls BLAS from par_for workers, which already use the cores.
 * MLWB_KNN_KERNEL=brute|tree|blas|avx2 in the environment forces a search method at
 * build time (tests and measurements; the default, auto, picks by shape and CPU).
 */
#ifndef MLWB_CORE_KNN_SEARCH_H
#define MLWB_CORE_KNN_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "mlwb/core/err.h"

typedef enum knn_metric {
    KNN_EUCLIDEAN = 0,
    KNN_MANHATTAN,
    KNN_COSINE  /* 1 - cos(q, x); a zero vector is at distance 1 from everything */
} knn_metric;

typedef struct knn_index knn_index;

/* Copy rows*dims floats from x.  Fails with MLWB_ERR_NOMEM (and a message) when the
 * copy does not fit. */
mlwb_status knn_index_build(const float *x, size_t rows, size_t dims, knn_metric metric,
                            knn_index **out, char **err);
void knn_index_free(knn_index **ix);

size_t knn_index_rows(const knn_index *ix);
size_t knn_index_dims(const knn_index *ix);
knn_metric knn_index_metric(const knn_index *ix);
/* Row i (dims floats) as given to knn_index_build; valid while the index lives. */
const float *knn_index_row(const knn_index *ix, size_t i);

/* The k nearest rows of each of nq queries (row-major, dims floats each): idx[q*k + j]
 * and dist[q*k + j] (the metric's distance: Euclidean, not squared) for j = 0..k-1,
 * nearest first.  k is at most knn_index_rows.  `exclude` (may be NULL) gives for each
 * query one row index to leave out (e.g. the query's own row in leave-one-out), or -1;
 * when fewer than k rows remain, the missing places get idx -1 and dist +infinity.
 * Returns MLWB_ERR_INVALID when k is out of range, MLWB_ERR_NOMEM if scratch space
 * cannot be had. */
mlwb_status knn_index_search(const knn_index *ix, const float *q, size_t nq, int k,
                             const int64_t *exclude, int32_t *idx, float *dist, char **err);

#endif
