/*
 * gen_models.c — writes the seed corpus of fuzz_model (make fuzz-seeds): real model
 * blobs fitted on small slices of the bundled samples, KNN (every metric, weights and
 * scaling, the old "MLWBKNN1" layout, UTF-8 names) and k-means (scaled and unscaled,
 * empty names), plus a few refused ones (truncated, a trailing byte, a bad magic).
 * The slices keep every blob small (a few KiB).
 *
 * Usage: gen_models OUTDIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlwb/core/csv.h"
#include "mlwb/core/kmeans.h"
#include "mlwb/core/kmodel.h"
#include "mlwb/core/knn.h"
#include "mlwb/core/samples.h"

static const char *outdir;

static void put(const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", outdir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "gen_models: cannot write %s\n", path);
        exit(1);
    }
    printf("  %-40s %6zu bytes\n", name, n);
}

static void die(const char *what, char *err)
{
    fprintf(stderr, "gen_models: %s: %s\n", what, err ? err : "failed");
    exit(1);
}

/* Every step-th row of the bundled sample `name`. */
static ds *slice(const char *name, size_t step)
{
    sample_info si;
    ds *all = NULL, *d = NULL;
    char *err = NULL;
    if (!sample_find(name, &si))
        die(name, NULL);
    if (csv_parse(si.data, si.len, name, NULL, &all, &err) != MLWB_OK)
        die(name, err);
    size_t n = (all->rows + step - 1) / step, *rows = malloc(n * sizeof *rows);
    for (size_t i = 0; i < n; i++)
        rows[i] = i * step;
    if (ds_subset(all, rows, n, &d, &err) != MLWB_OK)
        die(name, err);
    free(rows);
    ds_release(&all);
    return d;
}

static void knn_blob(const char *file, const ds *d, knn_params p, int v1)
{
    knn_model *m = NULL;
    void *b = NULL;
    size_t n = 0;
    char *err = NULL;
    if (knn_fit(d, &p, &m, &err) != MLWB_OK || knn_serialize(m, &b, &n, &err) != MLWB_OK)
        die(file, err);
    if (v1) {  /* "MLWBKNN1": no metric, weights, scale (12 bytes after k) */
        unsigned char *u = b;
        u[7] = '1';
        memmove(u + 12, u + 24, n - 24);
        n -= 12;
    }
    put(file, b, n);
    if (strcmp(file, "knn-iris-k3-euclidean.bin") == 0) {  /* refused variants */
        put("bad-knn-truncated.bin", b, n / 2);
        unsigned char *t = malloc(n + 1);
        memcpy(t, b, n);
        t[n] = 0;
        put("bad-knn-trailing.bin", t, n + 1);
        t[0] = 'X';
        put("bad-knn-magic.bin", t, n);
        free(t);
    }
    free(b);
    knn_free(&m);
}

static void km_blob(const char *file, const ds *d, int k, int scaled, int names)
{
    float *x = malloc(d->rows * d->cols * sizeof *x);
    double *mean = malloc(d->cols * sizeof *mean), *sd = malloc(d->cols * sizeof *sd);
    memcpy(x, d->x, d->rows * d->cols * sizeof *x);
    if (scaled) {
        km_scaling_fit(x, d->rows, d->cols, mean, sd);
        km_scaling_apply(x, d->rows, d->cols, mean, sd, x);
    }
    km_result r = {0};
    km_model *m = NULL;
    void *b = NULL;
    size_t n = 0;
    char *err = NULL;
    km_opts o = {.k = k, .seed = 1};
    if (km_fit(x, d->rows, d->cols, &o, &r, NULL, NULL, &err) != MLWB_OK ||
        km_model_new(r.centroids, r.k, r.d, scaled ? mean : NULL, scaled ? sd : NULL,
                     names ? (const char *const *)d->feature_names : NULL, &m, &err) != MLWB_OK ||
        km_model_serialize(m, &b, &n, &err) != MLWB_OK)
        die(file, err);
    put(file, b, n);
    if (scaled && k == 3 && names)
        put("bad-km-truncated.bin", b, n - 3);
    free(b);
    km_model_free(&m);
    km_result_clear(&r);
    free(x);
    free(mean);
    free(sd);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_models OUTDIR\n");
        return 2;
    }
    outdir = argv[1];
    ds *iris = slice("iris", 10), *wine = slice("wine", 20);
    static const char utf8[] = "gr\xC3\xB6\xC3\x9F" "e,h\xC3\xB6he,art\n1,2,\xC3\xA9\n3,4,\xC3\xBC\n"
                               "5,6,\xE2\x82\xAC\n";
    ds *tiny = NULL;
    char *err = NULL;
    if (csv_parse(utf8, sizeof utf8 - 1, "utf8", NULL, &tiny, &err) != MLWB_OK)
        die("utf8", err);

    knn_blob("knn-iris-k3-euclidean.bin", iris, (knn_params){.k = 3}, 0);
    knn_blob("knn-iris-k1-manhattan-distance-zscore.bin", iris,
             (knn_params){.k = 1, .metric = KNN_MANHATTAN, .weights = KNN_DISTANCE,
                          .scale = KNN_SCALE_ZSCORE}, 0);
    knn_blob("knn-iris-k5-cosine-zscore.bin", iris,
             (knn_params){.k = 5, .metric = KNN_COSINE, .scale = KNN_SCALE_ZSCORE}, 0);
    knn_blob("knn-iris-k3-v1.bin", iris, (knn_params){.k = 3}, 1);
    knn_blob("knn-wine-k3-distance-zscore.bin", wine,
             (knn_params){.k = 3, .weights = KNN_DISTANCE, .scale = KNN_SCALE_ZSCORE}, 0);
    knn_blob("knn-utf8-names-k1.bin", tiny, (knn_params){.k = 1}, 0);

    km_blob("km-iris-k3.bin", iris, 3, 0, 1);
    km_blob("km-iris-k3-scaled.bin", iris, 3, 1, 1);
    km_blob("km-wine-k2-scaled.bin", wine, 2, 1, 1);
    km_blob("km-utf8-k1-noname.bin", tiny, 1, 0, 0);
    ds_release(&iris);
    ds_release(&wine);
    ds_release(&tiny);
    return 0;
}
