/*
 * events.h — the bounded queue through which worker threads tell the UI what happened.
 *
 * Any thread may post; one thread (the UI or the script interpreter) drains.  Posting
 * never blocks: when the queue is full the oldest progress event is dropped first; an
 * event of another kind is never dropped (the queue grows past its bound for those
 * rather than lose a "model published" or an error).  Each post writes one byte to a
 * wake pipe whose read end (ev_fd) the UI thread polls; ev_drain empties the pipe.
 *
 * Ownership: ev_post copies the event's text; ev_drain hands the copies to the caller,
 * who frees them with ev_clear.
 */
#ifndef MLWB_ENGINE_EVENTS_H
#define MLWB_ENGINE_EVENTS_H

#include <stddef.h>
#include <stdint.h>

typedef enum ev_kind {
    EV_LOG,        /* a line for the log pane */
    EV_PROGRESS,   /* job progress: job_id, fraction, text = phase */
    EV_JOB_DONE,   /* job finished (done, failed or cancelled): job_id */
    EV_DATASET,    /* a new current data set: version */
    EV_MODEL,      /* a model was published / activated: version */
    EV_CURVE,      /* a tuning curve gained a fold or a k (eng_last_curve has it): job_id */
    EV_COMMAND     /* `every DURATION COMMAND` is due: version = the schedule id, text =
                    * the command line, to run on the UI's thread; then call
                    * eng_command_done */
} ev_kind;

typedef struct ev {
    ev_kind kind;
    int64_t job_id;
    int64_t version;
    double fraction;
    char *text;  /* may be NULL */
} ev;

typedef struct ev_queue ev_queue;

ev_queue *ev_queue_new(size_t capacity);
void ev_queue_free(ev_queue **q);

void ev_post(ev_queue *q, ev_kind kind, int64_t job_id, int64_t version, double fraction,
             const char *text);
void ev_postf(ev_queue *q, ev_kind kind, int64_t job_id, int64_t version, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The read end of the wake pipe (readable when events are waiting). */
int ev_fd(const ev_queue *q);

/* Move up to max events into out[]; returns how many. */
size_t ev_drain(ev_queue *q, ev *out, size_t max);
void ev_clear(ev *e);

/* Events dropped so far because the queue was full. */
uint64_t ev_dropped(const ev_queue *q);

#endif
