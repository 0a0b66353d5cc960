/* test_knn.c — KNN: predictions against an independent sort-based reference, tie rules,
 * cross-validation, and the model blob (round trip; corrupted blobs rejected). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "mlwb/core/csv.h"
#include "mlwb/core/knn.h"
#include "mlwb/core/parfor.h"
#include "mlwb/core/samples.h"

static ds *iris(void)
{
    sample_info s;
    assert_true(sample_find("iris", &s));
    ds *d = NULL;
    assert_int_equal(csv_parse(s.data, s.len, "iris", NULL, &d, NULL), MLWB_OK);
    return d;
}

/* --- an independent reference: sort every row by (distance, index), then vote ---- */
typedef struct ref_pair {
    double d;
    size_t i;
} ref_pair;

static int cmp_pair(const void *a, const void *b)
{
    const ref_pair *x = a, *y = b;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static int ref_predict(const ds *d, const float *q, int k, const int *skip_fold, int fold)
{
    ref_pair *p = malloc(d->rows * sizeof *p);
    size_t n = 0;
    for (size_t i = 0; i < d->rows; i++) {
        if (skip_fold && skip_fold[i] == fold)
            continue;
        float s = 0;  /* the same float arithmetic order as the model */
        for (size_t j = 0; j < d->cols; j++) {
            float t = q[j] - d->x[i * d->cols + j];
            s += t * t;
        }
        p[n++] = (ref_pair){s, i};
    }
    qsort(p, n, sizeof *p, cmp_pair);
    int votes[64] = {0};
    for (int t = 0; t < k && (size_t)t < n; t++)
        votes[d->y[p[t].i]]++;
    int best = 0;
    for (size_t c = 1; c < d->nclasses; c++)
        if (votes[c] > votes[best])
            best = (int)c;
    free(p);
    return best;
}

static void predicts_like_reference(void **state)
{
    ds *d = iris();
    for (int k = 1; k <= 15; k += 2) {
        knn_model *m = NULL;
        knn_params p = {k};
        assert_int_equal(knn_fit(d, &p, &m, NULL), MLWB_OK);
        for (size_t i = 0; i < d->rows; i++) {
            float q[4];
            for (int j = 0; j < 4; j++)  /* a point between rows i and i+1 */
                q[j] = (d->x[i * 4 + j] + d->x[((i + 1) % d->rows) * 4 + j]) / 2;
            int32_t lab;
            float conf;
            knn_predict(m, q, &lab, &conf);
            assert_int_equal(lab, ref_predict(d, q, k, NULL, 0));
            assert_true(conf > 0 && conf <= 1);
        }
        knn_free(&m);
        assert_null(m);
    }
    ds_release(&d);
}

static void known_iris_answers(void **state)
{
    ds *d = iris();
    knn_model *m = NULL;
    knn_params p = {5};
    assert_int_equal(knn_fit(d, &p, &m, NULL), MLWB_OK);
    int32_t lab;
    float conf;
    knn_predict(m, (const float[]){5.1f, 3.5f, 1.4f, 0.2f}, &lab, &conf);
    assert_string_equal(knn_class_name(m, (size_t)lab), "setosa");
    assert_true(conf == 1.0f);
    knn_predict(m, (const float[]){6.7f, 3.0f, 5.2f, 2.3f}, &lab, &conf);
    assert_string_equal(knn_class_name(m, (size_t)lab), "virginica");
    knn_free(&m);
    ds_release(&d);
}

static void ties_are_deterministic(void **state)
{
    /* two rows at the same distance with different classes: the lower row index wins;
     * a 1-1 vote: the lower class wins */
    const char *text = "a,c\n1,b\n-1,a\n";
    ds *d = NULL;
    assert_int_equal(csv_parse(text, strlen(text), "t", NULL, &d, NULL), MLWB_OK);
    knn_model *m = NULL;
    knn_params p1 = {1}, p2 = {2};
    assert_int_equal(knn_fit(d, &p1, &m, NULL), MLWB_OK);
    int32_t lab;
    float conf;
    knn_predict(m, (const float[]){0}, &lab, &conf);
    assert_string_equal(knn_class_name(m, (size_t)lab), "b");  /* row 0 */
    knn_free(&m);
    assert_int_equal(knn_fit(d, &p2, &m, NULL), MLWB_OK);
    knn_predict(m, (const float[]){0}, &lab, &conf);
    assert_string_equal(knn_class_name(m, (size_t)lab), "a");  /* class 0 */
    assert_true(conf == 0.5f);
    knn_free(&m);
    ds_release(&d);
}

static int note_progress(void *ud, double f)
{
    *(double *)ud = f;
    return 0;
}

static int cancel_now(void *ud, double f)
{
    return 1;
}

static void cv_matches_reference(void **state)
{
    ds *d = iris();
    int folds = 5;
    int *fold = malloc(d->rows * sizeof *fold);
    size_t seen[3] = {0};
    for (size_t i = 0; i < d->rows; i++)
        fold[i] = (int)(seen[d->y[i]]++ % (size_t)folds);
    for (int k = 1; k <= 25; k += 4) {
        size_t right = 0;
        for (size_t i = 0; i < d->rows; i++)
            right += ref_predict(d, d->x + i * 4, k, fold, fold[i]) == d->y[i];
        double acc = 0;
        knn_params p = {k};
        par_set_threads(k % 2 ? 2 : 1);
        assert_int_equal(knn_cv_accuracy(d, &p, folds, &acc, NULL, NULL, NULL), MLWB_OK);
        assert_true(acc == (double)right / 150.0);
        assert_true(acc > 0.9);
    }
    par_set_threads(0);
    /* a progress callback sees the end, and can cancel */
    double last = 0, acc = 0;
    knn_params p5 = {5};
    assert_int_equal(knn_cv_accuracy(d, &p5, folds, &acc, note_progress, &last, NULL), MLWB_OK);
    assert_true(last == 1.0);
    char *err = NULL;
    assert_int_equal(knn_cv_accuracy(d, &p5, folds, &acc, cancel_now, NULL, &err),
                     MLWB_ERR_CANCELLED);
    free(err);
    free(fold);
    ds_release(&d);
}

static void bad_params(void **state)
{
    ds *d = iris();
    knn_model *m = NULL;
    char *err = NULL;
    knn_params p = {0};
    assert_int_equal(knn_fit(d, &p, &m, &err), MLWB_ERR_INVALID);
    assert_string_equal(err, "k=0: k must be at least 1");
    p.k = 151;
    assert_int_equal(knn_fit(d, &p, &m, &err), MLWB_ERR_INVALID);
    assert_string_equal(err, "k=151 is larger than the 150 training rows");
    free(err);
    err = NULL;
    const char *one = "a,c\n1,x\n2,x\n";
    ds *d1 = NULL;
    assert_int_equal(csv_parse(one, strlen(one), "t", NULL, &d1, NULL), MLWB_OK);
    p.k = 1;
    assert_int_equal(knn_fit(d1, &p, &m, &err), MLWB_ERR_INVALID);
    assert_string_equal(err, "the data set has a single class ('x'); a classifier needs at least two");
    free(err);
    assert_null(m);
    ds_release(&d1);
    ds_release(&d);
}

static void blob_round_trip_and_corruption(void **state)
{
    ds *d = iris();
    knn_model *m = NULL, *back = NULL;
    knn_params p = {7};
    assert_int_equal(knn_fit(d, &p, &m, NULL), MLWB_OK);
    void *blob = NULL;
    size_t len = 0;
    assert_int_equal(knn_serialize(m, &blob, &len, NULL), MLWB_OK);
    assert_int_equal(knn_deserialize(blob, len, &back, NULL), MLWB_OK);
    assert_int_equal(knn_k(back), 7);
    assert_int_equal(knn_rows(back), 150);
    assert_int_equal(knn_dims(back), 4);
    assert_string_equal(knn_class_name(back, 1), "versicolor");
    assert_string_equal(knn_feature_name(back, 3), "petal_width");
    for (size_t i = 0; i < d->rows; i++) {
        int32_t a, b;
        float ca, cb;
        knn_predict(m, d->x + i * 4, &a, &ca);
        knn_predict(back, d->x + i * 4, &b, &cb);
        assert_int_equal(a, b);
        assert_true(ca == cb);
    }
    knn_free(&back);
    /* every truncation is rejected */
    char *err = NULL;
    for (size_t cut = 0; cut < len; cut += (cut < 64 ? 1 : 97)) {
        assert_int_equal(knn_deserialize(blob, cut, &back, &err), MLWB_ERR_PARSE);
        assert_null(back);
    }
    /* a label out of range is rejected */
    unsigned char *bytes = blob;
    int32_t bad = 9;
    memcpy(bytes + len - 4, &bad, 4);
    assert_int_equal(knn_deserialize(blob, len, &back, &err), MLWB_ERR_PARSE);
    /* a wrong magic */
    bytes[0] = 'X';
    assert_int_equal(knn_deserialize(blob, len, &back, &err), MLWB_ERR_PARSE);
    assert_string_equal(err, "model blob: not a KNN model (bad magic)");
    free(err);
    free(blob);
    knn_free(&m);
    ds_release(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(predicts_like_reference),
        cmocka_unit_test(known_iris_answers),
        cmocka_unit_test(ties_are_deterministic),
        cmocka_unit_test(cv_matches_reference),
        cmocka_unit_test(bad_params),
        cmocka_unit_test(blob_round_trip_and_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
