/* test_kmeans.c — k-means (kmeans.h) against a plain Lloyd written here from the rules in
 * kmeans.h, and the cluster scores (cluster_scores.h) against hand-computed values and
 * values computed once with scikit-learn 1.2.1 (Debian's /usr/bin/python3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mlwb/core/cluster_scores.h"
#include "mlwb/core/csv.h"
#include "mlwb/core/dataset.h"
#include "mlwb/core/kmeans.h"
#include "mlwb/core/parfor.h"
#include "mlwb/core/samples.h"

#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

/* --- data ------------------------------------------------------------------------- */

/* n rows of d floats around `blobs` Gaussian centres (sd 1, centres uniform in
 * [-10, 10]^d); the caller frees. */
static float *blobs(size_t n, size_t d, int nb, unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    double *c = malloc((size_t)nb * d * sizeof *c);
    float *x = malloc(n * d * sizeof *x);
    assert_non_null(c);
    assert_non_null(x);
    for (size_t i = 0; i < (size_t)nb * d; i++)
        c[i] = gsl_rng_uniform(r) * 20 - 10;
    for (size_t i = 0; i < n; i++) {
        size_t b = gsl_rng_uniform_int(r, (unsigned long)nb);
        for (size_t j = 0; j < d; j++)
            x[i * d + j] = (float)(c[b * d + j] + gsl_ran_gaussian(r, 1.0));
    }
    free(c);
    gsl_rng_free(r);
    return x;
}

static ds *iris(void)
{
    sample_info s;
    assert_true(sample_find("iris", &s));
    ds *d = NULL;
    assert_int_equal(csv_parse(s.data, s.len, "iris", NULL, &d, NULL), MLWB_OK);
    return d;
}

/* --- plain Lloyd, from the rules in kmeans.h --------------------------------------- */

/* The squared distance as kmeans.h defines it: column j goes to partial sum j mod 4
 * (the tail columns after the last full group of 4 to the first), then
 * (s0 + s1) + (s2 + s3). */
static double d2(const float *x, const double *c, size_t d)
{
    double s[4] = {0, 0, 0, 0};
    size_t full = d / 4 * 4;
    for (size_t j = 0; j < d; j++) {
        double t = (double)x[j] - c[j];
        s[j < full ? j % 4 : 0] += t * t;
    }
    return (s[0] + s[1]) + (s[2] + s[3]);
}

static size_t assign_all(const float *x, size_t n, size_t d, size_t k, const double *c,
                         int32_t *lab, int first)
{
    size_t ch = 0;
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        double bd = d2(x + i * d, c, d);
        for (size_t j = 1; j < k; j++) {
            double t = d2(x + i * d, c + j * d, d);
            if (t < bd) {
                bd = t;
                best = j;
            }
        }
        if (first || lab[i] != (int32_t)best)
            ch++;
        lab[i] = (int32_t)best;
    }
    return ch;
}

/* Returns the iterations; fills c (k*d, starting centres in, final out), lab, *conv. */
static int lloyd(const float *x, size_t n, size_t d, size_t k, double tol, int max_iter,
                 double *c, int32_t *lab, int *conv, double *inertia)
{
    double mvar = 0;
    for (size_t j = 0; j < d; j++) {
        double m = 0, v = 0;
        for (size_t i = 0; i < n; i++)
            m += x[i * d + j];
        m /= (double)n;
        for (size_t i = 0; i < n; i++)
            v += (x[i * d + j] - m) * (x[i * d + j] - m);
        mvar += v / (double)n;
    }
    double tol_abs = (tol < 0 ? 0 : tol) * mvar / (double)d;
    double *sum = malloc(k * d * sizeof *sum);
    size_t *cnt = malloc(k * sizeof *cnt);
    int it = 0, strict = 0;
    *conv = 0;
    while (it < max_iter) {
        it++;
        size_t ch = assign_all(x, n, d, k, c, lab, it == 1);
        memset(sum, 0, k * d * sizeof *sum);
        memset(cnt, 0, k * sizeof *cnt);
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < d; j++)
                sum[(size_t)lab[i] * d + j] += x[i * d + j];
            cnt[lab[i]]++;
        }
        for (size_t e = 0; e < k; e++) {
            if (cnt[e])
                continue;
            size_t p = n;
            double pd = -1;
            for (size_t i = 0; i < n; i++) {
                if (cnt[lab[i]] < 2)
                    continue;
                double t = d2(x + i * d, c + (size_t)lab[i] * d, d);
                if (t > pd) {
                    pd = t;
                    p = i;
                }
            }
            size_t old = (size_t)lab[p];
            for (size_t j = 0; j < d; j++) {
                sum[old * d + j] -= x[p * d + j];
                sum[e * d + j] = x[p * d + j];
            }
            cnt[old]--;
            cnt[e] = 1;
            lab[p] = (int32_t)e;
            ch++;
        }
        double shift = 0;
        for (size_t e = 0; e < k; e++)
            for (size_t j = 0; j < d; j++) {
                double v = sum[e * d + j] / (double)cnt[e];
                shift += (v - c[e * d + j]) * (v - c[e * d + j]);
                c[e * d + j] = v;
            }
        if (ch == 0) {
            *conv = strict = 1;
            break;
        }
        if (shift <= tol_abs) {
            *conv = 1;
            break;
        }
    }
    if (!strict)
        assign_all(x, n, d, k, c, lab, 0);
    *inertia = 0;
    for (size_t i = 0; i < n; i++)
        *inertia += d2(x + i * d, c + (size_t)lab[i] * d, d);
    free(sum);
    free(cnt);
    return it;
}

/* km_fit from the given starting centres and plain Lloyd agree exactly. */
static int check_same(const float *x, size_t n, size_t d, size_t k, const float *init,
                      double tol, int max_iter)
{
    km_opts o = {.k = (int)k, .tol = tol, .max_iter = max_iter, .init = init};
    km_result r;
    assert_int_equal(km_fit(x, n, d, &o, &r, NULL, NULL, NULL), MLWB_OK);
    double *c = malloc(k * d * sizeof *c);
    int32_t *lab = malloc(n * sizeof *lab);
    for (size_t i = 0; i < k * d; i++)
        c[i] = init[i];
    int conv;
    double inertia;
    int it = lloyd(x, n, d, k, tol == 0 ? 1e-4 : tol, max_iter ? max_iter : 300, c, lab,
                   &conv, &inertia);
    assert_int_equal(r.iterations, it);
    assert_int_equal(r.converged, conv);
    assert_memory_equal(r.labels, lab, n * sizeof *lab);
    for (size_t i = 0; i < k * d; i++) {
        assert_false(isnan(r.centroids[i]));
        assert_near(r.centroids[i], c[i], 1e-5);
    }
    assert_near(r.inertia, inertia, 1e-9 * inertia);
    int reseeds = r.reseeds;
    free(c);
    free(lab);
    km_result_clear(&r);
    return reseeds;
}

/* --- k-means tests ------------------------------------------------------------------- */

static void hamerly_equals_lloyd(void **state)
{
    (void)state;
    const size_t n = 3000;
    const struct { size_t d, k; int nb; double tol; int max_iter; } cases[] = {
        {2, 5, 5, 0, 0},  {5, 8, 6, 0, 0},    {16, 12, 10, -1, 0},
        {3, 20, 4, -1, 0}, {8, 6, 6, 1e-3, 0}, {4, 10, 3, -1, 3},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        size_t d = cases[t].d, k = cases[t].k;
        float *x = blobs(n, d, cases[t].nb, 100 + t);
        float *init = malloc(k * d * sizeof *init);
        for (size_t c = 0; c < k; c++) /* rows 0, 7, 14, ... as the start */
            memcpy(init + c * d, x + (c * 7) * d, d * sizeof *init);
        check_same(x, n, d, k, init, cases[t].tol, cases[t].max_iter);
        /* and from a k-means++ start: take km_fit's own result as a start of one run */
        km_opts o = {.k = (int)k, .seed = 5};
        km_result r;
        assert_int_equal(km_fit(x, n, d, &o, &r, NULL, NULL, NULL), MLWB_OK);
        assert_true(r.iterations >= 1);
        km_result_clear(&r);
        free(init);
        free(x);
    }
}

static void reproducible(void **state)
{
    (void)state;
    const size_t n = 2000, d = 4;
    float *x = blobs(n, d, 6, 7);
    km_opts o = {.k = 6, .n_init = 3, .seed = 42};
    km_result a, b, c;
    assert_int_equal(km_fit(x, n, d, &o, &a, NULL, NULL, NULL), MLWB_OK);
    assert_int_equal(km_fit(x, n, d, &o, &b, NULL, NULL, NULL), MLWB_OK);
    int threads = par_threads();
    par_set_threads(1);
    assert_int_equal(km_fit(x, n, d, &o, &c, NULL, NULL, NULL), MLWB_OK);
    par_set_threads(threads);
    assert_memory_equal(a.labels, b.labels, n * sizeof *a.labels);
    assert_memory_equal(a.centroids, b.centroids, 6 * d * sizeof *a.centroids);
    assert_memory_equal(a.labels, c.labels, n * sizeof *a.labels);
    assert_memory_equal(a.centroids, c.centroids, 6 * d * sizeof *a.centroids);
    assert_true(a.inertia == b.inertia && a.inertia == c.inertia);
    assert_int_equal(a.iterations, b.iterations);
    km_result_clear(&a);
    km_result_clear(&b);
    o.seed = 43;
    assert_int_equal(km_fit(x, n, d, &o, &b, NULL, NULL, NULL), MLWB_OK);
    km_result_clear(&b);
    km_result_clear(&c);
    km_result_clear(&c); /* twice is safe */
    free(x);
}

static int count_inits(void *ud, int init, int iter, double shift)
{
    (void)iter;
    (void)shift;
    int *maxinit = ud;
    if (init > *maxinit)
        *maxinit = init;
    return 0;
}

static void n_init_keeps_best(void **state)
{
    (void)state;
    const size_t n = 1500, d = 2;
    float *x = blobs(n, d, 9, 11);
    for (unsigned long seed = 0; seed < 5; seed++) {
        km_opts o1 = {.k = 9, .n_init = 1, .seed = seed}, o8 = {.k = 9, .n_init = 8,
                                                               .seed = seed};
        km_result a, b;
        int maxinit = -1;
        assert_int_equal(km_fit(x, n, d, &o1, &a, NULL, NULL, NULL), MLWB_OK);
        assert_int_equal(km_fit(x, n, d, &o8, &b, count_inits, &maxinit, NULL), MLWB_OK);
        assert_int_equal(maxinit, 7);
        /* restart 0 of the 8 is the single run (same generator stream) */
        assert_true(b.inertia <= a.inertia);
        assert_true(b.best_init >= 0 && b.best_init < 8);
        /* the reported inertia is that of the kept labels and centroids */
        double s = 0;
        for (size_t i = 0; i < n; i++) {
            int32_t c;
            double dist;
            km_predict(b.centroids, 9, d, x + i * d, &c, &dist);
            assert_int_equal(c, b.labels[i]);
            s += dist * dist;
        }
        assert_near(s, b.inertia, 1e-4 * b.inertia);
        km_result_clear(&a);
        km_result_clear(&b);
    }
    free(x);
}

static void empty_cluster_reseeded(void **state)
{
    (void)state;
    /* 1-D rows 0 1 2 10 11 12; start centres 0, 11, 100: the third gets no row.  The row
     * farthest from its centre is 2 (distance 2 from 0): it becomes cluster 2. */
    const float x[] = {0, 1, 2, 10, 11, 12};
    const float init[] = {0, 11, 100};
    km_opts o = {.k = 3, .init = init, .tol = -1};
    km_result r;
    assert_int_equal(km_fit(x, 6, 1, &o, &r, NULL, NULL, NULL), MLWB_OK);
    assert_true(r.reseeds >= 1);
    for (size_t i = 0; i < 3; i++)
        assert_false(isnan(r.centroids[i]));
    assert_int_equal(r.labels[2], 2);
    assert_near(r.centroids[2], 2, 1e-6);
    assert_near(r.centroids[0], 0.5, 1e-6);
    assert_near(r.centroids[1], 11, 1e-6);
    km_result_clear(&r);
    assert_true(check_same(x, 6, 1, 3, init, -1, 0) >= 1);

    /* identical rows: every k-means++ centre is the same point; the empty clusters are
     * re-seeded (with the same point) and no centroid is NaN; inertia 0 */
    const float same[] = {1, 2, 1, 2, 1, 2, 1, 2, 1, 2};
    km_opts o2 = {.k = 3, .seed = 1};
    assert_int_equal(km_fit(same, 5, 2, &o2, &r, NULL, NULL, NULL), MLWB_OK);
    for (size_t i = 0; i < 6; i++)
        assert_false(isnan(r.centroids[i]));
    assert_near(r.inertia, 0, 0);
    /* every centre is the point; the final assignment gives each row the lowest index */
    for (size_t i = 0; i < 3; i++) {
        assert_near(r.centroids[2 * i], 1, 0);
        assert_near(r.centroids[2 * i + 1], 2, 0);
    }
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(r.labels[i], 0);
    km_result_clear(&r);

    /* empty clusters on blobs: many clusters started on one blob's rows */
    const size_t n = 500, d = 2, k = 10;
    float *xb = blobs(n, d, 2, 3);
    float *ib = malloc(k * d * sizeof *ib);
    for (size_t c = 0; c < k; c++) {
        ib[c * d] = 1000.0f + (float)c;
        ib[c * d + 1] = 1000.0f;
    }
    memcpy(ib, xb, d * sizeof *ib);
    assert_true(check_same(xb, n, d, k, ib, -1, 0) >= 9);
    free(ib);
    free(xb);
}

static int cancel_at_2(void *ud, int init, int iter, double shift)
{
    (void)ud;
    (void)init;
    (void)shift;
    return iter == 2;
}

static void fit_errors_and_predict(void **state)
{
    (void)state;
    const float x[] = {0, 0, 1, 1, 5, 5, 6, 6};
    km_opts o = {.k = 5};
    km_result r;
    char *err = NULL;
    assert_int_equal(km_fit(x, 4, 2, &o, &r, NULL, NULL, &err), MLWB_ERR_INVALID);
    assert_non_null(strstr(err, "k=5"));
    free(err);
    o.k = 0;
    assert_int_equal(km_fit(x, 4, 2, &o, &r, NULL, NULL, NULL), MLWB_ERR_INVALID);
    const float bad[] = {0, NAN};
    o.k = 1;
    assert_int_equal(km_fit(bad, 1, 2, &o, &r, NULL, NULL, NULL), MLWB_ERR_INVALID);
    assert_null(r.labels);
    float *xb = blobs(1000, 3, 8, 9);
    o.k = 8;
    o.tol = -1;
    assert_int_equal(km_fit(xb, 1000, 3, &o, &r, cancel_at_2, NULL, NULL),
                     MLWB_ERR_CANCELLED);
    assert_null(r.centroids);
    free(xb);
    o.k = 2;
    o.tol = 0;
    assert_int_equal(km_fit(x, 4, 2, &o, &r, NULL, NULL, NULL), MLWB_OK);
    assert_true(r.converged);
    assert_near(r.inertia, 2.0, 1e-9);
    int32_t c;
    double dist;
    const float q[] = {5, 6};
    km_predict(r.centroids, 2, 2, q, &c, &dist);
    assert_int_equal(c, r.labels[2]);
    assert_near(dist, sqrt(0.5), 1e-6);
    km_result_clear(&r);
}

/* Best-of-10 inertia on iris for k = 2..10 within 1% of scikit-learn's KMeans(k,
 * n_init=10, random_state=0) on the float32-rounded features, printed by:
 *   /usr/bin/python3 -c "
 *   import numpy as np; from sklearn.cluster import KMeans
 *   a=np.genfromtxt('samples/data/iris.csv',delimiter=',',skip_header=1,usecols=(0,1,2,3)).astype(np.float32).astype(np.float64)
 *   print(', '.join('%.10g'%KMeans(k,n_init=10,random_state=0).fit(a).inertia_ for k in range(2,11)))"
 */
static void inertia_near_sklearn_on_iris(void **state)
{
    (void)state;
    const double want[] = {152.3479481, 78.85143964, 57.22846981, 46.47222811, 39.03998652,
                           34.29971161, 30.06311021, 28.27172158, 26.09432408};
    ds *d = iris();
    for (int k = 2; k <= 10; k++) {
        km_opts o = {.k = k, .n_init = 10, .seed = 0};
        km_result r;
        assert_int_equal(km_fit(d->x, d->rows, d->cols, &o, &r, NULL, NULL, NULL), MLWB_OK);
        assert_true(r.inertia <= want[k - 2] * 1.01);
        assert_true(r.converged);
        km_result_clear(&r);
    }
    ds_release(&d);
}

/* --- scores ------------------------------------------------------------------------ */

/* 1-D rows 0 1 5 6 in clusters {0,1} {5,6}: s = 9/11, 7/9, 7/9, 9/11; means 0.5, 5.5,
 * overall 3: CH = (2*6.25*2 / 1) / (4*0.25 / 2) = 50; DB: S = 0.5, 0.5, M = 5, DB = 0.2.
 * With rows 0 1 5 in {0,1} {5}: s = 4/5, 3/4, 0 (singleton). */
static void scores_by_hand(void **state)
{
    (void)state;
    const float x[] = {0, 1, 5, 6};
    const int32_t l[] = {3, 3, 7, 7}; /* label values need not be 0..m-1 */
    double s, per[4];
    assert_int_equal(cs_silhouette(x, 4, 1, l, &s, per, NULL), MLWB_OK);
    assert_near(per[0], 9.0 / 11, 1e-6);
    assert_near(per[1], 7.0 / 9, 1e-6);
    assert_near(s, (9.0 / 11 + 7.0 / 9) / 2, 1e-6);
    assert_int_equal(cs_calinski_harabasz(x, 4, 1, l, &s, NULL), MLWB_OK);
    assert_near(s, 50, 1e-9);
    assert_int_equal(cs_davies_bouldin(x, 4, 1, l, &s, NULL), MLWB_OK);
    assert_near(s, 0.2, 1e-12);
    const int32_t l3[] = {0, 0, 1};
    assert_int_equal(cs_silhouette(x, 3, 1, l3, &s, per, NULL), MLWB_OK);
    assert_near(per[2], 0, 0);
    assert_near(s, (0.8 + 0.75) / 3, 1e-6);

    /* ARI / NMI: a relabelled copy is 1; t=0011 vs p=0101: tp 0, fp 4, fn 4, tn 4,
     * ARI = 2(0 - 16) / (4*8 + 4*8) = -0.5; MI = 0 so NMI = 0 */
    const int32_t t[] = {0, 0, 1, 1}, p[] = {0, 1, 0, 1}, q[] = {9, 9, 2, 2};
    assert_int_equal(cs_ari(t, q, 4, &s, NULL), MLWB_OK);
    assert_near(s, 1, 1e-12);
    assert_int_equal(cs_nmi(t, q, 4, &s, NULL), MLWB_OK);
    assert_near(s, 1, 1e-12);
    assert_int_equal(cs_ari(t, p, 4, &s, NULL), MLWB_OK);
    assert_near(s, -0.5, 1e-12);
    assert_int_equal(cs_nmi(t, p, 4, &s, NULL), MLWB_OK);
    assert_near(s, 0, 1e-12);
    const int32_t one[] = {0, 0, 0, 0};
    assert_int_equal(cs_nmi(one, one, 4, &s, NULL), MLWB_OK);
    assert_near(s, 1, 0);
    assert_int_equal(cs_ari(one, one, 4, &s, NULL), MLWB_OK);
    assert_near(s, 1, 0);

    /* errors: one cluster, n clusters, a negative label */
    char *err = NULL;
    assert_int_equal(cs_silhouette(x, 4, 1, one, &s, NULL, &err), MLWB_ERR_INVALID);
    assert_non_null(strstr(err, "1 clusters"));
    free(err);
    const int32_t all[] = {0, 1, 2, 3}, neg[] = {0, -1, 0, 1};
    assert_int_equal(cs_calinski_harabasz(x, 4, 1, all, &s, NULL), MLWB_ERR_INVALID);
    assert_int_equal(cs_davies_bouldin(x, 4, 1, neg, &s, NULL), MLWB_ERR_INVALID);
    assert_int_equal(cs_ari(t, neg, 4, &s, NULL), MLWB_ERR_INVALID);
}

/* Iris (150 x 4) with two fixed labelings: the species, and the petal length cut at 2.5
 * and 4.9 (cluster 0, 1, 2; 50/49/51 rows).  Reference values from scikit-learn 1.2.1 on
 * the float32-rounded features (what mlwb holds), printed by:
 *   /usr/bin/python3 -c "
 *   import numpy as np, sklearn.metrics as m
 *   a=np.genfromtxt('samples/data/iris.csv',delimiter=',',skip_header=1,usecols=(0,1,2,3)).astype(np.float32).astype(np.float64)
 *   s=np.genfromtxt('samples/data/iris.csv',delimiter=',',skip_header=1,usecols=4,dtype=str)
 *   y=np.unique(s,return_inverse=True)[1]; p=np.digitize(a[:,2],[2.5,4.9])
 *   for l in (y,p): print('%.17g %.17g %.17g'%(m.silhouette_score(a,l),m.calinski_harabasz_score(a,l),m.davies_bouldin_score(a,l)))
 *   print('%.17g %.17g'%(m.adjusted_rand_score(y,p),m.normalized_mutual_info_score(y,p)))"
 */
static void scores_match_sklearn_on_iris(void **state)
{
    (void)state;
    ds *d = iris();
    assert_int_equal(d->rows, 150);
    assert_int_equal(d->cols, 4);
    int32_t p[150];
    for (size_t i = 0; i < 150; i++) {
        float pl = d->x[i * 4 + 2];
        p[i] = pl < 2.5f ? 0 : pl < 4.9f ? 1 : 2;
    }
    const double want[2][3] = {
        {0.50347744629880364, 487.33089472543787, 0.75137069862316863},
        {0.51909031311497122, 521.03543421995937, 0.71253373448210777},
    };
    const int32_t *labs[2] = {d->y, p};
    for (int k = 0; k < 2; k++) {
        double s;
        assert_int_equal(cs_silhouette(d->x, 150, 4, labs[k], &s, NULL, NULL), MLWB_OK);
        assert_near(s, want[k][0], 1e-6);
        assert_int_equal(cs_calinski_harabasz(d->x, 150, 4, labs[k], &s, NULL), MLWB_OK);
        assert_near(s, want[k][1], 1e-6 * want[k][1]);
        assert_int_equal(cs_davies_bouldin(d->x, 150, 4, labs[k], &s, NULL), MLWB_OK);
        assert_near(s, want[k][2], 1e-6);
    }
    double s;
    assert_int_equal(cs_ari(d->y, p, 150, &s, NULL), MLWB_OK);
    assert_near(s, 0.86803772799438406, 1e-6);
    assert_int_equal(cs_nmi(d->y, p, 150, &s, NULL), MLWB_OK);
    assert_near(s, 0.8464828103876364, 1e-6);
    ds_release(&d);
}

/* The blocked silhouette equals a direct double-precision one on a larger set (several
 * row and column blocks, both threads). */
static void silhouette_blocks(void **state)
{
    (void)state;
    const size_t n = 2500, d = 6;
    float *x = blobs(n, d, 5, 21);
    int32_t *lab = malloc(n * sizeof *lab);
    for (size_t i = 0; i < n; i++)
        lab[i] = (int32_t)((i * 7) % 5);
    km_opts o = {.k = 5, .seed = 3};
    km_result r;
    assert_int_equal(km_fit(x, n, d, &o, &r, NULL, NULL, NULL), MLWB_OK);
    const int32_t *labs[2] = {lab, r.labels};
    for (int t = 0; t < 2; t++) {
        double ref = 0, s;
        for (size_t i = 0; i < n; i++) {
            double sum[5] = {0};
            size_t cnt[5] = {0};
            for (size_t j = 0; j < n; j++) {
                cnt[labs[t][j]]++;
                if (j == i)
                    continue;
                double q = 0;
                for (size_t c = 0; c < d; c++)
                    q += ((double)x[i * d + c] - x[j * d + c]) *
                         ((double)x[i * d + c] - x[j * d + c]);
                sum[labs[t][j]] += sqrt(q);
            }
            size_t c = (size_t)labs[t][i];
            double a = sum[c] / (double)(cnt[c] - 1), b = INFINITY;
            for (size_t e = 0; e < 5; e++)
                if (e != c && sum[e] / (double)cnt[e] < b)
                    b = sum[e] / (double)cnt[e];
            ref += (b - a) / (a > b ? a : b);
        }
        ref /= (double)n;
        assert_int_equal(cs_silhouette(x, n, d, labs[t], &s, NULL, NULL), MLWB_OK);
        assert_near(s, ref, 1e-6);
    }
    km_result_clear(&r);
    free(lab);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hamerly_equals_lloyd),
        cmocka_unit_test(reproducible),
        cmocka_unit_test(n_init_keeps_best),
        cmocka_unit_test(empty_cluster_reseeded),
        cmocka_unit_test(fit_errors_and_predict),
        cmocka_unit_test(inertia_near_sklearn_on_iris),
        cmocka_unit_test(scores_by_hand),
        cmocka_unit_test(scores_match_sklearn_on_iris),
        cmocka_unit_test(silhouette_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
