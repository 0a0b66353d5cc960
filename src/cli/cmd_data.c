/*
 * cmd_data.c — the data commands: load, data, datasets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd_int.h"
#include "mlwb/core/samples.h"

void cmd_print_dataset(cmd_ctx *c, json_t *o, const char *verb)
{
    int is_new = json_is_true(json_object_get(o, "new")) || !json_object_get(o, "new");
    cmd_result(c, o, "data v%lld %s: %lld rows x %lld columns, %lld classes (%s) hash %s",
               (long long)json_integer_value(json_object_get(o, "version")),
               is_new ? verb : "unchanged",
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

static cmd_status load_exec(cmd_ctx *c, const cmd_args *a)
{
    const char *src = a->pos[0];
    eng_load_req req = {0};
    if (strcmp(src, "sample") == 0) {
        if (a->npos == 1)
            return list_samples(c);
        if (a->npos != 2)
            return cmd_error(c, "usage: load sample NAME");
        req.source = LOAD_SAMPLE;
    } else if (strcmp(src, "csv") == 0) {
        if (a->npos != 2)
            return cmd_error(c, "usage: load csv PATH [label=COL]");
        req.source = LOAD_CSV;
    } else {
        return cmd_error(c, "unknown source '%s' (sources: csv, sample)", src);
    }
    req.path = a->pos[1];
    req.label = cmd_opt(a, "label");
    char *err = NULL;
    int64_t id = eng_submit_load(c->cli->eng, &req, &err);
    if (!id) {
        cmd_status st = cmd_error(c, "%s", err);
        free(err);
        return st;
    }
    return cmd_job_started(c, id);
}

const cmd_entry cmd_load_entry = {
    "load", "load csv PATH [label=COL] | load sample [NAME]",
    "load a data set as the new current version",
    "load csv PATH [label=COL]\n"
    "    Read a CSV file with a header row.  The label column is the last one unless\n"
    "    label= names it (by header name or 1-based index); its values become classes.\n"
    "load sample NAME\n"
    "    Load a bundled data set (iris).  'load sample' alone lists them.\n"
    "A load whose content equals the current version makes no new version.",
    1, 2, "label", load_exec};

static cmd_status data_exec(cmd_ctx *c, const cmd_args *a)
{
    ds *d = eng_dataset(c->cli->eng);
    if (!d)
        return cmd_error(c, "no data loaded: try 'load sample iris'");
    json_t *o = eng_dataset_json(d);
    size_t *counts = calloc(d->nclasses ? d->nclasses : 1, sizeof *counts);
    if (!counts) {
        ds_release(&d);
        json_decref(o);
        return cmd_error(c, "out of memory");
    }
    ds_class_counts(d, counts);
    json_t *cl = json_array(), *feats = json_array();
    char text[4096];
    int n = snprintf(text, sizeof text, "data v%lld: %s\n  %zu rows x %zu columns, label '%s'\n  classes:",
                     (long long)d->version, d->source ? d->source : "", d->rows, d->cols,
                     d->label_name ? d->label_name : "");
    for (size_t k = 0; k < d->nclasses; k++) {
        json_array_append_new(cl, json_pack("{ss sI}", "name", d->class_names[k], "count",
                                            (json_int_t)counts[k]));
        if (n >= 0 && (size_t)n < sizeof text)
            n += snprintf(text + n, sizeof text - (size_t)n, " %s %zu", d->class_names[k], counts[k]);
    }
    if (n >= 0 && (size_t)n < sizeof text)
        n += snprintf(text + n, sizeof text - (size_t)n, "\n  features:");
    for (size_t j = 0; j < d->cols; j++) {
        json_array_append_new(feats, json_string(d->feature_names[j]));
        if (n >= 0 && (size_t)n < sizeof text)
            n += snprintf(text + n, sizeof text - (size_t)n, " %s", d->feature_names[j]);
    }
    json_object_set_new(o, "class_counts", cl);
    json_object_set_new(o, "features", feats);
    if (d->label_name)
        json_object_set_new(o, "label", json_string(d->label_name));
    free(counts);
    ds_release(&d);
    cmd_result(c, o, "%s", text);
    return CMD_OK;
}

const cmd_entry cmd_data_entry = {
    "data", "data", "show the current data set",
    "data\n    The current data set: version, source, shape, classes with counts, features.",
    0, 0, NULL, data_exec};

static cmd_status datasets_exec(cmd_ctx *c, const cmd_args *a)
{
    store_dataset_info *list = NULL;
    size_t n = 0;
    char *err = NULL;
    if (store_list_datasets(eng_store(c->cli->eng), &list, &n, &err) != MLWB_OK) {
        cmd_status st = cmd_error(c, "%s", err);
        free(err);
        return st;
    }
    ds *cur = eng_dataset(c->cli->eng);
    int64_t curv = cur ? cur->version : 0;
    ds_release(&cur);
    if (!c->json && n == 0)
        cmd_result(c, NULL, "no data sets stored yet");
    if (!c->json && n > 0)
        cmd_result(c, NULL, "  version  rows     cols  classes  hash              source");
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_pack("{sI sI sI sI ss ss sb}", "version", (json_int_t)list[i].version,
                              "rows", (json_int_t)list[i].rows, "columns",
                              (json_int_t)list[i].cols, "classes", (json_int_t)list[i].nclasses,
                              "hash", list[i].hash, "source",
                              list[i].source ? list[i].source : "", "current",
                              list[i].version == curv);
        cmd_result(c, o, "%s %-7lld %-8zu %-5zu %-8zu %-17s %s", list[i].version == curv ? "*" : " ",
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
