/*
 * http_v2.c — the KServe / Open Inference Protocol v2 routes, so standard clients work:
 * health, model metadata and readiness, and infer with FP32/FP64 tensors.
 *
 * Design: one model, named "default" unless `set model-name=NAME`; its version is the
 * active model's.  An infer request carries one input tensor of shape [N, D] (or [D]:
 * one row) whose data is row-major, flat or nested; it is checked completely (shape,
 * datatype, element count, every value finite and within float32) before anything is
 * predicted, then goes through the same prediction and log path as /v1/predict.  The
 * answer has the outputs "label" (BYTES) and "confidence" (FP32) for KNN, or "cluster"
 * (INT32) and "distance" (FP64) for k-means, plus "id" (INT64: the prediction ids, for
 * POST /v1/feedback; 0 when a prediction could not be logged).
 * Health: 200 means true, 400 false, as the protocol says.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"

enum MHD_Result h_v2_live(struct call *c)
{
    static const char t[] = "{\"live\":true}";
    return http_reply(c, MHD_HTTP_OK, t, sizeof t - 1);
}

enum MHD_Result h_v2_ready(struct call *c)
{
    bool ready = reg_active_version(c->s->reg) > 0;
    return http_reply_json(c, ready ? MHD_HTTP_OK : MHD_HTTP_BAD_REQUEST,
                           json_pack("{sb}", "ready", ready));
}

/* The model named in the path, or an answer (404) and NULL. */
static bool known_name(struct call *c, char *name, size_t n)
{
    eng_get_model_name(c->s->eng, name, n);
    return strcmp(c->arg, name) == 0;
}

enum MHD_Result h_v2_model(struct call *c)
{
    char name[128];
    if (!known_name(c, name, sizeof name))
        return http_reply_error(c, MHD_HTTP_NOT_FOUND, "no model '%.60s' (this server's model "
                                "is '%s')", c->arg, name);
    size_t ul = strlen(c->url);
    bool ready_route = ul >= 6 && strcmp(c->url + ul - 6, "/ready") == 0;
    mdl *m = reg_acquire(c->s->reg);
    if (ready_route) {
        enum MHD_Result q = http_reply_json(c, m ? MHD_HTTP_OK : MHD_HTTP_BAD_REQUEST,
                                            json_pack("{ss sb}", "name", name, "ready", m != NULL));
        mdl_release(&m);
        return q;
    }
    if (!m)
        return http_reply_error(c, MHD_HTTP_NOT_FOUND, "model '%s' has no active version yet",
                                name);
    char ver[32];
    snprintf(ver, sizeof ver, "%" PRId64, m->version);
    json_t *in = json_pack("[{ss ss s[ii]}]", "name", "input-0", "datatype", "FP32", "shape", -1,
                           (int)mdl_dims(m));
    json_t *out = m->km ? json_pack("[{ss ss s[i]} {ss ss s[i]} {ss ss s[i]}]", "name",
                                    "cluster", "datatype", "INT32", "shape", -1, "name",
                                    "distance", "datatype", "FP64", "shape", -1, "name", "id",
                                    "datatype", "INT64", "shape", -1)
                        : json_pack("[{ss ss s[i]} {ss ss s[i]} {ss ss s[i]}]", "name", "label",
                                    "datatype", "BYTES", "shape", -1, "name", "confidence",
                                    "datatype", "FP32", "shape", -1, "name", "id", "datatype",
                                    "INT64", "shape", -1);
    json_t *o = json_pack("{ss s[s] ss ss so so}", "name", name, "versions", ver, "platform",
                          "mlwb", "kind", m->kind, "inputs", in, "outputs", out);
    json_t *feat = json_array();
    for (size_t j = 0; j < mdl_dims(m); j++)
        json_array_append_new(feat, http_str_json(mdl_feature_name(m, j)));
    json_object_set_new(o, "parameters", json_pack("{so}", "features", feat));
    mdl_release(&m);
    return http_reply_json(c, MHD_HTTP_OK, o);
}

/* One value of `data` (at "inputs[0].data[...]" = place) into *x. */
static bool one_value(const json_t *v, const char *place, float *x, struct perr *pe)
{
    if (!json_is_number(v))
        return http_fail(pe, MHD_HTTP_BAD_REQUEST, "%s: expected a number, got %s", place,
                         http_json_kind(v));
    if (!http_to_float(json_number_value(v), x))
        return http_fail(pe, MHD_HTTP_BAD_REQUEST, "%s: not a finite number within float32",
                         place);
    return true;
}

/* `data` into x: flat (n*d numbers, row-major) or nested as the shape says (n arrays of
 * d numbers; [d] numbers for a one-row shape [d]). */
static bool read_data(const json_t *data, size_t n, size_t d, bool rank2, float *x,
                      bool *nested, struct perr *pe)
{
    size_t got = json_array_size(data);
    char place[96];
    *nested = got > 0 && json_is_array(json_array_get(data, 0));
    if (!*nested) {
        if (got != n * d)
            return http_fail(pe, MHD_HTTP_BAD_REQUEST,
                             "inputs[0].data: %zu values, the shape [%zu, %zu] holds %zu", got,
                             n, d, n * d);
        for (size_t k = 0; k < got; k++) {
            snprintf(place, sizeof place, "inputs[0].data[%zu]", k);
            if (!one_value(json_array_get(data, k), place, &x[k], pe))
                return false;
        }
        return true;
    }
    if (!rank2)
        return http_fail(pe, MHD_HTTP_BAD_REQUEST,
                         "inputs[0].data: the shape [%zu] takes %zu numbers, not arrays", d, d);
    if (got != n)
        return http_fail(pe, MHD_HTTP_BAD_REQUEST,
                         "inputs[0].data: %zu rows, the shape [%zu, %zu] has %zu", got, n, d, n);
    for (size_t i = 0; i < n; i++) {
        const json_t *row = json_array_get(data, i);
        if (!json_is_array(row))
            return http_fail(pe, MHD_HTTP_BAD_REQUEST,
                             "inputs[0].data[%zu]: expected an array of %zu numbers (a row of "
                             "the shape [%zu, %zu]), got %s", i, d, n, d, http_json_kind(row));
        if (json_array_size(row) != d)
            return http_fail(pe, MHD_HTTP_BAD_REQUEST,
                             "inputs[0].data[%zu]: %zu values, a row of the shape [%zu, %zu] "
                             "holds %zu", i, json_array_size(row), n, d, d);
        for (size_t j = 0; j < d; j++) {
            snprintf(place, sizeof place, "inputs[0].data[%zu][%zu]", i, j);
            if (!one_value(json_array_get(row, j), place, &x[i * d + j], pe))
                return false;
        }
    }
    return true;
}

/* The request's one input tensor into b; false with pe set. */
bool http_infer_input(const json_t *doc, size_t d, size_t max, struct batch *b, bool *nested,
                      struct perr *pe)
{
    const json_t *inputs = json_object_get(doc, "inputs");
    if (!json_is_array(inputs) || json_array_size(inputs) != 1)
        return http_fail(pe, MHD_HTTP_BAD_REQUEST,
                         "field 'inputs': expected an array of exactly one tensor, got %s",
                         inputs ? (json_is_array(inputs) ? "another count" : http_json_kind(inputs))
                                : "nothing");
    const json_t *t = json_array_get(inputs, 0);
    if (!json_is_object(t))
        return http_fail(pe, MHD_HTTP_BAD_REQUEST, "inputs[0]: expected an object, got %s",
                         http_json_kind(t));
    const char *dt = json_string_value(json_object_get(t, "datatype"));
    if (!dt || (strcmp(dt, "FP32") != 0 && strcmp(dt, "FP64") != 0))
        return http_fail(pe, MHD_HTTP_BAD_REQUEST,
                         "inputs[0].datatype: expected \"FP32\" or \"FP64\", got %s%.20s%s",
                         dt ? "\"" : "", dt ? dt : "nothing", dt ? "\"" : "");
    const json_t *shape = json_object_get(t, "shape");
    size_t rank = json_array_size(shape);
    json_int_t s0 = json_integer_value(json_array_get(shape, 0));
    json_int_t s1 = rank == 2 ? json_integer_value(json_array_get(shape, 1)) : s0;
    if (!json_is_array(shape) || rank < 1 || rank > 2 ||
        !json_is_integer(json_array_get(shape, 0)) ||
        (rank == 2 && !json_is_integer(json_array_get(shape, 1))))
        return http_fail(pe, MHD_HTTP_BAD_REQUEST,
                         "inputs[0].shape: expected [N, %zu] (or [%zu] for one row)", d, d);
    size_t n = rank == 2 ? (size_t)(s0 > 0 ? s0 : 0) : 1;
    if ((json_int_t)d != s1)
        return http_fail(pe, MHD_HTTP_BAD_REQUEST,
                         "inputs[0].shape: %" JSON_INTEGER_FORMAT " features, the model takes %zu",
                         s1, d);
    if (n < 1)
        return http_fail(pe, MHD_HTTP_BAD_REQUEST, "inputs[0].shape: at least one row");
    if (n > max)
        return http_fail(pe, MHD_HTTP_CONTENT_TOO_LARGE,
                         "inputs[0].shape: %zu rows, at most %zu per request", n, max);
    const json_t *data = json_object_get(t, "data");
    if (!json_is_array(data))
        return http_fail(pe, MHD_HTTP_BAD_REQUEST, "inputs[0].data: expected an array, got %s",
                         data ? http_json_kind(data) : "nothing");
    if (!http_batch_alloc(b, n, d, pe))
        return false;
    return read_data(data, n, d, rank == 2, b->x, nested, pe);
}

bool http_parse_infer_doc(const char *body, size_t len, json_t **doc, struct perr *pe)
{
    *doc = NULL;
    if (!body || !len)
        return http_fail(pe, MHD_HTTP_BAD_REQUEST,
                         "the request body is empty: expected {\"inputs\": [{...}]}");
    json_error_t je;
    if (http_body_nul(body, len, pe))
        return false;
    json_t *d = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!d)
        return http_fail(pe, MHD_HTTP_BAD_REQUEST, "invalid JSON at line %d, column %d: %s",
                         je.line, je.column, http_json_why(&je));
    if (!json_is_object(d)) {
        http_fail(pe, MHD_HTTP_BAD_REQUEST, "expected a JSON object {\"inputs\": [...]}, got %s",
                  http_json_kind(d));
        json_decref(d);
        return false;
    }
    *doc = d;
    return true;
}

enum MHD_Result h_v2_infer(struct call *c)
{
    char name[128];
    if (!known_name(c, name, sizeof name))
        return http_reply_error(c, MHD_HTTP_NOT_FOUND, "no model '%.60s' (this server's model "
                                "is '%s')", c->arg, name);
    enum MHD_Result q;
    if (http_no_model(c, &q))
        return q;
    json_t *doc;
    struct perr pe;
    if (!http_parse_infer_doc(c->body, c->len, &doc, &pe))
        return http_reply_error(c, pe.status, "%s", pe.msg);
    mdl *m = reg_acquire(c->s->reg);
    if (!m) {
        json_decref(doc);
        return http_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no active model");
    }
    struct batch b = {0};
    pred_out *po = NULL;
    bool nested = false;
    if (!http_infer_input(doc, mdl_dims(m), c->s->max_instances, &b, &nested, &pe) ||
        !http_check_range(m, &b, "inputs[0].data", !nested, &pe)) {
        q = http_reply_error(c, pe.status, "%s", pe.msg);
        goto out;
    }
    if (!(po = malloc(b.n * sizeof *po)) || !http_predict_rows(c, m, &b, po)) {
        q = http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        goto out;
    }
    char ver[32];
    snprintf(ver, sizeof ver, "%" PRId64, m->version);
    json_t *a = json_array(), *v = json_array(), *ids = json_array();
    for (size_t i = 0; i < b.n; i++) {
        if (m->km) {
            json_array_append_new(a, json_integer(po[i].label));
            json_array_append_new(v, json_real(po[i].dist));
        } else {
            json_array_append_new(a, po[i].abstained ? json_null()
                                                     : http_str_json(knn_class_name(
                                                           m->knn, (size_t)po[i].label)));
            json_array_append_new(v, json_real(po[i].conf));
        }
        json_array_append_new(ids, json_integer(po[i].id));
    }
    json_t *outs = json_pack("[{ss ss s[I] so} {ss ss s[I] so} {ss ss s[I] so}]", "name",
                             m->km ? "cluster" : "label", "datatype", m->km ? "INT32" : "BYTES",
                             "shape", (json_int_t)b.n, "data", a, "name",
                             m->km ? "distance" : "confidence", "datatype",
                             m->km ? "FP64" : "FP32", "shape", (json_int_t)b.n, "data", v,
                             "name", "id", "datatype", "INT64", "shape", (json_int_t)b.n, "data",
                             ids);
    json_t *o = json_pack("{ss ss so}", "model_name", name, "model_version", ver, "outputs", outs);
    json_t *rid = json_object_get(doc, "id");
    if (json_is_string(rid))
        json_object_set(o, "id", rid);
    q = http_reply_json(c, MHD_HTTP_OK, o);
out:
    free(po);
    http_batch_free(&b);
    mdl_release(&m);
    json_decref(doc);
    return q;
}
