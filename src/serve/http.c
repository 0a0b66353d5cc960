/*
 * http.c — the embedded HTTP listener: libmicrohttpd in, JSON out (see mlwb/serve/http.h).
 *
 * What.  One libmicrohttpd daemon (epoll; http_opts.threads internal threads, by default
 * half the cores, at least 1) answers a small table of routes.  Predictions take one
 * reference to the registry's active model per request, classify every instance, log
 * each one through the engine's never-blocking prediction log, and drop the reference.
 * The listener owns no model state.
 *
 *   POST /v1/predict   {"instances": [[f, ...], ...]}        predict (token when set)
 *   GET  /v1/predict?x=f,f,...                               one instance
 *   GET  /predict?prompt=[[f,...],...]                       the old template's call
 *   GET  /v1/models    GET /healthz    GET /readyz
 *
 * Guarantees.
 * - Every response is JSON with `Content-Type: application/json`; every error is
 *   {"error": "..."} with a 4xx/5xx status and a message that names the place
 *   ("instances[2]: expected 4 features, got 3").  Strings from the outside (paths,
 *   class names) are escaped and UTF-8-sanitised, so the output is always valid JSON.
 * - Bodies are capped (http_opts.max_body, default 1 MiB): a declared Content-Length
 *   over the cap is refused with 413 before the body is read; a chunked body is counted
 *   as it arrives and answered 413 once it ends (past 8x the cap the connection is
 *   dropped).  Only JSON is accepted: no form or multipart parsing (no PostProcessor).
 *   Request bodies are parsed by jansson, never evaluated; `prompt` too.
 * - Body memory follows the bytes that arrived, never the declared length: a buffer
 *   starts at 4 KiB and doubles as data comes (at most to the declared length or
 *   max_body), so a client that declares 1 MB and sends 10 bytes costs 4 KiB.
 * - All buffered bodies together stay under a budget (http_opts.max_buffered, default
 *   the larger of 64 MiB and 16 x max_body).  Every byte of every body buffer is charged
 *   to one atomic counter before it is allocated and given back when the buffer is
 *   freed; the counter never exceeds the budget and never underflows (compare-and-swap
 *   on the way up, each request returns exactly what it holds on the way down), and it
 *   is back to 0 once the daemon has stopped (asserted in http_stop).  A body that would
 *   go over is refused with 503 {"error": "server busy: ..."} and `Retry-After: 1`:
 *   on the first call when the declared length (4 KiB for a chunked body) does not fit,
 *   answered at once (MHD then closes the connection, the body unread); when a growth
 *   step does not fit midway, the bytes held are freed at once, the rest of the body is
 *   read and discarded, and the 503 goes out when the body ends.  It is not answered
 *   at the moment of overflow because libmicrohttpd 0.9.75 queues no response while a
 *   body is arriving (MHD_queue_response returns MHD_NO between the first and the last
 *   call; checked); the connection is dropped only when MHD refuses the 503 itself.
 * - Slow clients.  MHD's timeout (15 s) is an idle timeout: a client that sends one
 *   byte every 14 s keeps its connection forever, and there is deliberately no minimum
 *   transfer rate here.  What bounds the damage is the above: such a client holds a
 *   buffer of 4 KiB or at most twice what it sent (plus MHD's own per-connection pool,
 *   16 KiB by default), all of them together at most max_buffered, and they occupy at
 *   most 64 connections per address and 1024 in all.  Clients from many addresses can
 *   still take all 1024 slots: facing the open internet, put a proxy with a minimum
 *   body rate in front.
 * - Framing that a proxy in front could read another way is refused on the first call
 *   with 400 and "Connection: close" (request smuggling): Content-Length headers with
 *   different values, Content-Length with Transfer-Encoding, two Transfer-Encoding
 *   headers, a blank between a header's name and its colon, two Host headers; a
 *   Transfer-Encoding other than chunked is 501.  MHD_OPTION_STRICT_FOR_CLIENT makes
 *   libmicrohttpd itself refuse an HTTP/1.1 request without Host.  (libmicrohttpd
 *   0.9.75 sends the status line and headers of its own 400s twice, e.g. for
 *   "Content-Length: abc"; the status is right and the connection is closed.)
 * - Our own unescaping (unescape()) keeps "%00" from cutting the path or a query value
 *   short: such a request is answered 400 before it is routed.
 * - A request is validated completely before anything is predicted or logged, so a
 *   bad instance at the end of a batch leaves no trace.
 * - Connections time out (15 s idle), at most 64 per client address and 1024 in all.
 * - http_stop stops accepting, lets the requests in flight finish (up to 5 s), then
 *   closes idle keep-alive connections and frees everything.
 *
 * Request life cycle (libmicrohttpd 0.9.75).  The access handler runs several times per
 * request.  The first call (headers only) sets `*con_cls` and answers nothing, except
 * to refuse a body early (Content-Length over the cap, no such route, bad token):
 * answering there makes MHD close the connection, which is right for a refused upload
 * but costs keep-alive, so every other answer is queued on the last call.  Calls with
 * upload data append to the request's buffer.  `*con_cls` is &k_nobody for requests
 * without a body (no allocation at all) or a struct req.  A body buffer is freed, and
 * its bytes given back to the budget, as soon as the handler has answered; on_completed
 * (MHD_OPTION_NOTIFY_COMPLETED: called for every request whose access handler ran,
 * whatever ended it: answered, error, client gone, timeout, daemon stopped) frees
 * whatever is left and counts the request out of `in_flight`.
 *
 * Threads.  http_start/http_stop run on the caller's thread (the UI's); the daemon's
 * pool threads run on_request/on_completed and start with every asynchronous signal
 * blocked, so SIGINT/SIGTERM reach the main thread.  Counters are atomics, read by
 * http_get_stats from any thread.  Each handler call switches its thread to the "C"
 * locale while it formats numbers (the TUI may have set LC_ALL from the environment).
 */
#include "mlwb/serve/http.h"
#include "http_int.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mlwb/core/knn.h"
#include "mlwb/core/num.h"
#include "mlwb/engine/registry.h"



/* ---------------------------------------------------------------------------------- */
/* A string builder: inline storage first, the heap past it; an allocation failure is
 * remembered (oom) and turns the response into a 500.  Never copied by value. */


void sb_init(sb *b)
{
    b->p = b->inl;
    b->len = 0;
    b->cap = sizeof b->inl;
    b->oom = false;
    b->p[0] = '\0';
}

void sb_free(sb *b)
{
    if (b->p != b->inl)
        free(b->p);
    sb_init(b);
}

void sb_reset(sb *b)
{
    b->len = 0;
    b->p[0] = '\0';
}

bool sb_reserve(sb *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = b->p == b->inl ? malloc(cap) : realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    if (b->p == b->inl)
        memcpy(p, b->inl, b->len + 1);
    b->p = p;
    b->cap = cap;
    return true;
}

void sb_putn(sb *b, const char *s, size_t n)
{
    if (!sb_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void sb_puts(sb *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

void sb_putc(sb *b, char c)
{
    sb_putn(b, &c, 1);
}

/* A decimal integer, without printf (it is on the prediction path). */
void sb_i64(sb *b, int64_t v)
{
    char tmp[24], *e = tmp + sizeof tmp, *p = e;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    sb_putn(b, p, (size_t)(e - p));
}

__attribute__((format(printf, 2, 3)))
void sb_printf(sb *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        sb_putn(b, tmp, (size_t)n);
        return;
    }
    if (!sb_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. */
size_t http_utf8_seq(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80
                   ? 4 : 0;
    }
    return 0;
}

/* s as a JSON string literal; invalid UTF-8 bytes become U+FFFD. */
void sb_json_str(sb *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    sb_putc(b, '"');
    while (*p) {
        const unsigned char *run = p;
        while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        sb_putn(b, (const char *)run, (size_t)(p - run));
        if (!*p)
            break;
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            sb_putn(b, esc, 2);
            p++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': sb_puts(b, "\\n"); break;
            case '\r': sb_puts(b, "\\r"); break;
            case '\t': sb_puts(b, "\\t"); break;
            default: sb_printf(b, "\\u%04x", c); break;
            }
            p++;
        } else {
            size_t n = http_utf8_seq(p);
            if (n) {
                sb_putn(b, (const char *)p, n);
                p += n;
            } else {
                sb_puts(b, "\\ufffd");
                p++;
            }
        }
    }
    sb_putc(b, '"');
}

/* A finite float as the shortest decimal that reads back as the same float, always a
 * JSON real ("0.8", "1.0", "1e-05"). */
void sb_double(sb *b, double v)
{
    if (isfinite(v))   /* JSON has no inf or nan (mdl_far_value keeps them out) */
        sb_printf(b, "%.15g", v);
    else
        sb_puts(b, "null");
}

void sb_real(sb *b, float v)
{
    if (!isfinite(v)) {   /* JSON has no inf or nan (mdl_far_value keeps them out) */
        sb_puts(b, "null");
        return;
    }
    char tmp[NUM_F32_TEXT + 2];
    size_t n = num_f32_text(v, tmp);
    if (!memchr(tmp, '.', n) && !memchr(tmp, 'e', n) && !memchr(tmp, 'n', n)) {
        memcpy(tmp + n, ".0", 3);  /* 'n': never "inf"/"nan" here, but never "inf.0" either */
        n += 2;
    }
    sb_putn(b, tmp, n);
}

/* ---------------------------------------------------------------------------------- */
/* Responses. */


double http_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int status_slot(unsigned status)
{
    switch (status) {
    case 200: return SC_200;
    case 400: return SC_400;
    case 401: return SC_401;
    case 404: return SC_404;
    case 405: return SC_405;
    case 409: return SC_409;
    case 413: return SC_413;
    case 500: return SC_500;
    case 503: return SC_503;
    default: return SC_OTHER;
    }
}

enum MHD_Result http_reply(struct call *c, unsigned status, const char *text, size_t len)
{
    return http_reply_type(c, status, "application/json", text, len);
}

enum MHD_Result http_reply_json(struct call *c, unsigned status, json_t *v)
{
    /* 15 significant digits: any metric written with up to 15 reads back unchanged */
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(v);
    if (!text)
        return http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    enum MHD_Result q = http_reply(c, status, text, strlen(text));
    free(text);
    return q;
}

enum MHD_Result http_reply_type(struct call *c, unsigned status, const char *type,
                                const char *text, size_t len)
{
    http_server *s = c->s;
    /* MUST_COPY: the text lives on our stack or is freed by the caller. */
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)text, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (c->allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, c->allow);
    if (c->challenge)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"mlwb\"");
    if (c->retry) {
        char secs[16];
        snprintf(secs, sizeof secs, "%d", RETRY_AFTER_S);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    }
    if (c->close || atomic_load_explicit(&s->stopping, memory_order_relaxed))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result q = MHD_queue_response(c->conn, status, r);
    MHD_destroy_response(r);
    if (q == MHD_YES) {
        double us = (http_now_ms() - c->t0) * 1e3;
        int b = 0;
        while (b < HTTP_LAT_BUCKETS - 1 && us >= ldexp(1.0, b))
            b++;
        atomic_fetch_add_explicit(&s->latency[b], 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->requests, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->by_route[c->route][status_slot(status)], 1,
                                  memory_order_relaxed);
        if (status >= 400)
            atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
    }
    return q;
}

void http_error_json(sb *b, const char *msg)
{
    sb_puts(b, "{\"error\":");
    sb_json_str(b, msg);
    sb_putc(b, '}');
}

__attribute__((format(printf, 3, 4)))
enum MHD_Result http_reply_error(struct call *c, unsigned status, const char *fmt, ...)
{
    char msg[ERR_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sb b;
    sb_init(&b);
    http_error_json(&b, msg);
    /* msg is bounded, so b never leaves its inline storage */
    enum MHD_Result q = http_reply(c, status, b.p, b.len);
    sb_free(&b);
    return q;
}

enum MHD_Result http_reply_sb(struct call *c, unsigned status, sb *b)
{
    if (b->oom)
        return http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    return http_reply(c, status, b->p, b->len);
}

/* ---------------------------------------------------------------------------------- */
/* Instances: JSON or a query string in, a validated float matrix out. */



__attribute__((format(printf, 3, 4)))
bool http_fail(struct perr *pe, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pe->msg, sizeof pe->msg, fmt, ap);
    va_end(ap);
    pe->status = status;
    return false;
}

bool http_batch_alloc(struct batch *b, size_t n, size_t d, struct perr *pe)
{
    b->n = n;
    b->d = d;
    if (n * d <= sizeof b->inl / sizeof b->inl[0]) {  /* n <= MAX_INSTANCES: no overflow */
        b->x = b->inl;
        return true;
    }
    if (d && n > SIZE_MAX / sizeof(float) / d)
        return http_fail(pe, MHD_HTTP_CONTENT_TOO_LARGE, "%zu instances of %zu features: too large",
                    n, d);
    b->x = malloc(n * d * sizeof(float));
    if (!b->x)
        return http_fail(pe, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory for %zu instances", n);
    return true;
}

void http_batch_free(struct batch *b)
{
    if (b->x && b->x != b->inl)
        free(b->x);
    b->x = NULL;
}

bool http_body_nul(const char *body, size_t len, struct perr *pe)
{
    const char *z = memchr(body, '\0', len);
    if (!z)
        return false;
    http_fail(pe, MHD_HTTP_BAD_REQUEST, "the request body holds a NUL byte at offset %zu "
              "(JSON text has none; write \\u0000 inside a string)", (size_t)(z - body));
    return true;
}

const char *http_json_why(const json_error_t *je)
{
    if (strstr(je->text, "JSON_ALLOW_NUL"))   /* jansson names its flag */
        return "\\u0000 (a NUL character) is not allowed in a string";
    return je->text;
}

const char *http_json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "a value";
}

/* A double as a finite float32, or false. */
bool http_to_float(double v, float *out)
{
    if (!isfinite(v) || fabs(v) > FLT_MAX)
        return false;
    *out = (float)v;
    return true;
}

/* One instance (a JSON array of d numbers) at `place` ("instances[2]") into out. */
static bool http_row_from_json(const json_t *row, const char *place, size_t d, float *out,
                          struct perr *pe)
{
    if (!json_is_array(row))
        return http_fail(pe, MHD_HTTP_BAD_REQUEST, "%s: expected an array of %zu numbers, got %s",
                    place, d, http_json_kind(row));
    size_t got = json_array_size(row);
    if (got != d)
        return http_fail(pe, MHD_HTTP_BAD_REQUEST, "%s: expected %zu features, got %zu", place, d,
                    got);
    for (size_t j = 0; j < d; j++) {
        const json_t *v = json_array_get(row, j);
        if (!json_is_number(v))
            return http_fail(pe, MHD_HTTP_BAD_REQUEST, "%s[%zu]: not a finite number (got %s)",
                        place, j, http_json_kind(v));
        if (!http_to_float(json_number_value(v), &out[j]))
            return http_fail(pe, MHD_HTTP_BAD_REQUEST,
                        "%s[%zu]: not a finite number (out of float32 range)", place, j);
    }
    return true;
}


bool http_fill_json(const struct source *src, size_t d, struct batch *b,
                           struct perr *pe)
{
    if (src->flat) {
        if (!http_batch_alloc(b, 1, d, pe))
            return false;
        return http_row_from_json(src->rows, src->name, d, b->x, pe);
    }
    size_t n = json_array_size(src->rows);
    if (n == 0)
        return http_fail(pe, MHD_HTTP_BAD_REQUEST, "%s: no instances (give at least one)",
                    src->name);
    if (n > src->max)
        return http_fail(pe, MHD_HTTP_CONTENT_TOO_LARGE,
                    "%s: %zu instances, at most %zu per request", src->name, n, src->max);
    if (!http_batch_alloc(b, n, d, pe))
        return false;
    for (size_t i = 0; i < n; i++) {
        char place[64];
        snprintf(place, sizeof place, "%s[%zu]", src->name, i);
        if (!http_row_from_json(json_array_get(src->rows, i), place, d, b->x + i * d, pe))
            return false;
    }
    return true;
}

/* Bytes of the decimal number at p: an optional sign, digits with at most one '.' (at
 * least one digit), an optional exponent ('e' or 'E', an optional sign, digits); 0 when
 * there is none.  What strtod reads beyond that (hex, "inf", "nan", "infinity") is not a
 * number here. */
static size_t decimal_len(const char *p)
{
    const char *q = p;
    if (*q == '+' || *q == '-')
        q++;
    size_t digits = 0;
    while (*q >= '0' && *q <= '9') {
        q++;
        digits++;
    }
    if (*q == '.') {
        q++;
        while (*q >= '0' && *q <= '9') {
            q++;
            digits++;
        }
    }
    if (!digits)
        return 0;
    if (*q == 'e' || *q == 'E') {
        const char *e = q + 1;
        if (*e == '+' || *e == '-')
            e++;
        if (*e >= '0' && *e <= '9') {
            while (*e >= '0' && *e <= '9')
                e++;
            q = e;
        }
    }
    return (size_t)(q - p);
}

/* One instance from "f,f,...": decimal numbers, blanks around them allowed. */
bool http_fill_list(const struct source *src, size_t d, struct batch *b,
                           struct perr *pe)
{
    const char *t = src->text;
    size_t got = *t ? 1 : 0;
    for (const char *p = t; *p; p++)
        got += *p == ',';
    if (got != d)
        return http_fail(pe, MHD_HTTP_BAD_REQUEST, "%s: expected %zu features, got %zu", src->name,
                    d, got);
    if (!http_batch_alloc(b, 1, d, pe))
        return false;
    for (size_t j = 0; j < d; j++) {
        const char *num = t;
        while (*num == ' ')
            num++;
        size_t nl = decimal_len(num);
        double v = 0;
        const char *end = num + nl;
        if (nl)
            v = strtod(num, NULL);   /* reads exactly the nl bytes checked above */
        while (*end == ' ')
            end++;
        if (!nl || (*end != ',' && *end != '\0')) {
            size_t n = strcspn(t, ",");
            return http_fail(pe, MHD_HTTP_BAD_REQUEST, "%s[%zu]: '%.*s' is not a number",
                        src->name, j, (int)(n > 40 ? 40 : n), t);
        }
        if (!http_to_float(v, &b->x[j]))
            return http_fail(pe, MHD_HTTP_BAD_REQUEST, "%s[%zu]: not a finite number", src->name, j);
        t = *end ? end + 1 : end;
    }
    return true;
}



/* Classify, log and answer every row of b with model m. */
bool http_predict_rows(struct call *c, const mdl *m, const struct batch *b, pred_out *out)
{
    sb in, res;
    sb_init(&in);
    sb_init(&res);
    bool ok = true;
    double minc = m->knn ? eng_get_min_confidence(c->s->eng) : 0;
    for (size_t i = 0; i < b->n; i++) {
        const float *x = b->x + i * b->d;
        pred_out *o = &out[i];
        *o = (pred_out){0};
        double t0 = http_now_ms();
        if (m->km)
            km_model_predict(m->km, x, &o->label, &o->dist);
        else
            knn_predict(m->knn, x, &o->label, &o->conf);
        o->abstained = minc > 0 && m->knn && o->conf < minc;
        double ms = http_now_ms() - t0;

        sb_reset(&in);
        sb_putc(&in, '[');
        for (size_t j = 0; j < b->d; j++) {
            if (j)
                sb_putc(&in, ',');
            sb_real(&in, x[j]);
        }
        sb_putc(&in, ']');
        sb_reset(&res);
        http_pred_json(&res, m, o);
        if (in.oom || res.oom) {
            ok = false;
            break;
        }
        /* 0 when the log could not take the row (it was counted as dropped) */
        o->id = eng_log_prediction(c->s->eng, m->version, in.p, res.p, ms, "http");
    }
    if (ok)
        atomic_fetch_add_explicit(&c->s->predictions, b->n, memory_order_relaxed);
    sb_free(&res);
    sb_free(&in);
    return ok;
}

void http_pred_json(sb *res, const mdl *m, const pred_out *o)
{
    if (m->km) {  /* k-means: the nearest centroid and the distance to it */
        sb_printf(res, "{\"cluster\":%d,\"distance\":", (int)o->label);
        sb_double(res, o->dist);
    } else if (o->abstained) {  /* set min-confidence: no guess */
        sb_puts(res, "{\"label\":null,\"confidence\":");
        sb_real(res, o->conf);
        sb_puts(res, ",\"abstained\":true");
    } else {
        sb_puts(res, "{\"label\":");
        sb_json_str(res, knn_class_name(m->knn, (size_t)o->label));
        sb_puts(res, ",\"confidence\":");
        sb_real(res, o->conf);
    }
    sb_putc(res, '}');
}

/* ,"neighbours":[...] (KNN) or ,"distances":[...] (k-means) for ?explain=1. */
static void explain_json(sb *out, const mdl *m, const float *x)
{
    if (m->km) {
        size_t k = km_model_k(m->km);
        double *d = malloc(k * sizeof *d);
        if (!d) {
            out->oom = true;
            return;
        }
        km_model_distances(m->km, x, d);
        sb_puts(out, ",\"distances\":[");
        for (size_t i = 0; i < k; i++) {
            if (i)
                sb_putc(out, ',');
            sb_double(out, d[i]);
        }
        sb_putc(out, ']');
        free(d);
        return;
    }
    size_t k = (size_t)knn_k(m->knn);
    int32_t *idx = malloc(k * sizeof *idx);
    float *dist = malloc(k * sizeof *dist);
    if (!idx || !dist || knn_explain(m->knn, x, idx, dist) != MLWB_OK) {
        out->oom = true;
        free(idx);
        free(dist);
        return;
    }
    sb_puts(out, ",\"neighbours\":[");
    for (size_t i = 0; i < k; i++) {
        sb_printf(out, "%s{\"row\":%d,\"distance\":", i ? "," : "", idx[i] + 1);
        sb_real(out, dist[i]);
        sb_puts(out, ",\"label\":");
        sb_json_str(out, knn_class_name(m->knn, (size_t)knn_row_label(m->knn, (size_t)idx[i])));
        sb_putc(out, '}');
    }
    sb_putc(out, ']');
    free(idx);
    free(dist);
}

/* ?explain=: 1 (1 or true), 0 (absent, 0 or false), -1 for anything else. */
static int explain_arg(struct call *c)
{
    const char *ex = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "explain");
    if (!ex || strcmp(ex, "0") == 0 || strcmp(ex, "false") == 0)
        return 0;
    return strcmp(ex, "1") == 0 || strcmp(ex, "true") == 0 ? 1 : -1;
}

/* Classify, log and answer every row of b with model m (the /v1 and /predict shape). */
static enum MHD_Result predict_batch(struct call *c, const mdl *m, const struct batch *b,
                                     bool explain)
{
    pred_out small[16], *po = b->n <= 16 ? small : malloc(b->n * sizeof *po);
    if (!po)
        return http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    sb out, res;
    sb_init(&out);
    sb_init(&res);
    if (!http_predict_rows(c, m, b, po))
        out.oom = true;
    sb_puts(&out, "{\"model_version\":");
    sb_i64(&out, m->version);
    sb_puts(&out, ",\"predictions\":[");
    for (size_t i = 0; i < b->n && !out.oom; i++) {
        sb_reset(&res);
        http_pred_json(&res, m, &po[i]);
        /* {"id":N, + the output without its braces (+ the explanation) }; no id when the
         * log could not take the row */
        sb_puts(&out, i ? ",{" : "{");
        if (po[i].id > 0) {
            sb_puts(&out, "\"id\":");
            sb_i64(&out, po[i].id);
            sb_putc(&out, ',');
        }
        sb_putn(&out, res.p + 1, res.len - 2);
        if (explain)
            explain_json(&out, m, b->x + i * b->d);
        sb_putc(&out, '}');
    }
    sb_puts(&out, "]}");
    enum MHD_Result q = http_reply_sb(c, MHD_HTTP_OK, &out);
    sb_free(&res);
    sb_free(&out);
    if (po != small)
        free(po);
    return q;
}

/* No model active: 503 before the request's content is read, whatever it is (the
 * documented order: path, method, token, the active model, then the content). */
bool http_no_model(struct call *c, enum MHD_Result *q)
{
    if (reg_active_version(c->s->reg) != 0)
        return false;
    *q = http_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no active model");
    return true;
}

bool http_check_range(const mdl *m, const struct batch *b, const char *name, bool flat,
                      struct perr *pe)
{
    char why[200];
    size_t k = mdl_far_value(m, b->x, b->n, why, sizeof why);
    if (k == SIZE_MAX)
        return true;
    if (flat)
        return http_fail(pe, MHD_HTTP_BAD_REQUEST, "%s[%zu]: %s", name, k, why);
    return http_fail(pe, MHD_HTTP_BAD_REQUEST, "%s[%zu][%zu]: %s", name, k / b->d, k % b->d,
                     why);
}

/* The shared predict path: one model reference for the whole request. */
enum MHD_Result http_predict_from(struct call *c, fill_fn fill, const struct source *src)
{
    mdl *m = reg_acquire(c->s->reg);
    if (!m)
        return http_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no active model");
    enum MHD_Result q;
    struct batch b = {0};
    struct perr pe;
    int explain = explain_arg(c);
    if (explain < 0) {
        q = http_reply_error(c, MHD_HTTP_BAD_REQUEST,
                             "query parameter 'explain': expected 1, true, 0 or false, got "
                             "'%.20s'",
                             MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND,
                                                         "explain"));
    } else if (!m->knn && !m->km) {
        q = http_reply_error(c, MHD_HTTP_NOT_IMPLEMENTED,
                        "the active model (version %" PRId64 ", kind %s) cannot predict here",
                        m->version, m->kind);
    } else if (!fill(src, mdl_dims(m), &b, &pe) ||
               !http_check_range(m, &b, src->name, src->flat, &pe)) {
        q = http_reply_error(c, pe.status, "%s", pe.msg);
    } else {
        q = predict_batch(c, m, &b, explain == 1);
    }
    http_batch_free(&b);
    mdl_release(&m);
    return q;
}

/* ---------------------------------------------------------------------------------- */
/* The usual POST /v1/predict body, read without building a JSON document.
 *
 * jansson's parse (a tree of objects, then walked) was the largest user-space cost of a
 * one-instance prediction.  This reads exactly one shape, {"instances": [[n, ...], ...]}
 * with JSON whitespace anywhere between tokens and nothing else, straight into floats.
 * Anything else — another key, a string, an escape, nesting, a number this reader
 * leaves to jansson (64 bytes or more, or one that overflows a double), an
 * instance of another width, no instances or too many — is not this shape, and the full
 * path (http_parse_predict_post + http_fill_json) reads it and gives every error its
 * message.  So the fast path changes no answer, only the cost. */

#define FAST_MAX_WIDTH 256  /* wider instances take the full path */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static const char *skip_digits(const char *p, const char *end)
{
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    return p;
}

/* One JSON number at p (RFC 8259 grammar) read as jansson reads it; NULL when p holds
 * none, or one the full path must judge. */
static const char *json_number(const char *p, const char *end, double *out)
{
    const char *q = p;
    if (q < end && *q == '-')
        q++;
    if (q >= end || *q < '0' || *q > '9')
        return NULL;
    q = *q == '0' ? q + 1 : skip_digits(q, end);
    if (q < end && *q == '.') {  /* a fraction: at least one digit */
        const char *digits = q + 1;
        if ((q = skip_digits(digits, end)) == digits)
            return NULL;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {  /* an exponent: a sign, digits */
        const char *digits = q + 1;
        if (digits < end && (*digits == '+' || *digits == '-'))
            digits++;
        if ((q = skip_digits(digits, end)) == digits)
            return NULL;
    }
    size_t n = (size_t)(q - p);
    char tok[64];
    if (n >= sizeof tok)  /* long: the full path reads it */
        return NULL;
    /* The full path's jansson (JSON_DECODE_INT_AS_REAL) reads every number with strtod
     * (the handler threads read numbers in the C locale; "-0" is -0); most need no
     * strtod here */
    double v;
    if (!num_decimal_exact(p, q, &v)) {
        memcpy(tok, p, n);
        tok[n] = '\0';
        v = strtod(tok, NULL);
    }
    if (!isfinite(v))
        return NULL;
    *out = v;
    return q;
}

/* One instance, "[n, ...]" at *pp, into out (at most cap numbers); its width, or 0 when
 * the text is not that. */
static size_t fast_row(const char **pp, const char *end, float *out, size_t cap)
{
    const char *p = skip_ws(*pp, end);
    if (p == end || *p++ != '[')
        return 0;
    size_t w = 0;
    for (;;) {
        p = skip_ws(p, end);
        double v;
        if (w == cap || !(p = json_number(p, end, &v)) || !http_to_float(v, &out[w]))
            return 0;
        w++;
        p = skip_ws(p, end);
        if (p == end)
            return 0;
        if (*p == ']')
            break;
        if (*p++ != ',')
            return 0;
    }
    *pp = p + 1;
    return w;
}

bool http_fill_instances_fast(const char *body, size_t len, size_t max, struct batch *b)
{
    static const char key[] = "\"instances\"";
    *b = (struct batch){0};
    if (!body)
        return false;
    const char *p = skip_ws(body, body + len), *end = body + len;
    if (p == end || *p++ != '{')
        return false;
    p = skip_ws(p, end);
    if ((size_t)(end - p) < sizeof key - 1 || memcmp(p, key, sizeof key - 1) != 0)
        return false;
    p = skip_ws(p + sizeof key - 1, end);
    if (p == end || *p++ != ':')
        return false;
    p = skip_ws(p, end);
    if (p == end || *p++ != '[')
        return false;
    /* Every '[' left is an instance if the text is this shape (if not, it fails below). */
    size_t n = 0;
    for (const char *q = p; (q = memchr(q, '[', (size_t)(end - q))) != NULL; q++)
        n++;
    float first[FAST_MAX_WIDTH];
    size_t d = n ? fast_row(&p, end, first, FAST_MAX_WIDTH) : 0;
    /* the other n - 1 instances need at least ",[" + d digits + d - 1 commas + "]" each
     * (so a stray '[' cannot make this allocate more than the text could fill) */
    if (d == 0 || n > max || (n - 1) > (size_t)(end - p) / (2 * d + 2))
        return false;
    struct perr pe;
    if (!http_batch_alloc(b, n, d, &pe))
        return false;
    memcpy(b->x, first, d * sizeof *first);
    for (size_t i = 1; i < n; i++) {
        p = skip_ws(p, end);
        if (p == end || *p++ != ',' || fast_row(&p, end, b->x + i * d, d) != d)
            goto not_this_shape;
    }
    p = skip_ws(p, end);
    if (p == end || *p++ != ']')
        goto not_this_shape;
    p = skip_ws(p, end);
    if (p == end || *p++ != '}' || skip_ws(p, end) != end)
        goto not_this_shape;
    return true;
not_this_shape:
    http_batch_free(b);
    *b = (struct batch){0};
    return false;
}

/* ---------------------------------------------------------------------------------- */
/* Route handlers.  Each answers exactly once. */

/* POST /v1/predict's body up to the instances (the model is not needed yet). */
bool http_parse_predict_post(const char *body, size_t len, size_t max, json_t **doc,
                             struct source *src, struct perr *pe)
{
    *doc = NULL;
    if (!body || len == 0)
        return http_fail(pe, MHD_HTTP_BAD_REQUEST,
                         "the request body is empty: expected {\"instances\": [[...], ...]}");
    json_error_t je;
    if (http_body_nul(body, len, pe))
        return false;
    json_t *d = json_loadb(body, len, JSON_DECODE_INT_AS_REAL | JSON_REJECT_DUPLICATES, &je);
    if (!d)
        return http_fail(pe, MHD_HTTP_BAD_REQUEST, "invalid JSON at line %d, column %d: %s",
                         je.line, je.column, http_json_why(&je));
    const json_t *inst = json_is_object(d) ? json_object_get(d, "instances") : NULL;
    bool ok = false;
    if (!json_is_object(d))
        http_fail(pe, MHD_HTTP_BAD_REQUEST,
                  "expected a JSON object {\"instances\": [[...], ...]}, got %s",
                  http_json_kind(d));
    else if (!inst)
        http_fail(pe, MHD_HTTP_BAD_REQUEST, "field 'instances' is required");
    else if (!json_is_array(inst))
        http_fail(pe, MHD_HTTP_BAD_REQUEST,
                  "field 'instances' must be an array of instances, got %s",
                  http_json_kind(inst));
    else
        ok = true;
    if (!ok) {
        json_decref(d);
        return false;
    }
    *src = (struct source){.rows = inst, .name = "instances", .max = max};
    *doc = d;
    return true;
}

/* GET /predict's prompt up to the instances: a list of instances, or one flat one. */
bool http_parse_prompt(const char *prompt, size_t max, json_t **doc, struct source *src,
                       struct perr *pe)
{
    *doc = NULL;
    json_error_t je;
    json_t *d = json_loads(prompt, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL |
                                       JSON_REJECT_DUPLICATES, &je);
    if (!d)
        return http_fail(pe, MHD_HTTP_BAD_REQUEST, "prompt: invalid JSON at column %d: %s",
                         je.column, http_json_why(&je));
    if (!json_is_array(d)) {
        http_fail(pe, MHD_HTTP_BAD_REQUEST,
                  "prompt: expected a list of instances like [[5.1,3.5,1.4,0.2]], got %s",
                  http_json_kind(d));
        json_decref(d);
        return false;
    }
    *src = (struct source){.rows = d, .name = "prompt", .max = max,
                           .flat = json_is_number(json_array_get(d, 0))};
    *doc = d;
    return true;
}

/* The instances the fast reader took, for a model of width d; another width goes the
 * full way, for the full path's message. */
static bool fill_fast(const struct source *src, size_t d, struct batch *b, struct perr *pe)
{
    if (src->ready->d == d) {
        *b = *src->ready;
        if (src->ready->x == src->ready->inl)
            b->x = b->inl;
        *src->ready = (struct batch){0};  /* b owns the rows now */
        return true;
    }
    return http_fill_body(src->text, src->len, d, src->max, b, pe);
}

bool http_fill_body(const char *body, size_t len, size_t d, size_t max, struct batch *b,
                    struct perr *pe)
{
    json_t *doc;
    struct source js;
    if (!http_parse_predict_post(body, len, max, &doc, &js, pe))
        return false;
    bool ok = http_fill_json(&js, d, b, pe);
    json_decref(doc);
    return ok;
}

static enum MHD_Result h_predict_post(struct call *c)
{
    enum MHD_Result q;
    if (http_no_model(c, &q))
        return q;
    struct batch fast;
    if (http_fill_instances_fast(c->body, c->len, c->s->max_instances, &fast)) {
        q = http_predict_from(
            c, fill_fast, &(struct source){.ready = &fast, .text = c->body, .len = c->len,
                                           .name = "instances", .max = c->s->max_instances});
        http_batch_free(&fast);
        return q;
    }
    json_t *doc;
    struct source src;
    struct perr pe;
    if (!http_parse_predict_post(c->body, c->len, c->s->max_instances, &doc, &src, &pe))
        return http_reply_error(c, pe.status, "%s", pe.msg);
    q = http_predict_from(c, http_fill_json, &src);
    json_decref(doc);
    return q;
}

static enum MHD_Result h_predict_get(struct call *c)
{
    enum MHD_Result q;
    if (http_no_model(c, &q))
        return q;
    const char *x = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "x");
    if (!x)
        return http_reply_error(c, MHD_HTTP_BAD_REQUEST,
                           "query parameter 'x' is required, e.g. ?x=5.1,3.5,1.4,0.2");
    return http_predict_from(c, http_fill_list, &(struct source){.text = x, .name = "x",
                                                                .flat = true,
                                                                .max = c->s->max_instances});
}

/* The old template's GET /predict?prompt=[[...]]: the prompt is JSON, never evaluated.
 * A list of instances, or one flat instance. */
static enum MHD_Result h_predict_prompt(struct call *c)
{
    enum MHD_Result q;
    if (http_no_model(c, &q))
        return q;
    const char *p = MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "prompt");
    if (!p)
        return http_reply_error(c, MHD_HTTP_BAD_REQUEST,
                           "query parameter 'prompt' is required, e.g. ?prompt=[[5.1,3.5,1.4,0.2]]");
    json_t *doc;
    struct source src;
    struct perr pe;
    if (!http_parse_prompt(p, c->s->max_instances, &doc, &src, &pe))
        return http_reply_error(c, pe.status, "%s", pe.msg);
    q = http_predict_from(c, http_fill_json, &src);
    json_decref(doc);
    return q;
}

json_t *http_json_or_null(const char *text)
{
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    return v ? v : json_null();
}

/* A JSON string of s, its invalid UTF-8 bytes replaced by U+FFFD; null for NULL. */
json_t *http_str_json(const char *s)
{
    if (!s)
        return json_null();
    json_t *v = json_string(s);
    if (!v) {
        sb b;
        sb_init(&b);
        for (const unsigned char *p = (const unsigned char *)s; *p;) {
            size_t n = http_utf8_seq(p);
            sb_putn(&b, n ? (const char *)p : "\xEF\xBF\xBD", n ? n : 3);
            p += n ? n : 1;
        }
        v = b.oom ? NULL : json_string(b.p);
        sb_free(&b);
    }
    return v ? v : json_null();
}

static enum MHD_Result h_health(struct call *c)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    return http_reply(c, MHD_HTTP_OK, ok, sizeof ok - 1);
}

static enum MHD_Result h_ready(struct call *c)
{
    int64_t v = reg_active_version(c->s->reg);
    if (v <= 0)
        return http_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no active model");
    char text[96];
    int n = snprintf(text, sizeof text, "{\"status\":\"ready\",\"model_version\":%" PRId64 "}", v);
    return http_reply(c, MHD_HTTP_OK, text, (size_t)n);
}

/* ---------------------------------------------------------------------------------- */
/* The route table.  HEAD is answered by the GET handler (MHD drops the body). */


struct route {
    const char *path;     /* '*' matches one path segment (not empty, no '/') */
    int id;               /* RT_*: the counters of /metrics */
    handler_fn get, post;
    bool auth;            /* needs the bearer token when one is set */
    bool head;            /* HEAD allowed (routes without side effects) */
    const char *allow;    /* the Allow header of a 405 */
};

static const struct route routes[] = {
    {"/v1/predict", RT_PREDICT, h_predict_get, h_predict_post, true, false, "GET, POST"},
    {"/predict", RT_PROMPT, h_predict_prompt, NULL, true, false, "GET"},
    {"/v1/feedback", RT_FEEDBACK, NULL, h_feedback, true, false, "POST"},
    {"/v1/models", RT_MODELS, h_models, NULL, false, true, "GET, HEAD"},
    {"/v1/models/*", RT_MODELS, h_model_one, NULL, false, true, "GET, HEAD"},
    {"/v1/quality", RT_QUALITY, h_quality, NULL, false, true, "GET, HEAD"},
    {"/healthz", RT_HEALTH, h_health, NULL, false, true, "GET, HEAD"},
    {"/readyz", RT_HEALTH, h_ready, NULL, false, true, "GET, HEAD"},
    {"/metrics", RT_METRICS, h_metrics, NULL, false, true, "GET, HEAD"},
    {"/openapi.json", RT_DOCS, h_openapi, NULL, false, true, "GET, HEAD"},
    {"/docs", RT_DOCS, h_docs, NULL, false, true, "GET, HEAD"},
    {"/v2/health/live", RT_V2, h_v2_live, NULL, false, true, "GET, HEAD"},
    {"/v2/health/ready", RT_V2, h_v2_ready, NULL, false, true, "GET, HEAD"},
    {"/v2/models/*", RT_V2, h_v2_model, NULL, false, true, "GET, HEAD"},
    {"/v2/models/*/ready", RT_V2, h_v2_model, NULL, false, true, "GET, HEAD"},
    {"/v2/models/*/infer", RT_V2, NULL, h_v2_infer, true, false, "POST"},
};

/* url against a route pattern; the '*' segment goes to arg (cut to n - 1 bytes). */
static bool path_match(const char *pat, const char *url, char *arg, size_t n)
{
    while (*pat && *url) {
        if (*pat == '*') {
            size_t len = strcspn(url, "/");
            if (!len)
                return false;
            snprintf(arg, n, "%.*s", (int)(len < n ? len : n - 1), url);
            url += len;
            pat++;
        } else if (*pat++ != *url++) {
            return false;
        }
    }
    return !*pat && !*url;
}

static const struct route *find_route(const char *url, char *arg, size_t n)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (path_match(routes[i].path, url, arg, n))
            return &routes[i];
    return NULL;
}

int http_route_find(const char *url, char *arg, size_t n, const char **pattern)
{
    const struct route *r = find_route(url, arg, n);
    if (pattern)
        *pattern = r ? r->path : NULL;
    return r ? r->id : -1;
}

static handler_fn route_handler(const struct route *r, const char *method)
{
    if (strcmp(method, MHD_HTTP_METHOD_GET) == 0)
        return r->get;
    if (strcmp(method, MHD_HTTP_METHOD_POST) == 0)
        return r->post;
    if (strcmp(method, MHD_HTTP_METHOD_HEAD) == 0 && r->head)
        return r->get;
    return NULL;
}

/* Constant-time in the token's length: "Authorization: Bearer TOKEN".  The value is
 * compared over the length libmicrohttpd gives, not up to a NUL.  (0.9.75 itself ends a
 * header's value at its first NUL byte and reports that length: "Bearer TOKEN\0zz" reads
 * as "Bearer TOKEN".  Whoever sends it already holds the token; a NUL inside a token
 * shortens it and fails.) */
static bool authorized(const struct call *c)
{
    const http_server *s = c->s;
    if (!s->token)
        return true;
    const char *h = NULL;
    size_t hn = 0;
    static const char key[] = MHD_HTTP_HEADER_AUTHORIZATION;
    if (MHD_lookup_connection_value_n(c->conn, MHD_HEADER_KIND, key, sizeof key - 1, &h,
                                      &hn) != MHD_YES ||
        !h || hn < 7 || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    hn -= 7;
    while (hn && *h == ' ') {
        h++;
        hn--;
    }
    size_t n = hn;
    unsigned char diff = n != s->token_len;
    for (size_t i = 0; i < s->token_len; i++)
        diff |= (unsigned char)(s->token[i] ^ (i < n ? h[i] : 0));
    return diff == 0;
}

/* The mark unescape() leaves on a request whose path or query string held "%00": a
 * header no client can send (a header's name ends at its first ':'). */
static const char k_nul_mark[] = "mlwb:nul";

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* MHD_OPTION_UNESCAPE_CALLBACK, for the path and every query key and value: "%HH" to the
 * byte, in place, like libmicrohttpd's own, except "%00".  A NUL would end the string the
 * handlers see (the access handler gets no length): "/v1/models/1%00junk" would be
 * "/v1/models/1".  So "%00" is left as it is, and the request is marked (k_nul_mark) to
 * be refused with 400 before it is routed.  Invalid escapes ("%ZZ", "%") stay as they are. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *str)
{
    (void)cls;
    char *w = str;
    bool nul = false;
    for (const char *p = str; *p;) {
        int hi = p[0] == '%' ? hex_digit(p[1]) : -1;
        int lo = hi >= 0 ? hex_digit(p[2]) : -1;
        if (lo < 0 || (hi == 0 && lo == 0)) {
            nul |= lo == 0 && hi == 0;
            *w++ = *p++;        /* w <= p: the result is never longer */
            continue;
        }
        *w++ = (char)(hi << 4 | lo);
        p += 3;
    }
    *w = '\0';
    /* MHD adds the query's arguments the same way, while it parses the request line; if
     * its pool is full the mark is lost, but then "%00" stays in the text, unmatched */
    if (nul)
        MHD_set_connection_value(conn, MHD_HEADER_KIND, k_nul_mark, "1");
    return (size_t)(w - str);
}

/* Route the request: 404, 405, 401 or the handler's answer.  Sets c->allow/challenge. */
static enum MHD_Result refuse_or_route(struct call *c, handler_fn *h)
{
    *h = NULL;
    if (MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, k_nul_mark))
        return http_reply_error(c, MHD_HTTP_BAD_REQUEST,
                                "the path or query string holds a NUL byte (%%00)");
    const struct route *r = find_route(c->url, c->arg, sizeof c->arg);
    c->route = r ? r->id : RT_OTHER;
    if (!r)
        return http_reply_error(c, MHD_HTTP_NOT_FOUND, "no route %.16s %.*s", c->method,
                           URL_SHOWN, c->url);
    handler_fn f = route_handler(r, c->method);
    if (!f) {
        c->allow = r->allow;
        return http_reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method %.16s not allowed on %s",
                           c->method, r->path);
    }
    if (r->auth && !authorized(c)) {
        c->challenge = true;
        return http_reply_error(c, MHD_HTTP_UNAUTHORIZED, "missing or wrong bearer token");
    }
    *h = f;
    return MHD_YES;
}

/* ---------------------------------------------------------------------------------- */
/* libmicrohttpd callbacks. */

static char k_nobody;     /* *con_cls of a request without a body */

static const char k_busy[] = "server busy: too many request bodies in flight; retry";

struct req {              /* *con_cls of a request with a body */
    char *body;
    size_t len, cap;      /* cap bytes allocated, every one charged to s->buffered */
    size_t declared;      /* Content-Length; 0 for a chunked body */
    size_t seen;          /* bytes received, kept or not */
    bool keep;            /* false: not kept (no POST handler, over a cap, or dropped) */
    bool busy;            /* dropped for the budget: answered 503 when the body ends */
};

/* The budget of body bytes.  Charge n bytes, or refuse without charging anything. */
static bool budget_take(http_server *s, size_t n)
{
    size_t cur = atomic_load_explicit(&s->buffered, memory_order_relaxed);
    do {
        if (n > s->max_buffered - cur)      /* cur <= max_buffered always */
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&s->buffered, &cur, cur + n,
                                                    memory_order_relaxed,
                                                    memory_order_relaxed));
    return true;
}

static void budget_give(http_server *s, size_t n)
{
    size_t was = atomic_fetch_sub_explicit(&s->buffered, n, memory_order_relaxed);
    assert(was >= n);     /* each request gives back exactly what it took */
    (void)was;
}

/* Would n more bytes fit now?  A hint for the first call; budget_take decides. */
static bool budget_room(http_server *s, size_t n)
{
    return n <= s->max_buffered - atomic_load_explicit(&s->buffered, memory_order_relaxed);
}

/* Free the request's buffer and give its bytes back; the rest of its body is counted,
 * not kept. */
static void drop_body(http_server *s, struct req *q)
{
    free(q->body);
    budget_give(s, q->cap);
    q->body = NULL;
    q->len = q->cap = 0;
    q->keep = false;
}

static void req_free(http_server *s, struct req *q)
{
    drop_body(s, q);
    free(q);
}

typedef enum { GROW_OK, GROW_BUSY, GROW_NOMEM } grow_result;

/* Make room for `need` bytes: double from BODY_MIN_CAP, never past the declared length
 * (or max_body for a chunked body), charging the budget before allocating. */
static grow_result grow_body(http_server *s, struct req *q, size_t need)
{
    size_t limit = q->declared ? q->declared : s->max_body;
    if (limit < need)
        limit = need;     /* not expected: MHD delivers at most the declared length */
    size_t cap = q->cap ? q->cap : BODY_MIN_CAP;
    if (cap > limit)
        cap = limit;
    while (cap < need)
        cap = cap > limit / 2 ? limit : cap * 2;
    size_t more = cap - q->cap;
    if (!budget_take(s, more))
        return GROW_BUSY;
    char *p = realloc(q->body, cap);
    if (!p) {
        budget_give(s, more);
        return GROW_NOMEM;
    }
    q->body = p;
    q->cap = cap;
    return GROW_OK;
}

static enum MHD_Result reply_busy(struct call *c)
{
    c->retry = true;
    return http_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", k_busy);
}

/* The headers that frame a body, counted (MHD_lookup_connection_value sees only the first
 * of a repeated header). */
struct framing {
    unsigned n_cl, n_te, n_host;
    const char *cl, *te;    /* the first of each */
    bool cl_differ;         /* Content-Length headers with different values */
    const char *blank_name; /* a header name with a blank ("Content-Length : 5") */
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    struct framing *f = cls;
    if (!value)
        value = "";
    if (!f->blank_name && (!*key || strpbrk(key, " \t")))
        f->blank_name = key;
    if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
        f->n_host++;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (f->n_cl++ == 0)
            f->cl = value;
        else if (strcmp(f->cl, value) != 0)
            f->cl_differ = true;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        if (f->n_te++ == 0)
            f->te = value;
    }
    return MHD_YES;
}

/* A request whose body's length (or target) could be read two ways (by us and by a proxy
 * in front):
 * refused, and the connection closed after the answer, so that no bytes of it are read
 * as the next request (request smuggling).  NULL when the framing is clear. */
static const char *ambiguous_framing(const struct framing *f)
{
    if (f->blank_name)   /* libmicrohttpd keeps the blank, and "Content-Length " frames
                            nothing: its body would be read as the next request */
        return "a header name has a blank before its colon (RFC 9112, 5.1)";
    if (f->n_host > 1)
        return "the request has more than one Host header";
    if (f->cl_differ)
        return "the request has Content-Length headers with different values";
    if (f->n_cl && f->n_te)
        return "the request has both Content-Length and Transfer-Encoding";
    if (f->n_te > 1)
        return "the request has more than one Transfer-Encoding header";
    return NULL;
}

static enum MHD_Result first_call(struct call *c, void **con_cls)
{
    http_server *s = c->s;
    atomic_fetch_add_explicit(&s->in_flight, 1, memory_order_relaxed);
    *con_cls = &k_nobody;

    struct framing f = {0};
    MHD_get_connection_values(c->conn, MHD_HEADER_KIND, count_framing, &f);
    const char *why = ambiguous_framing(&f);
    if (why) {
        c->close = true;
        return http_reply_error(c, MHD_HTTP_BAD_REQUEST, "%s", why);
    }
    if (f.te && strcasecmp(f.te, "chunked") != 0) {
        /* libmicrohttpd would read such a body until the connection closes */
        c->close = true;
        return http_reply_error(c, MHD_HTTP_NOT_IMPLEMENTED,
                                "Transfer-Encoding '%.40s' is not supported (only chunked)",
                                f.te);
    }
    const char *te = f.te, *cl = f.cl;
    unsigned long long declared = 0;
    if (!te && cl) {
        char *end;
        errno = 0;
        declared = strtoull(cl, &end, 10);
        if (errno == ERANGE)
            declared = ULLONG_MAX;
    }
    if (!te && declared == 0)
        return MHD_YES;   /* no body: answer on the next call, keep-alive intact */

    /* A body is coming.  Refuse it now, before reading it, when it cannot be used. */
    if (declared > s->max_body)
        return http_reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
                           "request body of %llu bytes is over the limit of %zu bytes",
                           declared, s->max_body);
    handler_fn h;
    enum MHD_Result refused = refuse_or_route(c, &h);
    if (!h)
        return refused;   /* answered now: MHD closes the connection, the body unread */

    bool keep = strcmp(c->method, MHD_HTTP_METHOD_POST) == 0;
    /* Nothing is reserved here (the declared length may never come); the budget is
     * charged as the buffer grows.  But a body that would not fit now is refused now. */
    if (keep && !budget_room(s, declared ? (size_t)declared : BODY_MIN_CAP))
        return reply_busy(c);
    struct req *q = calloc(1, sizeof *q);
    if (!q)
        return http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    q->keep = keep;
    q->declared = (size_t)declared;      /* <= max_body */
    *con_cls = q;
    return MHD_YES;
}

static enum MHD_Result take_upload(http_server *s, struct req *q, const char *data,
                                   size_t *size)
{
    size_t n = *size;
    *size = 0;
    q->seen = q->seen > SIZE_MAX - n ? SIZE_MAX : q->seen + n;
    if (q->seen > s->max_body) {
        if (q->seen > s->max_body * DISCARD_FACTOR)
            return MHD_NO;          /* a stream that will not stop: drop the connection */
        if (q->keep)
            drop_body(s, q);        /* answered 413 when the body ends */
        return MHD_YES;
    }
    if (!q->keep)
        return MHD_YES;
    if (n > q->cap - q->len) {
        switch (grow_body(s, q, q->len + n)) {   /* len + n <= seen <= max_body */
        case GROW_OK:
            break;
        case GROW_BUSY:
            drop_body(s, q);        /* free what it held now; 503 when the body ends */
            q->busy = true;
            return MHD_YES;
        case GROW_NOMEM:
            return MHD_NO;          /* drop the connection; on_completed frees the rest */
        }
    }
    memcpy(q->body + q->len, data, n);
    q->len += n;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    http_server *s = cls;
    struct call c = {.s = s, .t0 = http_now_ms(), .route = RT_OTHER, .conn = conn, .url = url,
                     .method = method};
    locale_t old = s->cloc ? uselocale(s->cloc) : (locale_t)0;
    enum MHD_Result q;

    if (!*con_cls) {
        q = first_call(&c, con_cls);
    } else if (*con_cls != &k_nobody) {
        struct req *r = *con_cls;
        if (*upload_data_size) {
            q = take_upload(s, r, upload_data, upload_data_size);
        } else if (r->seen > s->max_body) {
            q = http_reply_error(&c, MHD_HTTP_CONTENT_TOO_LARGE,
                            "request body over the limit of %zu bytes", s->max_body);
        } else if (r->busy) {
            q = reply_busy(&c);
        } else {
            handler_fn h;
            c.body = r->keep ? r->body : NULL;
            c.len = r->keep ? r->len : 0;
            q = refuse_or_route(&c, &h);
            if (h)
                q = h(&c);
            drop_body(s, r);   /* answered (the response holds a copy): give the bytes back */
        }
    } else if (*upload_data_size) {
        q = MHD_NO;    /* body data without Content-Length or Transfer-Encoding: cannot be */
    } else {
        handler_fn h;
        q = refuse_or_route(&c, &h);
        if (h)
            q = h(&c);
    }
    if (s->cloc)
        uselocale(old);
    return q;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_server *s = cls;
    if (!*con_cls)
        return;     /* the access handler never ran for this request */
    if (*con_cls != &k_nobody)
        req_free(s, *con_cls);      /* gives back whatever its buffer still holds */
    *con_cls = NULL;
    if (atomic_fetch_sub(&s->in_flight, 1) == 1 && atomic_load(&s->stopping)) {
        pthread_mutex_lock(&s->mu);
        pthread_cond_broadcast(&s->drained);
        pthread_mutex_unlock(&s->mu);
    }
}

/* libmicrohttpd's own messages: kept while starting (to explain a failure), else dropped. */
__attribute__((format(printf, 2, 0)))
static void on_log(void *cls, const char *fmt, va_list ap)
{
    http_server *s = cls;
    pthread_mutex_lock(&s->log_mu);
    if (s->capturing) {
        vsnprintf(s->start_log, sizeof s->start_log, fmt, ap);
        s->start_log[strcspn(s->start_log, "\r\n")] = '\0';
    }
    pthread_mutex_unlock(&s->log_mu);
}

/* ---------------------------------------------------------------------------------- */
/* Start and stop. */

static bool valid_host(const char *host, bool bracketed)
{
    unsigned char buf[sizeof(struct in6_addr)];
    if (bracketed)
        return inet_pton(AF_INET6, host, buf) == 1;
    return strcmp(host, "localhost") == 0 || inet_pton(AF_INET, host, buf) == 1;
}

bool http_addr_is_loopback(const char *addr)
{
    if (!addr || !*addr || strcmp(addr, "localhost") == 0)
        return true;            /* the listener's default: 127.0.0.1 */
    char host[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(addr);
    if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
        addr++;
        n -= 2;
    }
    if (n >= sizeof host)
        return false;
    memcpy(host, addr, n);
    host[n] = '\0';
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;            /* 127/8 */
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) ||                 /* ::1, however spelt */
               (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);  /* ::ffff:127/104 */
    return false;
}

mlwb_status http_parse_listen(const char *spec, char **addr, int *port, char **err)
{
    if (!spec || !*spec)
        return err_set(err, MLWB_ERR_PARSE, "'': expected [ADDR:]PORT, e.g. 8000 or 0.0.0.0:8000");
    const char *host = NULL, *ps;
    size_t hlen = 0;
    bool bracketed = spec[0] == '[';
    if (bracketed) {
        const char *close = strchr(spec, ']');
        if (!close)
            return err_set(err, MLWB_ERR_PARSE, "'%s': missing ']' after the IPv6 address", spec);
        if (close[1] != ':')
            return err_set(err, MLWB_ERR_PARSE, "'%s': expected ':PORT' after ']'", spec);
        host = spec + 1;
        hlen = (size_t)(close - host);
        ps = close + 2;
    } else {
        const char *colon = strrchr(spec, ':');
        if (colon && strchr(spec, ':') != colon)
            return err_set(err, MLWB_ERR_PARSE,
                           "'%s': an IPv6 address needs brackets, e.g. [::1]:8000", spec);
        if (colon) {
            host = spec;
            hlen = (size_t)(colon - spec);
            ps = colon + 1;
        } else {
            ps = spec;
        }
    }
    if (host && hlen == 0)
        return err_set(err, MLWB_ERR_PARSE, "'%s': the address before the port is empty", spec);
    size_t plen = strlen(ps);
    if (plen == 0)
        return err_set(err, MLWB_ERR_PARSE, "'%s': the port after ':' is missing", spec);
    long pv = -1;
    if (plen >= 1 && plen <= 5 && strspn(ps, "0123456789") == plen)
        pv = strtol(ps, NULL, 10);
    if (pv < 0 || pv > 65535)
        return err_set(err, MLWB_ERR_PARSE, "'%s': port must be a number 0..65535", ps);
    char *h = NULL;
    if (host) {
        h = strndup(host, hlen);
        if (!h)
            return err_set(err, MLWB_ERR_NOMEM, "out of memory");
        if (!valid_host(h, bracketed)) {
            mlwb_status st = err_set(err, MLWB_ERR_PARSE, "'%s': not an %s", h,
                                     bracketed ? "IPv6 address"
                                               : "IPv4 address or localhost (IPv6 goes in brackets)");
            free(h);
            return st;
        }
    }
    if (addr)
        *addr = h;
    else
        free(h);
    if (port)
        *port = (int)pv;
    return MLWB_OK;
}

/* The socket address for addr (NULL and "localhost" mean 127.0.0.1; brackets allowed). */
static mlwb_status resolve(const char *addr, int port, struct sockaddr_storage *ss,
                           socklen_t *len, char *shown, size_t shown_sz, char **err)
{
    char host[INET6_ADDRSTRLEN + 2];
    if (!addr || !*addr || strcmp(addr, "localhost") == 0)
        addr = "127.0.0.1";
    size_t n = strlen(addr);
    if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']' && n - 2 < sizeof host) {
        memcpy(host, addr + 1, n - 2);
        host[n - 2] = '\0';
    } else if (n < sizeof host) {
        memcpy(host, addr, n + 1);
    } else {
        return err_set(err, MLWB_ERR_INVALID, "'%.64s...': not an IPv4 or IPv6 address", addr);
    }
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof *a4;
        inet_ntop(AF_INET, &a4->sin_addr, shown, (socklen_t)shown_sz);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
        inet_ntop(AF_INET6, &a6->sin6_addr, shown, (socklen_t)shown_sz);
    } else {
        return err_set(err, MLWB_ERR_INVALID,
                       "'%s': not an IPv4 or IPv6 address (or localhost)", addr);
    }
    return MLWB_OK;
}

static void server_free(http_server *s)
{
    if (s->cloc)
        freelocale(s->cloc);
    pthread_cond_destroy(&s->drained);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->log_mu);
    free(s->token);
    free(s);
}

/* "127.0.0.1:8000" or "[::1]:8000". */
static const char *endpoint(const http_server *s, int port, char *buf, size_t n)
{
    snprintf(buf, n, strchr(s->addr, ':') ? "[%s]:%d" : "%s:%d", s->addr, port);
    return buf;
}

unsigned http_default_threads(void)
{
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    return nc >= 4 ? (unsigned)(nc / 2) : 1;
}

mlwb_status http_start(engine *e, const http_opts *o, http_server **out, char **err)
{
    static const http_opts defaults = {0};
    char where[INET6_ADDRSTRLEN + 16];
    if (!o)
        o = &defaults;
    if (!out)
        return err_set(err, MLWB_ERR_INVALID, "http_start: no place for the server");
    *out = NULL;
    if (!e)
        return err_set(err, MLWB_ERR_INVALID, "http_start: no engine");
    if (o->port < 0 || o->port > 65535)
        return err_set(err, MLWB_ERR_INVALID, "'%d': port must be a number 0..65535", o->port);

    http_server *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(err, MLWB_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->drained, NULL);
    pthread_mutex_init(&s->log_mu, NULL);
    s->eng = e;
    s->reg = eng_registry(e);
    s->max_body = o->max_body ? o->max_body : DEFAULT_MAX_BODY;
    s->max_instances = o->max_instances ? o->max_instances : MAX_INSTANCES;
    if (s->max_body > MAX_BODY_LIMIT)
        s->max_body = MAX_BODY_LIMIT;
    s->max_buffered = o->max_buffered;
    if (!s->max_buffered) {
        size_t per = s->max_body > SIZE_MAX / BUFFERED_PER_BODY
                         ? SIZE_MAX : s->max_body * BUFFERED_PER_BODY;
        s->max_buffered = per > DEFAULT_MAX_BUFFERED ? per : DEFAULT_MAX_BUFFERED;
    }
    if (s->max_buffered < s->max_body)
        s->max_buffered = s->max_body;   /* else a body at the cap could never be taken */
    s->cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (o->token && *o->token) {
        s->token = strdup(o->token);
        if (!s->token) {
            server_free(s);
            return err_set(err, MLWB_ERR_NOMEM, "out of memory");
        }
        s->token_len = strlen(s->token);
    }

    struct sockaddr_storage ss;
    socklen_t sl;
    mlwb_status st = resolve(o->addr, o->port, &ss, &sl, s->addr, sizeof s->addr, err);
    if (st != MLWB_OK) {
        server_free(s);
        return st;
    }

    /* Our own listening socket: a bind failure is reported with its errno. */
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        int en = errno;
        if (fd >= 0)
            close(fd);
        st = err_set(err, MLWB_ERR_IO, "cannot listen on %s: %s",
                     endpoint(s, o->port, where, sizeof where), strerror(en));
        server_free(s);
        return st;
    }
    s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    struct stat fst;
    bool have_fst = fstat(fd, &fst) == 0;

    unsigned threads = o->threads ? o->threads : http_default_threads();
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);

    /* The pool threads inherit this mask: they never take asynchronous signals. */
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    s->capturing = true;
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
                            MHD_OPTION_EXTERNAL_LOGGER, on_log, s,
                            MHD_OPTION_LISTEN_SOCKET, fd,
                            MHD_OPTION_THREAD_POOL_SIZE, threads,
                            MHD_OPTION_CONNECTION_TIMEOUT,
                            o->timeout_s ? o->timeout_s : (unsigned)CONN_TIMEOUT_S,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                            o->per_ip ? o->per_ip : (unsigned)PER_IP_LIMIT,
                            MHD_OPTION_CONNECTION_LIMIT,
                            o->connections ? o->connections : (unsigned)CONN_LIMIT,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                            o->header_size ? o->header_size : (size_t)HEADER_MEMORY,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_UNESCAPE_CALLBACK, unescape, s,
                            MHD_OPTION_STRICT_FOR_CLIENT, 1,
                            MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_mutex_lock(&s->log_mu);
    s->capturing = false;
    pthread_mutex_unlock(&s->log_mu);
    if (!s->d) {
        /* MHD closes a socket it was given on some failure paths and not on others;
         * close it only if this descriptor is still our socket. */
        struct stat now;
        if (have_fst && fstat(fd, &now) == 0 && now.st_ino == fst.st_ino &&
            now.st_dev == fst.st_dev)
            close(fd);
        st = err_set(err, MLWB_ERR_IO, "cannot start the HTTP listener on %s: %s",
                     endpoint(s, s->port, where, sizeof where),
                     s->start_log[0] ? s->start_log : "libmicrohttpd failed to start");
        server_free(s);
        return st;
    }
    *out = s;
    return MLWB_OK;
}

void http_stop(http_server **sp)
{
    if (!sp || !*sp)
        return;
    http_server *s = *sp;
    *sp = NULL;
    atomic_store(&s->stopping, true);
    MHD_socket lfd = MHD_quiesce_daemon(s->d);   /* no new connections from here on */

    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += DRAIN_S;
    pthread_mutex_lock(&s->mu);
    while (atomic_load(&s->in_flight) > 0)
        if (pthread_cond_timedwait(&s->drained, &s->mu, &deadline) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&s->mu);

    MHD_stop_daemon(s->d);       /* closes the idle keep-alive connections */
    /* Every request has been completed (on_completed ran for each), so every body byte
     * charged has been given back. */
    assert(atomic_load(&s->buffered) == 0);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);              /* after quiesce the listening socket is ours again */
    server_free(s);
}

int http_port(const http_server *s)
{
    return s ? s->port : 0;
}

const char *http_addr(const http_server *s)
{
    return s ? s->addr : NULL;
}

void http_get_stats(const http_server *s, http_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!s)
        return;
    /* atomic loads through a const pointer: C11 allows reading a const atomic */
    out->requests = atomic_load_explicit(&s->requests, memory_order_relaxed);
    out->errors = atomic_load_explicit(&s->errors, memory_order_relaxed);
    for (int i = 0; i < HTTP_LAT_BUCKETS; i++)
        out->latency[i] = atomic_load_explicit(&s->latency[i], memory_order_relaxed);
    out->predictions = atomic_load_explicit(&s->predictions, memory_order_relaxed);
}

double http_latency_bound(int i)
{
    return i >= HTTP_LAT_BUCKETS - 1 ? INFINITY : ldexp(1.0, i) * 1e-6;
}

double http_latency_quantile(const http_stats *now, const http_stats *before, double q)
{
    uint64_t cnt[HTTP_LAT_BUCKETS], total = 0;
    for (int i = 0; i < HTTP_LAT_BUCKETS; i++) {
        uint64_t b = before ? before->latency[i] : 0;
        cnt[i] = now->latency[i] >= b ? now->latency[i] - b : 0;
        total += cnt[i];
    }
    if (!total)
        return -1;
    double want = q * (double)total, seen = 0;
    for (int i = 0; i < HTTP_LAT_BUCKETS; i++) {
        if (!cnt[i] || seen + (double)cnt[i] < want) {
            seen += (double)cnt[i];
            continue;
        }
        /* bucket i spans [lo, hi) microseconds: interpolate linearly inside it */
        double lo = i ? ldexp(1.0, i - 1) : 0, hi = ldexp(1.0, i);
        double f = (want - seen) / (double)cnt[i];
        return (lo + f * (hi - lo)) / 1e3;
    }
    return ldexp(1.0, HTTP_LAT_BUCKETS - 1) / 1e3;
}
