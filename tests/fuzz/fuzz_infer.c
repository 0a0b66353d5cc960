/*
 * fuzz_infer.c — the body of POST /v2/models/{name}/infer (KServe / Open Inference
 * Protocol v2), as h_v2_infer parses it: http_parse_infer_doc, then http_infer_input
 * (shape, datatype, nested or flat data) in src/serve/http_v2.c.
 *
 * Input: byte 0 picks the model's feature count d (1..8, bits 0-2); the rest is the
 * body.  At most 64 rows per request.
 * Checks: an accepted tensor gives 1..64 rows of d finite float32 values; a refusal has
 * status 400 or 413 and a message whose {"error": ...} reply is valid JSON/UTF-8.
 */
#include "http_check.h"

enum { MAX_INST = 64 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t d = 1 + (data[0] & 7);
    data++, size--;
    char *body = fuzz_copy(data, size);
    if (!body)
        return 0;
    struct batch b = {0};
    struct perr pe = {0};
    if (fuzz_infer_body(body, size, d, MAX_INST, &b, &pe))
        fuzz_check_batch(&b, d, MAX_INST);
    else
        fuzz_check_refusal(&pe, 1);
    http_batch_free(&b);
    free(body);
    return 0;
}
