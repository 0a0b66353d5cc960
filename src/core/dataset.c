/*
 * dataset.c — allocation, hashing and reference counting of data sets.
 *
 * The content hash covers the shape, the feature values (as float32 bytes), the labels,
 * the class names and the feature names, so two loads of the same content give the same
 * hash and any change gives another.  The hash function is a 64-bit multiply-xorshift
 * over 8-byte words (fast enough for hundreds of MB per second on one core).
 */
#include "mlwb/core/dataset.h"

#include <errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mlwb_status ds_new(size_t rows, size_t cols, int labelled, ds **out, char **err)
{
    *out = NULL;
    if (cols > 0 && rows > SIZE_MAX / sizeof(float) / cols)
        return err_set(err, MLWB_ERR_NOMEM, "data set of %zu x %zu is too large", rows, cols);
    ds *d = calloc(1, sizeof *d);
    if (!d)
        return err_set(err, MLWB_ERR_NOMEM, "out of memory");
    d->rows = rows;
    d->cols = cols;
    size_t nx = rows * cols;
    d->x = calloc(nx ? nx : 1, sizeof(float));
    d->y = labelled ? calloc(rows ? rows : 1, sizeof(int32_t)) : NULL;
    d->feature_names = calloc(cols ? cols : 1, sizeof(char *));
    atomic_init(&d->refs, 1);
    if (!d->x || (labelled && !d->y) || !d->feature_names) {
        ds_release(&d);
        return err_set(err, MLWB_ERR_NOMEM,
                       "cannot allocate %zu rows x %zu columns (%.1f MB): out of memory",
                       rows, cols, (double)nx * 4 / 1e6);
    }
    *out = d;
    return MLWB_OK;
}

uint64_t ds_hash64(const void *data, size_t len, uint64_t h)
{
    const unsigned char *p = data;
    const uint64_t m = 0x9E3779B97F4A7C15ull;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h ^= w;
        h *= m;
        h ^= h >> 29;
        p += 8;
        len -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, len);
    h ^= w ^ ((uint64_t)len << 56);
    h *= m;
    h ^= h >> 32;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    return h;
}

static uint64_t hash_str(const char *s, uint64_t h)
{
    return s ? ds_hash64(s, strlen(s) + 1, h) : ds_hash64("", 0, h ^ 1);
}

void ds_finish(ds *d)
{
    uint64_t shape[3] = {d->rows, d->cols, d->nclasses};
    uint64_t h = ds_hash64(shape, sizeof shape, 0x6d6c7762ull);
    h = ds_hash64(d->x, d->rows * d->cols * sizeof(float), h);
    if (d->y)
        h = ds_hash64(d->y, d->rows * sizeof(int32_t), h);
    for (size_t c = 0; c < d->nclasses; c++)
        h = hash_str(d->class_names[c], h);
    for (size_t j = 0; j < d->cols; j++)
        h = hash_str(d->feature_names[j], h);
    h = hash_str(d->label_name, h);
    snprintf(d->hash, sizeof d->hash, "%016llx", (unsigned long long)h);
}

ds *ds_retain(ds *d)
{
    if (d)
        atomic_fetch_add_explicit(&d->refs, 1, memory_order_relaxed);
    return d;
}

void ds_release(ds **pd)
{
    ds *d = *pd;
    *pd = NULL;
    if (!d || atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (d->class_names)
        for (size_t c = 0; c < d->nclasses; c++)
            free(d->class_names[c]);
    if (d->feature_names)
        for (size_t j = 0; j < d->cols; j++)
            free(d->feature_names[j]);
    free(d->class_names);
    free(d->feature_names);
    free(d->col_missing);
    free(d->label_name);
    free(d->source);
    free(d->x);
    free(d->y);
    free(d);
}

int ds_class_index(const ds *d, const char *name)
{
    for (size_t c = 0; c < d->nclasses; c++)
        if (strcmp(d->class_names[c], name) == 0)
            return (int)c;
    return -1;
}

void ds_class_counts(const ds *d, size_t *counts)
{
    memset(counts, 0, d->nclasses * sizeof *counts);
    if (!d->y)
        return;
    for (size_t i = 0; i < d->rows; i++)
        counts[d->y[i]]++;
}

/* --- labels -------------------------------------------------------------------------- */

typedef struct label_key {
    const char *s;
    long long v;
    int32_t id;
} label_key;

static int cmp_numeric(const void *a, const void *b)
{
    const label_key *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return strcmp(x->s, y->s);
}

static int cmp_bytes(const void *a, const void *b)
{
    return strcmp(((const label_key *)a)->s, ((const label_key *)b)->s);
}

static int integer_text(const char *s, long long *v)
{
    char *end;
    if (!*s)
        return 0;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return errno == 0 && *end == 0;
}

mlwb_status ds_label_order(const char *const *names, size_t n, int32_t *order, char **err)
{
    label_key *keys = malloc((n ? n : 1) * sizeof *keys);
    if (!keys)
        return err_set(err, MLWB_ERR_NOMEM, "out of memory for %zu classes", n);
    int numeric = 1;
    for (size_t i = 0; i < n; i++) {
        keys[i] = (label_key){names[i], 0, (int32_t)i};
        if (numeric && !integer_text(names[i], &keys[i].v))
            numeric = 0;
    }
    qsort(keys, n, sizeof *keys, numeric ? cmp_numeric : cmp_bytes);
    for (size_t i = 0; i < n; i++)
        order[i] = keys[i].id;
    free(keys);
    return MLWB_OK;
}

typedef struct row_text {
    const char *text;
    size_t row;
} row_text;

static int cmp_row_text(const void *a, const void *b)
{
    const row_text *x = a, *y = b;
    int c = strcmp(x->text, y->text);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

mlwb_status ds_set_labels(ds *d, char *const *texts, char **err)
{
    size_t n = d->rows, nd = 0;
    row_text *rt = malloc((n ? n : 1) * sizeof *rt);
    size_t *distinct_of = malloc((n ? n : 1) * sizeof *distinct_of);
    const char **dnames = malloc((n ? n : 1) * sizeof *dnames);
    int32_t *order = malloc((n ? n : 1) * sizeof *order);
    int32_t *class_of = malloc((n ? n : 1) * sizeof *class_of);
    int32_t *y = malloc((n ? n : 1) * sizeof *y);
    char **names = NULL;
    if (!rt || !distinct_of || !dnames || !order || !class_of || !y)
        goto nomem;
    /* the distinct texts, found by sorting (text, row) */
    for (size_t i = 0; i < n; i++)
        rt[i] = (row_text){texts[i], i};
    qsort(rt, n, sizeof *rt, cmp_row_text);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(rt[i].text, rt[i - 1].text) != 0)
            dnames[nd++] = rt[i].text;
        distinct_of[rt[i].row] = nd - 1;
    }
    /* their order as classes: the one rule shared with the CSV reader */
    if (ds_label_order(dnames, nd, order, err) != MLWB_OK)
        goto fail;
    if (!(names = calloc(nd ? nd : 1, sizeof *names)))
        goto nomem;
    for (size_t c = 0; c < nd; c++) {
        class_of[order[c]] = (int32_t)c;
        if (!(names[c] = strdup(dnames[order[c]])))
            goto nomem;
    }
    for (size_t i = 0; i < n; i++)
        y[i] = class_of[distinct_of[i]];
    d->y = y;
    d->class_names = names;
    d->nclasses = nd;
    free(rt);
    free(distinct_of);
    free(dnames);
    free(order);
    free(class_of);
    return MLWB_OK;
nomem:
    err_set(err, MLWB_ERR_NOMEM, "out of memory for %zu labels", n);
fail:
    if (names)
        for (size_t c = 0; c < nd; c++)
            free(names[c]);
    free(names);
    free(rt);
    free(distinct_of);
    free(dnames);
    free(order);
    free(class_of);
    free(y);
    return MLWB_ERR_NOMEM;
}

/* --- subsets and splits -------------------------------------------------------------- */

static char **dup_names(char *const *names, size_t n)
{
    char **out = calloc(n ? n : 1, sizeof *out);
    for (size_t i = 0; out && i < n; i++)
        if (names[i] && !(out[i] = strdup(names[i]))) {
            for (size_t k = 0; k < i; k++)
                free(out[k]);
            free(out);
            return NULL;
        }
    return out;
}

mlwb_status ds_subset(const ds *d, const size_t *rows, size_t n, ds **out, char **err)
{
    ds *s = NULL;
    mlwb_status st = ds_new(n, d->cols, d->y != NULL, &s, err);
    if (st)
        return st;
    for (size_t i = 0; i < n; i++) {
        memcpy(s->x + i * d->cols, d->x + rows[i] * d->cols, d->cols * sizeof(float));
        if (d->y)
            s->y[i] = d->y[rows[i]];
    }
    free(s->feature_names);
    s->feature_names = dup_names(d->feature_names, d->cols);
    s->class_names = dup_names(d->class_names, d->nclasses);
    s->nclasses = d->nclasses;
    s->label_name = d->label_name ? strdup(d->label_name) : NULL;
    s->source = d->source ? strdup(d->source) : NULL;
    if (!s->feature_names || !s->class_names || (d->label_name && !s->label_name)) {
        if (!s->class_names)
            s->nclasses = 0;
        ds_release(&s);
        return err_set(err, MLWB_ERR_NOMEM, "out of memory");
    }
    ds_finish(s);
    *out = s;
    return MLWB_OK;
}

mlwb_status ds_split(const ds *d, double fraction, unsigned long seed, ds **train, ds **test,
                     char **err)
{
    *train = *test = NULL;
    if (!d->y)
        return err_set(err, MLWB_ERR_INVALID, "a stratified split needs labels");
    if (!(fraction > 0 && fraction < 1))
        return err_set(err, MLWB_ERR_INVALID, "holdout=%g: must be between 0 and 1", fraction);
    size_t n = d->rows, nc = d->nclasses;
    size_t *counts = calloc(nc ? nc : 1, sizeof *counts);
    size_t *start = calloc(nc + 1, sizeof *start);
    size_t *byclass = malloc((n ? n : 1) * sizeof *byclass);
    unsigned char *is_test = calloc(n ? n : 1, 1);
    size_t *tr = malloc((n ? n : 1) * sizeof *tr), *te = malloc((n ? n : 1) * sizeof *te);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    mlwb_status st = MLWB_OK;
    if (!counts || !start || !byclass || !is_test || !tr || !te || !r) {
        st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        goto out;
    }
    gsl_rng_set(r, seed);
    ds_class_counts(d, counts);
    for (size_t c = 0; c < nc; c++)
        start[c + 1] = start[c] + counts[c];
    size_t *fill = calloc(nc ? nc : 1, sizeof *fill);
    if (!fill) {
        st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)d->y[i];
        byclass[start[c] + fill[c]++] = i;
    }
    free(fill);
    for (size_t c = 0; c < nc; c++) {
        size_t k = (size_t)(fraction * (double)counts[c] + 0.5);
        if (k == 0 && counts[c] >= 2)
            k = 1;
        if (k >= counts[c] && counts[c] > 0)
            k = counts[c] - 1;
        gsl_ran_shuffle(r, byclass + start[c], counts[c], sizeof *byclass);
        for (size_t t = 0; t < k; t++)
            is_test[byclass[start[c] + t]] = 1;
    }
    size_t ntr = 0, nte = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_test[i])
            te[nte++] = i;
        else
            tr[ntr++] = i;
    }
    if (nte == 0) {
        st = err_set(err, MLWB_ERR_INVALID, "holdout=%g leaves no row to test on", fraction);
        goto out;
    }
    if ((st = ds_subset(d, tr, ntr, train, err)) != MLWB_OK)
        goto out;
    if ((st = ds_subset(d, te, nte, test, err)) != MLWB_OK)
        ds_release(train);
out:
    if (r)
        gsl_rng_free(r);
    free(counts);
    free(start);
    free(byclass);
    free(is_test);
    free(tr);
    free(te);
    return st;
}
