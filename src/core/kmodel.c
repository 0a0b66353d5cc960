/*
 * kmodel.c — the fitted k-means model (see kmodel.h).
 *
 * Design: the model is three flat arrays (centroids, mean, sd) and the names; a
 * prediction scales the row into a small stack buffer when it fits (else the heap) and
 * asks kmeans.c's km_predict, so the trainer and the model agree on the nearest centre
 * and the distance arithmetic to the bit.
 */
#include "mlwb/core/kmodel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mlwb/core/kmeans.h"
#include "mlwb/core/parfor.h"

struct km_model {
    size_t k, d;
    float *centroids;   /* k * d, the model's space */
    double *mean, *sd;  /* d each, or NULL when unscaled */
    char **features;    /* d */
};

void km_scaling_fit(const float *x, size_t n, size_t d, double *mean, double *sd)
{
    for (size_t j = 0; j < d; j++)
        mean[j] = sd[j] = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            mean[j] += x[i * d + j];
    for (size_t j = 0; j < d; j++)
        mean[j] /= n ? (double)n : 1.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            double t = x[i * d + j] - mean[j];
            sd[j] += t * t;
        }
    for (size_t j = 0; j < d; j++) {
        double s = n ? sqrt(sd[j] / (double)n) : 0;
        sd[j] = s > 0 && isfinite(s) ? s : 1.0;
    }
}

void km_scaling_apply(const float *x, size_t n, size_t d, const double *mean,
                      const double *sd, float *out)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            out[i * d + j] = (float)(((double)x[i * d + j] - mean[j]) / sd[j]);
}

static char *km_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void km_model_free(km_model **pm)
{
    km_model *m = *pm;
    *pm = NULL;
    if (!m)
        return;
    if (m->features)
        for (size_t j = 0; j < m->d; j++)
            free(m->features[j]);
    free(m->features);
    free(m->centroids);
    free(m->mean);
    free(m->sd);
    free(m);
}

mlwb_status km_model_new(const float *centroids, size_t k, size_t d, const double *mean,
                         const double *sd, const char *const *features, km_model **out,
                         char **err)
{
    *out = NULL;
    if (k == 0 || d == 0)
        return err_set(err, MLWB_ERR_INVALID, "a k-means model needs k >= 1 and d >= 1");
    if (k > ((size_t)1 << 24) || d > ((size_t)1 << 20) || k * d > ((size_t)1 << 28))
        return err_set(err, MLWB_ERR_INVALID, "k-means model too large (k=%zu d=%zu)", k, d);
    for (size_t i = 0; i < k * d; i++)
        if (!isfinite(centroids[i]))
            return err_set(err, MLWB_ERR_INVALID, "centroid %zu has a non-finite value", i / d);
    if ((mean == NULL) != (sd == NULL))
        return err_set(err, MLWB_ERR_INVALID, "scaling needs both the means and the sds");
    if (mean)
        for (size_t j = 0; j < d; j++)
            if (!isfinite(mean[j]) || !isfinite(sd[j]) || sd[j] <= 0)
                return err_set(err, MLWB_ERR_INVALID, "feature %zu has an invalid scaling", j);
    km_model *m = calloc(1, sizeof *m);
    if (!m)
        return err_set(err, MLWB_ERR_NOMEM, "out of memory");
    m->k = k;
    m->d = d;
    m->centroids = malloc(k * d * sizeof *m->centroids);
    m->features = calloc(d, sizeof *m->features);
    if (mean) {
        m->mean = malloc(d * sizeof *m->mean);
        m->sd = malloc(d * sizeof *m->sd);
    }
    if (!m->centroids || !m->features || (mean && (!m->mean || !m->sd)))
        goto nomem;
    memcpy(m->centroids, centroids, k * d * sizeof *m->centroids);
    if (mean) {
        memcpy(m->mean, mean, d * sizeof *m->mean);
        memcpy(m->sd, sd, d * sizeof *m->sd);
    }
    for (size_t j = 0; j < d; j++)
        if (!(m->features[j] = km_strdup(features && features[j] ? features[j] : "")))
            goto nomem;
    *out = m;
    return MLWB_OK;
nomem:
    km_model_free(&m);
    return err_set(err, MLWB_ERR_NOMEM, "out of memory");
}

/* The row in the model's space: x itself when unscaled, else buf (d floats). */
static const float *km_model_row(const km_model *m, const float *x, float *buf)
{
    if (!m->mean)
        return x;
    km_scaling_apply(x, 1, m->d, m->mean, m->sd, buf);
    return buf;
}

#define KM_STACK_DIMS 256

void km_model_predict(const km_model *m, const float *x, int32_t *cluster, double *distance)
{
    float small[KM_STACK_DIMS], *heap = NULL, *buf = small;
    if (m->mean && m->d > KM_STACK_DIMS && !(buf = heap = malloc(m->d * sizeof *buf))) {
        if (cluster)
            *cluster = 0;
        if (distance)
            *distance = NAN;
        return;
    }
    km_predict(m->centroids, m->k, m->d, km_model_row(m, x, buf), cluster, distance);
    free(heap);
}

void km_model_distances(const km_model *m, const float *x, double *dist)
{
    float small[KM_STACK_DIMS], *heap = NULL, *buf = small;
    if (m->mean && m->d > KM_STACK_DIMS && !(buf = heap = malloc(m->d * sizeof *buf))) {
        for (size_t c = 0; c < m->k; c++)
            dist[c] = NAN;
        return;
    }
    const float *r = km_model_row(m, x, buf);
    for (size_t c = 0; c < m->k; c++)
        km_predict(m->centroids + c * m->d, 1, m->d, r, NULL, &dist[c]);
    free(heap);
}

typedef struct km_batch {
    const km_model *m;
    const float *x;
    int32_t *cluster;
    double *distance;
    size_t n;
} km_batch;

#define KM_BATCH_ROWS 256

static void km_batch_run(void *ctx, size_t b, int tid)
{
    (void)tid;
    km_batch *c = ctx;
    size_t lo = b * KM_BATCH_ROWS, hi = lo + KM_BATCH_ROWS < c->n ? lo + KM_BATCH_ROWS : c->n;
    for (size_t i = lo; i < hi; i++)
        km_model_predict(c->m, c->x + i * c->m->d, &c->cluster[i],
                         c->distance ? &c->distance[i] : NULL);
}

mlwb_status km_model_predict_batch(const km_model *m, const float *x, size_t n,
                                   int32_t *cluster, double *distance)
{
    km_batch c = {m, x, cluster, distance, n};
    par_for((n + KM_BATCH_ROWS - 1) / KM_BATCH_ROWS, km_batch_run, &c);
    return MLWB_OK;
}

size_t km_model_k(const km_model *m) { return m->k; }
size_t km_model_dims(const km_model *m) { return m->d; }
int km_model_scaled(const km_model *m) { return m->mean != NULL; }
const float *km_model_centroid(const km_model *m, size_t c) { return m->centroids + c * m->d; }
const char *km_model_feature_name(const km_model *m, size_t j)
{
    return j < m->d ? m->features[j] : "";
}
double km_model_scale_mean(const km_model *m, size_t j)
{
    return m->mean && j < m->d ? m->mean[j] : 0.0;
}
double km_model_scale_sd(const km_model *m, size_t j)
{
    return m->sd && j < m->d ? m->sd[j] : 1.0;
}

/* --- serialization ---------------------------------------------------------------- */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "k-means serialization assumes a little-endian host"
#endif

static const char KM_MAGIC[8] = {'M', 'L', 'W', 'B', 'K', 'M', '0', '1'};

mlwb_status km_model_serialize(const km_model *m, void **blob, size_t *len, char **err)
{
    size_t n = 8 + 8 + 8 + 4;
    for (size_t j = 0; j < m->d; j++)
        n += 4 + strlen(m->features[j]);
    if (m->mean)
        n += 2 * m->d * sizeof(double);
    n += m->k * m->d * sizeof(float);
    unsigned char *b = malloc(n), *p = b;
    if (!b)
        return err_set(err, MLWB_ERR_NOMEM, "out of memory serializing the model");
    uint64_t k = m->k, d = m->d;
    uint32_t scaled = m->mean != NULL;
    memcpy(p, KM_MAGIC, 8), p += 8;
    memcpy(p, &k, 8), p += 8;
    memcpy(p, &d, 8), p += 8;
    memcpy(p, &scaled, 4), p += 4;
    for (size_t j = 0; j < m->d; j++) {
        uint32_t l = (uint32_t)strlen(m->features[j]);
        memcpy(p, &l, 4), p += 4;
        memcpy(p, m->features[j], l), p += l;
    }
    if (m->mean) {
        memcpy(p, m->mean, m->d * sizeof(double)), p += m->d * sizeof(double);
        memcpy(p, m->sd, m->d * sizeof(double)), p += m->d * sizeof(double);
    }
    memcpy(p, m->centroids, m->k * m->d * sizeof(float));
    *blob = b;
    *len = n;
    return MLWB_OK;
}

typedef struct km_rd {
    const unsigned char *p;
    size_t len, off;
} km_rd;

static int km_get(km_rd *r, void *dst, size_t n)
{
    if (n > r->len - r->off)
        return -1;
    memcpy(dst, r->p + r->off, n);
    r->off += n;
    return 0;
}

mlwb_status km_model_deserialize(const void *blob, size_t len, km_model **out, char **err)
{
    *out = NULL;
    km_rd r = {blob, len, 0};
    char magic[8];
    uint64_t k, d;
    uint32_t scaled;
    if (km_get(&r, magic, 8) || memcmp(magic, KM_MAGIC, 8) != 0)
        return err_set(err, MLWB_ERR_PARSE, "model blob: not a k-means model (bad magic)");
    if (km_get(&r, &k, 8) || km_get(&r, &d, 8) || km_get(&r, &scaled, 4))
        return err_set(err, MLWB_ERR_PARSE, "model blob: truncated k-means header");
    if (k < 1 || d < 1 || k > (1u << 24) || d > (1u << 20) || k * d > len / 4 || scaled > 1)
        return err_set(err, MLWB_ERR_PARSE,
                       "model blob: implausible k-means header (k=%llu d=%llu scaled=%u, %zu bytes)",
                       (unsigned long long)k, (unsigned long long)d, scaled, len);
    char **names = calloc((size_t)d, sizeof *names);
    double *mean = NULL, *sd = NULL;
    float *cent = NULL;
    mlwb_status rc = MLWB_OK;
    if (!names) {
        rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t j = 0; j < d; j++) {
        uint32_t l;
        if (km_get(&r, &l, 4) || l > r.len - r.off || l > 65536) {
            rc = err_set(err, MLWB_ERR_PARSE, "model blob: truncated feature name %zu", j);
            goto out;
        }
        if (!(names[j] = malloc((size_t)l + 1))) {
            rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
            goto out;
        }
        km_get(&r, names[j], l);
        names[j][l] = 0;
    }
    if (scaled) {
        mean = malloc((size_t)d * sizeof *mean);
        sd = malloc((size_t)d * sizeof *sd);
        if (!mean || !sd) {
            rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
            goto out;
        }
        if (km_get(&r, mean, (size_t)d * sizeof *mean) || km_get(&r, sd, (size_t)d * sizeof *sd)) {
            rc = err_set(err, MLWB_ERR_PARSE, "model blob: truncated scaling");
            goto out;
        }
    }
    if (!(cent = malloc((size_t)(k * d) * sizeof *cent))) {
        rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (km_get(&r, cent, (size_t)(k * d) * sizeof *cent)) {
        rc = err_set(err, MLWB_ERR_PARSE, "model blob: truncated centroids");
        goto out;
    }
    if (r.off != r.len) {
        rc = err_set(err, MLWB_ERR_PARSE, "model blob: %zu trailing bytes", r.len - r.off);
        goto out;
    }
    if ((rc = km_model_new(cent, (size_t)k, (size_t)d, mean, sd, (const char *const *)names,
                           out, err)) != MLWB_OK)
        err_prefix(err, "model blob");
out:
    if (names)
        for (size_t j = 0; j < d; j++)
            free(names[j]);
    free(names);
    free(mean);
    free(sd);
    free(cent);
    return rc;
}
