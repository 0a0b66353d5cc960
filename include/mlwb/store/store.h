/*
 * store.h — the SQLite store: data set versions, model versions, the workbench state.
 *
 * One `store` is one SQLite connection and belongs to one thread: every thread that
 * needs the store opens its own handle on the same file (WAL mode, busy timeout, write
 * transactions begun IMMEDIATE).  The schema version is kept in PRAGMA user_version and
 * upgraded by migrations from version 1 on when a store is opened.
 *
 * Every write is one transaction: a failure leaves the store as it was.
 * Ownership: getters return new objects (ds with one reference, malloc'd blobs and
 * strings) that the caller frees; store_model_info_clear frees an info's strings.
 */
#ifndef MLWB_STORE_STORE_H
#define MLWB_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "mlwb/core/dataset.h"
#include "mlwb/core/err.h"

typedef struct store store;

mlwb_status store_open(const char *path, store **out, char **err);
void store_close(store **st);
const char *store_path(const store *st);

/* --- data sets --------------------------------------------------------------- */

typedef struct store_dataset_info {
    int64_t version;
    char *source;
    char hash[17];
    size_t rows, cols, nclasses;
    double created;  /* seconds since the epoch */
} store_dataset_info;

/* Store d as a new version (unless a stored version has the same content hash, in which
 * case *version gets that one and *is_new 0) and make it the current data set.
 * d->version is NOT modified (data sets are immutable once shared): the caller sets it
 * on its own copy before sharing.  is_new may be NULL. */
mlwb_status store_put_dataset(store *st, const ds *d, int64_t *version, int *is_new,
                              char **err);
mlwb_status store_get_dataset(store *st, int64_t version, ds **out, char **err);
mlwb_status store_list_datasets(store *st, store_dataset_info **list, size_t *n, char **err);
void store_dataset_info_clear(store_dataset_info *info);

/* The current data set version (0 when none) and setting it. */
mlwb_status store_current_dataset(store *st, int64_t *version, char **err);
mlwb_status store_set_current_dataset(store *st, int64_t version, char **err);

/* --- models ------------------------------------------------------------------ */

typedef struct store_model_info {
    int64_t version;
    char kind[16];        /* "knn" */
    char *params_json;    /* {"k": 5} */
    char *metrics_json;   /* {"accuracy": 0.96} */
    int64_t dataset_version;
    double created;       /* seconds since the epoch */
    double train_seconds;
    int active;
} store_model_info;

/* Store a new model version; when `activate`, it becomes the active model in the same
 * transaction. */
mlwb_status store_put_model(store *st, const store_model_info *info, const void *blob,
                            size_t len, int activate, int64_t *version, char **err);
/* The model's info and (if blob is not NULL) its serialized bytes. */
mlwb_status store_get_model(store *st, int64_t version, store_model_info *info, void **blob,
                            size_t *len, char **err);
mlwb_status store_list_models(store *st, store_model_info **list, size_t *n, char **err);
void store_model_info_clear(store_model_info *info);
void store_model_list_free(store_model_info **list, size_t n);

/* The active model version (0 when none) and setting it (the version must exist). */
mlwb_status store_active_model(store *st, int64_t *version, char **err);
mlwb_status store_set_active_model(store *st, int64_t version, char **err);

/* --- predictions ------------------------------------------------------------- */

typedef struct store_prediction {
    int64_t id;              /* assigned by the caller (engine's counter) */
    int64_t model_version;
    const char *input_json;  /* [5.1, 3.5, 1.4, 0.2] */
    const char *output_json; /* {"label": "setosa", "confidence": 1} */
    double latency_ms;
    const char *origin;      /* "prompt", "script", "http" */
    double created;          /* seconds since the epoch */
} store_prediction;

/* Log n predictions in one transaction. */
mlwb_status store_log_predictions(store *st, const store_prediction *rows, size_t n,
                                  char **err);
/* The largest prediction id logged so far (0 when none). */
mlwb_status store_max_prediction_id(store *st, int64_t *id, char **err);

#endif
