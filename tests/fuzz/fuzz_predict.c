/*
 * fuzz_predict.c — POST /v1/predict's body and GET /predict's prompt, as the handlers
 * parse them (http_parse_predict_post / http_parse_prompt in src/serve/http.c, then http_fill_json).
 *
 * Input: byte 0 picks the model's feature count d (1..8, bits 0-2) and the route (bit 3:
 * set = the prompt, cut at its first NUL as a query value is; clear = the body, all
 * bytes); the rest is the text.  At most 64 instances per request.
 * Checks: an accepted request has 1..64 rows of d finite float32 values; a refused one
 * has status 400 or 413 and a message whose {"error": ...} reply is valid JSON/UTF-8.
 * The body's fast reader (http_fill_instances_fast) is checked against the full path:
 * whatever it takes, the full path takes too, as the same rows, bit for bit.
 * ASan/UBSan/LSan watch the parse and the fill.
 */
#include "http_check.h"

enum { MAX_INST = 64 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t d = 1 + (data[0] & 7);
    int prompt = (data[0] >> 3) & 1;
    data++, size--;
    struct batch b = {0};
    struct perr pe = {0};
    bool ok;
    char *text = prompt ? fuzz_cstr(data, size) : fuzz_copy(data, size);
    if (!text)
        return 0;
    if (prompt)
        ok = fuzz_prompt(text, d, MAX_INST, &b, &pe);
    else
        ok = http_fill_body(text, size, d, MAX_INST, &b, &pe);
    if (!prompt) {
        struct batch fast;
        if (http_fill_instances_fast(text, size, MAX_INST, &fast)) {
            struct batch full = {0};
            struct perr fpe = {0};
            bool full_ok = http_fill_body(text, size, fast.d, MAX_INST, &full, &fpe);
            FUZZ_CHECK(full_ok, "the fast reader took %zu x %zu; the full path refused: %s",
                       fast.n, fast.d, fpe.msg);
            FUZZ_CHECK(full.n == fast.n &&
                           memcmp(full.x, fast.x, full.n * fast.d * sizeof *full.x) == 0,
                       "the fast reader's %zu x %zu rows differ from the full path's",
                       fast.n, fast.d);
            FUZZ_CHECK(fast.d != d || ok, "width %zu: the full path refused: %s", d, pe.msg);
            http_batch_free(&full);
            http_batch_free(&fast);
        }
    }
    if (ok)
        fuzz_check_batch(&b, d, MAX_INST);
    else
        fuzz_check_refusal(&pe, 1);
    http_batch_free(&b);
    free(text);
    return 0;
}
