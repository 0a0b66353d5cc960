/*
 * samples.h — the data sets bundled into the binary (samples/data/NAME.csv, embedded at
 * build time), so `load sample NAME` works from any directory and after install.
 *
 * Thread-safety: read-only static data.
 */
#ifndef MLWB_CORE_SAMPLES_H
#define MLWB_CORE_SAMPLES_H

#include <stddef.h>

typedef struct sample_info {
    const char *name;         /* "iris" */
    const char *description;  /* one line */
    const char *data;         /* CSV text, not NUL-terminated */
    size_t len;
} sample_info;

/* Fill *out with sample i (0-based); returns 0 past the end. */
int sample_at(size_t i, sample_info *out);

/* Fill *out with the sample called `name`; returns 0 (leaving *out alone) when there
 * is none. */
int sample_find(const char *name, sample_info *out);

#endif
