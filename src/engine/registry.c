/*
 * registry.c — the active-model slot (see mlwb/engine/registry.h).
 *
 * Design: the active pointer is read and swapped under a mutex held only for the
 * pointer copy and the reference increment, so acquiring costs one uncontended lock;
 * the old model's reference is dropped after the lock is released.  A model is freed
 * by whoever drops its last reference (the registry or the last reader).
 */
#include "mlwb/engine/registry.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct registry {
    pthread_mutex_t mu;
    mdl *active;
    atomic_llong active_version;
};

static char *dup_or_empty(const char *s, const char *empty)
{
    return strdup(s ? s : empty);
}

mdl *mdl_new(int64_t version, const char *kind, knn_model *knn, const char *params_json,
             const char *metrics_json, int64_t dataset_version, double created)
{
    mdl *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->version = version;
    snprintf(m->kind, sizeof m->kind, "%s", kind);
    m->params_json = dup_or_empty(params_json, "{}");
    m->metrics_json = dup_or_empty(metrics_json, "{}");
    if (!m->params_json || !m->metrics_json) {
        free(m->params_json);
        free(m->metrics_json);
        free(m);
        return NULL;
    }
    m->knn = knn;
    m->dataset_version = dataset_version;
    m->created = created;
    atomic_init(&m->refs, 1);
    return m;
}

size_t mdl_dims(const mdl *m)
{
    return m->knn ? knn_dims(m->knn) : m->km ? km_model_dims(m->km) : 0;
}

const char *mdl_feature_name(const mdl *m, size_t j)
{
    return m->knn ? knn_feature_name(m->knn, j) : m->km ? km_model_feature_name(m->km, j) : "";
}

size_t mdl_far_value(const mdl *m, const float *x, size_t n, char *why, size_t cap)
{
    size_t d = mdl_dims(m);
    bool scaled = m->knn ? knn_model_scale(m->knn) != KNN_SCALE_NONE
                         : m->km && km_model_scaled(m->km);
    for (size_t i = 0; i < n * d; i++) {
        size_t j = i % d;
        double v = x[i], z = fabs(v);
        if (scaled) {
            double mean = m->knn ? knn_scale_mean(m->knn, j) : km_model_scale_mean(m->km, j);
            double sd = m->knn ? knn_scale_sd(m->knn, j) : km_model_scale_sd(m->km, j);
            z = fabs((v - mean) / sd);
        }
        if (z <= MDL_MAX_SCALED)
            continue;
        if (scaled)
            snprintf(why, cap, "%g is too far from the training data (%.3g training sds "
                     "from the mean of '%s'; at most %g)", v, z, mdl_feature_name(m, j),
                     MDL_MAX_SCALED);
        else
            snprintf(why, cap, "%g is too large for the model (at most %g in size)", v,
                     MDL_MAX_SCALED);
        return i;
    }
    return SIZE_MAX;
}

mdl *mdl_retain(mdl *m)
{
    if (m)
        atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return m;
}

void mdl_release(mdl **pm)
{
    mdl *m = *pm;
    *pm = NULL;
    if (!m || atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
        return;
    knn_free(&m->knn);
    km_model_free(&m->km);
    free(m->params_json);
    free(m->metrics_json);
    free(m);
}

registry *reg_new(void)
{
    registry *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    atomic_init(&r->active_version, 0);
    return r;
}

void reg_free(registry **pr)
{
    registry *r = *pr;
    *pr = NULL;
    if (!r)
        return;
    mdl_release(&r->active);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

void reg_publish(registry *r, mdl *m)
{
    pthread_mutex_lock(&r->mu);
    mdl *old = r->active;
    r->active = m;
    atomic_store(&r->active_version, m ? m->version : 0);
    pthread_mutex_unlock(&r->mu);
    mdl_release(&old);
}

mdl *reg_acquire(registry *r)
{
    pthread_mutex_lock(&r->mu);
    mdl *m = mdl_retain(r->active);
    pthread_mutex_unlock(&r->mu);
    return m;
}

int64_t reg_active_version(registry *r)
{
    return atomic_load(&r->active_version);
}
