/*
 * samples.h — the data sets bundled into the binary (samples/data/*.csv, embedded at
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

/* The sample called `name`, or NULL. */
const sample_info *sample_find(const char *name);

/* All samples; *n gets their count. */
const sample_info *sample_list(size_t *n);

#endif
