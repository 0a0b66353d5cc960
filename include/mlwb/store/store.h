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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlwb/core/dataset.h"
#include "mlwb/core/err.h"

typedef struct store store;

mlwb_status store_open(const char *path, store **out, char **err);
void store_close(store **st);
const char *store_path(const store *st);
/* Opened read-only (the file may not be written): every write fails naming the store. */
bool store_readonly(const store *st);

/* How long a call waits for another connection's write lock before it fails (5000 ms
 * after store_open; 0 or less: fail at once). */
void store_set_busy_timeout(store *st, int ms);

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
 * on its own copy before sharing.  is_new may be NULL.  The features and labels go
 * from d's arrays into the file without a copy of their size being made. */
mlwb_status store_put_dataset(store *st, const ds *d, int64_t *version, int *is_new,
                              char **err);
/* A stored version, read straight into the new data set's arrays and checked (sizes,
 * classes, content hash): MLWB_ERR_STORE "PATH: dataset V is corrupted: ..." if not. */
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
    char *curve_json;     /* the tuning curve the model was chosen from, or NULL */
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
    int64_t id;              /* assigned by the caller (reserve with store_reserve_ids) */
    int64_t model_version;
    const char *input_json;  /* [5.1, 3.5, 1.4, 0.2] */
    const char *output_json; /* {"label": "setosa", "confidence": 1} */
    double latency_ms;
    const char *origin;      /* "prompt", "script", "http" */
    double created;          /* seconds since the epoch */
} store_prediction;

/* Log n predictions in one transaction: all of them or, on any failure, none. */
mlwb_status store_log_predictions(store *st, const store_prediction *rows, size_t n,
                                  char **err);
/* The same, telling a failure worth retrying apart: on MLWB_ERR_STORE, *busy is 1 when
 * another connection held the write lock past the busy timeout (nothing of the batch
 * was written: retry the same rows later), 0 for any other failure (a duplicate id, a
 * full disk: retrying will not help).  *busy is 0 on success.  busy may be NULL. */
mlwb_status store_log_predictions_busy(store *st, const store_prediction *rows, size_t n,
                                       int *busy, char **err);
/* The largest prediction id logged so far (0 when none). */
mlwb_status store_max_prediction_id(store *st, int64_t *id, char **err);

/* --- feedback and quality --------------------------------------------------------- */

enum {
    STORE_FB_NEW = 0,      /* stored */
    STORE_FB_SAME = 1,     /* the same label was already there: nothing changed */
    STORE_FB_CONFLICT = 2, /* another label is already there: nothing changed */
    STORE_FB_UNKNOWN = 3   /* no prediction with that id (yet) */
};

/* Attach the true label to logged prediction `id`, once: *outcome says what happened;
 * *model_version (may be NULL) gets the prediction's model version and *previous (may
 * be NULL; the caller frees) the label already stored for STORE_FB_SAME/CONFLICT. */
mlwb_status store_put_feedback(store *st, int64_t id, const char *label, int *outcome,
                               int64_t *model_version, char **previous, char **err);

typedef struct store_quality_row {
    int64_t model_version;
    int64_t predictions;   /* logged */
    int64_t feedback;      /* of those, with a true label */
    int64_t correct;       /* feedback equal to the predicted label */
    int64_t abstained;     /* feedback on predictions that abstained (no label) */
    double last_feedback;  /* when the newest feedback came (0: none) */
} store_quality_row;

/* One row per model version that has logged predictions, in version order; or, with
 * only > 0, one row for that version alone (its feedback is all it reads of the log). */
mlwb_status store_quality(store *st, int64_t only, store_quality_row **rows, size_t *n,
                          char **err);

/* The inputs (JSON arrays as text) of the newest `limit` predictions made with model
 * version v, newest first; free each and the array. */
mlwb_status store_recent_inputs(store *st, int64_t v, int limit, char ***inputs, size_t *n,
                                char **err);

/* WAL housekeeping: how many WAL pages make a commit on this connection also checkpoint
 * (0 = never; SQLite's default is 1000), and a passive checkpoint now (it copies what it
 * can without waiting for readers or writers). */
void store_set_autocheckpoint(store *st, int pages);
mlwb_status store_checkpoint(store *st, char **err);

/* --- ids shared by every process on the store ------------------------------------ */

/* Reserve n ids (n >= 1) of `counter` for this caller: *first gets the first id of the
 * block [*first, *first + n), which no other call, in this process or any other on the
 * same file, ever gets.  The next free id is kept in the store (state key
 * "next_<counter>_id") and moved on in one BEGIN IMMEDIATE transaction; a block never
 * starts at or below the largest id already in the counter's table, so ids logged
 * some other way (an older mlwb counting from max(id)+1) are not handed out again.
 * Counters: "prediction" (predictions.id; the
 * first block of a fresh store starts at 1).  Reserve in blocks and hand ids out from
 * memory: each call is one write transaction.  Ids of a block that is not used are
 * simply skipped.  MLWB_ERR_INVALID for an unknown counter or n < 1. */
mlwb_status store_reserve_ids(store *st, const char *counter, int64_t n, int64_t *first,
                              char **err);

#endif
