/* test_knn_search.c — the exact KNN search against an independent sort-based reference:
 * all three metrics, many random shapes (rows 1..2000, dims 1..70, k 1..rows), data full
 * of exact ties and duplicate rows, rows nearly equidistant from the query (where float
 * rounding decides nothing), exclusion, 1 vs 2 threads, sizes on block and panel
 * boundaries, zero vectors for cosine, values too large or not finite, and the argument
 * checks.  Every check runs each search method the index can use (MLWB_KNN_KERNEL =
 * auto, blas, brute, tree), so the sgemm path is tested on a CPU that would pick AVX2,
 * and the kd-tree on every shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlwb/core/knn_search.h"
#include "mlwb/core/parfor.h"

/* --- a small deterministic generator (splitmix64) -------------------------------- */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static size_t rng_below(size_t n) { return (size_t)(rng_next() % n); }

static float rng_gauss(void)
{
    double u = ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0;
    double v = ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0;
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}

/* --- the reference: every key in double, qsort by (key, index) ------------------- */
typedef struct ref_pair {
    double key;
    int32_t i;
} ref_pair;

static int cmp_pair(const void *a, const void *b)
{
    const ref_pair *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static double ref_key(knn_metric m, const float *q, const float *x, size_t d)
{
    double s = 0, dot = 0, nq = 0, nx = 0;
    for (size_t j = 0; j < d; j++) {
        double t = (double)q[j] - (double)x[j];
        if (m == KNN_EUCLIDEAN)
            s += t * t;
        else if (m == KNN_MANHATTAN)
            s += fabs(t);
        dot += (double)q[j] * (double)x[j];
        nq += (double)q[j] * (double)q[j];
        nx += (double)x[j] * (double)x[j];
    }
    double key = m != KNN_COSINE ? s : nq == 0 || nx == 0 ? 1.0 : 1.0 - dot / sqrt(nq * nx);
    return key == key ? key : INFINITY;  /* NaN counts as +infinity */
}

static float ref_dist(knn_metric m, double key)
{
    if (m == KNN_EUCLIDEAN)
        return (float)sqrt(key);
    if (m == KNN_COSINE)
        return key < 0 ? 0.0f : (float)key;
    return (float)key;
}

static const char *const kernels[] = {"auto", "blas", "brute", "tree"};
enum { NKERNELS = 4 };

/* Check knn_index_search on (x, rows, d) with queries q[nq] against the reference,
 * with each search method. */
static void check_search(knn_metric m, const float *x, size_t rows, size_t d, const float *q,
                         size_t nq, int k, const int64_t *exclude, const char *what)
{
    int32_t *idx = malloc(nq * (size_t)k * sizeof *idx);
    float *dist = malloc(nq * (size_t)k * sizeof *dist);
    int32_t *want = malloc(nq * (size_t)k * sizeof *want);
    float *wdist = malloc(nq * (size_t)k * sizeof *wdist);
    ref_pair *p = malloc(rows * sizeof *p);
    assert_non_null(idx);
    assert_non_null(dist);
    assert_non_null(p);
    for (size_t i = 0; i < nq; i++) {
        size_t n = 0;
        for (size_t r = 0; r < rows; r++)
            if (!exclude || exclude[i] != (int64_t)r)
                p[n++] = (ref_pair){ref_key(m, q + i * d, x + r * d, d), (int32_t)r};
        qsort(p, n, sizeof *p, cmp_pair);
        for (int j = 0; j < k; j++) {
            want[i * (size_t)k + (size_t)j] = (size_t)j < n ? p[j].i : -1;
            wdist[i * (size_t)k + (size_t)j] = (size_t)j < n ? ref_dist(m, p[j].key) : INFINITY;
        }
    }
    for (size_t ki = 0; ki < NKERNELS; ki++) {
        setenv("MLWB_KNN_KERNEL", kernels[ki], 1);
        knn_index *ix = NULL;
        assert_int_equal(knn_index_build(x, rows, d, m, &ix, NULL), MLWB_OK);
        unsetenv("MLWB_KNN_KERNEL");
        assert_int_equal(knn_index_rows(ix), rows);
        assert_int_equal(knn_index_dims(ix), d);
        assert_int_equal(knn_index_metric(ix), m);
        assert_true(knn_index_row(ix, rows - 1)[d - 1] == x[rows * d - 1] ||
                    x[rows * d - 1] != x[rows * d - 1]);
        assert_int_equal(knn_index_search(ix, q, nq, k, exclude, idx, dist, NULL), MLWB_OK);
        for (size_t t = 0; t < nq * (size_t)k; t++)
            if (idx[t] != want[t] || dist[t] != wdist[t]) {
                print_error("%s (%s): metric %d rows %zu dims %zu k %d: query %zu place %zu: "
                            "got row %d (%.9g), want row %d (%.9g)\n",
                            what, kernels[ki], (int)m, rows, d, k, t / (size_t)k,
                            t % (size_t)k, idx[t], (double)dist[t], want[t], (double)wdist[t]);
                fail();
            }
        knn_index_free(&ix);
        assert_null(ix);
    }
    free(p);
    free(idx);
    free(dist);
    free(want);
    free(wdist);
}

static const knn_metric metrics[] = {KNN_EUCLIDEAN, KNN_MANHATTAN, KNN_COSINE};

/* Gaussian data with an offset, so that norms are not small. */
static float *gauss_data(size_t n, size_t d, float offset)
{
    float *x = malloc((n ? n : 1) * d * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n * d; i++)
        x[i] = rng_gauss() + offset;
    return x;
}

static void random_shapes(void **state)
{
    rng_state = 1;
    for (int trial = 0; trial < 60; trial++) {
        size_t rows = 1 + rng_below(trial < 40 ? 300 : 2000);
        size_t d = 1 + rng_below(70);
        size_t nq = 1 + rng_below(40);
        int k = 1 + (int)rng_below(rows < 60 ? rows : (trial % 3 ? 60 : rows));
        float offset = (float)(trial % 4) * 3.0f;
        float *x = gauss_data(rows, d, offset);
        float *q = gauss_data(nq, d, offset);
        for (size_t mi = 0; mi < 3; mi++)
            check_search(metrics[mi], x, rows, d, q, nq, k, NULL, "random");
        free(x);
        free(q);
    }
}

/* Small integers: a great many exactly equal distances and duplicate rows, so the
 * order among ties (row index) decides most places. */
static void ties_and_duplicates(void **state)
{
    rng_state = 2;
    for (int trial = 0; trial < 40; trial++) {
        size_t rows = 1 + rng_below(1500);
        size_t d = 1 + rng_below(trial < 20 ? 4 : 40);
        size_t nq = 1 + rng_below(30);
        int k = 1 + (int)rng_below(rows < 100 ? rows : 100);
        int span = 1 + (int)rng_below(3);
        float *x = malloc(rows * d * sizeof *x), *q = malloc(nq * d * sizeof *q);
        for (size_t i = 0; i < rows * d; i++)
            x[i] = (float)((int)rng_below((size_t)span + 1)) * (trial % 2 ? 1.0f : 0.25f);
        for (size_t i = 0; i < nq; i++)  /* half the queries are rows themselves */
            for (size_t j = 0; j < d; j++)
                q[i * d + j] = i % 2 ? x[rng_below(rows) * d + j]
                                     : (float)((int)rng_below((size_t)span + 1));
        for (size_t mi = 0; mi < 3; mi++)
            check_search(metrics[mi], x, rows, d, q, nq, k, NULL, "ties");
        free(x);
        free(q);
    }
    /* every row the same */
    float same[300 * 3];
    for (size_t i = 0; i < 300 * 3; i++)
        same[i] = 7.5f;
    for (size_t mi = 0; mi < 3; mi++) {
        check_search(metrics[mi], same, 300, 3, same, 5, 17, NULL, "all equal");
        check_search(metrics[mi], same, 300, 3, same, 5, 300, NULL, "all equal");
    }
}

static void exclusion(void **state)
{
    rng_state = 3;
    size_t rows = 777, d = 5;
    float *x = gauss_data(rows, d, 1.0f);
    for (size_t i = 100; i < 200; i++)  /* some duplicates of row 0 */
        memcpy(x + i * d, x, d * sizeof *x);
    int64_t *ex = malloc(rows * sizeof *ex);
    for (size_t i = 0; i < rows; i++)
        ex[i] = i % 5 == 4 ? -1 : (int64_t)i;  /* leave-one-out, with a few -1 */
    for (size_t mi = 0; mi < 3; mi++) {
        check_search(metrics[mi], x, rows, d, x, rows, 1, ex, "exclude");
        check_search(metrics[mi], x, rows, d, x, rows, 12, ex, "exclude");
    }
    /* k = rows with an exclusion: the last place is empty */
    float small[4] = {0, 1, 2, 3};
    int64_t ex1[1] = {2};
    int32_t idx[4];
    float dist[4];
    knn_index *ix = NULL;
    assert_int_equal(knn_index_build(small, 4, 1, KNN_EUCLIDEAN, &ix, NULL), MLWB_OK);
    assert_int_equal(knn_index_search(ix, small + 2, 1, 4, ex1, idx, dist, NULL), MLWB_OK);
    assert_int_equal(idx[0], 1);  /* distance 1: rows 1 and 3, lower index first */
    assert_int_equal(idx[1], 3);
    assert_int_equal(idx[2], 0);
    assert_int_equal(idx[3], -1);
    assert_true(dist[0] == 1.0f && dist[2] == 2.0f && isinf(dist[3]));
    check_search(KNN_MANHATTAN, small, 4, 1, small, 4, 4, (const int64_t[]){0, 1, 2, 3},
                 "exclude all k");
    knn_index_free(&ix);
    free(ex);
    free(x);
}

static void threads_agree(void **state)
{
    rng_state = 4;
    size_t rows = 1500, d = 20, nq = 300;
    float *x = gauss_data(rows, d, 0.5f);
    float *q = gauss_data(nq, d, 0.5f);
    for (size_t t3 = 0; t3 < 3 * NKERNELS; t3++) {
        size_t mi = t3 % 3;
        knn_index *ix = NULL;
        setenv("MLWB_KNN_KERNEL", kernels[t3 / 3], 1);
        assert_int_equal(knn_index_build(x, rows, d, metrics[mi], &ix, NULL), MLWB_OK);
        unsetenv("MLWB_KNN_KERNEL");
        int k = 25;
        int32_t *i1 = malloc(nq * (size_t)k * sizeof *i1), *i2 = malloc(nq * (size_t)k * sizeof *i2);
        float *d1 = malloc(nq * (size_t)k * sizeof *d1), *d2 = malloc(nq * (size_t)k * sizeof *d2);
        par_set_threads(1);
        assert_int_equal(knn_index_search(ix, q, nq, k, NULL, i1, d1, NULL), MLWB_OK);
        par_set_threads(2);
        assert_int_equal(knn_index_search(ix, q, nq, k, NULL, i2, d2, NULL), MLWB_OK);
        par_set_threads(0);
        assert_memory_equal(i1, i2, nq * (size_t)k * sizeof *i1);
        assert_memory_equal(d1, d2, nq * (size_t)k * sizeof *d1);
        /* one query at a time gives the same as the batch */
        for (size_t i = 0; i < nq; i += 37) {
            int32_t one[25];
            float od[25];
            assert_int_equal(knn_index_search(ix, q + i * d, 1, k, NULL, one, od, NULL), MLWB_OK);
            assert_memory_equal(one, i1 + i * (size_t)k, sizeof one);
            assert_memory_equal(od, d1 + i * (size_t)k, sizeof od);
        }
        free(i1);
        free(i2);
        free(d1);
        free(d2);
        knn_index_free(&ix);
    }
    free(x);
    free(q);
}

/* Row and query counts on and around the block sizes a blocked search might use. */
static void block_boundaries(void **state)
{
    rng_state = 5;
    static const size_t sizes[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32,
                                   33, 63, 64, 65, 127, 128, 129, 191, 192, 193, 255, 256,
                                   257, 383, 384, 385, 511, 512, 513, 1023, 1024, 1025, 2047,
                                   2048, 2049};
    size_t ns = sizeof sizes / sizeof *sizes;
    for (size_t t = 0; t < ns; t++) {
        size_t rows = sizes[t];
        size_t nq = sizes[(t * 7 + 3) % ns] % 200;
        nq = nq ? nq : 1;
        size_t d = t % 3 == 0 ? 16 : t % 3 == 1 ? 17 : 4;
        float *x = gauss_data(rows, d, 0.0f);
        float *q = gauss_data(nq, d, 0.0f);
        int k = (int)(rows < 10 ? rows : 10);
        for (size_t mi = 0; mi < 3; mi++)
            check_search(metrics[mi], x, rows, d, q, nq, k, NULL, "blocks");
        free(x);
        free(q);
    }
}

static void cosine_zero_vectors(void **state)
{
    float x[] = {0, 0, 1, 0, 0, 1, 2, 0, 0, 0, -1, -1};
    float q[] = {0, 0, 3, 0, 1, 1};
    check_search(KNN_COSINE, x, 6, 2, q, 3, 6, NULL, "zero vectors");
    int32_t idx[6];
    float dist[6];
    knn_index *ix = NULL;
    assert_int_equal(knn_index_build(x, 6, 2, KNN_COSINE, &ix, NULL), MLWB_OK);
    assert_int_equal(knn_index_search(ix, q + 2, 1, 6, NULL, idx, dist, NULL), MLWB_OK);
    assert_int_equal(idx[0], 1);  /* (1,0) and (2,0): distance 0, lower index first */
    assert_int_equal(idx[1], 3);
    assert_true(dist[0] == 0.0f && dist[1] == 0.0f);
    assert_int_equal(idx[2], 0);  /* zero vectors: distance 1, as is (0,1) */
    assert_int_equal(idx[3], 2);
    assert_int_equal(idx[4], 4);
    assert_true(dist[2] == 1.0f && dist[3] == 1.0f && dist[4] == 1.0f);
    assert_int_equal(idx[5], 5);
    knn_index_free(&ix);
}

static void bad_arguments(void **state)
{
    float x[4] = {1, 2, 3, 4};
    knn_index *ix = NULL;
    char *err = NULL;
    assert_int_equal(knn_index_build(x, 0, 2, KNN_EUCLIDEAN, &ix, &err), MLWB_ERR_INVALID);
    assert_null(ix);
    assert_int_equal(knn_index_build(x, 2, 2, (knn_metric)9, &ix, &err), MLWB_ERR_INVALID);
    assert_int_equal(knn_index_build(x, 2, 2, KNN_EUCLIDEAN, &ix, &err), MLWB_OK);
    int32_t idx[3];
    float dist[3];
    assert_int_equal(knn_index_search(ix, x, 1, 3, NULL, idx, dist, &err), MLWB_ERR_INVALID);
    assert_string_equal(err, "knn search: k=3: need 1 .. 2");
    assert_int_equal(knn_index_search(ix, x, 1, 0, NULL, idx, dist, &err), MLWB_ERR_INVALID);
    assert_int_equal(knn_index_search(ix, x, 0, 1, NULL, idx, dist, &err), MLWB_OK);
    free(err);
    knn_index_free(&ix);
    knn_index_free(&ix);  /* a second free is a no-op */
}

/* Rows nearly equidistant from the query: a sphere of radius 3 around it (and far
 * from the origin), so that the float values cannot order them and every row is a
 * candidate; the exact keys decide.  Also a query far from all rows. */
static void near_ties(void **state)
{
    rng_state = 6;
    size_t rows = 700, d = 8;
    float *x = malloc(rows * d * sizeof *x), q[2 * 8];
    for (size_t j = 0; j < d; j++)
        q[j] = 50.0f + (float)j;
    for (size_t r = 0; r < rows; r++) {
        double u[8], n = 0;
        for (size_t j = 0; j < d; j++) {
            u[j] = rng_gauss();
            n += u[j] * u[j];
        }
        for (size_t j = 0; j < d; j++)
            x[r * d + j] = q[j] + (float)(3.0 * u[j] / sqrt(n));
    }
    for (size_t j = 0; j < d; j++)
        q[d + j] = -4000.0f + (float)j;
    for (size_t mi = 0; mi < 3; mi++) {
        check_search(metrics[mi], x, rows, d, q, 2, 5, NULL, "sphere");
        check_search(metrics[mi], x, rows, d, q, 2, 300, NULL, "sphere");
    }
    free(x);
}

/* Values too large for float squares, and NaN / infinity: the brute-force path, for
 * the whole index or for one query; a NaN distance counts as +infinity. */
static void huge_and_nonfinite(void **state)
{
    rng_state = 7;
    size_t rows = 200, d = 3;
    float *x = gauss_data(rows, d, 0.0f), *q = gauss_data(6, d, 0.0f);
    q[0] = 3e20f;           /* query 0: too large */
    q[d + 1] = NAN;         /* query 1: NaN */
    q[2 * d + 2] = INFINITY; /* query 2: infinite */
    for (size_t mi = 0; mi < 3; mi++)
        check_search(metrics[mi], x, rows, d, q, 6, 7, NULL, "bad queries");
    x[5 * d] = 2e19f;       /* a huge row: the whole index goes brute force */
    for (size_t mi = 0; mi < 3; mi++)
        check_search(metrics[mi], x, rows, d, q + 3 * d, 3, 7, NULL, "huge row");
    x[5 * d] = NAN;         /* a NaN row: last, whatever the query */
    for (size_t mi = 0; mi < 3; mi++)
        check_search(metrics[mi], x, rows, d, q + 3 * d, 3, (int)rows, NULL, "NaN row");
    free(x);
    free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_shapes),
        cmocka_unit_test(ties_and_duplicates),
        cmocka_unit_test(exclusion),
        cmocka_unit_test(threads_agree),
        cmocka_unit_test(block_boundaries),
        cmocka_unit_test(cosine_zero_vectors),
        cmocka_unit_test(near_ties),
        cmocka_unit_test(huge_and_nonfinite),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
