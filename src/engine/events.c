/*
 * events.c — the bounded event queue with a wake pipe (see mlwb/engine/events.h).
 *
 * Design: a ring of `capacity` slots under a mutex.  When the ring is full, a post
 * drops the oldest EV_PROGRESS event if there is one; otherwise a progress post is
 * itself dropped, and any other event grows the ring (never lost).  Every post writes
 * one byte to a non-blocking pipe (a full pipe is fine: the reader is already due to
 * wake); ev_drain reads the pipe empty before taking events, so no wake-up is lost.
 */
#include "mlwb/engine/events.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ev_queue {
    pthread_mutex_t mu;
    ev *ring;
    size_t cap, head, count;  /* head: oldest */
    int pipe[2];
    atomic_uint_fast64_t dropped;
};

ev_queue *ev_queue_new(size_t capacity)
{
    ev_queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->cap = capacity ? capacity : 256;
    q->ring = calloc(q->cap, sizeof *q->ring);
    if (!q->ring || pipe(q->pipe) != 0) {
        free(q->ring);
        free(q);
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(q->pipe[i], F_SETFL, fcntl(q->pipe[i], F_GETFL) | O_NONBLOCK);
        fcntl(q->pipe[i], F_SETFD, FD_CLOEXEC);
    }
    pthread_mutex_init(&q->mu, NULL);
    atomic_init(&q->dropped, 0);
    return q;
}

void ev_queue_free(ev_queue **pq)
{
    ev_queue *q = *pq;
    *pq = NULL;
    if (!q)
        return;
    for (size_t i = 0; i < q->count; i++)
        ev_clear(&q->ring[(q->head + i) % q->cap]);
    free(q->ring);
    close(q->pipe[0]);
    close(q->pipe[1]);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

/* Remove the oldest progress event; returns 0 when there is none.  Lock held. */
static int drop_oldest_progress(ev_queue *q)
{
    for (size_t i = 0; i < q->count; i++) {
        size_t at = (q->head + i) % q->cap;
        if (q->ring[at].kind != EV_PROGRESS)
            continue;
        ev_clear(&q->ring[at]);
        for (size_t j = i; j + 1 < q->count; j++)
            q->ring[(q->head + j) % q->cap] = q->ring[(q->head + j + 1) % q->cap];
        q->count--;
        atomic_fetch_add(&q->dropped, 1);
        return 1;
    }
    return 0;
}

/* Double the ring.  Lock held.  Returns 0 on allocation failure. */
static int grow_ring(ev_queue *q)
{
    ev *r = calloc(q->cap * 2, sizeof *r);
    if (!r)
        return 0;
    for (size_t i = 0; i < q->count; i++)
        r[i] = q->ring[(q->head + i) % q->cap];
    free(q->ring);
    q->ring = r;
    q->head = 0;
    q->cap *= 2;
    return 1;
}

void ev_post(ev_queue *q, ev_kind kind, int64_t job_id, int64_t version, double fraction,
             const char *text)
{
    ev e = {kind, job_id, version, fraction, text ? strdup(text) : NULL};
    pthread_mutex_lock(&q->mu);
    if (q->count == q->cap && !drop_oldest_progress(q)) {
        if (kind == EV_PROGRESS || !grow_ring(q)) {
            pthread_mutex_unlock(&q->mu);
            atomic_fetch_add(&q->dropped, 1);
            free(e.text);
            return;
        }
    }
    if (q->count < q->cap) {
        q->ring[(q->head + q->count) % q->cap] = e;
        q->count++;
    } else {
        atomic_fetch_add(&q->dropped, 1);
        free(e.text);
    }
    pthread_mutex_unlock(&q->mu);
    char b = 1;
    ssize_t w = write(q->pipe[1], &b, 1);
    (void)w;  /* EAGAIN: the pipe is full, the reader will wake anyway */
}

void ev_postf(ev_queue *q, ev_kind kind, int64_t job_id, int64_t version, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ev_post(q, kind, job_id, version, 0, buf);
}

int ev_fd(const ev_queue *q)
{
    return q->pipe[0];
}

size_t ev_drain(ev_queue *q, ev *out, size_t max)
{
    char buf[256];
    while (read(q->pipe[0], buf, sizeof buf) > 0)
        ;
    pthread_mutex_lock(&q->mu);
    size_t n = 0;
    while (n < max && q->count) {
        out[n++] = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
    }
    int more = q->count > 0;
    pthread_mutex_unlock(&q->mu);
    if (more) {  /* keep the reader awake for what is left */
        char b = 1;
        ssize_t w = write(q->pipe[1], &b, 1);
        (void)w;
    }
    return n;
}

void ev_clear(ev *e)
{
    free(e->text);
    e->text = NULL;
}

uint64_t ev_dropped(const ev_queue *q)
{
    return atomic_load(&q->dropped);
}
