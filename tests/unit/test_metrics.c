/* test_metrics.c — classification metrics against values computed by hand (and checked
 * once against scikit-learn 1.2.1: accuracy_score, balanced_accuracy_score,
 * f1_score(average="macro", zero_division=0), precision_recall_fscore_support,
 * confusion_matrix), including classes with no support and classes never predicted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mlwb/core/metrics.h"

/* cmocka here has no assert_double_equal (and assert_float_equal rounds to float) */
#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

#define EPS 1e-12

/* Three classes with errors in every direction, and a fourth class that appears nowhere.
 *   truth 0 0 0 1 1 2 2 2 2 0
 *   pred  0 1 0 1 2 2 2 0 2 1
 * confusion (rows true, columns predicted):  2 2 0 0 / 0 1 1 0 / 1 0 3 0 / 0 0 0 0
 * support 4 2 4 0, predicted 3 3 4 0, tp 2 1 3
 * precision 2/3 1/3 3/4 0, recall 1/2 1/2 3/4 0, F1 = 2tp/(2tp+fp+fn): 4/7 2/5 3/4 0
 * accuracy 6/10; balanced (1/2 + 1/2 + 3/4) / 3 = 7/12; macro-F1 over the 3 present
 * classes (4/7 + 2/5 + 3/4) / 3 = 241/420. */
static void test_three_classes(void **state)
{
    (void)state;
    const int32_t t[] = {0, 0, 0, 1, 1, 2, 2, 2, 2, 0};
    const int32_t p[] = {0, 1, 0, 1, 2, 2, 2, 0, 2, 1};
    metrics_report r;
    assert_int_equal(metrics_compute(t, p, 10, 4, &r, NULL), MLWB_OK);
    assert_int_equal(r.n, 10);
    assert_int_equal(r.nclasses, 4);
    assert_int_equal(r.present, 3);
    assert_int_equal(r.correct, 6);
    assert_near(r.accuracy, 0.6, EPS);
    assert_near(r.balanced_accuracy, 7.0 / 12, EPS);
    assert_near(r.macro_f1, 241.0 / 420, EPS);
    const double prec[] = {2.0 / 3, 1.0 / 3, 0.75, 0}, rec[] = {0.5, 0.5, 0.75, 0},
                 f1[] = {4.0 / 7, 0.4, 0.75, 0};
    const size_t sup[] = {4, 2, 4, 0}, pr[] = {3, 3, 4, 0};
    for (int c = 0; c < 4; c++) {
        assert_near(r.precision[c], prec[c], EPS);
        assert_near(r.recall[c], rec[c], EPS);
        assert_near(r.f1[c], f1[c], EPS);
        assert_int_equal(r.support[c], sup[c]);
        assert_int_equal(r.predicted[c], pr[c]);
    }
    const size_t cm[16] = {2, 2, 0, 0, 0, 1, 1, 0, 1, 0, 3, 0, 0, 0, 0, 0};
    assert_memory_equal(r.confusion, cm, sizeof cm);
    metrics_clear(&r);
    assert_null(r.precision);
    metrics_clear(&r);  /* twice is fine */
}

/* A class that is predicted but has no true row (zero_division=0):
 *   truth 0 0 1 1, pred 0 2 1 1
 * precision 1 1 0, recall 1/2 1 0 (no support), F1 2/3 1 0.
 * balanced accuracy leaves class 2 out: (1/2 + 1) / 2 = 3/4; macro-F1 keeps it (it is
 * predicted): (2/3 + 1 + 0) / 3 = 5/9. */
static void test_predicted_without_support(void **state)
{
    (void)state;
    const int32_t t[] = {0, 0, 1, 1}, p[] = {0, 2, 1, 1};
    metrics_report r;
    assert_int_equal(metrics_compute(t, p, 4, 3, &r, NULL), MLWB_OK);
    assert_int_equal(r.present, 3);
    assert_near(r.accuracy, 0.75, EPS);
    assert_near(r.balanced_accuracy, 0.75, EPS);
    assert_near(r.macro_f1, 5.0 / 9, EPS);
    assert_near(r.precision[0], 1, EPS);
    assert_near(r.precision[2], 0, EPS);
    assert_near(r.recall[0], 0.5, EPS);
    assert_near(r.recall[2], 0, EPS);
    assert_near(r.f1[0], 2.0 / 3, EPS);
    assert_near(r.f1[1], 1, EPS);
    assert_near(r.f1[2], 0, EPS);
    assert_int_equal(r.support[2], 0);
    assert_int_equal(r.predicted[2], 1);
    assert_int_equal(r.confusion[0 * 3 + 2], 1);
    metrics_clear(&r);
}

/* A class with support that is never predicted: precision 0 (0/0), recall 0, F1 0. */
static void test_never_predicted(void **state)
{
    (void)state;
    const int32_t t[] = {0, 1, 1, 2}, p[] = {0, 0, 0, 2};
    metrics_report r;
    assert_int_equal(metrics_compute(t, p, 4, 3, &r, NULL), MLWB_OK);
    assert_near(r.precision[1], 0, EPS);
    assert_near(r.recall[1], 0, EPS);
    assert_near(r.f1[1], 0, EPS);
    /* class 0: tp 1, fp 2 -> precision 1/3, recall 1, F1 2/(2+2) = 1/2 */
    assert_near(r.precision[0], 1.0 / 3, EPS);
    assert_near(r.f1[0], 0.5, EPS);
    assert_near(r.balanced_accuracy, (1.0 + 0 + 1) / 3, EPS);
    assert_near(r.macro_f1, (0.5 + 0 + 1) / 3, EPS);
    assert_near(r.accuracy, 0.5, EPS);
    metrics_clear(&r);
}

static void test_perfect_and_single_class(void **state)
{
    (void)state;
    const int32_t t[] = {1, 1, 1};
    metrics_report r;
    assert_int_equal(metrics_compute(t, t, 3, 2, &r, NULL), MLWB_OK);
    assert_int_equal(r.present, 1);
    assert_near(r.accuracy, 1, EPS);
    assert_near(r.balanced_accuracy, 1, EPS);
    assert_near(r.macro_f1, 1, EPS);
    assert_near(r.f1[0], 0, EPS);  /* absent: reported, not averaged */
    metrics_clear(&r);
}

static void test_rejects_bad_input(void **state)
{
    (void)state;
    const int32_t t[] = {0, 1, 2}, p[] = {0, 1, 3}, neg[] = {0, -1, 0};
    metrics_report r;
    char *err = NULL;
    assert_int_equal(metrics_compute(t, p, 3, 4, &r, NULL), MLWB_OK);
    metrics_clear(&r);
    assert_int_equal(metrics_compute(t, p, 3, 3, &r, &err), MLWB_ERR_INVALID);
    assert_non_null(strstr(err, "row 2"));
    assert_non_null(strstr(err, "predicted class 3"));
    assert_null(r.confusion);
    free(err);
    err = NULL;
    assert_int_equal(metrics_compute(neg, t, 3, 3, &r, &err), MLWB_ERR_INVALID);
    assert_non_null(strstr(err, "true class -1"));
    free(err);
    assert_int_equal(metrics_compute(t, t, 0, 3, &r, NULL), MLWB_ERR_INVALID);
    assert_int_equal(metrics_compute(t, t, 3, 0, &r, NULL), MLWB_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_classes),
        cmocka_unit_test(test_predicted_without_support),
        cmocka_unit_test(test_never_predicted),
        cmocka_unit_test(test_perfect_and_single_class),
        cmocka_unit_test(test_rejects_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
