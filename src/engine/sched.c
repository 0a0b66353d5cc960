/*
 * sched.c — the scheduler thread (see mlwb/engine/sched.h).
 *
 * Design: a list of schedules under a mutex; the thread waits on a condition variable
 * (CLOCK_MONOTONIC) until the earliest `due`, or until a schedule is added or removed.
 * When one is due it is either skipped (its last job is not finished) or fired; either
 * way its next due time is the old one plus the period — or now plus the period when
 * the thread fell behind — so runs never bunch up.  `fire` is called with the lock
 * released, so a fire that takes time delays only the scheduler, never a caller.
 */
#include "mlwb/engine/sched.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct entry {
    int64_t id;
    char desc[256];
    int64_t interval_ms;
    int64_t due_ms;  /* monotonic */
    uint64_t runs, skipped, failures;
    int64_t last_job;
    sched_fire_fn fire;
    void *arg;
    void (*arg_free)(void *);
    int firing;      /* fire running now: removal waits for it */
    struct entry *next;
} entry;

struct sched {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_cond_t fired_cv;
    entry *list;
    int64_t next_id;
    int stop;
    pthread_t thread;
    int started;
    job_pool *jobs;
    ev_queue *events;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void entry_free(entry *e)
{
    if (e->arg_free)
        e->arg_free(e->arg);
    free(e);
}

/* After a fire (called without the lock, with e->firing set): count the outcome and
 * log a failure.  Called with the lock held. */
static void account(sched *s, entry *e, int64_t id, int64_t jid, char *err)
{
    int failed = !jid && err;  /* 0 without a message: nothing to do this time */
    if (failed)
        ev_postf(s->events, EV_LOG, 0, 0, "schedule %lld: %s", (long long)id, err);
    free(err);
    e->firing = 0;
    if (jid == SCHED_RAN) {
        e->last_job = 0;
        e->runs++;
    } else if (jid) {
        e->last_job = jid;
        e->runs++;
    } else if (failed) {
        e->failures++;
    } else {
        e->skipped++;
    }
}

static void *sched_main(void *arg)
{
    sched *s = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        int64_t now = now_ms(), earliest = -1;
        entry *due = NULL;
        for (entry *e = s->list; e; e = e->next) {
            if (e->firing)  /* its first run, on the thread that added it */
                continue;
            if (e->due_ms <= now && !due)
                due = e;
            if (earliest < 0 || e->due_ms < earliest)
                earliest = e->due_ms;
        }
        if (!due) {
            if (earliest < 0) {
                pthread_cond_wait(&s->cv, &s->mu);
            } else {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                int64_t wait = earliest - now;
                ts.tv_sec += wait / 1000;
                ts.tv_nsec += (wait % 1000) * 1000000;
                if (ts.tv_nsec >= 1000000000) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&s->cv, &s->mu, &ts);
            }
            continue;
        }
        due->due_ms += due->interval_ms;
        if (due->due_ms <= now)
            due->due_ms = now + due->interval_ms;
        if (due->last_job && !job_finished(s->jobs, due->last_job)) {
            due->skipped++;
            continue;
        }
        due->firing = 1;
        sched_fire_fn fire = due->fire;
        void *farg = due->arg;
        int64_t id = due->id;
        pthread_mutex_unlock(&s->mu);
        char *err = NULL;
        int64_t jid = fire(farg, id, &err);
        pthread_mutex_lock(&s->mu);
        account(s, due, id, jid, err);
        pthread_cond_broadcast(&s->fired_cv);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

sched *sched_new(job_pool *jobs, ev_queue *events)
{
    sched *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->jobs = jobs;
    s->events = events;
    s->next_id = 1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&s->fired_cv, NULL);
    if (pthread_create(&s->thread, NULL, sched_main, s) != 0) {
        sched_free(&s);
        return NULL;
    }
    s->started = 1;
    return s;
}

void sched_free(sched **ps)
{
    sched *s = *ps;
    *ps = NULL;
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->started)
        pthread_join(s->thread, NULL);
    while (s->list) {
        entry *e = s->list;
        s->list = e->next;
        entry_free(e);
    }
    pthread_cond_destroy(&s->cv);
    pthread_cond_destroy(&s->fired_cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int64_t sched_add(sched *s, const char *desc, int64_t interval_ms, int run_now,
                  sched_fire_fn fire, void *arg, void (*arg_free)(void *), int64_t *first_job)
{
    if (first_job)
        *first_job = 0;
    entry *e = calloc(1, sizeof *e);
    if (!e) {
        if (arg_free)
            arg_free(arg);
        return 0;
    }
    snprintf(e->desc, sizeof e->desc, "%s", desc);
    e->interval_ms = interval_ms < 10 ? 10 : interval_ms;
    e->due_ms = now_ms() + e->interval_ms;
    e->firing = run_now;  /* the first run is fired below, on this thread */
    e->fire = fire;
    e->arg = arg;
    e->arg_free = arg_free;
    pthread_mutex_lock(&s->mu);
    e->id = s->next_id++;
    entry **tail = &s->list;
    while (*tail)
        tail = &(*tail)->next;
    *tail = e;
    int64_t id = e->id;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (run_now) {  /* now, so that what the caller does next comes after it */
        char *err = NULL;
        int64_t jid = fire(arg, id, &err);
        if (first_job)
            *first_job = jid > 0 ? jid : 0;
        pthread_mutex_lock(&s->mu);
        account(s, e, id, jid, err);
        pthread_cond_broadcast(&s->fired_cv);
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    return id;
}

int sched_remove(sched *s, int64_t id)
{
    pthread_mutex_lock(&s->mu);
    entry **pp = &s->list;
    while (*pp && (*pp)->id != id)
        pp = &(*pp)->next;
    entry *e = *pp;
    if (!e) {
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    while (e->firing)  /* its fire is using arg: wait for it */
        pthread_cond_wait(&s->fired_cv, &s->mu);
    pp = &s->list;  /* the list may have changed while we waited */
    while (*pp && *pp != e)
        pp = &(*pp)->next;
    if (*pp)
        *pp = e->next;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    entry_free(e);
    return 1;
}

size_t sched_count(sched *s)
{
    size_t n = 0;
    pthread_mutex_lock(&s->mu);
    for (entry *e = s->list; e; e = e->next)
        n++;
    pthread_mutex_unlock(&s->mu);
    return n;
}

sched_info *sched_list(sched *s, size_t *n)
{
    pthread_mutex_lock(&s->mu);
    size_t count = 0;
    for (entry *e = s->list; e; e = e->next)
        count++;
    sched_info *list = calloc(count ? count : 1, sizeof *list);
    *n = 0;
    int64_t now = now_ms();
    if (list) {
        for (entry *e = s->list; e; e = e->next) {
            sched_info *i = &list[(*n)++];
            i->id = e->id;
            memcpy(i->desc, e->desc, sizeof i->desc);
            i->interval_ms = e->interval_ms;
            i->runs = e->runs;
            i->skipped = e->skipped;
            i->failures = e->failures;
            i->last_job = e->last_job;
            i->next_in = e->due_ms > now ? (double)(e->due_ms - now) / 1000.0 : 0;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return list;
}

int sched_with_arg(sched *s, int64_t id, void (*fn)(void *arg, void *ud), void *ud)
{
    int found = 0;
    pthread_mutex_lock(&s->mu);
    for (entry *e = s->list; e; e = e->next)
        if (e->id == id) {
            fn(e->arg, ud);
            found = 1;
            break;
        }
    pthread_mutex_unlock(&s->mu);
    return found;
}
