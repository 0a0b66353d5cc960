/*
 * knn.c — k-nearest-neighbour classification, brute force (see mlwb/core/knn.h).
 *
 * Design: a model keeps its own copy of the training rows and labels.  A query scans
 * every row, keeping the k best (squared Euclidean distance, then lower row index) in
 * a small sorted array, and votes.  Vote ties go to the lower class index, so results
 * are deterministic.  Cross-validation deals the rows of each class to folds in turn
 * (stratified, no randomness) and scores the held-out rows in parallel with par_for.
 *
 * Thread-safety: a fitted model is immutable; any number of threads may query it.
 */
#include "mlwb/core/knn.h"

#include <stdlib.h>
#include <string.h>

#include "mlwb/core/parfor.h"

struct knn_model {
    int k;
    size_t rows, dims, nclasses;
    float *x;        /* rows*dims */
    int32_t *y;      /* rows */
    char **classes;  /* nclasses */
    char **features; /* dims */
};

typedef struct nbr {
    float d;
    size_t i;
} nbr;

/* Insert (d, i) into best[0..*n) sorted by (d, i), keeping at most k. */
static void keep_best(nbr *best, int *n, int k, float d, size_t i)
{
    if (*n == k && (d > best[k - 1].d || (d == best[k - 1].d && i > best[k - 1].i)))
        return;
    int j = *n < k ? (*n)++ : k - 1;
    while (j > 0 && (best[j - 1].d > d || (best[j - 1].d == d && best[j - 1].i > i))) {
        best[j] = best[j - 1];
        j--;
    }
    best[j] = (nbr){d, i};
}

static float sqdist(const float *a, const float *b, size_t dims)
{
    float s = 0;
    for (size_t j = 0; j < dims; j++) {
        float t = a[j] - b[j];
        s += t * t;
    }
    return s;
}

/* Majority vote among n neighbours; ties to the lower class.  votes[nclasses] scratch. */
static int32_t vote(const nbr *best, int n, const int32_t *y, size_t nclasses, size_t *votes,
                    float *confidence)
{
    memset(votes, 0, nclasses * sizeof *votes);
    for (int t = 0; t < n; t++)
        votes[y[best[t].i]]++;
    size_t top = 0;
    for (size_t c = 1; c < nclasses; c++)
        if (votes[c] > votes[top])
            top = c;
    *confidence = n ? (float)votes[top] / (float)n : 0.0f;
    return (int32_t)top;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static knn_model *model_alloc(int k, size_t rows, size_t dims, size_t nclasses)
{
    knn_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->k = k;
    m->rows = rows;
    m->dims = dims;
    m->nclasses = nclasses;
    size_t nx = rows * dims;
    m->x = malloc((nx ? nx : 1) * sizeof(float));
    m->y = malloc((rows ? rows : 1) * sizeof(int32_t));
    m->classes = calloc(nclasses ? nclasses : 1, sizeof(char *));
    m->features = calloc(dims ? dims : 1, sizeof(char *));
    if (!m->x || !m->y || !m->classes || !m->features)
        knn_free(&m);
    return m;
}

static mlwb_status check_params(const ds *d, const knn_params *p, char **err)
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
    return MLWB_OK;
}

mlwb_status knn_fit(const ds *d, const knn_params *p, knn_model **out, char **err)
{
    *out = NULL;
    mlwb_status st = check_params(d, p, err);
    if (st)
        return st;
    if (d->rows > SIZE_MAX / sizeof(float) / (d->cols ? d->cols : 1))
        return err_set(err, MLWB_ERR_NOMEM, "data set too large");
    knn_model *m = model_alloc(p->k, d->rows, d->cols, d->nclasses);
    if (!m)
        return err_set(err, MLWB_ERR_NOMEM, "cannot copy %zu x %zu training rows: out of memory",
                       d->rows, d->cols);
    memcpy(m->x, d->x, d->rows * d->cols * sizeof(float));
    memcpy(m->y, d->y, d->rows * sizeof(int32_t));
    for (size_t c = 0; c < d->nclasses; c++)
        if (!(m->classes[c] = xstrdup(d->class_names[c])))
            goto nomem;
    for (size_t j = 0; j < d->cols; j++)
        if (!(m->features[j] = xstrdup(d->feature_names[j] ? d->feature_names[j] : "")))
            goto nomem;
    *out = m;
    return MLWB_OK;
nomem:
    knn_free(&m);
    return err_set(err, MLWB_ERR_NOMEM, "out of memory");
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
    free(m->x);
    free(m->y);
    free(m);
}

void knn_predict(const knn_model *m, const float *q, int32_t *label, float *confidence)
{
    nbr stackbest[64];
    size_t stackvotes[64];
    nbr *best = m->k <= 64 ? stackbest : malloc((size_t)m->k * sizeof *best);
    size_t *votes = m->nclasses <= 64 ? stackvotes : malloc(m->nclasses * sizeof *votes);
    if (!best || !votes) {
        *label = 0;
        *confidence = 0;
        goto out;
    }
    int n = 0;
    for (size_t i = 0; i < m->rows; i++)
        keep_best(best, &n, m->k, sqdist(q, m->x + i * m->dims, m->dims), i);
    *label = vote(best, n, m->y, m->nclasses, votes, confidence);
out:
    if (best != stackbest)
        free(best);
    if (votes != stackvotes)
        free(votes);
}

size_t knn_dims(const knn_model *m) { return m->dims; }
size_t knn_rows(const knn_model *m) { return m->rows; }
int knn_k(const knn_model *m) { return m->k; }
size_t knn_nclasses(const knn_model *m) { return m->nclasses; }
const char *knn_class_name(const knn_model *m, size_t c) { return c < m->nclasses ? m->classes[c] : NULL; }
const char *knn_feature_name(const knn_model *m, size_t j) { return j < m->dims ? m->features[j] : NULL; }

/* --- cross-validation ------------------------------------------------------------ */

typedef struct cv_ctx {
    const ds *d;
    const int *fold;    /* fold of each row */
    int k;
    nbr **best;         /* per thread: k entries */
    size_t **votes;     /* per thread: nclasses entries */
    unsigned char *correct;
    size_t offset;      /* first row of the current block */
} cv_ctx;

static void cv_row(void *arg, size_t bi, int tid)
{
    cv_ctx *c = arg;
    size_t i = c->offset + bi;
    const ds *d = c->d;
    nbr *best = c->best[tid];
    int n = 0;
    const float *q = d->x + i * d->cols;
    for (size_t r = 0; r < d->rows; r++)
        if (c->fold[r] != c->fold[i])
            keep_best(best, &n, c->k, sqdist(q, d->x + r * d->cols, d->cols), r);
    float conf;
    c->correct[i] = vote(best, n, d->y, d->nclasses, c->votes[tid], &conf) == d->y[i];
}

mlwb_status knn_cv_accuracy(const ds *d, const knn_params *p, int folds, double *accuracy,
                            knn_progress_fn progress, void *ud, char **err)
{
    mlwb_status st = check_params(d, p, err);
    if (st)
        return st;
    if (folds < 2 || (size_t)folds > d->rows)
        return err_set(err, MLWB_ERR_INVALID, "folds=%d: need 2 .. %zu folds", folds, d->rows);
    int nt = par_threads();
    cv_ctx c = {.d = d, .k = p->k};
    int *fold = malloc(d->rows * sizeof *fold);
    size_t *seen = calloc(d->nclasses, sizeof *seen);
    c.correct = malloc(d->rows);
    c.best = calloc((size_t)nt, sizeof *c.best);
    c.votes = calloc((size_t)nt, sizeof *c.votes);
    st = MLWB_OK;
    if (!fold || !seen || !c.correct || !c.best || !c.votes) {
        st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int t = 0; t < nt; t++) {
        c.best[t] = malloc((size_t)p->k * sizeof(nbr));
        c.votes[t] = malloc(d->nclasses * sizeof(size_t));
        if (!c.best[t] || !c.votes[t]) {
            st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < d->rows; i++)
        fold[i] = (int)(seen[d->y[i]]++ % (size_t)folds);
    /* The largest training part must still hold k rows. */
    c.fold = fold;
    /* in blocks, so that progress is reported and a cancel is seen within a block */
    size_t block = 2048;
    for (size_t start = 0; start < d->rows; start += block) {
        size_t n = d->rows - start < block ? d->rows - start : block;
        c.offset = start;
        par_for(n, cv_row, &c);
        if (progress && progress(ud, (double)(start + n) / (double)d->rows)) {
            st = MLWB_ERR_CANCELLED;
            goto out;
        }
    }
    size_t right = 0;
    for (size_t i = 0; i < d->rows; i++)
        right += c.correct[i];
    *accuracy = (double)right / (double)d->rows;
out:
    if (c.best)
        for (int t = 0; t < nt; t++)
            free(c.best[t]);
    if (c.votes)
        for (int t = 0; t < nt; t++)
            free(c.votes[t]);
    free(c.best);
    free(c.votes);
    free(c.correct);
    free(fold);
    free(seen);
    return st;
}

/* --- serialization ------------------------------------------------------------ */
/* Layout (little-endian): "MLWBKNN1", u32 k, u64 rows, u64 dims, u32 nclasses,
 * nclasses strings, dims strings (u32 length + bytes), rows*dims f32, rows i32. */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "knn serialization assumes a little-endian host"
#endif

static const char MAGIC[8] = {'M', 'L', 'W', 'B', 'K', 'N', 'N', '1'};

typedef struct wbuf {
    unsigned char *p;
    size_t len, cap;
    int failed;
} wbuf;

static void put(wbuf *b, const void *src, size_t n)
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

static void put_str(wbuf *b, const char *s)
{
    uint32_t n = (uint32_t)strlen(s);
    put(b, &n, 4);
    put(b, s, n);
}

mlwb_status knn_serialize(const knn_model *m, void **blob, size_t *len, char **err)
{
    wbuf b = {0};
    uint32_t k = (uint32_t)m->k, nc = (uint32_t)m->nclasses;
    uint64_t rows = m->rows, dims = m->dims;
    put(&b, MAGIC, 8);
    put(&b, &k, 4);
    put(&b, &rows, 8);
    put(&b, &dims, 8);
    put(&b, &nc, 4);
    for (size_t c = 0; c < m->nclasses; c++)
        put_str(&b, m->classes[c]);
    for (size_t j = 0; j < m->dims; j++)
        put_str(&b, m->features[j]);
    put(&b, m->x, m->rows * m->dims * sizeof(float));
    put(&b, m->y, m->rows * sizeof(int32_t));
    if (b.failed) {
        free(b.p);
        return err_set(err, MLWB_ERR_NOMEM, "out of memory serializing the model");
    }
    *blob = b.p;
    *len = b.len;
    return MLWB_OK;
}

typedef struct rbuf {
    const unsigned char *p;
    size_t len, off;
} rbuf;

static int get(rbuf *b, void *dst, size_t n)
{
    if (n > b->len - b->off)
        return -1;
    memcpy(dst, b->p + b->off, n);
    b->off += n;
    return 0;
}

static char *get_str(rbuf *b)
{
    uint32_t n;
    if (get(b, &n, 4) || n > b->len - b->off || n > 65536)
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
    rbuf b = {blob, len, 0};
    char magic[8];
    uint32_t k, nc;
    uint64_t rows, dims;
    if (get(&b, magic, 8) || memcmp(magic, MAGIC, 8) != 0)
        return err_set(err, MLWB_ERR_PARSE, "model blob: not a KNN model (bad magic)");
    if (get(&b, &k, 4) || get(&b, &rows, 8) || get(&b, &dims, 8) || get(&b, &nc, 4))
        return err_set(err, MLWB_ERR_PARSE, "model blob: truncated header");
    if (k < 1 || rows < 1 || dims < 1 || nc < 1 || k > rows || dims > (1u << 20) ||
        nc > (1u << 24) || rows > len / 4 || rows * dims > len / 4)
        return err_set(err, MLWB_ERR_PARSE,
                       "model blob: implausible header (k=%u rows=%llu dims=%llu classes=%u, %zu bytes)",
                       k, (unsigned long long)rows, (unsigned long long)dims, nc, len);
    knn_model *m = model_alloc((int)k, rows, dims, nc);
    if (!m)
        return err_set(err, MLWB_ERR_NOMEM, "out of memory loading the model");
    for (size_t c = 0; c < nc; c++)
        if (!(m->classes[c] = get_str(&b)))
            goto bad;
    for (size_t j = 0; j < dims; j++)
        if (!(m->features[j] = get_str(&b)))
            goto bad;
    if (get(&b, m->x, rows * dims * sizeof(float)) || get(&b, m->y, rows * sizeof(int32_t)))
        goto bad;
    if (b.off != len)
        goto bad;
    for (size_t i = 0; i < rows; i++)
        if (m->y[i] < 0 || (uint32_t)m->y[i] >= nc)
            goto bad;
    *out = m;
    return MLWB_OK;
bad:
    knn_free(&m);
    return err_set(err, MLWB_ERR_PARSE, "model blob: truncated or corrupted (%zu bytes)", len);
}
