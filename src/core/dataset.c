/*
 * dataset.c — allocation, hashing and reference counting of data sets.
 *
 * The content hash covers the shape, the feature values (as float32 bytes), the labels,
 * the class names and the feature names, so two loads of the same content give the same
 * hash and any change gives another.  The hash function is a 64-bit multiply-xorshift
 * over 8-byte words (fast enough for hundreds of MB per second on one core).
 */
#include "mlwb/core/dataset.h"

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
