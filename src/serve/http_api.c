/*
 * http_api.c — the listener's routes around prediction: models, feedback, quality,
 * Prometheus metrics, and the API's own description (see docs/http-api.md).
 *
 * Design: the store is read and written on the answering thread's own connection
 * (eng_thread_store: one per libmicrohttpd pool thread, opened on first use), never on
 * the UI's.  Feedback and quality go through the engine (eng_feedback, eng_quality),
 * which also flushes the prediction log first so a prediction answered a moment ago is
 * found.  /metrics is built from atomics and one cheap engine snapshot.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"
#include "mlwb/core/text.h"
#include "mlwb/serve/http_docs.h"

/* The active model's input description: features, and classes or clusters. */
static void describe_input(json_t *mo, const mdl *m)
{
    json_t *feat = json_array();
    for (size_t j = 0; j < mdl_dims(m); j++)
        json_array_append_new(feat, http_str_json(mdl_feature_name(m, j)));
    json_object_set_new(mo, "features", feat);
    if (m->knn) {
        json_t *cls = json_array();
        for (size_t k = 0; k < knn_nclasses(m->knn); k++)
            json_array_append_new(cls, http_str_json(knn_class_name(m->knn, k)));
        json_object_set_new(mo, "classes", cls);
    } else if (m->km) {
        json_object_set_new(mo, "clusters", json_integer((json_int_t)km_model_k(m->km)));
    }
}

static json_t *model_json(const store_model_info *mi, int64_t active)
{
    return json_pack("{sI ss sb so so sI sf sf}", "version", (json_int_t)mi->version, "kind",
                     mi->kind, "active", mi->version == active, "params",
                     http_json_or_null(mi->params_json), "metrics",
                     http_json_or_null(mi->metrics_json), "dataset_version",
                     (json_int_t)mi->dataset_version, "created", mi->created, "train_seconds",
                     mi->train_seconds);
}

enum MHD_Result h_models(struct call *c)
{
    char *err = NULL;
    store *st = eng_thread_store(c->s->eng, &err);
    store_model_info *list = NULL;
    size_t n = 0;
    if (!st || store_list_models(st, &list, &n, &err) != MLWB_OK) {
        enum MHD_Result q = http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s",
                                             err ? err : "store unavailable");
        free(err);
        return q;
    }
    mdl *m = reg_acquire(c->s->reg);
    int64_t active = m ? m->version : 0;
    json_t *arr = json_array(), *one = json_null();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, model_json(&list[i], active));
    if (m) {  /* the active model as it serves (it may be newer than this listing) */
        one = json_pack("{sI ss sb so so sI sf}", "version", (json_int_t)m->version, "kind",
                        m->kind, "active", 1, "params", http_json_or_null(m->params_json),
                        "metrics", http_json_or_null(m->metrics_json), "dataset_version",
                        (json_int_t)m->dataset_version, "created", m->created);
        describe_input(one, m);
    }
    json_t *o = json_pack("{so so so}", "active", active ? json_integer(active) : json_null(),
                          "model", one, "models", arr);
    mdl_release(&m);
    store_model_list_free(&list, n);
    return http_reply_json(c, MHD_HTTP_OK, o);
}

/* A model version in a path: 1 to 19 decimal digits, no sign, no leading zero, at most
 * INT64_MAX; else 0.  ("+1", "01", "1x", "-3", "1e3", 20 digits: not versions.) */
static int64_t path_version(const char *s)
{
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n > 19 || s[n] != '\0' || s[0] == '0')
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');   /* 19 digits: < 10^19 < 2^64 */
    return v > (uint64_t)INT64_MAX ? 0 : (int64_t)v;
}

enum MHD_Result h_model_one(struct call *c)
{
    int64_t v = path_version(c->arg);
    if (v == 0) {
        size_t n = strlen(c->arg);
        return http_reply_error(c, MHD_HTTP_NOT_FOUND,
                                "'%.40s%s' is not a model version (1 to 19 digits, no sign "
                                "or leading zero: a number from /v1/models)",
                                c->arg, n > 40 ? "..." : "");
    }
    char *err = NULL;
    store *st = eng_thread_store(c->s->eng, &err);
    store_model_info mi = {0};
    if (!st) {
        enum MHD_Result q = http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err);
        free(err);
        return q;
    }
    if (store_get_model(st, v, &mi, NULL, NULL, &err) != MLWB_OK) {
        enum MHD_Result q = http_reply_error(c, MHD_HTTP_NOT_FOUND,
                                             "no model version %" PRId64, v);
        free(err);
        return q;
    }
    mdl *m = reg_acquire(c->s->reg);
    json_t *o = model_json(&mi, m ? m->version : 0);
    json_object_set_new(o, "curve", http_json_or_null(mi.curve_json));
    if (m && m->version == v)
        describe_input(o, m);
    mdl_release(&m);
    store_model_info_clear(&mi);
    return http_reply_json(c, MHD_HTTP_OK, o);
}

bool http_parse_feedback(const char *body, size_t len, struct feedback_req *r, struct perr *pe)
{
    if (!body || !len)
        return http_fail(pe, MHD_HTTP_BAD_REQUEST,
                         "the request body is empty: expected {\"id\": N, \"label\": \"...\"}");
    json_error_t je;
    if (http_body_nul(body, len, pe))
        return false;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return http_fail(pe, MHD_HTTP_BAD_REQUEST, "invalid JSON at line %d, column %d: %s",
                         je.line, je.column, http_json_why(&je));
    bool ok = false;
    json_t *id = json_object_get(doc, "id"), *label = json_object_get(doc, "label");
    const char *ls = json_string_value(label);
    if (!json_is_object(doc))
        http_fail(pe, MHD_HTTP_BAD_REQUEST,
                  "expected a JSON object {\"id\": N, \"label\": \"...\"}, got %s",
                  http_json_kind(doc));
    else if (!json_is_integer(id) || json_integer_value(id) < 1) {
        char got[48];
        if (json_is_number(id))   /* say which number: -3, 0, 1.5 */
            snprintf(got, sizeof got, "%.17g", json_number_value(id));
        else
            snprintf(got, sizeof got, "%s", id ? http_json_kind(id) : "nothing");
        http_fail(pe, MHD_HTTP_BAD_REQUEST,
                  "field 'id': expected a prediction id (a positive integer), got %s", got);
    } else if (!ls || !*ls || strlen(ls) >= sizeof r->label) {
        char got[48];
        if (ls)
            snprintf(got, sizeof got, *ls ? "a string of %zu bytes" : "an empty string",
                     strlen(ls));
        else
            snprintf(got, sizeof got, "%s", label ? http_json_kind(label) : "nothing");
        http_fail(pe, MHD_HTTP_BAD_REQUEST,
                  "field 'label': expected a string of 1 to 200 bytes, got %s", got);
    }
    else {
        r->id = json_integer_value(id);
        memcpy(r->label, ls, strlen(ls) + 1);
        ok = true;
    }
    json_decref(doc);
    return ok;
}

enum MHD_Result h_feedback(struct call *c)
{
    struct feedback_req r;
    struct perr pe;
    if (!http_parse_feedback(c->body, c->len, &r, &pe))
        return http_reply_error(c, pe.status, "%s", pe.msg);
    enum MHD_Result q;
    int outcome;
    int64_t mv;
    char *prev = NULL, *err = NULL;
    json_int_t pid = r.id;
    const char *ls = r.label;
    if (eng_feedback(c->s->eng, pid, ls, &outcome, &mv, &prev, &err) != MLWB_OK) {
        q = http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err ? err : "store");
    } else if (outcome == STORE_FB_UNKNOWN) {
        q = http_reply_error(c, MHD_HTTP_NOT_FOUND, "no prediction %" JSON_INTEGER_FORMAT
                             " in the log", pid);
    } else if (outcome == STORE_FB_CONFLICT) {
        q = http_reply_error(c, MHD_HTTP_CONFLICT,
                             "prediction %" JSON_INTEGER_FORMAT " already has the label "
                             "'%.100s'; feedback is given once", pid, prev ? prev : "?");
    } else {
        if (outcome == STORE_FB_NEW)
            atomic_fetch_add_explicit(&c->s->feedback, 1, memory_order_relaxed);
        q = http_reply_json(c, MHD_HTTP_OK,
                            json_pack("{sI ss sI sb}", "id", pid, "label", ls,
                                      "model_version", (json_int_t)mv, "new",
                                      outcome == STORE_FB_NEW));
    }
    free(prev);
    free(err);
    return q;
}

enum MHD_Result h_quality(struct call *c)
{
    char *err = NULL;
    json_t *q = eng_quality(c->s->eng, &err);
    if (!q) {
        enum MHD_Result r = http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s",
                                             err ? err : "store unavailable");
        free(err);
        return r;
    }
    return http_reply_json(c, MHD_HTTP_OK, q);
}

/* --- /metrics: Prometheus text format 0.0.4 ------------------------------------------ */

static const char *const route_names[RT_COUNT] = {
    "/v1/predict", "/predict", "/v1/feedback", "/v1/models", "/v1/quality",
    "/healthz", "/metrics", "/docs", "/v2", "other"};
static const char *const code_names[SC_COUNT] = {"200", "400", "401", "404", "405",
                                                 "409", "413", "500", "503", "other"};

static void gauge(sb *b, const char *name, const char *help, double v)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    if (isnan(v))
        sb_printf(b, "%s NaN\n", name);
    else if (isinf(v))   /* the exposition format's spelling, as in the buckets' +Inf */
        sb_printf(b, "%s %s\n", name, v > 0 ? "+Inf" : "-Inf");
    else
        sb_printf(b, "%s %.17g\n", name, v);
}

enum MHD_Result h_metrics(struct call *c)
{
    http_server *s = c->s;
    sb b;
    sb_init(&b);
    sb_puts(&b, "# HELP mlwb_http_requests_total HTTP requests answered, by route and status.\n"
                "# TYPE mlwb_http_requests_total counter\n");
    for (int r = 0; r < RT_COUNT; r++)
        for (int k = 0; k < SC_COUNT; k++) {
            uint64_t v = atomic_load_explicit(&s->by_route[r][k], memory_order_relaxed);
            if (v)
                sb_printf(&b, "mlwb_http_requests_total{route=\"%s\",code=\"%s\"} %" PRIu64 "\n",
                          route_names[r], code_names[k], v);
        }
    http_stats st;
    http_get_stats(s, &st);
    sb_puts(&b, "# HELP mlwb_http_request_duration_seconds Time to answer a request, in the "
                "server (from the handler call that answers to the response queued).\n"
                "# TYPE mlwb_http_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    double sum = 0;
    for (int i = 0; i < HTTP_LAT_BUCKETS; i++) {
        cum += st.latency[i];
        /* the sum is estimated from the buckets' midpoints (only counts are kept) */
        double lo = i ? ldexp(1.0, i - 1) : 0, hi = ldexp(1.0, i);
        sum += (double)st.latency[i] * (lo + hi) / 2 * 1e-6;
        if (i < HTTP_LAT_BUCKETS - 1 && i >= 4 && i <= 25)  /* 16 µs .. 33 s */
            sb_printf(&b, "mlwb_http_request_duration_seconds_bucket{le=\"%.9g\"} %" PRIu64 "\n",
                      http_latency_bound(i), cum);
    }
    sb_printf(&b, "mlwb_http_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", cum);
    sb_printf(&b, "mlwb_http_request_duration_seconds_sum %.9g\n", sum);
    sb_printf(&b, "mlwb_http_request_duration_seconds_count %" PRIu64 "\n", cum);
    sb_printf(&b, "# HELP mlwb_predictions_total Instances predicted over HTTP.\n"
                  "# TYPE mlwb_predictions_total counter\nmlwb_predictions_total %" PRIu64 "\n",
              st.predictions);
    sb_printf(&b, "# HELP mlwb_predictions_dropped_total Predictions answered but not logged "
                  "(the log's queue was full, or the store refused the rows).\n"
                  "# TYPE mlwb_predictions_dropped_total counter\n"
                  "mlwb_predictions_dropped_total %" PRIu64 "\n",
              eng_predictions_dropped(s->eng));
    sb_printf(&b, "# HELP mlwb_feedback_total Feedback labels accepted over HTTP.\n"
                  "# TYPE mlwb_feedback_total counter\nmlwb_feedback_total %" PRIu64 "\n",
              (uint64_t)atomic_load_explicit(&s->feedback, memory_order_relaxed));
    eng_alert_state al;
    eng_alert_state_get(s->eng, &al);
    mdl *m = reg_acquire(s->reg);
    gauge(&b, "mlwb_model_active_version", "The active model version (0: none).",
          m ? (double)m->version : 0);
    double train_s = NAN;
    if (m) {
        char *err = NULL;
        store *sto = eng_thread_store(s->eng, &err);
        store_model_info mi = {0};
        if (sto && store_get_model(sto, m->version, &mi, NULL, NULL, &err) == MLWB_OK)
            train_s = mi.train_seconds;
        store_model_info_clear(&mi);
        free(err);
    }
    mdl_release(&m);
    gauge(&b, "mlwb_online_accuracy",
          "Accuracy of the active model on feedback (NaN until there is some).",
          al.online_accuracy);
    gauge(&b, "mlwb_input_drift_max_sd",
          "Largest mean shift of a feature over recent requests, in training sds.",
          al.max_drift);
    sb_puts(&b, "# HELP mlwb_alert 1 while an alert holds.\n# TYPE mlwb_alert gauge\n");
    sb_printf(&b, "mlwb_alert{kind=\"accuracy\"} %d\nmlwb_alert{kind=\"drift\"} %d\n",
              al.accuracy_alert, al.drift_alert);
    ds *d = eng_dataset(s->eng);
    gauge(&b, "mlwb_dataset_rows", "Rows of the current data set.", d ? (double)d->rows : 0);
    ds_release(&d);
    gauge(&b, "mlwb_training_seconds", "How long the active model took to train.", train_s);
    enum MHD_Result q =
        b.oom ? http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory")
              : http_reply_type(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                                b.p, b.len);
    sb_free(&b);
    return q;
}

/* --- the API's own description -------------------------------------------------------- */

enum MHD_Result h_openapi(struct call *c)
{
    const char *t = http_openapi_json();
    return http_reply(c, MHD_HTTP_OK, t, strlen(t));
}

enum MHD_Result h_docs(struct call *c)
{
    const char *t = http_docs_html();
    return http_reply_type(c, MHD_HTTP_OK, "text/html; charset=utf-8", t, strlen(t));
}
