/*
 * synth.h — synthetic data sets from GSL's random number generator.
 *
 * The same parameters and seed give the same bytes on every run (GSL's MT19937 and its
 * ziggurat Gaussian are deterministic; no threads, no clock).
 * Thread-safety: reentrant (each call has its own generator).
 */
#ifndef MLWB_CORE_SYNTH_H
#define MLWB_CORE_SYNTH_H

#include <stddef.h>

#include "mlwb/core/dataset.h"
#include "mlwb/core/err.h"

typedef struct synth_blobs_opts {
    size_t n;            /* rows, >= 1 */
    size_t d;            /* features, >= 1 */
    size_t classes;      /* blobs, 1 .. n */
    double spread;       /* standard deviation of each blob (the command's default: 1) */
    double box;          /* centres drawn uniformly from [-box, box]^d (the command's
                          * default: 10; 0 puts every centre at the origin) */
    unsigned long seed;  /* default 1 */
} synth_blobs_opts;

/* Isotropic Gaussian blobs: row i belongs to blob i mod classes (classes "0", "1", ...);
 * features x0..x{d-1}, label "class". */
mlwb_status synth_blobs(const synth_blobs_opts *o, ds **out, char **err);

#endif
