/* test_knn.c — KNN: predictions against an independent sort-based reference, tie rules,
 * cross-validation, and the model blob (round trip; corrupted blobs rejected); the
 * metrics, inverse-distance weights, z-score scaling fitted on the training rows only,
 * explain, batch = single, version 1 and 2 blobs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
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
        knn_params p = {.k = k};
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
    knn_params p = {.k = 5};
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
    knn_params p1 = {.k = 1}, p2 = {.k = 2};
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
        knn_params p = {.k = k};
        par_set_threads(k % 2 ? 2 : 1);
        assert_int_equal(knn_cv_accuracy(d, &p, folds, &acc, NULL, NULL, NULL), MLWB_OK);
        assert_true(acc == (double)right / 150.0);
        assert_true(acc > 0.9);
    }
    par_set_threads(0);
    /* a progress callback sees the end, and can cancel */
    double last = 0, acc = 0;
    knn_params p5 = {.k = 5};
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
    knn_params p = {.k = 0};
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
    knn_params p = {.k = 7};
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

/* --- parameters: metric, weights, scaling ------------------------------------------ */

static uint64_t rng = 7;

static double rnd(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* A labelled data set of random rows: column 0 is constant (sd 0), column 1 has a
 * large scale, the rest small integers (many exact ties). */
static ds *random_ds(size_t rows, size_t cols, int nclasses)
{
    size_t cap = rows * (cols + 1) * 16 + 256, len = 0;
    char *text = malloc(cap);
    for (size_t j = 0; j < cols; j++)
        len += (size_t)snprintf(text + len, cap - len, "f%zu,", j);
    len += (size_t)snprintf(text + len, cap - len, "label\n");
    for (size_t i = 0; i < rows; i++) {
        for (size_t j = 0; j < cols; j++) {
            double v = j == 0 ? 3.5 : j == 1 ? floor(rnd() * 1000) : floor(rnd() * 4);
            len += (size_t)snprintf(text + len, cap - len, "%g,", v);
        }
        len += (size_t)snprintf(text + len, cap - len, "c%d\n", (int)(rnd() * nclasses));
    }
    ds *d = NULL;
    assert_int_equal(csv_parse(text, len, "random", NULL, &d, NULL), MLWB_OK);
    free(text);
    return d;
}

static double ref_dist(knn_metric metric, const float *a, const float *b, size_t n)
{
    double s = 0, dot = 0, na = 0, nb = 0;
    for (size_t j = 0; j < n; j++) {
        double t = (double)a[j] - (double)b[j];
        s += metric == KNN_MANHATTAN ? fabs(t) : t * t;
        dot += (double)a[j] * b[j];
        na += (double)a[j] * a[j];
        nb += (double)b[j] * b[j];
    }
    if (metric == KNN_EUCLIDEAN)
        return s;  /* squared: the same order */
    if (metric == KNN_MANHATTAN)
        return s;
    return na == 0 || nb == 0 ? 1.0 : 1.0 - dot / sqrt(na * nb);
}

/* The reference model: scale with the given mean/sd (float rows as the model keeps
 * them), sort every row, vote. */
static void ref_model(const ds *d, const knn_params *p, const double *mean, const double *sd,
                      const float *q, int32_t *label, float *conf, int32_t *idx)
{
    size_t c = d->cols;
    float *xs = malloc(d->rows * c * sizeof *xs), *qs = malloc(c * sizeof *qs);
    for (size_t i = 0; i < d->rows * c; i++)
        xs[i] = (float)(((double)d->x[i] - mean[i % c]) / sd[i % c]);
    for (size_t j = 0; j < c; j++)
        qs[j] = (float)(((double)q[j] - mean[j]) / sd[j]);
    ref_pair *pr = malloc(d->rows * sizeof *pr);
    for (size_t i = 0; i < d->rows; i++)
        pr[i] = (ref_pair){ref_dist(p->metric, qs, xs + i * c, c), i};
    qsort(pr, d->rows, sizeof *pr, cmp_pair);
    double w[64] = {0}, total = 0;
    int exact = 0;
    for (int t = 0; t < p->k; t++) {
        idx[t] = (int32_t)pr[t].i;
        float dist = p->metric == KNN_EUCLIDEAN ? (float)sqrt(pr[t].d)
                     : p->metric == KNN_COSINE && pr[t].d < 0 ? 0.0f : (float)pr[t].d;
        exact |= dist == 0;
    }
    for (int t = 0; t < p->k; t++) {
        float dist = p->metric == KNN_EUCLIDEAN ? (float)sqrt(pr[t].d)
                     : p->metric == KNN_COSINE && pr[t].d < 0 ? 0.0f : (float)pr[t].d;
        double v = p->weights == KNN_UNIFORM ? 1 : exact ? (dist == 0) : 1.0 / dist;
        w[d->y[pr[t].i]] += v;
        total += v;
    }
    int best = 0;
    for (size_t k = 1; k < d->nclasses; k++)
        if (w[k] > w[best])
            best = (int)k;
    *label = best;
    *conf = (float)(w[best] / total);
    free(pr);
    free(xs);
    free(qs);
}

static void fit_stats(const ds *d, double *mean, double *sd)
{
    for (size_t j = 0; j < d->cols; j++) {
        double s = 0, v = 0;
        for (size_t i = 0; i < d->rows; i++)
            s += d->x[i * d->cols + j];
        s /= (double)d->rows;
        for (size_t i = 0; i < d->rows; i++)
            v += (d->x[i * d->cols + j] - s) * (d->x[i * d->cols + j] - s);
        mean[j] = s;
        sd[j] = v > 0 ? sqrt(v / (double)d->rows) : 1.0;
    }
}

static void params_like_reference(void **state)
{
    rng = 11;
    ds *all = random_ds(600, 5, 3);
    size_t ntr = 450;  /* the model sees the first 450 rows only */
    size_t *sel = malloc(ntr * sizeof *sel);
    for (size_t i = 0; i < ntr; i++)
        sel[i] = i;
    ds *tr = NULL;
    assert_int_equal(ds_subset(all, sel, ntr, &tr, NULL), MLWB_OK);
    free(sel);
    double mean[5], sd[5], zero[5] = {0}, one[5] = {1, 1, 1, 1, 1};
    fit_stats(tr, mean, sd);
    assert_true(sd[0] == 1.0);  /* the constant column */
    for (int metric = 0; metric < 3; metric++)
        for (int weights = 0; weights < 2; weights++)
            for (int scale = 0; scale < 2; scale++)
                for (int k = 1; k <= 21; k += 10) {
                    knn_params p = {.k = k, .metric = (knn_metric)metric, .weights = weights,
                                    .scale = scale};
                    knn_model *m = NULL;
                    assert_int_equal(knn_fit(tr, &p, &m, NULL), MLWB_OK);
                    assert_int_equal(knn_model_metric(m), metric);
                    assert_int_equal(knn_model_weights(m), weights);
                    assert_int_equal(knn_model_scale(m), scale);
                    for (size_t j = 0; j < 5; j++) {
                        assert_true(knn_scale_mean(m, j) == (scale ? mean[j] : 0.0));
                        assert_true(knn_scale_sd(m, j) == (scale ? sd[j] : 1.0));
                    }
                    size_t nq = all->rows - ntr;
                    const float *q = all->x + ntr * 5;
                    int32_t *bl = malloc(nq * sizeof *bl);
                    float *bc = malloc(nq * sizeof *bc);
                    par_set_threads(k % 2 ? 2 : 1);
                    assert_int_equal(knn_predict_batch(m, q, nq, bl, bc), MLWB_OK);
                    par_set_threads(0);
                    for (size_t i = 0; i < nq; i++) {
                        int32_t lab, rlab, idx[32], ridx[32];
                        float conf, rconf, dist[32];
                        knn_predict(m, q + i * 5, &lab, &conf);
                        ref_model(tr, &p, scale ? mean : zero, scale ? sd : one, q + i * 5,
                                  &rlab, &rconf, ridx);
                        assert_int_equal(lab, rlab);
                        assert_true(fabsf(conf - rconf) < 1e-6f);
                        assert_int_equal(bl[i], lab);  /* batch = single */
                        assert_true(bc[i] == conf);
                        assert_int_equal(knn_explain(m, q + i * 5, idx, dist), MLWB_OK);
                        assert_memory_equal(idx, ridx, (size_t)k * sizeof *idx);
                        for (int t = 1; t < k; t++)
                            assert_true(dist[t - 1] <= dist[t]);
                        assert_int_equal(knn_row_label(m, (size_t)idx[0]), tr->y[idx[0]]);
                    }
                    assert_int_equal(knn_row_label(m, ntr), -1);
                    free(bl);
                    free(bc);
                    knn_free(&m);
                }
    ds_release(&tr);
    ds_release(&all);
}

static void distance_weights_exact_match_wins(void **state)
{
    /* rows: 0 -> a (twice, far), 1 -> b (once, exactly at the query) */
    const char *text = "x,c\n0,b\n1,a\n1,a\n";
    ds *d = NULL;
    assert_int_equal(csv_parse(text, strlen(text), "t", NULL, &d, NULL), MLWB_OK);
    knn_params p = {.k = 3, .weights = KNN_DISTANCE};
    knn_model *m = NULL;
    assert_int_equal(knn_fit(d, &p, &m, NULL), MLWB_OK);
    int32_t lab;
    float conf;
    knn_predict(m, (const float[]){0}, &lab, &conf);
    assert_string_equal(knn_class_name(m, (size_t)lab), "b");
    assert_true(conf == 1.0f);
    /* at 0.25: b weighs 4, a 2 x 4/3: b wins with 4 / (4 + 8/3) = 0.6 */
    knn_predict(m, (const float[]){0.25f}, &lab, &conf);
    assert_string_equal(knn_class_name(m, (size_t)lab), "b");
    assert_true(fabsf(conf - 0.6f) < 1e-6f);
    /* at 0.4: b 2.5, a 2 x 1/0.6 = 3.33: a wins although uniform would too */
    knn_predict(m, (const float[]){0.4f}, &lab, &conf);
    assert_string_equal(knn_class_name(m, (size_t)lab), "a");
    knn_free(&m);
    p.weights = KNN_UNIFORM;
    assert_int_equal(knn_fit(d, &p, &m, NULL), MLWB_OK);
    knn_predict(m, (const float[]){0}, &lab, &conf);
    assert_string_equal(knn_class_name(m, (size_t)lab), "a");
    assert_true(fabsf(conf - 2.0f / 3.0f) < 1e-6f);
    knn_free(&m);
    ds_release(&d);
}

static void cv_fits_scaling_per_fold(void **state)
{
    rng = 12;
    ds *d = random_ds(400, 4, 3);
    int folds = 4;
    int *fold = malloc(d->rows * sizeof *fold);
    size_t seen[3] = {0};
    for (size_t i = 0; i < d->rows; i++)
        fold[i] = (int)(seen[d->y[i]]++ % (size_t)folds);
    knn_params p = {.k = 7, .metric = KNN_MANHATTAN, .weights = KNN_DISTANCE,
                    .scale = KNN_SCALE_ZSCORE};
    size_t right = 0;
    size_t *tr = malloc(d->rows * sizeof *tr);
    for (int f = 0; f < folds; f++) {
        size_t n = 0;
        for (size_t i = 0; i < d->rows; i++)
            if (fold[i] != f)
                tr[n++] = i;
        ds *t = NULL;
        knn_model *m = NULL;
        assert_int_equal(ds_subset(d, tr, n, &t, NULL), MLWB_OK);
        assert_int_equal(knn_fit(t, &p, &m, NULL), MLWB_OK);
        for (size_t i = 0; i < d->rows; i++)
            if (fold[i] == f) {
                int32_t lab;
                float conf;
                knn_predict(m, d->x + i * d->cols, &lab, &conf);
                right += lab == d->y[i];
            }
        knn_free(&m);
        ds_release(&t);
    }
    double acc = 0;
    assert_int_equal(knn_cv_accuracy(d, &p, folds, &acc, NULL, NULL, NULL), MLWB_OK);
    assert_true(acc == (double)right / (double)d->rows);
    free(tr);
    free(fold);
    ds_release(&d);
}

/* A version 1 blob as older stores hold them. */
static void *v1_blob(const ds *d, int k, size_t *len)
{
    size_t cap = 64 + d->rows * d->cols * 4 + d->rows * 4 + 4096, n = 0;
    unsigned char *b = malloc(cap);
#define PUT(p, s) (memcpy(b + n, (p), (s)), n += (s))
    uint32_t k32 = (uint32_t)k, nc = (uint32_t)d->nclasses;
    uint64_t rows = d->rows, cols = d->cols;
    PUT("MLWBKNN1", 8);
    PUT(&k32, 4);
    PUT(&rows, 8);
    PUT(&cols, 8);
    PUT(&nc, 4);
    for (size_t c = 0; c < d->nclasses + d->cols; c++) {
        const char *s = c < d->nclasses ? d->class_names[c] : d->feature_names[c - d->nclasses];
        uint32_t l = (uint32_t)strlen(s);
        PUT(&l, 4);
        PUT(s, l);
    }
    PUT(d->x, d->rows * d->cols * 4);
    PUT(d->y, d->rows * 4);
#undef PUT
    *len = n;
    return b;
}

static void blobs_v1_and_v2(void **state)
{
    ds *d = iris();
    /* v1: Euclidean, uniform, unscaled, and it answers as a fresh default model */
    size_t len = 0;
    void *blob = v1_blob(d, 5, &len);
    knn_model *m = NULL, *ref = NULL;
    char *err = NULL;
    assert_int_equal(knn_deserialize(blob, len, &m, &err), MLWB_OK);
    knn_params p = {.k = 5};
    assert_int_equal(knn_fit(d, &p, &ref, NULL), MLWB_OK);
    assert_int_equal(knn_model_metric(m), KNN_EUCLIDEAN);
    assert_int_equal(knn_model_weights(m), KNN_UNIFORM);
    assert_int_equal(knn_model_scale(m), KNN_SCALE_NONE);
    assert_int_equal(knn_k(m), 5);
    assert_string_equal(knn_feature_name(m, 0), "sepal_length");
    for (size_t i = 0; i < d->rows; i++) {
        int32_t a, b;
        float ca, cb;
        knn_predict(m, d->x + i * 4, &a, &ca);
        knn_predict(ref, d->x + i * 4, &b, &cb);
        assert_int_equal(a, b);
        assert_true(ca == cb);
    }
    knn_free(&m);
    for (size_t cut = 0; cut < len; cut += (cut < 80 ? 1 : 131)) {
        assert_int_equal(knn_deserialize(blob, cut, &m, &err), MLWB_ERR_PARSE);
        assert_null(m);
    }
    free(blob);
    knn_free(&ref);

    /* v2: every parameter and the scaling survive the round trip */
    knn_params p2 = {.k = 9, .metric = KNN_COSINE, .weights = KNN_DISTANCE,
                     .scale = KNN_SCALE_ZSCORE};
    assert_int_equal(knn_fit(d, &p2, &ref, NULL), MLWB_OK);
    assert_int_equal(knn_serialize(ref, &blob, &len, NULL), MLWB_OK);
    assert_memory_equal(blob, "MLWBKNN2", 8);
    assert_int_equal(knn_deserialize(blob, len, &m, &err), MLWB_OK);
    assert_int_equal(knn_model_metric(m), KNN_COSINE);
    assert_int_equal(knn_model_weights(m), KNN_DISTANCE);
    assert_int_equal(knn_model_scale(m), KNN_SCALE_ZSCORE);
    for (size_t j = 0; j < 4; j++) {
        assert_true(knn_scale_mean(m, j) == knn_scale_mean(ref, j));
        assert_true(knn_scale_sd(m, j) == knn_scale_sd(ref, j));
    }
    for (size_t i = 0; i < d->rows; i++) {
        int32_t a, b, ia[9], ib[9];
        float ca, cb, da[9], db[9];
        float q[4];
        for (int j = 0; j < 4; j++)
            q[j] = d->x[i * 4 + j] + 0.05f;
        knn_predict(m, q, &a, &ca);
        knn_predict(ref, q, &b, &cb);
        assert_int_equal(a, b);
        assert_true(ca == cb);
        assert_int_equal(knn_explain(m, q, ia, da), MLWB_OK);
        assert_int_equal(knn_explain(ref, q, ib, db), MLWB_OK);
        assert_memory_equal(ia, ib, sizeof ia);
        assert_memory_equal(da, db, sizeof da);
    }
    knn_free(&m);
    /* corruption: truncations, unknown parameters, a bad sd, a bad label */
    for (size_t cut = 0; cut < len; cut += (cut < 120 ? 1 : 113)) {
        assert_int_equal(knn_deserialize(blob, cut, &m, &err), MLWB_ERR_PARSE);
        assert_null(m);
    }
    unsigned char *bytes = blob;
    static const size_t fields[] = {12, 16, 20};  /* metric, weights, scale */
    for (size_t f = 0; f < 3; f++) {
        uint32_t old, bad = 7;
        memcpy(&old, bytes + fields[f], 4);
        memcpy(bytes + fields[f], &bad, 4);
        assert_int_equal(knn_deserialize(blob, len, &m, &err), MLWB_ERR_PARSE);
        assert_non_null(strstr(err, "unknown parameters"));
        memcpy(bytes + fields[f], &old, 4);
    }
    /* the sds follow the means, which follow the names */
    size_t off = 8 + 4 * 4 + 8 + 8 + 4;
    for (size_t s = 0; s < 3 + 4; s++) {
        uint32_t l;
        memcpy(&l, bytes + off, 4);
        off += 4 + l;
    }
    double sd0, zero = 0, nan = NAN;
    memcpy(&sd0, bytes + off + 4 * 8, 8);
    assert_true(sd0 == knn_scale_sd(ref, 0));
    memcpy(bytes + off + 4 * 8, &zero, 8);
    assert_int_equal(knn_deserialize(blob, len, &m, &err), MLWB_ERR_PARSE);
    memcpy(bytes + off + 4 * 8, &nan, 8);
    assert_int_equal(knn_deserialize(blob, len, &m, &err), MLWB_ERR_PARSE);
    memcpy(bytes + off + 4 * 8, &sd0, 8);
    assert_int_equal(knn_deserialize(blob, len, &m, &err), MLWB_OK);
    knn_free(&m);
    int32_t badlab = 3;
    memcpy(bytes + len - 4, &badlab, 4);
    assert_int_equal(knn_deserialize(blob, len, &m, &err), MLWB_ERR_PARSE);
    assert_non_null(strstr(err, "model blob: truncated or corrupted"));
    assert_null(m);
    free(err);
    free(blob);
    knn_free(&ref);
    ds_release(&d);
}

static void names_and_bad_params(void **state)
{
    assert_string_equal(knn_metric_name(KNN_EUCLIDEAN), "euclidean");
    assert_string_equal(knn_metric_name(KNN_MANHATTAN), "manhattan");
    assert_string_equal(knn_metric_name(KNN_COSINE), "cosine");
    assert_string_equal(knn_metric_name((knn_metric)5), "?");
    assert_string_equal(knn_weights_name(KNN_DISTANCE), "distance");
    assert_string_equal(knn_scale_name(KNN_SCALE_ZSCORE), "zscore");
    knn_metric mt;
    int v;
    assert_int_equal(knn_metric_parse("cosine", &mt), 0);
    assert_int_equal(mt, KNN_COSINE);
    assert_int_equal(knn_metric_parse("l2", &mt), -1);
    assert_int_equal(knn_weights_parse("uniform", &v), 0);
    assert_int_equal(v, KNN_UNIFORM);
    assert_int_equal(knn_scale_parse("none", &v), 0);
    assert_int_equal(v, KNN_SCALE_NONE);
    assert_int_equal(knn_scale_parse("minmax", &v), -1);
    ds *d = iris();
    knn_model *m = NULL;
    char *err = NULL;
    knn_params p = {.k = 3, .metric = (knn_metric)3};
    assert_int_equal(knn_fit(d, &p, &m, &err), MLWB_ERR_INVALID);
    p = (knn_params){.k = 3, .weights = 2};
    assert_int_equal(knn_fit(d, &p, &m, &err), MLWB_ERR_INVALID);
    p = (knn_params){.k = 3, .scale = -1};
    assert_int_equal(knn_fit(d, &p, &m, &err), MLWB_ERR_INVALID);
    assert_null(m);
    free(err);
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
        cmocka_unit_test(params_like_reference),
        cmocka_unit_test(distance_weights_exact_match_wins),
        cmocka_unit_test(cv_fits_scaling_per_fold),
        cmocka_unit_test(blobs_v1_and_v2),
        cmocka_unit_test(names_and_bad_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
