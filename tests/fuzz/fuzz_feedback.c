/*
 * fuzz_feedback.c — the body of POST /v1/feedback, as h_feedback parses it
 * (http_parse_feedback in src/serve/http_api.c).
 *
 * Input: the body, all bytes.
 * Checks: an accepted body gives an id >= 1 and a label of 1 to 200 bytes of valid
 * UTF-8, which the handler's success reply (json_pack "{sI ss ...}") can carry; a
 * refusal has status 400 and a message whose {"error": ...} reply is valid JSON/UTF-8.
 */
#include "http_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = fuzz_copy(data, size);
    if (!body)
        return 0;
    struct feedback_req r;
    struct perr pe = {0};
    memset(&r, 0xA5, sizeof r);  /* the parser must write what it returns */
    if (http_parse_feedback(body, size, &r, &pe)) {
        size_t n = strnlen(r.label, sizeof r.label);
        FUZZ_CHECK(r.id >= 1, "id %lld", (long long)r.id);
        FUZZ_CHECK(n >= 1 && n <= 200, "label of %zu bytes", n);
        FUZZ_CHECK(fuzz_utf8_ok(r.label), "label is not UTF-8");
        json_t *v = json_pack("{sI ss}", "id", (json_int_t)r.id, "label", r.label);
        FUZZ_CHECK(v != NULL, "the reply cannot carry the label");
        json_decref(v);
    } else {
        fuzz_check_refusal(&pe, 0);
    }
    free(body);
    return 0;
}
