/*
 * cmd_quality.c — feedback (the true label of a logged prediction) and quality (online
 * accuracy per model version, input drift, alerts).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_int.h"
#include "mlwb/core/text.h"

static cmd_status feedback_exec(cmd_ctx *c, const cmd_args *a)
{
    long id;
    if (cmd_parse_long(a->pos[0], &id) != 0 || id < 1)
        return cmd_error(c, "'%s' is not a prediction id (predict prints it: 'id 12')",
                         a->pos[0]);
    const char *label = a->pos[1];
    if (!*label || strlen(label) > 200 || !text_is_utf8(label))
        return cmd_error(c, "label '%.40s': expected 1 to 200 bytes of UTF-8 text", label);
    int outcome;
    int64_t mv;
    char *prev = NULL, *err = NULL;
    if (eng_feedback(cli_engine(c->cli), id, label, &outcome, &mv, &prev, &err) != MLWB_OK)
        return cmd_fail(c, err);
    cmd_status st = CMD_OK;
    switch (outcome) {
    case STORE_FB_NEW:
    case STORE_FB_SAME:
        cmd_result(c, json_pack("{sI ss sI sb}", "id", (json_int_t)id, "label", label,
                                "model_version", (json_int_t)mv, "new",
                                outcome == STORE_FB_NEW),
                   "feedback for prediction %ld (model v%lld): %s%s", id, (long long)mv, label,
                   outcome == STORE_FB_SAME ? " (already recorded)" : "");
        break;
    case STORE_FB_CONFLICT:
        st = cmd_error(c, "prediction %ld already has the label '%s'; feedback is given once",
                       id, prev ? prev : "?");
        break;
    default:
        st = cmd_error(c, "no prediction %ld in the log", id);
    }
    free(prev);
    return st;
}

const cmd_entry cmd_feedback_entry = {
    "feedback", "feedback ID LABEL", "record the true label of a logged prediction",
    "feedback ID LABEL\n    The true label for prediction ID (predict and the HTTP API print\n"
    "    the id).  Feedback is given once per prediction: the same label again is\n"
    "    accepted and changes nothing, another label is refused.  'quality' turns the\n"
    "    feedback into an online accuracy per model version.",
    2, 2, NULL, feedback_exec};

static cmd_status quality_exec(cmd_ctx *c, const cmd_args *a)
{
    char *err = NULL;
    json_t *q = eng_quality(cli_engine(c->cli), &err);
    if (!q)
        return cmd_fail(c, err);
    json_t *vs = json_object_get(q, "versions"), *drift = json_object_get(q, "drift");
    json_t *alerts = json_object_get(q, "alerts");
    size_t nv = json_array_size(vs), nf = json_array_size(json_object_get(drift, "features"));
    size_t cap = 1024 + nv * 160 + nf * 120 + json_array_size(alerts) * 240, o = 0;
    char *text = malloc(cap);
    if (!text) {
        json_decref(q);
        return cmd_error(c, "out of memory");
    }
    text[0] = 0;
    if (!nv)
        o += (size_t)snprintf(text + o, cap - o,
                              "no predictions logged yet: predict, then 'feedback ID LABEL'\n");
    else
        o += (size_t)snprintf(text + o, cap - o,
                              "  version  kind    predictions  feedback  accuracy  95%% interval   "
                              "offline\n");
    for (size_t i = 0; i < nv && o < cap; i++) {
        json_t *v = json_array_get(vs, i);
        json_t *acc = json_object_get(v, "accuracy"), *ci = json_object_get(v, "ci95");
        json_t *off = json_object_get(v, "offline_accuracy");
        char as[16] = "-", cis[32] = "-", offs[16] = "-";
        if (json_is_number(acc))
            snprintf(as, sizeof as, "%.4f", json_number_value(acc));
        if (json_array_size(ci) == 2)
            snprintf(cis, sizeof cis, "%.4f-%.4f", json_number_value(json_array_get(ci, 0)),
                     json_number_value(json_array_get(ci, 1)));
        if (json_is_number(off))
            snprintf(offs, sizeof offs, "%.4f", json_number_value(off));
        o += (size_t)snprintf(text + o, cap - o, "%s %-8lld %-7s %11lld  %8lld  %8s  %-13s  %s\n",
                              json_is_true(json_object_get(v, "active")) ? "*" : " ",
                              (long long)json_integer_value(json_object_get(v, "version")),
                              json_string_value(json_object_get(v, "kind")),
                              (long long)json_integer_value(json_object_get(v, "predictions")),
                              (long long)json_integer_value(json_object_get(v, "feedback")), as,
                              cis, offs);
    }
    if (json_is_object(drift) && o < cap) {
        long long req = (long long)json_integer_value(json_object_get(drift, "requests"));
        if (!json_is_true(json_object_get(drift, "enough")))
            o += (size_t)snprintf(text + o, cap - o,
                                  "input drift of model v%lld: %lld requests so far (needs 30)\n",
                                  (long long)json_integer_value(json_object_get(drift, "model_version")),
                                  req);
        else {
            o += (size_t)snprintf(text + o, cap - o,
                                  "input drift of model v%lld over its last %lld requests "
                                  "(mean shift in training sds):\n",
                                  (long long)json_integer_value(json_object_get(drift, "model_version")),
                                  req);
            size_t i;
            json_t *f;
            json_array_foreach(json_object_get(drift, "features"), i, f) {
                if (o >= cap)
                    break;
                o += (size_t)snprintf(text + o, cap - o,
                                      "  %-20.20s train %10.4g ± %-9.4g recent %10.4g  shift %.2f\n",
                                      json_string_value(json_object_get(f, "name")),
                                      json_number_value(json_object_get(f, "train_mean")),
                                      json_number_value(json_object_get(f, "train_sd")),
                                      json_number_value(json_object_get(f, "recent_mean")),
                                      json_number_value(json_object_get(f, "shift_sd")));
            }
        }
    }
    size_t i;
    json_t *al;
    json_array_foreach(alerts, i, al) {
        if (o >= cap)
            break;
        o += (size_t)snprintf(text + o, cap - o, "alert: %s\n", json_string_value(al));
    }
    while (o > 0 && o <= cap && text[o - 1] == '\n')
        text[--o] = 0;
    cmd_result(c, q, "%s", text);
    free(text);
    return CMD_OK;
}

const cmd_entry cmd_quality_entry = {
    "quality", "quality", "online accuracy from feedback per model version, input drift, alerts",
    "quality\n    For every model version with logged predictions: how many, how many\n"
    "    have feedback, the online accuracy (feedback equal to the prediction) with a\n"
    "    95% Wilson interval, and the accuracy measured at training for comparison.\n"
    "    Then the input drift of the active model: each feature's mean over its last\n"
    "    500 requests against the rows it was trained on, in training standard\n"
    "    deviations.  Alerts (see 'settings': alert-accuracy, alert-drift, on-drift) are\n"
    "    listed, and logged when they start.",
    0, 0, NULL, quality_exec};
