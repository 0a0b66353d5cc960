/*
 * knn.c — k-nearest-neighbour classification (see mlwb/core/knn.h).
 *
 * Design: a model is its parameters, its scaling (per-feature mean and sd, in double),
 * the class and feature names, the training labels, and a knn_index over the scaled
 * training rows (the index owns the only copy of them).  A prediction scales the query,
 * asks the index for the k nearest rows — exact, ties to the lower row index — and
 * votes: uniform (one vote each) or by inverse distance, where any neighbour at
 * distance 0 wins outright (only the exact matches vote).  Equal vote totals go to the
 * lower class index, so results are deterministic.
 *
 * Batches go to knn_index_search in chunks (which spreads them over the threads);
 * cross-validation deals the rows of each class to folds in turn (stratified, no
 * randomness), fits the scaling and an index on each fold's training part, and predicts
 * the held-out part in batches, reporting progress after each chunk.
 *
 * Blobs: "MLWBKNN2" (below) carries the parameters and the scaling; "MLWBKNN1" blobs
 * from older stores are still read, as Euclidean, uniform, unscaled models.
 *
 * Thread-safety: a fitted model is immutable; any number of threads may query it.
 */
#include "mlwb/core/knn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mlwb/core/parfor.h"

struct knn_model {
    knn_params p;
    size_t rows, dims, nclasses;
    knn_index *ix;   /* the scaled training rows */
    int32_t *y;      /* rows */
    double *mean;    /* dims, or NULL without scaling */
    double *sd;      /* dims, or NULL without scaling */
    char **classes;  /* nclasses */
    char **features; /* dims */
};

enum { KNN_CHUNK = 4096 };  /* queries per search call in batches and CV */

static char *knn_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* A model shell: names and labels allocated (not filled), no index yet. */
static knn_model *knn_model_alloc(const knn_params *p, size_t rows, size_t dims, size_t nclasses)
{
    knn_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->p = *p;
    m->rows = rows;
    m->dims = dims;
    m->nclasses = nclasses;
    m->y = malloc((rows ? rows : 1) * sizeof(int32_t));
    m->classes = calloc(nclasses ? nclasses : 1, sizeof(char *));
    m->features = calloc(dims ? dims : 1, sizeof(char *));
    if (p->scale == KNN_SCALE_ZSCORE) {
        m->mean = malloc(dims * sizeof *m->mean);
        m->sd = malloc(dims * sizeof *m->sd);
        if (!m->mean || !m->sd)
            knn_free(&m);
    }
    if (m && (!m->y || !m->classes || !m->features))
        knn_free(&m);
    return m;
}

void knn_free(knn_model **pm)
{
    knn_model *m = *pm;
    *pm = NULL;
    if (!m)
        return;
    if (m->classes)
        for (size_t c = 0; c < m->nclasses; c++)
            free(m->classes[c]);
    if (m->features)
        for (size_t j = 0; j < m->dims; j++)
            free(m->features[j]);
    free(m->classes);
    free(m->features);
    knn_index_free(&m->ix);
    free(m->y);
    free(m->mean);
    free(m->sd);
    free(m);
}

/* x (dims) scaled into out (dims); a plain copy without scaling. */
static void knn_scale_row(const knn_model *m, const float *x, float *out)
{
    if (!m->mean) {
        memcpy(out, x, m->dims * sizeof *out);
        return;
    }
    for (size_t j = 0; j < m->dims; j++)
        out[j] = (float)(((double)x[j] - m->mean[j]) / m->sd[j]);
}

static mlwb_status knn_check_params(const ds *d, const knn_params *p, char **err)
{
    if (!d->y || d->nclasses < 1)
        return err_set(err, MLWB_ERR_INVALID, "the data set has no labels; KNN needs a label column");
    if (d->nclasses < 2)
        return err_set(err, MLWB_ERR_INVALID,
                       "the data set has a single class ('%s'); a classifier needs at least two",
                       d->class_names[0]);
    if (p->k < 1)
        return err_set(err, MLWB_ERR_INVALID, "k=%d: k must be at least 1", p->k);
    if ((size_t)p->k > d->rows)
        return err_set(err, MLWB_ERR_INVALID, "k=%d is larger than the %zu training rows",
                       p->k, d->rows);
    if (p->metric != KNN_EUCLIDEAN && p->metric != KNN_MANHATTAN && p->metric != KNN_COSINE)
        return err_set(err, MLWB_ERR_INVALID, "metric %d: not a KNN metric", (int)p->metric);
    if (p->weights != KNN_UNIFORM && p->weights != KNN_DISTANCE)
        return err_set(err, MLWB_ERR_INVALID, "weights %d: need uniform or distance", p->weights);
    if (p->scale != KNN_SCALE_NONE && p->scale != KNN_SCALE_ZSCORE)
        return err_set(err, MLWB_ERR_INVALID, "scale %d: need none or zscore", p->scale);
    return MLWB_OK;
}

/* A model on rows sel[0..n) of d (all rows, in order, when sel is NULL), with k = p->k
 * (the caller has checked it against n). */
static mlwb_status knn_build(const ds *d, const size_t *sel, size_t n, const knn_params *p,
                             knn_model **out, char **err)
{
    *out = NULL;
    size_t dims = d->cols;
    if (n > SIZE_MAX / sizeof(float) / (dims ? dims : 1))
        return err_set(err, MLWB_ERR_NOMEM, "data set too large");
    knn_model *m = knn_model_alloc(p, n, dims, d->nclasses);
    float *rows = NULL;
    mlwb_status st;
    if (!m)
        goto nomem;
    for (size_t c = 0; c < d->nclasses; c++)
        if (!(m->classes[c] = knn_strdup(d->class_names[c])))
            goto nomem;
    for (size_t j = 0; j < dims; j++)
        if (!(m->features[j] = knn_strdup(d->feature_names[j] ? d->feature_names[j] : "")))
            goto nomem;
    for (size_t i = 0; i < n; i++)
        m->y[i] = d->y[sel ? sel[i] : i];
    if (m->mean) {  /* mean and population sd of the chosen rows, in double */
        for (size_t j = 0; j < dims; j++)
            m->mean[j] = m->sd[j] = 0;
        for (size_t i = 0; i < n; i++) {
            const float *x = d->x + (sel ? sel[i] : i) * dims;
            for (size_t j = 0; j < dims; j++)
                m->mean[j] += x[j];
        }
        for (size_t j = 0; j < dims; j++)
            m->mean[j] /= (double)n;
        for (size_t i = 0; i < n; i++) {
            const float *x = d->x + (sel ? sel[i] : i) * dims;
            for (size_t j = 0; j < dims; j++) {
                double t = x[j] - m->mean[j];
                m->sd[j] += t * t;
            }
        }
        for (size_t j = 0; j < dims; j++) {
            double sd = sqrt(m->sd[j] / (double)n);
            m->sd[j] = sd > 0 && isfinite(sd) ? sd : 1.0;
        }
    }
    const float *src = d->x;
    if (sel || m->mean) {
        if (!(rows = malloc((n ? n : 1) * dims * sizeof *rows)))
            goto nomem;
        for (size_t i = 0; i < n; i++)
            knn_scale_row(m, d->x + (sel ? sel[i] : i) * dims, rows + i * dims);
        src = rows;
    }
    st = knn_index_build(src, n, dims, p->metric, &m->ix, err);
    free(rows);
    if (st) {
        knn_free(&m);
        return st;
    }
    *out = m;
    return MLWB_OK;
nomem:
    free(rows);
    knn_free(&m);
    return err_set(err, MLWB_ERR_NOMEM, "cannot copy %zu x %zu training rows: out of memory", n,
                   dims);
}

mlwb_status knn_fit(const ds *d, const knn_params *p, knn_model **out, char **err)
{
    *out = NULL;
    mlwb_status st = knn_check_params(d, p, err);
    if (st)
        return st;
    return knn_build(d, NULL, d->rows, p, out, err);
}

/* The vote among n neighbours (idx/dist as the search gives them); w[nclasses] is
 * scratch.  Ties to the lower class. */
static int32_t knn_vote(const knn_model *m, int n, const int32_t *idx, const float *dist,
                        double *w, float *confidence)
{
    for (size_t c = 0; c < m->nclasses; c++)
        w[c] = 0;
    int exact = 0;
    if (m->p.weights == KNN_DISTANCE)
        for (int t = 0; t < n; t++)
            exact |= idx[t] >= 0 && dist[t] == 0;
    double total = 0;
    for (int t = 0; t < n; t++) {
        if (idx[t] < 0)
            continue;
        double v = 1;
        if (m->p.weights == KNN_DISTANCE)
            v = exact ? (dist[t] == 0) : 1.0 / (double)dist[t];
        w[m->y[idx[t]]] += v;
        total += v;
    }
    if (!(total > 0)) {  /* every neighbour infinitely far: count them */
        for (size_t c = 0; c < m->nclasses; c++)
            w[c] = 0;
        total = 0;
        for (int t = 0; t < n; t++)
            if (idx[t] >= 0) {
                w[m->y[idx[t]]] += 1;
                total += 1;
            }
    }
    size_t top = 0;
    for (size_t c = 1; c < m->nclasses; c++)
        if (w[c] > w[top])
            top = c;
    *confidence = total > 0 ? (float)(w[top] / total) : 0.0f;
    return (int32_t)top;
}

/* The k neighbours of one unscaled row x into idx/dist (k entries each). */
static mlwb_status knn_neighbours(const knn_model *m, const float *x, int32_t *idx, float *dist)
{
    float stackrow[256];
    float *xs = m->dims <= 256 ? stackrow : malloc(m->dims * sizeof *xs);
    if (!xs)
        return MLWB_ERR_NOMEM;
    knn_scale_row(m, x, xs);
    mlwb_status st = knn_index_search(m->ix, xs, 1, m->p.k, NULL, idx, dist, NULL);
    if (xs != stackrow)
        free(xs);
    return st;
}

void knn_predict(const knn_model *m, const float *x, int32_t *label, float *confidence)
{
    int32_t stackidx[64];
    float stackdist[64];
    double stackw[64];
    int k = m->p.k;
    int32_t *idx = k <= 64 ? stackidx : malloc((size_t)k * sizeof *idx);
    float *dist = k <= 64 ? stackdist : malloc((size_t)k * sizeof *dist);
    double *w = m->nclasses <= 64 ? stackw : malloc(m->nclasses * sizeof *w);
    *label = 0;
    *confidence = 0;
    if (idx && dist && w && knn_neighbours(m, x, idx, dist) == MLWB_OK)
        *label = knn_vote(m, k, idx, dist, w, confidence);
    if (idx != stackidx)
        free(idx);
    if (dist != stackdist)
        free(dist);
    if (w != stackw)
        free(w);
}

mlwb_status knn_predict_batch(const knn_model *m, const float *x, size_t n, int32_t *labels,
                              float *confidence)
{
    size_t k = (size_t)m->p.k, chunk = n < KNN_CHUNK ? n : KNN_CHUNK;
    if (n == 0)
        return MLWB_OK;
    float *xs = m->mean ? malloc(chunk * m->dims * sizeof *xs) : NULL;
    int32_t *idx = malloc(chunk * k * sizeof *idx);
    float *dist = malloc(chunk * k * sizeof *dist);
    double *w = malloc(m->nclasses * sizeof *w);
    mlwb_status st = MLWB_ERR_NOMEM;
    if ((m->mean && !xs) || !idx || !dist || !w)
        goto out;
    for (size_t s = 0; s < n; s += chunk) {
        size_t nb = n - s < chunk ? n - s : chunk;
        const float *q = x + s * m->dims;
        if (m->mean) {
            for (size_t i = 0; i < nb; i++)
                knn_scale_row(m, q + i * m->dims, xs + i * m->dims);
            q = xs;
        }
        if ((st = knn_index_search(m->ix, q, nb, m->p.k, NULL, idx, dist, NULL)))
            goto out;
        for (size_t i = 0; i < nb; i++)
            labels[s + i] = knn_vote(m, m->p.k, idx + i * k, dist + i * k, w, &confidence[s + i]);
    }
    st = MLWB_OK;
out:
    free(xs);
    free(idx);
    free(dist);
    free(w);
    return st;
}

mlwb_status knn_explain(const knn_model *m, const float *x, int32_t *idx, float *dist)
{
    return knn_neighbours(m, x, idx, dist);
}

int32_t knn_row_label(const knn_model *m, size_t i) { return i < m->rows ? m->y[i] : -1; }

size_t knn_dims(const knn_model *m) { return m->dims; }
size_t knn_rows(const knn_model *m) { return m->rows; }
int knn_k(const knn_model *m) { return m->p.k; }
size_t knn_nclasses(const knn_model *m) { return m->nclasses; }
const char *knn_class_name(const knn_model *m, size_t c) { return c < m->nclasses ? m->classes[c] : NULL; }
const char *knn_feature_name(const knn_model *m, size_t j) { return j < m->dims ? m->features[j] : NULL; }
knn_metric knn_model_metric(const knn_model *m) { return m->p.metric; }
int knn_model_weights(const knn_model *m) { return m->p.weights; }
int knn_model_scale(const knn_model *m) { return m->p.scale; }
double knn_scale_mean(const knn_model *m, size_t j) { return m->mean && j < m->dims ? m->mean[j] : 0.0; }
double knn_scale_sd(const knn_model *m, size_t j) { return m->sd && j < m->dims ? m->sd[j] : 1.0; }

/* --- names ---------------------------------------------------------------------- */

static const char *const knn_metric_names[] = {"euclidean", "manhattan", "cosine"};
static const char *const knn_weights_names[] = {"uniform", "distance"};
static const char *const knn_scale_names[] = {"none", "zscore"};

static int knn_lookup(const char *const *names, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

const char *knn_metric_name(knn_metric metric)
{
    return (unsigned)metric < 3 ? knn_metric_names[metric] : "?";
}

const char *knn_weights_name(int weights)
{
    return (unsigned)weights < 2 ? knn_weights_names[weights] : "?";
}

const char *knn_scale_name(int scale)
{
    return (unsigned)scale < 2 ? knn_scale_names[scale] : "?";
}

int knn_metric_parse(const char *name, knn_metric *out)
{
    int i = knn_lookup(knn_metric_names, 3, name);
    if (i < 0)
        return -1;
    *out = (knn_metric)i;
    return 0;
}

int knn_weights_parse(const char *name, int *out)
{
    int i = knn_lookup(knn_weights_names, 2, name);
    if (i < 0)
        return -1;
    *out = i;
    return 0;
}

int knn_scale_parse(const char *name, int *out)
{
    int i = knn_lookup(knn_scale_names, 2, name);
    if (i < 0)
        return -1;
    *out = i;
    return 0;
}

/* --- cross-validation ------------------------------------------------------------ */

mlwb_status knn_cv_accuracy(const ds *d, const knn_params *p, int folds, double *accuracy,
                            knn_progress_fn progress, void *ud, char **err)
{
    mlwb_status st = knn_check_params(d, p, err);
    if (st)
        return st;
    if (folds < 2 || (size_t)folds > d->rows)
        return err_set(err, MLWB_ERR_INVALID, "folds=%d: need 2 .. %zu folds", folds, d->rows);
    size_t rows = d->rows, dims = d->cols;
    int *fold = malloc(rows * sizeof *fold);
    size_t *seen = calloc(d->nclasses, sizeof *seen);
    size_t *train = malloc(rows * sizeof *train), *test = malloc(rows * sizeof *test);
    float *q = malloc(KNN_CHUNK * dims * sizeof *q);
    int32_t *lab = malloc(KNN_CHUNK * sizeof *lab);
    float *conf = malloc(KNN_CHUNK * sizeof *conf);
    knn_model *m = NULL;
    if (!fold || !seen || !train || !test || !q || !lab || !conf) {
        st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < rows; i++)
        fold[i] = (int)(seen[d->y[i]]++ % (size_t)folds);
    size_t right = 0, done = 0;
    for (int f = 0; f < folds; f++) {
        size_t ntrain = 0, ntest = 0;
        for (size_t i = 0; i < rows; i++) {
            if (fold[i] == f)
                test[ntest++] = i;
            else
                train[ntrain++] = i;
        }
        if (ntest == 0 || ntrain == 0)
            continue;
        knn_params fp = *p;  /* a small training part votes with all it has */
        if ((size_t)fp.k > ntrain)
            fp.k = (int)ntrain;
        if ((st = knn_build(d, train, ntrain, &fp, &m, err)))
            goto out;
        for (size_t s = 0; s < ntest; s += KNN_CHUNK) {
            size_t nb = ntest - s < KNN_CHUNK ? ntest - s : KNN_CHUNK;
            for (size_t i = 0; i < nb; i++)
                memcpy(q + i * dims, d->x + test[s + i] * dims, dims * sizeof *q);
            if (knn_predict_batch(m, q, nb, lab, conf)) {
                st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
                goto out;
            }
            for (size_t i = 0; i < nb; i++)
                right += lab[i] == d->y[test[s + i]];
            done += nb;
            if (progress && progress(ud, (double)done / (double)rows)) {
                st = MLWB_ERR_CANCELLED;
                goto out;
            }
        }
        knn_free(&m);
    }
    *accuracy = (double)right / (double)rows;
    st = MLWB_OK;
out:
    knn_free(&m);
    free(fold);
    free(seen);
    free(train);
    free(test);
    free(q);
    free(lab);
    free(conf);
    return st;
}

/* --- serialization ------------------------------------------------------------ */
/* Layout (little-endian).
 *   v2: "MLWBKNN2", u32 k, u32 metric, u32 weights, u32 scale, u64 rows, u64 dims,
 *       u32 nclasses, nclasses strings, dims strings (u32 length + bytes),
 *       when scale = zscore: dims f64 means, dims f64 sds;
 *       rows*dims f32 (the scaled rows), rows i32 labels.
 *   v1: "MLWBKNN1", u32 k, u64 rows, u64 dims, u32 nclasses, the strings,
 *       rows*dims f32, rows i32. */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "knn serialization assumes a little-endian host"
#endif

static const char KNN_MAGIC1[8] = {'M', 'L', 'W', 'B', 'K', 'N', 'N', '1'};
static const char KNN_MAGIC2[8] = {'M', 'L', 'W', 'B', 'K', 'N', 'N', '2'};

typedef struct knn_wbuf {
    unsigned char *p;
    size_t len, cap;
    int failed;
} knn_wbuf;

static void knn_put(knn_wbuf *b, const void *src, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->len + n)
            c *= 2;
        unsigned char *q = realloc(b->p, c);
        if (!q) {
            b->failed = 1;
            return;
        }
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void knn_put_u32(knn_wbuf *b, uint32_t v) { knn_put(b, &v, 4); }
static void knn_put_u64(knn_wbuf *b, uint64_t v) { knn_put(b, &v, 8); }

static void knn_put_str(knn_wbuf *b, const char *s)
{
    uint32_t n = (uint32_t)strlen(s);
    knn_put(b, &n, 4);
    knn_put(b, s, n);
}

mlwb_status knn_serialize(const knn_model *m, void **blob, size_t *len, char **err)
{
    knn_wbuf b = {0};
    knn_put(&b, KNN_MAGIC2, 8);
    knn_put_u32(&b, (uint32_t)m->p.k);
    knn_put_u32(&b, (uint32_t)m->p.metric);
    knn_put_u32(&b, (uint32_t)m->p.weights);
    knn_put_u32(&b, (uint32_t)m->p.scale);
    knn_put_u64(&b, m->rows);
    knn_put_u64(&b, m->dims);
    knn_put_u32(&b, (uint32_t)m->nclasses);
    for (size_t c = 0; c < m->nclasses; c++)
        knn_put_str(&b, m->classes[c]);
    for (size_t j = 0; j < m->dims; j++)
        knn_put_str(&b, m->features[j]);
    if (m->mean) {
        knn_put(&b, m->mean, m->dims * sizeof *m->mean);
        knn_put(&b, m->sd, m->dims * sizeof *m->sd);
    }
    for (size_t i = 0; i < m->rows; i++)
        knn_put(&b, knn_index_row(m->ix, i), m->dims * sizeof(float));
    knn_put(&b, m->y, m->rows * sizeof(int32_t));
    if (b.failed) {
        free(b.p);
        return err_set(err, MLWB_ERR_NOMEM, "out of memory serializing the model");
    }
    *blob = b.p;
    *len = b.len;
    return MLWB_OK;
}

typedef struct knn_rbuf {
    const unsigned char *p;
    size_t len, off;
} knn_rbuf;

static int knn_get(knn_rbuf *b, void *dst, size_t n)
{
    if (n > b->len - b->off)
        return -1;
    memcpy(dst, b->p + b->off, n);
    b->off += n;
    return 0;
}

static char *knn_get_str(knn_rbuf *b)
{
    uint32_t n;
    if (knn_get(b, &n, 4) || n > b->len - b->off || n > 65536)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    memcpy(s, b->p + b->off, n);
    s[n] = 0;
    b->off += n;
    return s;
}

mlwb_status knn_deserialize(const void *blob, size_t len, knn_model **out, char **err)
{
    *out = NULL;
    knn_rbuf b = {blob, len, 0};
    char magic[8];
    uint32_t k, nc, metric = KNN_EUCLIDEAN, weights = KNN_UNIFORM, scale = KNN_SCALE_NONE;
    uint64_t rows, dims;
    int v2;
    if (knn_get(&b, magic, 8) ||
        (memcmp(magic, KNN_MAGIC1, 8) != 0 && memcmp(magic, KNN_MAGIC2, 8) != 0))
        return err_set(err, MLWB_ERR_PARSE, "model blob: not a KNN model (bad magic)");
    v2 = magic[7] == '2';
    if (knn_get(&b, &k, 4) ||
        (v2 && (knn_get(&b, &metric, 4) || knn_get(&b, &weights, 4) || knn_get(&b, &scale, 4))) ||
        knn_get(&b, &rows, 8) || knn_get(&b, &dims, 8) || knn_get(&b, &nc, 4))
        return err_set(err, MLWB_ERR_PARSE, "model blob: truncated header");
    if (k < 1 || rows < 1 || dims < 1 || nc < 1 || k > rows || dims > (1u << 20) ||
        nc > (1u << 24) || nc > len / 4 || rows > len / 4 || rows * dims > len / 4 ||
        k > INT32_MAX)  /* every class name takes 4 bytes or more: nc <= len / 4 */
        return err_set(err, MLWB_ERR_PARSE,
                       "model blob: implausible header (k=%u rows=%llu dims=%llu classes=%u, %zu bytes)",
                       k, (unsigned long long)rows, (unsigned long long)dims, nc, len);
    if (metric > KNN_COSINE || weights > KNN_DISTANCE || scale > KNN_SCALE_ZSCORE)
        return err_set(err, MLWB_ERR_PARSE,
                       "model blob: unknown parameters (metric=%u weights=%u scale=%u)", metric,
                       weights, scale);
    knn_params p = {.k = (int)k, .metric = (knn_metric)metric, .weights = (int)weights,
                    .scale = (int)scale};
    knn_model *m = knn_model_alloc(&p, rows, dims, nc);
    float *x = NULL;
    if (!m || !(x = malloc(rows * dims * sizeof *x))) {
        knn_free(&m);
        return err_set(err, MLWB_ERR_NOMEM, "out of memory loading the model");
    }
    for (size_t c = 0; c < nc; c++)
        if (!(m->classes[c] = knn_get_str(&b)))
            goto bad;
    for (size_t j = 0; j < dims; j++)
        if (!(m->features[j] = knn_get_str(&b)))
            goto bad;
    if (m->mean) {
        if (knn_get(&b, m->mean, dims * sizeof *m->mean) || knn_get(&b, m->sd, dims * sizeof *m->sd))
            goto bad;
        for (size_t j = 0; j < dims; j++)
            if (!isfinite(m->mean[j]) || !isfinite(m->sd[j]) || !(m->sd[j] > 0))
                goto bad;
    }
    if (knn_get(&b, x, rows * dims * sizeof(float)) || knn_get(&b, m->y, rows * sizeof(int32_t)))
        goto bad;
    if (b.off != len)
        goto bad;
    for (size_t i = 0; i < rows * dims; i++)  /* knn_fit never stores inf or NaN */
        if (!isfinite(x[i]))
            goto bad;
    for (size_t i = 0; i < rows; i++)
        if (m->y[i] < 0 || (uint32_t)m->y[i] >= nc)
            goto bad;
    mlwb_status st = knn_index_build(x, rows, dims, p.metric, &m->ix, err);
    free(x);
    if (st) {
        knn_free(&m);
        return st;
    }
    *out = m;
    return MLWB_OK;
bad:
    free(x);
    knn_free(&m);
    return err_set(err, MLWB_ERR_PARSE, "model blob: truncated or corrupted (%zu bytes)", len);
}
