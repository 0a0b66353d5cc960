/*
 * deadline.h — the absolute time `seconds` from now, for pthread_cond_timedwait on a
 * condition variable with the default clock (CLOCK_REALTIME).  Internal to the engine.
 */
#ifndef MLWB_ENGINE_DEADLINE_H
#define MLWB_ENGINE_DEADLINE_H

#include <time.h>

static inline struct timespec eng_deadline(double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long whole = (long)seconds;
    ts.tv_sec += (time_t)whole;
    ts.tv_nsec += (long)((seconds - (double)whole) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

#endif
