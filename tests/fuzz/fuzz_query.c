/*
 * fuzz_query.c — the query-string instance ?x=f,f,... (http_fill_list) and the router's
 * path matching (http_route_find: "path tricks" such as "..", "//", "%00" already
 * decoded to a NUL, very long paths, '*' segments cut into the 128-byte arg).
 *
 * Input: byte 0 bit 0 picks the mode.
 * - x= list (bit clear): bits 1-3 pick d (1..8); the rest, cut at its first NUL as MHD
 *   hands a query value over, is the value of x.  Checks: accepted gives one row of d
 *   finite floats; refused gives 400 and a message whose {"error": ...} reply is valid
 *   JSON/UTF-8 (the message quotes up to 40 raw bytes of the value).
 * - path (bit set): bits 1-7 pick the arg buffer's size (1..128; 128 is the handlers'
 *   struct call.arg); the rest, cut at its first NUL, is the path.  Checks: a match
 *   means the path is the pattern with its '*' replaced by one non-empty segment
 *   without '/', and arg holds that segment (cut to the buffer, NUL-terminated, never
 *   written past); no match means no '*'-free pattern equals the path; the 404
 *   message ("no route GET <path>") makes a valid JSON reply.
 */
#include "http_check.h"

static void fuzz_list(const char *text, size_t d)
{
    struct batch b = {0};
    struct perr pe = {0};
    struct source src = {.text = text, .name = "x", .max = 64};
    if (http_fill_list(&src, d, &b, &pe)) {
        FUZZ_CHECK(b.n == 1, "%zu rows", b.n);
        fuzz_check_batch(&b, d, 1);
    } else {
        fuzz_check_refusal(&pe, 0);
    }
    http_batch_free(&b);
}

static void fuzz_path(const char *url, size_t n)
{
    /* arg on the heap at exactly n bytes, so ASan sees a write past it */
    char *arg = malloc(n);
    if (!arg)
        return;
    memset(arg, 'Z', n);
    const char *pat = NULL;
    int id = http_route_find(url, arg, n, &pat);
    if (id >= 0) {
        FUZZ_CHECK(id < RT_COUNT && pat != NULL, "route id %d", id);
        const char *star = strchr(pat, '*');
        if (!star) {
            FUZZ_CHECK(strcmp(pat, url) == 0, "'%s' matched '%s'", url, pat);
        } else {
            size_t pre = (size_t)(star - pat), ul = strlen(url), post = strlen(star + 1);
            FUZZ_CHECK(ul > pre + post && strncmp(url, pat, pre) == 0 &&
                           strcmp(url + ul - post, star + 1) == 0,
                       "'%s' matched '%s'", url, pat);
            size_t seg = ul - pre - post;
            FUZZ_CHECK(memchr(url + pre, '/', seg) == NULL, "segment with '/' in '%s'", url);
            FUZZ_CHECK(memchr(arg, '\0', n) != NULL, "arg not terminated");
            size_t al = strlen(arg);
            FUZZ_CHECK(al == (seg < n ? seg : n - 1) && strncmp(arg, url + pre, al) == 0,
                       "arg '%s' for '%s' (%zu bytes)", arg, url, n);
        }
    } else {
        FUZZ_CHECK(pat == NULL, "a pattern without a route");
        static const char *const plain[] = {"/v1/predict", "/predict", "/v1/feedback",
                                            "/v1/models", "/healthz", "/metrics",
                                            "/v2/health/live"};
        for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
            FUZZ_CHECK(strcmp(plain[i], url) != 0, "'%s' not routed", url);
    }
    /* the 404 as refuse_or_route words it */
    struct perr pe = {0};
    http_fail(&pe, 400, "no route %.16s %.*s", "GET", URL_SHOWN, url);
    fuzz_check_refusal(&pe, 0);
    free(arg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    char *text = fuzz_cstr(data + 1, size - 1);
    if (!text)
        return 0;
    if (mode & 1)
        fuzz_path(text, 1 + (size_t)(mode >> 1));
    else
        fuzz_list(text, 1 + (size_t)((mode >> 1) & 7));
    free(text);
    return 0;
}
