/*
 * fuzz_lex.c — the command language's lexer and argument parsing, everything a user's
 * line goes through before a command runs (no engine): cmd_split (src/cli/lex.c) over
 * every ';'-separated command of the line, cmd_lookup (unique-prefix lookup),
 * cmd_args_split (key=value options against the command's keys and bounds, in
 * src/cli/cmd.c), and the value parsers: cmd_parse_long / cmd_parse_double /
 * cmd_parse_duration, csv_sep_parse, csv_missing_parse, knn_metric_parse,
 * knn_weights_parse, knn_scale_parse.
 *
 * Input: the line (cut at its first NUL, as the TUI and scripts hand it over).
 * Checks: cmd_split gives at most max words, none longer than the line, and a rest
 * inside the line, or -1 with a message; with a small max it gives the same words or
 * "too many words"; cmd_args_split leaves the words as they were once restored; a
 * parsed duration is 10 ms .. 366 days, a parsed double finite, a parsed separator not
 * a quote or line end, and the knn names parse back to what they print as.
 */
#include <math.h>

#include "cmd_int.h"
#include "fuzz.h"
#include "mlwb/core/csv.h"
#include "mlwb/core/knn.h"

static void check_value(const char *v)
{
    long l;
    double x;
    int64_t ms;
    char sep;
    csv_missing cm;
    knn_metric km;
    int w, sc;
    (void)cmd_parse_long(v, &l);
    if (cmd_parse_double(v, &x) == 0)
        FUZZ_CHECK(isfinite(x), "'%s' parsed as %g", v, x);
    if (cmd_parse_duration(v, &ms) == 0)
        FUZZ_CHECK(ms >= 10 && ms <= 366LL * 86400000 + 1, "'%s' as %lld ms", v, (long long)ms);
    if (csv_sep_parse(v, &sep) == 0)
        FUZZ_CHECK(sep != '"' && sep != '\n' && sep != '\r', "separator %d", sep);
    if (csv_missing_parse(v, &cm) == 0)
        FUZZ_CHECK(strcmp(csv_missing_name(cm), v) == 0, "missing '%s'", v);
    if (knn_metric_parse(v, &km) == 0)
        FUZZ_CHECK(strcmp(knn_metric_name(km), v) == 0, "metric '%s'", v);
    if (knn_weights_parse(v, &w) == 0)
        FUZZ_CHECK(strcmp(knn_weights_name(w), v) == 0, "weights '%s'", v);
    if (knn_scale_parse(v, &sc) == 0)
        FUZZ_CHECK(strcmp(knn_scale_name(sc), v) == 0, "scale '%s'", v);
}

/* One command's words: look it up, split its options, check the values. */
static void check_words(int argc, char **argv, const unsigned char *quoted)
{
    char *err = NULL;
    const cmd_entry *e = cmd_lookup(argv[0], &err);
    if (!e) {
        FUZZ_CHECK(err && *err, "lookup failed without a message");
        free(err);
        for (int i = 0; i < argc; i++)
            check_value(argv[i]);
        return;
    }
    char *copy[CMD_MAX_WORDS];
    for (int i = 0; i < argc; i++)
        copy[i] = strdup(argv[i]);
    cmd_args a;
    if (cmd_args_split(e, argc, argv, quoted, &a, &err) == 0) {
        FUZZ_CHECK(a.npos + a.nopt == argc - 1, "%d + %d words of %d", a.npos, a.nopt, argc);
        for (int i = 0; i < a.nopt; i++) {
            FUZZ_CHECK(*a.key[i] && !strchr(a.key[i], '='), "key '%s'", a.key[i]);
            check_value(a.val[i]);
            (void)cmd_opt(&a, a.key[i]);
        }
        for (int i = 0; i < a.npos; i++)
            check_value(a.pos[i]);
        cmd_args_restore(&a);
    } else {
        FUZZ_CHECK(err && *err, "split failed without a message");
        free(err);
    }
    for (int i = 0; i < argc; i++) {
        FUZZ_CHECK(!copy[i] || strcmp(copy[i], argv[i]) == 0, "word %d changed: '%s' -> '%s'",
                   i, copy[i], argv[i]);
        free(copy[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = fuzz_cstr(data, size);
    if (!line)
        return 0;
    size_t len = strlen(line);
    const char *p = line;
    while (p) {
        char *argv[CMD_MAX_WORDS];
        unsigned char quoted[CMD_MAX_WORDS];
        const char *rest = NULL;
        char *err = NULL;
        int argc = cmd_split(p, argv, quoted, CMD_MAX_WORDS, &rest, &err);
        if (argc < 0) {
            FUZZ_CHECK(err && *err, "lexical error without a message");
            free(err);
            break;
        }
        FUZZ_CHECK(argc <= CMD_MAX_WORDS, "%d words", argc);
        FUZZ_CHECK(!rest || (rest > p && rest <= line + len), "rest outside the line");
        for (int i = 0; i < argc; i++)
            FUZZ_CHECK(strlen(argv[i]) <= len, "word %d longer than the line", i);

        /* the same line with room for 3 words: the same words, or "too many" */
        char *small[3];
        const char *rest2 = NULL;
        char *err2 = NULL;
        int n2 = cmd_split(p, small, NULL, 3, &rest2, &err2);
        if (argc <= 3) {
            FUZZ_CHECK(n2 == argc && rest2 == rest, "%d words with max 3, %d with max %d", n2,
                       argc, CMD_MAX_WORDS);
            for (int i = 0; i < n2; i++)
                FUZZ_CHECK(strcmp(small[i], argv[i]) == 0, "word %d differs", i);
        } else {
            FUZZ_CHECK(n2 == -1 && err2 && strstr(err2, "too many words"), "%d words of %d",
                       n2, argc);
        }
        for (int i = 0; i < n2; i++)
            free(small[i]);
        free(err2);

        if (argc > 0)
            check_words(argc, argv, quoted);
        for (int i = 0; i < argc; i++)
            free(argv[i]);
        p = rest;
    }
    free(line);
    return 0;
}
