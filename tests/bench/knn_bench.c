/*
 * knn_bench.c — times mlwb's exact KNN search and batch prediction, and this machine's
 * sgemm rate, for tests/bench/knn.sh (see docs/BENCHMARKS.md).
 *
 *   knn_bench [n=100000] [d=16] [classes=10] [spread=5] [seed=1] [queries=10000] [k=10]
 *             [runs=3] [single=2000] [threads=cores] [out=DIR]
 *
 * Data: mlwb's `load synth blobs` generator (synth_blobs); the last `queries` rows are the
 * queries, the others the index.  With out=DIR the rows go to DIR/x.f32 (float32,
 * row-major) and DIR/y.i32 so that the Python peers (knn_peers.py) use the same bytes.
 * Prints one "key value" line per figure: times are the best of `runs`; latency is the
 * median over `single` one-query calls (queries taken in order).  Not part of the program.
 */
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlwb/core/knn.h"
#include "mlwb/core/knn_search.h"
#include "mlwb/core/parfor.h"
#include "mlwb/core/synth.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const char *opt(int argc, char **argv, const char *name, const char *def)
{
    size_t len = strlen(name);
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], name, len) == 0 && argv[i][len] == '=')
            return argv[i] + len + 1;
    return def;
}

/* GFLOP/s of C = A B^T for m x n x kk, best of a few calls, OpenBLAS with `threads`. */
static double sgemm_rate(int m, int n, int kk, int threads)
{
    float *a = malloc((size_t)m * (size_t)kk * sizeof *a);
    float *b = malloc((size_t)n * (size_t)kk * sizeof *b);
    float *c = malloc((size_t)m * (size_t)n * sizeof *c);
    if (!a || !b || !c)
        exit(1);
    for (size_t i = 0; i < (size_t)m * (size_t)kk; i++)
        a[i] = (float)(i % 7) * 0.25f;
    for (size_t i = 0; i < (size_t)n * (size_t)kk; i++)
        b[i] = (float)(i % 5) * 0.5f;
    openblas_set_num_threads(threads);
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, kk, 1.0f, a, kk, b, kk, 0.0f,
                    c, n);
        double t = now() - t0;
        if (t < best)
            best = t;
    }
    openblas_set_num_threads(1);
    free(a);
    free(b);
    free(c);
    return 2.0 * m * n * kk / best / 1e9;
}

/* The search's own sgemm shape (64 queries x 1024 rows x d+1) over the whole index,
 * from `threads` threads at once: the kernel's ceiling for this problem. */
typedef struct shape_ctx {
    const float *xa, *qa;
    size_t rows, ka;
    float **c;
} shape_ctx;

static void shape_block(void *arg, size_t b, int tid)
{
    shape_ctx *s = arg;
    for (size_t r0 = 0; r0 < s->rows; r0 += 1024) {
        size_t rb = s->rows - r0 < 1024 ? s->rows - r0 : 1024;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 64, (int)rb, (int)s->ka, 1.0f,
                    s->qa + (b % 8) * 64 * s->ka, (int)s->ka, s->xa + r0 * s->ka, (int)s->ka,
                    0.0f, s->c[tid], (int)rb);
    }
}

int main(int argc, char **argv)
{
    size_t n = strtoul(opt(argc, argv, "n", "100000"), NULL, 10);
    size_t d = strtoul(opt(argc, argv, "d", "16"), NULL, 10);
    size_t classes = strtoul(opt(argc, argv, "classes", "10"), NULL, 10);
    double spread = strtod(opt(argc, argv, "spread", "5"), NULL);
    unsigned long seed = strtoul(opt(argc, argv, "seed", "1"), NULL, 10);
    size_t nq = strtoul(opt(argc, argv, "queries", "10000"), NULL, 10);
    int k = atoi(opt(argc, argv, "k", "10"));
    int runs = atoi(opt(argc, argv, "runs", "3"));
    size_t single = strtoul(opt(argc, argv, "single", "2000"), NULL, 10);
    const char *out = opt(argc, argv, "out", NULL);
    par_set_threads(atoi(opt(argc, argv, "threads", "0")));
    if (nq >= n || single > nq || k < 1 || runs < 1) {
        fprintf(stderr, "knn_bench: bad arguments\n");
        return 2;
    }
    synth_blobs_opts so = {.n = n, .d = d, .classes = classes, .spread = spread, .box = 10,
                           .seed = seed};
    ds *all = NULL;
    char *err = NULL;
    if (synth_blobs(&so, &all, &err)) {
        fprintf(stderr, "knn_bench: %s\n", err);
        return 1;
    }
    size_t rows = n - nq;
    const float *q = all->x + rows * d;
    if (out) {
        char path[4096];
        snprintf(path, sizeof path, "%s/x.f32", out);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(all->x, sizeof(float), n * d, f) != n * d || fclose(f)) {
            fprintf(stderr, "knn_bench: cannot write %s\n", path);
            return 1;
        }
        snprintf(path, sizeof path, "%s/y.i32", out);
        f = fopen(path, "wb");
        if (!f || fwrite(all->y, sizeof(int32_t), n, f) != n || fclose(f)) {
            fprintf(stderr, "knn_bench: cannot write %s\n", path);
            return 1;
        }
    }
    printf("rows %zu\nqueries %zu\ndims %zu\nk %d\nthreads %d\n", rows, nq, d, k, par_threads());

    /* --- the search alone -------------------------------------------------------- */
    knn_index *ix = NULL;
    double t0 = now();
    if (knn_index_build(all->x, rows, d, KNN_EUCLIDEAN, &ix, &err)) {
        fprintf(stderr, "knn_bench: %s\n", err);
        return 1;
    }
    printf("index_build_s %.4f\n", now() - t0);
    int32_t *idx = malloc(nq * (size_t)k * sizeof *idx);
    float *dist = malloc(nq * (size_t)k * sizeof *dist);
    double best = 1e30;
    for (int r = 0; r < runs; r++) {
        t0 = now();
        if (knn_index_search(ix, q, nq, k, NULL, idx, dist, &err)) {
            fprintf(stderr, "knn_bench: %s\n", err);
            return 1;
        }
        double t = now() - t0;
        if (t < best)
            best = t;
    }
    printf("search_batch_s %.4f\nsearch_qps %.0f\n", best, (double)nq / best);
    if (out) {  /* the neighbours, for the peers to compare with */
        char path[4096];
        snprintf(path, sizeof path, "%s/idx.i32", out);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(idx, sizeof(int32_t), nq * (size_t)k, f) != nq * (size_t)k || fclose(f))
            return 1;
    }
    double *lat = malloc((single ? single : 1) * sizeof *lat);
    for (size_t i = 0; i < single; i++) {
        t0 = now();
        knn_index_search(ix, q + i * d, 1, k, NULL, idx, dist, NULL);
        lat[i] = now() - t0;
    }
    if (single)
        printf("search_single_median_ms %.4f\n", median(lat, single) * 1e3);

    /* --- the model: scaling none, Euclidean, uniform ------------------------------ */
    ds *train = NULL;
    size_t *sel = malloc(rows * sizeof *sel);
    for (size_t i = 0; i < rows; i++)
        sel[i] = i;
    if (ds_subset(all, sel, rows, &train, &err)) {
        fprintf(stderr, "knn_bench: %s\n", err);
        return 1;
    }
    free(sel);
    knn_params p = {.k = k};
    knn_model *m = NULL;
    t0 = now();
    if (knn_fit(train, &p, &m, &err)) {
        fprintf(stderr, "knn_bench: %s\n", err);
        return 1;
    }
    printf("model_fit_s %.4f\n", now() - t0);
    int32_t *lab = malloc(nq * sizeof *lab);
    float *conf = malloc(nq * sizeof *conf);
    best = 1e30;
    for (int r = 0; r < runs; r++) {
        t0 = now();
        if (knn_predict_batch(m, q, nq, lab, conf)) {
            fprintf(stderr, "knn_bench: batch predict failed\n");
            return 1;
        }
        double t = now() - t0;
        if (t < best)
            best = t;
    }
    size_t right = 0;
    for (size_t i = 0; i < nq; i++)
        right += lab[i] == all->y[rows + i];
    printf("predict_batch_s %.4f\npredict_qps %.0f\npredict_accuracy %.4f\n", best,
           (double)nq / best, (double)right / (double)nq);
    for (size_t i = 0; i < single; i++) {
        t0 = now();
        knn_predict(m, q + i * d, lab, conf);
        lat[i] = now() - t0;
    }
    if (single)
        printf("predict_single_median_ms %.4f\n", median(lat, single) * 1e3);

    /* --- the machine's limit ------------------------------------------------------- */
    size_t ka = d + 1;
    double flops = 2.0 * (double)nq * (double)rows * (double)ka;
    printf("distance_gflop %.2f\n", flops / 1e9);
    printf("sgemm_square_1t_gflops %.1f\n", sgemm_rate(2048, 2048, 2048, 1));
    printf("sgemm_square_2t_gflops %.1f\n", sgemm_rate(2048, 2048, 2048, 2));
    shape_ctx sc = {.rows = rows, .ka = ka};
    float *xa = malloc(rows * ka * sizeof *xa), *qa = malloc(8 * 64 * ka * sizeof *qa);
    for (size_t i = 0; i < rows * ka; i++)
        xa[i] = (float)(i % 11) * 0.1f;
    for (size_t i = 0; i < 8 * 64 * ka; i++)
        qa[i] = (float)(i % 3) * 0.3f;
    sc.xa = xa;
    sc.qa = qa;
    int nt = par_threads();
    sc.c = malloc((size_t)nt * sizeof *sc.c);
    for (int t = 0; t < nt; t++)
        sc.c[t] = malloc(64 * 1024 * sizeof(float));
    size_t nblocks = (nq + 63) / 64;
    best = 1e30;
    for (int r = 0; r < runs; r++) {
        t0 = now();
        par_for(nblocks, shape_block, &sc);
        double t = now() - t0;
        if (t < best)
            best = t;
    }
    printf("sgemm_shape_s %.4f\nsgemm_shape_gflops %.1f\n", best,
           2.0 * (double)nblocks * 64 * (double)rows * (double)ka / best / 1e9);
    const char *core = openblas_get_corename();
    printf("openblas_core %s\n", core ? core : "?");
    const char *cfg = openblas_get_config();
    printf("openblas_config %s\n", cfg ? cfg : "?");
    return 0;
}
