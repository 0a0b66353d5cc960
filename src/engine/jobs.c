/*
 * jobs.c — the worker pool (see mlwb/engine/jobs.h).
 *
 * Design (after redis bio.c): one FIFO of queued jobs under a mutex and a condition
 * variable; workers block there, take one job, run it with the lock released, record
 * the outcome under the job's own lock, broadcast `done_cv`, and post EV_JOB_DONE.
 * Every worker blocks all signals (the main thread handles them) and opens its own
 * store connection at start.  Jobs are reference-counted: the pool's list holds one
 * reference, every job_get another.  Cancellation is an atomic flag the job polls.
 */
#include "mlwb/engine/jobs.h"
#include "deadline.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JOBS_KEPT 256  /* finished jobs remembered for `jobs` */

struct job {
    int64_t id;
    int64_t tag;
    char kind[16];
    char *desc;
    job_fn fn;
    void *arg;
    void (*arg_free)(void *);
    atomic_int state;
    atomic_int cancel;
    atomic_int reported;
    atomic_long refs;
    pthread_mutex_t mu;   /* guards progress, phase, result, error */
    double fraction;
    char phase[64];
    json_t *result;
    char *error;
    double queued, started, ended;  /* wall clock; 0 = not yet */
    job_pool *pool;
    job *next_queued;
};

struct job_pool {
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    job *qhead, *qtail;
    job **all;
    size_t nall, capall;
    int64_t next_id;
    int running;
    int stopping;
    int nthreads;
    pthread_t *threads;
    char *db_path;
    ev_queue *events;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void job_destroy(job *j)
{
    if (j->arg_free)
        j->arg_free(j->arg);
    json_decref(j->result);
    free(j->error);
    free(j->desc);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

void job_release(job **pj)
{
    job *j = *pj;
    *pj = NULL;
    if (j && atomic_fetch_sub(&j->refs, 1) == 1)
        job_destroy(j);
}

static void run_one(job_pool *p, job *j, store *st)
{
    json_t *result = NULL;
    char *err = NULL;
    mlwb_status rc;
    pthread_mutex_lock(&j->mu);
    j->started = now();
    pthread_mutex_unlock(&j->mu);
    if (atomic_load(&j->cancel)) {
        rc = MLWB_ERR_CANCELLED;
    } else if (!st) {
        rc = err_set(&err, MLWB_ERR_STORE, "%s: the worker could not open the store", p->db_path);
    } else {
        rc = j->fn(j, st, j->arg, &result, &err);
    }
    pthread_mutex_lock(&j->mu);
    j->ended = now();
    if (rc == MLWB_OK) {
        j->result = result ? result : json_object();
        j->fraction = 1;
    } else {
        json_decref(result);
        j->error = err ? err : strdup(err_name(rc));
        err = NULL;
    }
    pthread_mutex_unlock(&j->mu);
    free(err);
    job_state s = rc == MLWB_OK ? JOB_DONE : rc == MLWB_ERR_CANCELLED ? JOB_CANCELLED : JOB_FAILED;
    pthread_mutex_lock(&p->mu);
    atomic_store(&j->state, (int)s);
    p->running--;
    pthread_cond_broadcast(&p->done_cv);
    pthread_mutex_unlock(&p->mu);
    ev_post(p->events, EV_JOB_DONE, j->id, 0, 1, NULL);
}

static void *worker_main(void *arg)
{
    job_pool *p = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    store *st = NULL;
    char *err = NULL;
    if (store_open(p->db_path, &st, &err) != MLWB_OK) {
        ev_postf(p->events, EV_LOG, 0, 0, "worker: %s", err ? err : "cannot open the store");
        free(err);
    }
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->qhead && !p->stopping)
            pthread_cond_wait(&p->work_cv, &p->mu);
        if (!p->qhead)
            break;  /* stopping and nothing left */
        job *j = p->qhead;
        p->qhead = j->next_queued;
        if (!p->qhead)
            p->qtail = NULL;
        p->running++;
        atomic_store(&j->state, JOB_RUNNING);
        pthread_mutex_unlock(&p->mu);
        run_one(p, j, st);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    store_close(&st);
    return NULL;
}

job_pool *job_pool_new(int nthreads, const char *db_path, ev_queue *events)
{
    job_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->nthreads = nthreads > 0 ? nthreads : 1;
    p->db_path = strdup(db_path);
    p->events = events;
    p->next_id = 1;
    p->threads = calloc((size_t)p->nthreads, sizeof *p->threads);
    if (!p->db_path || !p->threads) {
        free(p->db_path);
        free(p->threads);
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    int started = 0;
    for (int i = 0; i < p->nthreads; i++)
        if (pthread_create(&p->threads[i], NULL, worker_main, p) == 0)
            started++;
    p->nthreads = started;
    if (!started) {
        job_pool_free(&p);
        return NULL;
    }
    return p;
}

void job_pool_free(job_pool **pp)
{
    job_pool *p = *pp;
    *pp = NULL;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    for (job *j = p->qhead; j; j = j->next_queued)
        atomic_store(&j->cancel, 1);
    for (size_t i = 0; i < p->nall; i++)
        atomic_store(&p->all[i]->cancel, 1);
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    for (size_t i = 0; i < p->nall; i++)
        job_release(&p->all[i]);
    free(p->all);
    free(p->threads);
    free(p->db_path);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static int finished(const job *j);

/* Forget the oldest finished jobs, keeping JOBS_KEPT of them and every unfinished one
 * (schedules would otherwise grow the list forever).  Lock held. */
static void prune(job_pool *p)
{
    size_t done = 0;
    for (size_t i = 0; i < p->nall; i++)
        done += finished(p->all[i]);
    size_t drop = done > JOBS_KEPT ? done - JOBS_KEPT : 0, k = 0;
    for (size_t i = 0; i < p->nall; i++) {
        if (drop && finished(p->all[i])) {
            job_release(&p->all[i]);
            drop--;
            continue;
        }
        p->all[k++] = p->all[i];
    }
    p->nall = k;
}

int64_t job_submit(job_pool *p, const char *kind, const char *desc, job_fn fn, void *arg,
                   void (*arg_free)(void *))
{
    return job_submit_tagged(p, kind, desc, 0, fn, arg, arg_free);
}

int64_t job_submit_tagged(job_pool *p, const char *kind, const char *desc, int64_t tag,
                          job_fn fn, void *arg, void (*arg_free)(void *))
{
    job *j = calloc(1, sizeof *j);
    if (j)
        j->queued = now();
    if (!j) {
        if (arg_free)
            arg_free(arg);
        return 0;
    }
    snprintf(j->kind, sizeof j->kind, "%s", kind);
    j->desc = strdup(desc ? desc : kind);
    j->fn = fn;
    j->arg = arg;
    j->arg_free = arg_free;
    j->pool = p;
    j->tag = tag;
    atomic_init(&j->state, JOB_QUEUED);
    atomic_init(&j->cancel, 0);
    atomic_init(&j->reported, 0);
    atomic_init(&j->refs, 1);
    pthread_mutex_init(&j->mu, NULL);
    snprintf(j->phase, sizeof j->phase, "queued");
    pthread_mutex_lock(&p->mu);
    if (p->nall >= JOBS_KEPT * 2)
        prune(p);
    if (p->nall == p->capall) {
        size_t c = p->capall ? p->capall * 2 : 16;
        job **a = realloc(p->all, c * sizeof *a);
        if (!a) {
            pthread_mutex_unlock(&p->mu);
            job_destroy(j);
            return 0;
        }
        p->all = a;
        p->capall = c;
    }
    j->id = p->next_id++;
    p->all[p->nall++] = j;
    if (p->qtail)
        p->qtail->next_queued = j;
    else
        p->qhead = j;
    p->qtail = j;
    int64_t id = j->id;
    pthread_cond_signal(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    return id;
}

job *job_get(job_pool *p, int64_t id)
{
    job *found = NULL;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->nall; i++)
        if (p->all[i]->id == id) {
            found = p->all[i];
            atomic_fetch_add(&found->refs, 1);
            break;
        }
    pthread_mutex_unlock(&p->mu);
    return found;
}

static int finished(const job *j)
{
    int s = atomic_load(&j->state);
    return s == JOB_DONE || s == JOB_FAILED || s == JOB_CANCELLED;
}

void job_wait(job *j)
{
    job_pool *p = j->pool;
    pthread_mutex_lock(&p->mu);
    while (!finished(j))
        pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void job_times(job *j, double *queued, double *started, double *ended)
{
    pthread_mutex_lock(&j->mu);
    *queued = j->queued;
    *started = j->started;
    *ended = j->ended;
    pthread_mutex_unlock(&j->mu);
}

int job_wait_for(job *j, double seconds)
{
    job_pool *p = j->pool;
    struct timespec ts = eng_deadline(seconds);  /* done_cv uses the default clock */
    pthread_mutex_lock(&p->mu);
    while (!finished(j))
        if (pthread_cond_timedwait(&p->done_cv, &p->mu, &ts) != 0)
            break;
    int done = finished(j);
    pthread_mutex_unlock(&p->mu);
    return done;
}

void job_wait_all(job_pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->qhead || p->running)
        pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

int job_cancel(job_pool *p, int64_t id)
{
    job *j = job_get(p, id);
    if (!j)
        return 0;
    int was = !finished(j);
    atomic_store(&j->cancel, 1);
    job_release(&j);
    return was;
}

int64_t job_id(const job *j) { return j->id; }
int64_t job_tag(const job *j) { return j->tag; }

int job_claim_report(job *j)
{
    return finished(j) && atomic_exchange(&j->reported, 1) == 0;
}

int job_finished(job_pool *p, int64_t id)
{
    job *j = job_get(p, id);
    int f = j && finished(j);
    job_release(&j);
    return f;
}
const char *job_kind(const job *j) { return j->kind; }
const char *job_desc(const job *j) { return j->desc; }
job_state job_get_state(const job *j) { return (job_state)atomic_load(&j->state); }

const char *job_state_name(job_state s)
{
    static const char *const names[] = {"queued", "running", "done", "failed", "cancelled"};
    return (unsigned)s < 5 ? names[s] : "?";
}

json_t *job_result(const job *j)
{
    return finished(j) ? j->result : NULL;
}

const char *job_error(const job *j)
{
    return finished(j) ? j->error : NULL;
}

double job_progress(job *j, char *phase, size_t phase_len)
{
    pthread_mutex_lock(&j->mu);
    double f = j->fraction;
    if (phase && phase_len)
        snprintf(phase, phase_len, "%s", j->phase);
    pthread_mutex_unlock(&j->mu);
    return f;
}

int job_cancelled(const job *j) { return atomic_load(&j->cancel); }

void job_set_progress(job *j, double fraction, const char *phase)
{
    pthread_mutex_lock(&j->mu);
    j->fraction = fraction;
    if (phase)
        snprintf(j->phase, sizeof j->phase, "%s", phase);
    pthread_mutex_unlock(&j->mu);
    ev_post(j->pool->events, EV_PROGRESS, j->id, 0, fraction, phase);
}

ev_queue *job_events(job *j) { return j->pool->events; }

job **job_list(job_pool *p, size_t *n)
{
    pthread_mutex_lock(&p->mu);
    job **list = malloc((p->nall ? p->nall : 1) * sizeof *list);
    *n = 0;
    if (list) {
        for (size_t i = 0; i < p->nall; i++) {
            atomic_fetch_add(&p->all[i]->refs, 1);
            list[i] = p->all[i];
        }
        *n = p->nall;
    }
    pthread_mutex_unlock(&p->mu);
    return list;
}

void job_list_free(job **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        job_release(&list[i]);
    free(list);
}
