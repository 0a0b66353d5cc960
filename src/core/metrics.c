/*
 * metrics.c — classification metrics (see mlwb/core/metrics.h).
 *
 * Design: one pass over the rows fills the confusion matrix; every other figure is read
 * off it (support = row sums, predicted = column sums, tp = the diagonal).  Integer
 * counts throughout, so the figures do not depend on the order of the rows.
 */
#include "mlwb/core/metrics.h"

#include <stdlib.h>
#include <string.h>

/* a / b, or 0 when b is 0 (sklearn's zero_division=0) */
static double metrics_ratio(double a, double b)
{
    return b > 0 ? a / b : 0.0;
}

mlwb_status metrics_compute(const int32_t *truth, const int32_t *pred, size_t n,
                            size_t nclasses, metrics_report *out, char **err)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return err_set(err, MLWB_ERR_INVALID, "metrics: no rows to score");
    if (nclasses == 0)
        return err_set(err, MLWB_ERR_INVALID, "metrics: no classes");
    for (size_t i = 0; i < n; i++) {
        if (truth[i] < 0 || (size_t)truth[i] >= nclasses)
            return err_set(err, MLWB_ERR_INVALID,
                           "metrics: row %zu: true class %d is not in 0 .. %zu", i,
                           (int)truth[i], nclasses - 1);
        if (pred[i] < 0 || (size_t)pred[i] >= nclasses)
            return err_set(err, MLWB_ERR_INVALID,
                           "metrics: row %zu: predicted class %d is not in 0 .. %zu", i,
                           (int)pred[i], nclasses - 1);
    }
    if (nclasses > SIZE_MAX / sizeof(size_t) / nclasses)
        return err_set(err, MLWB_ERR_NOMEM, "metrics: %zu classes: too many", nclasses);
    metrics_report r = {.n = n, .nclasses = nclasses};
    r.precision = malloc(nclasses * sizeof *r.precision);
    r.recall = malloc(nclasses * sizeof *r.recall);
    r.f1 = malloc(nclasses * sizeof *r.f1);
    r.support = calloc(nclasses, sizeof *r.support);
    r.predicted = calloc(nclasses, sizeof *r.predicted);
    r.confusion = calloc(nclasses * nclasses, sizeof *r.confusion);
    if (!r.precision || !r.recall || !r.f1 || !r.support || !r.predicted || !r.confusion) {
        metrics_clear(&r);
        return err_set(err, MLWB_ERR_NOMEM, "metrics: out of memory for %zu classes", nclasses);
    }
    for (size_t i = 0; i < n; i++)
        r.confusion[(size_t)truth[i] * nclasses + (size_t)pred[i]]++;
    for (size_t t = 0; t < nclasses; t++)
        for (size_t p = 0; p < nclasses; p++) {
            size_t c = r.confusion[t * nclasses + p];
            r.support[t] += c;
            r.predicted[p] += c;
        }
    double recall_sum = 0, f1_sum = 0;
    size_t with_support = 0;
    for (size_t c = 0; c < nclasses; c++) {
        size_t tp = r.confusion[c * nclasses + c];
        size_t fp = r.predicted[c] - tp, fn = r.support[c] - tp;
        r.correct += tp;
        r.precision[c] = metrics_ratio((double)tp, (double)r.predicted[c]);
        r.recall[c] = metrics_ratio((double)tp, (double)r.support[c]);
        r.f1[c] = metrics_ratio(2.0 * (double)tp, (double)(2 * tp + fp + fn));
        if (r.support[c] > 0) {
            with_support++;
            recall_sum += r.recall[c];
        }
        if (r.support[c] > 0 || r.predicted[c] > 0) {
            r.present++;
            f1_sum += r.f1[c];
        }
    }
    r.accuracy = (double)r.correct / (double)n;
    r.balanced_accuracy = metrics_ratio(recall_sum, (double)with_support);
    r.macro_f1 = metrics_ratio(f1_sum, (double)r.present);
    *out = r;
    return MLWB_OK;
}

void metrics_clear(metrics_report *r)
{
    free(r->precision);
    free(r->recall);
    free(r->f1);
    free(r->support);
    free(r->predicted);
    free(r->confusion);
    memset(r, 0, sizeof *r);
}
