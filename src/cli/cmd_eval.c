/*
 * cmd_eval.c — looking into models: eval (stored metrics), explain (the neighbours of a
 * prediction) and predict file= (a CSV in batch).
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_int.h"
#include "mlwb/core/cluster_scores.h"
#include "mlwb/core/csv.h"
#include "mlwb/core/num.h"

/* "0.1234", or "-" when the metric is null (not defined). */
static const char *num_text(char *buf, size_t n, json_t *v)
{
    if (json_is_number(v))
        snprintf(buf, n, "%.6g", json_number_value(v));
    else
        snprintf(buf, n, "-");
    return buf;
}

/* eval of a k-means model: the internal scores, the sizes, the agreement with labels. */
static cmd_status eval_kmeans(cmd_ctx *c, long v, json_t *p, json_t *m)
{
    json_t *sizes = json_object_get(m, "sizes");
    size_t k = json_array_size(sizes);
    size_t cap = 1024 + k * 32;
    char *text = malloc(cap), b1[32], b2[32], b3[32], b4[32];
    if (!text) {
        json_decref(m);
        json_decref(p);
        return cmd_error(c, "out of memory");
    }
    long long srows = (long long)json_integer_value(json_object_get(m, "silhouette_rows"));
    size_t o = (size_t)snprintf(
        text, cap,
        "model v%ld (kmeans k=%lld, %s), scored on the rows it was fitted on\n"
        "  inertia %s   silhouette %s%s   Calinski-Harabasz %s   Davies-Bouldin %s\n",
        v, (long long)json_integer_value(json_object_get(p, "k")),
        json_string_value(json_object_get(p, "scale")),
        num_text(b1, sizeof b1, json_object_get(m, "inertia")),
        num_text(b2, sizeof b2, json_object_get(m, "silhouette")),
        json_is_true(json_object_get(m, "silhouette_sampled")) ? " (on a sample)" : "",
        num_text(b3, sizeof b3, json_object_get(m, "calinski_harabasz")),
        num_text(b4, sizeof b4, json_object_get(m, "davies_bouldin")));
    if (json_is_true(json_object_get(m, "silhouette_sampled")) && o < cap)
        o += (size_t)snprintf(text + o, cap - o, "  silhouette over a seeded sample of %lld rows\n",
                              srows);
    if (json_object_get(m, "ari") && o < cap)
        o += (size_t)snprintf(text + o, cap - o, "  against the labels: ARI %s   NMI %s\n",
                              num_text(b1, sizeof b1, json_object_get(m, "ari")),
                              num_text(b2, sizeof b2, json_object_get(m, "nmi")));
    if (o < cap)
        o += (size_t)snprintf(text + o, cap - o, "  cluster sizes:");
    for (size_t i = 0; i < k && o < cap; i++)
        o += (size_t)snprintf(text + o, cap - o, " %lld",
                              (long long)json_integer_value(json_array_get(sizes, i)));
    json_t *res = json_pack("{sI sO sO}", "version", (json_int_t)v, "params", p, "metrics", m);
    cmd_result(c, res, "%s", text);
    free(text);
    json_decref(m);
    json_decref(p);
    return CMD_OK;
}

static cmd_status eval_exec(cmd_ctx *c, const cmd_args *a)
{
    engine *e = cli_engine(c->cli);
    long v = reg_active_version(eng_registry(e));
    if (a->npos == 1 && (cmd_parse_long(a->pos[0], &v) != 0 || v < 1))
        return cmd_error(c, "'%s' is not a model version (a number from 'models')", a->pos[0]);
    if (v < 1)
        return cmd_error(c, "no active model: try 'train knn k=auto'");
    store_model_info info = {0};
    char *err = NULL;
    if (store_get_model(eng_store(e), v, &info, NULL, NULL, &err) != MLWB_OK) {
        return cmd_fail(c, err);
    }
    json_t *m = json_loads(info.metrics_json ? info.metrics_json : "{}", 0, NULL);
    json_t *p = json_loads(info.params_json ? info.params_json : "{}", 0, NULL);
    int km = strcmp(info.kind, "kmeans") == 0;
    store_model_info_clear(&info);
    if (!m)
        m = json_object();
    if (km)
        return eval_kmeans(c, v, p, m);
    json_t *per = json_object_get(m, "per_class"), *conf = json_object_get(m, "confusion");
    size_t nc = json_array_size(per);
    size_t cap = 1024 + nc * 96 + nc * nc * 10;
    char *text = malloc(cap);
    if (!text) {
        json_decref(m);
        json_decref(p);
        return cmd_error(c, "out of memory");
    }
    const char *how = json_string_value(json_object_get(m, "evaluation"));
    char howtext[96] = "";
    if (how && strcmp(how, "holdout") == 0)
        snprintf(howtext, sizeof howtext, "on a holdout of %lld rows",
                 (long long)json_integer_value(json_object_get(m, "test_rows")));
    else if (how && strcmp(how, "cv") == 0)
        snprintf(howtext, sizeof howtext, "by %lld-fold cross-validation",
                 (long long)json_integer_value(json_object_get(m, "cv_folds")));
    else if (how && strcmp(how, "loo") == 0)
        snprintf(howtext, sizeof howtext, "by leave-one-out");
    size_t o = (size_t)snprintf(text, cap, "model v%ld (knn k=%lld), measured %s\n", v,
                                (long long)json_integer_value(json_object_get(p, "k")), howtext);
    o += (size_t)snprintf(text + o, cap - o,
                          "  accuracy %.4f   balanced accuracy %.4f   macro-F1 %.4f\n",
                          json_number_value(json_object_get(m, "accuracy")),
                          json_number_value(json_object_get(m, "balanced_accuracy")),
                          json_number_value(json_object_get(m, "macro_f1")));
    if (nc) {
        o += (size_t)snprintf(text + o, cap - o, "  %-20s %9s %9s %9s %8s\n", "class",
                              "precision", "recall", "f1", "support");
        for (size_t i = 0; i < nc && o < cap; i++) {
            json_t *r = json_array_get(per, i);
            o += (size_t)snprintf(text + o, cap - o, "  %-20.20s %9.4f %9.4f %9.4f %8lld\n",
                                  json_string_value(json_object_get(r, "class")),
                                  json_number_value(json_object_get(r, "precision")),
                                  json_number_value(json_object_get(r, "recall")),
                                  json_number_value(json_object_get(r, "f1")),
                                  (long long)json_integer_value(json_object_get(r, "support")));
        }
        o += (size_t)snprintf(text + o, cap - o, "  confusion (rows: true class, columns: predicted):\n");
        for (size_t i = 0; i < nc && o < cap; i++) {
            json_t *row = json_array_get(conf, i);
            o += (size_t)snprintf(text + o, cap - o, "  %-20.20s",
                                  json_string_value(json_object_get(json_array_get(per, i), "class")));
            for (size_t j = 0; j < json_array_size(row) && o < cap; j++)
                o += (size_t)snprintf(text + o, cap - o, " %6lld",
                                      (long long)json_integer_value(json_array_get(row, j)));
            if (o < cap)
                o += (size_t)snprintf(text + o, cap - o, "\n");
        }
    }
    if (o > 0 && o < cap && text[o - 1] == '\n')
        text[o - 1] = 0;
    json_t *res = json_pack("{sI sO sO}", "version", (json_int_t)v, "params", p, "metrics", m);
    cmd_result(c, res, "%s", text);
    free(text);
    json_decref(m);
    json_decref(p);
    return CMD_OK;
}

const cmd_entry cmd_eval_entry = {
    "eval", "eval [VERSION]", "show how a model was measured: accuracy, F1, confusion",
    "eval [VERSION]\n    The evaluation stored with model VERSION (default: the active one):\n"
    "    accuracy, balanced accuracy, macro-F1, per-class precision, recall, F1 and\n"
    "    support, and the confusion matrix, measured on the holdout or by\n"
    "    cross-validation when the model was trained.",
    0, 1, NULL, eval_exec};

/* See cmd_int.h. */
cmd_status cmd_parse_row(cmd_ctx *c, const cmd_args *a, const mdl *m, float *x)
{
    size_t dims = mdl_dims(m);
    if ((size_t)a->npos != dims)
        return cmd_error(c, "model v%lld expects %zu features, got %d", (long long)m->version,
                         dims, a->npos);
    for (size_t j = 0; j < dims; j++) {
        char *end;
        double v = strtod(a->pos[j], &end);
        if (*end || end == a->pos[j] || !isfinite(v) || fabs(v) > FLT_MAX)
            return cmd_error(c, "argument %zu ('%s'): not a finite number", j + 1, a->pos[j]);
        x[j] = (float)v;
    }
    char why[200];
    size_t k = mdl_far_value(m, x, 1, why, sizeof why);
    if (k != SIZE_MAX)
        return cmd_error(c, "argument %zu ('%s'): %s", k + 1, a->pos[k], why);
    return CMD_OK;
}

/* explain with a k-means model: the cluster and the distance to every centroid. */
static cmd_status explain_kmeans(cmd_ctx *c, const cmd_args *a, mdl *m)
{
    size_t dims = km_model_dims(m->km), k = km_model_k(m->km);
    float *x = malloc(dims * sizeof *x);
    double *dist = malloc(k * sizeof *dist);
    char *text = malloc(256 + k * 48);
    cmd_status st = CMD_OK;
    if (!x || !dist || !text) {
        st = cmd_error(c, "out of memory");
        goto out;
    }
    if ((st = cmd_parse_row(c, a, m, x)) != CMD_OK)
        goto out;
    int32_t cl;
    double cd;
    km_model_predict(m->km, x, &cl, &cd);
    km_model_distances(m->km, x, dist);
    size_t cap = 256 + k * 48;
    size_t o = (size_t)snprintf(text, cap, "cluster %d (distance %.4g, model v%lld, k=%zu%s):\n"
                                "  cluster   distance",
                                cl, cd, (long long)m->version, k,
                                km_model_scaled(m->km) ? ", z-scored space" : "");
    json_t *ds_ = json_array();
    for (size_t i = 0; i < k; i++) {
        json_array_append_new(ds_, json_real(dist[i]));
        if (o < cap)
            o += (size_t)snprintf(text + o, cap - o, "\n  %7zu  %9.4g%s", i, dist[i],
                                  (int32_t)i == cl ? "  <- nearest" : "");
    }
    cmd_result(c, json_pack("{si sf sI so}", "cluster", cl, "distance", cd, "model_version",
                            (json_int_t)m->version, "distances", ds_),
               "%s", text);
out:
    free(x);
    free(dist);
    free(text);
    mdl_release(&m);
    return st;
}

static cmd_status explain_exec(cmd_ctx *c, const cmd_args *a)
{
    mdl *m = reg_acquire(eng_registry(cli_engine(c->cli)));
    if (!m)
        return cmd_error(c, "no active model: try 'train knn k=5'");
    if (m->km)
        return explain_kmeans(c, a, m);
    size_t dims = knn_dims(m->knn), k = (size_t)knn_k(m->knn);
    float *x = malloc(dims * sizeof *x), *dist = malloc(k * sizeof *dist);
    int32_t *idx = malloc(k * sizeof *idx);
    cmd_status st = CMD_OK;
    char *err = NULL;
    if (!x || !dist || !idx) {
        st = cmd_error(c, "out of memory");
        goto out;
    }
    if ((st = cmd_parse_row(c, a, m, x)) != CMD_OK)
        goto out;
    int32_t label;
    float conf;
    knn_predict(m->knn, x, &label, &conf);
    if (knn_explain(m->knn, x, idx, dist) != MLWB_OK) {
        st = cmd_error(c, "out of memory");
        goto out;
    }
    size_t cap = 256 + k * 80;
    char *text = malloc(cap);
    if (!text) {
        st = cmd_error(c, "out of memory");
        goto out;
    }
    size_t o = (size_t)snprintf(text, cap, "%s (confidence %.2f, model v%lld, k=%zu, %s):\n"
                                "  rank  row        distance  label",
                                knn_class_name(m->knn, (size_t)label), (double)conf,
                                (long long)m->version, k, knn_metric_name(knn_model_metric(m->knn)));
    json_t *nb = json_array();
    for (size_t i = 0; i < k; i++) {
        const char *lab = knn_class_name(m->knn, (size_t)knn_row_label(m->knn, (size_t)idx[i]));
        json_array_append_new(nb, json_pack("{sI sf ss}", "row", (json_int_t)idx[i] + 1,
                                            "distance", num_f32(dist[i]), "label", lab));
        if (o < cap)
            o += (size_t)snprintf(text + o, cap - o, "\n  %4zu  %-9d %9.4g  %s", i + 1, idx[i] + 1,
                                  (double)dist[i], lab);
    }
    json_t *res = json_pack("{ss sf sI so}", "label", knn_class_name(m->knn, (size_t)label),
                            "confidence", num_f32(conf), "model_version", (json_int_t)m->version,
                            "neighbours", nb);
    cmd_result(c, res, "%s", text);
    free(text);
out:
    free(err);
    free(x);
    free(dist);
    free(idx);
    mdl_release(&m);
    return st;
}

const cmd_entry cmd_explain_entry = {
    "explain", "explain X1 X2 ...", "predict one row and list the neighbours that voted",
    "explain X1 X2 ...\n    Like predict, and lists the k nearest training rows that voted:\n"
    "    their row number in the training data (1-based), distance and label.  With a\n"
    "    k-means model: the cluster and the distance to every centroid (in the model's\n"
    "    space: z-scored unless it was trained with scale=none).",
    1, -1, NULL, explain_exec};

/* --- predict file=PATH [out=PATH] ----------------------------------------------------- */

/* Column j of the model in the file's columns, by name; -1 if absent. */
static long find_col(const ds *d, const char *name)
{
    for (size_t j = 0; j < d->cols; j++)
        if (d->feature_names[j] && strcmp(d->feature_names[j], name) == 0)
            return (long)j;
    return -1;
}

cmd_status cmd_predict_file(cmd_ctx *c, const cmd_args *a, const char *path)
{
    mdl *m = reg_acquire(eng_registry(cli_engine(c->cli)));
    if (!m)
        return cmd_error(c, "no active model: try 'train knn k=5'");
    cmd_status st = CMD_OK;
    ds *d = NULL;
    char *err = NULL;
    float *x = NULL, *conf = NULL;
    double *dist = NULL;
    int32_t *pred = NULL;
    long *map = NULL;
    FILE *out = NULL;
    size_t dims = mdl_dims(m);
    int km = m->km != NULL;  /* k-means: a cluster and a distance per row */
    /* Without a label column first; a file that also has one (text) is read with it. */
    csv_opts o = {.label = "none"};
    if (csv_load_file(path, &o, &d, &err) != MLWB_OK) {
        char *err2 = NULL;
        csv_opts o2 = {0};
        if (csv_load_file(path, &o2, &d, &err2) != MLWB_OK) {
            st = cmd_error(c, "%s", err);
            free(err2);
            goto out;
        }
        free(err2);
    }
    map = malloc(dims * sizeof *map);
    x = malloc((d->rows ? d->rows : 1) * dims * sizeof *x);
    pred = malloc((d->rows ? d->rows : 1) * sizeof *pred);
    conf = malloc((d->rows ? d->rows : 1) * sizeof *conf);
    dist = malloc((d->rows ? d->rows : 1) * sizeof *dist);
    if (!map || !x || !pred || !conf || !dist) {
        st = cmd_error(c, "%s: out of memory for %zu rows", path, d->rows);
        goto out;
    }
    size_t byname = 0;
    for (size_t j = 0; j < dims; j++)
        byname += (map[j] = find_col(d, mdl_feature_name(m, j))) >= 0;
    if (byname != dims) {  /* not every feature by name: by position, if the count fits */
        if (d->cols != dims) {
            st = cmd_error(c, "%s: %zu feature columns, model v%lld expects %zu (%s, ...)", path,
                           d->cols, (long long)m->version, dims, mdl_feature_name(m, 0));
            goto out;
        }
        for (size_t j = 0; j < dims; j++)
            map[j] = (long)j;
    }
    for (size_t i = 0; i < d->rows; i++)
        for (size_t j = 0; j < dims; j++)
            x[i * dims + j] = d->x[i * d->cols + (size_t)map[j]];
    char why[200];
    size_t far = mdl_far_value(m, x, d->rows, why, sizeof why);
    if (far != SIZE_MAX) {
        st = cmd_error(c, "%s: data row %zu, column '%s': %s", path, far / dims + 1,
                       mdl_feature_name(m, far % dims), why);
        goto out;
    }
    if (km ? km_model_predict_batch(m->km, x, d->rows, pred, dist) != MLWB_OK
           : knn_predict_batch(m->knn, x, d->rows, pred, conf) != MLWB_OK) {
        st = cmd_error(c, "out of memory");
        goto out;
    }
    /* true labels in the file: an accuracy (k-means: ARI and NMI against them) */
    size_t right = 0, known = 0;
    double ari = NAN, nmi = NAN;
    if (d->y && km && d->rows) {
        char *e2 = NULL;
        if (cs_ari(d->y, pred, d->rows, &ari, &e2) != MLWB_OK ||
            cs_nmi(d->y, pred, d->rows, &nmi, &e2) != MLWB_OK)
            ari = nmi = NAN;
        free(e2);
    }
    /* set min-confidence: a row less confident than that gets no label (-1) */
    double minc = km ? 0 : eng_get_min_confidence(cli_engine(c->cli));
    size_t abstained = 0;
    for (size_t i = 0; minc > 0 && i < d->rows; i++)
        if (conf[i] < minc) {
            pred[i] = -1;
            abstained++;
        }
    if (d->y && !km)
        for (size_t i = 0; i < d->rows; i++) {
            if (pred[i] < 0)  /* abstained: neither right nor wrong */
                continue;
            const char *t = d->class_names[d->y[i]];
            known++;
            right += strcmp(t, knn_class_name(m->knn, (size_t)pred[i])) == 0;
        }
    const char *outpath = cmd_opt(a, "out");
    if (outpath) {
        if (!(out = fopen(outpath, "w"))) {
            st = cmd_error(c, "%s: cannot write: %s", outpath, strerror(errno));
            goto out;
        }
        for (size_t j = 0; j < dims; j++)
            fprintf(out, "%s,", mdl_feature_name(m, j));
        fprintf(out, km ? "cluster,distance\n" : "label,confidence\n");
        for (size_t i = 0; i < d->rows; i++) {
            for (size_t j = 0; j < dims; j++)
                fprintf(out, "%.9g,", num_f32(x[i * dims + j]));
            if (km) {
                fprintf(out, "%d,%.9g\n", pred[i], dist[i]);
                continue;
            }
            const char *lab = pred[i] < 0 ? "" : knn_class_name(m->knn, (size_t)pred[i]);
            int quote = strpbrk(lab, ",\"\n\r") != NULL;
            if (quote) {
                fputc('"', out);
                for (const char *p = lab; *p; p++) {
                    if (*p == '"')
                        fputc('"', out);
                    fputc(*p, out);
                }
                fputc('"', out);
            } else {
                fputs(lab, out);
            }
            fprintf(out, ",%.4g\n", (double)conf[i]);
        }
        if (fclose(out) != 0) {
            out = NULL;
            st = cmd_error(c, "%s: write error: %s", outpath, strerror(errno));
            goto out;
        }
        out = NULL;
    } else if (km) {
        for (size_t i = 0; i < d->rows; i++)
            cmd_result(c, json_pack("{sI si sf}", "row", (json_int_t)i + 1, "cluster", pred[i],
                                    "distance", dist[i]),
                       "%zu  cluster %d  (distance %.4g)", i + 1, pred[i], dist[i]);
    } else {
        for (size_t i = 0; i < d->rows; i++) {
            if (pred[i] < 0) {
                cmd_result(c, json_pack("{sI sn sf sb}", "row", (json_int_t)i + 1, "label",
                                        "confidence", num_f32(conf[i]), "abstained", 1),
                           "%zu  no label  (confidence %.2f is below min-confidence %g)", i + 1,
                           (double)conf[i], minc);
                continue;
            }
            cmd_result(c, json_pack("{sI ss sf}", "row", (json_int_t)i + 1, "label",
                                    knn_class_name(m->knn, (size_t)pred[i]), "confidence",
                                    num_f32(conf[i])),
                       "%zu  %s  (confidence %.2f)", i + 1, knn_class_name(m->knn, (size_t)pred[i]),
                       (double)conf[i]);
        }
    }
    json_t *sum = json_pack("{ss sI sI}", "file", path, "rows", (json_int_t)d->rows,
                            "model_version", (json_int_t)m->version);
    if (outpath)
        json_object_set_new(sum, "out", json_string(outpath));
    char acc[128] = "";
    if (abstained) {
        json_object_set_new(sum, "abstained", json_integer((json_int_t)abstained));
        snprintf(acc, sizeof acc, ", %zu without a label (min-confidence %g)", abstained, minc);
    }
    if (known) {
        size_t l = strlen(acc);
        json_object_set_new(sum, "accuracy", json_real((double)right / (double)known));
        snprintf(acc + l, sizeof acc - l, ", accuracy %.4f against its labels%s",
                 (double)right / (double)known, abstained ? " (of the labelled rows)" : "");
    }
    if (isfinite(ari)) {
        json_object_set_new(sum, "ari", json_real(ari));
        json_object_set_new(sum, "nmi", json_real(nmi));
        snprintf(acc, sizeof acc, ", ARI %.4f NMI %.4f against its labels", ari, nmi);
    }
    cmd_result(c, sum, "%s: %zu row%s predicted with model v%lld%s%s%s", path, d->rows,
               d->rows == 1 ? "" : "s", (long long)m->version, acc, outpath ? " -> " : "",
               outpath ? outpath : "");
out:
    if (out)
        fclose(out);
    free(err);
    free(map);
    free(x);
    free(pred);
    free(conf);
    free(dist);
    ds_release(&d);
    mdl_release(&m);
    return st;
}
