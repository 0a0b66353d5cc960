/*
 * metrics.h — classification metrics from true and predicted class indices.
 *
 * metrics_compute fills a metrics_report: accuracy, balanced accuracy, macro-F1, and per
 * class precision, recall, F1 and support, plus the confusion matrix (rows = true class,
 * columns = predicted class).  The figures are scikit-learn's (accuracy_score,
 * balanced_accuracy_score, precision_recall_fscore_support, f1_score(average="macro"),
 * confusion_matrix), with these rules for classes that are missing:
 *
 * - zero_division=0: a ratio whose denominator is zero is 0 (sklearn's zero_division=0;
 *   its default "warn" gives the same numbers).  So a class never predicted has
 *   precision 0, a class with no support (no true row) has recall 0, and F1 is 0 when
 *   precision + recall is 0.
 * - balanced accuracy is the mean recall over the classes with support (sklearn drops
 *   the others from the mean, with a warning, when they are predicted).
 * - macro-F1 is the mean F1 over the classes that are *present*: in the true labels or
 *   in the predictions (sklearn's unique_labels(y_true, y_pred)).  A class in neither
 *   is reported (support 0, all figures 0) but not averaged.
 *
 * Ownership: metrics_compute allocates the arrays of the report it fills;
 * metrics_clear frees them and zeroes the report (safe on a zeroed report, and twice).
 * Thread-safety: reentrant.
 */
#ifndef MLWB_CORE_METRICS_H
#define MLWB_CORE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "mlwb/core/err.h"

typedef struct metrics_report {
    size_t n;                  /* rows scored */
    size_t nclasses;           /* classes 0 .. nclasses-1 */
    size_t present;            /* classes in the true labels or the predictions */
    size_t correct;            /* rows with pred == true */
    double accuracy;           /* correct / n */
    double balanced_accuracy;  /* mean recall over the classes with support */
    double macro_f1;           /* mean F1 over the present classes */
    double *precision;         /* [nclasses]: tp / predicted, 0 when never predicted */
    double *recall;            /* [nclasses]: tp / support, 0 when no support */
    double *f1;                /* [nclasses]: 2 tp / (2 tp + fp + fn), 0 when absent */
    size_t *support;           /* [nclasses]: rows whose true class is c */
    size_t *predicted;         /* [nclasses]: rows predicted as c */
    size_t *confusion;         /* [nclasses * nclasses]: confusion[t * nclasses + p] */
} metrics_report;

/* Score n >= 1 rows: truth[i] and pred[i] are class indices in [0, nclasses).  An index
 * out of range, n == 0 or nclasses == 0 is MLWB_ERR_INVALID (the message names the row);
 * MLWB_ERR_NOMEM when nclasses^2 counts do not fit.  *out is overwritten (not freed). */
mlwb_status metrics_compute(const int32_t *truth, const int32_t *pred, size_t n,
                            size_t nclasses, metrics_report *out, char **err);

void metrics_clear(metrics_report *r);

#endif
