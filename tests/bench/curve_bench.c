/*
 * curve_bench.c — mlwb's k-curve (knn_curve), timed; tests/bench/curve_run.sh builds it
 * against build/libmlwb.a and runs the Python peers (curve_peers.py) on the same data.
 *
 * curve_bench N D CLASSES SPREAD SEED KMAX FOLDS RUNS DATA CURVE
 *   generates N rows of Gaussian blobs (synth_blobs: D features, CLASSES blobs with
 *   centres uniform in [-10, 10]^D and standard deviation SPREAD, MT19937 seeded with
 *   SEED), writes them with mlwb's stratified folds for FOLDS and SEED to DATA (for the
 *   peers: "MLWBCRV1", u64 rows, u64 dims, u64 classes, rows*dims f32, rows i32 labels,
 *   rows i32 folds), then times knn_curve (k = 1..KMAX, FOLDS folds, Euclidean,
 *   uniform, no scaling, all cores) RUNS times and writes the curve to CURVE
 *   ("k mean sd" per line).  Prints one line per run and
 *   best SECONDS best_k K k_1se K mean ACC threads T
 *   gflop G sgemm_gflops R
 * where G is the distance arithmetic of the whole curve (2 x dims flops per held-out
 * row and training row) and R this machine's OpenBLAS sgemm rate on all cores (the
 * best of 5 multiplications of 4096 x 512 by 512 x 4096): G / R is a floor for the time.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlwb/core/parfor.h"
#include "mlwb/core/synth.h"
#include "mlwb/core/tune.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_data(const char *path, const ds *d, const int32_t *fold)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    uint64_t hdr[3] = {d->rows, d->cols, d->nclasses};
    int ok = fwrite("MLWBCRV1", 1, 8, f) == 8 && fwrite(hdr, sizeof hdr, 1, f) == 1 &&
             fwrite(d->x, sizeof(float), d->rows * d->cols, f) == d->rows * d->cols &&
             fwrite(d->y, sizeof(int32_t), d->rows, f) == d->rows &&
             fwrite(fold, sizeof(int32_t), d->rows, f) == d->rows;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* OpenBLAS sgemm GFLOP/s on a large product: what the distance arithmetic could run at. */
static double sgemm_rate(void)
{
    enum { M = 4096, K = 512, N = 4096 };
    float *a = malloc((size_t)M * K * sizeof *a), *b = malloc((size_t)K * N * sizeof *b),
          *c = malloc((size_t)M * N * sizeof *c);
    double best = 0;
    if (a && b && c) {
        for (size_t i = 0; i < (size_t)M * K; i++)
            a[i] = (float)(i % 7) - 3;
        for (size_t i = 0; i < (size_t)K * N; i++)
            b[i] = (float)(i % 5) - 2;
        for (int r = 0; r < 5; r++) {
            double t0 = now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N,
                        0.0f, c, N);
            double g = 2.0 * M * N * K / (now() - t0) / 1e9;
            if (g > best)
                best = g;
        }
    }
    free(a);
    free(b);
    free(c);
    return best;
}

int main(int argc, char **argv)
{
    if (argc != 11) {
        fprintf(stderr, "usage: curve_bench N D CLASSES SPREAD SEED KMAX FOLDS RUNS DATA CURVE\n");
        return 2;
    }
    synth_blobs_opts so = {.n = strtoul(argv[1], NULL, 10), .d = strtoul(argv[2], NULL, 10),
                           .classes = strtoul(argv[3], NULL, 10), .spread = atof(argv[4]),
                           .box = 10, .seed = strtoul(argv[5], NULL, 10)};
    knn_curve_opts o = {.kmax = atoi(argv[6]), .folds = atoi(argv[7]), .seed = so.seed};
    int runs = atoi(argv[8]);
    ds *d = NULL;
    char *err = NULL;
    if (synth_blobs(&so, &d, &err) != MLWB_OK) {
        fprintf(stderr, "curve_bench: %s\n", err);
        return 1;
    }
    int32_t *fold = malloc(d->rows * sizeof *fold);
    if (!fold || knn_curve_folds(d, o.folds, o.seed, fold, &err) != MLWB_OK ||
        write_data(argv[9], d, fold) != 0) {
        fprintf(stderr, "curve_bench: cannot write %s: %s\n", argv[9], err ? err : "I/O error");
        return 1;
    }
    double best = 1e30;
    knn_curve_result r = {0};
    for (int i = 0; i < runs; i++) {
        knn_curve_clear(&r);
        double t0 = now();
        if (knn_curve(d, &o, &r, NULL, NULL, &err) != MLWB_OK) {
            fprintf(stderr, "curve_bench: %s\n", err);
            return 1;
        }
        double t = now() - t0;
        printf("curve  %.3f s  %zu rows  k=1..%d  %d folds\n", t, d->rows, r.kmax, r.folds);
        if (t < best)
            best = t;
    }
    FILE *f = fopen(argv[10], "w");
    if (!f) {
        perror(argv[10]);
        return 1;
    }
    for (int k = 1; k <= r.kmax; k++)
        fprintf(f, "%d %.17g %.17g\n", k, r.points[k - 1].mean, r.points[k - 1].sd);
    fclose(f);
    printf("best %.3f best_k %d k_1se %d mean %.4f threads %d\n", best, r.best_k, r.k_1se,
           r.points[r.best_k - 1].mean, par_threads());
    double flops = 0;
    for (int fo = 0; fo < r.folds; fo++) {
        double held = 0;
        for (size_t i = 0; i < d->rows; i++)
            held += fold[i] == fo;
        flops += held * ((double)d->rows - held) * 2.0 * (double)d->cols;
    }
    printf("gflop %.2f sgemm_gflops %.1f\n", flops / 1e9, sgemm_rate());
    knn_curve_clear(&r);
    free(fold);
    ds_release(&d);
    return 0;
}
