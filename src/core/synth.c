/*
 * synth.c — synthetic data sets (see mlwb/core/synth.h).
 *
 * Design: one MT19937 generator seeded with the user's seed draws, in a fixed order,
 * first every blob centre (uniform in the box), then each row's features (centre plus
 * a Gaussian of sd `spread`, gsl_ran_gaussian_ziggurat).  Nothing depends on threads or
 * time, so the output is the same bytes for the same options.
 */
#include "mlwb/core/synth.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mlwb_status synth_blobs(const synth_blobs_opts *o, ds **out, char **err)
{
    *out = NULL;
    if (o->n < 1 || o->d < 1 || o->classes < 1)
        return err_set(err, MLWB_ERR_INVALID, "n, d and classes must be at least 1");
    if (o->classes > o->n)
        return err_set(err, MLWB_ERR_INVALID, "classes=%zu is more than n=%zu rows", o->classes,
                       o->n);
    if (!(o->spread >= 0) || !(o->box >= 0))
        return err_set(err, MLWB_ERR_INVALID, "spread and box must be non-negative numbers");
    ds *d = NULL;
    mlwb_status st = ds_new(o->n, o->d, 0, &d, err);
    if (st)
        return st;
    double *centres = malloc(o->classes * o->d * sizeof *centres);
    char **texts = calloc(o->classes, sizeof *texts);
    char **rowtext = malloc(o->n * sizeof *rowtext);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!centres || !texts || !rowtext || !r) {
        st = err_set(err, MLWB_ERR_NOMEM, "out of memory for %zu x %zu blobs", o->n, o->d);
        goto out;
    }
    gsl_rng_set(r, o->seed);
    for (size_t i = 0; i < o->classes * o->d; i++)
        centres[i] = (gsl_rng_uniform(r) * 2 - 1) * o->box;
    for (size_t c = 0; c < o->classes; c++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%zu", c);
        if (!(texts[c] = strdup(buf))) {
            st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < o->n; i++) {
        size_t c = i % o->classes;
        rowtext[i] = texts[c];
        for (size_t j = 0; j < o->d; j++)
            d->x[i * o->d + j] =
                (float)(centres[c * o->d + j] + gsl_ran_gaussian_ziggurat(r, o->spread));
    }
    for (size_t j = 0; j < o->d; j++) {
        char buf[32];
        snprintf(buf, sizeof buf, "x%zu", j);
        if (!(d->feature_names[j] = strdup(buf))) {
            st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    if ((st = ds_set_labels(d, rowtext, err)) != MLWB_OK)
        goto out;
    char src[160];
    snprintf(src, sizeof src, "synth blobs n=%zu d=%zu classes=%zu spread=%g seed=%lu", o->n,
             o->d, o->classes, o->spread, o->seed);
    d->label_name = strdup("class");
    d->source = strdup(src);
    if (!d->label_name || !d->source) {
        st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        goto out;
    }
    ds_finish(d);
    *out = d;
    d = NULL;
out:
    if (texts)
        for (size_t c = 0; c < o->classes; c++)
            free(texts[c]);
    free(texts);
    free(rowtext);
    free(centres);
    if (r)
        gsl_rng_free(r);
    ds_release(&d);
    return st;
}
