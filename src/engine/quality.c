/*
 * quality.c — feedback, online quality and input drift (see engine.h).
 *
 * Design:
 *  - Feedback goes straight to the store on the caller's thread (its own connection,
 *    eng_thread_store).  A prediction still waiting in the prediction log's queue is not
 *    in the store yet: an unknown id first flushes the log (up to a second) and asks
 *    again, so "predict, then feedback at once" works.
 *  - Online accuracy per model version: the share of feedback labels equal to the
 *    predicted label, with a Wilson 95% interval.
 *  - Drift: the mean of each feature over the newest DRIFT_WINDOW requests of the active
 *    model against the mean and sd of the rows it was trained on (the "feature_stats"
 *    its training stored in its metrics), in training sds.
 *  - Alerts are computed by eng_quality_tick, called every few seconds by the engine's
 *    checkpoint thread while predictions are logged (never on a request, and not on the
 *    log's writer, which must keep up with the requests); it reads only the active
 *    version's feedback and newest inputs; an alert is logged when it starts
 *    (EV_LOG), its state is kept for /metrics and the TUI, and with on-drift=retrain a
 *    drift alert queues one training with the last training's parameters.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_priv.h"

#define DRIFT_WINDOW 500      /* requests the drift is measured over */
#define DRIFT_MIN 30          /* fewer requests than this: no drift figure */
#define ACCURACY_MIN 20       /* fewer feedback labels than this: no accuracy alert */
#define AUTO_MARGIN 0.10      /* alert-accuracy=auto: the offline accuracy minus this */

struct eng_quality_state {
    pthread_mutex_t mu;
    double alert_accuracy;    /* < 0: auto */
    double alert_drift;       /* in training sds */
    int on_drift;             /* ON_DRIFT_* */
    double min_confidence;    /* 0: never abstain */
    eng_alert_state now;      /* the last tick's figures */
};

eng_quality_state *eng_quality_new(void)
{
    eng_quality_state *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    pthread_mutex_init(&q->mu, NULL);
    q->alert_accuracy = -1;
    q->alert_drift = 0.5;
    q->on_drift = ON_DRIFT_ALERT;
    q->now.online_accuracy = NAN;
    q->now.max_drift = NAN;
    return q;
}

void eng_quality_free(eng_quality_state **pq)
{
    eng_quality_state *q = *pq;
    *pq = NULL;
    if (!q)
        return;
    pthread_mutex_destroy(&q->mu);
    free(q);
}

void eng_set_quality_alerts(engine *e, double alert_accuracy, double alert_drift, int on_drift)
{
    eng_quality_state *q = eng_quality_of(e);
    pthread_mutex_lock(&q->mu);
    q->alert_accuracy = alert_accuracy;
    q->alert_drift = alert_drift;
    q->on_drift = on_drift;
    pthread_mutex_unlock(&q->mu);
}

void eng_get_quality_alerts(engine *e, double *alert_accuracy, double *alert_drift,
                            int *on_drift)
{
    eng_quality_state *q = eng_quality_of(e);
    pthread_mutex_lock(&q->mu);
    *alert_accuracy = q->alert_accuracy;
    *alert_drift = q->alert_drift;
    *on_drift = q->on_drift;
    pthread_mutex_unlock(&q->mu);
}

void eng_set_min_confidence(engine *e, double p)
{
    eng_quality_state *q = eng_quality_of(e);
    pthread_mutex_lock(&q->mu);
    q->min_confidence = p;
    pthread_mutex_unlock(&q->mu);
}

double eng_get_min_confidence(engine *e)
{
    eng_quality_state *q = eng_quality_of(e);
    pthread_mutex_lock(&q->mu);
    double p = q->min_confidence;
    pthread_mutex_unlock(&q->mu);
    return p;
}

void eng_alert_state_get(engine *e, eng_alert_state *out)
{
    eng_quality_state *q = eng_quality_of(e);
    pthread_mutex_lock(&q->mu);
    *out = q->now;
    pthread_mutex_unlock(&q->mu);
}

/* --- feedback ------------------------------------------------------------------------ */

mlwb_status eng_feedback(engine *e, int64_t id, const char *label, int *outcome,
                         int64_t *model_version, char **previous, char **err)
{
    store *st = eng_thread_store(e, err);
    if (!st)
        return MLWB_ERR_STORE;
    mlwb_status rc = store_put_feedback(st, id, label, outcome, model_version, previous, err);
    if (rc == MLWB_OK && *outcome == STORE_FB_UNKNOWN && eng_plog_flush(e, 1.0))
        rc = store_put_feedback(st, id, label, outcome, model_version, previous, err);
    return rc;
}

/* --- the figures --------------------------------------------------------------------- */

/* Wilson score interval (95%) of c successes in n. */
static void wilson(int64_t c, int64_t n, double *lo, double *hi)
{
    const double z = 1.959963984540054;
    double p = (double)c / (double)n, nn = (double)n;
    double den = 1 + z * z / nn;
    double mid = (p + z * z / (2 * nn)) / den;
    double half = z * sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / den;
    *lo = fmax(0, mid - half);
    *hi = fmin(1, mid + half);
}

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* The drift of model m (its metrics' feature_stats) over the newest requests: a new
 * object, or NULL when the model has no stats.  *max_shift gets the largest shift. */
static json_t *drift_json(store *st, const mdl *m, double *max_shift, char **err)
{
    *max_shift = NAN;
    json_t *metrics = json_loads(m->metrics_json ? m->metrics_json : "{}", 0, NULL);
    json_t *stats = json_object_get(metrics, "feature_stats");
    size_t d = json_array_size(stats);
    if (!d) {
        json_decref(metrics);
        return NULL;
    }
    char **inputs = NULL;
    size_t n = 0;
    if (store_recent_inputs(st, m->version, DRIFT_WINDOW, &inputs, &n, err) != MLWB_OK) {
        json_decref(metrics);
        return NULL;
    }
    double *sum = calloc(d, sizeof *sum);
    size_t used = 0;
    for (size_t i = 0; sum && i < n; i++) {
        json_t *row = json_loads(inputs[i], 0, NULL);
        if (json_array_size(row) == d) {
            for (size_t j = 0; j < d; j++)
                sum[j] += json_number_value(json_array_get(row, j));
            used++;
        }
        json_decref(row);
        free(inputs[i]);
    }
    for (size_t i = used; i < n; i++)  /* after an allocation failure */
        if (!sum)
            free(inputs[i]);
    free(inputs);
    json_t *feats = json_array();
    double worst = -1;
    const char *worst_name = NULL;
    for (size_t j = 0; sum && j < d; j++) {
        json_t *fs = json_array_get(stats, j);
        double mean = json_number_value(json_object_get(fs, "mean"));
        double sd = json_number_value(json_object_get(fs, "sd"));
        const char *name = json_string_value(json_object_get(fs, "name"));
        double recent = used ? sum[j] / (double)used : NAN;
        double shift = NAN;
        if (used >= DRIFT_MIN)
            shift = sd > 0 ? fabs(recent - mean) / sd : recent == mean ? 0 : INFINITY;
        json_t *f = json_pack("{ss so so so so}", "name", name ? name : "", "train_mean",
                              num(mean), "train_sd", num(sd), "recent_mean", num(recent),
                              "shift_sd", num(shift));
        json_array_append_new(feats, f);
        if (!isnan(shift) && shift > worst) {
            worst = shift;
            worst_name = name;
        }
    }
    free(sum);
    json_t *o = json_pack("{sI si si so}", "model_version", (json_int_t)m->version, "window",
                          DRIFT_WINDOW, "requests", (int)used, "features", feats);
    json_object_set_new(o, "enough", json_boolean(used >= DRIFT_MIN));
    if (worst >= 0) {
        json_object_set_new(o, "max_shift_sd", num(worst));
        json_object_set_new(o, "max_feature", json_string(worst_name ? worst_name : ""));
        *max_shift = worst;
    }
    json_decref(metrics);
    return o;
}

/* The accuracy threshold for model m: the setting, or its offline accuracy minus the
 * margin (auto); NaN when there is none (a model without an accuracy). */
static double threshold_for(double setting, const char *metrics_json)
{
    if (setting >= 0)
        return setting;
    json_t *m = json_loads(metrics_json ? metrics_json : "{}", 0, NULL);
    json_t *a = json_object_get(m, "accuracy");
    double t = json_is_number(a) ? json_number_value(a) - AUTO_MARGIN : NAN;
    json_decref(m);
    return t;
}

/* The report and the alert figures for the active model, from store connection st.
 * The alert check (active_only) reads the active version's row alone: every version's
 * feedback is a pass over the whole feedback table. */
static json_t *quality_report(engine *e, store *st, int active_only, eng_alert_state *al,
                              char **err)
{
    store_quality_row *rows = NULL;
    size_t n = 0;
    store_model_info *models = NULL;
    size_t nm = 0;
    int64_t av = reg_active_version(eng_registry(e));
    if (active_only && av <= 0) {
        *al = (eng_alert_state){.online_accuracy = NAN, .max_drift = NAN};
        return json_pack("{s[] sI sn s[]}", "versions", "active_version", (json_int_t)0, "drift",
                         "alerts");
    }
    if (store_quality(st, active_only ? av : 0, &rows, &n, err) != MLWB_OK)
        return NULL;
    if (store_list_models(st, &models, &nm, err) != MLWB_OK) {
        free(rows);
        return NULL;
    }
    double set_acc, set_drift;
    int on_drift;
    eng_get_quality_alerts(e, &set_acc, &set_drift, &on_drift);
    mdl *active = reg_acquire(eng_registry(e));
    *al = (eng_alert_state){.model_version = active ? active->version : 0,
                            .online_accuracy = NAN, .max_drift = NAN};
    json_t *versions = json_array(), *alerts = json_array();
    for (size_t i = 0; i < n; i++) {
        const store_quality_row *r = &rows[i];
        const store_model_info *mi = NULL;
        for (size_t k = 0; k < nm; k++)
            if (models[k].version == r->model_version)
                mi = &models[k];
        int knn = mi && strcmp(mi->kind, "knn") == 0;
        int64_t judged = r->feedback - r->abstained;
        json_t *v = json_pack("{sI ss sb sI sI sI sI}", "version", (json_int_t)r->model_version,
                              "kind", mi ? mi->kind : "?", "active",
                              active && active->version == r->model_version, "predictions",
                              (json_int_t)r->predictions, "feedback", (json_int_t)r->feedback,
                              "correct", (json_int_t)r->correct, "abstained",
                              (json_int_t)r->abstained);
        double acc = NAN;
        if (knn && judged > 0) {
            double lo, hi;
            acc = (double)r->correct / (double)judged;
            wilson(r->correct, judged, &lo, &hi);
            json_object_set_new(v, "accuracy", json_real(acc));
            json_object_set_new(v, "ci95", json_pack("[ff]", lo, hi));
        } else {
            json_object_set_new(v, "accuracy", json_null());
        }
        if (mi) {
            json_t *mm = json_loads(mi->metrics_json ? mi->metrics_json : "{}", 0, NULL);
            json_t *oa = json_object_get(mm, "accuracy");
            json_object_set_new(v, "offline_accuracy", json_is_number(oa) ? json_copy(oa)
                                                                           : json_null());
            json_decref(mm);
        }
        if (r->last_feedback > 0)
            json_object_set_new(v, "last_feedback", json_real(r->last_feedback));
        json_array_append_new(versions, v);
        if (active && active->version == r->model_version) {
            al->feedback = judged;
            al->online_accuracy = acc;
            double t = threshold_for(set_acc, mi ? mi->metrics_json : NULL);
            al->accuracy_threshold = t;
            if (knn && judged >= ACCURACY_MIN && isfinite(t) && acc < t) {
                al->accuracy_alert = 1;
                json_array_append_new(
                    alerts, json_sprintf("online accuracy %.4f of model v%lld over %lld "
                                         "feedback labels is below %.4f", acc,
                                         (long long)r->model_version, (long long)judged, t));
            }
        }
    }
    json_t *drift = NULL;
    if (active) {
        double worst;
        char *derr = NULL;
        drift = drift_json(st, active, &worst, &derr);
        free(derr);
        al->max_drift = worst;
        if (drift && isfinite(set_drift) && !isnan(worst) && worst > set_drift) {
            al->drift_alert = 1;
            char how[64];   /* a feature constant in training moves infinitely many sds */
            if (isinf(worst))
                snprintf(how, sizeof how, "moved off its constant training value");
            else
                snprintf(how, sizeof how, worst < 1e6 ? "moved %.2f training sds"
                                                      : "moved %.3g training sds", worst);
            json_array_append_new(
                alerts, json_sprintf("input drift: %s %s over the last %lld requests of "
                                     "model v%lld (alert above %.2f)",
                                     json_string_value(json_object_get(drift, "max_feature")),
                                     how,
                                     (long long)json_integer_value(json_object_get(drift, "requests")),
                                     (long long)active->version, set_drift));
        }
    }
    static const char *const on_names[] = {"off", "alert", "retrain"};
    json_t *o = json_pack("{so sI so so}", "versions", versions, "active_version",
                          (json_int_t)(active ? active->version : 0), "drift",
                          drift ? drift : json_null(), "alerts", alerts);
    json_object_set_new(o, "thresholds",
                        json_pack("{so sf ss sf}", "alert_accuracy",
                                  set_acc >= 0 ? json_real(set_acc) : json_string("auto"),
                                  "alert_drift", set_drift, "on_drift",
                                  on_names[on_drift >= 0 && on_drift <= 2 ? on_drift : 1],
                                  "min_confidence", eng_get_min_confidence(e)));
    mdl_release(&active);
    free(rows);
    store_model_list_free(&models, nm);
    return o;
}

json_t *eng_quality(engine *e, char **err)
{
    store *st = eng_thread_store(e, err);
    if (!st)
        return NULL;
    eng_plog_flush(e, 1.0);  /* what was predicted so far counts */
    eng_alert_state al;
    return quality_report(e, st, 0, &al, err);
}

void eng_quality_tick(engine *e, store *st)
{
    eng_alert_state al;
    char *err = NULL;
    json_t *rep = quality_report(e, st, 1, &al, &err);
    free(err);
    if (!rep)
        return;
    eng_quality_state *q = eng_quality_of(e);
    pthread_mutex_lock(&q->mu);
    eng_alert_state before = q->now;
    int on_drift = q->on_drift;
    q->now = al;
    pthread_mutex_unlock(&q->mu);
    /* log an alert when it starts (or when the active model changed), not every tick */
    int same_model = before.model_version == al.model_version;
    json_t *alerts = json_object_get(rep, "alerts");
    size_t i;
    json_t *a;
    json_array_foreach(alerts, i, a) {
        const char *text = json_string_value(a);
        int is_drift = strncmp(text, "input drift", 11) == 0;
        if (same_model && (is_drift ? before.drift_alert : before.accuracy_alert))
            continue;
        if (is_drift && on_drift == ON_DRIFT_OFF)
            continue;
        ev_postf(eng_events(e), EV_LOG, 0, 0, "alert: %s", text);
        if (is_drift && on_drift == ON_DRIFT_RETRAIN)
            eng_retrain_last(e, "input drift");
    }
    json_decref(rep);
}
