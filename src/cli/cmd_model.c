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
#include "mlwb/core/num.h"

void cmd_print_model(cmd_ctx *c, json_t *o)
{
    json_t *params = json_object_get(o, "params"), *metrics = json_object_get(o, "metrics");
    json_t *acc = json_object_get(metrics, "accuracy");
    char accs[96] = "";
    const char *how = json_string_value(json_object_get(metrics, "evaluation"));
    if (acc && how && strcmp(how, "holdout") == 0)
        snprintf(accs, sizeof accs, ", accuracy %.4f (holdout of %lld rows)",
                 json_number_value(acc),
                 (long long)json_integer_value(json_object_get(metrics, "test_rows")));
    else if (acc)
        snprintf(accs, sizeof accs, ", accuracy %.4f (%lld-fold CV)", json_number_value(acc),
                 (long long)json_integer_value(json_object_get(metrics, "cv_folds")));
    cmd_result(c, o, "model v%lld: %s k=%lld%s on data v%lld%s",
               (long long)json_integer_value(json_object_get(o, "version")),
               json_string_value(json_object_get(o, "kind")),
               (long long)json_integer_value(json_object_get(params, "k")), accs,
               (long long)json_integer_value(json_object_get(o, "dataset_version")),
               json_is_true(json_object_get(o, "active")) ? ", active" : "");
}

static cmd_status train_exec(cmd_ctx *c, const cmd_args *a)
{
    eng_train_req req = {.knn = {.k = 5}, .folds = 5};
    if (strcmp(a->pos[0], "knn") != 0)
        return cmd_error(c, "unknown model kind '%s' (kinds: knn)", a->pos[0]);
    snprintf(req.kind, sizeof req.kind, "%s", a->pos[0]);
    long k = 5, folds = 5;
    if (cmd_opt_int(c, a, "k", 1, 100000, &k) || cmd_opt_int(c, a, "folds", 2, 1000000, &folds))
        return CMD_ERROR;
    req.knn.k = (int)k;
    req.folds = (int)folds;
    char *err = NULL;
    const char *every = cmd_opt(a, "every");
    if (every) {
        int64_t ms;
        if (cmd_parse_duration(every, &ms) != 0)
            return cmd_error(c, "every=%s: expected a duration like 500ms, 30s, 5m, 1h", every);
        int64_t sid = eng_schedule_train(c->cli->eng, &req, ms, &err);
        if (!sid) {
            cmd_status st = cmd_error(c, "%s", err);
            free(err);
            return st;
        }
        cmd_result(c, json_pack("{sI ss sI}", "schedule", (json_int_t)sid, "every", every,
                                "interval_ms", (json_int_t)ms),
                   "schedule %lld: train every %s (the first run starts now)", (long long)sid,
                   every);
        return CMD_OK;
    }
    int64_t id = eng_submit_train(c->cli->eng, &req, &err);
    if (!id) {
        cmd_status st = cmd_error(c, "%s", err);
        free(err);
        return st;
    }
    return cmd_job_started(c, id);
}

const cmd_entry cmd_train_entry = {
    "train", "train knn [k=N] [folds=N]", "train a model on the current data set and publish it",
    "train knn [k=N] [folds=N]\n"
    "    k-nearest neighbours (Euclidean, majority vote; default k=5).  The accuracy is\n"
    "    measured by stratified N-fold cross-validation (default 5) before the model,\n"
    "    fitted on all rows, is stored as a new version and made active; after\n"
    "    'split holdout=F' the model is fitted on the rest and measured on the held-out\n"
    "    rows instead.  A failed training leaves the active model serving.\n"
    "    every=DURATION retrains on a schedule (see 'schedules').",
    1, 1, "k,folds,every", train_exec};

static json_t *parse_or_empty(const char *s)
{
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    return j ? j : json_object();
}

/* "k=5" / "accuracy=0.9600 cv_folds=5": a JSON object as short key=value text. */
static void kv_text(const char *json, char *out, size_t cap)
{
    json_t *o = json ? json_loads(json, 0, NULL) : NULL;
    const char *key;
    json_t *v;
    size_t n = 0;
    out[0] = 0;
    json_object_foreach(o, key, v) {
        if (n >= cap)
            break;
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

static cmd_status models_exec(cmd_ctx *c, const cmd_args *a)
{
    store_model_info *list = NULL;
    size_t n = 0;
    char *err = NULL;
    if (store_list_models(eng_store(c->cli->eng), &list, &n, &err) != MLWB_OK) {
        cmd_status st = cmd_error(c, "%s", err);
        free(err);
        return st;
    }
    if (!c->json)
        cmd_result(c, NULL, n ? "  version  kind  data  params          metrics"
                              : "no models yet: try 'train knn k=5'");
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_pack("{sI ss sb so so sI sf sf}", "version", (json_int_t)list[i].version,
                              "kind", list[i].kind, "active", list[i].active, "params",
                              parse_or_empty(list[i].params_json), "metrics",
                              parse_or_empty(list[i].metrics_json), "dataset_version",
                              (json_int_t)list[i].dataset_version, "created", list[i].created,
                              "train_seconds", list[i].train_seconds);
        char ptext[256], mtext[512], dv[32];
        kv_text(list[i].params_json, ptext, sizeof ptext);
        kv_text(list[i].metrics_json, mtext, sizeof mtext);
        snprintf(dv, sizeof dv, "v%lld", (long long)list[i].dataset_version);
        cmd_result(c, o, "%s %-8lld %-5s %-5s %-15s %s", list[i].active ? "*" : " ",
                   (long long)list[i].version, list[i].kind, dv, ptext, mtext);
    }
    store_model_list_free(&list, n);
    return CMD_OK;
}

const cmd_entry cmd_models_entry = {
    "models", "models", "list the model versions; * marks the active one",
    "models\n    Every stored model version with its parameters, metrics and the data set\n"
    "    version it was trained on.  * marks the active model.",
    0, 0, NULL, models_exec};

static cmd_status use_exec(cmd_ctx *c, const cmd_args *a)
{
    long v;
    if (strcmp(a->pos[0], "data") == 0) {
        if (a->npos != 2 || cmd_parse_long(a->pos[1], &v) != 0 || v < 1)
            return cmd_error(c, "usage: use data VERSION (a number from 'datasets')");
        char *err = NULL;
        if (eng_use_data(c->cli->eng, v, &err) != MLWB_OK) {
            cmd_status st = cmd_error(c, "%s", err);
            free(err);
            return st;
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
        cmd_status st = cmd_error(c, "%s", err);
        free(err);
        return st;
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
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    mdl *m = reg_acquire(eng_registry(c->cli->eng));
    if (!m)
        return cmd_error(c, "no active model: try 'train knn k=5'");
    cmd_status st = CMD_OK;
    size_t dims = knn_dims(m->knn);
    float *x = NULL;
    if ((size_t)a->npos != dims) {
        st = cmd_error(c, "model v%lld expects %zu features, got %d", (long long)m->version,
                       dims, a->npos);
        goto out;
    }
    x = malloc(dims * sizeof *x);
    json_t *in = json_array();
    for (size_t j = 0; x && j < dims; j++) {
        char *end;
        double v = strtod(a->pos[j], &end);
        if (*end || end == a->pos[j] || !isfinite(v) || fabs(v) > FLT_MAX) {
            json_decref(in);
            st = cmd_error(c, "argument %zu ('%s'): not a finite number", j + 1, a->pos[j]);
            goto out;
        }
        x[j] = (float)v;
        json_array_append_new(in, json_real(num_f32(x[j])));
    }
    if (!x) {
        json_decref(in);
        st = cmd_error(c, "out of memory");
        goto out;
    }
    int32_t label;
    float conf;
    knn_predict(m->knn, x, &label, &conf);
    const char *name = knn_class_name(m->knn, (size_t)label);
    json_t *res = json_pack("{ss sf}", "label", name, "confidence", num_f32(conf));
    char *in_s = json_dumps(in, JSON_COMPACT | JSON_REAL_PRECISION(15));
    char *res_s = json_dumps(res, JSON_COMPACT | JSON_REAL_PRECISION(15));
    int64_t id = eng_log_prediction(c->cli->eng, m->version, in_s, res_s, ms_since(&t0),
                                    c->origin ? c->origin : "prompt");
    free(in_s);
    free(res_s);
    json_decref(in);
    json_t *o = json_object();
    if (id > 0)  /* 0: the log was full and the prediction was not logged */
        json_object_set_new(o, "id", json_integer(id));
    json_object_set_new(o, "label", json_string(name));
    json_object_set_new(o, "confidence", json_real(num_f32(conf)));
    json_object_set_new(o, "model_version", json_integer(m->version));
    json_decref(res);
    cmd_result(c, o, "%s  (confidence %.2f, model v%lld, id %lld)", name, (double)conf,
               (long long)m->version, (long long)id);
out:
    free(x);
    mdl_release(&m);
    return st;
}

const cmd_entry cmd_predict_entry = {
    "predict", "predict X1 X2 ...", "predict the class of one row with the active model",
    "predict X1 X2 ...\n    Classify one row of features with the active model.  Prints the\n"
    "    label and its confidence (the share of the k neighbours' votes).  Every\n"
    "    prediction is logged in the store with an id, the model version and the input.",
    1, -1, NULL, predict_exec};
