/*
 * engine.h — the workbench's state and its background work.
 *
 * The engine owns: the main thread's store connection, the current data set (a shared,
 * immutable ds), the model registry, the event queue, the job pool, and the prediction
 * log (a bounded queue drained by one writer thread into the store; a full queue drops
 * and counts, it never blocks a request).
 *
 * Threads: eng_open/eng_close and the functions marked (main) run on the thread that
 * opened the engine (they use its store connection).  The others may be called from
 * any thread.  Work that takes time (load, train) is submitted as a job and returns a
 * job id at once; the caller decides whether to wait (scripts) or not (the TUI).
 */
#ifndef MLWB_ENGINE_ENGINE_H
#define MLWB_ENGINE_ENGINE_H

#include <jansson.h>
#include <stdint.h>

#include "mlwb/core/dataset.h"
#include "mlwb/core/err.h"
#include "mlwb/core/csv.h"
#include "mlwb/core/knn.h"
#include "mlwb/core/synth.h"
#include "mlwb/core/tune.h"
#include "mlwb/engine/events.h"
#include "mlwb/engine/jobs.h"
#include "mlwb/engine/registry.h"
#include "mlwb/engine/sched.h"
#include "mlwb/store/store.h"

typedef struct engine engine;

typedef struct eng_config {
    const char *db_path;  /* the store file */
    int threads;          /* worker and compute threads; 0 = number of cores */
} eng_config;

/* Open the store and bring the workbench back as it was: the current data set and the
 * active model.  (main) */
mlwb_status eng_open(const eng_config *cfg, engine **out, char **err);
void eng_close(engine **e);

store *eng_store(engine *e);        /* (main) the main thread's connection */
registry *eng_registry(engine *e);
ev_queue *eng_events(engine *e);
job_pool *eng_jobs(engine *e);
const char *eng_db_path(const engine *e);

/* The current data set with a new reference, or NULL. */
ds *eng_dataset(engine *e);

/* The data set's summary as JSON: {"version", "rows", "columns", "classes", "hash",
 * "source"} (a new object). */
json_t *eng_dataset_json(const ds *d);

/* Jobs.  Each returns the job id (> 0), or 0 with *err set when the request is
 * invalid before any work starts. */
typedef struct eng_load_req {
    enum { LOAD_CSV, LOAD_SAMPLE, LOAD_SYNTH, LOAD_SQLITE } source;
    const char *path;    /* CSV file, sample name, or SQLite file */
    const char *label;   /* label column, or NULL */
    const char *sql;     /* LOAD_SQLITE: the query */
    csv_opts csv;        /* LOAD_CSV / LOAD_SAMPLE: separator, missing values, ignore
                          * (label and the cancel hook are set by the engine) */
    synth_blobs_opts synth;  /* LOAD_SYNTH */
} eng_load_req;
int64_t eng_submit_load(engine *e, const eng_load_req *req, char **err);
/* The same, every interval_ms; returns the schedule id.  The first run is submitted
 * before this returns (*first_job gets its job id, or 0), so work submitted next runs
 * after it. */
int64_t eng_schedule_load(engine *e, const eng_load_req *req, int64_t interval_ms,
                          int64_t *first_job, char **err);

enum { KM_CHOOSE_SILHOUETTE = 0, KM_CHOOSE_ELBOW = 1 };

typedef struct eng_train_req {
    char kind[16];     /* "knn" or "kmeans" */
    knn_params knn;    /* k = 0: choose k from the curve (k=auto) */
    int kmax;          /* k=auto: the curve's largest k (0 = 50 for knn, 12 for kmeans) */
    int folds;         /* cross-validation folds (0 = 5) */
    int loo;           /* leave-one-out instead of folds */
    unsigned long seed;  /* knn: the folds' shuffle; kmeans: k-means++ and the sample */
    int tune_only;     /* `tune`: compute the curve, publish no model */
    struct {           /* kind "kmeans" (k = 0: the k-sweep chooses) */
        int k, kmin;   /* kmin 0 = 2 */
        int n_init, max_iter;  /* 0 = ksweep.h's defaults */
        double tol;    /* 0 = kmeans.h's default */
        int choose;    /* KM_CHOOSE_SILHOUETTE or KM_CHOOSE_ELBOW */
        int scale;     /* KNN_SCALE_ZSCORE (default) or KNN_SCALE_NONE */
    } km;
} eng_train_req;
int64_t eng_submit_train(engine *e, const eng_train_req *req, char **err);

/* The last tuning curve computed in this session (filled in fold by fold, or k by k,
 * while a training or tune runs) as a new JSON object, or NULL when there is none:
 * knn: {"kind": "knn", "metric": "accuracy", "points": [{"k", "mean", "sd", "se"}, ...],
 *  "best_k", "k_1se", "folds", "folds_done", "loo", "done", ...};
 * kmeans: {"kind": "kmeans", "metric": "silhouette", "points": [{"k", "inertia",
 *  "silhouette", "calinski_harabasz", "davies_bouldin", ["ari", "nmi"], ...}, ...],
 *  "best_k" (the one `choose` picks), "best_silhouette_k", "elbow_k", "choose", "kmin",
 *  "kmax", "silhouette_rows", "rows", "done", ...}. */
json_t *eng_last_curve(engine *e);
/* Train every interval_ms when the data changed (see eng_schedule_load for the first run). */
int64_t eng_schedule_train(engine *e, const eng_train_req *req, int64_t interval_ms,
                           int64_t *first_job, char **err);

/* Schedules (see sched.h). */
sched *eng_sched(engine *e);

/* `every DURATION COMMAND` for a command that is not a job of its own: every
 * interval_ms (the first time after one interval, or at once with run_now) an
 * EV_COMMAND event asks the UI's thread to run `line`; until that thread calls
 * eng_command_done(e, schedule id), later due times are skipped (counted), never piled
 * up.  Returns the schedule id, or 0 with *err set. */
int64_t eng_schedule_command(engine *e, const char *desc, const char *line,
                             int64_t interval_ms, int run_now, char **err);
void eng_command_done(engine *e, int64_t sched_id);

/* Make a stored data set version current.  (main) */
mlwb_status eng_use_data(engine *e, int64_t version, char **err);

/* The listener's limits, applied by the next `serve` (0 = the listener's default). */
typedef struct eng_serve_limits {
    size_t max_body;         /* bytes of one request body */
    unsigned max_instances;  /* instances per request */
    unsigned connections;    /* connections at once */
    unsigned per_ip;         /* connections at once from one address */
    unsigned timeout_s;      /* idle connection timeout */
    size_t header_size;      /* per-connection memory for the request line and headers */
    unsigned threads;        /* the listener's threads */
} eng_serve_limits;
void eng_get_serve_limits(engine *e, eng_serve_limits *out);
void eng_set_serve_limits(engine *e, const eng_serve_limits *l);

/* The model's name in the KServe v2 routes ("default" unless set; 1 to 63 bytes of
 * [A-Za-z0-9._-], checked by the caller). */
void eng_set_model_name(engine *e, const char *name);
void eng_get_model_name(engine *e, char *buf, size_t n);

/* Retraining policy: when on, a load that makes another data set version current
 * (new, or changed content) queues a training with the parameters of the last
 * training submitted (`train`, or a train schedule), and logs it.  Off by default. */
void eng_set_retrain(engine *e, int on);
int eng_get_retrain(engine *e);

/* Promotion: with if_better, a new model whose accuracy is below the active model's by
 * more than `margin` is stored but not made active (it stays a version to `use`). */
void eng_set_promote(engine *e, int if_better, double margin);
void eng_get_promote(engine *e, int *if_better, double *margin);

/* The evaluation split: with a holdout fraction in (0, 1), training fits on a stratified
 * (1 - fraction) of the rows and measures on the rest; with 0, it cross-validates. */
void eng_set_holdout(engine *e, double fraction, unsigned long seed);
void eng_get_holdout(engine *e, double *fraction, unsigned long *seed);

/* Follow the store: every interval_ms (0 = 500) a thread of its own reads which model
 * the store says is active (EF_MODEL) and which data set is current (EF_DATA) and, when
 * another process changed them (a trainer published, a loader loaded, someone rolled
 * back), loads that version and makes it active / current here.  For the headless
 * roles: a server whose models are trained elsewhere (`mlwb serve`: EF_MODEL), a
 * trainer whose data is loaded elsewhere (`mlwb train --every`: EF_DATA | EF_MODEL).
 * Stops at eng_close. */
enum { EF_MODEL = 1, EF_DATA = 2 };
mlwb_status eng_follow_store(engine *e, int what, int interval_ms, char **err);

/* Make a stored model version active (rollback / roll forward).  (main) */
mlwb_status eng_use_model(engine *e, int64_t version, char **err);

/* Prediction log: returns the new prediction's id (unique across the processes that
 * share the store), or 0 when the row could not be queued (counted in
 * eng_predictions_dropped).  Never blocks on the store. */
int64_t eng_log_prediction(engine *e, int64_t model_version, const char *input_json,
                           const char *output_json, double latency_ms, const char *origin);
uint64_t eng_predictions_dropped(engine *e);

/* A store connection of the calling thread's own, opened on first use and closed when
 * the thread ends (HTTP threads reading models, taking feedback).  NULL with *err set. */
store *eng_thread_store(engine *e, char **err);

/* --- feedback, quality, alerts (quality.c); every function: any thread ------------- */

/* Attach the true label to logged prediction `id` (see store_put_feedback: *outcome is
 * STORE_FB_NEW, _SAME, _CONFLICT or _UNKNOWN).  A prediction still queued in the log is
 * found (the log is flushed first). */
mlwb_status eng_feedback(engine *e, int64_t id, const char *label, int *outcome,
                         int64_t *model_version, char **previous, char **err);

/* The quality report as a new object: {"versions": [{"version", "kind", "active",
 * "predictions", "feedback", "correct", "abstained", "accuracy" (null without feedback or
 * for k-means), "ci95": [lo, hi], "offline_accuracy"}], "active_version", "drift":
 * {"model_version", "window", "requests", "enough", "features": [{"name", "train_mean",
 * "train_sd", "recent_mean", "shift_sd"}], "max_shift_sd", "max_feature"} or null,
 * "alerts": ["..."], "thresholds": {...}}.  NULL with *err on a store failure. */
json_t *eng_quality(engine *e, char **err);

enum { ON_DRIFT_OFF = 0, ON_DRIFT_ALERT = 1, ON_DRIFT_RETRAIN = 2 };
/* alert_accuracy < 0: auto (the model's offline accuracy minus 0.1); alert_drift in
 * training standard deviations of a feature's mean shift. */
void eng_set_quality_alerts(engine *e, double alert_accuracy, double alert_drift, int on_drift);
void eng_get_quality_alerts(engine *e, double *alert_accuracy, double *alert_drift,
                            int *on_drift);

/* The alert figures of the last check (every few seconds while predictions flow). */
typedef struct eng_alert_state {
    int64_t model_version;     /* the active model then (0: none) */
    int64_t feedback;          /* its feedback labels (not counting abstentions) */
    double online_accuracy;    /* NaN: none */
    double accuracy_threshold; /* NaN: none */
    double max_drift;          /* the largest mean shift in training sds; NaN: unknown */
    int accuracy_alert, drift_alert;
} eng_alert_state;
void eng_alert_state_get(engine *e, eng_alert_state *out);

/* Serving: a KNN prediction whose confidence is below p answers no label ("abstained");
 * 0 (the default) never abstains. */
void eng_set_min_confidence(engine *e, double p);
double eng_get_min_confidence(engine *e);

#endif
