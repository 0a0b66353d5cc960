/*
 * cmd_data.c — the data commands: load, data, datasets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd_int.h"
#include "mlwb/core/num.h"
#include "mlwb/core/samples.h"
#include "mlwb/core/text.h"

#include <gsl/gsl_statistics_float.h>

void cmd_print_dataset(cmd_ctx *c, json_t *o, const char *verb)
{
    int is_new = json_is_true(json_object_get(o, "new")) || !json_object_get(o, "new");
    int changed = json_is_true(json_object_get(o, "changed"));
    cmd_result(c, o, "data v%lld %s: %lld rows x %lld columns, %lld classes (%s) hash %s",
               (long long)json_integer_value(json_object_get(o, "version")),
               is_new ? verb : changed ? "current again (same content as before)" : "unchanged",
               (long long)json_integer_value(json_object_get(o, "rows")),
               (long long)json_integer_value(json_object_get(o, "columns")),
               (long long)json_integer_value(json_object_get(o, "classes")),
               json_string_value(json_object_get(o, "source")),
               json_string_value(json_object_get(o, "hash")));
}

static cmd_status list_samples(cmd_ctx *c)
{
    sample_info s;
    json_t *arr = json_array();
    char text[2048] = "samples:";
    for (size_t i = 0; sample_at(i, &s); i++) {
        json_array_append_new(arr, json_pack("{ss ss}", "name", s.name, "description",
                                             s.description));
        size_t n = strlen(text);
        snprintf(text + n, sizeof text - n, "\n  %-14s %s", s.name, s.description);
    }
    cmd_result(c, json_pack("{so}", "samples", arr), "%s", text);
    return CMD_OK;
}

/* Options that belong to one source only. */
static cmd_status only_for(cmd_ctx *c, const cmd_args *a, const char *src, const char *keys)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", keys);
    for (char *k = strtok(buf, ","); k; k = strtok(NULL, ","))
        if (cmd_opt(a, k))
            return cmd_error(c, "option %s= does not apply to 'load %s'", k, src);
    return CMD_OK;
}

static cmd_status parse_synth(cmd_ctx *c, const cmd_args *a, synth_blobs_opts *o)
{
    long n = 0, d = 0, classes = 0, seed = 1;
    if (!cmd_opt(a, "n") || !cmd_opt(a, "d") || !cmd_opt(a, "classes"))
        return cmd_error(c, "usage: load synth blobs n=N d=D classes=C [spread=S] [seed=S]");
    if (cmd_opt_int(c, a, "n", 1, 100000000, &n) || cmd_opt_int(c, a, "d", 1, 100000, &d) ||
        cmd_opt_int(c, a, "classes", 1, 1000000, &classes) ||
        cmd_opt_int(c, a, "seed", 0, 4294967295L, &seed))
        return CMD_ERROR;
    double spread = 1.0;
    const char *sp = cmd_opt(a, "spread");
    if (sp && (cmd_parse_double(sp, &spread) != 0 || spread < 0 || spread > 1e6))
        return cmd_error(c, "spread=%s: expected a number from 0 to 1e6", sp);
    if ((double)n * (double)d > 2e9)
        return cmd_error(c, "n=%ld x d=%ld is too large (at most 2e9 values)", n, d);
    *o = (synth_blobs_opts){(size_t)n, (size_t)d, (size_t)classes, spread, 10.0,
                            (unsigned long)seed};
    return CMD_OK;
}

static cmd_status load_exec(cmd_ctx *c, const cmd_args *a)
{
    const char *src = a->pos[0];
    eng_load_req req = {0};
    static const char csv_keys[] = "sep,missing,ignore";
    static const char synth_keys[] = "n,d,classes,spread,seed";
    if (strcmp(src, "sample") == 0) {
        if (a->npos == 1 && !cmd_opt(a, "every"))
            return list_samples(c);
        if (a->npos != 2)
            return cmd_error(c, "wrong arguments; usage: load sample NAME");
        req.source = LOAD_SAMPLE;
        if (only_for(c, a, "sample", synth_keys) || cmd_csv_opts(c, a, &req.csv))
            return CMD_ERROR;
    } else if (strcmp(src, "csv") == 0) {
        if (a->npos != 2)
            return cmd_error(c, "wrong arguments; usage: load csv PATH [label=COL] [sep=C] [missing=error|drop|mean] [ignore=COL,...] [every=DURATION]");
        req.source = LOAD_CSV;
        if (only_for(c, a, "csv", synth_keys) || cmd_csv_opts(c, a, &req.csv))
            return CMD_ERROR;
    } else if (strcmp(src, "synth") == 0) {
        if (a->npos != 2 || strcmp(a->pos[1], "blobs") != 0)
            return cmd_error(c, "wrong arguments; usage: load synth blobs n=N d=D classes=C [spread=S] [seed=S]");
        req.source = LOAD_SYNTH;
        if (only_for(c, a, "synth", "label") || only_for(c, a, "synth", csv_keys) || parse_synth(c, a, &req.synth))
            return CMD_ERROR;
    } else if (strcmp(src, "sqlite") == 0) {
        if (a->npos != 3)
            return cmd_error(c, "wrong arguments; usage: load sqlite PATH \"SELECT ...\" [label=COL]");
        req.source = LOAD_SQLITE;
        req.sql = a->pos[2];
        if (only_for(c, a, "sqlite", csv_keys) || only_for(c, a, "sqlite", synth_keys))
            return CMD_ERROR;
    } else {
        return cmd_error(c, "unknown source '%s' (sources: csv, sample, synth, sqlite)", src);
    }
    if (req.source != LOAD_SYNTH)
        req.path = a->pos[1];
    req.label = cmd_opt(a, "label");
    char *err = NULL;
    const char *every = cmd_opt(a, "every");
    if (every) {
        int64_t ms;
        if (cmd_parse_duration(every, &ms) != 0)
            return cmd_error(c, "every=%s: expected a duration like 500ms, 30s, 5m, 1h", every);
        int64_t first = 0;
        int64_t id = eng_schedule_load(cli_engine(c->cli), &req, ms, &first, &err);
        if (!id) {
            return cmd_fail(c, err);
        }
        cmd_result(c, json_pack("{sI ss sI}", "schedule", (json_int_t)id, "every", every,
                                "interval_ms", (json_int_t)ms),
                   "schedule %lld: load every %s (the first run starts now)", (long long)id, every);
        /* the first run is a job like any other: a script waits for it */
        return first ? cmd_job_started(c, first) : CMD_OK;
    }
    int64_t id = eng_submit_load(cli_engine(c->cli), &req, &err);
    return cmd_job_or_error(c, id, err);
}

const cmd_entry cmd_load_entry = {
    "load",
    "load csv PATH [label=COL] [sep=C] [missing=error|drop|mean] [ignore=COL,...] | "
    "load sample [NAME] | load synth blobs n=N d=D classes=C [spread=S] [seed=S] | "
    "load sqlite PATH \"SELECT ...\" [label=COL]   (each: [every=DURATION])",
    "load a data set as the new current version",
    "load csv PATH [label=COL] [sep=C] [missing=error|drop|mean] [ignore=COL,...]\n"
    "    Read a CSV file with a header row (RFC 4180 quoting; LF or CRLF; a UTF-8 BOM is\n"
    "    skipped).  The label column is the last one unless label= names it (by header\n"
    "    name or 1-based index; label=none for no label); its values become classes.\n"
    "    sep= sets the separator (default: detected among , ; tab).  missing= says what\n"
    "    to do with empty, NA, NaN or ? cells: error (default), drop the row, or fill\n"
    "    the column's mean.  ignore= skips columns (names or 1-based indexes).\n"
    "load sample NAME\n"
    "    Load a bundled data set (iris, wine, breast_cancer, digits).  'load sample'\n"
    "    alone lists them.\n"
    "load synth blobs n=N d=D classes=C [spread=S] [seed=S]\n"
    "    Gaussian blobs: N rows of D features around C centres drawn in [-10, 10]^D,\n"
    "    each with standard deviation S (default 1); the same seed gives the same data.\n"
    "load sqlite PATH \"SELECT ...\" [label=COL]\n"
    "    The rows of a query on another SQLite file, opened read-only.  Every column but\n"
    "    the label (default the last) must be numeric.\n"
    "every=DURATION (500ms, 30s, 5m, 1h) repeats the load on a schedule (see\n"
    "'schedules'); a run still going when the next is due is skipped.  A load whose\n"
    "content equals the newest version makes no new version (\"unchanged\").  A failed\n"
    "load changes nothing: the current data set and the store stay as they were.",
    1, 3, "label,every,sep,missing,ignore,n,d,classes,spread,seed", load_exec};

static cmd_status data_exec(cmd_ctx *c, const cmd_args *a)
{
    ds *d = eng_dataset(cli_engine(c->cli));
    if (!d)
        return cmd_error(c, "no data loaded: try 'load sample iris'");
    json_t *o = eng_dataset_json(d);
    size_t *counts = calloc(d->nclasses ? d->nclasses : 1, sizeof *counts);
    size_t cap = 512 + d->cols * 96 + d->nclasses * 64;
    char *text = malloc(cap);
    if (!counts || !text) {
        free(counts);
        free(text);
        ds_release(&d);
        json_decref(o);
        return cmd_error(c, "out of memory");
    }
    ds_class_counts(d, counts);
    size_t n = 0;
#define PUT(...)                                                              \
    do {                                                                      \
        int w_ = snprintf(text + n, n < cap ? cap - n : 0, __VA_ARGS__);      \
        if (w_ > 0)                                                           \
            n = n + (size_t)w_ < cap ? n + (size_t)w_ : cap - 1;              \
    } while (0)
    char when[64] = "";
    time_t t = (time_t)d->loaded_at;
    struct tm tmv;
    if (d->loaded_at > 0 && localtime_r(&t, &tmv))
        strftime(when, sizeof when, ", loaded %Y-%m-%d %H:%M:%S", &tmv);
    PUT("data v%lld: %s%s\n  %zu rows x %zu features", (long long)d->version,
        d->source ? d->source : "", when, d->rows, d->cols);
    if (d->rows_dropped)
        PUT(" (%zu row%s dropped for missing values)", d->rows_dropped,
            d->rows_dropped == 1 ? "" : "s");
    PUT(", hash %s\n", d->hash);
    PUT("  %-24s %8s %8s %12s %12s %12s %12s\n", "feature", "count", "missing", "mean", "sd",
        "min", "max");
    json_t *cols = json_array();
    for (size_t j = 0; j < d->cols; j++) {
        const float *col = d->x + j;
        size_t stride = d->cols, rows = d->rows;
        double mean = gsl_stats_float_mean(col, stride, rows);
        double sd = rows > 1 ? gsl_stats_float_sd_m(col, stride, rows, mean) : 0;
        float mn = 0, mx = 0;
        gsl_stats_float_minmax(&mn, &mx, col, stride, rows);
        size_t miss = d->col_missing ? d->col_missing[j] : 0;
        json_array_append_new(cols, json_pack("{ss sI sI sf sf sf sf}", "name",
                                              d->feature_names[j], "count", (json_int_t)rows,
                                              "missing", (json_int_t)miss, "mean", mean, "sd", sd,
                                              "min", num_f32(mn), "max", num_f32(mx)));
        PUT("  %-24.24s %8zu %8zu %12.6g %12.6g %12.6g %12.6g\n", d->feature_names[j], rows, miss,
            mean, sd, (double)mn, (double)mx);
    }
    json_t *cl = json_array();
    if (d->y) {
        PUT("  label '%s', %zu classes:", d->label_name ? d->label_name : "", d->nclasses);
        for (size_t k = 0; k < d->nclasses; k++) {
            json_array_append_new(cl, json_pack("{ss sI}", "name", d->class_names[k], "count",
                                                (json_int_t)counts[k]));
            PUT(" %s %zu", d->class_names[k], counts[k]);
        }
    } else {
        PUT("  no label column");
    }
#undef PUT
    json_object_set_new(o, "features", cols);
    json_object_set_new(o, "class_counts", cl);
    if (d->label_name)
        json_object_set_new(o, "label", json_string(d->label_name));
    json_object_set_new(o, "rows_dropped", json_integer((json_int_t)d->rows_dropped));
    free(counts);
    ds_release(&d);
    cmd_result(c, o, "%s", text);
    free(text);
    return CMD_OK;
}

const cmd_entry cmd_data_entry = {
    "data", "data", "show the current data set",
    "data\n    The current data set: version, source, when it was loaded, its hash; for each\n"
    "    feature the count, missing cells, mean, sd, min and max; the classes with counts.",
    0, 0, NULL, data_exec};

static cmd_status datasets_exec(cmd_ctx *c, const cmd_args *a)
{
    store_dataset_info *list = NULL;
    size_t n = 0;
    char *err = NULL;
    if (store_list_datasets(eng_store(c->cli->eng), &list, &n, &err) != MLWB_OK) {
        return cmd_fail(c, err);
    }
    ds *cur = eng_dataset(c->cli->eng);
    int64_t curv = cur ? cur->version : 0;
    ds_release(&cur);
    if (!c->json && n == 0)
        cmd_result(c, NULL, "no data sets stored yet");
    if (!c->json && n > 0)
        cmd_result(c, NULL, "  version  rows      cols   classes  hash              source");
    for (size_t i = 0; i < n; i++) {
        char *src = text_utf8(list[i].source ? list[i].source : "");
        json_t *o = json_pack("{sI sI sI sI ss ss sb}", "version", (json_int_t)list[i].version,
                              "rows", (json_int_t)list[i].rows, "columns",
                              (json_int_t)list[i].cols, "classes", (json_int_t)list[i].nclasses,
                              "hash", list[i].hash, "source", src ? src : "", "current",
                              list[i].version == curv);
        free(src);
        cmd_result(c, o, "%s %-8lld %-9zu %-6zu %-8zu %-17s %s", list[i].version == curv ? "*" : " ",
                   (long long)list[i].version, list[i].rows, list[i].cols, list[i].nclasses,
                   list[i].hash, list[i].source ? list[i].source : "");
        store_dataset_info_clear(&list[i]);
    }
    free(list);
    return CMD_OK;
}

const cmd_entry cmd_datasets_entry = {
    "datasets", "datasets", "list the stored data set versions",
    "datasets\n    Every stored data set version; * marks the current one.", 0, 0, NULL,
    datasets_exec};

static cmd_status head_exec(cmd_ctx *c, const cmd_args *a)
{
    long n = 10;
    if (a->npos == 1 && (cmd_parse_long(a->pos[0], &n) != 0 || n < 0))
        return cmd_error(c, "'%s' is not a row count", a->pos[0]);
    ds *d = eng_dataset(cli_engine(c->cli));
    if (!d)
        return cmd_error(c, "no data loaded: try 'load sample iris'");
    size_t rows = (size_t)n < d->rows ? (size_t)n : d->rows;
    if (!c->json) {
        char line[4096];
        int w = 0;
        for (size_t j = 0; j < d->cols && w >= 0 && (size_t)w < sizeof line; j++)
            w += snprintf(line + w, sizeof line - (size_t)w, "%12.12s ", d->feature_names[j]);
        if (d->label_name && w >= 0 && (size_t)w < sizeof line)
            snprintf(line + w, sizeof line - (size_t)w, " %s", d->label_name);
        cmd_result(c, NULL, "%s", line);
    }
    for (size_t i = 0; i < rows; i++) {
        json_t *xs = json_array();
        char line[4096];
        int w = 0;
        for (size_t j = 0; j < d->cols; j++) {
            float v = d->x[i * d->cols + j];
            json_array_append_new(xs, json_real(num_f32(v)));
            if (w >= 0 && (size_t)w < sizeof line)
                w += snprintf(line + w, sizeof line - (size_t)w, "%12.6g ", (double)v);
        }
        const char *lab = d->y ? d->class_names[d->y[i]] : NULL;
        if (lab && w >= 0 && (size_t)w < sizeof line)
            snprintf(line + w, sizeof line - (size_t)w, " %s", lab);
        json_t *o = json_pack("{sI so}", "row", (json_int_t)i + 1, "x", xs);
        if (lab)
            json_object_set_new(o, "label", json_string(lab));
        cmd_result(c, o, "%s", line);
    }
    if (!c->json && rows < d->rows)
        cmd_result(c, NULL, "(%zu of %zu rows)", rows, d->rows);
    ds_release(&d);
    return CMD_OK;
}

const cmd_entry cmd_head_entry = {
    "head", "head [N]", "show the first rows of the current data set",
    "head [N]\n    The first N rows (default 10) of the current data set, features then label.",
    0, 1, NULL, head_exec};

static cmd_status split_exec(cmd_ctx *c, const cmd_args *a)
{
    engine *e = cli_engine(c->cli);
    double f;
    unsigned long seed;
    eng_get_holdout(e, &f, &seed);
    if (a->npos == 1) {
        if (strcmp(a->pos[0], "off") != 0 && strcmp(a->pos[0], "none") != 0)
            return cmd_error(c, "usage: split holdout=F [seed=S] | split off | split");
        eng_set_holdout(e, 0, seed);
        f = 0;
    } else if (cmd_opt(a, "holdout") || cmd_opt(a, "seed")) {
        const char *h = cmd_opt(a, "holdout");
        if (h && (cmd_parse_double(h, &f) != 0 || f < 0 || f >= 1))
            return cmd_error(c, "holdout=%s: expected a fraction from 0 (off) to below 1", h);
        long s = (long)seed;
        if (cmd_opt_int(c, a, "seed", 0, 4294967295L, &s))
            return CMD_ERROR;
        seed = (unsigned long)s;
        eng_set_holdout(e, f, seed);
    }
    if (f > 0)
        cmd_result(c, json_pack("{ss sf sI}", "evaluation", "holdout", "holdout", f, "seed",
                                (json_int_t)seed),
                   "evaluation: a stratified holdout of %.0f%% of the rows (seed %lu); the model "
                   "is fitted on the rest", f * 100, seed);
    else
        cmd_result(c, json_pack("{ss}", "evaluation", "cv"),
                   "evaluation: cross-validation on all rows (no holdout)");
    return CMD_OK;
}

const cmd_entry cmd_split_entry = {
    "split", "split holdout=F [seed=S] | split off | split",
    "hold out a stratified part of the data for evaluation",
    "split holdout=F [seed=S]\n"
    "    From now on, training holds out a stratified, seeded fraction F of the current\n"
    "    data set's rows, fits the model on the rest and reports its accuracy on the\n"
    "    held-out rows.  The same seed gives the same split.\n"
    "split off\n    Go back to cross-validation on all rows (the default).\n"
    "split\n    Show the current setting.",
    0, 1, "holdout,seed", split_exec};
