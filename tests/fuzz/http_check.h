/*
 * http_check.h — the checks the HTTP request targets share: a refusal has a 4xx status
 * and a message, and the {"error": ...} body built from it is valid JSON (hence valid
 * UTF-8) whose "error" is the message (after invalid bytes become U+FFFD); an accepted
 * batch has 1..max rows of d finite floats, each written by sb_real (as the prediction
 * log stores it) as a JSON real that reads back as the same float.
 */
#ifndef MLWB_TESTS_FUZZ_HTTP_CHECK_H
#define MLWB_TESTS_FUZZ_HTTP_CHECK_H

#include <jansson.h>
#include <math.h>

#include "fuzz.h"
#include "http_int.h"

/* s is all valid UTF-8. */
static inline int fuzz_utf8_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = http_utf8_seq(p);
        if (!n)
            return 0;
        p += n;
    }
    return 1;
}

static inline void fuzz_check_refusal(const struct perr *pe, int allow_413)
{
    FUZZ_CHECK(pe->status == 400 || (allow_413 && pe->status == 413), "status %u: %s",
               pe->status, pe->msg);
    size_t n = strnlen(pe->msg, sizeof pe->msg);
    FUZZ_CHECK(n > 0 && n < sizeof pe->msg, "message length %zu", n);
    sb b;
    sb_init(&b);
    http_error_json(&b, pe->msg);
    FUZZ_CHECK(!b.oom, "out of memory");
    json_error_t je;
    json_t *v = json_loadb(b.p, b.len, 0, &je);
    FUZZ_CHECK(v != NULL, "the error body is not valid JSON (%s): %s", je.text, b.p);
    const char *e = json_string_value(json_object_get(v, "error"));
    FUZZ_CHECK(e && *e, "no \"error\" string in %s", b.p);
    if (fuzz_utf8_ok(pe->msg))
        FUZZ_CHECK(strcmp(e, pe->msg) == 0, "\"error\" is not the message: %s", b.p);
    json_decref(v);
    sb_free(&b);
}

static inline void fuzz_check_batch(const struct batch *b, size_t d, size_t max)
{
    FUZZ_CHECK(b->n >= 1 && b->n <= max, "%zu rows (max %zu)", b->n, max);
    FUZZ_CHECK(b->d == d, "%zu features, expected %zu", b->d, d);
    FUZZ_CHECK(b->x != NULL, "no rows");
    sb t;
    sb_init(&t);
    for (size_t i = 0; i < b->n * b->d; i++) {
        FUZZ_CHECK(isfinite(b->x[i]), "value %zu is not finite", i);
        /* as the prediction log writes it: a JSON real that reads back as the value */
        sb_reset(&t);
        sb_real(&t, b->x[i]);
        json_t *v = json_loads(t.p, JSON_DECODE_ANY, NULL);
        FUZZ_CHECK(json_is_real(v), "'%s' is not a JSON real", t.p);
        FUZZ_CHECK(strtof(t.p, NULL) == b->x[i], "'%s' does not read back as %a", t.p,
                   (double)b->x[i]);
        json_decref(v);
    }
    sb_free(&t);
}

/* A prompt to a batch of d features, the way the handler chains the parsing (the model
 * is what gives d there): b filled (http_batch_free it).  A body's is http_fill_body. */
static inline bool fuzz_prompt(const char *prompt, size_t d, size_t max, struct batch *b,
                               struct perr *pe)
{
    json_t *doc;
    struct source src;
    if (!http_parse_prompt(prompt, max, &doc, &src, pe))
        return false;
    bool ok = http_fill_json(&src, d, b, pe);
    json_decref(doc);
    return ok;
}

static inline bool fuzz_infer_body(const char *body, size_t len, size_t d, size_t max,
                                   struct batch *b, struct perr *pe)
{
    json_t *doc;
    if (!http_parse_infer_doc(body, len, &doc, pe))
        return false;
    bool nested;
    bool ok = http_infer_input(doc, d, max, b, &nested, pe);
    json_decref(doc);
    return ok;
}

#endif
