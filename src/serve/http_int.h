/*
 * http_int.h — what the listener's source files share (not a public header).
 *
 * http.c owns the daemon: starting and stopping, the request life cycle (bodies, the
 * body budget), routing, responses and the string builder.  The route handlers live in
 * http.c (predict, health), http_api.c (models, feedback, quality, metrics, the API
 * description) and http_v2.c (the KServe / Open Inference Protocol v2 routes).
 * Every handler answers exactly once, through http_reply / http_reply_error.
 */
#ifndef MLWB_SERVE_HTTP_INT_H
#define MLWB_SERVE_HTTP_INT_H

#include <arpa/inet.h>
#include <jansson.h>
#include <locale.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlwb/engine/engine.h"
#include "mlwb/engine/registry.h"
#include "mlwb/serve/http.h"

enum {
    DEFAULT_MAX_BODY = 1 << 20,   /* bytes */
    MAX_BODY_LIMIT = 1 << 30,     /* a larger max_body is clamped to this */
    DISCARD_FACTOR = 8,           /* past max_body * this, an upload is cut off */
    BODY_MIN_CAP = 4096,          /* the first allocation of a body buffer */
    DEFAULT_MAX_BUFFERED = 64 << 20, /* bytes of all body buffers together, at least */
    BUFFERED_PER_BODY = 16,       /* ... or this many bodies at max_body, if larger */
    RETRY_AFTER_S = 1,            /* the Retry-After of a 503 "server busy" */
    MAX_INSTANCES = 10000,        /* per request */
    CONN_TIMEOUT_S = 15,
    PER_IP_LIMIT = 64,
    CONN_LIMIT = 1024,
    MAX_THREADS = 64,
    DRAIN_S = 5,                  /* http_stop waits this long for requests in flight */
    ERR_MSG = 400,                /* bytes of an error message */
    URL_SHOWN = 200,              /* at most this much of a path is echoed in errors */
    HEADER_MEMORY = (int)HTTP_DEFAULT_HEADER_SIZE, /* libmicrohttpd's per-connection memory:
                                     headers (it is cleared for every request: smaller is
                                     faster); the default of http-header-size */
};

/* Routes counted separately in /metrics (http_route_index). */
enum { RT_PREDICT, RT_PROMPT, RT_FEEDBACK, RT_MODELS, RT_QUALITY, RT_HEALTH, RT_METRICS,
       RT_DOCS, RT_V2, RT_OTHER, RT_COUNT };
/* Status codes counted per route. */
enum { SC_200, SC_400, SC_401, SC_404, SC_405, SC_409, SC_413, SC_500, SC_503, SC_OTHER,
       SC_COUNT };

struct http_server {
    engine *eng;
    registry *reg;
    struct MHD_Daemon *d;
    char addr[INET6_ADDRSTRLEN];  /* the bound address, normalised ("127.0.0.1", "::1") */
    int port;                     /* the bound port */
    char *token;                  /* NULL = predict is open */
    size_t token_len;
    size_t max_body;
    size_t max_instances;         /* per request */
    size_t max_buffered;          /* the budget of `buffered` */
    locale_t cloc;                /* "C" numerics for formatting; (locale_t)0 if none */

    atomic_uint_fast64_t requests, errors, predictions;
    atomic_uint_fast64_t latency[HTTP_LAT_BUCKETS];  /* see http.h */
    atomic_uint_fast64_t by_route[RT_COUNT][SC_COUNT];  /* answers per route and status */
    atomic_uint_fast64_t feedback;  /* feedback labels accepted (new) */
    atomic_long in_flight;        /* requests between their first call and completion */
    atomic_size_t buffered;       /* bytes allocated to body buffers, <= max_buffered */
    atomic_bool stopping;
    pthread_mutex_t mu;           /* with `drained`: http_stop waits for in_flight == 0 */
    pthread_cond_t drained;

    pthread_mutex_t log_mu;       /* libmicrohttpd's messages, kept only while starting */
    bool capturing;
    char start_log[256];
};

/* A string builder: inline storage first, the heap past it; an allocation failure is
 * remembered (oom) and turns the response into a 500.  Never copied by value. */
typedef struct sb {
    char *p;
    size_t len, cap;
    bool oom;
    char inl[1024];
} sb;

void sb_init(sb *b);
void sb_free(sb *b);
void sb_reset(sb *b);
bool sb_reserve(sb *b, size_t extra);
void sb_putn(sb *b, const char *s, size_t n);
void sb_puts(sb *b, const char *s);
void sb_putc(sb *b, char c);
void sb_i64(sb *b, int64_t v);
void sb_printf(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_json_str(sb *b, const char *s);  /* a JSON string literal */
void sb_double(sb *b, double v);        /* %.15g; null when not finite */
void sb_real(sb *b, float v);            /* the shortest float32 decimal, always a real */
/* Bytes of the valid UTF-8 sequence at s, 0 when invalid. */
size_t http_utf8_seq(const unsigned char *s);

/* One call of the access handler: what the handlers need to answer. */
struct call {
    int route;               /* RT_*, for the per-route counters */
    char arg[128];           /* the '*' segment of the route's path ("3", "default") */
    http_server *s;
    double t0;               /* monotonic ms when this handler call started */
    struct MHD_Connection *conn;
    const char *url, *method;
    const char *body;        /* the request body, or NULL */
    size_t len;
    const char *allow;       /* set for 405: the Allow header */
    bool challenge;          /* set for 401: a WWW-Authenticate header */
    bool retry;              /* set for 503 "busy": a Retry-After header */
    bool close;              /* "Connection: close": the framing of the request is not
                                trusted (conflicting Content-Length, Transfer-Encoding) */
};

double http_now_ms(void);
/* Answer with a JSON text (or, with http_reply_type, another content type). */
enum MHD_Result http_reply(struct call *c, unsigned status, const char *text, size_t len);
enum MHD_Result http_reply_type(struct call *c, unsigned status, const char *type,
                                const char *text, size_t len);
enum MHD_Result http_reply_error(struct call *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
enum MHD_Result http_reply_sb(struct call *c, unsigned status, sb *b);
/* A JSON value as the answer (consumed); 500 when it cannot be written. */
enum MHD_Result http_reply_json(struct call *c, unsigned status, json_t *v);

/* Instances: JSON or a query string in, a validated float matrix out. */
struct batch {
    float *x;          /* n * d */
    size_t n, d;
    float inl[256];
};

struct perr {          /* why a request was refused */
    unsigned status;
    char msg[ERR_MSG];
};

bool http_fail(struct perr *pe, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool http_batch_alloc(struct batch *b, size_t n, size_t d, struct perr *pe);
void http_batch_free(struct batch *b);
const char *http_json_kind(const json_t *v);  /* "an object", "a number", ... */
/* A NUL byte in a JSON body (JSON text has none, but jansson passes over one between
 * tokens): true with a 400 naming its offset. */
bool http_body_nul(const char *body, size_t len, struct perr *pe);
/* jansson's reason for a parse error, in words for the client. */
const char *http_json_why(const json_error_t *je);
bool http_to_float(double v, float *out);     /* finite and within float32, or false */

/* Where the instances come from, for the fill functions. */
struct source {
    const json_t *rows;   /* JSON: an array of instances */
    bool flat;            /* one instance: JSON `rows` is it, or the query list */
    const char *name;     /* "instances", "prompt", "x": names the place in errors */
    const char *text;     /* query string: "5.1,3.5,1.4,0.2"; or a POST body (len bytes) */
    size_t len;
    struct batch *ready;  /* POST: the instances the fast reader took (fill_fast) */
    size_t max;           /* instances allowed (the server's max_instances) */
};

/* Every value of b within MDL_MAX_SCALED of the training data (mdl_far_value); else
 * false with a 400 naming the value ("name[i][j]", or "name[i*d+j]" when flat). */
bool http_check_range(const mdl *m, const struct batch *b, const char *name, bool flat,
                      struct perr *pe);
/* 503 "no active model" (into *q) when no model is active. */
bool http_no_model(struct call *c, enum MHD_Result *q);
typedef bool (*fill_fn)(const struct source *src, size_t d, struct batch *b, struct perr *pe);
bool http_fill_json(const struct source *src, size_t d, struct batch *b, struct perr *pe);
bool http_fill_list(const struct source *src, size_t d, struct batch *b, struct perr *pe);
/* Request parsing, pure (no connection, no model, no server): the handlers call these
 * before and after taking the active model, and the fuzz targets (tests/fuzz/) call the
 * same code.  Each returns false with pe set (400, or 413 past `max` instances; 500 only
 * when out of memory) for a bad request; the messages are what the client gets. */

/* The usual POST /v1/predict body, {"instances": [[n, ...], ...]} and nothing else, read
 * straight into b (n instances of one width, at most max): false, with b empty, for any
 * other text, which http_parse_predict_post then reads (and judges). */
bool http_fill_instances_fast(const char *body, size_t len, size_t max, struct batch *b);

/* POST /v1/predict's body, {"instances": [[...], ...]}, up to its instances: on success
 * *doc is the document (json_decref it after the fill) and *src feeds http_fill_json. */
bool http_parse_predict_post(const char *body, size_t len, size_t max, json_t **doc,
                             struct source *src, struct perr *pe);
/* The whole full path for a body: http_parse_predict_post, then http_fill_json for a
 * model of width d (the fast reader's fallback, and what the fuzz target checks). */
bool http_fill_body(const char *body, size_t len, size_t d, size_t max, struct batch *b,
                    struct perr *pe);
/* GET /predict's prompt (NUL-terminated JSON text): a list of instances or one flat
 * instance, the same way. */
bool http_parse_prompt(const char *prompt, size_t max, json_t **doc, struct source *src,
                       struct perr *pe);

/* POST /v1/feedback's body: {"id": N >= 1, "label": "1 to 200 bytes"}. */
struct feedback_req {
    int64_t id;
    char label[201];
};
bool http_parse_feedback(const char *body, size_t len, struct feedback_req *r,
                         struct perr *pe);

/* POST /v2/models/{name}/infer: the body as a JSON object (*doc: json_decref it), then
 * its one input tensor as rows of d features (at most max) into b; *nested tells whether
 * `data` was nested as the shape says (data[i][j]) or flat (data[i*d+j]). */
bool http_parse_infer_doc(const char *body, size_t len, json_t **doc, struct perr *pe);
bool http_infer_input(const json_t *doc, size_t d, size_t max, struct batch *b, bool *nested,
                      struct perr *pe);

/* The route of a request path: its RT_* id, its pattern in *pattern (when not NULL) and
 * its '*' segment in arg (n bytes, cut to n - 1), or -1 (and *pattern NULL). */
int http_route_find(const char *url, char *arg, size_t n, const char **pattern);
/* {"error": msg} as http_reply_error sends it: escaped, invalid UTF-8 repaired. */
void http_error_json(sb *b, const char *msg);

/* One prediction of a row. */
typedef struct pred_out {
    int64_t id;          /* in the prediction log; 0 when it could not be logged */
    int32_t label;       /* KNN: the class index; k-means: the cluster */
    float conf;          /* KNN */
    double dist;         /* k-means */
    bool abstained;      /* KNN under set min-confidence */
} pred_out;
/* Predict and log every row of b with m into out (b->n entries); false when out of
 * memory (nothing is answered then). */
bool http_predict_rows(struct call *c, const mdl *m, const struct batch *b, pred_out *out);
/* The logged output of one prediction: {"label": ..., "confidence": ...} or
 * {"cluster": ..., "distance": ...} (or the abstained form). */
void http_pred_json(sb *res, const mdl *m, const pred_out *o);

/* Predict every instance src yields with the active model, log them, answer. */
enum MHD_Result http_predict_from(struct call *c, fill_fn fill, const struct source *src);

json_t *http_json_or_null(const char *text);  /* parsed JSON text, or null */
json_t *http_str_json(const char *s);         /* a string, invalid UTF-8 repaired */

typedef enum MHD_Result (*handler_fn)(struct call *c);

/* http_api.c */
enum MHD_Result h_models(struct call *c);       /* GET /v1/models */
enum MHD_Result h_model_one(struct call *c);    /* GET /v1/models/{version} */
enum MHD_Result h_feedback(struct call *c);     /* POST /v1/feedback */
enum MHD_Result h_quality(struct call *c);      /* GET /v1/quality */
enum MHD_Result h_metrics(struct call *c);      /* GET /metrics */
enum MHD_Result h_openapi(struct call *c);      /* GET /openapi.json */
enum MHD_Result h_docs(struct call *c);         /* GET /docs */
/* http_v2.c */
enum MHD_Result h_v2_live(struct call *c);
enum MHD_Result h_v2_ready(struct call *c);
enum MHD_Result h_v2_model(struct call *c);     /* GET /v2/models/{name}[/ready] */
enum MHD_Result h_v2_infer(struct call *c);     /* POST /v2/models/{name}/infer */

#endif
