/*
 * cluster_scores.h — internal and external scores of a clustering, as scikit-learn's.
 *
 * Labels are any non-negative int32 values; they are renumbered to 0..m-1 in increasing
 * order (scikit-learn's LabelEncoder), so label values that occur nowhere do not count.
 * Every figure is computed in double from the float32 rows; Euclidean distances.
 *
 * Internal scores (rows x, n rows of d floats; m clusters, n_c rows in cluster c with
 * mean μ_c; μ the mean of all rows):
 * - silhouette (sklearn.metrics.silhouette_score): for row i in cluster c,
 *     a(i) = Σ_{j in c, j≠i} |x_i - x_j| / (n_c - 1),
 *     b(i) = min over c' ≠ c of Σ_{j in c'} |x_i - x_j| / n_c',
 *     s(i) = (b - a) / max(a, b), and s(i) = 0 when n_c = 1 (also when a = b = 0);
 *   the score is the mean of s(i) over all rows.  Needs 2 <= m <= n - 1.  Exact, O(n² d):
 *   the rows are centred (column means subtracted) and sorted by cluster; the pairwise
 *   distances are computed in blocks with one cblas_sgemm per block, sqrt of
 *   |a|² - 2 a·b + |b|² clamped at 0, in float, and each row's per-cluster sums of
 *   them are accumulated in double.  Agrees with scikit-learn (float64) to ~1e-8 on
 *   iris.  Memory: n x m doubles for the sums plus 256 KiB of scratch per thread.
 *   Blocks of rows are spread over par_threads() threads (par_for).
 * - Calinski–Harabasz (calinski_harabasz_score):
 *     CH = [Σ_c n_c |μ_c - μ|² / (m - 1)] / [Σ_c Σ_{i in c} |x_i - μ_c|² / (n - m)],
 *   and 1 when the within-cluster sum is 0.  Needs 2 <= m <= n - 1.
 * - Davies–Bouldin (davies_bouldin_score): with S_c = mean over i in c of |x_i - μ_c|
 *   and M_cc' = |μ_c - μ_c'|,
 *     DB = (1/m) Σ_c max_{c'≠c} (S_c + S_c') / M_cc'   (a term with M_cc' = 0 counts 0),
 *   and 0 when every S_c or every M_cc' is within 1e-8 of 0.  Needs 2 <= m <= n - 1.
 *
 * External scores of two labelings t and p of the same n rows, from the contingency
 * table n_uv (rows with t = u and p = v), row sums a_u, column sums b_v:
 * - adjusted Rand index (adjusted_rand_score), from the pair confusion matrix
 *   tp = Σ n_uv² - n, fp = Σ b_v² - Σ n_uv², fn = Σ a_u² - Σ n_uv², tn = n² - tp - fp - fn - n:
 *     ARI = 2 (tp tn - fn fp) / ((tp + fn)(fn + tn) + (tp + fp)(fp + tn)),
 *   and 1 when fn = fp = 0 (identical partitions, including all rows in one cluster).
 * - normalised mutual information (normalized_mutual_info_score, average_method=
 *   "arithmetic"):  MI = Σ n_uv/n ln(n n_uv / (a_u b_v)),  H(t) = -Σ a_u/n ln(a_u/n),
 *     NMI = MI / ((H(t) + H(p)) / 2);
 *   1 when both labelings have one cluster, 0 when MI = 0.
 *
 * Errors: MLWB_ERR_INVALID (n = 0, d = 0, a negative label, a cluster count outside the
 * range above), MLWB_ERR_NOMEM.  Thread-safety: reentrant.  The silhouette sets OpenBLAS
 * to one thread of its own (once per process), since par_for already uses the cores.
 */
#ifndef MLWB_CORE_CLUSTER_SCORES_H
#define MLWB_CORE_CLUSTER_SCORES_H

#include <stddef.h>
#include <stdint.h>

#include "mlwb/core/err.h"

/* per_row (may be NULL): n entries, s(i) of each row. */
mlwb_status cs_silhouette(const float *x, size_t n, size_t d, const int32_t *labels,
                          double *score, double *per_row, char **err);
mlwb_status cs_calinski_harabasz(const float *x, size_t n, size_t d, const int32_t *labels,
                                 double *score, char **err);
mlwb_status cs_davies_bouldin(const float *x, size_t n, size_t d, const int32_t *labels,
                              double *score, char **err);
mlwb_status cs_ari(const int32_t *truth, const int32_t *pred, size_t n, double *score,
                   char **err);
mlwb_status cs_nmi(const int32_t *truth, const int32_t *pred, size_t n, double *score,
                   char **err);

#endif
