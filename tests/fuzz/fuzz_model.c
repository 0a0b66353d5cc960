/*
 * fuzz_model.c — the store's model deserialisers: knn_deserialize ("MLWBKNN1",
 * "MLWBKNN2"; src/core/knn.c) and km_model_deserialize ("MLWBKM01"; src/core/kmodel.c),
 * as the engine calls them on a blob read back from SQLite (load_model_version).
 *
 * A corrupted blob must be rejected, never trusted.  Input: the blob; both readers see
 * every input (the magic decides which may accept it).
 * Checks:
 * - refused: a non-empty message and no model;
 * - accepted: the model is used the way the server uses it, so ASan/UBSan catch any
 *   inconsistency the reader let through: dims, k, rows and class counts in range, every
 *   class and feature name readable, the scaling finite with sd > 0, a prediction of a
 *   row of zeros and of a row of ones (label / cluster in range, confidence in (0, 1],
 *   distance finite or +inf), the explanation's neighbours (rows and their labels in
 *   range, nearest first), k-means distances to every centroid;
 * - round trip: serialise, deserialise, serialise again: the second blob accepted and
 *   byte-identical to the first; and the first read independently (the layout in knn.h):
 *   every training value finite.
 */
#include <math.h>

#include "fuzz.h"
#include "mlwb/core/kmodel.h"
#include "mlwb/core/knn.h"

static void use_knn(const knn_model *m)
{
    size_t d = knn_dims(m), rows = knn_rows(m), nc = knn_nclasses(m);
    int k = knn_k(m);
    FUZZ_CHECK(d >= 1 && rows >= 1 && nc >= 1 && k >= 1 && (size_t)k <= rows,
               "d=%zu rows=%zu classes=%zu k=%d", d, rows, nc, k);
    for (size_t c = 0; c < nc; c++)
        FUZZ_CHECK(knn_class_name(m, c) != NULL, "class %zu", c);
    for (size_t j = 0; j < d; j++) {
        FUZZ_CHECK(knn_feature_name(m, j) != NULL, "feature %zu", j);
        double mu = knn_scale_mean(m, j), sd = knn_scale_sd(m, j);
        FUZZ_CHECK(isfinite(mu) && isfinite(sd) && sd > 0, "scaling %zu: %g %g", j, mu, sd);
    }
    for (size_t i = 0; i < rows; i++) {
        int32_t y = knn_row_label(m, i);
        FUZZ_CHECK(y >= 0 && (size_t)y < nc, "row %zu has label %d", i, y);
    }
    float *x = calloc(d, sizeof *x);
    int32_t *idx = malloc((size_t)k * sizeof *idx);
    float *dist = malloc((size_t)k * sizeof *dist);
    if (!x || !idx || !dist)
        goto out;
    for (int pass = 0; pass < 2; pass++) {
        if (pass)
            for (size_t j = 0; j < d; j++)
                x[j] = 1.0f;
        int32_t label = -1;
        float conf = -1;
        knn_predict(m, x, &label, &conf);
        FUZZ_CHECK(label >= 0 && (size_t)label < nc, "predicted label %d of %zu", label, nc);
        FUZZ_CHECK(conf >= 0 && conf <= 1.0f + 1e-6f, "confidence %g", (double)conf);
        if (knn_explain(m, x, idx, dist) == MLWB_OK)
            for (int i = 0; i < k; i++) {
                FUZZ_CHECK(idx[i] >= 0 && (size_t)idx[i] < rows, "neighbour %d is row %d", i,
                           idx[i]);
                FUZZ_CHECK(!isnan(dist[i]) && dist[i] >= 0 && (i == 0 || dist[i] >= dist[i - 1]),
                           "neighbour %d at distance %g", i, (double)dist[i]);
                (void)knn_class_name(m, (size_t)knn_row_label(m, (size_t)idx[i]));
            }
    }
out:
    free(x);
    free(idx);
    free(dist);
}

/* An independent reading of a "MLWBKNN2" blob as knn.h lays it out: every training
 * value in it is finite (knn_fit never stores inf or NaN, so a reader that lets one
 * through trusts a corrupted blob). */
static void check_knn_rows(const unsigned char *p, size_t n)
{
    uint32_t nc, scale, len;
    uint64_t rows, dims;
    size_t off = 8 + 4 + 4 + 4;
    FUZZ_CHECK(n >= 48 && memcmp(p, "MLWBKNN2", 8) == 0, "blob header");
    memcpy(&scale, p + off, 4), off += 4;
    memcpy(&rows, p + off, 8), off += 8;
    memcpy(&dims, p + off, 8), off += 8;
    memcpy(&nc, p + off, 4), off += 4;
    for (uint64_t i = 0; i < nc + dims; i++) {
        FUZZ_CHECK(off + 4 <= n, "names");
        memcpy(&len, p + off, 4), off += 4 + len;
    }
    if (scale)
        off += 2 * dims * sizeof(double);
    FUZZ_CHECK(off + rows * dims * 4 + rows * 4 == n, "blob layout");
    for (uint64_t i = 0; i < rows * dims; i++) {
        float v;
        memcpy(&v, p + off + i * 4, 4);
        FUZZ_CHECK(isfinite(v), "training value %llu is %g", (unsigned long long)i, (double)v);
    }
}

static void use_km(const km_model *m)
{
    size_t k = km_model_k(m), d = km_model_dims(m);
    FUZZ_CHECK(k >= 1 && d >= 1, "k=%zu d=%zu", k, d);
    for (size_t j = 0; j < d; j++) {
        FUZZ_CHECK(km_model_feature_name(m, j) != NULL, "feature %zu", j);
        double mu = km_model_scale_mean(m, j), sd = km_model_scale_sd(m, j);
        FUZZ_CHECK(isfinite(mu) && isfinite(sd) && sd > 0, "scaling %zu: %g %g", j, mu, sd);
    }
    for (size_t c = 0; c < k; c++) {
        const float *ce = km_model_centroid(m, c);
        for (size_t j = 0; j < d; j++)
            FUZZ_CHECK(isfinite(ce[j]), "centroid %zu[%zu]", c, j);
    }
    float *x = calloc(d, sizeof *x);
    double *dist = malloc(k * sizeof *dist);
    if (x && dist) {
        int32_t cl = -1;
        double dd = -1;
        km_model_predict(m, x, &cl, &dd);
        FUZZ_CHECK(cl >= 0 && (size_t)cl < k, "cluster %d of %zu", cl, k);
        FUZZ_CHECK(dd >= 0 && !isnan(dd), "distance %g", dd);
        km_model_distances(m, x, dist);
        for (size_t c = 0; c < k; c++)
            FUZZ_CHECK(dist[c] >= 0 && !isnan(dist[c]), "distance %zu: %g", c, dist[c]);
    }
    free(x);
    free(dist);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *blob = fuzz_copy(data, size);
    if (!blob)
        return 0;
    char *err = NULL;
    knn_model *knn = NULL;
    if (knn_deserialize(blob, size, &knn, &err) == MLWB_OK) {
        FUZZ_CHECK(knn != NULL, "accepted without a model");
        use_knn(knn);
        void *b1 = NULL, *b2 = NULL;
        size_t l1 = 0, l2 = 0;
        knn_model *again = NULL;
        if (knn_serialize(knn, &b1, &l1, NULL) == MLWB_OK) {
            check_knn_rows(b1, l1);
            FUZZ_CHECK(knn_deserialize(b1, l1, &again, &err) == MLWB_OK,
                       "its own blob refused: %s", err);
            FUZZ_CHECK(knn_serialize(again, &b2, &l2, NULL) == MLWB_OK, "serialise");
            FUZZ_CHECK(l1 == l2 && memcmp(b1, b2, l1) == 0, "round trip: %zu vs %zu bytes",
                       l1, l2);
        }
        knn_free(&again);
        knn_free(&knn);
        free(b1);
        free(b2);
    } else {
        FUZZ_CHECK(knn == NULL && err && *err, "refused without a message");
    }
    free(err);
    err = NULL;

    km_model *km = NULL;
    if (km_model_deserialize(blob, size, &km, &err) == MLWB_OK) {
        FUZZ_CHECK(km != NULL, "accepted without a model");
        use_km(km);
        void *b1 = NULL, *b2 = NULL;
        size_t l1 = 0, l2 = 0;
        km_model *again = NULL;
        if (km_model_serialize(km, &b1, &l1, NULL) == MLWB_OK) {
            FUZZ_CHECK(km_model_deserialize(b1, l1, &again, &err) == MLWB_OK,
                       "its own blob refused: %s", err);
            FUZZ_CHECK(km_model_serialize(again, &b2, &l2, NULL) == MLWB_OK, "serialise");
            FUZZ_CHECK(l1 == l2 && memcmp(b1, b2, l1) == 0, "round trip: %zu vs %zu bytes",
                       l1, l2);
        }
        km_model_free(&again);
        km_model_free(&km);
        free(b1);
        free(b2);
    } else {
        FUZZ_CHECK(km == NULL && err && *err, "refused without a message");
    }
    free(err);
    free(blob);
    return 0;
}
