/* test_tune.c — the k-curve: stratified folds; every k's vote against an independent
 * sort-and-vote reference (all metrics and weights, with and without z-score); the
 * scaling never sees held-out rows; the same figures for any thread count; progress,
 * cancel and errors; and scikit-learn's leave-one-out curves and held-out predictions
 * (the CSV files in tests/oracle/, read from the top of the tree) for iris, wine,
 * breast_cancer and digits, equal wherever no tie is involved. */
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
#include "mlwb/core/tune.h"

/* cmocka here has no assert_double_equal (and assert_float_equal rounds to float) */
#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

static ds *sample(const char *name)
{
    sample_info s;
    assert_true(sample_find(name, &s));
    ds *d = NULL;
    assert_int_equal(csv_parse(s.data, s.len, name, NULL, &d, NULL), MLWB_OK);
    return d;
}

static ds *from_text(const char *text)
{
    ds *d = NULL;
    assert_int_equal(csv_parse(text, strlen(text), "t", NULL, &d, NULL), MLWB_OK);
    return d;
}

/* --- folds ------------------------------------------------------------------------ */

static void folds_are_stratified_and_seeded(void **state)
{
    ds *d = sample("iris");
    int32_t a[150], b[150], c[150];
    assert_int_equal(knn_curve_folds(d, 5, 7, a, NULL), MLWB_OK);
    assert_int_equal(knn_curve_folds(d, 5, 7, b, NULL), MLWB_OK);
    assert_int_equal(knn_curve_folds(d, 5, 8, c, NULL), MLWB_OK);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
    int per[5][3] = {{0}};
    for (size_t i = 0; i < 150; i++) {
        assert_true(a[i] >= 0 && a[i] < 5);
        per[a[i]][d->y[i]]++;
    }
    for (int f = 0; f < 5; f++)
        for (int k = 0; k < 3; k++)
            assert_int_equal(per[f][k], 10);  /* 50 per class over 5 folds */
    /* shuffled: not simply dealt in row order */
    int in_order = 1;
    for (size_t i = 0; i < 50; i++)
        in_order &= a[i] == (int32_t)(i % 5);
    assert_false(in_order);
    /* uneven classes: fold sizes differ by at most one */
    ds *w = sample("wine");  /* 59, 71, 48 rows */
    int32_t fw[178];
    size_t size[4] = {0};
    assert_int_equal(knn_curve_folds(w, 4, 1, fw, NULL), MLWB_OK);
    for (size_t i = 0; i < 178; i++)
        size[fw[i]]++;
    for (int f = 0; f < 4; f++)
        assert_true(size[f] == 44 || size[f] == 45);
    char *err = NULL;
    assert_int_equal(knn_curve_folds(d, 1, 0, a, &err), MLWB_ERR_INVALID);
    assert_string_equal(err, "folds=1: need 2 .. 150 (the rows)");
    free(err);
    ds_release(&w);
    ds_release(&d);
}

/* --- an independent reference: every training row sorted by (exact key, index), then
 * a vote from scratch for each k ------------------------------------------------- */

typedef struct ref_nb {
    double key;
    size_t i;
} ref_nb;

static int ref_cmp(const void *a, const void *b)
{
    const ref_nb *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static double ref_key(knn_metric m, const float *q, const float *x, size_t dims)
{
    double s = 0, qq = 0, xx = 0;
    for (size_t j = 0; j < dims; j++) {
        double t = (double)q[j] - (double)x[j];
        if (m == KNN_EUCLIDEAN)
            s += t * t;
        else if (m == KNN_MANHATTAN)
            s += fabs(t);
        else {
            s += (double)q[j] * (double)x[j];
            qq += (double)q[j] * (double)q[j];
            xx += (double)x[j] * (double)x[j];
        }
    }
    if (m == KNN_COSINE)
        return qq == 0 || xx == 0 ? 1.0 : 1.0 - s / sqrt(qq * xx);
    return s;
}

static float ref_dist(knn_metric m, double key)
{
    if (m == KNN_EUCLIDEAN)
        return (float)sqrt(key);
    return m == KNN_COSINE && key < 0 ? 0.0f : (float)key;
}

/* z-score each column of x (n rows) with mean and population sd of the rows where
 * use[i]; a constant column is only centred.  Writes into out (n rows). */
static void ref_zscore(const float *x, size_t n, size_t dims, const int *use, float *out)
{
    for (size_t j = 0; j < dims; j++) {
        double m = 0, v = 0;
        size_t c = 0;
        for (size_t i = 0; i < n; i++)
            if (use[i]) {
                m += x[i * dims + j];
                c++;
            }
        m /= (double)c;
        for (size_t i = 0; i < n; i++)
            if (use[i])
                v += ((double)x[i * dims + j] - m) * ((double)x[i * dims + j] - m);
        double sd = sqrt(v / (double)c);
        if (!(sd > 0))
            sd = 1;
        for (size_t i = 0; i < n; i++)
            out[i * dims + j] = (float)(((double)x[i * dims + j] - m) / sd);
    }
}

/* The reference's predictions for the rows of fold f, k = 1..kmax, into pred (rows *
 * kmax, other rows untouched). */
static void ref_fold(const ds *d, const int32_t *fold, int f, int kmax, knn_metric m,
                     int weights, int scale, int32_t *pred)
{
    size_t n = d->rows, dims = d->cols;
    int *use = malloc(n * sizeof *use);
    float *x = malloc(n * dims * sizeof *x);
    ref_nb *nb = malloc(n * sizeof *nb);
    for (size_t i = 0; i < n; i++)
        use[i] = fold[i] != f;
    if (scale == KNN_SCALE_ZSCORE)
        ref_zscore(d->x, n, dims, use, x);
    else
        memcpy(x, d->x, n * dims * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        if (fold[i] != f)
            continue;
        size_t t = 0;
        for (size_t r = 0; r < n; r++)
            if (use[r])
                nb[t++] = (ref_nb){ref_key(m, x + i * dims, x + r * dims, dims), r};
        qsort(nb, t, sizeof *nb, ref_cmp);
        for (int k = 1; k <= kmax; k++) {
            double votes[16] = {0};
            int zero = weights == KNN_DISTANCE && ref_dist(m, nb[0].key) == 0.0f;
            for (int j = 0; j < k; j++) {
                float dj = ref_dist(m, nb[j].key);
                double w = weights != KNN_DISTANCE ? 1.0 : zero ? (dj == 0.0f) : 1.0 / (double)dj;
                votes[d->y[nb[j].i]] += w;
            }
            int best = 0;
            for (size_t c = 1; c < d->nclasses; c++)
                if (votes[c] > votes[best])
                    best = (int)c;
            pred[i * (size_t)kmax + (size_t)(k - 1)] = best;
        }
    }
    free(use);
    free(x);
    free(nb);
}

static void check_against_reference(const ds *d, int folds, int kmax, knn_metric m,
                                    int weights, int scale)
{
    knn_curve_opts o = {.kmax = kmax, .folds = folds, .seed = 3, .metric = m,
                        .weights = weights, .scale = scale, .keep_predictions = 1};
    knn_curve_result r;
    char *err = NULL;
    assert_int_equal(knn_curve(d, &o, &r, NULL, NULL, &err), MLWB_OK);
    assert_null(err);
    assert_int_equal(r.kmax, kmax);
    assert_int_equal(r.folds_done, folds);
    int32_t *fold = malloc(d->rows * sizeof *fold);
    int32_t *pred = malloc(d->rows * (size_t)kmax * sizeof *pred);
    assert_int_equal(knn_curve_folds(d, folds, 3, fold, NULL), MLWB_OK);
    for (int f = 0; f < folds; f++)
        ref_fold(d, fold, f, kmax, m, weights, scale, pred);
    assert_memory_equal(pred, r.pred, d->rows * (size_t)kmax * sizeof *pred);
    /* the figures from the predictions */
    for (int k = 1; k <= kmax; k++) {
        double sum = 0, acc[20];
        for (int f = 0; f < folds; f++) {
            size_t right = 0, held = 0;
            for (size_t i = 0; i < d->rows; i++)
                if (fold[i] == f) {
                    held++;
                    right += pred[i * (size_t)kmax + (size_t)(k - 1)] == d->y[i];
                }
            acc[f] = (double)right / (double)held;
            assert_true(r.fold_acc[(size_t)f * (size_t)kmax + (size_t)(k - 1)] == acc[f]);
            sum += acc[f];
        }
        double mean = sum / folds, ss = 0;
        for (int f = 0; f < folds; f++)
            ss += (acc[f] - mean) * (acc[f] - mean);
        assert_near(r.points[k - 1].mean, mean, 1e-12);
        assert_near(r.points[k - 1].sd, sqrt(ss / (folds - 1)), 1e-12);
        assert_near(r.points[k - 1].se, sqrt(ss / (folds - 1)) / sqrt(folds), 1e-12);
        assert_int_equal(r.points[k - 1].k, k);
    }
    /* best_k: highest mean, the smaller k on ties; k_1se: the smallest k within one
     * standard error of the best */
    int best = 1;
    for (int k = 2; k <= kmax; k++)
        if (r.points[k - 1].mean > r.points[best - 1].mean)
            best = k;
    assert_int_equal(r.best_k, best);
    int k1 = 1;
    while (r.points[k1 - 1].mean < r.points[best - 1].mean - r.points[best - 1].se)
        k1++;
    assert_int_equal(r.k_1se, k1);
    assert_true(r.k_1se <= r.best_k);
    free(fold);
    free(pred);
    knn_curve_clear(&r);
    assert_null(r.points);
    knn_curve_clear(&r);
}

static void every_k_matches_reference(void **state)
{
    ds *iris = sample("iris"), *wine = sample("wine");
    static const knn_metric metrics[] = {KNN_EUCLIDEAN, KNN_MANHATTAN, KNN_COSINE};
    for (int mi = 0; mi < 3; mi++)
        for (int w = KNN_UNIFORM; w <= KNN_DISTANCE; w++) {
            check_against_reference(iris, 5, 40, metrics[mi], w, KNN_SCALE_NONE);
            check_against_reference(wine, 4, 25, metrics[mi], w, KNN_SCALE_ZSCORE);
        }
    check_against_reference(iris, 10, 50, KNN_EUCLIDEAN, KNN_UNIFORM, KNN_SCALE_ZSCORE);
    ds_release(&iris);
    ds_release(&wine);
}

/* Exact ties: rows at equal distance with different classes.  Query 0 (fold 0) has
 * neighbours at distance 1 with classes b (row 1), a (row 2) and b (row 3) in row
 * order, then a at 2. */
static void ties_follow_the_rule_and_are_counted(void **state)
{
    ds *d = from_text("x,c\n0,a\n1,b\n-1,a\n1,b\n2,a\n-2,b\n");
    int32_t fold[6] = {0, -1, -1, -1, -1, -1};
    knn_curve_opts o = {.kmax = 4, .folds = 1, .fold_of = fold, .keep_predictions = 1};
    knn_curve_result r;
    assert_int_equal(knn_curve(d, &o, &r, NULL, NULL, NULL), MLWB_OK);
    /* k=1: row 1 (b, the lower index of the three at distance 1); k=2: b,a -> tie -> a;
     * k=3: b,a,b -> b; k=4: then a or b at 2: rows 4 (a) and 5 (b), row 4 first ->
     * 2-2 -> a */
    const int32_t want[4] = {1, 0, 1, 0};
    assert_memory_equal(r.pred, want, sizeof want);
    /* ties: k=1 and k=2 cut through the run at distance 1 (b, a, b: two classes);
     * k=3 is between distance 1 and 2: none; k=4 cuts the run at 2 (a, b) */
    const uint8_t tie[4] = {KNN_TIE_DIST | KNN_TIE_SET,
                            KNN_TIE_VOTE | KNN_TIE_DIST | KNN_TIE_SET, 0,
                            KNN_TIE_VOTE | KNN_TIE_DIST | KNN_TIE_SET};
    assert_memory_equal(r.tie, tie, sizeof tie);
    assert_int_equal(r.points[1].vote_ties, 1);
    assert_int_equal(r.points[2].dist_ties, 0);
    assert_int_equal(r.points[3].tie_rows, 1);
    assert_int_equal(r.points[0].set_ties, 1);
    assert_int_equal(r.points[0].vote_ties, 0);
    assert_int_equal(r.points[0].tie_rows, 1);
    assert_int_equal(r.pred[1 * 4], -1);  /* never held out */
    knn_curve_clear(&r);
    ds_release(&d);
    /* a distance tie within one class changes nothing: counted, not "affects" */
    d = from_text("x,c\n0,a\n1,b\n-1,b\n3,a\n");
    int32_t f2[4] = {0, -1, -1, -1};
    o.fold_of = f2;
    o.kmax = 2;
    assert_int_equal(knn_curve(d, &o, &r, NULL, NULL, NULL), MLWB_OK);
    assert_int_equal(r.tie[0], KNN_TIE_DIST);
    assert_int_equal(r.points[0].dist_ties, 1);
    assert_int_equal(r.points[0].set_ties, 0);
    assert_int_equal(r.points[0].tie_rows, 0);
    knn_curve_clear(&r);
    ds_release(&d);
}

/* Distance weights: an exact match alone decides; otherwise 1/d. */
static void distance_weights(void **state)
{
    ds *d = from_text("x,c\n0,a\n0,b\n1,a\n1,a\n10,b\n10.5,b\n11,b\n4,a\n");
    int32_t fold[8] = {-1, -1, -1, -1, -1, -1, -1, 0};
    knn_curve_opts o = {.kmax = 6, .folds = 1, .fold_of = fold, .weights = KNN_DISTANCE,
                        .keep_predictions = 1};
    knn_curve_result r;
    assert_int_equal(knn_curve(d, &o, &r, NULL, NULL, NULL), MLWB_OK);
    /* query 4: neighbours 1,1 (a, 1/3 each), 0,0 (a then b, 1/4 each), 10 (b, 1/6),
     * 10.5 (b, 1/6.5): a = 2/3 + 1/4 beats b = 1/4 + 1/6 + 2/13 */
    for (int k = 0; k < 6; k++)
        assert_int_equal(r.pred[7 * 6 + k], 0);
    knn_curve_clear(&r);
    int32_t f2[8] = {0, -1, -1, -1, -1, -1, -1, -1};
    o.fold_of = f2;
    o.kmax = 5;
    assert_int_equal(knn_curve(d, &o, &r, NULL, NULL, NULL), MLWB_OK);
    /* query 0 (a) is at distance 0 from row 1 (b): only row 1 votes, for every k */
    for (int k = 0; k < 5; k++)
        assert_int_equal(r.pred[k], 1);
    knn_curve_clear(&r);
    ds_release(&d);
}

/* Held-out rows never shape the scaling: making one held-out row huge changes no other
 * held-out row's prediction in its fold. */
static void scaling_never_sees_held_out_rows(void **state)
{
    ds *d = sample("wine");
    ds *e = NULL;
    size_t all[178];
    for (size_t i = 0; i < 178; i++)
        all[i] = i;
    assert_int_equal(ds_subset(d, all, 178, &e, NULL), MLWB_OK);
    int32_t fold[178];
    assert_int_equal(knn_curve_folds(d, 5, 11, fold, NULL), MLWB_OK);
    size_t victim = 0;
    while (fold[victim] != 2)
        victim++;
    for (size_t j = 0; j < e->cols; j++)
        e->x[victim * e->cols + j] *= 1000;
    knn_curve_opts o = {.kmax = 30, .folds = 5, .seed = 11, .scale = KNN_SCALE_ZSCORE,
                        .keep_predictions = 1};
    knn_curve_result a, b;
    assert_int_equal(knn_curve(d, &o, &a, NULL, NULL, NULL), MLWB_OK);
    assert_int_equal(knn_curve(e, &o, &b, NULL, NULL, NULL), MLWB_OK);
    size_t changed_elsewhere = 0;
    for (size_t i = 0; i < 178; i++) {
        if (fold[i] == 2 && i != victim)
            assert_memory_equal(a.pred + i * 30, b.pred + i * 30, 30 * sizeof(int32_t));
        if (fold[i] != 2)
            changed_elsewhere +=
                memcmp(a.pred + i * 30, b.pred + i * 30, 30 * sizeof(int32_t)) != 0;
    }
    /* ...while in the other folds, where it is a training row, it moves the scaling */
    assert_true(changed_elsewhere > 0);
    knn_curve_clear(&a);
    knn_curve_clear(&b);
    ds_release(&e);
    ds_release(&d);
}

static void same_figures_for_any_thread_count(void **state)
{
    ds *d = sample("digits");
    knn_curve_opts o = {.kmax = 50, .folds = 5, .seed = 5, .scale = KNN_SCALE_ZSCORE,
                        .keep_predictions = 1};
    knn_curve_result a, b;
    par_set_threads(1);
    assert_int_equal(knn_curve(d, &o, &a, NULL, NULL, NULL), MLWB_OK);
    par_set_threads(3);
    assert_int_equal(knn_curve(d, &o, &b, NULL, NULL, NULL), MLWB_OK);
    par_set_threads(0);
    assert_memory_equal(a.points, b.points, 50 * sizeof *a.points);
    assert_memory_equal(a.fold_acc, b.fold_acc, 5 * 50 * sizeof *a.fold_acc);
    assert_memory_equal(a.pred, b.pred, d->rows * 50 * sizeof *a.pred);
    assert_memory_equal(a.tie, b.tie, d->rows * 50);
    assert_true(a.points[a.best_k - 1].mean > 0.95);
    knn_curve_clear(&a);
    knn_curve_clear(&b);
    ds_release(&d);
}

/* The curve's prediction for a held-out row at k is what the model (knn_fit on the
 * training part, knn_predict) answers with k: same scaling, search and vote. */
static void curve_agrees_with_model(void **state)
{
    ds *d = sample("wine");
    int32_t fold[178];
    size_t train[178], ntrain = 0;
    for (size_t i = 0; i < 178; i++) {
        fold[i] = i % 5 == 0 ? 0 : -1;
        if (fold[i])
            train[ntrain++] = i;
    }
    ds *tr = NULL;
    assert_int_equal(ds_subset(d, train, ntrain, &tr, NULL), MLWB_OK);
    static const knn_metric metrics[] = {KNN_EUCLIDEAN, KNN_MANHATTAN, KNN_COSINE};
    static const int ks[] = {1, 4, 9, 20};
    for (int mi = 0; mi < 3; mi++)
        for (int w = KNN_UNIFORM; w <= KNN_DISTANCE; w++)
            for (int sc = KNN_SCALE_NONE; sc <= KNN_SCALE_ZSCORE; sc++) {
                knn_curve_opts o = {.kmax = 20, .folds = 1, .fold_of = fold,
                                    .metric = metrics[mi], .weights = w, .scale = sc,
                                    .keep_predictions = 1};
                knn_curve_result r;
                assert_int_equal(knn_curve(d, &o, &r, NULL, NULL, NULL), MLWB_OK);
                for (int t = 0; t < 4; t++) {
                    knn_params p = {.k = ks[t], .metric = metrics[mi], .weights = w, .scale = sc};
                    knn_model *m = NULL;
                    assert_int_equal(knn_fit(tr, &p, &m, NULL), MLWB_OK);
                    for (size_t i = 0; i < 178; i += 5) {
                        int32_t lab;
                        float conf;
                        knn_predict(m, d->x + i * d->cols, &lab, &conf);
                        assert_int_equal(lab, r.pred[i * 20 + (size_t)(ks[t] - 1)]);
                    }
                    knn_free(&m);
                }
                knn_curve_clear(&r);
            }
    ds_release(&tr);
    ds_release(&d);
}

/* --- progress, cancel, errors ------------------------------------------------------ */

typedef struct seen {
    int calls, fold_calls, last_folds;
    double last_fraction, first_mean_k1, first_fold_k1;
    int cancel_after;  /* folds; 0 = never */
} seen;

static int watch(void *ud, const knn_curve_result *c, double fraction)
{
    seen *s = ud;
    s->calls++;
    assert_true(fraction >= s->last_fraction && fraction <= 1.0);
    s->last_fraction = fraction;
    assert_true(c->folds_done >= s->last_folds);
    if (c->folds_done > s->last_folds) {
        s->fold_calls++;
        if (!c->loo)
            assert_int_equal(c->folds_done, s->last_folds + 1);
        if (c->folds_done == 1 && !c->loo) {
            s->first_mean_k1 = c->points[0].mean;
            s->first_fold_k1 = c->fold_acc[0];
            assert_true(c->points[0].sd == 0);
        }
        assert_true(c->best_k >= 1 && c->best_k <= c->kmax);
    }
    s->last_folds = c->folds_done;
    return s->cancel_after && c->folds_done >= s->cancel_after;
}

static void progress_and_cancel(void **state)
{
    ds *d = sample("breast_cancer");
    seen s = {0};
    knn_curve_opts o = {.folds = 5, .seed = 1};
    knn_curve_result r;
    assert_int_equal(knn_curve(d, &o, &r, watch, &s, NULL), MLWB_OK);
    assert_int_equal(s.fold_calls, 5);
    assert_int_equal(s.last_folds, 5);
    assert_true(s.last_fraction == 1.0);
    /* after the first fold the curve is that fold's accuracy */
    assert_true(s.first_mean_k1 == s.first_fold_k1);
    assert_true(s.first_fold_k1 == r.fold_acc[0]);
    assert_int_equal(r.kmax, 50);
    knn_curve_clear(&r);

    seen c = {.cancel_after = 2};
    char *err = NULL;
    assert_int_equal(knn_curve(d, &o, &r, watch, &c, &err), MLWB_ERR_CANCELLED);
    assert_string_equal(err, "k-curve cancelled");
    assert_int_equal(c.fold_calls, 2);
    assert_null(r.points);
    free(err);

    /* leave-one-out: rows count as folds; every row in the end */
    seen l = {0};
    o = (knn_curve_opts){.loo = 1, .kmax = 10};
    assert_int_equal(knn_curve(d, &o, &r, watch, &l, NULL), MLWB_OK);
    assert_int_equal(l.last_folds, 569);
    assert_int_equal(r.folds, 569);
    assert_null(r.fold_acc);
    double p = r.points[4].mean;
    assert_near(r.points[4].sd, sqrt(p * (1 - p) * 569.0 / 568.0), 1e-12);
    assert_near(r.points[4].se, sqrt(p * (1 - p) / 568.0), 1e-12);
    knn_curve_clear(&r);
    ds_release(&d);
}

static void errors_and_caps(void **state)
{
    ds *d = sample("iris");
    knn_curve_result r;
    char *err = NULL;
    knn_curve_opts o = {.loo = 1, .scale = KNN_SCALE_ZSCORE};
    assert_int_equal(knn_curve(d, &o, &r, NULL, NULL, &err), MLWB_ERR_INVALID);
    assert_non_null(strstr(err, "folds=loo with scale=zscore"));
    o = (knn_curve_opts){.folds = 151};
    assert_int_equal(knn_curve(d, &o, &r, NULL, NULL, &err), MLWB_ERR_INVALID);
    assert_string_equal(err, "folds=151: need 2 .. 150 (the rows)");
    o = (knn_curve_opts){.kmax = -1};
    assert_int_equal(knn_curve(d, &o, &r, NULL, NULL, &err), MLWB_ERR_INVALID);
    int32_t fold[150] = {0};
    o = (knn_curve_opts){.folds = 2, .fold_of = fold};
    assert_int_equal(knn_curve(d, &o, &r, NULL, NULL, &err), MLWB_ERR_INVALID);
    assert_string_equal(err, "fold 0 holds out 150 of 150 rows: every fold needs a held-out "
                             "row and a training row");
    fold[3] = 7;
    assert_int_equal(knn_curve(d, &o, &r, NULL, NULL, &err), MLWB_ERR_INVALID);
    assert_string_equal(err, "fold_of: row 3: fold 7 is not in -1 .. 1");
    free(err);
    err = NULL;
    /* kmax is capped to the smallest training part: 10 rows, 5 folds -> 8 */
    ds *t = from_text("x,c\n1,a\n2,a\n3,a\n4,a\n5,a\n6,b\n7,b\n8,b\n9,b\n10,b\n");
    o = (knn_curve_opts){.folds = 5, .kmax = 50};
    assert_int_equal(knn_curve(t, &o, &r, NULL, NULL, NULL), MLWB_OK);
    assert_int_equal(r.kmax, 8);
    assert_int_equal(r.folds_done, 5);
    knn_curve_clear(&r);
    o = (knn_curve_opts){.loo = 1};
    assert_int_equal(knn_curve(t, &o, &r, NULL, NULL, NULL), MLWB_OK);
    assert_int_equal(r.kmax, 9);
    assert_int_equal(r.folds, 10);
    /* k=1: rows 5 (a) and 6 (b) are each at distance 1 from a and b: the lower row wins,
     * row 4 (a) for row 5, row 5 (a) for row 6: one mistake */
    assert_true(r.points[0].mean == 0.9);
    knn_curve_clear(&r);
    ds_release(&t);
    /* no labels; one class */
    csv_opts co = {.label = "none"};
    const char *txt = "a,b\n1,2\n3,4\n";
    assert_int_equal(csv_parse(txt, strlen(txt), "t", &co, &t, NULL), MLWB_OK);
    assert_int_equal(knn_curve(t, NULL, &r, NULL, NULL, &err), MLWB_ERR_INVALID);
    assert_non_null(strstr(err, "no labels"));
    ds_release(&t);
    t = from_text("x,c\n1,a\n2,a\n");
    assert_int_equal(knn_curve(t, NULL, &r, NULL, NULL, &err), MLWB_ERR_INVALID);
    assert_non_null(strstr(err, "single class"));
    free(err);
    ds_release(&t);
    ds_release(&d);
}

/* --- scikit-learn: tests/oracle/ ------------------------------------------------------ */

#define ORACLE_KMAX 30

typedef struct oracle {
    size_t rows;
    size_t correct[ORACLE_KMAX];  /* from loo_curve.csv */
    int32_t *pred;                /* rows * 30 (loo_wrong.csv, else the true label) */
} oracle;

static FILE *open_fixture(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "tests/oracle/%s", name);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s: run the unit tests from the top of the tree", path);
    return f;
}

/* Next data line of a fixture (skips the comment and the header), or NULL. */
static char *fixture_line(FILE *f, char *buf, size_t len)
{
    while (fgets(buf, (int)len, f))
        if (buf[0] != '#' && strncmp(buf, "dataset,", 8) != 0)
            return buf;
    return NULL;
}

static int digit36(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c - 'a' + 10;
}

static void oracle_load(const char *name, const ds *d, oracle *o)
{
    char line[256], ds_name[64];
    memset(o, 0, sizeof *o);
    FILE *f = open_fixture("loo_curve.csv");
    while (fixture_line(f, line, sizeof line)) {
        int k;
        size_t rows, correct;
        assert_int_equal(sscanf(line, "%63[^,],%d,%zu,%zu", ds_name, &k, &rows, &correct), 4);
        if (strcmp(ds_name, name) == 0) {
            assert_true(k >= 1 && k <= ORACLE_KMAX);
            o->rows = rows;
            o->correct[k - 1] = correct;
        }
    }
    fclose(f);
    assert_int_equal(o->rows, d->rows);
    o->pred = malloc(d->rows * ORACLE_KMAX * sizeof *o->pred);
    for (size_t i = 0; i < d->rows; i++)
        for (int k = 0; k < ORACLE_KMAX; k++)
            o->pred[i * ORACLE_KMAX + (size_t)k] = d->y[i];
    f = open_fixture("loo_wrong.csv");
    while (fixture_line(f, line, sizeof line)) {
        size_t row;
        int label;
        char preds[64];
        assert_int_equal(sscanf(line, "%63[^,],%zu,%d,%63s", ds_name, &row, &label, preds), 4);
        if (strcmp(ds_name, name) != 0)
            continue;
        assert_true(row < d->rows);
        assert_int_equal(label, d->y[row]);  /* the same class numbering */
        assert_int_equal(strlen(preds), ORACLE_KMAX);
        for (int k = 0; k < ORACLE_KMAX; k++)
            o->pred[row * ORACLE_KMAX + (size_t)k] = digit36(preds[k]);
    }
    fclose(f);
    /* the two files agree */
    for (int k = 0; k < ORACLE_KMAX; k++) {
        size_t right = 0;
        for (size_t i = 0; i < d->rows; i++)
            right += o->pred[i * ORACLE_KMAX + (size_t)k] == d->y[i];
        assert_int_equal(right, o->correct[k]);
    }
}

/* What tests/oracle/README.md records, per data set, over the 30 k of leave-one-out:
 * (row, k) answers that may depend on a tie rule (tie_rows: a vote tie or a set tie),
 * vote ties, distance ties at the k boundary, set ties (distance ties where the choice
 * of neighbours may change the winner: the only kind that can make mlwb and sklearn
 * differ, since both break vote ties towards the lower class), and the answers that do
 * differ from sklearn's. */
typedef struct oracle_expect {
    const char *name;
    size_t tie_rows, vote_ties, dist_ties, set_ties, differ;
} oracle_expect;

static const oracle_expect EXPECT[] = {
    {"iris", 97, 50, 980, 55, 8},
    {"wine", 260, 260, 1, 0, 0},
    {"breast_cancer", 139, 139, 5, 0, 0},
    {"digits", 335, 217, 2203, 123, 4},
};

static void loo_curve_matches_sklearn(void **state)
{
    for (size_t t = 0; t < sizeof EXPECT / sizeof EXPECT[0]; t++) {
        const oracle_expect *x = &EXPECT[t];
        ds *d = sample(x->name);
        oracle o;
        oracle_load(x->name, d, &o);
        knn_curve_opts opts = {.loo = 1, .kmax = ORACLE_KMAX, .keep_predictions = 1};
        knn_curve_result r;
        assert_int_equal(knn_curve(d, &opts, &r, NULL, NULL, NULL), MLWB_OK);
        assert_int_equal(r.kmax, ORACLE_KMAX);
        oracle_expect got = {x->name, 0, 0, 0, 0, 0};
        int same_k = 0, clean_k = 0;
        for (int k = 0; k < ORACLE_KMAX; k++) {
            size_t right = 0;
            for (size_t i = 0; i < d->rows; i++) {
                size_t at = i * ORACLE_KMAX + (size_t)k;
                right += r.pred[at] == d->y[i];
                if (r.pred[at] != o.pred[at]) {
                    got.differ++;
                    if (!(r.tie[at] & KNN_TIE_SET))
                        fail_msg("%s: row %zu, k=%d: mlwb says %d, sklearn %d, and no distance "
                                 "tie is involved", x->name, i, k + 1, r.pred[at], o.pred[at]);
                }
            }
            const knn_curve_point *p = &r.points[k];
            got.tie_rows += p->tie_rows;
            got.vote_ties += p->vote_ties;
            got.dist_ties += p->dist_ties;
            got.set_ties += p->set_ties;
            assert_true(p->mean == (double)right / (double)d->rows);
            /* the curve is sklearn's on every k where no set tie is involved (vote ties
             * go the same way in both) ... */
            if (p->set_ties == 0) {
                assert_int_equal(right, o.correct[k]);
                clean_k++;
            }
            /* ... and off by no more than the set-tied rows elsewhere */
            size_t gap = right > o.correct[k] ? right - o.correct[k] : o.correct[k] - right;
            assert_true(gap <= p->set_ties);
            same_k += right == o.correct[k];
        }
        print_message("  %-13s LOO k=1..30, %zu answers: %zu may depend on a tie rule (%zu vote "
                      "ties; %zu distance ties at the k boundary, %zu of them set ties); %zu "
                      "differ from sklearn, all at set ties; accuracy equal on %d of 30 k, %d "
                      "of them free of set ties\n",
                      x->name, d->rows * ORACLE_KMAX, got.tie_rows, got.vote_ties, got.dist_ties,
                      got.set_ties, got.differ, same_k, clean_k);
        assert_int_equal(got.tie_rows, x->tie_rows);
        assert_int_equal(got.vote_ties, x->vote_ties);
        assert_int_equal(got.dist_ties, x->dist_ties);
        assert_int_equal(got.set_ties, x->set_ties);
        assert_int_equal(got.differ, x->differ);
        knn_curve_clear(&r);
        free(o.pred);
        ds_release(&d);
    }
}

/* Every 7th row held out, the model fitted on the rest, k = 5 and 15: sklearn's
 * predictions, mlwb's curve, and mlwb's model (knn_fit/knn_predict) agree. */
static void holdout_predictions_match_sklearn(void **state)
{
    for (size_t t = 0; t < sizeof EXPECT / sizeof EXPECT[0]; t++) {
        const char *name = EXPECT[t].name;
        ds *d = sample(name);
        int32_t *fold = malloc(d->rows * sizeof *fold);
        size_t *train = malloc(d->rows * sizeof *train), ntrain = 0;
        for (size_t i = 0; i < d->rows; i++) {
            fold[i] = i % 7 == 0 ? 0 : -1;
            if (fold[i])
                train[ntrain++] = i;
        }
        knn_curve_opts opts = {.folds = 1, .fold_of = fold, .kmax = 15, .keep_predictions = 1};
        knn_curve_result r;
        assert_int_equal(knn_curve(d, &opts, &r, NULL, NULL, NULL), MLWB_OK);
        ds *tr = NULL;
        assert_int_equal(ds_subset(d, train, ntrain, &tr, NULL), MLWB_OK);
        knn_model *m5 = NULL, *m15 = NULL;
        knn_params p5 = {.k = 5}, p15 = {.k = 15};
        assert_int_equal(knn_fit(tr, &p5, &m5, NULL), MLWB_OK);
        assert_int_equal(knn_fit(tr, &p15, &m15, NULL), MLWB_OK);
        char line[256], ds_name[64];
        FILE *f = open_fixture("holdout.csv");
        size_t n = 0, differ = 0;
        while (fixture_line(f, line, sizeof line)) {
            size_t row;
            int label, sk[2];
            assert_int_equal(sscanf(line, "%63[^,],%zu,%d,%d,%d", ds_name, &row, &label, &sk[0],
                                    &sk[1]), 5);
            if (strcmp(ds_name, name) != 0)
                continue;
            assert_int_equal(row % 7, 0);
            assert_int_equal(label, d->y[row]);
            n++;
            for (int j = 0; j < 2; j++) {
                int k = j ? 15 : 5;
                size_t at = row * 15 + (size_t)(k - 1);
                int32_t model;
                float conf;
                knn_predict(j ? m15 : m5, d->x + row * d->cols, &model, &conf);
                assert_int_equal(model, r.pred[at]);
                if (r.pred[at] != sk[j]) {
                    differ++;
                    if (!(r.tie[at] & KNN_TIE_SET))
                        fail_msg("%s: held-out row %zu, k=%d: mlwb %d, sklearn %d, no tie",
                                 name, row, k, r.pred[at], sk[j]);
                }
            }
        }
        fclose(f);
        assert_int_equal(n, (d->rows + 6) / 7);
        print_message("  %-13s held out %zu rows, k=5 and 15: %zu differ from sklearn "
                      "(set ties: %zu and %zu; vote ties: %zu and %zu)\n", name, n, differ,
                      r.points[4].set_ties, r.points[14].set_ties, r.points[4].vote_ties,
                      r.points[14].vote_ties);
        assert_int_equal(differ, 0);
        knn_free(&m5);
        knn_free(&m15);
        ds_release(&tr);
        knn_curve_clear(&r);
        free(fold);
        free(train);
        ds_release(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(folds_are_stratified_and_seeded),
        cmocka_unit_test(every_k_matches_reference),
        cmocka_unit_test(ties_follow_the_rule_and_are_counted),
        cmocka_unit_test(distance_weights),
        cmocka_unit_test(scaling_never_sees_held_out_rows),
        cmocka_unit_test(same_figures_for_any_thread_count),
        cmocka_unit_test(curve_agrees_with_model),
        cmocka_unit_test(progress_and_cancel),
        cmocka_unit_test(errors_and_caps),
        cmocka_unit_test(loo_curve_matches_sklearn),
        cmocka_unit_test(holdout_predictions_match_sklearn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
