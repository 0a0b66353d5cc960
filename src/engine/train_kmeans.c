/*
 * train_kmeans.c — `train kmeans` and `tune kmeans`: the k-sweep (or one k), the choice,
 * the model (see engine.h and ksweep.h).
 *
 * Design: the data are z-scored (unless scale=none) with a scaling fitted on all rows,
 * the model keeps it, and the sweep runs in that space.  After every k the curve so far
 * becomes the session's last curve and an EV_CURVE event tells the UI to redraw it.  A
 * fixed k is a sweep of one point, so `train kmeans k=5 seed=S` is exactly the k=5 point
 * of a sweep with seed S.  Clustering has no held-out truth: the scores are over the
 * rows the model was fitted on (the silhouette over the stated sample above 10,000 rows),
 * and the metrics say so ("evaluation": "in-sample").
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_priv.h"
#include "mlwb/core/ksweep.h"

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static const char *choose_name(int c) { return c == KM_CHOOSE_ELBOW ? "elbow" : "silhouette"; }

static json_t *point_json(const km_sweep_point *p, int truth)
{
    json_t *o = json_pack("{si so so so so si sb sf}", "k", p->k, "inertia", num(p->inertia),
                          "silhouette", num(p->silhouette), "calinski_harabasz",
                          num(p->calinski_harabasz), "davies_bouldin", num(p->davies_bouldin),
                          "iterations", p->iterations, "converged", p->converged, "seconds",
                          p->seconds);
    if (truth) {
        json_object_set_new(o, "ari", num(p->ari));
        json_object_set_new(o, "nmi", num(p->nmi));
    }
    return o;
}

/* The k that `choose` picks from the sweep so far, and why (note: "" or a sentence). */
static int chosen_k(const km_sweep_result *r, int choose, char *note, size_t nn)
{
    int s = r->best_silhouette_k, e = r->elbow_k;
    note[0] = 0;
    if (choose == KM_CHOOSE_ELBOW) {
        if (e)
            return e;
        snprintf(note, nn, "no elbow on the inertia curve; used the best silhouette");
        return s ? s : r->kmin;
    }
    if (s)
        return s;
    snprintf(note, nn, "no silhouette could be computed; used %s",
             e ? "the elbow" : "the smallest k");
    return e ? e : r->kmin;
}

static json_t *sweep_json(const km_sweep_result *r, int choose, int scale, int n_init,
                          unsigned long seed, int done)
{
    json_t *pts = json_array();
    for (int i = 0; i < r->done; i++)
        json_array_append_new(pts, point_json(&r->points[i], r->has_truth));
    char note[128];
    int best = r->done ? chosen_k(r, choose, note, sizeof note) : 0;
    json_t *o = json_pack("{ss ss so si si si ss si si si sI sI ss si sI}", "kind", "kmeans",
                          "metric", "silhouette", "points", pts, "best_k", best,
                          "best_silhouette_k", r->best_silhouette_k, "elbow_k", r->elbow_k,
                          "choose", choose_name(choose), "kmin", r->kmin, "kmax", r->kmax,
                          "done_k", r->done, "silhouette_rows", (json_int_t)r->silhouette_rows,
                          "rows", (json_int_t)r->n, "scale", knn_scale_name(scale), "n_init",
                          n_init, "seed", (json_int_t)seed);
    json_object_set_new(o, "silhouette_sampled", json_boolean(r->silhouette_rows < r->n));
    json_object_set_new(o, "done", json_boolean(done));
    return o;
}

typedef struct sweep_ctx {
    engine *e;
    job *j;
    const eng_train_req *req;
    int n_init;
} sweep_ctx;

static int sweep_cancelled(void *ud)
{
    sweep_ctx *c = ud;
    return job_cancelled(c->j);
}

static int sweep_progress(void *ud, const km_sweep_result *sofar, const km_sweep_point *p)
{
    sweep_ctx *c = ud;
    int total = sofar->kmax - sofar->kmin + 1;
    double done = (double)sofar->done / total;
    char phase[64];
    snprintf(phase, sizeof phase, "k=%d (%d/%d)", p->k, sofar->done, total);
    job_set_progress(c->j, 0.05 + 0.85 * done, phase);
    eng_set_last_curve(c->e, sweep_json(sofar, c->req->km.choose, c->req->km.scale, c->n_init,
                                        c->req->seed, 0));
    ev_post(eng_events(c->e), EV_CURVE, job_id(c->j), 0, done, phase);
    return job_cancelled(c->j);
}

mlwb_status eng_run_train_kmeans(job *j, store *st, train_job *t, json_t **result, char **err)
{
    engine *e = t->e;
    const eng_train_req *req = &t->req;
    ds *d = eng_dataset(e);
    if (!d)
        return err_set(err, MLWB_ERR_STATE, "no data loaded: try 'load sample iris'");
    mlwb_status rc = MLWB_OK;
    double t0 = eng_mono();
    size_t n = d->rows, dims = d->cols;
    float *xs = NULL;
    double *mean = NULL, *sd = NULL;
    km_sweep_result sr = {0};
    km_model *km = NULL;
    void *blob = NULL;
    size_t len = 0;
    json_t *cj = NULL, *pj = NULL, *mj = NULL;
    int scaled = req->km.scale == KNN_SCALE_ZSCORE;
    int n_init = req->km.n_init ? req->km.n_init : KM_SWEEP_NINIT;
    int auto_k = req->km.k == 0;

    /* 1. The model's space. */
    const float *x = d->x;
    if (scaled) {
        job_set_progress(j, 0.02, "scaling");
        xs = malloc((n ? n : 1) * dims * sizeof *xs);
        mean = malloc(dims * sizeof *mean);
        sd = malloc(dims * sizeof *sd);
        if (!xs || !mean || !sd) {
            rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
            goto out;
        }
        km_scaling_fit(d->x, n, dims, mean, sd);
        km_scaling_apply(d->x, n, dims, mean, sd, xs);
        x = xs;
    }

    /* 2. The sweep (one point for a fixed k), the curve filling in k by k. */
    if (!auto_k && (size_t)req->km.k > n) {
        rc = err_set(err, MLWB_ERR_INVALID, "k=%d is more than the %zu rows of the data",
                     req->km.k, n);
        goto out;
    }
    km_sweep_opts so = {.kmin = auto_k ? req->km.kmin : req->km.k,
                        .kmax = auto_k ? req->kmax : req->km.k, .n_init = n_init,
                        .max_iter = req->km.max_iter, .tol = req->km.tol, .seed = req->seed,
                        .sample_seed = req->seed,
                        .truth = d->y && d->nclasses > 0 ? d->y : NULL,
                        .cancelled = sweep_cancelled};
    sweep_ctx sc = {e, j, req, n_init};
    if ((rc = km_sweep(x, n, dims, &so, &sr, sweep_progress, &sc, err)) != MLWB_OK) {
        if (rc == MLWB_ERR_INVALID && auto_k)
            err_prefix(err, "kmeans k=auto");
        goto out;
    }
    cj = sweep_json(&sr, req->km.choose, req->km.scale, n_init, req->seed, 1);
    char note[256] = "";
    int k = auto_k ? chosen_k(&sr, req->km.choose, note, sizeof note) : req->km.k;
    const char *why = !auto_k ? "fixed" : note[0] ? "fallback" : choose_name(req->km.choose);
    if (auto_k && sr.best_silhouette_k && sr.elbow_k && sr.best_silhouette_k != sr.elbow_k)
        snprintf(note, sizeof note, "silhouette says k=%d, the elbow says k=%d; used %s",
                 sr.best_silhouette_k, sr.elbow_k, choose_name(req->km.choose));
    int asked_kmax = req->kmax ? req->kmax : KM_SWEEP_KMAX;
    if (auto_k && sr.kmax < asked_kmax) {  /* lowered to n - 1: say so */
        size_t l = strlen(note);
        snprintf(note + l, sizeof note - l, "%skmax=%d lowered to %d (the rows minus one)",
                 l ? "; " : "", asked_kmax, sr.kmax);
    }
    if (note[0])
        json_object_set_new(cj, "note", json_string(note));
    /* shared from here on: not modified again */
    eng_set_last_curve(e, json_incref(cj));
    ev_post(eng_events(e), EV_CURVE, job_id(j), 0, 1, "done");
    if (req->tune_only) {
        *result = json_deep_copy(cj);
        json_object_set_new(*result, "data_version", json_integer(d->version));
        goto out;
    }
    const km_sweep_point *p = km_sweep_at(&sr, k);

    /* 3. The model: the chosen k's centroids, in the scaled space, with the scaling. */
    job_set_progress(j, 0.92, "storing");
    if ((rc = km_model_new(p->centroids, (size_t)k, dims, mean, sd,
                           (const char *const *)d->feature_names, &km, err)) != MLWB_OK ||
        (rc = km_model_serialize(km, &blob, &len, err)) != MLWB_OK)
        goto out;
    json_t *sizes = json_array();
    for (int c = 0; c < k; c++)
        json_array_append_new(sizes, json_integer((json_int_t)p->sizes[c]));
    mj = json_pack("{so so so so so si sb sI sb ss}", "inertia", num(p->inertia), "silhouette",
                   num(p->silhouette), "calinski_harabasz", num(p->calinski_harabasz),
                   "davies_bouldin", num(p->davies_bouldin), "sizes", sizes, "iterations",
                   p->iterations, "converged", p->converged, "silhouette_rows",
                   (json_int_t)sr.silhouette_rows, "silhouette_sampled",
                   sr.silhouette_rows < n, "evaluation", "in-sample");
    if (sr.has_truth) {
        json_object_set_new(mj, "ari", num(p->ari));
        json_object_set_new(mj, "nmi", num(p->nmi));
    }
    json_object_set_new(mj, "feature_stats", eng_feature_stats(d));
    pj = json_pack("{si sb ss si sI}", "k", k, "k_auto", auto_k, "scale",
                   knn_scale_name(req->km.scale), "n_init", n_init, "seed",
                   (json_int_t)req->seed);
    if (auto_k) {
        json_object_set_new(pj, "kmin", json_integer(sr.kmin));
        json_object_set_new(pj, "kmax", json_integer(sr.kmax));
        json_object_set_new(pj, "choose", json_string(choose_name(req->km.choose)));
        json_object_set_new(pj, "chosen_by", json_string(why));
    }
    if (req->km.max_iter)
        json_object_set_new(pj, "max_iter", json_integer(req->km.max_iter));
    if (req->km.tol)
        json_object_set_new(pj, "tol", json_real(req->km.tol));
    double secs = eng_mono() - t0;
    pub_req pr = {.kind = "kmeans", .km = &km, .params = pj, .metrics = mj, .curve = cj, .dataset_version = d->version, .seconds = secs,
                  .blob = blob, .len = len, .score_name = "silhouette",
                  .score = isfinite(p->silhouette) ? p->silhouette : -1};
    if ((rc = eng_store_and_publish(e, j, st, &pr, err)) != MLWB_OK)
        goto out;
    *result = json_pack("{sI ss sb sO sO sI sf}", "version", (json_int_t)pr.version, "kind",
                        "kmeans", "active", pr.activated, "params", pj, "metrics", mj,
                        "dataset_version", (json_int_t)d->version, "train_seconds", secs);
    if (!pr.activated)
        json_object_set_new(*result, "not_activated", json_string(pr.held_back));
    if (auto_k) {
        json_object_set_new(*result, "best_silhouette_k", json_integer(sr.best_silhouette_k));
        json_object_set_new(*result, "elbow_k", json_integer(sr.elbow_k));
        if (note[0])
            json_object_set_new(*result, "note", json_string(note));
    }
out:
    km_sweep_clear(&sr);
    km_model_free(&km);
    json_decref(cj);
    json_decref(pj);
    json_decref(mj);
    free(blob);
    free(xs);
    free(mean);
    free(sd);
    ds_release(&d);
    return rc;
}
