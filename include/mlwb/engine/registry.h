/*
 * registry.h — the model registry: which immutable model is active right now.
 *
 * A model (`mdl`) is built completely, then published: publishing swaps the active
 * pointer under a short lock, so a reader sees either the old model or the new one,
 * never a half-built one.  Readers (the prompt's predict, HTTP threads) take a
 * reference with reg_acquire and drop it with mdl_release; a model is freed when the
 * registry and the last reader have let it go, so a request in flight finishes on the
 * model it started with.
 *
 * Thread-safety: every function may be called from any thread.
 */
#ifndef MLWB_ENGINE_REGISTRY_H
#define MLWB_ENGINE_REGISTRY_H

#include <stdatomic.h>
#include <stdint.h>

#include "mlwb/core/kmodel.h"
#include "mlwb/core/knn.h"

typedef struct mdl {
    int64_t version;
    char kind[16];          /* "knn" or "kmeans" */
    knn_model *knn;         /* owned; kind "knn" */
    km_model *km;           /* owned; kind "kmeans" (set after mdl_new, before sharing) */
    char *params_json;      /* owned */
    char *metrics_json;     /* owned */
    int64_t dataset_version;
    double created;
    atomic_long refs;
} mdl;

/* The model's input: the number of features and their names (either kind). */
size_t mdl_dims(const mdl *m);
const char *mdl_feature_name(const mdl *m, size_t j);

/* How far a value may lie from the training data: MDL_MAX_SCALED training sds from the
 * feature's mean when the model scales, else that much in size.  Beyond, the float
 * distances overflow to inf: the neighbours or the nearest centroid are arbitrary, and
 * the answer is not even JSON. */
#define MDL_MAX_SCALED 1e15
/* The first of the n rows of x (mdl_dims(m) each) past that bound: its flat index, and
 * why in `why` ("2e+38 is too far from the training data (...)"); SIZE_MAX when none. */
size_t mdl_far_value(const mdl *m, const float *x, size_t n, char *why, size_t cap);

/* A new model taking ownership of knn and copies of the strings; one reference. */
mdl *mdl_new(int64_t version, const char *kind, knn_model *knn, const char *params_json,
             const char *metrics_json, int64_t dataset_version, double created);
mdl *mdl_retain(mdl *m);
void mdl_release(mdl **m);

typedef struct registry registry;

registry *reg_new(void);
void reg_free(registry **r);

/* Make m the active model (consumes the caller's reference). */
void reg_publish(registry *r, mdl *m);
/* The active model with a new reference, or NULL when none is active. */
mdl *reg_acquire(registry *r);
/* The active version, 0 when none (cheap; no reference taken). */
int64_t reg_active_version(registry *r);

#endif
