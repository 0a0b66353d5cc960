/*
 * sched.h — schedules: run something every DURATION (`load … every=5s`).
 *
 * One scheduler thread sleeps until the earliest due schedule, then calls its `fire`
 * function, which submits a job and returns its id.  A schedule whose previous job is
 * still queued or running when it is due is skipped and counted, never piled up (so is
 * a run whose fire finds nothing to do, e.g. a retrain with no new data).  A
 * fire that fails (returns 0) is counted and logged as an event; the schedule keeps
 * its period.
 *
 * Thread-safety: every function may be called from any thread; `fire` runs on the
 * scheduler thread and must only submit work (it must not block).
 */
#ifndef MLWB_ENGINE_SCHED_H
#define MLWB_ENGINE_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "mlwb/engine/events.h"
#include "mlwb/engine/jobs.h"

typedef struct sched sched;

/* Submit one run; return the job id, or SCHED_RAN when the run was handed on without a
 * job (it counts as a run; the fire itself decides when it is still busy), or 0 with
 * *err set when it cannot start, or 0 with *err NULL when there is nothing to do this
 * time (counted as skipped). */
typedef int64_t (*sched_fire_fn)(void *arg, int64_t sched_id, char **err);
#define SCHED_RAN ((int64_t)-1)

sched *sched_new(job_pool *jobs, ev_queue *events);
void sched_free(sched **s);  /* stops the thread; frees every schedule's arg */

/* Add a schedule running every interval_ms (>= 10), the first time after one interval,
 * or with run_now the first time at once, fired on the caller's thread before sched_add
 * returns (so work the caller submits next is queued after it); *first_job (may be
 * NULL) gets that run's job id, or 0.  Takes arg (freed with arg_free).  Returns its
 * id. */
int64_t sched_add(sched *s, const char *desc, int64_t interval_ms, int run_now,
                  sched_fire_fn fire, void *arg, void (*arg_free)(void *), int64_t *first_job);
/* Remove a schedule (a job it started keeps running).  Returns 0 when unknown. */
int sched_remove(sched *s, int64_t id);
size_t sched_count(sched *s);
/* Call fn(arg of schedule id, ud) under the scheduler's lock (so the schedule cannot be
 * removed meanwhile); returns 0 when there is no such schedule. */
int sched_with_arg(sched *s, int64_t id, void (*fn)(void *arg, void *ud), void *ud);

typedef struct sched_info {
    int64_t id;
    char desc[256];
    int64_t interval_ms;
    uint64_t runs, skipped, failures;
    int64_t last_job;
    double next_in;  /* seconds until the next run */
} sched_info;

/* A snapshot of every schedule, in id order (malloc'd; free it). */
sched_info *sched_list(sched *s, size_t *n);

#endif
