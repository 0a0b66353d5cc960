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
 *    (store_reserve_ids), so processes sharing a store never hand out the same id; a
 *    process starts with a block of ID_FIRST, and the writer reserves the next one
 *    (ID_BLOCK) ahead, when half of the current block is used.  The writer wakes only
 *    when the queue turns non-empty, gathers rows for 10 ms (less when a flush waits)
 *    into one transaction, and never checkpoints the WAL itself: a checkpoint thread
 *    does, once a second when rows were written (sooner after CKPT_ROWS rows), and
 *    runs the quality alert check every 5 s while predictions flow.
 */
#include "mlwb/engine/engine.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlwb/core/csv.h"
#include "mlwb/core/ksweep.h"
#include "mlwb/core/metrics.h"
#include "mlwb/core/parfor.h"
#include "mlwb/core/samples.h"
#include "mlwb/core/text.h"
#include "mlwb/store/source.h"
#include "deadline.h"
#include "engine_priv.h"

#define PLOG_CAP 65536  /* rows waiting for the writer; a full queue drops */
#define ID_BLOCK 65536 /* prediction ids reserved at a time (2 s at 35,000/s) */
#define ID_FIRST 1024  /* the first block is smaller: many runs never predict */
/* The writer's gathering window.  Longer windows make fewer, larger transactions: each
 * commit rewrites the same partly filled pages into the WAL, so the store's cost per
 * row falls with the batch (about 5.3 to 3.9 us of CPU per row from 2 to 10 ms at
 * 35,000 rows/s).  A flush (feedback on a row still queued) cuts the wait short. */
#define PLOG_GATHER 0.010
#define CKPT_ROWS 65536 /* rows between checkpoints at most (the WAL's size) */
#define QUALITY_EVERY 5.0  /* seconds between the alert checks while predictions flow */

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
    int promote_if_better;
    double promote_margin;
    sched *sched;
    /* Held across "the store says version V is active" and "the registry serves V", so
     * a training that publishes and a `use` that rolls back cannot interleave and leave
     * the two disagreeing. */
    pthread_mutex_t publish_mu;
    json_t *last_curve;  /* under ds_mu */
    int retrain;                /* set retrain=on-new-data (under ds_mu) */
    char model_name[64];        /* set model-name= (under ds_mu): the v2 protocol's name */
    eng_serve_limits limits;    /* set http-... (under ds_mu) */
    eng_train_req last_train;   /* the last training submitted (under ds_mu) */
    int have_last_train;

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
    int reserving;               /* the writer is reserving a block now */
    double reserve_after;        /* after a failed reservation: not before this (eng_now) */
    int64_t cur_block;           /* the size of the current block */
    atomic_uint_fast64_t plog_dropped;
    /* The log writer never checkpoints the WAL itself (a checkpoint's fdatasync stalled
     * it for up to 0.4 s and the queue overflowed); this thread does, once a second
     * when rows were written, on its own connection, and runs the alert check. */
    pthread_t ckpt_thread;
    int ckpt_started, ckpt_stop;
    uint64_t ckpt_done_rows;     /* plog_done at the last checkpoint (plog_mu) */
    double ckpt_at;              /* monotonic time of the last checkpoint (ckpt thread) */
    int plog_flushing;           /* a flush waits: the writer skips its gathering (plog_mu) */
    uint64_t plog_queued, plog_done;  /* rows taken / rows written or given up (plog_mu) */
    pthread_cond_t plog_done_cv;      /* plog_done moved */
    double quality_checked;           /* monotonic time of the last eng_quality_tick */
    uint64_t quality_rows;            /* plog_done at that tick (plog_mu) */
    pthread_key_t thread_store;       /* per-thread store connections (eng_thread_store) */
    int thread_store_key;             /* the key exists */
    eng_quality_state *quality;
    /* eng_follow_store: a thread that makes the registry follow the store's active model */
    pthread_t follow_thread;
    int follow_started;
    int follow_interval_ms;
    int follow_what;             /* EF_MODEL | EF_DATA */
    pthread_mutex_t follow_mu;
    pthread_cond_t follow_cv;
    int follow_stop;
};

double eng_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double eng_mono(void)
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

/* The start of the engine's own threads: every signal blocked (the main thread takes
 * them), and a store connection of the thread's own; NULL (logged as `who: why`) when it
 * cannot be opened. */
static store *thread_start(engine *e, const char *who)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    store *st = NULL;
    char *err = NULL;
    if (store_open(e->db_path, &st, &err) != MLWB_OK) {
        ev_postf(e->events, EV_LOG, 0, 0, "%s: %s", who, err);
        free(err);
    }
    return st;
}

/* The writer's complaints about the store (full disk, read-only, locked): the first
 * one at once, then at most one every PLOG_COMPLAIN_S seconds with the number held
 * back, so a failing store under load does not flood the log. */
enum { PLOG_COMPLAIN_S = 10 };
typedef struct complaint {
    double last;        /* eng_now() of the last message, 0 = none yet */
    unsigned held;      /* messages held back since */
} complaint;

__attribute__((format(printf, 3, 4)))
static void plog_complain(engine *e, complaint *c, const char *fmt, ...)
{
    double now = eng_now();
    if (c->last > 0 && now - c->last < PLOG_COMPLAIN_S) {
        c->held++;
        return;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->held)
        ev_postf(e->events, EV_LOG, 0, 0, "%s (and %u more like it in the last %.0f s)", msg,
                 c->held, now - c->last);
    else
        ev_postf(e->events, EV_LOG, 0, 0, "%s", msg);
    c->last = now;
    c->held = 0;
}

static void *plog_main(void *arg)
{
    engine *e = arg;
    store *st = thread_start(e, "prediction log");
    char *err = NULL;
    complaint ids_c = {0}, log_c = {0};
    if (st)
        store_set_autocheckpoint(st, 0);  /* ckpt_main checkpoints */
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
            e->reserving = 1;
            pthread_mutex_unlock(&e->plog_mu);
            int64_t first = 0;
            mlwb_status rc = store_reserve_ids(st, "prediction", ID_BLOCK, &first, &err);
            pthread_mutex_lock(&e->plog_mu);
            e->reserving = 0;
            if (rc == MLWB_OK) {
                e->nb_first = first;
                e->nb_end = first + ID_BLOCK;
            } else {  /* requests drop (and count) until a later try succeeds */
                e->reserve_after = eng_now() + 1.0;
                plog_complain(e, &ids_c, "prediction ids: %s", err);
                free(err);
                err = NULL;
            }
            continue;
        }
        e->need_block = 0;
        if (!e->plog_n && e->plog_stop)
            break;
        /* gather a little: rows arriving within PLOG_GATHER go into the same
         * transaction, unless a flush is waiting for them */
        if (e->plog_n < PLOG_CAP / 16 && !e->plog_stop && !e->plog_flushing) {
            struct timespec ts = eng_deadline(PLOG_GATHER);
            pthread_cond_timedwait(&e->plog_cv, &e->plog_mu, &ts);
            if (e->need_block && st)
                continue;  /* ids first: the block in use may be nearly spent */
        }
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
                plog_complain(e, &log_c, "prediction log: %s (%zu rows lost)", err, n);
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
        e->plog_done += n;
        pthread_cond_broadcast(&e->plog_done_cv);
    }
    pthread_mutex_unlock(&e->plog_mu);
    free(batch);
    free(rows);
    store_close(&st);
    return NULL;
}

/* Under plog_mu: no block reserved ahead or being reserved, and no failed reservation
 * in the last second. */
static int want_block(const engine *e)
{
    return !e->nb_first && !e->reserving && !e->need_block &&
           (e->reserve_after == 0 || eng_now() >= e->reserve_after);
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
        e->cur_block = e->nb_end - e->nb_first;
        e->nb_first = e->nb_end = 0;
    }
    if (!in || !outj || e->plog_n == PLOG_CAP || !e->plog_accepting ||
        e->id_next == e->id_end) {
        /* out of ids (the store refused the last reservation): ask again, at most once a
         * second, so the log recovers when the store does */
        if (e->id_next == e->id_end && e->plog_accepting && want_block(e)) {
            e->need_block = 1;
            pthread_cond_signal(&e->plog_cv);
        }
        pthread_mutex_unlock(&e->plog_mu);
        free(in);
        free(outj);
        atomic_fetch_add(&e->plog_dropped, 1);
        return 0;
    }
    int64_t id = e->id_next++;
    /* half of the block used: reserve the next one (once) */
    if (e->id_end - e->id_next < (e->cur_block > 0 ? e->cur_block : ID_FIRST) / 2 &&
        want_block(e))
        e->need_block = 1;
    e->plog[e->plog_n++] = (plog_row){id, model_version, in, outj, latency_ms, eng_now(), origin};
    e->plog_queued++;
    /* the writer sleeps only on an empty queue: wake it for the first row alone (a
     * wake-up per request cost more than the prediction) */
    if (e->plog_n == 1 || e->need_block)
        pthread_cond_signal(&e->plog_cv);
    pthread_mutex_unlock(&e->plog_mu);
    return id;
}

static void *ckpt_main(void *arg)
{
    engine *e = arg;
    store *st = thread_start(e, "WAL checkpoints");
    if (!st)
        return NULL;
    pthread_mutex_lock(&e->plog_mu);
    while (!e->ckpt_stop) {
        struct timespec ts = eng_deadline(1.0);
        pthread_cond_timedwait(&e->plog_done_cv, &e->plog_mu, &ts);
        if (e->ckpt_stop)
            break;
        uint64_t done = e->plog_done;
        double t = eng_mono();
        int ckpt = done != e->ckpt_done_rows &&
                   (t - e->ckpt_at >= 1.0 || done - e->ckpt_done_rows >= CKPT_ROWS);
        /* every few seconds while predictions flow: the drift and accuracy alerts */
        int tick = done != e->quality_rows && t - e->quality_checked >= QUALITY_EVERY;
        if (ckpt) {
            e->ckpt_done_rows = done;
            e->ckpt_at = t;
        }
        if (tick) {
            e->quality_rows = done;
            e->quality_checked = t;
        }
        if (!ckpt && !tick)
            continue;
        pthread_mutex_unlock(&e->plog_mu);
        if (ckpt)
            store_checkpoint(st, NULL);  /* passive: never waits for readers or writers */
        if (tick)
            eng_quality_tick(e, st);
        pthread_mutex_lock(&e->plog_mu);
    }
    pthread_mutex_unlock(&e->plog_mu);
    store_close(&st);
    return NULL;
}

int eng_plog_flush(engine *e, double seconds)
{
    struct timespec ts = eng_deadline(seconds);
    pthread_mutex_lock(&e->plog_mu);
    uint64_t target = e->plog_queued;
    int hurry = e->plog_done < target;
    if (hurry) {  /* the writer may be gathering: have it write now */
        e->plog_flushing++;
        pthread_cond_signal(&e->plog_cv);
    }
    while (e->plog_done < target && e->plog_started && !e->plog_stop)
        if (pthread_cond_timedwait(&e->plog_done_cv, &e->plog_mu, &ts) != 0)
            break;
    int done = e->plog_done >= target;
    if (hurry)
        e->plog_flushing--;
    pthread_mutex_unlock(&e->plog_mu);
    return done;
}

static void close_thread_store(void *p)
{
    store *st = p;
    store_close(&st);
}

store *eng_thread_store(engine *e, char **err)
{
    if (!e->thread_store_key) {
        err_set(err, MLWB_ERR_STORE, "no per-thread store connections");
        return NULL;
    }
    store *st = pthread_getspecific(e->thread_store);
    if (st)
        return st;
    if (store_open(e->db_path, &st, err) != MLWB_OK)
        return NULL;
    if (pthread_setspecific(e->thread_store, st) != 0) {
        store_close(&st);
        err_set(err, MLWB_ERR_NOMEM, "cannot keep a store connection for this thread");
        return NULL;
    }
    return st;
}

eng_quality_state *eng_quality_of(engine *e) { return e->quality; }

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
    km_model *km = NULL;
    *out = NULL;
    mlwb_status rc = store_get_model(st, version, &info, &blob, &len, err);
    if (rc)
        return rc;
    if (strcmp(info.kind, "knn") == 0) {
        rc = knn_deserialize(blob, len, &knn, err);
    } else if (strcmp(info.kind, "kmeans") == 0) {
        rc = km_model_deserialize(blob, len, &km, err);
    } else {
        rc = err_set(err, MLWB_ERR_INVALID, "model %lld: unknown kind '%s'",
                     (long long)version, info.kind);
        goto out;
    }
    if (rc != MLWB_OK) {
        err_prefix(err, "model %lld", (long long)version);
        goto out;
    }
    *out = mdl_new(version, info.kind, knn, info.params_json, info.metrics_json,
                   info.dataset_version, info.created);
    if (!*out) {
        knn_free(&knn);
        km_model_free(&km);
        rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
    } else {
        (*out)->km = km;
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
    pthread_cond_init(&e->plog_done_cv, NULL);
    pthread_mutex_init(&e->follow_mu, NULL);
    pthread_cond_init(&e->follow_cv, NULL);
    e->thread_store_key = pthread_key_create(&e->thread_store, close_thread_store) == 0;
    e->quality = eng_quality_new();
    atomic_init(&e->plog_dropped, 0);
    e->holdout_seed = 1;
    if (cfg->threads > 0)
        par_set_threads(cfg->threads);
    mlwb_status rc;
    e->db_path = strdup(cfg->db_path);
    e->reg = reg_new();
    e->events = ev_queue_new(1024);
    e->plog = malloc(PLOG_CAP * sizeof *e->plog);
    if (!e->db_path || !e->reg || !e->events || !e->plog || !e->quality) {
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
    if (store_readonly(e->st)) {  /* serve and browse; nothing can be logged or stored */
        ev_postf(e->events, EV_LOG, 0, 0,
                 "warning: %s is read-only: predictions are not logged, and loads, "
                 "trainings and feedback cannot be stored",
                 e->db_path);
    } else {
        /* a store that refuses the first ids (a full disk, a long lock) still serves:
         * predictions go unlogged (and counted) until a later reservation succeeds */
        int64_t first = 0;
        char *why = NULL;
        if (store_reserve_ids(e->st, "prediction", ID_FIRST, &first, &why) == MLWB_OK) {
            e->id_next = first;
            e->id_end = first + ID_FIRST;
        } else {
            ev_postf(e->events, EV_LOG, 0, 0, "warning: prediction ids: %s", why);
            free(why);
            e->reserve_after = eng_now() + 1.0;
        }
        e->plog_accepting = 1;
        e->ckpt_started = pthread_create(&e->ckpt_thread, NULL, ckpt_main, e) == 0;
        if (pthread_create(&e->plog_thread, NULL, plog_main, e) == 0)
            e->plog_started = 1;
        else
            e->plog_accepting = 0;
    }
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
    if (e->follow_started) {
        pthread_mutex_lock(&e->follow_mu);
        e->follow_stop = 1;
        pthread_cond_signal(&e->follow_cv);
        pthread_mutex_unlock(&e->follow_mu);
        pthread_join(e->follow_thread, NULL);
    }
    sched_free(&e->sched);  /* first: it submits jobs */
    job_pool_free(&e->jobs);
    if (e->plog_started) {
        pthread_mutex_lock(&e->plog_mu);
        e->plog_stop = 1;
        pthread_cond_signal(&e->plog_cv);
        pthread_mutex_unlock(&e->plog_mu);
        pthread_join(e->plog_thread, NULL);
    }
    if (e->ckpt_started) {
        pthread_mutex_lock(&e->plog_mu);
        e->ckpt_stop = 1;
        pthread_cond_broadcast(&e->plog_done_cv);
        pthread_mutex_unlock(&e->plog_mu);
        pthread_join(e->ckpt_thread, NULL);
    }
    if (e->plog)
        plog_free_rows(e->plog, e->plog_n);
    free(e->plog);
    ds_release(&e->current);
    json_decref(e->last_curve);
    reg_free(&e->reg);
    store_close(&e->st);
    ev_queue_free(&e->events);
    pthread_cond_destroy(&e->plog_cv);
    pthread_cond_destroy(&e->plog_done_cv);
    pthread_cond_destroy(&e->follow_cv);
    pthread_mutex_destroy(&e->follow_mu);
    if (e->thread_store_key) {  /* this thread's own; other threads closed theirs on exit */
        store *ts = pthread_getspecific(e->thread_store);
        pthread_setspecific(e->thread_store, NULL);
        store_close(&ts);
        pthread_key_delete(e->thread_store);
    }
    eng_quality_free(&e->quality);
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

static int64_t submit_train(engine *e, const eng_train_req *req, int64_t tag, char **err);

json_t *eng_feature_stats(const ds *d)
{
    json_t *a = json_array();
    double *mean = calloc(d->cols ? d->cols : 1, sizeof *mean);
    double *m2 = calloc(d->cols ? d->cols : 1, sizeof *m2);
    if (!mean || !m2 || !d->rows) {
        free(mean);
        free(m2);
        return a;
    }
    for (size_t i = 0; i < d->rows; i++)
        for (size_t j = 0; j < d->cols; j++)
            mean[j] += d->x[i * d->cols + j];
    for (size_t j = 0; j < d->cols; j++)
        mean[j] /= (double)d->rows;
    for (size_t i = 0; i < d->rows; i++)
        for (size_t j = 0; j < d->cols; j++) {
            double t = d->x[i * d->cols + j] - mean[j];
            m2[j] += t * t;
        }
    for (size_t j = 0; j < d->cols; j++)
        json_array_append_new(a, json_pack("{ss sf sf}", "name",
                                           d->feature_names && d->feature_names[j]
                                               ? d->feature_names[j] : "",
                                           "mean", mean[j], "sd",
                                           sqrt(m2[j] / (double)d->rows)));
    free(mean);
    free(m2);
    return a;
}

int64_t eng_retrain_last(engine *e, const char *why)
{
    pthread_mutex_lock(&e->ds_mu);
    int have = e->have_last_train;
    eng_train_req req = e->last_train;
    pthread_mutex_unlock(&e->ds_mu);
    if (!have)
        return 0;
    char *err = NULL;
    int64_t id = submit_train(e, &req, 0, &err);
    if (id)
        ev_postf(e->events, EV_LOG, id, 0, "%s: retraining (job %lld)", why, (long long)id);
    else
        ev_postf(e->events, EV_LOG, 0, 0, "%s, but the retraining could not start: %s", why,
                 err ? err : "?");
    free(err);
    return id;
}

/* set retrain=on-new-data: a load that made another data set version current queues a
 * training with the last training's parameters (after the load, in job order). */
static void maybe_retrain(engine *e, int64_t version)
{
    pthread_mutex_lock(&e->ds_mu);
    int go = e->retrain;
    pthread_mutex_unlock(&e->ds_mu);
    if (!go)
        return;
    char why[96];
    snprintf(why, sizeof why, "data v%lld is new (set retrain=on-new-data)", (long long)version);
    eng_retrain_last(e, why);
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
    double t_read = eng_mono();
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
    double t_store = eng_mono();
    int64_t version = 0;
    int is_new = 0;
    if ((rc = store_put_dataset(st, d, &version, &is_new, err)) != MLWB_OK) {
        ds_release(&d);
        return rc;
    }
    double t_end = eng_mono();
    d->version = version;
    d->loaded_at = eng_now();
    json_t *r = eng_dataset_json(d);
    ds *cur = eng_dataset(e);
    int same = cur && cur->version == version;
    ds_release(&cur);
    json_object_set_new(r, "new", json_boolean(is_new));
    json_object_set_new(r, "changed", json_boolean(!same));
    json_object_set_new(r, "read_seconds", json_real(t_store - t_read));
    json_object_set_new(r, "store_seconds", json_real(t_end - t_store));
    if (!same)  /* an unchanged reload keeps the data set in memory as it is */
        set_dataset(e, d);
    else
        ds_release(&d);
    ev_post(e->events, EV_DATASET, job_id(j), version, 1,
            is_new ? "new" : same ? "unchanged" : "current");
    if (!same)
        maybe_retrain(e, version);
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

/* What can be known wrong before any work: an unknown sample name. */
static mlwb_status check_load(const eng_load_req *req, char **err)
{
    sample_info s;
    if (req->source != LOAD_SAMPLE || sample_find(req->path, &s))
        return MLWB_OK;
    char names[256] = "";
    for (size_t i = 0; sample_at(i, &s); i++) {
        strncat(names, i ? ", " : "", sizeof names - strlen(names) - 1);
        strncat(names, s.name, sizeof names - strlen(names) - 1);
    }
    return err_set(err, MLWB_ERR_NOTFOUND, "no sample named '%s' (samples: %s)", req->path,
                   names);
}

static int64_t submit_load(engine *e, const eng_load_req *req, int64_t tag, char **err)
{
    if (check_load(req, err))
        return 0;
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

int64_t eng_schedule_load(engine *e, const eng_load_req *req, int64_t interval_ms,
                          int64_t *first_job, char **err)
{
    if (check_load(req, err))  /* now, not at every run */
        return 0;
    load_job *l = load_job_new(e, req);
    if (!l) {
        err_set(err, MLWB_ERR_NOMEM, "out of memory");
        return 0;
    }
    char desc[512];
    load_desc(req, desc, sizeof desc);
    int64_t id = sched_add(e->sched, desc, interval_ms, 1, fire_load, l, load_job_free, first_job);
    if (!id)
        err_set(err, MLWB_ERR_NOMEM, "cannot add the schedule");
    return id;
}

/* --- train ----------------------------------------------------------------------- */


/* --- curves and metrics as JSON ------------------------------------------------------- */

static json_t *curve_json(const knn_curve_result *c, int done)
{
    json_t *pts = json_array();
    for (int k = 1; k <= c->kmax; k++) {
        const knn_curve_point *p = &c->points[k - 1];
        json_array_append_new(pts, json_pack("{si sf sf sf}", "k", p->k, "mean", p->mean, "sd",
                                             p->sd, "se", p->se));
    }
    json_t *o = json_pack("{ss ss so si si si si si sb ss ss ss}", "kind", "knn", "metric",
                          "accuracy", "points", pts, "best_k", c->best_k, "k_1se", c->k_1se,
                          "folds", c->folds, "folds_done", c->folds_done, "kmax", c->kmax,
                          "loo", c->loo, "distance", knn_metric_name(c->metric), "weights",
                          knn_weights_name(c->weights), "scale", knn_scale_name(c->scale));
    json_object_set_new(o, "done", json_boolean(done));
    return o;
}

void eng_set_last_curve(engine *e, json_t *c)
{
    pthread_mutex_lock(&e->ds_mu);
    json_t *old = e->last_curve;
    e->last_curve = c;
    pthread_mutex_unlock(&e->ds_mu);
    json_decref(old);
}

json_t *eng_last_curve(engine *e)
{
    pthread_mutex_lock(&e->ds_mu);
    json_t *c = e->last_curve ? json_deep_copy(e->last_curve) : NULL;
    pthread_mutex_unlock(&e->ds_mu);
    return c;
}

/* accuracy, balanced accuracy, macro-F1, per class, the confusion matrix */
static json_t *metrics_json(const metrics_report *r, const ds *d)
{
    json_t *per = json_array(), *conf = json_array();
    for (size_t c = 0; c < r->nclasses; c++) {
        json_array_append_new(per, json_pack("{ss sf sf sf sI}", "class", d->class_names[c],
                                             "precision", r->precision[c], "recall",
                                             r->recall[c], "f1", r->f1[c], "support",
                                             (json_int_t)r->support[c]));
        json_t *row = json_array();
        for (size_t p = 0; p < r->nclasses; p++)
            json_array_append_new(row, json_integer((json_int_t)r->confusion[c * r->nclasses + p]));
        json_array_append_new(conf, row);
    }
    return json_pack("{sf sf sf sI so so}", "accuracy", r->accuracy, "balanced_accuracy",
                     r->balanced_accuracy, "macro_f1", r->macro_f1, "rows", (json_int_t)r->n,
                     "per_class", per, "confusion", conf);
}

/* --- publishing a trained model --------------------------------------------------------- */


/* Store the model as a new version and, unless promote=if-better holds it back, make it
 * active in the store and the registry under publish_mu.  On an error nothing changed. */
static mlwb_status publish_text(engine *e, job *j, store *st, pub_req *r, char *params,
                                char *metrics, char *curve, char **err);

mlwb_status eng_store_and_publish(engine *e, job *j, store *st, pub_req *r, char **err)
{
    const size_t flags = JSON_COMPACT | JSON_REAL_PRECISION(12);
    char *params = json_dumps(r->params, flags), *metrics = json_dumps(r->metrics, flags);
    char *curve = r->curve ? json_dumps(r->curve, flags) : NULL;
    mlwb_status rc = publish_text(e, j, st, r, params, metrics, curve, err);
    free(params);
    free(metrics);
    free(curve);
    return rc;
}

static mlwb_status publish_text(engine *e, job *j, store *st, pub_req *r, char *params,
                                char *metrics, char *curve, char **err)
{
    if (!params || !metrics || (r->curve && !curve))
        return err_set(err, MLWB_ERR_NOMEM, "out of memory");
    store_model_info info = {.params_json = params, .metrics_json = metrics,
                             .curve_json = curve,
                             .dataset_version = r->dataset_version, .created = eng_now(),
                             .train_seconds = r->seconds, .active = 1};
    snprintf(info.kind, sizeof info.kind, "%s", r->kind);
    mdl *m = mdl_new(0, r->kind, NULL, params, metrics, r->dataset_version, info.created);
    if (!m)
        return err_set(err, MLWB_ERR_NOMEM, "out of memory");
    /* Promotion: compare with the active model of the same kind, unless told to always
     * promote (a model of another kind is not comparable: it is promoted). */
    int if_better;
    double margin;
    eng_get_promote(e, &if_better, &margin);
    r->held_back[0] = 0;
    mdl *cur = if_better ? reg_acquire(e->reg) : NULL;
    if (cur && strcmp(cur->kind, r->kind) == 0) {
        json_t *cm = json_loads(cur->metrics_json, 0, NULL);
        json_t *ca = json_object_get(cm, r->score_name);
        if (json_is_number(ca) && r->score < json_number_value(ca) - margin)
            snprintf(r->held_back, sizeof r->held_back,
                     "%s %.4f is below the active v%lld's %.4f by more than %g", r->score_name,
                     r->score, (long long)cur->version, json_number_value(ca), margin);
        json_decref(cm);
    }
    mdl_release(&cur);
    r->activated = !r->held_back[0];
    info.active = r->activated;
    pthread_mutex_lock(&e->publish_mu);
    mlwb_status rc = store_put_model(st, &info, r->blob, r->len, r->activated, &r->version, err);
    if (rc != MLWB_OK) {
        pthread_mutex_unlock(&e->publish_mu);
        mdl_release(&m);
        return rc;
    }
    m->version = r->version;  /* not shared yet: set before the publish */
    if (r->knn) {
        m->knn = *r->knn;
        *r->knn = NULL;
    }
    if (r->km) {
        m->km = *r->km;
        *r->km = NULL;
    }
    if (r->activated)
        reg_publish(e->reg, m);
    else
        mdl_release(&m);
    pthread_mutex_unlock(&e->publish_mu);
    ev_post(e->events, EV_MODEL, job_id(j), r->version, 1, r->activated ? "published" : "kept");
    return MLWB_OK;
}

typedef struct curve_ctx {
    engine *e;
    job *j;
} curve_ctx;

/* After each fold: the curve so far, for the UI to draw filling in. */
static int curve_progress(void *ud, const knn_curve_result *sofar, double fraction)
{
    curve_ctx *c = ud;
    char phase[64];
    if (sofar->loo)
        snprintf(phase, sizeof phase, "leave-one-out %.0f%%", fraction * 100);
    else
        snprintf(phase, sizeof phase, "fold %d/%d", sofar->folds_done + (fraction < 1),
                 sofar->folds);
    double done = sofar->loo ? fraction
                             : ((double)sofar->folds_done + (fraction < 1 ? fraction : 0)) /
                                   (double)sofar->folds;
    job_set_progress(c->j, 0.05 + 0.75 * done, phase);
    if (sofar->best_k > 0 && fraction >= 1) {
        eng_set_last_curve(c->e, curve_json(sofar, 0));
        ev_post(c->e->events, EV_CURVE, job_id(c->j), 0, done, phase);
    }
    return job_cancelled(c->j);
}

static mlwb_status run_train(job *j, store *st, void *arg, json_t **result, char **err)
{
    train_job *t = arg;
    engine *e = t->e;
    if (strcmp(t->req.kind, "kmeans") == 0)
        return eng_run_train_kmeans(j, st, t, result, err);
    ds *d = eng_dataset(e);
    if (!d)
        return err_set(err, MLWB_ERR_STATE, "no data loaded: try 'load sample iris'");
    mlwb_status rc = MLWB_OK;
    knn_model *knn = NULL;
    ds *train = NULL, *test = NULL;
    void *blob = NULL;
    size_t len = 0;
    json_t *mj = NULL, *cj = NULL, *pj = NULL;
    int32_t *pred = NULL;
    float *conf = NULL;
    knn_curve_result cr = {0};
    metrics_report mr = {0};
    double t0 = eng_mono();
    double holdout;
    unsigned long hseed;
    eng_get_holdout(e, &holdout, &hseed);
    int auto_k = t->req.knn.k == 0;

    /* 1. The part to fit and tune on, and the part (if any) held out to measure on. */
    if (holdout > 0 && !t->req.tune_only) {
        job_set_progress(j, 0.02, "splitting");
        if ((rc = ds_split(d, holdout, hseed, &train, &test, err)) != MLWB_OK)
            goto out;
    } else {
        train = ds_retain(d);
    }

    /* 2. The curve: one neighbour search per held-out row serves every k. */
    knn_curve_opts co = {.kmax = auto_k ? t->req.kmax : t->req.knn.k, .folds = t->req.folds,
                         .loo = t->req.loo, .seed = t->req.seed, .metric = t->req.knn.metric,
                         .weights = t->req.knn.weights, .scale = t->req.knn.scale,
                         .keep_predictions = !test};
    curve_ctx cc = {e, j};
    if ((rc = knn_curve(train, &co, &cr, curve_progress, &cc, err)) != MLWB_OK)
        goto out;
    int k = auto_k ? cr.best_k : t->req.knn.k;
    if (k > cr.kmax) {
        rc = err_set(err, MLWB_ERR_INVALID,
                     "k=%d is more than the %d rows of the smallest training part; use k=%d "
                     "or less (or fewer folds)", k, cr.kmax, cr.kmax);
        goto out;
    }
    cj = curve_json(&cr, 1);
    eng_set_last_curve(e, json_incref(cj));
    ev_post(e->events, EV_CURVE, job_id(j), 0, 1, "done");
    if (t->req.tune_only) {  /* a copy: cj is shared as the last curve now */
        *result = json_deep_copy(cj);
        json_object_set_new(*result, "data_version", json_integer(d->version));
        goto out;
    }

    /* 3. The model, fitted on the training part with the chosen k. */
    job_set_progress(j, 0.82, "fitting");
    knn_params kp = t->req.knn;
    kp.k = k;
    if ((rc = knn_fit(train, &kp, &knn, err)) != MLWB_OK)
        goto out;

    /* 4. Honest evaluation: on the held-out rows, or the out-of-fold predictions. */
    job_set_progress(j, 0.88, "evaluating");
    if (test) {
        pred = malloc(test->rows * sizeof *pred);
        conf = malloc(test->rows * sizeof *conf);
        if (!pred || !conf) {
            rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
            goto out;
        }
        if ((rc = knn_predict_batch(knn, test->x, test->rows, pred, conf)) != MLWB_OK ||
            (rc = metrics_compute(test->y, pred, test->rows, test->nclasses, &mr, err)) != MLWB_OK)
            goto out;
        mj = metrics_json(&mr, d);
        json_object_set_new(mj, "evaluation", json_string("holdout"));
        json_object_set_new(mj, "holdout", json_real(holdout));
        json_object_set_new(mj, "test_rows", json_integer((json_int_t)test->rows));
        json_object_set_new(mj, "seed", json_integer((json_int_t)hseed));
    } else {
        pred = malloc(train->rows * sizeof *pred);
        if (!pred) {
            rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < train->rows; i++)
            pred[i] = cr.pred[i * (size_t)cr.kmax + (size_t)k - 1];
        if ((rc = metrics_compute(train->y, pred, train->rows, train->nclasses, &mr, err)) !=
            MLWB_OK)
            goto out;
        mj = metrics_json(&mr, d);
        json_object_set_new(mj, "evaluation", json_string(cr.loo ? "loo" : "cv"));
        if (!cr.loo)
            json_object_set_new(mj, "cv_folds", json_integer(cr.folds));
        /* the curve's mean at k: each fold weighs the same */
        json_object_set_new(mj, "cv_mean", json_real(cr.points[k - 1].mean));
        json_object_set_new(mj, "cv_sd", json_real(cr.points[k - 1].sd));
        /* k=auto picked k on these same folds: the figure leans optimistic */
        if (auto_k)
            json_object_set_new(mj, "k_chosen_on_same_folds", json_true());
    }
    /* what the model was trained on, per feature: the baseline of the drift check */
    json_object_set_new(mj, "feature_stats", eng_feature_stats(train));
    if (job_cancelled(j)) {
        rc = MLWB_ERR_CANCELLED;
        goto out;
    }
    if ((rc = knn_serialize(knn, &blob, &len, err)) != MLWB_OK)
        goto out;
    double secs = eng_mono() - t0;
    pj = json_pack("{si ss ss ss sb}", "k", k, "distance", knn_metric_name(kp.metric), "weights",
                   knn_weights_name(kp.weights), "scale", knn_scale_name(kp.scale), "k_auto",
                   auto_k);
    if (auto_k)
        json_object_set_new(pj, "kmax", json_integer(cr.kmax));
    job_set_progress(j, 0.93, "storing");
    pub_req pr = {.kind = "knn", .knn = &knn, .params = pj, .metrics = mj, .curve = cj, .dataset_version = d->version, .seconds = secs,
                  .blob = blob, .len = len, .score_name = "accuracy", .score = mr.accuracy};
    if ((rc = eng_store_and_publish(e, j, st, &pr, err)) != MLWB_OK)
        goto out;
    int64_t version = pr.version;
    int activate = pr.activated;
    const char *held_back = pr.held_back;
    *result = json_pack("{sI ss sb sO sO sI sf}", "version", (json_int_t)version, "kind", "knn",
                        "active", activate, "params", pj, "metrics", mj, "dataset_version",
                        (json_int_t)d->version, "train_seconds", secs);
    if (!activate)
        json_object_set_new(*result, "not_activated", json_string(held_back));
    json_object_set_new(*result, "curve_best_k", json_integer(cr.best_k));
    json_object_set_new(*result, "curve_k_1se", json_integer(cr.k_1se));
out:
    knn_curve_clear(&cr);
    metrics_clear(&mr);
    json_decref(mj);
    json_decref(cj);
    json_decref(pj);
    free(pred);
    free(conf);
    knn_free(&knn);
    free(blob);
    ds_release(&train);
    ds_release(&test);
    ds_release(&d);
    return rc;
}

static void train_desc(const eng_train_req *req, char *desc, size_t n)
{
    char k[48];
    int km = strcmp(req->kind, "kmeans") == 0;
    int fixed = km ? req->km.k : req->knn.k;
    if (fixed)
        snprintf(k, sizeof k, "k=%d", fixed);
    else if (km)
        snprintf(k, sizeof k, "%skmin=%d kmax=%d", req->tune_only ? "" : "k=auto ",
                 req->km.kmin ? req->km.kmin : KM_SWEEP_KMIN,
                 req->kmax ? req->kmax : KM_SWEEP_KMAX);
    else
        snprintf(k, sizeof k, "%skmax=%d", req->tune_only ? "" : "k=auto ",
                 req->kmax ? req->kmax : KNN_CURVE_KMAX);
    snprintf(desc, n, "%s %s %s", req->tune_only ? "tune" : "train", km ? "kmeans" : "knn", k);
}

static mlwb_status check_train(const eng_train_req *req, char **err)
{
    if (strcmp(req->kind, "kmeans") == 0) {
        if (req->km.k < 0)
            return err_set(err, MLWB_ERR_INVALID, "k=%d: k must be at least 1", req->km.k);
        int kmin = req->km.kmin ? req->km.kmin : KM_SWEEP_KMIN;
        int kmax = req->kmax ? req->kmax : KM_SWEEP_KMAX;
        if (!req->km.k && kmin < 2)
            return err_set(err, MLWB_ERR_INVALID,
                           "kmin=%d: the sweep needs kmin of at least 2 (a silhouette needs "
                           "two clusters)", kmin);
        if (!req->km.k && kmax < kmin)
            return err_set(err, MLWB_ERR_INVALID, "kmax=%d is below kmin=%d", kmax, kmin);
        if (req->km.n_init < 0 || req->km.max_iter < 0 || req->km.tol < 0)
            return err_set(err, MLWB_ERR_INVALID, "n_init, max_iter and tol must not be negative");
        return MLWB_OK;
    }
    if (strcmp(req->kind, "knn") != 0)
        return err_set(err, MLWB_ERR_INVALID, "unknown model kind '%s' (known: knn, kmeans)",
                       req->kind);
    if (req->knn.k < 0)
        return err_set(err, MLWB_ERR_INVALID, "k=%d: k must be at least 1", req->knn.k);
    return MLWB_OK;
}

/* A checked copy of the request for a job or a schedule; NULL with *err set. */
static train_job *train_job_new(engine *e, const eng_train_req *req, char **err)
{
    if (check_train(req, err))
        return NULL;
    train_job *t = calloc(1, sizeof *t);
    if (!t) {
        err_set(err, MLWB_ERR_NOMEM, "out of memory");
        return NULL;
    }
    t->e = e;
    t->req = *req;
    return t;
}

static int64_t submit_train(engine *e, const eng_train_req *req, int64_t tag, char **err)
{
    train_job *t = train_job_new(e, req, err);
    if (!t)
        return 0;
    char desc[128];
    train_desc(req, desc, sizeof desc);
    int64_t id = job_submit_tagged(e->jobs, req->tune_only ? "tune" : "train", desc, tag,
                                   run_train, t, free);
    if (!id)
        err_set(err, MLWB_ERR_NOMEM, "cannot queue the job");
    return id;
}

/* Remember a training's parameters for set retrain=on-new-data. */
static void remember_train(engine *e, const eng_train_req *req)
{
    if (req->tune_only)
        return;
    pthread_mutex_lock(&e->ds_mu);
    e->last_train = *req;
    e->have_last_train = 1;
    pthread_mutex_unlock(&e->ds_mu);
}

int64_t eng_submit_train(engine *e, const eng_train_req *req, char **err)
{
    int64_t id = submit_train(e, req, 0, err);
    if (id)
        remember_train(e, req);
    return id;
}

void eng_get_serve_limits(engine *e, eng_serve_limits *out)
{
    pthread_mutex_lock(&e->ds_mu);
    *out = e->limits;
    pthread_mutex_unlock(&e->ds_mu);
}

void eng_set_serve_limits(engine *e, const eng_serve_limits *l)
{
    pthread_mutex_lock(&e->ds_mu);
    e->limits = *l;
    pthread_mutex_unlock(&e->ds_mu);
}

void eng_set_model_name(engine *e, const char *name)
{
    pthread_mutex_lock(&e->ds_mu);
    snprintf(e->model_name, sizeof e->model_name, "%s", name);
    pthread_mutex_unlock(&e->ds_mu);
}

void eng_get_model_name(engine *e, char *buf, size_t n)
{
    pthread_mutex_lock(&e->ds_mu);
    snprintf(buf, n, "%s", e->model_name[0] ? e->model_name : "default");
    pthread_mutex_unlock(&e->ds_mu);
}

void eng_set_retrain(engine *e, int on)
{
    pthread_mutex_lock(&e->ds_mu);
    e->retrain = on;
    pthread_mutex_unlock(&e->ds_mu);
}

int eng_get_retrain(engine *e)
{
    pthread_mutex_lock(&e->ds_mu);
    int on = e->retrain;
    pthread_mutex_unlock(&e->ds_mu);
    return on;
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
    if (id) {
        t->last_dataset = v;
        remember_train(t->e, &t->req);
    }
    return id;
}

int64_t eng_schedule_train(engine *e, const eng_train_req *req, int64_t interval_ms,
                           int64_t *first_job, char **err)
{
    train_job *t = train_job_new(e, req, err);
    if (!t)
        return 0;
    char desc[128];
    train_desc(req, desc, sizeof desc);
    int64_t id = sched_add(e->sched, desc, interval_ms, 1, fire_train, t, free, first_job);
    if (!id)
        err_set(err, MLWB_ERR_NOMEM, "cannot add the schedule");
    return id;
}

sched *eng_sched(engine *e) { return e->sched; }

/* --- command schedules ---------------------------------------------------------------- */

typedef struct cmd_sched {
    engine *e;
    char *line;
    atomic_int pending;  /* posted, not yet run to the end by the UI's thread */
} cmd_sched;

static void cmd_sched_free(void *arg)
{
    cmd_sched *c = arg;
    free(c->line);
    free(c);
}

static int64_t fire_command(void *arg, int64_t sched_id, char **err)
{
    cmd_sched *c = arg;
    int idle = 0;
    if (!atomic_compare_exchange_strong(&c->pending, &idle, 1))
        return 0;  /* the last run has not finished: skipped */
    ev_post(c->e->events, EV_COMMAND, 0, sched_id, 0, c->line);
    return SCHED_RAN;
}

int64_t eng_schedule_command(engine *e, const char *desc, const char *line,
                             int64_t interval_ms, int run_now, char **err)
{
    cmd_sched *c = calloc(1, sizeof *c);
    if (!c || !(c->line = strdup(line))) {
        free(c);
        err_set(err, MLWB_ERR_NOMEM, "out of memory");
        return 0;
    }
    c->e = e;
    atomic_init(&c->pending, 0);
    int64_t id = sched_add(e->sched, desc, interval_ms, run_now, fire_command, c, cmd_sched_free,
                           NULL);
    if (!id)
        err_set(err, MLWB_ERR_NOMEM, "cannot add the schedule");
    return id;
}

static void clear_pending(void *arg, void *ud)
{
    (void)ud;
    cmd_sched *c = arg;
    atomic_store(&c->pending, 0);
}

void eng_command_done(engine *e, int64_t sched_id)
{
    sched_with_arg(e->sched, sched_id, clear_pending, NULL);
}

void eng_set_holdout(engine *e, double fraction, unsigned long seed)
{
    pthread_mutex_lock(&e->ds_mu);
    e->holdout = fraction;
    e->holdout_seed = seed;
    pthread_mutex_unlock(&e->ds_mu);
}

void eng_set_promote(engine *e, int if_better, double margin)
{
    pthread_mutex_lock(&e->ds_mu);
    e->promote_if_better = if_better;
    e->promote_margin = margin;
    pthread_mutex_unlock(&e->ds_mu);
}

void eng_get_promote(engine *e, int *if_better, double *margin)
{
    pthread_mutex_lock(&e->ds_mu);
    *if_better = e->promote_if_better;
    *margin = e->promote_margin;
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

/* --- following the store ------------------------------------------------------------- */

/* Every interval: is the store's active model another version than the one the registry
 * serves (another process trained or rolled back)?  Then load it completely and publish
 * it; requests in flight finish on the old one.  A model that cannot be loaded is
 * logged once and the one serving stays. */
static void *follow_main(void *arg)
{
    engine *e = arg;
    store *st = thread_start(e, "following the store");
    if (!st)
        return NULL;
    char *err = NULL;
    int64_t failed = 0;  /* the version that could not be loaded (logged once) */
    int64_t failed_data = 0;
    pthread_mutex_lock(&e->follow_mu);
    while (!e->follow_stop) {
        struct timespec ts = eng_deadline(e->follow_interval_ms / 1000.0);
        pthread_cond_timedwait(&e->follow_cv, &e->follow_mu, &ts);
        if (e->follow_stop)
            break;
        pthread_mutex_unlock(&e->follow_mu);
        int64_t dv = 0;
        if ((e->follow_what & EF_DATA) && store_current_dataset(st, &dv, &err) == MLWB_OK &&
            dv > 0 && dv != failed_data) {
            ds *cur = eng_dataset(e);
            int64_t have = cur ? cur->version : 0;
            ds_release(&cur);
            ds *d = NULL;
            if (dv != have && store_get_dataset(st, dv, &d, &err) == MLWB_OK) {
                set_dataset(e, d);
                ev_post(e->events, EV_DATASET, 0, dv, 1, "followed");
            } else if (dv != have) {
                failed_data = dv;
                ev_postf(e->events, EV_LOG, 0, dv, "data v%lld is current in the store but "
                         "cannot be read: %s", (long long)dv, err ? err : "?");
            }
        }
        free(err);
        err = NULL;
        int64_t v = 0;
        if (!(e->follow_what & EF_MODEL)) {
            /* data only */
        } else if (store_active_model(st, &v, &err) != MLWB_OK) {
            free(err);
            err = NULL;
        } else if (v > 0 && v != reg_active_version(e->reg) && v != failed) {
            mdl *m = NULL;
            if (load_model_version(st, v, &m, &err) == MLWB_OK) {
                /* under publish_mu, the store must still say v: a publish of our own
                 * since the read wins (it holds the lock while it writes both) */
                pthread_mutex_lock(&e->publish_mu);
                int64_t now_v = 0;
                char *e2 = NULL;
                int still = store_active_model(st, &now_v, &e2) == MLWB_OK && now_v == v &&
                            reg_active_version(e->reg) != v;
                free(e2);
                if (still)
                    reg_publish(e->reg, m);
                else
                    mdl_release(&m);
                pthread_mutex_unlock(&e->publish_mu);
                if (still) {
                    ev_post(e->events, EV_MODEL, 0, v, 1, "followed");
                    ev_postf(e->events, EV_LOG, 0, v, "model v%lld is now active (published "
                             "by another process)", (long long)v);
                }
            } else {
                failed = v;
                ev_postf(e->events, EV_LOG, 0, v, "model v%lld is active in the store but "
                         "cannot be loaded: %s", (long long)v, err ? err : "?");
                free(err);
                err = NULL;
            }
        }
        pthread_mutex_lock(&e->follow_mu);
    }
    pthread_mutex_unlock(&e->follow_mu);
    store_close(&st);
    return NULL;
}

mlwb_status eng_follow_store(engine *e, int what, int interval_ms, char **err)
{
    if (e->follow_started)
        return MLWB_OK;
    e->follow_what = what;
    e->follow_interval_ms = interval_ms > 0 ? interval_ms : 500;
    if (pthread_create(&e->follow_thread, NULL, follow_main, e) != 0)
        return err_set(err, MLWB_ERR_NOMEM, "cannot start the thread that follows the store");
    e->follow_started = 1;
    return MLWB_OK;
}
