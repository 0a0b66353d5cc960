/*
 * jobs.h — work that runs on the engine's worker threads.
 *
 * A job_pool owns N worker threads (signals blocked) and a FIFO queue under a mutex
 * and condition variable.  A job has an id, a kind ("load", "train"), a one-line
 * description, a state, progress, and on completion a result (a JSON object built by
 * the job) or an error message.  Workers check nothing themselves: a job function
 * polls job_cancelled() at its check points.  Each worker opens its own store
 * connection (the store is one connection per thread) and passes it to the job.
 *
 * Completion posts EV_JOB_DONE on the event queue.  job_wait blocks the caller until a
 * job has finished.  The newest 256 finished jobs are kept (for `jobs`); older ones are
 * forgotten (job_get returns NULL for them).
 *
 * Ownership: job_get returns a reference released with job_release.  The result
 * object belongs to the job; callers that keep it take their own json_incref.
 */
#ifndef MLWB_ENGINE_JOBS_H
#define MLWB_ENGINE_JOBS_H

#include <jansson.h>
#include <stdint.h>

#include "mlwb/core/err.h"
#include "mlwb/engine/events.h"
#include "mlwb/store/store.h"

typedef struct job job;
typedef struct job_pool job_pool;

typedef enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED, JOB_CANCELLED } job_state;

/* The work: fill *result (a new JSON object) or return an error with *err. */
typedef mlwb_status (*job_fn)(job *j, store *st, void *arg, json_t **result, char **err);

/* db_path: the store each worker opens. */
job_pool *job_pool_new(int nthreads, const char *db_path, ev_queue *events);
/* Cancels queued jobs, asks running ones to stop, joins the workers. */
void job_pool_free(job_pool **p);

/* Queue fn(arg); arg_free (may be NULL) is called on arg when the job is destroyed.
 * Returns the job id (> 0). */
int64_t job_submit(job_pool *p, const char *kind, const char *desc, job_fn fn, void *arg,
                   void (*arg_free)(void *));
/* The same, with a tag kept on the job (e.g. the id of the schedule that started it). */
int64_t job_submit_tagged(job_pool *p, const char *kind, const char *desc, int64_t tag,
                          job_fn fn, void *arg, void (*arg_free)(void *));
int64_t job_tag(const job *j);
/* 1 the first time it is called for a finished job, 0 after that: whoever reports a
 * job's outcome claims it first, so it is reported once (by a waiting script or by the
 * event loop, whichever comes first). */
int job_claim_report(job *j);
/* 1 when the job has finished (done, failed or cancelled); 0 when unknown or running. */
int job_finished(job_pool *p, int64_t id);

job *job_get(job_pool *p, int64_t id);  /* NULL when unknown */
void job_release(job **j);

/* Block until the job has finished. */
void job_wait(job *j);
/* When the job was queued, started and ended (wall-clock seconds; 0 = not yet). */
void job_times(job *j, double *queued, double *started, double *ended);
/* Wait at most `seconds` for j to finish; 1 when it has. */
int job_wait_for(job *j, double seconds);
/* Block until no job is queued or running. */
void job_wait_all(job_pool *p);

/* Ask a job to stop (returns 0 if it had already finished). */
int job_cancel(job_pool *p, int64_t id);

int64_t job_id(const job *j);
const char *job_kind(const job *j);
const char *job_desc(const job *j);
job_state job_get_state(const job *j);
const char *job_state_name(job_state s);
json_t *job_result(const job *j);   /* borrowed; NULL unless done */
const char *job_error(const job *j); /* NULL unless failed */
/* Progress in [0, 1]; the phase text (e.g. "fold 3/5") is copied into phase[phase_len]. */
double job_progress(job *j, char *phase, size_t phase_len);

/* For job functions. */
int job_cancelled(const job *j);
void job_set_progress(job *j, double fraction, const char *phase);
ev_queue *job_events(job *j);

/* Snapshot of all jobs (references); free with job_list_free. */
job **job_list(job_pool *p, size_t *n);
void job_list_free(job **list, size_t n);

#endif
