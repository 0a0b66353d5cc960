/*
 * http_docs.c — the HTTP API described twice from one table: an OpenAPI 3.0.3 document
 * (GET /openapi.json) and an HTML page (GET /docs).  See mlwb/serve/http_docs.h.
 *
 * Design.  The routes are data: `ops` below has one entry per operation (method, path,
 * summary, description, parameters, request body, answers with their examples), and the
 * shared parts (parameters, error answers, named examples) have tables of their own.
 * The JSON schemas are written with a few constructors (obj, arr, ty, sref).  From these,
 * build_openapi() makes a jansson tree and dumps it, and build_html() writes the page.
 * Descriptions are plain text with `code` spans and blank lines between paragraphs: valid
 * CommonMark for OpenAPI, turned into <code> and <p> for the page.
 *
 * Guarantees.
 * - Each text is built once (pthread_once) and then only read: any thread may call.
 * - The page loads nothing from elsewhere: its CSS and script are inline, it has no
 *   URL with a scheme in it (the examples show the host without one; a script puts the
 *   page's own host in), and it reads fine without JavaScript: the form then sends
 *   GET /predict?prompt=... (the old template's call), which needs no script.
 * - Out of memory while building: a short fixed text instead (never NULL).
 *
 * Keep the table in step with src/serve/http.c's routes and docs/http-api.md;
 * tests/unit/test_http_docs.c checks the paths, methods, references and the page.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mlwb/serve/http_docs.h"

#ifndef MLWB_VERSION
#define MLWB_VERSION "dev"
#endif

/* ------------------------------------------------------------------------------------ */
/* The description, as data. */

/* A parameter, shared in components/parameters under its name. */
typedef struct {
    const char *name, *in;   /* "query" or "path" */
    bool required;
    const char *type;        /* "string" or "integer" */
    const char *desc;
    const char *example;     /* as text (a number for integers) */
} doc_param;

/* An answer: either a shared one (ref: components/responses) or described here. */
typedef struct {
    const char *code;            /* "200", "404", ... */
    const char *ref;             /* a name in shared_resps, or NULL */
    const char *desc;
    const char *schema;          /* components/schemas; NULL: Error for 4xx/5xx, else
                                    object (JSON) or string (other types) */
    const char *type;            /* media type; NULL: application/json */
    const char *example;         /* JSON text, or the text itself for other types */
    const char *examples[6];     /* names in named_examples (instead of example) */
    const char *header, *header_desc;  /* one response header, or NULL */
} doc_resp;

typedef struct {
    const char *method;          /* "get" or "post" */
    const char *path;
    const char *id, *tag, *summary, *desc;
    bool auth;                   /* bearerAuth when the server has a token */
    const char *params[3];       /* names in params */
    const char *body;            /* request schema, or NULL */
    const char *body_example;    /* JSON text */
    const char *target;          /* an example request target (path and query) */
    doc_resp resp[8];
} doc_op;

typedef struct {
    const char *name, *summary, *value;  /* value: JSON text */
} doc_example;

typedef struct {
    const char *name, *title, *desc;
} doc_tag;

static const char api_title[] = "mlwb HTTP API";

static const char api_desc[] =
    "The HTTP listener of mlwb: `serve [ADDR:]PORT [token=T | token-file=PATH] [insecure]` "
    "(it binds 127.0.0.1 unless told otherwise). It answers predictions with the active "
    "model, a KNN classifier or a k-means clustering, takes feedback on them, reports the "
    "online quality and input drift, exposes Prometheus metrics, and speaks the KServe / "
    "Open Inference Protocol v2.\n\n"
    "Every answer is JSON (`Content-Type: application/json`) except `/metrics` (Prometheus "
    "text) and `/docs` (HTML). Every error is `{\"error\": \"...\"}` with a 4xx or 5xx "
    "status and a message that names the place, e.g. `instances[1]: expected 4 features, "
    "got 3`. Paths match exactly (no trailing slash): an unknown path answers 404, a known "
    "one with another method 405 with an `Allow` header. The routes without side effects "
    "also answer HEAD.\n\n"
    "When the server was started with a token, the routes that predict or write "
    "(`/v1/predict`, `/predict`, `/v1/feedback`, `/v2/models/{name}/infer`) need the "
    "header `Authorization: Bearer T`; health, models, quality, metrics and the docs stay "
    "open. There is no TLS: put a proxy in front for that.\n\n"
    "Checks happen in this order: body size, path, method, token, the active model, then "
    "the request's content; nothing is predicted or logged before the whole request is "
    "valid. The examples use the iris model of `samples/scripts/demo.mlwb` "
    "(`load sample iris; train knn k=5; serve 127.0.0.1:8000`).";

static const doc_tag tags[] = {
    {"predict", "Predict",
     "Predictions with the active model. One model answers a whole request, even while "
     "models are swapped; every prediction is logged and gets an `id` for feedback."},
    {"feedback", "Feedback", "The true label of a logged prediction."},
    {"models", "Models", "The stored model versions and the active one."},
    {"quality", "Quality", "Online accuracy per model version, input drift and alerts."},
    {"health", "Health", "Liveness and readiness, for load balancers and orchestrators."},
    {"meta", "Metrics and docs", "Prometheus metrics and this description."},
    {"kserve-v2", "KServe v2",
     "The KServe / Open Inference Protocol v2, so standard clients work. One model, named "
     "`default` unless `set model-name=NAME` (before `serve`); its version is the active "
     "model's. Health answers 200 for true and 400 for false, as the protocol says."},
};

static const doc_param params[] = {
    {"explain", "query", false, "string",
     "`1` (or `true`): each prediction also says why. A KNN prediction adds `neighbours` "
     "(its k neighbours: their 1-based `row` in the training data, `distance` in the "
     "model's scaled space, `label`), a k-means one `distances` (to every centroid). "
     "`0` or `false`: off; any other value is a 400.",
     "1"},
    {"x", "query", true, "string",
     "One instance as comma-separated decimal numbers (an optional sign, digits with an "
     "optional '.', an optional exponent: no hex, `inf` or `nan`), the model's features in "
     "order (spaces around a number are allowed).",
     "5.1,3.5,1.4,0.2"},
    {"prompt", "query", true, "string",
     "A JSON list of instances (`[[5.1,3.5,1.4,0.2]]`) or one flat instance "
     "(`[5.1,3.5,1.4,0.2]`), URL-encoded. It is parsed as JSON, never evaluated.",
     "[[3,5,4,2]]"},
    {"version", "path", true, "integer",
     "A model version, as listed by `GET /v1/models`: 1 to 19 decimal digits, no sign or "
     "leading zero (`+1`, `01`, `1x` are not versions: 404).",
     "1"},
    {"name", "path", true, "string",
     "The model's name: `default` unless set with `set model-name=NAME`.", "default"},
};

/* Answers shared by several operations (components/responses). */
static const struct {
    const char *name;
    doc_resp r;
} shared_resps[] = {
    {"Unauthorized",
     {.code = "401",
      .desc = "The server has a token and the `Authorization: Bearer` header is missing or "
              "wrong (compared in constant time).",
      .example = "{\"error\":\"missing or wrong bearer token\"}",
      .header = "WWW-Authenticate",
      .header_desc = "`Bearer realm=\"mlwb\"`"}},
    {"PayloadTooLarge",
     {.code = "413",
      .desc = "The body is over `http-max-body` (1 MiB by default; a declared "
              "`Content-Length` over it is refused before the body is read), or the "
              "request has more instances than `http-max-instances` (10000 by default).",
      .example = "{\"error\":\"request body of 1100000 bytes is over the limit of 1048576 "
                 "bytes\"}"}},
    {"Unavailable",
     {.code = "503",
      .desc = "No active model yet; or the listener already holds its budget of request "
              "bodies (`server busy: too many request bodies in flight; retry`, with "
              "`Retry-After: 1`).",
      .example = "{\"error\":\"no active model\"}",
      .header = "Retry-After",
      .header_desc = "Seconds to wait before retrying (when busy)."}},
    {"Busy",
     {.code = "503",
      .desc = "The listener already holds its budget of request bodies: retry.",
      .example = "{\"error\":\"server busy: too many request bodies in flight; retry\"}",
      .header = "Retry-After",
      .header_desc = "Seconds to wait before retrying."}},
    {"MethodNotAllowed",
     {.code = "405",
      .desc = "The path exists, but not with this method (`HEAD` on a prediction route, "
              "`OPTIONS`, `DELETE`, ...).",
      .example = "{\"error\":\"method DELETE not allowed on /v1/predict\"}",
      .header = "Allow",
      .header_desc = "The methods the path takes, e.g. `GET, HEAD`."}},
    {"InternalError",
     {.code = "500",
      .desc = "Out of memory, or the store could not be read.",
      .example = "{\"error\":\"out of memory\"}"}},
};

static const doc_example named_examples[] = {
    {"knn", "KNN: the label and the share of the k neighbours' votes it won",
     "{\"model_version\":1,\"predictions\":[{\"id\":4,\"label\":\"setosa\",\"confidence\":1.0},"
     "{\"id\":5,\"label\":\"virginica\",\"confidence\":0.6}]}"},
    {"kmeans", "k-means: the nearest centroid (from 0) and the distance to it",
     "{\"model_version\":1,\"predictions\":[{\"id\":1,\"cluster\":1,\"distance\":"
     "0.166919075779755},{\"id\":2,\"cluster\":0,\"distance\":0.976862852840267}]}"},
    {"abstained", "KNN below `set min-confidence=P`: no label",
     "{\"model_version\":1,\"predictions\":[{\"id\":7,\"label\":null,\"confidence\":0.6,"
     "\"abstained\":true}]}"},
    {"knnExplain", "KNN with explain=1: the k neighbours",
     "{\"model_version\":1,\"predictions\":[{\"id\":3,\"label\":\"versicolor\",\"confidence\":"
     "0.6,\"neighbours\":[{\"row\":134,\"distance\":0.0,\"label\":\"virginica\"},{\"row\":55,"
     "\"distance\":0.373482,\"label\":\"versicolor\"},{\"row\":64,\"distance\":0.4251264,"
     "\"label\":\"versicolor\"},{\"row\":127,\"distance\":0.4468774,\"label\":\"virginica\"},"
     "{\"row\":84,\"distance\":0.44994724,\"label\":\"versicolor\"}]}]}"},
    {"kmeansExplain", "k-means with explain=1: the distance to every centroid",
     "{\"model_version\":1,\"predictions\":[{\"id\":3,\"cluster\":1,\"distance\":"
     "0.166919075779755,\"distances\":[3.90105063256137,0.166919075779755,"
     "3.0473156918251]}]}"},
    {"noLog", "KNN when the prediction could not be logged (the log's queue full, or the "
     "store refusing writes): no id",
     "{\"model_version\":1,\"predictions\":[{\"label\":\"setosa\",\"confidence\":1.0}]}"},
    {"v2Knn", "KNN",
     "{\"model_name\":\"default\",\"model_version\":\"1\",\"outputs\":[{\"name\":\"label\","
     "\"datatype\":\"BYTES\",\"shape\":[2],\"data\":[\"setosa\",\"virginica\"]},{\"name\":"
     "\"confidence\",\"datatype\":\"FP32\",\"shape\":[2],\"data\":[1.0,1.0]},{\"name\":\"id\","
     "\"datatype\":\"INT64\",\"shape\":[2],\"data\":[4,5]}],\"id\":\"r1\"}"},
    {"v2Kmeans", "k-means",
     "{\"model_name\":\"default\",\"model_version\":\"2\",\"outputs\":[{\"name\":\"cluster\","
     "\"datatype\":\"INT32\",\"shape\":[2],\"data\":[1,2]},{\"name\":\"distance\",\"datatype\":"
     "\"FP64\",\"shape\":[2],\"data\":[0.166919075779755,0.743817274208459]},{\"name\":\"id\","
     "\"datatype\":\"INT64\",\"shape\":[2],\"data\":[8,9]}],\"id\":\"r1\"}"},
};

#define R401 {.code = "401", .ref = "Unauthorized"}
#define R413 {.code = "413", .ref = "PayloadTooLarge"}
#define R500 {.code = "500", .ref = "InternalError"}
#define R503 {.code = "503", .ref = "Unavailable"}
#define PREDICT_200                                                                        \
    {.code = "200",                                                                        \
     .desc = "One prediction per instance, in order, by one model (`model_version`).",     \
     .schema = "PredictResponse",                                                          \
     .examples = {"knn", "kmeans", "abstained", "knnExplain", "kmeansExplain", "noLog"}}

static const doc_op ops[] = {
    /* --- predict ------------------------------------------------------------------- */
    {"post", "/v1/predict", "predict", "predict", "Predict a batch of instances",
     "Each instance is one row of the model's features, in order. A KNN model answers "
     "`label` and `confidence` (the share of the k neighbours' votes the label won); a "
     "k-means model answers `cluster` (the nearest centroid, from 0; ties: the lower "
     "number) and `distance` (to it, in the model's scaled space: send raw values).\n\n"
     "After `set min-confidence=P` a KNN prediction whose confidence is below P abstains: "
     "`label` null and `abstained` true. With `explain=1` each prediction also says why.\n\n"
     "The whole request is checked before anything is predicted or logged: a bad instance "
     "anywhere means no prediction at all, and the message names it. Other fields of the "
     "body are ignored; its `Content-Type` is not checked. Each prediction is logged and "
     "its `id` is what `POST /v1/feedback` takes (no `id` when the prediction could not be "
     "logged: the log's queue full, or the store refusing writes).",
     true, {"explain"}, "PredictRequest",
     "{\"instances\": [[5.1,3.5,1.4,0.2], [6.3,2.8,5.1,1.5]]}", "/v1/predict",
     {PREDICT_200,
      {.code = "400",
       .desc = "Not JSON, not an object, no `instances`, no instance, an instance of the "
               "wrong length, or a value that is not a finite number within float32.",
       .example = "{\"error\":\"instances[1][2]: not a finite number (got a string)\"}"},
      R401, R413, R500, R503}},
    {"get", "/v1/predict", "predictOne", "predict", "Predict one instance",
     "The instance is given in the query as comma-separated numbers. The answer has the "
     "same shape as `POST /v1/predict`, with one prediction.",
     true, {"x", "explain"}, NULL, NULL, "/v1/predict?x=5.1,3.5,1.4,0.2",
     {PREDICT_200,
      {.code = "400",
       .desc = "No `x`, the wrong number of features, or a value that is not a number.",
       .example = "{\"error\":\"x[2]: 'a' is not a number\"}"},
      R401, R500, R503}},
    {"get", "/predict", "predictPrompt", "predict", "Predict: the old template's call",
     "The call of the Python template mlwb replaces. `prompt` is parsed as JSON, never "
     "evaluated: a list of instances or one flat instance. The answer has the same shape "
     "as `POST /v1/predict`. (With curl, `-g` stops the brackets from being read as a "
     "pattern; other clients should URL-encode the value.)",
     true, {"prompt", "explain"}, NULL, NULL, "/predict?prompt=[[3,5,4,2]]",
     {PREDICT_200,
      {.code = "400",
       .desc = "No `prompt`, not JSON, not a list, or a bad instance.",
       .example = "{\"error\":\"prompt: expected a list of instances like "
                  "[[5.1,3.5,1.4,0.2]], got a number\"}"},
      R401, R413, R500, R503}},
    /* --- feedback ------------------------------------------------------------------ */
    {"post", "/v1/feedback", "feedback", "feedback", "Give the true label of a prediction",
     "`id` is a prediction's id from any predict route (or the prompt). Feedback is given "
     "once: the same label again changes nothing (`new` false), another label is refused "
     "(409). A prediction answered a moment ago may still be in the log's queue: the "
     "queue is flushed before answering 404. Feedback on an abstained prediction counts as "
     "`abstained` in the quality figures, not as right or wrong.",
     true, {NULL}, "FeedbackRequest", "{\"id\": 2, \"label\": \"virginica\"}", "/v1/feedback",
     {{.code = "200",
       .desc = "Stored (`new` true), or the same label was already there (`new` false).",
       .schema = "FeedbackResponse",
       .example = "{\"id\":2,\"label\":\"virginica\",\"model_version\":1,\"new\":true}"},
      {.code = "400",
       .desc = "Not JSON, `id` not a positive integer, or `label` not a string of 1 to 200 "
               "bytes.",
       .example = "{\"error\":\"field 'id': expected a prediction id (a positive integer), "
                  "got a string\"}"},
      R401,
      {.code = "404",
       .desc = "No prediction with this id in the log.",
       .example = "{\"error\":\"no prediction 999999 in the log\"}"},
      {.code = "409",
       .desc = "Another label was given for this prediction before.",
       .example = "{\"error\":\"prediction 1 already has the label 'setosa'; feedback is "
                  "given once\"}"},
      R413, R500, {.code = "503", .ref = "Busy"}}},
    /* --- models -------------------------------------------------------------------- */
    {"get", "/v1/models", "listModels", "models", "List the model versions",
     "Every stored model version (`models`), and the active one as it serves (`model`, "
     "with the names of its features and its classes or number of clusters). `created` is "
     "seconds since the epoch; the metrics include `feature_stats` (the mean and sd of "
     "each feature over the training rows: the baseline of the drift check).",
     false, {NULL}, NULL, NULL, "/v1/models",
     {{.code = "200",
       .desc = "The models (`active` and `model` are null while no model is active).",
       .schema = "ModelList",
       .example =
           "{\"active\":1,\"model\":{\"version\":1,\"kind\":\"knn\",\"active\":true,"
           "\"params\":{\"k\":5,\"distance\":\"euclidean\",\"weights\":\"uniform\","
           "\"scale\":\"zscore\",\"k_auto\":false},\"metrics\":{\"accuracy\":0.96},"
           "\"dataset_version\":1,\"created\":1795669488.95,\"features\":[\"sepal_length\","
           "\"sepal_width\",\"petal_length\",\"petal_width\"],\"classes\":[\"setosa\","
           "\"versicolor\",\"virginica\"]},\"models\":[{\"version\":1,\"kind\":\"knn\","
           "\"active\":true,\"params\":{\"k\":5,\"distance\":\"euclidean\",\"weights\":"
           "\"uniform\",\"scale\":\"zscore\",\"k_auto\":false},\"metrics\":{\"accuracy\":"
           "0.96},\"dataset_version\":1,\"created\":1795669488.95,\"train_seconds\":0.0021}]}"},
      R500}},
    {"get", "/v1/models/{version}", "getModel", "models", "One model version",
     "One version with its parameters, metrics and `curve` (the tuning curve it was chosen "
     "from, or null); for the active one also `features` and `classes` (KNN) or "
     "`clusters` (k-means).",
     false, {"version"}, NULL, NULL, "/v1/models/1",
     {{.code = "200",
       .desc = "The model version.",
       .schema = "ModelDetail",
       .example =
           "{\"version\":1,\"kind\":\"knn\",\"active\":true,\"params\":{\"k\":5,\"distance\":"
           "\"euclidean\",\"weights\":\"uniform\",\"scale\":\"zscore\",\"k_auto\":false},"
           "\"metrics\":{\"accuracy\":0.96},\"dataset_version\":1,\"created\":1795669488.95,"
           "\"train_seconds\":0.0021,\"curve\":null,\"features\":[\"sepal_length\","
           "\"sepal_width\",\"petal_length\",\"petal_width\"],\"classes\":[\"setosa\","
           "\"versicolor\",\"virginica\"]}"},
      {.code = "404",
       .desc = "No such version, or the path segment is not a version.",
       .example = "{\"error\":\"no model version 7\"}"},
      R500}},
    /* --- quality ------------------------------------------------------------------- */
    {"get", "/v1/quality", "quality", "quality", "Online quality, drift and alerts",
     "Computed from the store at each request. `versions`: every model version with logged "
     "predictions, how many have feedback, how many of those the model got right, the "
     "online `accuracy` (null without feedback, and for k-means models) with its 95% "
     "Wilson interval `ci95`, and the accuracy measured at training (`offline_accuracy`).\n\n"
     "`drift`: for the active model, each feature's mean over its last 500 requests "
     "against the mean and sd of its training rows, and the shift in training sds "
     "(`shift_sd`; null below 30 requests, when `enough` is false). `alerts`: the alerts "
     "that hold now (online accuracy below `alert-accuracy`, or a feature's shift above "
     "`alert-drift`).",
     false, {NULL}, NULL, NULL, "/v1/quality",
     {{.code = "200",
       .desc = "The quality report.",
       .schema = "Quality",
       .example =
           "{\"versions\":[{\"version\":1,\"kind\":\"knn\",\"active\":true,\"predictions\":2,"
           "\"feedback\":2,\"correct\":1,\"abstained\":0,\"accuracy\":0.5,\"ci95\":"
           "[0.0945312057342307,0.905468794265769],\"offline_accuracy\":0.96,"
           "\"last_feedback\":1795681827.17897}],\"active_version\":1,\"drift\":"
           "{\"model_version\":1,\"window\":500,\"requests\":2,\"enough\":false,"
           "\"features\":[{\"name\":\"sepal_length\",\"train_mean\":5.84333332698,"
           "\"train_sd\":0.825301276712,\"recent_mean\":5.7,\"shift_sd\":null}]},"
           "\"alerts\":[],\"thresholds\":{\"alert_accuracy\":\"auto\",\"alert_drift\":0.5,"
           "\"on_drift\":\"alert\",\"min_confidence\":0.0}}"},
      R500}},
    /* --- health -------------------------------------------------------------------- */
    {"get", "/healthz", "health", "health", "Liveness", "Always 200 while the listener runs.",
     false, {NULL}, NULL, NULL, "/healthz",
     {{.code = "200", .desc = "Alive.", .schema = "Health", .example = "{\"status\":\"ok\"}"}}},
    {"get", "/readyz", "ready", "health", "Readiness",
     "200 once a model is active, 503 until then.", false, {NULL}, NULL, NULL, "/readyz",
     {{.code = "200",
       .desc = "A model is active.",
       .schema = "Ready",
       .example = "{\"status\":\"ready\",\"model_version\":1}"},
      {.code = "503",
       .desc = "Not ready: no model is active yet.",
       .example = "{\"error\":\"no active model\"}"}}},
    /* --- metrics and docs ---------------------------------------------------------- */
    {"get", "/metrics", "metrics", "meta", "Prometheus metrics",
     "Prometheus text exposition format 0.0.4. `mlwb_http_requests_total{route,code}` "
     "(counter), `mlwb_http_request_duration_seconds` (histogram, the server's time to "
     "answer, buckets at powers of two microseconds from 16 us to 33 s), "
     "`mlwb_predictions_total`, `mlwb_predictions_dropped_total` (answered but not logged: "
     "the log's queue full, or the store refusing writes), "
     "`mlwb_feedback_total` (counters), `mlwb_model_active_version` (0 when none), "
     "`mlwb_online_accuracy` (NaN until there is feedback), `mlwb_input_drift_max_sd`, "
     "`mlwb_alert{kind=\"accuracy\"|\"drift\"}` (1 while the alert holds), "
     "`mlwb_dataset_rows` and `mlwb_training_seconds` (gauges). The accuracy, drift and "
     "alert gauges are those of the last 5-second check.",
     false, {NULL}, NULL, NULL, "/metrics",
     {{.code = "200",
       .desc = "The metrics.",
       .type = "text/plain; version=0.0.4",
       .example = "# HELP mlwb_http_requests_total HTTP requests answered, by route and "
                  "status.\n# TYPE mlwb_http_requests_total counter\n"
                  "mlwb_http_requests_total{route=\"/v1/predict\",code=\"200\"} 12\n"
                  "# HELP mlwb_predictions_total Instances predicted over HTTP.\n"
                  "# TYPE mlwb_predictions_total counter\nmlwb_predictions_total 15\n"
                  "# HELP mlwb_model_active_version The active model version (0: none).\n"
                  "# TYPE mlwb_model_active_version gauge\nmlwb_model_active_version 1\n"
                  "# HELP mlwb_alert 1 while an alert holds.\n# TYPE mlwb_alert gauge\n"
                  "mlwb_alert{kind=\"accuracy\"} 0\nmlwb_alert{kind=\"drift\"} 0\n"},
      R500}},
    {"get", "/openapi.json", "openapi", "meta", "This API as OpenAPI 3.0.3",
     "This document.", false, {NULL}, NULL, NULL, "/openapi.json",
     {{.code = "200", .desc = "An OpenAPI 3.0.3 document."}}},
    {"get", "/docs", "docs", "meta", "This API as an HTML page",
     "A self-contained page (no external scripts or fonts) that describes the routes and "
     "has a form to send a prediction and see the answer.",
     false, {NULL}, NULL, NULL, "/docs",
     {{.code = "200", .desc = "The page.", .type = "text/html"}}},
    /* --- KServe v2 ----------------------------------------------------------------- */
    {"get", "/v2/health/live", "v2Live", "kserve-v2", "Server liveness",
     "Always true while the listener runs.", false, {NULL}, NULL, NULL, "/v2/health/live",
     {{.code = "200", .desc = "Live.", .schema = "V2Live", .example = "{\"live\":true}"}}},
    {"get", "/v2/health/ready", "v2Ready", "kserve-v2", "Server readiness",
     "Ready once a model is active.", false, {NULL}, NULL, NULL, "/v2/health/ready",
     {{.code = "200", .desc = "Ready.", .schema = "V2Ready", .example = "{\"ready\":true}"},
      {.code = "400",
       .desc = "Not ready (no active model): the protocol's false.",
       .schema = "V2Ready",
       .example = "{\"ready\":false}"}}},
    {"get", "/v2/models/{name}", "v2Model", "kserve-v2", "Model metadata",
     "The model's versions (the active one), its input tensor (`input-0`, shape [-1, D]) "
     "and outputs: `label` (BYTES) and `confidence` (FP32) for KNN, `cluster` (INT32) and "
     "`distance` (FP64) for k-means, and `id` (INT64: the prediction ids).",
     false, {"name"}, NULL, NULL, "/v2/models/default",
     {{.code = "200",
       .desc = "The metadata.",
       .schema = "V2ModelMetadata",
       .example =
           "{\"name\":\"default\",\"versions\":[\"1\"],\"platform\":\"mlwb\",\"kind\":\"knn\","
           "\"inputs\":[{\"name\":\"input-0\",\"datatype\":\"FP32\",\"shape\":[-1,4]}],"
           "\"outputs\":[{\"name\":\"label\",\"datatype\":\"BYTES\",\"shape\":[-1]},"
           "{\"name\":\"confidence\",\"datatype\":\"FP32\",\"shape\":[-1]},{\"name\":\"id\","
           "\"datatype\":\"INT64\",\"shape\":[-1]}],\"parameters\":{\"features\":"
           "[\"sepal_length\",\"sepal_width\",\"petal_length\",\"petal_width\"]}}"},
      {.code = "404",
       .desc = "Another model name, or no active model yet.",
       .example = "{\"error\":\"no model 'other' (this server's model is 'default')\"}"}}},
    {"get", "/v2/models/{name}/ready", "v2ModelReady", "kserve-v2", "Model readiness",
     "Ready once a model is active.", false, {"name"}, NULL, NULL, "/v2/models/default/ready",
     {{.code = "200",
       .desc = "Ready.",
       .schema = "V2ModelReady",
       .example = "{\"name\":\"default\",\"ready\":true}"},
      {.code = "400",
       .desc = "Not ready (no active model): the protocol's false.",
       .schema = "V2ModelReady",
       .example = "{\"name\":\"default\",\"ready\":false}"},
      {.code = "404",
       .desc = "Another model name.",
       .example = "{\"error\":\"no model 'other' (this server's model is 'default')\"}"}}},
    {"post", "/v2/models/{name}/infer", "v2Infer", "kserve-v2", "Inference",
     "Exactly one input tensor, `FP32` or `FP64`, of shape [N, D] (or [D] for one row), "
     "its data row-major, flat or nested. Everything is checked before anything is "
     "predicted. The outputs: `label` (BYTES; null when abstaining) and `confidence` "
     "(FP32) for KNN, `cluster` (INT32) and `distance` (FP64) for k-means, and `id` "
     "(INT64: the prediction ids, for `POST /v1/feedback`; 0 when a prediction could not "
     "be logged: the log's queue full, or the store refusing writes). The request's `id` "
     "is echoed. Predictions go to the same log as "
     "`/v1/predict`.",
     true, {"name"}, "V2InferRequest",
     "{\"id\":\"r1\",\"inputs\":[{\"name\":\"input-0\",\"shape\":[2,4],\"datatype\":\"FP32\","
     "\"data\":[5.1,3.5,1.4,0.2,6.7,3.0,5.2,2.3]}]}",
     "/v2/models/default/infer",
     {{.code = "200",
       .desc = "The output tensors.",
       .schema = "V2InferResponse",
       .examples = {"v2Knn", "v2Kmeans"}},
      {.code = "400",
       .desc = "Not JSON, not exactly one input tensor, another datatype, a shape that does "
               "not fit the model, or data that does not fit the shape.",
       .example = "{\"error\":\"inputs[0].data: 5 values, the shape [2, 4] holds 8\"}"},
      R401,
      {.code = "404",
       .desc = "Another model name.",
       .example = "{\"error\":\"no model 'other' (this server's model is 'default')\"}"},
      R413, R500, R503}},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const doc_resp *shared_resp(const char *name)
{
    for (size_t i = 0; i < COUNT(shared_resps); i++)
        if (strcmp(shared_resps[i].name, name) == 0)
            return &shared_resps[i].r;
    return NULL;
}

static const doc_example *named_example(const char *name)
{
    for (size_t i = 0; i < COUNT(named_examples); i++)
        if (strcmp(named_examples[i].name, name) == 0)
            return &named_examples[i];
    return NULL;
}

static const doc_param *param(const char *name)
{
    for (size_t i = 0; i < COUNT(params); i++)
        if (strcmp(params[i].name, name) == 0)
            return &params[i];
    return NULL;
}

/* ------------------------------------------------------------------------------------ */
/* JSON constructors.  Each returns a new reference (or NULL, out of memory); `put` and
 * `push` take theirs and note any failure in `failed`, which is only touched while
 * building under pthread_once. */

static bool failed;

static json_t *put(json_t *o, const char *key, json_t *v)
{
    if (json_object_set_new(o, key, v) != 0)  /* decrefs v on failure */
        failed = true;
    return o;
}

static json_t *push(json_t *a, json_t *v)
{
    if (json_array_append_new(a, v) != 0)
        failed = true;
    return a;
}

static json_t *str(const char *s)
{
    return json_string(s);
}

/* JSON text (from the tables above); a parse failure is a bug the tests catch. */
static json_t *parse(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    if (!v)
        failed = true;
    return v;
}

static json_t *ty(const char *type, const char *desc)
{
    json_t *o = put(json_object(), "type", str(type));
    return desc ? put(o, "description", str(desc)) : o;
}

static json_t *ref(const char *kind, const char *name)
{
    char p[128];
    snprintf(p, sizeof p, "#/components/%s/%s", kind, name);
    return put(json_object(), "$ref", str(p));
}

static json_t *sref(const char *name)
{
    return ref("schemas", name);
}

static json_t *with(json_t *s, const char *key, json_t *v)
{
    return put(s, key, v);
}

static json_t *arr(json_t *items, const char *desc)
{
    return put(ty("array", desc), "items", items);
}

/* A schema that may also be null (OpenAPI 3.0: a $ref cannot have siblings). */
static json_t *nullable(json_t *s)
{
    if (json_object_get(s, "$ref"))
        s = put(json_object(), "allOf", push(json_array(), s));
    return put(s, "nullable", json_true());
}

/* An object: desc, the required properties (space-separated, or NULL), then pairs of
 * property name and schema, ending with NULL. */
static json_t *obj(const char *desc, const char *required, ...)
{
    json_t *o = ty("object", desc), *props = json_object();
    va_list ap;
    va_start(ap, required);
    for (const char *name; (name = va_arg(ap, const char *));)
        put(props, name, va_arg(ap, json_t *));
    va_end(ap);
    put(o, "properties", props);
    if (required) {
        json_t *req = json_array();
        for (const char *p = required; *p;) {
            size_t n = strcspn(p, " ");
            if (n)
                push(req, json_stringn(p, n));
            p += n + (p[n] == ' ');
        }
        put(o, "required", req);
    }
    return o;
}

static json_t *integer(const char *desc)
{
    return ty("integer", desc);
}

static json_t *number(const char *desc)
{
    return ty("number", desc);
}

static json_t *string(const char *desc)
{
    return ty("string", desc);
}

static json_t *boolean(const char *desc)
{
    return ty("boolean", desc);
}

static json_t *strings(const char *desc)
{
    return arr(string(NULL), desc);
}

static json_t *enumerate(json_t *s, const char *values)
{
    json_t *e = json_array();
    for (const char *p = values; *p;) {
        size_t n = strcspn(p, " ");
        push(e, json_stringn(p, n));
        p += n + (p[n] == ' ');
    }
    return with(s, "enum", e);
}

/* ------------------------------------------------------------------------------------ */
/* components/schemas */

static json_t *schemas(void)
{
    json_t *s = json_object();
    put(s, "Error",
        obj("Every error: one message that names the place.", "error", "error",
            with(string("What went wrong, and where."), "example",
                 str("instances[1]: expected 4 features, got 3")),
            NULL));
    put(s, "Instance",
        with(with(arr(number(NULL), "One instance: the model's features in order, as many "
                                    "numbers as the model has features (finite, within "
                                    "float32)."),
                  "minItems", json_integer(1)),
             "example", parse("[5.1,3.5,1.4,0.2]")));
    put(s, "PredictRequest",
        obj("A batch of instances.", "instances", "instances",
            with(with(arr(sref("Instance"), "1 to 10000 instances (`http-max-instances`)."),
                      "minItems", json_integer(1)),
                 "maxItems", json_integer(10000)),
            NULL));
    json_t *id = with(integer("The prediction's id in the log, for `POST /v1/feedback`. "
                              "Absent when the prediction could not be logged (the log's "
                              "queue full, or the store refusing writes)."),
                      "minimum", json_integer(1));
    put(s, "Neighbour",
        obj("One of the k nearest training rows.", "row distance label", "row",
            integer("Its 1-based row in the training data."), "distance",
            number("In the model's scaled space."), "label", string("Its class."), NULL));
    put(s, "KnnPrediction",
        obj("A KNN classifier's prediction.", "label confidence", "id", json_deep_copy(id),
            "label",
            nullable(string("The predicted class; null when abstaining (below "
                            "`min-confidence`).")),
            "confidence",
            with(with(number("The share of the k neighbours' votes the label won."),
                      "minimum", json_integer(0)),
                 "maximum", json_integer(1)),
            "abstained",
            with(boolean("Present (true) when the confidence is below `set min-confidence`."),
                 "enum", push(json_array(), json_true())),
            "neighbours", arr(sref("Neighbour"), "With `explain=1`: the k neighbours."),
            NULL));
    put(s, "KmeansPrediction",
        obj("A k-means clustering's prediction.", "cluster distance", "id", id, "cluster",
            with(integer("The nearest centroid, from 0 (ties: the lower number)."), "minimum",
                 json_integer(0)),
            "distance",
            with(number("The Euclidean distance to it, in the model's scaled space."),
                 "minimum", json_integer(0)),
            "distances",
            arr(number(NULL), "With `explain=1`: the distance to every centroid."), NULL));
    put(s, "Prediction",
        put(put(json_object(), "description",
                str("One prediction: KNN or k-means, by the active model's kind.")),
            "oneOf", push(push(json_array(), sref("KnnPrediction")), sref("KmeansPrediction"))));
    put(s, "PredictResponse",
        obj("The predictions of one model.", "model_version predictions", "model_version",
            integer("The model version that answered (one per request)."), "predictions",
            arr(sref("Prediction"), "One per instance, in order."), NULL));
    put(s, "FeedbackRequest",
        obj("The true label of a logged prediction.", "id label", "id",
            with(integer("A prediction id from a predict route."), "minimum", json_integer(1)),
            "label",
            with(with(string("The true class."), "minLength", json_integer(1)), "maxLength",
                 json_integer(200)),
            NULL));
    put(s, "FeedbackResponse",
        obj("The feedback as stored.", "id label model_version new", "id", integer(NULL),
            "label", string(NULL), "model_version",
            integer("The model version that made the prediction."), "new",
            boolean("False when the same label was already there (nothing changed)."),
            NULL));
    put(s, "Model",
        obj("A stored model version.", "version kind active params metrics dataset_version "
            "created", "version", integer(NULL), "kind", enumerate(string(NULL), "knn kmeans"),
            "active", boolean("Whether it is the active model."), "params",
            nullable(ty("object", "The training parameters.")), "metrics",
            nullable(ty("object", "The scores measured at training (KNN: `accuracy`, ...; "
                                  "k-means: `inertia`, `silhouette`, ...) and "
                                  "`feature_stats`.")),
            "dataset_version", integer("The data set version it was trained on."), "created",
            number("Seconds since the epoch."), "train_seconds",
            number("How long training took."), NULL));
    put(s, "ModelInput",
        obj("What the active model takes and answers (the active model only).", NULL,
            "features",
            strings("The feature names, in the order instances give them."), "classes",
            strings("KNN: the class labels."), "clusters",
            integer("k-means: the number of clusters."), NULL));
    put(s, "ActiveModel",
        put(put(json_object(), "description", str("The active model as it serves.")), "allOf",
            push(push(push(json_array(), sref("Model")), sref("ModelInput")),
                 obj(NULL, "features", NULL))));
    put(s, "ModelDetail",
        put(put(json_object(), "description",
                str("One model version; `features` and `classes`/`clusters` for the active "
                    "one only.")),
            "allOf",
            push(push(push(json_array(), sref("Model")), sref("ModelInput")),
                 obj(NULL, "curve", "curve",
                     nullable(ty("object", "The tuning curve the model was chosen from.")),
                     NULL))));
    put(s, "ModelList",
        obj("Every stored model version, and the active one.", "active model models",
            "active", nullable(integer("The active version.")), "model",
            nullable(sref("ActiveModel")), "models", arr(sref("Model"), NULL), NULL));
    put(s, "QualityVersion",
        obj("The online quality of one model version.",
            "version kind active predictions feedback correct abstained accuracy", "version",
            integer(NULL), "kind", string(NULL), "active", boolean(NULL), "predictions",
            integer("Predictions logged."), "feedback",
            integer("Predictions with feedback."), "correct",
            integer("Feedback that agreed with the prediction."), "abstained",
            integer("Feedback on abstained predictions."), "accuracy",
            nullable(number("Online accuracy; null without feedback and for k-means.")),
            "ci95",
            with(with(arr(number(NULL), "The 95% Wilson interval [lo, hi] of the accuracy "
                                        "(with an accuracy only)."),
                      "minItems", json_integer(2)),
                 "maxItems", json_integer(2)),
            "offline_accuracy", nullable(number("The accuracy measured at training.")),
            "last_feedback", number("When the last feedback came, seconds since the epoch."),
            NULL));
    put(s, "DriftFeature",
        obj("One feature's recent mean against its training rows.",
            "name train_mean train_sd recent_mean shift_sd", "name", string(NULL),
            "train_mean", nullable(number(NULL)), "train_sd", nullable(number(NULL)),
            "recent_mean", nullable(number("Over the recent requests; null without any.")),
            "shift_sd",
            nullable(number("|recent - train mean| in training sds; null below 30 "
                            "requests.")),
            NULL));
    put(s, "Drift",
        obj("Input drift of the active model.", "model_version window requests enough features",
            "model_version", integer(NULL), "window",
            integer("How many recent requests are looked at (500)."), "requests",
            integer("How many there were."), "enough",
            boolean("At least 30 requests: the shifts are computed."), "features",
            arr(sref("DriftFeature"), NULL), "max_shift_sd", number("The largest shift."),
            "max_feature", string("The feature that moved most."), NULL));
    put(s, "Quality",
        obj("The online quality report.", "versions active_version drift alerts thresholds",
            "versions", arr(sref("QualityVersion"), NULL), "active_version",
            integer("The active version, 0 when none."), "drift", nullable(sref("Drift")),
            "alerts", strings("The alerts that hold now."), "thresholds",
            obj("The alert settings.", NULL, "alert_accuracy",
                put(json_object(), "oneOf",
                    push(push(json_array(), number(NULL)),
                         enumerate(string("The offline accuracy minus 0.1."), "auto"))),
                "alert_drift", number("In training sds."), "on_drift",
                enumerate(string(NULL), "off alert retrain"), "min_confidence",
                number("Below it a KNN prediction abstains (0: never)."), NULL),
            NULL));
    put(s, "Health",
        obj("Liveness.", "status", "status", enumerate(string(NULL), "ok"), NULL));
    put(s, "Ready",
        obj("Readiness.", "status model_version", "status", enumerate(string(NULL), "ready"),
            "model_version", integer("The active model version."), NULL));
    put(s, "V2Live", obj(NULL, "live", "live", boolean(NULL), NULL));
    put(s, "V2Ready", obj(NULL, "ready", "ready", boolean(NULL), NULL));
    put(s, "V2ModelReady",
        obj(NULL, "name ready", "name", string(NULL), "ready", boolean(NULL), NULL));
    put(s, "V2TensorMetadata",
        obj("A tensor's name, datatype and shape (-1: any size).", "name datatype shape",
            "name", string(NULL), "datatype", string(NULL), "shape", arr(integer(NULL), NULL),
            NULL));
    put(s, "V2ModelMetadata",
        obj("The model's metadata.", "name versions platform inputs outputs", "name",
            string(NULL), "versions", strings("The active version."), "platform",
            enumerate(string(NULL), "mlwb"), "kind", enumerate(string(NULL), "knn kmeans"),
            "inputs", arr(sref("V2TensorMetadata"), NULL), "outputs",
            arr(sref("V2TensorMetadata"), NULL), "parameters",
            obj(NULL, NULL, "features", strings("The feature names, in order."), NULL),
            NULL));
    put(s, "V2Data",
        arr(put(json_object(), "oneOf",
                push(push(json_array(), number(NULL)), sref("V2Data"))),
            "Numbers, flat (row-major) or nested."));
    put(s, "V2RequestTensor",
        obj("The one input tensor.", "name shape datatype data", "name",
            with(string("Any name (`input-0` in the metadata)."), "example", str("input-0")),
            "shape",
            with(with(arr(integer(NULL), "[N, D] (or [D] for one row)."), "minItems",
                      json_integer(1)),
                 "maxItems", json_integer(2)),
            "datatype", enumerate(string(NULL), "FP32 FP64"), "data", sref("V2Data"), NULL));
    put(s, "V2InferRequest",
        obj("An inference request.", "inputs", "id",
            string("Echoed in the answer."), "inputs",
            with(with(arr(sref("V2RequestTensor"), "Exactly one tensor."), "minItems",
                      json_integer(1)),
                 "maxItems", json_integer(1)),
            NULL));
    put(s, "V2ResponseTensor",
        obj("An output tensor.", "name datatype shape data", "name",
            enumerate(string(NULL), "label confidence cluster distance id"), "datatype",
            enumerate(string(NULL), "BYTES FP32 INT32 FP64 INT64"), "shape",
            arr(integer(NULL), "[N]."), "data",
            arr(json_object(), "N values (`label`: strings, null when abstaining)."), NULL));
    put(s, "V2InferResponse",
        obj("An inference answer.", "model_name model_version outputs", "model_name",
            string(NULL), "model_version", string(NULL), "id",
            string("The request's id, when it had one."), "outputs",
            arr(sref("V2ResponseTensor"), NULL), NULL));
    return s;
}

/* ------------------------------------------------------------------------------------ */
/* The OpenAPI document. */

static bool is_json(const char *type)
{
    return !type || strcmp(type, "application/json") == 0;
}

static json_t *response(const doc_resp *r)
{
    if (r->ref)
        return ref("responses", r->ref);
    json_t *o = put(json_object(), "description", str(r->desc));
    bool js = is_json(r->type);
    json_t *schema = r->schema   ? sref(r->schema)
                     : !js       ? string(NULL)
                     : r->code[0] >= '4' ? sref("Error")
                                 : ty("object", NULL);
    json_t *media = put(json_object(), "schema", schema);
    if (r->example)
        put(media, "example", js ? parse(r->example) : str(r->example));
    if (r->examples[0]) {
        json_t *ex = json_object();
        for (size_t i = 0; i < COUNT(r->examples) && r->examples[i]; i++)
            put(ex, r->examples[i], ref("examples", r->examples[i]));
        put(media, "examples", ex);
    }
    put(o, "content", put(json_object(), js ? "application/json" : r->type, media));
    if (r->header)
        put(o, "headers",
            put(json_object(), r->header,
                put(put(json_object(), "description", str(r->header_desc)), "schema",
                    string(NULL))));
    return o;
}

static json_t *operation(const doc_op *op)
{
    json_t *o = json_object();
    put(o, "tags", push(json_array(), str(op->tag)));
    put(o, "summary", str(op->summary));
    put(o, "description", str(op->desc));
    put(o, "operationId", str(op->id));
    if (op->params[0]) {
        json_t *ps = json_array();
        for (size_t i = 0; i < COUNT(op->params) && op->params[i]; i++)
            push(ps, ref("parameters", op->params[i]));
        put(o, "parameters", ps);
    }
    if (op->body)
        put(o, "requestBody",
            put(put(json_object(), "required", json_true()), "content",
                put(json_object(), "application/json",
                    put(put(json_object(), "schema", sref(op->body)), "example",
                        parse(op->body_example)))));
    json_t *rs = json_object();
    for (size_t i = 0; i < COUNT(op->resp) && op->resp[i].code; i++)
        put(rs, op->resp[i].code, response(&op->resp[i]));
    if (!json_object_get(rs, "405"))   /* every path refuses the methods it lacks */
        put(rs, "405", ref("responses", "MethodNotAllowed"));
    put(o, "responses", rs);
    if (op->auth)  /* the token is needed only when the server has one */
        put(o, "security",
            push(push(json_array(), put(json_object(), "bearerAuth", json_array())),
                 json_object()));
    return o;
}

static json_t *components(void)
{
    json_t *c = json_object();
    put(c, "schemas", schemas());
    json_t *ps = json_object();
    for (size_t i = 0; i < COUNT(params); i++) {
        const doc_param *p = &params[i];
        bool isint = strcmp(p->type, "integer") == 0;
        json_t *schema = ty(p->type, NULL);
        if (isint)
            put(schema, "minimum", json_integer(1));
        json_t *o = put(put(json_object(), "name", str(p->name)), "in", str(p->in));
        put(o, "required", json_boolean(p->required));
        put(o, "description", str(p->desc));
        put(o, "schema", schema);
        put(o, "example", isint ? parse(p->example) : str(p->example));
        put(ps, p->name, o);
    }
    put(c, "parameters", ps);
    json_t *rs = json_object();
    for (size_t i = 0; i < COUNT(shared_resps); i++) {
        doc_resp r = shared_resps[i].r;
        r.ref = NULL;
        put(rs, shared_resps[i].name, response(&r));
    }
    put(c, "responses", rs);
    json_t *ex = json_object();
    for (size_t i = 0; i < COUNT(named_examples); i++)
        put(ex, named_examples[i].name,
            put(put(json_object(), "summary", str(named_examples[i].summary)), "value",
                parse(named_examples[i].value)));
    put(c, "examples", ex);
    json_t *bearer = put(put(json_object(), "type", str("http")), "scheme", str("bearer"));
    put(bearer, "description",
        str("`Authorization: Bearer T`, needed on the routes that predict or write when the "
            "server was started with a token (`token=T`, `token-file=PATH` or "
            "`MLWB_TOKEN`; at least 8 characters). Without a token these routes are open."));
    put(c, "securitySchemes", put(json_object(), "bearerAuth", bearer));
    return c;
}

static json_t *openapi_tree(void)
{
    json_t *d = json_object();
    put(d, "openapi", str("3.0.3"));
    json_t *info = put(json_object(), "title", str(api_title));
    put(info, "version", str(MLWB_VERSION));
    put(info, "description", str(api_desc));
    put(d, "info", info);
    json_t *ts = json_array();
    for (size_t i = 0; i < COUNT(tags); i++)
        push(ts, put(put(json_object(), "name", str(tags[i].name)), "description",
                     str(tags[i].desc)));
    put(d, "tags", ts);
    json_t *paths = json_object();
    for (size_t i = 0; i < COUNT(ops); i++) {
        json_t *item = json_object_get(paths, ops[i].path);
        if (!item) {
            item = json_object();
            put(paths, ops[i].path, item);
            if (!json_object_get(paths, ops[i].path))
                continue;  /* out of memory: noted */
        }
        put(item, ops[i].method, operation(&ops[i]));
    }
    put(d, "paths", paths);
    put(d, "components", components());
    return d;
}

static const char openapi_fallback[] =
    "{\"openapi\":\"3.0.3\",\"info\":{\"title\":\"mlwb HTTP API\",\"version\":\"" MLWB_VERSION
    "\",\"description\":\"(out of memory while building the full document)\"},\"paths\":{}}";

static char *openapi_text;

static void build_openapi(void)
{
    failed = false;
    json_t *d = openapi_tree();
    char *t = d && !failed ? json_dumps(d, JSON_INDENT(1) | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(d);
    openapi_text = t;
}

static pthread_once_t openapi_once = PTHREAD_ONCE_INIT;

const char *http_openapi_json(void)
{
    pthread_once(&openapi_once, build_openapi);
    return openapi_text ? openapi_text : openapi_fallback;
}

/* ------------------------------------------------------------------------------------ */
/* The HTML page. */

static const char page_css[] =
    ":root{color-scheme:light dark;--fg:#1d2330;--bg:#fff;--muted:#5b6475;--line:#d9dde4;"
    "--code:#f3f5f8;--accent:#2456a6;--get:#1f7a46;--post:#94580a;--bad:#b3261e}\n"
    "@media (prefers-color-scheme:dark){:root{--fg:#e4e7ec;--bg:#15181d;--muted:#a3abb8;"
    "--line:#353b46;--code:#1f242c;--accent:#8fb4ff;--get:#6fd39a;--post:#f0b35a;"
    "--bad:#ff8a80}}\n"
    "*{box-sizing:border-box}\n"
    "body{font:16px/1.55 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "color:var(--fg);background:var(--bg);max-width:64rem;margin:0 auto;"
    "padding:1rem 1.25rem 4rem}\n"
    "h1{margin:.5rem 0 0}h2{margin-top:2.5rem;border-bottom:1px solid var(--line);"
    "padding-bottom:.25rem}h3{margin:0 0 .25rem;font-size:1.1rem}\n"
    "a{color:var(--accent)}p{margin:.4rem 0}.muted{color:var(--muted)}\n"
    "code,pre,textarea,input{font:14px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,"
    "monospace}\n"
    "code{background:var(--code);padding:0 .25em;border-radius:4px}\n"
    "pre{background:var(--code);padding:.55rem .75rem;border-radius:6px;"
    "white-space:pre-wrap;word-break:break-word;margin:.3rem 0}\n"
    "pre code{padding:0;background:none}\n"
    "table{border-collapse:collapse;width:100%;margin:.4rem 0}\n"
    "th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;"
    "border-bottom:1px solid var(--line)}\n"
    "th{font-weight:600}td pre{margin:0}\n"
    ".m{display:inline-block;min-width:3.4rem;font:600 13px/1.6 ui-monospace,monospace;"
    "text-align:center;border-radius:4px;color:var(--bg);margin-right:.4rem}\n"
    ".get{background:var(--get)}.post{background:var(--post)}\n"
    ".lock{font-size:12px;border:1px solid var(--muted);color:var(--muted);"
    "border-radius:4px;padding:0 .35rem;margin-left:.4rem;vertical-align:middle}\n"
    "article{border:1px solid var(--line);border-radius:8px;padding:.8rem 1rem;"
    "margin:1rem 0}\n"
    "h4{margin:.8rem 0 .2rem;font-size:.95rem;color:var(--muted)}\n"
    "form{margin:.5rem 0}label{display:block;margin:.5rem 0 .2rem;font-weight:600}\n"
    "label.inline{display:inline;font-weight:normal;margin-left:1rem}\n"
    "textarea,input[type=password]{width:100%;padding:.4rem;border:1px solid var(--line);"
    "border-radius:6px;background:var(--bg);color:var(--fg)}\n"
    "button{font:inherit;padding:.35rem .9rem;margin:.6rem .5rem 0 0;border-radius:6px;"
    "border:1px solid var(--accent);background:var(--accent);color:var(--bg);cursor:pointer}\n"
    "button.alt{background:none;color:var(--accent)}\n"
    ".inline{display:inline}#status.ok{color:var(--get)}#status.bad{color:var(--bad)}\n"
    "#try{border:1px solid var(--line);border-radius:8px;padding:.2rem 1rem 1rem}\n";

/* Every element the script uses has an id; it only adds behaviour. */
static const char page_script[] =
    "(function () {\n"
    "  'use strict';\n"
    "  var byId = function (id) { return document.getElementById(id); };\n"
    "  var hosts = document.querySelectorAll('.host');\n"
    "  for (var i = 0; i < hosts.length; i++) if (location.host) hosts[i].textContent = "
    "location.host;\n"
    "  function show(what, text, ok) {\n"
    "    var s = byId('status'), a = byId('answer');\n"
    "    s.textContent = what; s.className = ok ? 'ok' : 'bad';\n"
    "    a.textContent = text; a.hidden = text === '';\n"
    "  }\n"
    "  function call(method, path, body) {\n"
    "    var headers = {}, token = byId('token').value.trim();\n"
    "    if (token) headers['Authorization'] = 'Bearer ' + token;\n"
    "    if (body !== undefined) headers['Content-Type'] = 'application/json';\n"
    "    var what = method + ' ' + path;\n"
    "    show(what + ' \\u2026', '', true);\n"
    "    fetch(path, {method: method, headers: headers, body: body, cache: 'no-store'})\n"
    "      .then(function (r) {\n"
    "        return r.text().then(function (text) {\n"
    "          show(what + ' \\u2192 ' + r.status + ' ' + r.statusText, text, r.ok);\n"
    "        });\n"
    "      })\n"
    "      .catch(function (e) { show(what + ': the request failed', String(e), false); });\n"
    "  }\n"
    "  byId('predict-form').addEventListener('submit', function (ev) {\n"
    "    ev.preventDefault();\n"
    "    var v;\n"
    "    try { v = JSON.parse(byId('instances').value); }\n"
    "    catch (e) { show('instances: not valid JSON', e.message, false); return; }\n"
    "    var body = v !== null && typeof v === 'object' && !Array.isArray(v) ? v\n"
    "                                                                     : {instances: v};\n"
    "    call('POST', '/v1/predict' + (byId('explain').checked ? '?explain=1' : ''),\n"
    "         JSON.stringify(body));\n"
    "  });\n"
    "  /* the active model's width and features: a fitting example when it is not 4 wide */\n"
    "  fetch('/v1/models', {cache: 'no-store'}).then(function (r) { return r.json(); })\n"
    "    .then(function (d) {\n"
    "      var fs = d && d.model && d.model.metrics && d.model.metrics.feature_stats;\n"
    "      if (!Array.isArray(fs) || !fs.length) return;\n"
    "      byId('features').textContent = 'The model takes ' + fs.length + ' features: ' +\n"
    "        fs.map(function (f) { return f.name; }).join(', ') + '.';\n"
    "      var box = byId('instances');\n"
    "      if (fs.length !== 4 && box.value === box.defaultValue)\n"
    "        box.value = JSON.stringify([fs.map(function (f) {\n"
    "          return Number(Number(f.mean).toPrecision(3)); })]);\n"
    "    }).catch(function () {});\n"
    "  ['models', 'quality'].forEach(function (name) {\n"
    "    byId(name + '-form').addEventListener('submit', function (ev) {\n"
    "      ev.preventDefault();\n"
    "      call('GET', '/v1/' + name);\n"
    "    });\n"
    "  });\n"
    "})();\n";

/* Text into HTML text content (never an attribute value): escaped. */
static void h_text(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i]; i++) {
        switch (s[i]) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        default: fputc(s[i], f);
        }
    }
}

static void h_str(FILE *f, const char *s)
{
    h_text(f, s, strlen(s));
}

/* A description: `code` spans, and paragraphs between blank lines. */
static void h_md_inline(FILE *f, const char *s, size_t n)
{
    bool code = false;
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '`') {
            h_text(f, s + start, i - start);
            fputs(code ? "</code>" : "<code>", f);
            code = !code;
            start = i + 1;
        }
    }
    h_text(f, s + start, n - start);
    if (code)  /* an unpaired backtick: close the span */
        fputs("</code>", f);
}

static void h_md(FILE *f, const char *s)
{
    while (*s) {
        const char *end = strstr(s, "\n\n");
        size_t n = end ? (size_t)(end - s) : strlen(s);
        fputs("<p>", f);
        h_md_inline(f, s, n);
        fputs("</p>\n", f);
        s += n;
        while (*s == '\n')
            s++;
    }
}

static void h_pre(FILE *f, const char *text)
{
    fputs("<pre><code>", f);
    h_str(f, text);
    fputs("</code></pre>\n", f);
}

static void h_method(FILE *f, const char *method)
{
    fprintf(f, "<span class=\"m %s\">", method);
    for (const char *p = method; *p; p++)
        fputc(*p - 'a' + 'A', f);
    fputs("</span>", f);
}

/* The example command: curl, the host shown without a scheme (curl's default). */
static void h_curl(FILE *f, const doc_op *op)
{
    fputs("<pre><code>curl -s ", f);
    if (strchr(op->target, '['))
        fputs("-g ", f);
    if (op->body) {
        fputs("-H 'Content-Type: application/json' -d '", f);
        h_str(f, op->body_example);
        fputs("' \\\n     ", f);
    }
    fputs("'<span class=\"host\">127.0.0.1:8000</span>", f);
    h_str(f, op->target);
    fputs("'</code></pre>\n", f);
    if (op->auth)
        fputs("<p class=\"muted\">When the server has a token, add "
              "<code>-H 'Authorization: Bearer T'</code>.</p>\n", f);
}

static void h_answer(FILE *f, const doc_resp *r)
{
    const char *code = r->code;
    if (r->ref)
        r = shared_resp(r->ref);
    if (!r)
        return;
    fprintf(f, "<tr><td>%s</td><td>", code);
    h_md_inline(f, r->desc, strlen(r->desc));
    if (r->header) {
        fputs(" <span class=\"muted\">Header <code>", f);
        h_str(f, r->header);
        fputs("</code>.</span>", f);
    }
    fputs("</td><td>", f);
    if (r->example) {
        h_pre(f, r->example);
    }
    for (size_t i = 0; i < COUNT(r->examples) && r->examples[i]; i++) {
        const doc_example *e = named_example(r->examples[i]);
        if (!e)
            continue;
        fputs("<div class=\"muted\">", f);
        h_md_inline(f, e->summary, strlen(e->summary));
        fputs("</div>", f);
        h_pre(f, e->value);
    }
    fputs("</td></tr>\n", f);
}

static void h_op(FILE *f, const doc_op *op)
{
    fprintf(f, "<article id=\"%s\">\n<h3>", op->id);
    h_method(f, op->method);
    fputs("<code>", f);
    h_str(f, op->path);
    fputs("</code>", f);
    if (op->auth)
        fputs("<span class=\"lock\" title=\"needs the bearer token when the server has one\">"
              "token</span>", f);
    fputs("</h3>\n<p><strong>", f);
    h_str(f, op->summary);
    fputs("</strong></p>\n", f);
    h_md(f, op->desc);
    if (op->params[0]) {
        fputs("<h4>Parameters</h4>\n<ul>\n", f);
        for (size_t i = 0; i < COUNT(op->params) && op->params[i]; i++) {
            const doc_param *p = param(op->params[i]);
            if (!p)
                continue;
            fprintf(f, "<li><code>%s</code> (%s, %s%s): ", p->name, p->in, p->type,
                    p->required ? ", required" : "");
            h_md_inline(f, p->desc, strlen(p->desc));
            fputs(" Example: <code>", f);
            h_str(f, p->example);
            fputs("</code></li>\n", f);
        }
        fputs("</ul>\n", f);
    }
    if (op->body) {
        fputs("<h4>Request body</h4>\n", f);
        h_pre(f, op->body_example);
    }
    fputs("<h4>Example</h4>\n", f);
    h_curl(f, op);
    fputs("<h4>Answers</h4>\n<table>\n<tr><th>status</th><th>when</th><th>example</th></tr>\n",
          f);
    for (size_t i = 0; i < COUNT(op->resp) && op->resp[i].code; i++)
        h_answer(f, &op->resp[i]);
    fputs("</table>\n</article>\n", f);
}

static void h_index(FILE *f)
{
    fputs("<table>\n<tr><th>method</th><th>path</th><th>what</th><th>token</th></tr>\n", f);
    for (size_t i = 0; i < COUNT(ops); i++) {
        fputs("<tr><td>", f);
        h_method(f, ops[i].method);
        fprintf(f, "</td><td><a href=\"#%s\"><code>", ops[i].id);
        h_str(f, ops[i].path);
        fputs("</code></a></td><td>", f);
        h_str(f, ops[i].summary);
        fprintf(f, "</td><td>%s</td></tr>\n", ops[i].auth ? "yes" : "");
    }
    fputs("</table>\n", f);
}

static void h_try(FILE *f)
{
    fputs("<section id=\"try\">\n<h2>Try a prediction</h2>\n"
          "<form id=\"predict-form\" method=\"get\" action=\"/predict\">\n"
          "<label for=\"instances\">Instances: a JSON list of rows, each the model's features "
          "in order</label>\n"
          "<textarea id=\"instances\" name=\"prompt\" rows=\"4\" spellcheck=\"false\">"
          "[[5.1,3.5,1.4,0.2]]</textarea>\n"
          "<p id=\"features\" class=\"muted\"></p>\n"
          "<label for=\"token\">Bearer token <span class=\"muted\">(only when the server has "
          "one)</span></label>\n"
          "<input id=\"token\" type=\"password\" autocomplete=\"off\" placeholder=\"optional\">\n"
          "<button id=\"predict\" type=\"submit\">Predict</button>"
          "<label class=\"inline\"><input id=\"explain\" type=\"checkbox\" name=\"explain\" "
          "value=\"1\"> explain</label>\n"
          "</form>\n"
          "<form id=\"models-form\" class=\"inline\" method=\"get\" action=\"/v1/models\">"
          "<button id=\"models\" class=\"alt\" type=\"submit\">GET /v1/models</button></form>\n"
          "<form id=\"quality-form\" class=\"inline\" method=\"get\" action=\"/v1/quality\">"
          "<button id=\"quality\" class=\"alt\" type=\"submit\">GET /v1/quality</button>"
          "</form>\n"
          "<noscript><p class=\"muted\">Without JavaScript the form sends "
          "<code>GET /predict?prompt=...</code> (the token field is not sent).</p></noscript>\n"
          "<p id=\"status\" aria-live=\"polite\"></p>\n"
          "<pre id=\"answer\" hidden></pre>\n"
          "</section>\n",
          f);
}

static const struct {
    const char *code, *when;
} statuses[] = {
    {"400", "The request is malformed: not JSON, a missing field, a bad instance. The "
            "message names the place: `instances[1]: expected 4 features, got 3`."},
    {"401", "The server has a token and the request's bearer token is missing or wrong."},
    {"404", "No such route, model version, model name or prediction id."},
    {"405", "The path exists but not with this method (see the `Allow` header)."},
    {"409", "Feedback: another label was given before."},
    {"413", "The body is over the limit (1 MiB by default), or more than 10000 instances."},
    {"500", "Out of memory, or the store could not be read."},
    {"503", "No active model yet, or the listener is busy (`Retry-After: 1`)."},
};

static void h_page(FILE *f)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          f);
    h_str(f, api_title);
    fputs("</title>\n<style>\n", f);
    fputs(page_css, f);
    fputs("</style>\n</head>\n<body>\n<header>\n<h1>", f);
    h_str(f, api_title);
    fputs("</h1>\n<p class=\"muted\">mlwb " MLWB_VERSION " &middot; "
          "<a href=\"/openapi.json\">OpenAPI 3.0.3 document</a> &middot; "
          "<a href=\"#try\">try a prediction</a></p>\n</header>\n<main>\n",
          f);
    h_md(f, api_desc);
    fputs("<h2 id=\"routes\">Routes</h2>\n", f);
    h_index(f);
    h_try(f);
    fputs("<h2 id=\"errors\">Errors</h2>\n"
          "<p>Every error is <code>{\"error\": \"...\"}</code>:</p>\n<table>\n"
          "<tr><th>status</th><th>when</th></tr>\n",
          f);
    for (size_t i = 0; i < COUNT(statuses); i++) {
        fprintf(f, "<tr><td>%s</td><td>", statuses[i].code);
        h_md_inline(f, statuses[i].when, strlen(statuses[i].when));
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
    for (size_t t = 0; t < COUNT(tags); t++) {
        fprintf(f, "<h2 id=\"tag-%s\">", tags[t].name);
        h_str(f, tags[t].title);
        fputs("</h2>\n", f);
        h_md(f, tags[t].desc);
        for (size_t i = 0; i < COUNT(ops); i++)
            if (strcmp(ops[i].tag, tags[t].name) == 0)
                h_op(f, &ops[i]);
    }
    fputs("</main>\n<script>\n", f);
    fputs(page_script, f);
    fputs("</script>\n</body>\n</html>\n", f);
}

static const char html_fallback[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mlwb HTTP API"
    "</title></head><body><h1>mlwb HTTP API</h1><p>Out of memory while building this page; "
    "see <a href=\"/openapi.json\">/openapi.json</a>.</p></body></html>\n";

static char *html_text;

static void build_html(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return;
    h_page(f);
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) {
        free(buf);
        return;
    }
    html_text = buf;
}

static pthread_once_t html_once = PTHREAD_ONCE_INIT;

const char *http_docs_html(void)
{
    pthread_once(&html_once, build_html);
    return html_text ? html_text : html_fallback;
}
