/*
 * engine.c — the workbench state and its background work (see mlwb/engine/engine.h).
 *
 * Design:
 *  - The current data set is a shared immutable ds behind a mutex (pointer swap).
 *  - Load and train are jobs on the job pool.  The pool has ONE worker for now, so jobs
 *    run in the order they were submitted (a `train` typed right after a `load` trains
 *    on the loaded data); the computation inside a job is spread over the cores with
 *    par_for.  A job reads the current data set when it starts, not when submitted.
 *  - Publishing a model: serialize, store (new version, active, one transaction), then
 *    swap it into the registry.  Any failure before the swap leaves the active model
 *    serving, untouched.
 *  - Prediction log: a bounded ring of pending rows under a mutex; one writer thread
 *    wakes on a condition variable, takes everything pending and writes it in one
 *    transaction on its own store connection, retrying a batch while another process
 *    holds the write lock.  A full ring drops the new row and counts it; a request
 *    never waits for the store.  Ids come from blocks reserved in the store
 *    (store_reserve_ids), so processes sharing a store never hand out the same id; the
 *    writer reserves the next block when half of the current one is used.
 */
#include "mlwb/engine/engine.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlwb/core/csv.h"
#include "mlwb/core/parfor.h"
#include "mlwb/core/samples.h"
#include "mlwb/core/text.h"
#include "mlwb/store/source.h"

#define PLOG_CAP 8192
#define ID_BLOCK 4096  /* prediction ids reserved at a time */

typedef struct plog_row {
    int64_t id, model_version;
    char *input, *output;
    double latency_ms, created;
    const char *origin;  /* static strings only */
} plog_row;

struct engine {
    char *db_path;
    store *st;
    registry *reg;
    ev_queue *events;
    job_pool *jobs;

    pthread_mutex_t ds_mu;  /* guards current and the holdout settings */
    ds *current;
    double holdout;
    unsigned long holdout_seed;
    sched *sched;
    /* Held across "the store says version V is active" and "the registry serves V", so
     * a training that publishes and a `use` that rolls back cannot interleave and leave
     * the two disagreeing. */
    pthread_mutex_t publish_mu;

    /* prediction log */
    pthread_mutex_t plog_mu;
    pthread_cond_t plog_cv;
    plog_row *plog;
    size_t plog_n;
    int plog_stop;
    pthread_t plog_thread;
    int plog_started;    /* the writer thread exists (join it) */
    int plog_accepting;  /* rows are taken (under plog_mu) */
    /* Prediction ids come from blocks reserved in the store (unique across every
     * process on the store); under plog_mu.  The writer reserves the next block ahead,
     * when half of the current one is used, so a request never waits for the store. */
    int64_t id_next, id_end;     /* the current block [id_next, id_end) */
    int64_t nb_first, nb_end;    /* the block reserved ahead, or 0 */
    int need_block;
    atomic_uint_fast64_t plog_dropped;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- prediction log writer --------------------------------------------------- */

static void plog_free_rows(plog_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].input);
        free(rows[i].output);
    }
}

static void *plog_main(void *arg)
{
    engine *e = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    store *st = NULL;
    char *err = NULL;
    if (store_open(e->db_path, &st, &err) != MLWB_OK) {
        ev_postf(e->events, EV_LOG, 0, 0, "prediction log: %s", err);
        free(err);
        err = NULL;
    }
    plog_row *batch = malloc(PLOG_CAP * sizeof *batch);
    store_prediction *rows = malloc(PLOG_CAP * sizeof *rows);
    if (!batch || !rows) {  /* cannot log: say so, and let requests drop and count */
        ev_postf(e->events, EV_LOG, 0, 0, "prediction log: out of memory; predictions are not logged");
        free(batch);
        free(rows);
        store_close(&st);
        pthread_mutex_lock(&e->plog_mu);
        e->plog_accepting = 0;
        pthread_mutex_unlock(&e->plog_mu);
        return NULL;
    }
    pthread_mutex_lock(&e->plog_mu);
    for (;;) {
        while (!e->plog_n && !e->need_block && !e->plog_stop)
            pthread_cond_wait(&e->plog_cv, &e->plog_mu);
        if (e->need_block && st) {  /* reserve the next block of ids ahead of need */
            e->need_block = 0;
            pthread_mutex_unlock(&e->plog_mu);
            int64_t first = 0;
            mlwb_status rc = store_reserve_ids(st, "prediction", ID_BLOCK, &first, &err);
            pthread_mutex_lock(&e->plog_mu);
            if (rc == MLWB_OK) {
                e->nb_first = first;
                e->nb_end = first + ID_BLOCK;
            } else {
                ev_postf(e->events, EV_LOG, 0, 0, "prediction ids: %s", err);
                free(err);
                err = NULL;
            }
            continue;
        }
        e->need_block = 0;
        if (!e->plog_n && e->plog_stop)
            break;
        size_t n = e->plog_n;
        memcpy(batch, e->plog, n * sizeof *batch);
        e->plog_n = 0;
        pthread_mutex_unlock(&e->plog_mu);
        for (size_t i = 0; i < n; i++)
            rows[i] = (store_prediction){batch[i].id, batch[i].model_version, batch[i].input,
                                         batch[i].output, batch[i].latency_ms, batch[i].origin,
                                         batch[i].created};
        /* Another process may hold the write lock for a while (storing a big data set):
         * keep the batch and try again rather than lose it.  New rows queue meanwhile;
         * a full queue drops (and counts) them, never blocking a request. */
        for (int tries = 0; st; tries++) {
            int busy = 0;
            if (store_log_predictions_busy(st, rows, n, &busy, &err) == MLWB_OK)
                break;
            if (!busy || tries == 20) {
                ev_postf(e->events, EV_LOG, 0, 0, "prediction log: %s (%zu rows lost)", err, n);
                atomic_fetch_add(&e->plog_dropped, n);
                free(err);
                err = NULL;
                break;
            }
            free(err);
            err = NULL;
        }
        plog_free_rows(batch, n);
        pthread_mutex_lock(&e->plog_mu);
    }
    pthread_mutex_unlock(&e->plog_mu);
    free(batch);
    free(rows);
    store_close(&st);
    return NULL;
}

int64_t eng_log_prediction(engine *e, int64_t model_version, const char *input_json,
                           const char *output_json, double latency_ms, const char *origin)
{
    char *in = strdup(input_json ? input_json : "null");
    char *outj = strdup(output_json ? output_json : "null");
    pthread_mutex_lock(&e->plog_mu);
    if (e->id_next == e->id_end && e->nb_first) {  /* move to the block reserved ahead */
        e->id_next = e->nb_first;
        e->id_end = e->nb_end;
        e->nb_first = e->nb_end = 0;
    }
    if (!in || !outj || e->plog_n == PLOG_CAP || !e->plog_accepting ||
        e->id_next == e->id_end) {
        pthread_mutex_unlock(&e->plog_mu);
        free(in);
        free(outj);
        atomic_fetch_add(&e->plog_dropped, 1);
        return 0;
    }
    int64_t id = e->id_next++;
    if (!e->nb_first && e->id_end - e->id_next < ID_BLOCK / 2)
        e->need_block = 1;
    e->plog[e->plog_n++] = (plog_row){id, model_version, in, outj, latency_ms, now(), origin};
    pthread_cond_signal(&e->plog_cv);
    pthread_mutex_unlock(&e->plog_mu);
    return id;
}

uint64_t eng_predictions_dropped(engine *e)
{
    return atomic_load(&e->plog_dropped);
}

/* --- opening ---------------------------------------------------------------------- */

static mlwb_status load_model_version(store *st, int64_t version, mdl **out, char **err)
{
    store_model_info info = {0};
    void *blob = NULL;
    size_t len = 0;
    knn_model *knn = NULL;
    *out = NULL;
    mlwb_status rc = store_get_model(st, version, &info, &blob, &len, err);
    if (rc)
        return rc;
    if (strcmp(info.kind, "knn") != 0) {
        rc = err_set(err, MLWB_ERR_INVALID, "model %lld: unknown kind '%s'",
                     (long long)version, info.kind);
        goto out;
    }
    if ((rc = knn_deserialize(blob, len, &knn, err)) != MLWB_OK) {
        err_prefix(err, "model %lld", (long long)version);
        goto out;
    }
    *out = mdl_new(version, info.kind, knn, info.params_json, info.metrics_json,
                   info.dataset_version, info.created);
    if (!*out) {
        knn_free(&knn);
        rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
    }
out:
    free(blob);
    store_model_info_clear(&info);
    return rc;
}

mlwb_status eng_open(const eng_config *cfg, engine **out, char **err)
{
    *out = NULL;
    if (!cfg->db_path || !*cfg->db_path || strcmp(cfg->db_path, ":memory:") == 0 ||
        strncmp(cfg->db_path, "file:", 5) == 0)
        return err_set(err, MLWB_ERR_INVALID,
                       "--db '%s': the store must be a file path (every thread opens it)",
                       cfg->db_path ? cfg->db_path : "");
    engine *e = calloc(1, sizeof *e);
    if (!e)
        return err_set(err, MLWB_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&e->ds_mu, NULL);
    pthread_mutex_init(&e->publish_mu, NULL);
    pthread_mutex_init(&e->plog_mu, NULL);
    pthread_cond_init(&e->plog_cv, NULL);
    atomic_init(&e->plog_dropped, 0);
    e->holdout_seed = 1;
    if (cfg->threads > 0)
        par_set_threads(cfg->threads);
    mlwb_status rc;
    e->db_path = strdup(cfg->db_path);
    e->reg = reg_new();
    e->events = ev_queue_new(1024);
    e->plog = malloc(PLOG_CAP * sizeof *e->plog);
    if (!e->db_path || !e->reg || !e->events || !e->plog) {
        rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((rc = store_open(cfg->db_path, &e->st, err)) != MLWB_OK)
        goto fail;

    /* Bring the workbench back as it was. */
    int64_t v = 0;
    if ((rc = store_current_dataset(e->st, &v, err)) != MLWB_OK)
        goto fail;
    if (v > 0) {
        char *why = NULL;
        if (store_get_dataset(e->st, v, &e->current, &why) != MLWB_OK) {
            ev_postf(e->events, EV_LOG, 0, 0, "warning: current data set %lld not restored: %s",
                     (long long)v, why);
            free(why);
        }
    }
    if ((rc = store_active_model(e->st, &v, err)) != MLWB_OK)
        goto fail;
    if (v > 0) {
        char *why = NULL;
        mdl *m = NULL;
        if (load_model_version(e->st, v, &m, &why) == MLWB_OK)
            reg_publish(e->reg, m);
        else
            ev_postf(e->events, EV_LOG, 0, 0, "warning: active model %lld not restored: %s",
                     (long long)v, why);
        free(why);
    }
    int64_t first = 0;
    if ((rc = store_reserve_ids(e->st, "prediction", ID_BLOCK, &first, err)) != MLWB_OK)
        goto fail;
    e->id_next = first;
    e->id_end = first + ID_BLOCK;

    e->plog_accepting = 1;
    if (pthread_create(&e->plog_thread, NULL, plog_main, e) == 0)
        e->plog_started = 1;
    else
        e->plog_accepting = 0;
    /* One worker keeps jobs in submission order (see the design note). */
    e->jobs = job_pool_new(1, e->db_path, e->events);
    if (!e->jobs) {
        rc = err_set(err, MLWB_ERR_NOMEM, "cannot start the worker thread");
        goto fail;
    }
    e->sched = sched_new(e->jobs, e->events);
    if (!e->sched) {
        rc = err_set(err, MLWB_ERR_NOMEM, "cannot start the scheduler thread");
        goto fail;
    }
    *out = e;
    return MLWB_OK;
fail:
    eng_close(&e);
    return rc;
}

void eng_close(engine **pe)
{
    engine *e = *pe;
    *pe = NULL;
    if (!e)
        return;
    sched_free(&e->sched);  /* first: it submits jobs */
    job_pool_free(&e->jobs);
    if (e->plog_started) {
        pthread_mutex_lock(&e->plog_mu);
        e->plog_stop = 1;
        pthread_cond_signal(&e->plog_cv);
        pthread_mutex_unlock(&e->plog_mu);
        pthread_join(e->plog_thread, NULL);
    }
    if (e->plog)
        plog_free_rows(e->plog, e->plog_n);
    free(e->plog);
    ds_release(&e->current);
    reg_free(&e->reg);
    store_close(&e->st);
    ev_queue_free(&e->events);
    pthread_cond_destroy(&e->plog_cv);
    pthread_mutex_destroy(&e->plog_mu);
    pthread_mutex_destroy(&e->ds_mu);
    pthread_mutex_destroy(&e->publish_mu);
    free(e->db_path);
    free(e);
}

store *eng_store(engine *e) { return e->st; }
registry *eng_registry(engine *e) { return e->reg; }
ev_queue *eng_events(engine *e) { return e->events; }
job_pool *eng_jobs(engine *e) { return e->jobs; }
const char *eng_db_path(const engine *e) { return e->db_path; }

ds *eng_dataset(engine *e)
{
    pthread_mutex_lock(&e->ds_mu);
    ds *d = ds_retain(e->current);
    pthread_mutex_unlock(&e->ds_mu);
    return d;
}

static void set_dataset(engine *e, ds *d)
{
    pthread_mutex_lock(&e->ds_mu);
    ds *old = e->current;
    e->current = d;
    pthread_mutex_unlock(&e->ds_mu);
    ds_release(&old);
}

/* --- load ---------------------------------------------------------------------- */

typedef struct load_job {
    engine *e;
    eng_load_req req;  /* strings below are this job's own copies */
    char *path, *label, *sql, *ignore;
} load_job;

static void load_job_free(void *p)
{
    load_job *l = p;
    free(l->path);
    free(l->label);
    free(l->sql);
    free(l->ignore);
    free(l);
}

static load_job *load_job_new(engine *e, const eng_load_req *req)
{
    load_job *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->e = e;
    l->req = *req;
    l->path = req->path ? strdup(req->path) : NULL;
    l->label = req->label ? strdup(req->label) : NULL;
    l->sql = req->sql ? strdup(req->sql) : NULL;
    l->ignore = req->csv.ignore ? strdup(req->csv.ignore) : NULL;
    if ((req->path && !l->path) || (req->label && !l->label) || (req->sql && !l->sql) ||
        (req->csv.ignore && !l->ignore)) {
        load_job_free(l);
        return NULL;
    }
    l->req.path = l->path;
    l->req.label = l->label;
    l->req.sql = l->sql;
    l->req.csv.ignore = l->ignore;
    return l;
}

json_t *eng_dataset_json(const ds *d)
{
    char *src = text_utf8(d->source ? d->source : "");  /* a path may not be UTF-8 */
    json_t *o = json_pack("{sI sI sI sI ss ss}", "version", (json_int_t)d->version, "rows",
                          (json_int_t)d->rows, "columns", (json_int_t)d->cols, "classes",
                          (json_int_t)d->nclasses, "hash", d->hash, "source", src ? src : "");
    free(src);
    return o;
}

static int job_cancel_hook(void *j)
{
    return job_cancelled(j);
}

static void load_progress_hook(void *j, double fraction)
{
    job_set_progress(j, 0.8 * fraction, "parsing");
}

static mlwb_status run_load(job *j, store *st, void *arg, json_t **result, char **err)
{
    load_job *l = arg;
    engine *e = l->e;
    csv_opts o = l->req.csv;
    o.label = l->req.label;
    o.cancelled = job_cancel_hook;
    o.cancel_ud = j;
    o.progress = load_progress_hook;
    o.progress_ud = j;
    ds *d = NULL;
    mlwb_status rc = MLWB_OK;
    job_set_progress(j, 0, "reading");
    switch (l->req.source) {
    case LOAD_SAMPLE: {
        sample_info s;
        if (!sample_find(l->req.path, &s))
            return err_set(err, MLWB_ERR_NOTFOUND, "no sample named '%s'", l->req.path);
        rc = csv_parse(s.data, s.len, l->req.path, &o, &d, err);
        if (rc == MLWB_OK) {
            free(d->source);
            d->source = malloc(strlen(s.name) + 8);
            if (d->source)
                sprintf(d->source, "sample %s", s.name);
            ds_finish(d);
        }
        break;
    }
    case LOAD_CSV:
        rc = csv_load_file(l->req.path, &o, &d, err);
        break;
    case LOAD_SYNTH:
        rc = synth_blobs(&l->req.synth, &d, err);
        break;
    case LOAD_SQLITE:
        rc = store_query_dataset(l->req.path, l->req.sql, l->req.label, job_cancel_hook, j, &d,
                                 err);
        break;
    }
    if (rc)
        return rc;
    if (job_cancelled(j)) {
        ds_release(&d);
        return MLWB_ERR_CANCELLED;
    }
    job_set_progress(j, 0.8, "storing");
    int64_t version = 0;
    int is_new = 0;
    if ((rc = store_put_dataset(st, d, &version, &is_new, err)) != MLWB_OK) {
        ds_release(&d);
        return rc;
    }
    d->version = version;
    d->loaded_at = now();
    json_t *r = eng_dataset_json(d);
    ds *cur = eng_dataset(e);
    int same = cur && cur->version == version;
    ds_release(&cur);
    json_object_set_new(r, "new", json_boolean(is_new));
    json_object_set_new(r, "changed", json_boolean(!same));
    if (!same)  /* an unchanged reload keeps the data set in memory as it is */
        set_dataset(e, d);
    else
        ds_release(&d);
    ev_post(e->events, EV_DATASET, job_id(j), version, 1,
            is_new ? "new" : same ? "unchanged" : "current");
    *result = r;
    return MLWB_OK;
}

static void load_desc(const eng_load_req *req, char *desc, size_t n)
{
    switch (req->source) {
    case LOAD_SAMPLE:
        snprintf(desc, n, "load sample %s", req->path);
        break;
    case LOAD_CSV:
        snprintf(desc, n, "load csv %s", req->path);
        break;
    case LOAD_SYNTH:
        snprintf(desc, n, "load synth blobs n=%zu d=%zu classes=%zu", req->synth.n, req->synth.d,
                 req->synth.classes);
        break;
    case LOAD_SQLITE:
        snprintf(desc, n, "load sqlite %s \"%s\"", req->path, req->sql);
        break;
    }
}

static int64_t submit_load(engine *e, const eng_load_req *req, int64_t tag, char **err)
{
    if (req->source == LOAD_SAMPLE) {
        sample_info s;
        if (!sample_find(req->path, &s)) {
            char names[256] = "";
            for (size_t i = 0; sample_at(i, &s); i++) {
                strncat(names, i ? ", " : "", sizeof names - strlen(names) - 1);
                strncat(names, s.name, sizeof names - strlen(names) - 1);
            }
            err_set(err, MLWB_ERR_NOTFOUND, "no sample named '%s' (samples: %s)", req->path, names);
            return 0;
        }
    }
    load_job *l = load_job_new(e, req);
    if (!l) {
        err_set(err, MLWB_ERR_NOMEM, "out of memory");
        return 0;
    }
    char desc[512];
    load_desc(req, desc, sizeof desc);
    int64_t id = job_submit_tagged(e->jobs, "load", desc, tag, run_load, l, load_job_free);
    if (!id)
        err_set(err, MLWB_ERR_NOMEM, "cannot queue the job");
    return id;
}

int64_t eng_submit_load(engine *e, const eng_load_req *req, char **err)
{
    return submit_load(e, req, 0, err);
}

static int64_t fire_load(void *arg, int64_t sched_id, char **err)
{
    load_job *l = arg;
    return submit_load(l->e, &l->req, sched_id, err);
}

int64_t eng_schedule_load(engine *e, const eng_load_req *req, int64_t interval_ms, char **err)
{
    if (req->source == LOAD_SAMPLE) {  /* check the name now, not at every run */
        sample_info s;
        if (!sample_find(req->path, &s)) {
            err_set(err, MLWB_ERR_NOTFOUND, "no sample named '%s'", req->path);
            return 0;
        }
    }
    load_job *l = load_job_new(e, req);
    if (!l) {
        err_set(err, MLWB_ERR_NOMEM, "out of memory");
        return 0;
    }
    char desc[512];
    load_desc(req, desc, sizeof desc);
    int64_t id = sched_add(e->sched, desc, interval_ms, 1, fire_load, l, load_job_free);
    if (!id)
        err_set(err, MLWB_ERR_NOMEM, "cannot add the schedule");
    return id;
}

/* --- train ----------------------------------------------------------------------- */

typedef struct train_job {
    engine *e;
    eng_train_req req;
    int64_t last_dataset;  /* schedules: the data set version the last run trained on */
} train_job;

/* Accuracy of a fitted model on a test set. */
static double test_accuracy(const knn_model *m, const ds *test)
{
    size_t right = 0;
    for (size_t i = 0; i < test->rows; i++) {
        int32_t lab;
        float conf;
        knn_predict(m, test->x + i * test->cols, &lab, &conf);
        right += lab == test->y[i];
    }
    return test->rows ? (double)right / (double)test->rows : 0;
}

static int cv_progress(void *ud, double fraction)
{
    job *j = ud;
    job_set_progress(j, 0.1 + 0.6 * fraction, "cross-validating");
    return job_cancelled(j);
}

static mlwb_status run_train(job *j, store *st, void *arg, json_t **result, char **err)
{
    train_job *t = arg;
    engine *e = t->e;
    ds *d = eng_dataset(e);
    if (!d)
        return err_set(err, MLWB_ERR_STATE, "no data loaded: try 'load sample iris'");
    mlwb_status rc = MLWB_OK;
    knn_model *knn = NULL;
    ds *train = NULL, *test = NULL;
    void *blob = NULL;
    size_t len = 0;
    char *params = NULL, *metrics = NULL;
    json_t *mj = NULL;
    double t0 = mono();
    double holdout;
    unsigned long seed;
    eng_get_holdout(e, &holdout, &seed);
    if (holdout > 0) {
        job_set_progress(j, 0.1, "splitting");
        if ((rc = ds_split(d, holdout, seed, &train, &test, err)) != MLWB_OK)
            goto out;
        job_set_progress(j, 0.3, "fitting");
        if ((rc = knn_fit(train, &t->req.knn, &knn, err)) != MLWB_OK)
            goto out;
        job_set_progress(j, 0.6, "testing on the holdout");
        double acc = test_accuracy(knn, test);
        mj = json_pack("{sf ss sf sI sI}", "accuracy", acc, "evaluation", "holdout", "holdout",
                       holdout, "test_rows", (json_int_t)test->rows, "seed", (json_int_t)seed);
    } else {
        int folds = t->req.folds > 0 ? t->req.folds : 5;
        if ((size_t)folds > d->rows)
            folds = (int)d->rows;
        double acc = 0;
        job_set_progress(j, 0.1, "cross-validating");
        if (folds >= 2 &&
            (rc = knn_cv_accuracy(d, &t->req.knn, folds, &acc, cv_progress, j, err)) != MLWB_OK)
            goto out;
        if (job_cancelled(j)) {
            rc = MLWB_ERR_CANCELLED;
            goto out;
        }
        job_set_progress(j, 0.7, "fitting");
        if ((rc = knn_fit(d, &t->req.knn, &knn, err)) != MLWB_OK)
            goto out;
        mj = json_pack("{sf ss si}", "accuracy", acc, "evaluation", "cv", "cv_folds", folds);
    }
    if (job_cancelled(j)) {
        rc = MLWB_ERR_CANCELLED;
        goto out;
    }
    if ((rc = knn_serialize(knn, &blob, &len, err)) != MLWB_OK)
        goto out;
    double secs = mono() - t0;
    json_t *pj = json_pack("{si}", "k", t->req.knn.k);
    params = json_dumps(pj, JSON_COMPACT | JSON_REAL_PRECISION(12));
    metrics = json_dumps(mj, JSON_COMPACT | JSON_REAL_PRECISION(12));
    json_decref(pj);
    if (!params || !metrics) {
        rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        goto out;
    }
    job_set_progress(j, 0.9, "storing");
    store_model_info info = {.params_json = params, .metrics_json = metrics,
                             .dataset_version = d->version, .created = now(),
                             .train_seconds = secs, .active = 1};
    snprintf(info.kind, sizeof info.kind, "knn");
    int64_t version = 0;
    mdl *m = mdl_new(0, "knn", knn, params, metrics, d->version, info.created);
    if (!m) {
        rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        goto out;
    }
    knn = NULL;  /* owned by m */
    pthread_mutex_lock(&e->publish_mu);
    if ((rc = store_put_model(st, &info, blob, len, 1, &version, err)) != MLWB_OK) {
        pthread_mutex_unlock(&e->publish_mu);
        mdl_release(&m);
        goto out;
    }
    m->version = version;  /* not shared yet: set before the publish */
    reg_publish(e->reg, m);
    pthread_mutex_unlock(&e->publish_mu);
    ev_post(e->events, EV_MODEL, job_id(j), version, 1, "published");
    *result = json_pack("{sI ss sb s{si} sO sI sf}", "version", (json_int_t)version, "kind",
                        "knn", "active", 1, "params", "k", t->req.knn.k, "metrics", mj,
                        "dataset_version", (json_int_t)d->version, "train_seconds", secs);
out:
    json_decref(mj);
    knn_free(&knn);
    free(blob);
    free(params);
    free(metrics);
    ds_release(&train);
    ds_release(&test);
    ds_release(&d);
    return rc;
}

static mlwb_status check_train(const eng_train_req *req, char **err)
{
    if (strcmp(req->kind, "knn") != 0)
        return err_set(err, MLWB_ERR_INVALID, "unknown model kind '%s' (known: knn)", req->kind);
    if (req->knn.k < 1)
        return err_set(err, MLWB_ERR_INVALID, "k=%d: k must be at least 1", req->knn.k);
    return MLWB_OK;
}

static int64_t submit_train(engine *e, const eng_train_req *req, int64_t tag, char **err)
{
    if (check_train(req, err))
        return 0;
    train_job *t = calloc(1, sizeof *t);
    if (!t) {
        err_set(err, MLWB_ERR_NOMEM, "out of memory");
        return 0;
    }
    t->e = e;
    t->req = *req;
    char desc[128];
    snprintf(desc, sizeof desc, "train knn k=%d", req->knn.k);
    int64_t id = job_submit_tagged(e->jobs, "train", desc, tag, run_train, t, free);
    if (!id)
        err_set(err, MLWB_ERR_NOMEM, "cannot queue the job");
    return id;
}

int64_t eng_submit_train(engine *e, const eng_train_req *req, char **err)
{
    return submit_train(e, req, 0, err);
}

/* A scheduled retrain runs only when the current data set is not the one it last
 * trained on: the same data and parameters would make the same model again. */
static int64_t fire_train(void *arg, int64_t sched_id, char **err)
{
    train_job *t = arg;
    ds *d = eng_dataset(t->e);
    int64_t v = d ? d->version : 0;
    ds_release(&d);
    if (v != 0 && v == t->last_dataset)
        return 0;
    int64_t id = submit_train(t->e, &t->req, sched_id, err);
    if (id)
        t->last_dataset = v;
    return id;
}

int64_t eng_schedule_train(engine *e, const eng_train_req *req, int64_t interval_ms,
                           char **err)
{
    if (check_train(req, err))
        return 0;
    train_job *t = calloc(1, sizeof *t);
    if (!t) {
        err_set(err, MLWB_ERR_NOMEM, "out of memory");
        return 0;
    }
    t->e = e;
    t->req = *req;
    char desc[128];
    snprintf(desc, sizeof desc, "train knn k=%d", req->knn.k);
    int64_t id = sched_add(e->sched, desc, interval_ms, 1, fire_train, t, free);
    if (!id)
        err_set(err, MLWB_ERR_NOMEM, "cannot add the schedule");
    return id;
}

sched *eng_sched(engine *e) { return e->sched; }

void eng_set_holdout(engine *e, double fraction, unsigned long seed)
{
    pthread_mutex_lock(&e->ds_mu);
    e->holdout = fraction;
    e->holdout_seed = seed;
    pthread_mutex_unlock(&e->ds_mu);
}

void eng_get_holdout(engine *e, double *fraction, unsigned long *seed)
{
    pthread_mutex_lock(&e->ds_mu);
    *fraction = e->holdout;
    *seed = e->holdout_seed;
    pthread_mutex_unlock(&e->ds_mu);
}

mlwb_status eng_use_data(engine *e, int64_t version, char **err)
{
    ds *d = NULL;
    mlwb_status rc = store_get_dataset(e->st, version, &d, err);
    if (rc)
        return rc;
    if ((rc = store_set_current_dataset(e->st, version, err)) != MLWB_OK) {
        ds_release(&d);
        return rc;
    }
    set_dataset(e, d);
    ev_post(e->events, EV_DATASET, 0, version, 1, "current");
    return MLWB_OK;
}

mlwb_status eng_use_model(engine *e, int64_t version, char **err)
{
    mdl *m = NULL;
    mlwb_status rc = load_model_version(e->st, version, &m, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&e->publish_mu);
    if ((rc = store_set_active_model(e->st, version, err)) != MLWB_OK) {
        pthread_mutex_unlock(&e->publish_mu);
        mdl_release(&m);
        return rc;
    }
    reg_publish(e->reg, m);
    pthread_mutex_unlock(&e->publish_mu);
    ev_post(e->events, EV_MODEL, 0, version, 1, "activated");
    return MLWB_OK;
}
