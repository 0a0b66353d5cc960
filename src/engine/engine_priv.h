/*
 * engine_priv.h — what the engine's own source files share (not a public header).
 *
 * engine.c owns the engine struct; the trainers (engine.c for KNN, train_kmeans.c for
 * k-means) reach it only through these functions.
 */
#ifndef MLWB_ENGINE_PRIV_H
#define MLWB_ENGINE_PRIV_H

#include <jansson.h>

#include "mlwb/core/kmodel.h"
#include "mlwb/core/knn.h"
#include "mlwb/engine/engine.h"

double eng_now(void);   /* wall clock, seconds since the epoch */
double eng_mono(void);  /* monotonic seconds */

/* A training job's argument (and a schedule's). */
typedef struct train_job {
    engine *e;
    eng_train_req req;
    int64_t last_dataset;  /* schedules: the data set version the last run trained on */
} train_job;

/* Per feature of d: {"name", "mean", "sd"} (population sd), a new array; the training
 * stores it in the model's metrics as "feature_stats", the baseline of the drift check. */
json_t *eng_feature_stats(const ds *d);

/* Replace the session's last tuning curve (takes the reference). */
void eng_set_last_curve(engine *e, json_t *c);

/* A trained model to store and (maybe) publish. */
typedef struct pub_req {
    const char *kind;           /* "knn" or "kmeans" */
    knn_model **knn;            /* the model (one of the two); taken (set to NULL) on success */
    km_model **km;
    json_t *params, *metrics, *curve;  /* stored as compact JSON text (not taken) */
    int64_t dataset_version;
    double seconds;
    const void *blob;           /* the serialized model */
    size_t len;
    const char *score_name;     /* promote=if-better compares this metric (higher wins) */
    double score;
    /* out */
    int64_t version;
    int activated;
    char held_back[256];        /* why it was not activated, or "" */
} pub_req;

/* Store the model as a new version and, unless promote=if-better holds it back (against
 * an active model of the same kind), make it active in the store and the registry, and
 * post EV_MODEL.  On an error nothing changed. */
mlwb_status eng_store_and_publish(engine *e, job *j, store *st, pub_req *r, char **err);

/* Wait (at most `seconds`) until every prediction queued so far is in the store; 1 when
 * it is. */
int eng_plog_flush(engine *e, double seconds);

/* quality.c: the alert settings and figures, owned by the engine. */
typedef struct eng_quality_state eng_quality_state;
eng_quality_state *eng_quality_new(void);
void eng_quality_free(eng_quality_state **q);
eng_quality_state *eng_quality_of(engine *e);
/* Recompute the alerts (the checkpoint thread calls this every few seconds while
 * predictions are logged). */
void eng_quality_tick(engine *e, store *st);
/* Queue a training with the last training's parameters (logged with `why`); 0 when there
 * was none. */
int64_t eng_retrain_last(engine *e, const char *why);

/* The k-means trainer (train_kmeans.c): the k-sweep or one k, then the model. */
mlwb_status eng_run_train_kmeans(job *j, store *st, train_job *t, json_t **result, char **err);

#endif
