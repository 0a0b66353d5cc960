/*
 * dataset.h — an immutable, reference-counted table of float32 features and class labels.
 *
 * Layout: `x` is rows*cols float32, row-major; `y` holds one class index per row
 * (0 .. nclasses-1) or is NULL for an unlabelled data set; `class_names[c]` is the
 * text of class c.  Classes are numbered in a stable order: numerically when every
 * label is an integer, otherwise lexicographically (byte order).
 *
 * Ownership: ds_new returns a data set with one reference.  Once built (fields filled,
 * ds_finish called) a data set is never modified again, so any thread may read it
 * while it holds a reference.  ds_retain/ds_release are thread-safe (atomic count);
 * ds_release(&d) drops a reference, frees on the last one and clears the pointer.
 */
#ifndef MLWB_CORE_DATASET_H
#define MLWB_CORE_DATASET_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "mlwb/core/err.h"

typedef struct ds {
    size_t rows, cols;
    float *x;              /* rows*cols, row-major */
    int32_t *y;            /* rows class indices, or NULL */
    size_t nclasses;
    char **class_names;    /* nclasses strings */
    char **feature_names;  /* cols strings */
    char *label_name;      /* NULL when unlabelled */
    char *source;          /* how it was loaded, e.g. "csv samples/data/iris.csv" */
    char hash[17];         /* content hash, 16 hex digits; set by ds_finish */
    int64_t version;       /* the store's dataset version; 0 until stored */
    double loaded_at;      /* seconds since the epoch */
    size_t *col_missing;   /* per feature: cells that were missing in the source (filled
                            * or in dropped rows), or NULL when none were */
    size_t rows_dropped;   /* rows left out for missing values (missing=drop) */
    atomic_long refs;
} ds;

/* A data set with rows*cols features allocated (zeroed), labels when `labelled`,
 * and cols feature-name slots.  Returns MLWB_ERR_NOMEM (with a message giving the
 * size) when the allocation fails. */
mlwb_status ds_new(size_t rows, size_t cols, int labelled, ds **out, char **err);

/* Compute the content hash (features, labels, names) and seal the data set. */
void ds_finish(ds *d);

ds *ds_retain(ds *d);
void ds_release(ds **d);

/* Index of the class named `name`, or -1. */
int ds_class_index(const ds *d, const char *name);

/* Count of rows per class into counts[nclasses]. */
void ds_class_counts(const ds *d, size_t *counts);

/* The stable order of n distinct label texts: numerically when every text is an
 * integer (equal values, like "01" and "1", then by bytes), else by bytes.  order[i]
 * gets the index (into names) of the i-th class.  Returns MLWB_ERR_NOMEM on failure. */
mlwb_status ds_label_order(const char *const *names, size_t n, int32_t *order, char **err);

/* Turn one label text per row into classes: the distinct texts, in a stable order
 * (numeric when every text is an integer, else byte order), go to class_names and
 * nclasses, and each row's class index to y (allocated here; d->y must be NULL).
 * The texts stay the caller's. */
mlwb_status ds_set_labels(ds *d, char *const *texts, char **err);

/* A new data set made of the given rows of d (in that order), with d's names and
 * classes (all of them, even those no chosen row has).  Not yet stored: version 0. */
mlwb_status ds_subset(const ds *d, const size_t *rows, size_t n, ds **out, char **err);

/* A stratified random split: about `fraction` of each class's rows (at least one row of
 * every class with two or more) go to *test, the rest to *train, both in the original
 * row order.  The same seed gives the same split. */
mlwb_status ds_split(const ds *d, double fraction, unsigned long seed, ds **train, ds **test,
                     char **err);

/* 64-bit content hash as used by ds_finish (exposed for tests). */
uint64_t ds_hash64(const void *data, size_t len, uint64_t seed);

#endif
