/*
 * cmd_model.c — the model commands: train, models, use, predict.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <float.h>

#include "cmd_int.h"
#include "mlwb/core/ksweep.h"
#include "mlwb/core/num.h"

/* " 0.1234" or " -" for a metric that may be null. */
static const char *fmt_num(char *buf, size_t n, json_t *v, int general)
{
    if (json_is_number(v) && general)
        snprintf(buf, n, "%.6g", json_number_value(v));
    else if (json_is_number(v))
        snprintf(buf, n, "%.4f", json_number_value(v));
    else
        snprintf(buf, n, "-");
    return buf;
}

/* A one-line (two with a note) summary of a k-means training result. */
static void print_kmeans_model(cmd_ctx *c, json_t *o)
{
    json_t *p = json_object_get(o, "params"), *m = json_object_get(o, "metrics");
    char sil[32], in[32], ch[32], db[32], ext[96] = "", how[96] = "", active[320] = "";
    if (json_is_true(json_object_get(p, "k_auto")))
        snprintf(how, sizeof how, "auto by %s of k=%lld..%lld, ",
                 json_string_value(json_object_get(p, "chosen_by")),
                 (long long)json_integer_value(json_object_get(p, "kmin")),
                 (long long)json_integer_value(json_object_get(p, "kmax")));
    if (json_object_get(m, "ari")) {
        char a[32], n[32];
        snprintf(ext, sizeof ext, ", vs labels ARI %s NMI %s",
                 fmt_num(a, sizeof a, json_object_get(m, "ari"), 0),
                 fmt_num(n, sizeof n, json_object_get(m, "nmi"), 0));
    }
    const char *held = json_string_value(json_object_get(o, "not_activated"));
    if (held)
        snprintf(active, sizeof active, "; kept but not active: %s (promote=if-better)", held);
    else if (json_is_true(json_object_get(o, "active")))
        snprintf(active, sizeof active, ", active");
    const char *note = json_string_value(json_object_get(o, "note"));
    cmd_result(c, o, "model v%lld: kmeans k=%lld (%s%s), silhouette %s%s, inertia %s, CH %s, "
               "DB %s%s on data v%lld%s%s%s",
               (long long)json_integer_value(json_object_get(o, "version")),
               (long long)json_integer_value(json_object_get(p, "k")), how,
               json_string_value(json_object_get(p, "scale")),
               fmt_num(sil, sizeof sil, json_object_get(m, "silhouette"), 0),
               json_is_true(json_object_get(m, "silhouette_sampled")) ? " (sampled)" : "",
               fmt_num(in, sizeof in, json_object_get(m, "inertia"), 1),
               fmt_num(ch, sizeof ch, json_object_get(m, "calinski_harabasz"), 1),
               fmt_num(db, sizeof db, json_object_get(m, "davies_bouldin"), 0), ext,
               (long long)json_integer_value(json_object_get(o, "dataset_version")), active,
               note ? "\n  note: " : "", note ? note : "");
}

void cmd_print_model(cmd_ctx *c, json_t *o)
{
    const char *kind = json_string_value(json_object_get(o, "kind"));
    if (kind && strcmp(kind, "kmeans") == 0) {
        print_kmeans_model(c, o);
        return;
    }
    json_t *params = json_object_get(o, "params"), *metrics = json_object_get(o, "metrics");
    json_t *acc = json_object_get(metrics, "accuracy");
    char accs[200] = "", how[96] = "";
    const char *evl = json_string_value(json_object_get(metrics, "evaluation"));
    if (evl && strcmp(evl, "holdout") == 0)
        snprintf(how, sizeof how, "holdout of %lld rows",
                 (long long)json_integer_value(json_object_get(metrics, "test_rows")));
    else if (evl && strcmp(evl, "loo") == 0)
        snprintf(how, sizeof how, "leave-one-out");
    else if (evl)
        snprintf(how, sizeof how, "%lld-fold CV",
                 (long long)json_integer_value(json_object_get(metrics, "cv_folds")));
    if (json_is_true(json_object_get(metrics, "k_chosen_on_same_folds")))
        strncat(how, ", k chosen on the same folds", sizeof how - strlen(how) - 1);
    if (acc && json_object_get(metrics, "macro_f1"))
        snprintf(accs, sizeof accs, ", accuracy %.4f, macro-F1 %.4f (%s)", json_number_value(acc),
                 json_number_value(json_object_get(metrics, "macro_f1")), how);
    else if (acc)
        snprintf(accs, sizeof accs, ", accuracy %.4f (%s)", json_number_value(acc), how);
    const char *dist = json_string_value(json_object_get(params, "distance"));
    const char *scale = json_string_value(json_object_get(params, "scale"));
    char extra[96] = "";
    if (dist && scale)
        snprintf(extra, sizeof extra, " (%s%s, %s, %s)",
                 json_is_true(json_object_get(params, "k_auto")) ? "auto, " : "", dist,
                 json_string_value(json_object_get(params, "weights")), scale);
    const char *held = json_string_value(json_object_get(o, "not_activated"));
    char active[320] = "";
    if (held)
        snprintf(active, sizeof active, "; kept but not active: %s (promote=if-better)", held);
    else if (json_is_true(json_object_get(o, "active")))
        snprintf(active, sizeof active, ", active");
    cmd_result(c, o, "model v%lld: %s k=%lld%s%s on data v%lld%s",
               (long long)json_integer_value(json_object_get(o, "version")),
               json_string_value(json_object_get(o, "kind")),
               (long long)json_integer_value(json_object_get(params, "k")), extra, accs,
               (long long)json_integer_value(json_object_get(o, "dataset_version")), active);
}

/* train/tune kmeans: k=N|auto kmin kmax n_init max_iter tol seed choose scale. */
static cmd_status parse_train_kmeans(cmd_ctx *c, const cmd_args *a, eng_train_req *req,
                                     int tune)
{
    static const char *const knn_only[] = {"folds", "weights", "distance", NULL};
    for (int i = 0; knn_only[i]; i++)
        if (cmd_opt(a, knn_only[i]))
            return cmd_error(c, "%s= is a knn option, not a kmeans one", knn_only[i]);
    snprintf(req->kind, sizeof req->kind, "kmeans");
    req->tune_only = tune;
    req->km.scale = KNN_SCALE_ZSCORE;
    const char *ks = cmd_opt(a, "k");
    if (ks && strcmp(ks, "auto") != 0) {
        long k;
        if (cmd_parse_long(ks, &k) != 0 || k < 1 || k > 100000)
            return cmd_error(c, "k=%s: expected auto or an integer from 1 to 100000", ks);
        req->km.k = (int)k;
    }  /* no k=: the sweep chooses (k=auto) */
    long kmin = 0, kmax = 0, seed = 0, n_init = 0, max_iter = 0;
    if (cmd_opt_int(c, a, "kmin", 2, 100000, &kmin) || cmd_opt_int(c, a, "kmax", 2, 100000, &kmax) ||
        cmd_opt_int(c, a, "seed", 0, 4294967295L, &seed) ||
        cmd_opt_int(c, a, "n_init", 1, 1000, &n_init) ||
        cmd_opt_int(c, a, "max_iter", 1, 1000000, &max_iter))
        return CMD_ERROR;
    if ((kmin || kmax) && req->km.k)
        return cmd_error(c, "kmin= and kmax= go with k=auto (the sweep's range)");
    int lo = kmin ? (int)kmin : KM_SWEEP_KMIN, hi = kmax ? (int)kmax : KM_SWEEP_KMAX;
    if (!req->km.k && hi < lo)
        return cmd_error(c, "kmax=%d%s is below kmin=%d", hi, kmax ? "" : " (the default)", lo);
    req->km.kmin = (int)kmin;
    req->kmax = (int)kmax;
    req->seed = (unsigned long)seed;
    req->km.n_init = (int)n_init;
    req->km.max_iter = (int)max_iter;
    const char *tol = cmd_opt(a, "tol");
    if (tol) {
        char *end;
        double t = strtod(tol, &end);
        if (*end || end == tol || !isfinite(t) || t < 0 || t > 1)
            return cmd_error(c, "tol=%s: expected a number from 0 to 1", tol);
        req->km.tol = t > 0 ? t : -1;  /* 0: stop only when no label changes */
    }
    const char *ch = cmd_opt(a, "choose"), *sc = cmd_opt(a, "scale");
    if (ch && strcmp(ch, "silhouette") == 0)
        req->km.choose = KM_CHOOSE_SILHOUETTE;
    else if (ch && strcmp(ch, "elbow") == 0)
        req->km.choose = KM_CHOOSE_ELBOW;
    else if (ch)
        return cmd_error(c, "choose=%s: expected silhouette or elbow", ch);
    if (ch && req->km.k)
        return cmd_error(c, "choose= goes with k=auto");
    if (sc && knn_scale_parse(sc, &req->km.scale) != 0)
        return cmd_error(c, "scale=%s: expected zscore or none", sc);
    return CMD_OK;
}

/* The options shared by train and tune into req. */
static cmd_status parse_train(cmd_ctx *c, const cmd_args *a, eng_train_req *req, int tune)
{
    *req = (eng_train_req){.knn = {.k = tune ? 0 : 5, .scale = KNN_SCALE_ZSCORE}};
    if (strcmp(a->pos[0], "kmeans") == 0)
        return parse_train_kmeans(c, a, req, tune);
    if (strcmp(a->pos[0], "knn") != 0)
        return cmd_error(c, "unknown model kind '%s' (kinds: knn, kmeans)", a->pos[0]);
    static const char *const km_only[] = {"kmin", "n_init", "max_iter", "tol", "choose", NULL};
    for (int i = 0; km_only[i]; i++)
        if (cmd_opt(a, km_only[i]))
            return cmd_error(c, "%s= is a kmeans option, not a knn one", km_only[i]);
    snprintf(req->kind, sizeof req->kind, "%s", a->pos[0]);
    req->tune_only = tune;
    const char *ks = cmd_opt(a, "k");
    if (ks && strcmp(ks, "auto") == 0) {
        req->knn.k = 0;
    } else if (ks) {
        long k;
        if (cmd_parse_long(ks, &k) != 0 || k < 1 || k > 100000)
            return cmd_error(c, "k=%s: expected auto or an integer from 1 to 100000", ks);
        req->knn.k = (int)k;
    }
    long kmax = 0, seed = 0;
    if (cmd_opt_int(c, a, "kmax", 1, 100000, &kmax) || cmd_opt_int(c, a, "seed", 0, 4294967295L, &seed))
        return CMD_ERROR;
    if (kmax && req->knn.k)
        return cmd_error(c, "kmax= goes with k=auto (the curve's largest k)");
    req->kmax = (int)kmax;
    req->seed = (unsigned long)seed;
    const char *folds = cmd_opt(a, "folds");
    if (folds && strcmp(folds, "loo") == 0) {
        req->loo = 1;
    } else if (folds) {
        long f;
        if (cmd_parse_long(folds, &f) != 0 || f < 2 || f > 1000000)
            return cmd_error(c, "folds=%s: expected loo or an integer from 2 up", folds);
        req->folds = (int)f;
    }
    const char *w = cmd_opt(a, "weights"), *sc = cmd_opt(a, "scale"), *m = cmd_opt(a, "distance");
    if (w && knn_weights_parse(w, &req->knn.weights) != 0)
        return cmd_error(c, "weights=%s: expected uniform or distance", w);
    if (sc && knn_scale_parse(sc, &req->knn.scale) != 0)
        return cmd_error(c, "scale=%s: expected zscore or none", sc);
    if (m && knn_metric_parse(m, &req->knn.metric) != 0)
        return cmd_error(c, "distance=%s: expected euclidean, manhattan or cosine", m);
    if (req->loo && req->knn.scale == KNN_SCALE_ZSCORE)
        return cmd_error(c, "folds=loo needs scale=none (leave-one-out would fit the scaling "
                            "on the held-out row)");
    return CMD_OK;
}

static cmd_status train_exec(cmd_ctx *c, const cmd_args *a)
{
    eng_train_req req;
    if (parse_train(c, a, &req, 0))
        return CMD_ERROR;
    char *err = NULL;
    const char *every = cmd_opt(a, "every");
    if (every) {
        int64_t ms;
        if (cmd_parse_duration(every, &ms) != 0)
            return cmd_error(c, "every=%s: expected a duration like 500ms, 30s, 5m, 1h", every);
        int64_t first = 0;
        int64_t sid = eng_schedule_train(c->cli->eng, &req, ms, &first, &err);
        if (!sid) {
            return cmd_fail(c, err);
        }
        cmd_result(c, json_pack("{sI ss sI}", "schedule", (json_int_t)sid, "every", every,
                                "interval_ms", (json_int_t)ms),
                   "schedule %lld: train every %s when the data changed (the first run starts "
                   "now)", (long long)sid, every);
        /* the first run is a job like any other: a script waits for it */
        return first ? cmd_job_started(c, first) : CMD_OK;
    }
    int64_t id = eng_submit_train(c->cli->eng, &req, &err);
    return cmd_job_or_error(c, id, err);
}

#define TRAIN_OPTS "k,kmax,folds,seed,weights,scale,distance,kmin,n_init,max_iter,tol,choose"

const cmd_entry cmd_train_entry = {
    "train",
    "train knn [k=N|auto] [kmax=50] [folds=N|loo] [weights=uniform|distance] "
    "[scale=zscore|none] [distance=euclidean|manhattan|cosine] [seed=S] [every=DURATION] | "
    "train kmeans [k=N|auto] [kmin=2] [kmax=12] [n_init=3] [choose=silhouette|elbow] "
    "[scale=zscore|none] [seed=S] [max_iter=300] [tol=1e-4] [every=DURATION]",
    "train a model on the current data set and publish it",
    "train knn [k=N|auto] [kmax=50] [folds=N|loo] [weights=uniform|distance]\n"
    "          [scale=zscore|none] [distance=euclidean|manhattan|cosine] [seed=S]\n"
    "    k-nearest neighbours (default k=5, Euclidean, uniform votes, features z-scored\n"
    "    on the training rows).  k=auto computes the cross-validated accuracy for every\n"
    "    k = 1..kmax from ONE neighbour search per row (see 'tune') and takes the best\n"
    "    (ties: the smaller k).  The model is measured honestly: on the held-out rows\n"
    "    after 'split holdout=F' (the model is fitted on the rest), otherwise by\n"
    "    stratified cross-validation (folds=N, default 5, or folds=loo with scale=none)\n"
    "    of the same settings: accuracy, balanced accuracy, macro-F1, per-class\n"
    "    precision and recall, the confusion matrix ('eval').  The model is stored as a\n"
    "    new version with its curve and made active.  A failed training leaves the\n"
    "    active model serving.  every=DURATION retrains on a schedule when the current\n"
    "    data set has changed (see 'schedules').\n"
    "train kmeans [k=N|auto] [kmin=2] [kmax=12] [n_init=3] [choose=silhouette|elbow]\n"
    "          [scale=zscore|none] [seed=S] [max_iter=300] [tol=1e-4]\n"
    "    k-means clustering (k-means++ start, Lloyd's iterations with Hamerly's bounds,\n"
    "    the best of n_init starts).  Without k= (or k=auto) it sweeps k = kmin..kmax\n"
    "    and scores each k: inertia, silhouette (exact up to 10,000 rows, else on a\n"
    "    seeded sample of 10,000), Calinski-Harabasz, Davies-Bouldin, and ARI and NMI\n"
    "    against the labels when the data set has them; the curve fills in k by k.  It\n"
    "    takes the best-silhouette k, or with choose=elbow the elbow of the inertia\n"
    "    curve (kneedle), and says so when the two disagree.  Features are z-scored\n"
    "    unless scale=none.  predict answers the cluster and the distance to its\n"
    "    centroid.",
    1, 1, TRAIN_OPTS ",every", train_exec};

static cmd_status tune_exec(cmd_ctx *c, const cmd_args *a)
{
    eng_train_req req;
    if (parse_train(c, a, &req, 1))
        return CMD_ERROR;
    if (req.knn.k || req.km.k)
        return cmd_error(c, "tune computes the curve for every k; use kmax=N, not k=");
    char *err = NULL;
    int64_t id = eng_submit_train(c->cli->eng, &req, &err);
    return cmd_job_or_error(c, id, err);
}

const cmd_entry cmd_tune_entry = {
    "tune",
    "tune knn [kmax=50] [folds=N|loo] [weights=uniform|distance] [scale=zscore|none] "
    "[distance=euclidean|manhattan|cosine] [seed=S] | tune kmeans [kmin=2] [kmax=12] "
    "[n_init=3] [choose=silhouette|elbow] [scale=zscore|none] [seed=S] [max_iter=300] [tol=1e-4]",
    "compute the k-curve (accuracy, or k-means scores, for every k) without publishing a model",
    "tune knn [kmax=50] [folds=N|loo] [weights=...] [scale=...] [distance=...] [seed=S]\n"
    "    The cross-validated accuracy (mean and sd over the folds) for every k = 1..kmax,\n"
    "    from one neighbour search per held-out row: each row's kmax nearest neighbours\n"
    "    are found once, and the vote for every k is read off that list.  Prints the best\n"
    "    k (highest mean; ties: the smaller k) and the smallest k within one standard\n"
    "    error of it, a table and a chart; 'curve' shows it again.  Folds are stratified\n"
    "    and shuffled with seed=S.\n"
    "tune kmeans [kmin=2] [kmax=12] [n_init=3] [choose=...] [scale=...] [seed=S]\n"
    "          [max_iter=300] [tol=1e-4]\n"
    "    The k-means sweep of 'train kmeans' without publishing a model: per k the\n"
    "    inertia, silhouette, Calinski-Harabasz, Davies-Bouldin (and ARI, NMI against\n"
    "    labels), the best-silhouette k and the elbow k, a table and two charts.",
    1, 1, TRAIN_OPTS, tune_exec};

/* Append a chart (title line, then the chart) to text at *o. */
static void append_chart(char **text, size_t *cap, size_t *o, const char *title, char *chart)
{
    if (!chart)
        return;
    size_t need = *o + strlen(title) + strlen(chart) + 4;
    if (need > *cap) {
        char *t = realloc(*text, need);
        if (!t) {
            free(chart);
            return;
        }
        *text = t;
        *cap = need;
    }
    *o += (size_t)snprintf(*text + *o, *cap - *o, "%s\n%s", title, chart);
    free(chart);
}

/* The k-means sweep: a table of every score per k, the two choices, two charts. */
static void print_kmeans_curve(cmd_ctx *c, json_t *curve)
{
    json_t *pts = json_object_get(curve, "points");
    size_t n = json_array_size(pts);
    size_t cap = 1536 + n * 128, o = 0;
    char *text = malloc(cap);
    if (!text) {
        cmd_result(c, curve, "out of memory");
        return;
    }
    int sil = (int)json_integer_value(json_object_get(curve, "best_silhouette_k"));
    int elbow = (int)json_integer_value(json_object_get(curve, "elbow_k"));
    int best = (int)json_integer_value(json_object_get(curve, "best_k"));
    long long rows = (long long)json_integer_value(json_object_get(curve, "rows"));
    long long srows = (long long)json_integer_value(json_object_get(curve, "silhouette_rows"));
    int truth = n && json_object_get(json_array_get(pts, 0), "ari");
    char srow[96], el[32];
    if (srows < rows)
        snprintf(srow, sizeof srow, "a seeded sample of %lld of %lld rows (seed %lld)", srows,
                 rows, (long long)json_integer_value(json_object_get(curve, "seed")));
    else
        snprintf(srow, sizeof srow, "all %lld rows", rows);
    char sl[32];
    if (elbow)
        snprintf(el, sizeof el, "k=%d", elbow);
    else
        snprintf(el, sizeof el, "none");
    if (sil)
        snprintf(sl, sizeof sl, "k=%d", sil);
    else
        snprintf(sl, sizeof sl, "none");
    o += (size_t)snprintf(text + o, cap - o,
                          "k-sweep k=%lld..%lld (%s, n_init %lld; silhouette over %s)%s\n"
                          "best silhouette: %s; elbow of the inertia: %s; choose=%s gives k=%d\n",
                          (long long)json_integer_value(json_object_get(curve, "kmin")),
                          (long long)json_integer_value(json_object_get(curve, "kmax")),
                          json_string_value(json_object_get(curve, "scale")),
                          (long long)json_integer_value(json_object_get(curve, "n_init")), srow,
                          json_is_true(json_object_get(curve, "done")) ? "" : " (running)", sl,
                          el, json_string_value(json_object_get(curve, "choose")), best);
    const char *note = json_string_value(json_object_get(curve, "note"));
    if (note)
        o += (size_t)snprintf(text + o, cap - o, "note: %s\n", note);
    o += (size_t)snprintf(text + o, cap - o, "    k        inertia  silhouette     CH          DB%s\n",
                          truth ? "       ARI     NMI" : "");
    for (size_t i = 0; i < n && o < cap; i++) {
        json_t *p = json_array_get(pts, i);
        int k = (int)json_integer_value(json_object_get(p, "k"));
        char a[32], b[32], cc[32], d[32], e1[32], f[32], mark[48] = "";
        if (k == sil || k == elbow)
            snprintf(mark, sizeof mark, "  <- %s%s%s", k == sil ? "silhouette" : "",
                     k == sil && k == elbow ? ", " : "", k == elbow ? "elbow" : "");
        o += (size_t)snprintf(text + o, cap - o, "  %3d  %13s  %10s  %10s  %10s", k,
                              fmt_num(a, sizeof a, json_object_get(p, "inertia"), 1),
                              fmt_num(b, sizeof b, json_object_get(p, "silhouette"), 0),
                              fmt_num(cc, sizeof cc, json_object_get(p, "calinski_harabasz"), 1),
                              fmt_num(d, sizeof d, json_object_get(p, "davies_bouldin"), 0));
        if (truth && o < cap)
            o += (size_t)snprintf(text + o, cap - o, "  %8s  %6s",
                                  fmt_num(e1, sizeof e1, json_object_get(p, "ari"), 0),
                                  fmt_num(f, sizeof f, json_object_get(p, "nmi"), 0));
        if (o < cap)
            o += (size_t)snprintf(text + o, cap - o, "%s\n", mark);
    }
    if (o >= cap)
        o = cap - 1;
    if (!c->json && n > 1) {
        append_chart(&text, &cap, &o, "silhouette (o: best)",
                     cmd_chart(curve, "silhouette", NULL, sil, 0));
        append_chart(&text, &cap, &o, "inertia (o: elbow)",
                     cmd_chart(curve, "inertia", NULL, elbow, 0));
    }
    while (o > 0 && text[o - 1] == '\n')
        text[--o] = 0;
    cmd_result(c, curve, "%s", text);
    free(text);
}

/* The curve as a table and a chart (plain) or its JSON. */
void cmd_print_curve(cmd_ctx *c, json_t *curve)
{
    const char *kind = json_string_value(json_object_get(curve, "kind"));
    if (kind && strcmp(kind, "kmeans") == 0) {
        print_kmeans_curve(c, curve);
        return;
    }
    json_t *pts = json_object_get(curve, "points");
    size_t n = json_array_size(pts);
    size_t cap = 512 + n * 48;
    char *text = malloc(cap);
    char *chart = c->json ? NULL : cmd_chart_curve(curve);
    if (!text) {
        free(chart);
        cmd_result(c, curve, "out of memory");
        return;
    }
    int best = (int)json_integer_value(json_object_get(curve, "best_k"));
    int k1se = (int)json_integer_value(json_object_get(curve, "k_1se"));
    int loo = json_is_true(json_object_get(curve, "loo"));
    size_t o = (size_t)snprintf(
        text, cap, "k-curve (%s, %s, %s, %s): best k=%d, smallest k within 1 SE: %d\n",
        loo ? "leave-one-out" : "stratified CV",
        json_string_value(json_object_get(curve, "distance")),
        json_string_value(json_object_get(curve, "weights")),
        json_string_value(json_object_get(curve, "scale")), best, k1se);
    o += (size_t)snprintf(text + o, cap - o, "    k   accuracy       sd       se\n");
    for (size_t i = 0; i < n && o < cap; i++) {
        json_t *p = json_array_get(pts, i);
        int k = (int)json_integer_value(json_object_get(p, "k"));
        o += (size_t)snprintf(text + o, cap - o, "  %3d   %.4f   %.4f   %.4f%s\n", k,
                              json_number_value(json_object_get(p, "mean")),
                              json_number_value(json_object_get(p, "sd")),
                              json_number_value(json_object_get(p, "se")),
                              k == best ? "  <- best" : k == k1se ? "  <- within 1 SE" : "");
    }
    if (o > 0 && o < cap && text[o - 1] == '\n')
        text[o - 1] = 0;
    size_t cl = chart ? strlen(chart) : 0;
    while (cl > 0 && chart[cl - 1] == '\n')
        chart[--cl] = 0;
    if (chart)
        cmd_result(c, curve, "%s\n%s", text, chart);
    else
        cmd_result(c, curve, "%s", text);
    free(text);
    free(chart);
}

static cmd_status curve_exec(cmd_ctx *c, const cmd_args *a)
{
    json_t *cv = eng_last_curve(c->cli->eng);
    if (!cv) {  /* nothing this session: the active model's curve */
        int64_t v = reg_active_version(eng_registry(c->cli->eng));
        store_model_info info = {0};
        if (v > 0 && store_get_model(eng_store(c->cli->eng), v, &info, NULL, NULL, NULL) == MLWB_OK &&
            info.curve_json)
            cv = json_loads(info.curve_json, 0, NULL);
        store_model_info_clear(&info);
    }
    if (!cv)
        return cmd_error(c, "no curve yet: try 'tune knn', 'train knn k=auto' or 'tune kmeans'");
    cmd_print_curve(c, cv);
    return CMD_OK;
}

const cmd_entry cmd_curve_entry = {
    "curve", "curve", "show the last tuning curve (table and chart)",
    "curve\n    The last k-curve of this session (from 'tune' or 'train'; while one runs,\n"
    "    the folds or the k done so far), else the active model's: for KNN the accuracy\n"
    "    for every k as a table and an ASCII chart ('*' mean, ':' mean +/- one standard\n"
    "    error, 'o' the best k); for k-means every score per k and charts of the\n"
    "    silhouette and the inertia ('o' the best silhouette and the elbow).",
    0, 0, NULL, curve_exec};

static json_t *parse_or_empty(const char *s)
{
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    return j ? j : json_object();
}

/* "k=5" / "accuracy=0.9600 cv_folds=5": a JSON object as short key=value text. */
static void kv_text(const char *json, char *out, size_t cap, const char *const *keys)
{
    json_t *o = json ? json_loads(json, 0, NULL) : NULL;
    const char *key;
    json_t *v;
    size_t n = 0;
    out[0] = 0;
    json_object_foreach(o, key, v) {
        if (n >= cap)
            break;
        int wanted = !keys;
        for (size_t i = 0; keys && keys[i]; i++)
            wanted |= strcmp(keys[i], key) == 0;
        if (!wanted)
            continue;
        int w;
        if (json_is_integer(v))
            w = snprintf(out + n, cap - n, "%s%s=%lld", n ? " " : "", key,
                         (long long)json_integer_value(v));
        else if (json_is_real(v))
            w = snprintf(out + n, cap - n, "%s%s=%.4f", n ? " " : "", key, json_real_value(v));
        else if (json_is_string(v))
            w = snprintf(out + n, cap - n, "%s%s=%s", n ? " " : "", key, json_string_value(v));
        else
            w = 0;
        if (w > 0)
            n += (size_t)w;
    }
    json_decref(o);
}

/* models diff A B: parameters and metrics side by side, with B - A for the numbers. */
static cmd_status models_diff(cmd_ctx *c, const char *sa, const char *sb)
{
    long va, vb;
    if (cmd_parse_long(sa, &va) != 0 || va < 1 || cmd_parse_long(sb, &vb) != 0 || vb < 1)
        return cmd_error(c, "usage: models diff VERSION VERSION");
    store_model_info ia = {0}, ib = {0};
    char *err = NULL;
    if (store_get_model(eng_store(c->cli->eng), va, &ia, NULL, NULL, &err) != MLWB_OK ||
        store_get_model(eng_store(c->cli->eng), vb, &ib, NULL, NULL, &err) != MLWB_OK) {
        store_model_info_clear(&ia);
        return cmd_fail(c, err);
    }
    json_t *pa = parse_or_empty(ia.params_json), *pb = parse_or_empty(ib.params_json);
    json_t *ma = parse_or_empty(ia.metrics_json), *mb = parse_or_empty(ib.metrics_json);
    json_t *rows = json_array();
    char text[4096];
    size_t o = (size_t)snprintf(text, sizeof text, "  %-20s %16s %16s %10s\n", "",
                                sa, sb, "change");
    o += (size_t)snprintf(text + o, sizeof text - o, "  %-20s %16s %16s\n", "kind", ia.kind,
                          ib.kind);
    char da[32], db[32];
    snprintf(da, sizeof da, "v%lld", (long long)ia.dataset_version);
    snprintf(db, sizeof db, "v%lld", (long long)ib.dataset_version);
    o += (size_t)snprintf(text + o, sizeof text - o, "  %-20s %16s %16s\n", "data", da, db);
    static const char *const pkeys[] = {"k", "distance", "weights", "scale", NULL};
    static const char *const mkeys[] = {"accuracy", "balanced_accuracy", "macro_f1",
                                        "inertia", "silhouette", "calinski_harabasz",
                                        "davies_bouldin", "ari", "nmi", "evaluation", NULL};
    for (int part = 0; part < 2; part++) {
        const char *const *keys = part ? mkeys : pkeys;
        json_t *xa = part ? ma : pa, *xb = part ? mb : pb;
        for (size_t i = 0; keys[i] && o < sizeof text; i++) {
            json_t *a1 = json_object_get(xa, keys[i]), *b1 = json_object_get(xb, keys[i]);
            if (!a1 && !b1)  /* a metric of neither model's kind */
                continue;
            char s1[64] = "-", s2[64] = "-", d[32] = "";
            if (json_is_number(a1))
                snprintf(s1, sizeof s1, json_is_integer(a1) ? "%.0f" : "%.4f", json_number_value(a1));
            else if (json_is_string(a1))
                snprintf(s1, sizeof s1, "%s", json_string_value(a1));
            if (json_is_number(b1))
                snprintf(s2, sizeof s2, json_is_integer(b1) ? "%.0f" : "%.4f", json_number_value(b1));
            else if (json_is_string(b1))
                snprintf(s2, sizeof s2, "%s", json_string_value(b1));
            json_t *row = json_pack("{ss sO* sO*}", "name", keys[i], "a", a1, "b", b1);
            if (json_is_number(a1) && json_is_number(b1)) {
                double ch = json_number_value(b1) - json_number_value(a1);
                snprintf(d, sizeof d, "%+.4g", ch);
                json_object_set_new(row, "change", json_real(ch));
            }
            json_array_append_new(rows, row);
            o += (size_t)snprintf(text + o, sizeof text - o, "  %-20s %16s %16s %10s\n", keys[i],
                                  s1, s2, d);
        }
    }
    if (o > 0 && o < sizeof text && text[o - 1] == '\n')
        text[o - 1] = 0;
    cmd_result(c, json_pack("{sI sI ss ss sI sI so}", "a", (json_int_t)va, "b", (json_int_t)vb,
                            "kind_a", ia.kind, "kind_b", ib.kind, "data_a",
                            (json_int_t)ia.dataset_version, "data_b",
                            (json_int_t)ib.dataset_version, "rows", rows),
               "%s", text);
    json_decref(pa);
    json_decref(pb);
    json_decref(ma);
    json_decref(mb);
    store_model_info_clear(&ia);
    store_model_info_clear(&ib);
    return CMD_OK;
}

static cmd_status models_exec(cmd_ctx *c, const cmd_args *a)
{
    if (a->npos == 3 && strcmp(a->pos[0], "diff") == 0)
        return models_diff(c, a->pos[1], a->pos[2]);
    if (a->npos)
        return cmd_error(c, "usage: models | models diff VERSION VERSION");
    store_model_info *list = NULL;
    size_t n = 0;
    char *err = NULL;
    if (store_list_models(eng_store(c->cli->eng), &list, &n, &err) != MLWB_OK) {
        return cmd_fail(c, err);
    }
    if (!c->json)
        cmd_result(c, NULL, n ? "  version  kind    data  params                                               metrics"
                              : "no models yet: try 'train knn k=5'");
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_pack("{sI ss sb so so sI sf sf}", "version", (json_int_t)list[i].version,
                              "kind", list[i].kind, "active", list[i].active, "params",
                              parse_or_empty(list[i].params_json), "metrics",
                              parse_or_empty(list[i].metrics_json), "dataset_version",
                              (json_int_t)list[i].dataset_version, "created", list[i].created,
                              "train_seconds", list[i].train_seconds);
        char ptext[256], mtext[512], dv[32];
        static const char *const pkeys[] = {"k", "distance", "weights", "scale", NULL};
        static const char *const mkeys[] = {"accuracy", "macro_f1", "silhouette", "inertia",
                                            "evaluation", NULL};
        kv_text(list[i].params_json, ptext, sizeof ptext, pkeys);
        kv_text(list[i].metrics_json, mtext, sizeof mtext, mkeys);
        snprintf(dv, sizeof dv, "v%lld", (long long)list[i].dataset_version);
        cmd_result(c, o, "%s %-8lld %-7s %-5s %-52s %s", list[i].active ? "*" : " ",
                   (long long)list[i].version, list[i].kind, dv, ptext, mtext);
    }
    store_model_list_free(&list, n);
    return CMD_OK;
}

const cmd_entry cmd_models_entry = {
    "models", "models | models diff A B", "list the model versions; * marks the active one",
    "models\n    Every stored model version with its parameters, metrics and the data set\n"
    "    version it was trained on.  * marks the active model.\n"
    "models diff A B\n    Two versions side by side: data, parameters, metrics, and B - A.",
    0, 3, NULL, models_exec};

static cmd_status use_exec(cmd_ctx *c, const cmd_args *a)
{
    long v;
    if (strcmp(a->pos[0], "data") == 0) {
        if (a->npos != 2 || cmd_parse_long(a->pos[1], &v) != 0 || v < 1)
            return cmd_error(c, "usage: use data VERSION (a number from 'datasets')");
        char *err = NULL;
        if (eng_use_data(c->cli->eng, v, &err) != MLWB_OK) {
            return cmd_fail(c, err);
        }
        ds *d = eng_dataset(c->cli->eng);
        json_t *o = eng_dataset_json(d);
        json_object_set_new(o, "current", json_true());
        cmd_result(c, o, "data v%ld is now current: %zu rows x %zu columns (%s)", v, d->rows,
                   d->cols, d->source ? d->source : "");
        ds_release(&d);
        return CMD_OK;
    }
    if (a->npos != 1)
        return cmd_error(c, "usage: use VERSION | use data VERSION");
    if (cmd_parse_long(a->pos[0], &v) != 0 || v < 1)
        return cmd_error(c, "'%s' is not a model version (a number from 'models')", a->pos[0]);
    char *err = NULL;
    if (eng_use_model(c->cli->eng, v, &err) != MLWB_OK) {
        return cmd_fail(c, err);
    }
    cmd_result(c, json_pack("{sI sb}", "version", (json_int_t)v, "active", 1),
               "model v%ld is now active", v);
    return CMD_OK;
}

const cmd_entry cmd_use_entry = {
    "use", "use VERSION | use data VERSION",
    "make a stored model (or data set) version current: rollback",
    "use VERSION\n    Make model VERSION the active model, for the prompt and the HTTP\n"
    "    listener alike (requests in flight finish on the model they started with).\n"
    "use data VERSION\n    Make stored data set VERSION the current one (training uses it).",
    1, 2, NULL, use_exec};

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static cmd_status predict_exec(cmd_ctx *c, const cmd_args *a)
{
    const char *file = cmd_opt(a, "file");
    if (file) {
        if (a->npos)
            return cmd_error(c, "give either features or file=, not both");
        return cmd_predict_file(c, a, file);
    }
    if (cmd_opt(a, "out"))
        return cmd_error(c, "out= goes with file=");
    if (!a->npos)
        return cmd_error(c, "missing arguments; usage: predict X1 X2 ... | predict file=PATH [out=PATH]");
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    mdl *m = reg_acquire(eng_registry(c->cli->eng));
    if (!m)
        return cmd_error(c, "no active model: try 'train knn k=5'");
    cmd_status st = CMD_OK;
    size_t dims = mdl_dims(m);
    float *x = malloc(dims * sizeof *x);
    if (!x) {
        st = cmd_error(c, "out of memory");
        goto out;
    }
    if ((st = cmd_parse_row(c, a, m, x)) != CMD_OK)
        goto out;
    json_t *in = json_array();
    for (size_t j = 0; j < dims; j++)
        json_array_append_new(in, json_real(num_f32(x[j])));
    json_t *res, *o = json_object();
    char what[256];
    if (m->km) {  /* k-means: the nearest centroid and the distance to it */
        int32_t cl;
        double dist;
        km_model_predict(m->km, x, &cl, &dist);
        res = json_pack("{si sf}", "cluster", cl, "distance", dist);
        snprintf(what, sizeof what, "cluster %d  (distance %.4g", cl, dist);
    } else {
        int32_t label;
        float conf;
        knn_predict(m->knn, x, &label, &conf);
        const char *name = knn_class_name(m->knn, (size_t)label);
        double minc = eng_get_min_confidence(c->cli->eng);
        if (minc > 0 && conf < minc) {  /* set min-confidence: no guess */
            res = json_pack("{sn sf sb}", "label", "confidence", num_f32(conf), "abstained", 1);
            snprintf(what, sizeof what, "no label: confidence %.2f is below min-confidence %g "
                     "(best guess %s", (double)conf, minc, name);
        } else {
            res = json_pack("{ss sf}", "label", name, "confidence", num_f32(conf));
            snprintf(what, sizeof what, "%s  (confidence %.2f", name, (double)conf);
        }
    }
    char *in_s = json_dumps(in, JSON_COMPACT | JSON_REAL_PRECISION(15));
    char *res_s = json_dumps(res, JSON_COMPACT | JSON_REAL_PRECISION(15));
    int64_t id = eng_log_prediction(c->cli->eng, m->version, in_s, res_s, ms_since(&t0),
                                    c->origin ? c->origin : "prompt");
    free(in_s);
    free(res_s);
    json_decref(in);
    if (id > 0)  /* 0: the log was full and the prediction was not logged */
        json_object_set_new(o, "id", json_integer(id));
    json_object_update(o, res);
    json_object_set_new(o, "model_version", json_integer(m->version));
    json_decref(res);
    char idtext[32] = "";
    if (id > 0)
        snprintf(idtext, sizeof idtext, ", id %lld", (long long)id);
    cmd_result(c, o, "%s, model v%lld%s)", what, (long long)m->version, idtext);
out:
    free(x);
    mdl_release(&m);
    return st;
}

const cmd_entry cmd_predict_entry = {
    "predict", "predict X1 X2 ... | predict file=PATH [out=PATH]",
    "predict with the active model: one row, or a CSV file in batch",
    "predict X1 X2 ...\n    Classify one row of features with the active model.  Prints the\n"
    "    label and its confidence (the share of the k neighbours' votes, or of their\n"
    "    weight with weights=distance).  Every such prediction is logged in the store\n"
    "    with an id, the model version and the input.  A value more than 1e15 training\n"
    "    sds from its feature's mean is refused (the distances would overflow).\n"
    "predict file=PATH [out=PATH]\n"
    "    Classify every row of a CSV file (header row; the model's features are found by\n"
    "    name, else by position; a text label column is taken as the truth and gives an\n"
    "    accuracy).  With out=, writes the rows with their label and confidence as CSV;\n"
    "    else prints one line per row.  Batch predictions are not logged one by one.",
    0, -1, "file,out", predict_exec};
