/*
 * fuzz_csv.c — the CSV reader (csv_parse in src/core/csv.c) with the options users set.
 *
 * Input: byte 0 picks the options: bits 0-2 the separator (auto , ; tab | space : or
 * 7: the text's first byte, when csv_sep_parse takes it as a one-character separator),
 * bits 3-4 the label (the last column, "none", column "1", a column named "label"),
 * bits 5-6 the missing policy (error, drop, mean, error), bit 7 ignore="1".  Byte 1
 * picks a second, differential parse: bits 0-5 a chunk size (0 = none, else 1..63 bytes
 * per chunk), bit 6 two threads instead of one.  The rest is the CSV text.
 * Checks:
 * - success: a consistent data set — cols feature names, rows*cols values, all finite
 *   (the reader refuses inf and out-of-range values; mean fills the missing ones), labels
 *   in 0..nclasses-1 with nclasses names (none without a label column), a 16-hex-digit
 *   hash, rows_dropped only under missing=drop; every byte of it is read (ASan);
 * - failure: a non-empty message;
 * - determinism (csv.h): the same text parsed again in tiny chunks, on one or two
 *   threads, gives the same data set (hash, shape) or the same error message.
 */
#include <math.h>

#include "fuzz.h"
#include "mlwb/core/csv.h"

static void check_ds(const ds *d, const csv_opts *o)
{
    FUZZ_CHECK(d->cols >= 1, "no columns");
    FUZZ_CHECK(d->rows == 0 || d->x != NULL, "no values");
    double sum = 0;
    for (size_t i = 0; i < d->rows * d->cols; i++) {
        FUZZ_CHECK(isfinite(d->x[i]), "value %zu is %g", i, (double)d->x[i]);
        sum += d->x[i];
    }
    (void)sum;
    for (size_t j = 0; j < d->cols; j++)
        FUZZ_CHECK(d->feature_names && d->feature_names[j], "feature name %zu", j);
    int unlabelled = o->label && strcmp(o->label, "none") == 0;
    if (unlabelled) {
        FUZZ_CHECK(d->y == NULL && d->nclasses == 0 && d->label_name == NULL, "labels");
    } else {
        FUZZ_CHECK(d->rows == 0 || d->y != NULL, "no labels");
        FUZZ_CHECK(d->label_name != NULL, "no label name");
        for (size_t i = 0; i < d->rows; i++)
            FUZZ_CHECK(d->y[i] >= 0 && (size_t)d->y[i] < d->nclasses, "label %d of row %zu",
                       d->y[i], i);
        for (size_t c = 0; c < d->nclasses; c++)
            FUZZ_CHECK(d->class_names[c] != NULL, "class name %zu", c);
    }
    FUZZ_CHECK(strlen(d->hash) == 16 && strspn(d->hash, "0123456789abcdef") == 16, "hash '%s'",
               d->hash);
    FUZZ_CHECK(o->missing == CSV_MISSING_DROP || d->rows_dropped == 0, "%zu rows dropped",
               d->rows_dropped);
    FUZZ_CHECK(d->source != NULL, "no source");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static const char seps[8] = {0, ',', ';', '\t', '|', ' ', ':', 0};
    static const char *const labels[4] = {NULL, "none", "1", "label"};
    static const csv_missing miss[4] = {CSV_MISSING_ERROR, CSV_MISSING_DROP, CSV_MISSING_MEAN,
                                        CSV_MISSING_ERROR};
    uint8_t a = data[0], b = data[1];
    csv_opts o = {.sep = seps[a & 7], .label = labels[(a >> 3) & 3],
                  .missing = miss[(a >> 5) & 3], .ignore = (a & 0x80) ? "1" : NULL,
                  .threads = 1};
    data += 2, size -= 2;
    if ((a & 7) == 7 && size > 0) {
        char one[2] = {(char)data[0], 0}, sep = 0;
        if (csv_sep_parse(one, &sep) == 0)
            o.sep = sep;
    }
    char *buf = fuzz_copy(data, size);
    if (!buf)
        return 0;
    ds *d = NULL;
    char *err = NULL;
    mlwb_status st = csv_parse(buf, size, "fuzz.csv", &o, &d, &err);
    if (st == MLWB_OK) {
        FUZZ_CHECK(d != NULL && err == NULL, "success without a data set");
        check_ds(d, &o);
    } else {
        FUZZ_CHECK(d == NULL, "failure with a data set");
        FUZZ_CHECK(err != NULL && *err, "failure (%d) without a message", (int)st);
    }
    if (b & 63) {
        csv_opts o2 = o;
        o2.chunk_size = b & 63;
        o2.threads = (b & 64) ? 2 : 1;
        ds *d2 = NULL;
        char *err2 = NULL;
        mlwb_status st2 = csv_parse(buf, size, "fuzz.csv", &o2, &d2, &err2);
        FUZZ_CHECK(st2 == st, "status %d, in chunks of %zu: %d (%s / %s)", (int)st,
                   o2.chunk_size, (int)st2, err ? err : "", err2 ? err2 : "");
        if (st == MLWB_OK) {
            FUZZ_CHECK(d2->rows == d->rows && d2->cols == d->cols &&
                           strcmp(d2->hash, d->hash) == 0,
                       "%zux%zu %s, in chunks of %zu: %zux%zu %s", d->rows, d->cols, d->hash,
                       o2.chunk_size, d2->rows, d2->cols, d2->hash);
        } else {
            FUZZ_CHECK(strcmp(err, err2) == 0, "'%s', in chunks of %zu: '%s'", err,
                       o2.chunk_size, err2);
        }
        ds_release(&d2);
        free(err2);
    }
    ds_release(&d);
    free(err);
    free(buf);
    return 0;
}
