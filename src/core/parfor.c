/*
 * parfor.c — the data-parallel loop (see mlwb/core/parfor.h).
 *
 * Design: par_for starts par_threads()-1 helper threads and works itself as thread 0;
 * all of them take chunks of indices from one atomic counter until none are left, then
 * the helpers are joined.  No thread outlives the call.  When only one thread is
 * configured or n is small, the loop runs inline on the caller.
 */
#include "mlwb/core/parfor.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_int configured = 0;  /* 0 = not set: use the cores */

static atomic_int cores = 0;  /* counted once: sysconf reads /sys on every call */

int par_cores(void)
{
    int c = atomic_load_explicit(&cores, memory_order_relaxed);
    if (c > 0)
        return c;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    c = n > 0 ? (int)n : 1;
    atomic_store_explicit(&cores, c, memory_order_relaxed);
    return c;
}

int par_threads(void)
{
    int n = atomic_load(&configured);
    return n > 0 ? n : par_cores();
}

void par_set_threads(int n)
{
    atomic_store(&configured, n > 0 ? n : 0);
}

typedef struct par_job {
    par_fn fn;
    void *ctx;
    size_t n, chunk;
    atomic_size_t next;
} par_job;

typedef struct par_worker {
    par_job *job;
    int tid;
} par_worker;

static void run_chunks(par_job *job, int tid)
{
    for (;;) {
        size_t start = atomic_fetch_add(&job->next, job->chunk);
        if (start >= job->n)
            return;
        size_t end = start + job->chunk < job->n ? start + job->chunk : job->n;
        for (size_t i = start; i < end; i++)
            job->fn(job->ctx, i, tid);
    }
}

static void *worker_main(void *arg)
{
    par_worker *w = arg;
    run_chunks(w->job, w->tid);
    return NULL;
}

void par_for(size_t n, par_fn fn, void *ctx)
{
    int nt = par_threads();
    if ((size_t)nt > n)
        nt = (int)n;
    if (nt <= 1) {
        for (size_t i = 0; i < n; i++)
            fn(ctx, i, 0);
        return;
    }
    par_job job = {.fn = fn, .ctx = ctx, .n = n};
    job.chunk = n / ((size_t)nt * 8);
    if (job.chunk < 1)
        job.chunk = 1;
    atomic_init(&job.next, 0);
    pthread_t th[64];
    par_worker w[64];
    if (nt > 64)
        nt = 64;
    int started = 0;
    for (int t = 1; t < nt; t++) {
        w[t] = (par_worker){&job, t};
        if (pthread_create(&th[t], NULL, worker_main, &w[t]) != 0)
            break;  /* fewer helpers: the remaining threads take the work */
        started = t;
    }
    run_chunks(&job, 0);
    for (int t = 1; t <= started; t++)
        pthread_join(th[t], NULL);
}
