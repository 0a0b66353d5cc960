/*
 * parfor.h — the one data-parallel loop helper of the core (the shape of klib's kt_for).
 *
 * par_for(n, fn, ctx) calls fn(ctx, i, tid) once for every i in [0, n), spread over
 * par_threads() threads; `tid` in [0, par_threads()) identifies the calling thread so
 * that each can own a scratch buffer.  Items are handed out in small chunks through an
 * atomic counter.  The call returns when every item is done.  Threads are started per
 * call and never outlive it, so the core owns no long-lived thread.
 *
 * Thread-safety: par_for may be called from any thread; fn must be safe to run
 * concurrently for different i.  par_set_threads is meant for configuration time.
 */
#ifndef MLWB_CORE_PARFOR_H
#define MLWB_CORE_PARFOR_H

#include <stddef.h>

typedef void (*par_fn)(void *ctx, size_t i, int tid);

void par_for(size_t n, par_fn fn, void *ctx);

/* Number of threads par_for uses (default: online cores; at least 1). */
int par_threads(void);
void par_set_threads(int n);

/* Number of online cores. */
int par_cores(void);

#endif
