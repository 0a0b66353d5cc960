/* test_ksweep.c — the k-means sweep and its choices (ksweep.h) and the fitted model
 * (kmodel.h): the sweep's point at k is the single fit at k, the choices on curves with a
 * known answer, the silhouette sample, cancelling, and the model's blob. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mlwb/core/cluster_scores.h"
#include "mlwb/core/dataset.h"
#include "mlwb/core/kmeans.h"
#include "mlwb/core/kmodel.h"
#include "mlwb/core/ksweep.h"
#include "mlwb/core/synth.h"

static ds *blobs(size_t n, size_t d, int classes, unsigned long seed)
{
    synth_blobs_opts o = {.n = n, .d = d, .classes = (size_t)classes, .spread = 1, .box = 10,
                         .seed = seed};
    ds *out = NULL;
    char *err = NULL;
    assert_int_equal(synth_blobs(&o, &out, &err), MLWB_OK);
    return out;
}

static void test_elbow(void **state)
{
    (void)state;
    int k[] = {2, 3, 4, 5, 6, 7, 8};
    /* a sharp knee at 4 */
    double knee[] = {1000, 600, 120, 100, 90, 82, 75};
    assert_int_equal(km_elbow(k, knee, 7), 4);
    /* a straight line has no point below the chord */
    double line[] = {70, 60, 50, 40, 30, 20, 10};
    assert_int_equal(km_elbow(k, line, 7), 0);
    /* concave: everything above the chord, no elbow */
    double concave[] = {100, 99, 97, 94, 80, 50, 0};
    assert_int_equal(km_elbow(k, concave, 7), 0);
    /* too few points, or flat */
    assert_int_equal(km_elbow(k, knee, 2), 0);
    double flat[] = {5, 5, 5, 5};
    assert_int_equal(km_elbow(k, flat, 4), 0);
}

typedef struct seen {
    int calls, last_k, stop_after;
    double last_inertia;
} seen;

static int on_point(void *ud, const km_sweep_result *r, const km_sweep_point *p)
{
    seen *s = ud;
    s->calls++;
    /* points arrive in order, each one complete */
    assert_int_equal(p->k, r->kmin + r->done - 1);
    assert_true(p->inertia > 0);
    assert_non_null(p->centroids);
    s->last_k = p->k;
    s->last_inertia = p->inertia;
    return s->stop_after && s->calls >= s->stop_after;
}

/* Four well separated blobs: the silhouette finds 4, the clusters match the labels, and
 * every point of the sweep is exactly the single fit with the same seed. */
static void test_sweep_blobs(void **state)
{
    (void)state;
    ds *d = blobs(2000, 3, 4, 11);
    km_sweep_opts o = {.kmin = 2, .kmax = 7, .n_init = 2, .seed = 5, .truth = d->y};
    km_sweep_result r = {0};
    seen s = {0};
    char *err = NULL;
    assert_int_equal(km_sweep(d->x, d->rows, d->cols, &o, &r, on_point, &s, &err), MLWB_OK);
    assert_int_equal(s.calls, 6);
    assert_int_equal(r.done, 6);
    assert_int_equal(r.best_silhouette_k, 4);
    assert_int_equal(r.silhouette_rows, 2000);
    const km_sweep_point *p4 = km_sweep_at(&r, 4);
    assert_non_null(p4);
    assert_true(p4->ari > 0.99);
    assert_true(p4->nmi > 0.98);
    assert_null(km_sweep_at(&r, 8));
    assert_null(km_sweep_at(&r, 1));
    int64_t total = 0;
    for (int c = 0; c < 4; c++)
        total += p4->sizes[c];
    assert_int_equal(total, 2000);
    /* inertia falls with k on this data */
    for (int k = 3; k <= 7; k++)
        assert_true(km_sweep_at(&r, k)->inertia < km_sweep_at(&r, k - 1)->inertia);
    /* the point at k = the single fit at k with that seed */
    for (int k = 2; k <= 7; k++) {
        km_opts ko = {.k = k, .n_init = 2, .seed = 5};
        km_result kr = {0};
        assert_int_equal(km_fit(d->x, d->rows, d->cols, &ko, &kr, NULL, NULL, &err), MLWB_OK);
        const km_sweep_point *p = km_sweep_at(&r, k);
        assert_true(kr.inertia == p->inertia);
        assert_memory_equal(kr.centroids, p->centroids, (size_t)k * d->cols * sizeof(float));
        double sil;
        assert_int_equal(cs_silhouette(d->x, d->rows, d->cols, kr.labels, &sil, NULL, &err),
                         MLWB_OK);
        assert_true(sil == p->silhouette);
        km_result_clear(&kr);
    }
    km_sweep_clear(&r);
    km_sweep_clear(&r);  /* twice is fine */
    ds_release(&d);
}

/* Above the sample size the silhouette is over a seeded sample: the same for the same
 * seed, different for another, and close to the exact value. */
static void test_sweep_sample(void **state)
{
    (void)state;
    ds *d = blobs(3000, 2, 3, 3);
    km_sweep_opts o = {.kmin = 3, .kmax = 3, .n_init = 1, .seed = 1, .sample = 1000,
                       .sample_seed = 9};
    km_sweep_result a = {0}, b = {0}, c = {0}, exact = {0};
    char *err = NULL;
    assert_int_equal(km_sweep(d->x, d->rows, d->cols, &o, &a, NULL, NULL, &err), MLWB_OK);
    assert_int_equal(km_sweep(d->x, d->rows, d->cols, &o, &b, NULL, NULL, &err), MLWB_OK);
    o.sample_seed = 10;
    assert_int_equal(km_sweep(d->x, d->rows, d->cols, &o, &c, NULL, NULL, &err), MLWB_OK);
    o.sample = 0;  /* the default, 10,000: exact here */
    assert_int_equal(km_sweep(d->x, d->rows, d->cols, &o, &exact, NULL, NULL, &err), MLWB_OK);
    assert_int_equal(a.silhouette_rows, 1000);
    assert_int_equal(exact.silhouette_rows, 3000);
    assert_true(a.points[0].silhouette == b.points[0].silhouette);
    assert_true(a.points[0].silhouette != c.points[0].silhouette);
    assert_true(fabs(a.points[0].silhouette - exact.points[0].silhouette) < 0.02);
    /* CH and DB are over all rows whatever the sample */
    assert_true(a.points[0].calinski_harabasz == exact.points[0].calinski_harabasz);
    km_sweep_clear(&a);
    km_sweep_clear(&b);
    km_sweep_clear(&c);
    km_sweep_clear(&exact);
    ds_release(&d);
}

/* A nonzero return from the callback stops the sweep; the points so far stay. */
static void test_sweep_cancel(void **state)
{
    (void)state;
    ds *d = blobs(500, 2, 3, 4);
    km_sweep_opts o = {.kmin = 2, .kmax = 9};
    km_sweep_result r = {0};
    seen s = {.stop_after = 3};
    char *err = NULL;
    assert_int_equal(km_sweep(d->x, d->rows, d->cols, &o, &r, on_point, &s, &err),
                     MLWB_ERR_CANCELLED);
    free(err);
    assert_int_equal(r.done, 3);
    assert_int_equal(s.last_k, 4);
    km_sweep_clear(&r);
    ds_release(&d);
}

static void test_sweep_invalid(void **state)
{
    (void)state;
    float x[] = {0, 1, 2, 3, 4, 5};
    km_sweep_result r = {0};
    char *err = NULL;
    km_sweep_opts o = {.kmin = 4, .kmax = 5};
    assert_int_equal(km_sweep(x, 3, 2, &o, &r, NULL, NULL, &err), MLWB_ERR_INVALID);
    assert_non_null(strstr(err, "kmin=4"));
    free(err);
    err = NULL;
    o = (km_sweep_opts){.kmin = 3, .kmax = 2};
    assert_int_equal(km_sweep(x, 6, 1, &o, &r, NULL, NULL, &err), MLWB_ERR_INVALID);
    assert_non_null(strstr(err, "kmax=2"));
    free(err);
    err = NULL;
    assert_int_equal(km_sweep(x, 1, 6, &o, &r, NULL, NULL, &err), MLWB_ERR_INVALID);
    free(err);
    /* kmax above n - 1 is lowered: 6 rows sweep 2..5 */
    err = NULL;
    o = (km_sweep_opts){.kmin = 2, .kmax = 12};
    assert_int_equal(km_sweep(x, 6, 1, &o, &r, NULL, NULL, &err), MLWB_OK);
    assert_int_equal(r.kmax, 5);
    assert_int_equal(r.done, 4);
    km_sweep_clear(&r);
}

/* The model: predictions on raw rows equal km_predict in the scaled space; the blob
 * round-trips and every truncation or corruption is refused. */
static void test_model(void **state)
{
    (void)state;
    ds *d = blobs(600, 3, 3, 8);
    size_t n = d->rows, dim = d->cols;
    double mean[3], sd[3];
    float *xs = malloc(n * dim * sizeof *xs);
    assert_non_null(xs);
    km_scaling_fit(d->x, n, dim, mean, sd);
    km_scaling_apply(d->x, n, dim, mean, sd, xs);
    km_opts ko = {.k = 3, .seed = 2};
    km_result kr = {0};
    char *err = NULL;
    assert_int_equal(km_fit(xs, n, dim, &ko, &kr, NULL, NULL, &err), MLWB_OK);
    km_model *m = NULL;
    const char *names[] = {"a", "b", "c"};
    assert_int_equal(km_model_new(kr.centroids, 3, dim, mean, sd, names, &m, &err), MLWB_OK);
    int32_t *cl = malloc(n * sizeof *cl);
    double *dist = malloc(n * sizeof *dist);
    assert_int_equal(km_model_predict_batch(m, d->x, n, cl, dist), MLWB_OK);
    for (size_t i = 0; i < n; i++) {
        int32_t c1;
        double d1, all[3];
        km_predict(kr.centroids, 3, dim, xs + i * dim, &c1, &d1);
        assert_int_equal(cl[i], c1);
        assert_true(dist[i] == d1);
        assert_int_equal(cl[i], kr.labels[i]);
        km_model_distances(m, d->x + i * dim, all);
        assert_true(all[c1] == d1);
        for (int c = 0; c < 3; c++)
            assert_true(all[c] >= d1);
    }
    void *blob = NULL;
    size_t len = 0;
    assert_int_equal(km_model_serialize(m, &blob, &len, &err), MLWB_OK);
    km_model *m2 = NULL;
    assert_int_equal(km_model_deserialize(blob, len, &m2, &err), MLWB_OK);
    assert_int_equal(km_model_k(m2), 3);
    assert_int_equal(km_model_dims(m2), 3);
    assert_true(km_model_scaled(m2));
    assert_string_equal(km_model_feature_name(m2, 2), "c");
    for (size_t i = 0; i < n; i += 7) {
        int32_t c2;
        double d2;
        km_model_predict(m2, d->x + i * dim, &c2, &d2);
        assert_int_equal(c2, cl[i]);
        assert_true(d2 == dist[i]);
    }
    km_model_free(&m2);
    for (size_t cut = 0; cut < len; cut++) {
        assert_int_equal(km_model_deserialize(blob, cut, &m2, &err), MLWB_ERR_PARSE);
        assert_null(m2);
        free(err);
        err = NULL;
    }
    unsigned char *bad = malloc(len + 1);
    memcpy(bad, blob, len);
    bad[len] = 0;  /* a trailing byte */
    assert_int_equal(km_model_deserialize(bad, len + 1, &m2, &err), MLWB_ERR_PARSE);
    free(err);
    err = NULL;
    bad[0] = 'X';  /* not our magic */
    assert_int_equal(km_model_deserialize(bad, len, &m2, &err), MLWB_ERR_PARSE);
    free(err);
    err = NULL;
    memcpy(bad, blob, len);
    float nanf_ = NAN;  /* a NaN centroid */
    memcpy(bad + len - sizeof(float), &nanf_, sizeof(float));
    assert_int_equal(km_model_deserialize(bad, len, &m2, &err), MLWB_ERR_INVALID);
    assert_non_null(strstr(err, "model blob"));
    free(err);
    err = NULL;
    /* unscaled: no scaling stored, predictions on the raw values */
    km_model *m3 = NULL;
    assert_int_equal(km_model_new(kr.centroids, 3, dim, NULL, NULL, NULL, &m3, &err), MLWB_OK);
    assert_false(km_model_scaled(m3));
    assert_string_equal(km_model_feature_name(m3, 0), "");
    assert_true(km_model_scale_sd(m3, 0) == 1.0);
    km_model_free(&m3);
    km_model_free(&m3);
    free(bad);
    free(blob);
    free(cl);
    free(dist);
    free(xs);
    km_model_free(&m);
    km_result_clear(&kr);
    ds_release(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elbow),         cmocka_unit_test(test_sweep_blobs),
        cmocka_unit_test(test_sweep_sample),  cmocka_unit_test(test_sweep_cancel),
        cmocka_unit_test(test_sweep_invalid), cmocka_unit_test(test_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
