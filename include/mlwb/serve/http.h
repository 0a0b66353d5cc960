/*
 * http.h — the embedded HTTP listener (libmicrohttpd) for external inference.
 *
 * The listener owns no model state: each request takes a reference to the registry's
 * active model, answers with it, and releases it, so a model published mid-request
 * never disturbs that request.  Predictions are logged through the engine's bounded
 * prediction log (never blocking a request).  Only JSON bodies are accepted (no
 * multipart/form parsing); bodies are capped, each and all together (see max_buffered);
 * connections time out.
 *
 * Routes (see docs/http-api.md and GET /openapi.json): POST /v1/predict,
 * GET /v1/predict?x=.., GET /predict?prompt=[[..]], POST /v1/feedback, GET /v1/models,
 * GET /v1/models/{version}, GET /v1/quality, GET /healthz, GET /readyz, GET /metrics,
 * GET /openapi.json, GET /docs, and the KServe v2 routes under /v2.
 *
 * Threads: http_start/http_stop from one thread (the UI's); the listener's own threads
 * serve requests; http_get_stats from any thread.
 */
#ifndef MLWB_SERVE_HTTP_H
#define MLWB_SERVE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlwb/core/err.h"
#include "mlwb/engine/engine.h"

typedef struct http_server http_server;

typedef struct http_opts {
    const char *addr;        /* IPv4 or IPv6 literal, or "localhost"; NULL = 127.0.0.1 */
    int port;                /* 0 = any free port (see http_port) */
    const char *token;       /* bearer token for predict; NULL = none */
    size_t max_body;         /* bytes; 0 = default (1 MiB) */
    size_t max_buffered;     /* request-body bytes buffered across all connections; a body
                                that would go over is answered 503 with Retry-After.
                                0 = default: the larger of 64 MiB and 16 x max_body;
                                a value below max_body is raised to max_body */
    unsigned threads;        /* the listener's threads; 0 = http_default_threads() */
    unsigned max_instances;  /* per request; 0 = 10000 */
    unsigned connections;    /* at once; 0 = 1024 */
    unsigned per_ip;         /* connections at once from one address; 0 = 64 */
    unsigned timeout_s;      /* an idle connection is closed after this; 0 = 15 */
    size_t header_size;      /* memory for one connection's request line and headers
                                (libmicrohttpd's connection memory limit); 0 =
                                HTTP_DEFAULT_HEADER_SIZE */
} http_opts;

/* The default of http_opts.threads (and of the setting http-threads): half the cores,
 * at least 1.  The other half is left to what serving also needs — the prediction log's
 * writer, training, the clients on the same machine: on 2 cores, one listener thread
 * answered as many requests a second as two, with half the tail latency (docs/BENCHMARKS.md). */
unsigned http_default_threads(void);

/* The default of http_opts.header_size (and of the setting http-header-size): 16 KiB.
 * libmicrohttpd clears this pool for every request, so smaller is faster. */
#define HTTP_DEFAULT_HEADER_SIZE ((size_t)16 << 10)

mlwb_status http_start(engine *e, const http_opts *o, http_server **out, char **err);
/* Stop accepting, finish in-flight requests, free. */
void http_stop(http_server **s);

int http_port(const http_server *s);
const char *http_addr(const http_server *s);

/* Latency histogram: bucket 0 counts answers that took under 1 µs, bucket i (1 ..
 * HTTP_LAT_BUCKETS-2) those in [2^(i-1), 2^i) µs, the last everything slower.  The time
 * is the server's own: from the start of the handler call that answers to the response
 * being queued (receiving a body and sending the answer are not included). */
#define HTTP_LAT_BUCKETS 32

typedef struct http_stats {
    uint64_t requests;     /* all requests answered */
    uint64_t errors;       /* answered with 4xx/5xx */
    uint64_t predictions;  /* instances predicted */
    uint64_t latency[HTTP_LAT_BUCKETS];
} http_stats;
void http_get_stats(const http_server *s, http_stats *out);

/* The q-quantile (0 < q < 1) in milliseconds of the answers counted in `now` but not in
 * `before` (NULL: all of them), interpolated within its bucket; -1 when there are none. */
double http_latency_quantile(const http_stats *now, const http_stats *before, double q);
/* The upper bound of bucket i in seconds (INFINITY for the last). */
double http_latency_bound(int i);

/* Parse "[ADDR:]PORT" ("8000", "0.0.0.0:8000", "[::1]:8000"); addr gets a malloc'd
 * string or NULL when absent.  Exposed for the command layer and tests. */
mlwb_status http_parse_listen(const char *spec, char **addr, int *port, char **err);
/* Whether addr (as http_parse_listen gives it: NULL, "localhost", an IPv4 or an IPv6
 * address, brackets allowed) is a loopback address: 127/8, ::1 or ::ffff:127/104, however
 * it is written ("0:0:0:0:0:0:0:1" too). */
bool http_addr_is_loopback(const char *addr);

#endif
