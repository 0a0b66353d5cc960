/*
 * tui_graph.c — the chart panels: Curve (the k-tuning curve) and Quality (a metric per
 * model version).
 *
 * Curve draws the session's last tuning curve (eng_last_curve: a copy, taken at each
 * draw, so a sweep in progress shows the points computed so far; the loop marks the
 * panel dirty on every EV_CURVE), or, when this session has computed none, the curve
 * stored with the active model.  k is on the x axis:
 *   knn     the cross-validated accuracy (points[].mean) with a ±1 sd band (mean ± sd);
 *   kmeans  the silhouette and the inertia scaled to 0..1 over the points so far (either
 *           may be null at a k: left out); the axis spans kmin..kmax from the start, so
 *           the curve grows from the left as the sweep runs.
 * The chosen k (best_k) is marked with a dotted vertical line and labelled on the x
 * axis; the title says the kind, the k range, the best k, and "(running)" until the
 * curve is done.
 *
 * Quality plots one metric per stored model version: the accuracy of knn models and
 * the silhouette of k-means models, one series per kind, x = version, the active
 * version marked.  The list is read from the store (the main thread's connection: this
 * is the UI thread) when a model is published or activated (EV_MODEL sets
 * versions_stale), never on every draw.
 *
 * UI thread only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui_int.h"

static int fancy(const tui_state *t)
{
    return t->utf8 && !t->ascii;
}

static const char *dot(const tui_state *t)
{
    return fancy(t) ? " \xc2\xb7 " : ", ";
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static int integer(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int)json_integer_value(v) : 0;
}

/* Legend entries left to right on one row; returns the next column. */
static int legend_at(const tui_state *t, WINDOW *w, int y, int x, int end, int style,
                     attr_t a, char glyph, const char *label)
{
    if (end - x < 6)
        return x;
    int used = tui_legend(t, w, y, x, end - x, style, a, glyph, label);
    return x + used + 2;
}

/* The inner rectangle of a panel and whether a legend row fits under the chart. */
typedef struct area {
    int y, x, h, w, legend_y;
} area;

static area inner(WINDOW *w)
{
    area a;
    int H = getmaxy(w), W = getmaxx(w);
    a.y = 1;
    a.x = 2;
    a.w = W - 4;
    a.h = H - 2;
    a.legend_y = -1;
    if (a.h >= 6) {  /* the last row for the legend */
        a.legend_y = H - 2;
        a.h -= 1;
    }
    return a;
}

/* ---- Curve --------------------------------------------------------------------------------- */

/* The title's note: "knn k=1..50, best 12 (running)"; shorter when the panel is narrow
 * ("knn best 12 (running)") so that the best k stays in sight. */
static void curve_note(const tui_state *t, WINDOW *w, char *note, size_t n, const char *kind,
                       int kmin, int kmax, int best, int done, const char *from)
{
    int room = getmaxx(w) - 14;  /* the border, " Curve ", the spaces around the note */
    for (int shorter = 0; shorter < 2; shorter++) {
        int at = shorter ? snprintf(note, n, "%s", kind)
                         : snprintf(note, n, "%s k=%d..%d", kind, kmin, kmax);
        if (best > 0)
            at += snprintf(note + at, n - (size_t)at, shorter ? " best %d" : ", best %d", best);
        if (!done)
            at += snprintf(note + at, n - (size_t)at, " (running)");
        else if (from[0] && !shorter)
            at += snprintf(note + at, n - (size_t)at, "%s%s", dot(t), from);
        if (at <= room)
            return;
    }
}

static void curve_knn(tui_state *t, WINDOW *w, json_t *c, const char *from)
{
    json_t *pts = json_object_get(c, "points");
    size_t n = json_array_size(pts);
    int done = !json_is_false(json_object_get(c, "done"));
    int best = integer(c, "best_k");
    double *buf = n ? malloc(4 * n * sizeof *buf) : NULL;
    double *x = buf, *m = buf ? buf + n : NULL, *lo = buf ? buf + 2 * n : NULL,
           *hi = buf ? buf + 3 * n : NULL;
    double ymin = INFINITY, ymax = -INFINITY;
    int kmin = 0, kmax = 0, have_k = 0;
    for (size_t i = 0; buf && i < n; i++) {
        json_t *p = json_array_get(pts, i);
        x[i] = num(p, "k");
        m[i] = num(p, "mean");
        double sd = num(p, "sd");
        if (!isfinite(sd))
            sd = 0;
        lo[i] = isfinite(m[i]) ? fmax(0, m[i] - sd) : NAN;
        hi[i] = isfinite(m[i]) ? fmin(1, m[i] + sd) : NAN;
        if (isfinite(lo[i]))
            ymin = fmin(ymin, lo[i]);
        if (isfinite(hi[i]))
            ymax = fmax(ymax, hi[i]);
        if (!isfinite(x[i]))
            continue;
        int k = (int)x[i];
        if (!have_k || k < kmin)
            kmin = k;
        if (!have_k || k > kmax)
            kmax = k;
        have_k = 1;
    }
    char note[160];
    curve_note(t, w, note, sizeof note, "knn", kmin, kmax, best, done, from);
    tui_frame(t, TUI_P_CURVE, w, "Curve", note);
    if (!buf || !isfinite(ymin)) {
        tui_kv(t, w, 1, "", done ? "no points" : "waiting for the first fold...");
        free(buf);
        return;
    }
    if (ymax - ymin < 0.02) {
        double c0 = (ymax + ymin) / 2;
        ymin = fmax(0, c0 - 0.01);
        ymax = fmin(1, c0 + 0.01);
    }
    tui_series s[2] = {
        {x, lo, n, TUI_BAND, t->attrs[TUI_A_BAND], ':', hi},
        {x, m, n, TUI_LINE, t->attrs[TUI_A_S1], '*', NULL},
    };
    tui_chart ch = {.xmin = kmin, .xmax = kmax, .ymin = ymin, .ymax = ymax, .series = s,
                    .nseries = 2, .has_mark = best > 0, .mark_x = best,
                    .mark_attr = t->attrs[TUI_A_MARK], .xprefix = ""};
    area a = inner(w);
    if (tui_chart_draw(t, w, a.y, a.x, a.h, a.w, &ch) != 0) {
        double bm = NAN;
        for (size_t i = 0; i < n; i++)
            if (x[i] == (double)best)
                bm = m[i];
        tui_kv(t, w, 1, "best", "k=%d%saccuracy %.3f", best, dot(t), bm);
    } else if (a.legend_y > 0) {
        int end = a.x + a.w, lx = a.x;
        char lab[48];
        lx = legend_at(t, w, a.legend_y, lx, end, TUI_LINE, t->attrs[TUI_A_S1], '*',
                       "CV accuracy");
        lx = legend_at(t, w, a.legend_y, lx, end, TUI_BAND, t->attrs[TUI_A_BAND], ':',
                       fancy(t) ? "\xc2\xb1" "1 sd" : "+/-1 sd");
        if (best > 0) {
            snprintf(lab, sizeof lab, "best k=%d", best);
            lx = legend_at(t, w, a.legend_y, lx, end, -1, t->attrs[TUI_A_MARK], '|', lab);
        }
        int folds = integer(c, "folds"), fd = integer(c, "folds_done");
        if (!done && folds > 0 && end - lx > 12) {
            snprintf(lab, sizeof lab, "fold %d/%d", fd, folds);
            tui_put(w, a.legend_y, lx, end - lx, lab, t->attrs[TUI_A_WARN]);
        }
    }
    free(buf);
}

static void curve_kmeans(tui_state *t, WINDOW *w, json_t *c, const char *from)
{
    json_t *pts = json_object_get(c, "points");
    size_t n = json_array_size(pts);
    int done = !json_is_false(json_object_get(c, "done"));
    int best = integer(c, "best_k"), elbow = integer(c, "elbow_k");
    int kmin = integer(c, "kmin"), kmax = integer(c, "kmax");
    double *buf = n ? malloc(3 * n * sizeof *buf) : NULL;
    double *x = buf, *sil = buf ? buf + n : NULL, *in = buf ? buf + 2 * n : NULL;
    double imin = INFINITY, imax = -INFINITY, smin = 0;
    int any = 0;
    for (size_t i = 0; buf && i < n; i++) {
        json_t *p = json_array_get(pts, i);
        x[i] = num(p, "k");
        sil[i] = num(p, "silhouette");
        in[i] = num(p, "inertia");
        if (isfinite(in[i])) {
            imin = fmin(imin, in[i]);
            imax = fmax(imax, in[i]);
        }
        if (isfinite(sil[i]))
            smin = fmin(smin, sil[i]);
        if (isfinite(sil[i]) || isfinite(in[i]))
            any = 1;
        if (!isfinite(x[i]))
            continue;
        int k = (int)x[i];
        if (kmin <= 0 || k < kmin)
            kmin = k;
        if (k > kmax)
            kmax = k;
    }
    for (size_t i = 0; buf && i < n; i++)  /* inertia scaled to 0..1 over the points */
        if (isfinite(in[i]))
            in[i] = imax > imin ? (in[i] - imin) / (imax - imin) : 1;
    char note[160];
    curve_note(t, w, note, sizeof note, "kmeans", kmin, kmax, n > 0 ? best : 0, done, from);
    tui_frame(t, TUI_P_CURVE, w, "Curve", note);
    if (!buf || !any) {
        tui_kv(t, w, 1, "", done ? "no points" : "waiting for the first k...");
        free(buf);
        return;
    }
    tui_series s[2] = {
        {x, in, n, TUI_DOTTED, t->attrs[TUI_A_S2], '+', NULL},
        {x, sil, n, TUI_LINE, t->attrs[TUI_A_S1], '*', NULL},
    };
    int marked = best > 0 && n > 0;
    tui_chart ch = {.xmin = kmin, .xmax = kmax, .ymin = smin < 0 ? smin : 0, .ymax = 1,
                    .series = s, .nseries = 2, .has_mark = marked, .mark_x = best,
                    .mark_attr = t->attrs[TUI_A_MARK], .xprefix = ""};
    area a = inner(w);
    if (tui_chart_draw(t, w, a.y, a.x, a.h, a.w, &ch) != 0) {
        tui_kv(t, w, 1, "best", "k=%d%selbow k=%d", best, dot(t), elbow);
    } else if (a.legend_y > 0) {
        int end = a.x + a.w, lx = a.x;
        char lab[48];
        lx = legend_at(t, w, a.legend_y, lx, end, TUI_LINE, t->attrs[TUI_A_S1], '*',
                       "silhouette");
        lx = legend_at(t, w, a.legend_y, lx, end, TUI_DOTTED, t->attrs[TUI_A_S2], '+',
                       "inertia (0..1)");
        if (marked) {
            if (elbow > 0 && elbow != best)
                snprintf(lab, sizeof lab, "best k=%d (elbow %d)", best, elbow);
            else
                snprintf(lab, sizeof lab, "best k=%d", best);
            legend_at(t, w, a.legend_y, lx, end, -1, t->attrs[TUI_A_MARK], '|', lab);
        }
    }
    free(buf);
}

void tui_graph_curve(tui_state *t, WINDOW *w)
{
    json_t *c = eng_last_curve(t->eng);
    char from[32] = "";
    if (!c) {  /* none this session: the one the active model was chosen from */
        int64_t av = reg_active_version(eng_registry(t->eng));
        if (av > 0) {
            tui_view_model_info(t, av);
            if (t->minfo_version == av && t->minfo_curve) {
                c = json_incref(t->minfo_curve);
                snprintf(from, sizeof from, "v%lld", (long long)av);
            }
        }
    }
    const char *kind = c ? json_string_value(json_object_get(c, "kind")) : NULL;
    if (kind && strcmp(kind, "knn") == 0) {
        curve_knn(t, w, c, from);
    } else if (kind && strcmp(kind, "kmeans") == 0) {
        curve_kmeans(t, w, c, from);
    } else {
        tui_frame(t, TUI_P_CURVE, w, "Curve", NULL);
        tui_kv(t, w, 1, "", "no tuning curve yet");
        tui_kv(t, w, 2, "", "try: train knn k=auto");
    }
    json_decref(c);
    wnoutrefresh(w);
}

/* ---- Quality ---------------------------------------------------------------------------- */

static int by_version(const void *a, const void *b)
{
    const tui_version *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

static void versions_load(tui_state *t)
{
    t->versions_stale = 0;
    store_model_info *list = NULL;
    size_t n = 0;
    char *err = NULL;
    if (store_list_models(eng_store(t->eng), &list, &n, &err) != MLWB_OK) {
        free(err);  /* keep what we had */
        return;
    }
    tui_version *v = n ? calloc(n, sizeof *v) : NULL;
    if (n && !v) {
        store_model_list_free(&list, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        v[i].version = list[i].version;
        v[i].kmeans = strcmp(list[i].kind, "kmeans") == 0;
        v[i].active = list[i].active;
        v[i].metric = NAN;
        json_t *m = list[i].metrics_json ? json_loads(list[i].metrics_json, 0, NULL) : NULL;
        if (m)
            v[i].metric = num(m, v[i].kmeans ? "silhouette" : "accuracy");
        json_decref(m);
    }
    store_model_list_free(&list, n);
    if (n > 1)
        qsort(v, n, sizeof *v, by_version);
    free(t->versions);
    t->versions = v;
    t->nversions = n;
}

void tui_graph_quality(tui_state *t, WINDOW *w)
{
    if (t->versions_stale)
        versions_load(t);
    size_t n = t->nversions;
    const tui_version *v = t->versions;
    int64_t active = reg_active_version(eng_registry(t->eng));
    char note[96];
    if (n == 0) {
        tui_frame(t, TUI_P_QUALITY, w, "Quality", NULL);
        tui_kv(t, w, 1, "", "no model versions yet");
        tui_kv(t, w, 2, "", "each training adds one");
        wnoutrefresh(w);
        return;
    }
    if (active > 0)
        snprintf(note, sizeof note, "%zu version%s, active v%lld", n, n == 1 ? "" : "s",
                 (long long)active);
    else
        snprintf(note, sizeof note, "%zu version%s", n, n == 1 ? "" : "s");
    tui_frame(t, TUI_P_QUALITY, w, "Quality", note);

    /* x, and one y array per kind (NAN where the version is of the other kind) */
    double *buf = malloc(3 * n * sizeof *buf);
    if (!buf) {
        wnoutrefresh(w);
        return;
    }
    double *x = buf, *acc = buf + n, *sil = buf + 2 * n;
    double ymin = INFINITY, ymax = -INFINITY;
    int nknn = 0, nkm = 0;
    for (size_t i = 0; i < n; i++) {
        x[i] = (double)v[i].version;
        acc[i] = !v[i].kmeans ? v[i].metric : NAN;
        sil[i] = v[i].kmeans ? v[i].metric : NAN;
        if (isfinite(v[i].metric)) {
            ymin = fmin(ymin, v[i].metric);
            ymax = fmax(ymax, v[i].metric);
            if (v[i].kmeans)
                nkm++;
            else
                nknn++;
        }
    }
    if (!isfinite(ymin)) {
        tui_kv(t, w, 1, "", "no accuracy or silhouette recorded");
        free(buf);
        wnoutrefresh(w);
        return;
    }
    /* lines join the versions of one kind across the other kind's versions */
    double *xa = malloc(4 * n * sizeof *xa);
    size_t na = 0, ns = 0;
    double *ya = xa ? xa + n : NULL, *xs = xa ? xa + 2 * n : NULL, *ys = xa ? xa + 3 * n : NULL;
    for (size_t i = 0; xa && i < n; i++) {
        if (isfinite(acc[i])) {
            xa[na] = x[i];
            ya[na++] = acc[i];
        }
        if (isfinite(sil[i])) {
            xs[ns] = x[i];
            ys[ns++] = sil[i];
        }
    }
    double pad = (ymax - ymin) * 0.1;
    if (pad < 0.01)
        pad = 0.01;
    ymin = fmax(-1, ymin - pad);
    ymax = fmin(1, ymax + pad);
    tui_series s[4];
    size_t k = 0;
    if (xa && nknn) {
        s[k++] = (tui_series){xa, ya, na, TUI_LINE, t->attrs[TUI_A_S1], '-', NULL};
        s[k++] = (tui_series){xa, ya, na, TUI_POINTS, t->attrs[TUI_A_S1], '*', NULL};
    }
    if (xa && nkm) {
        s[k++] = (tui_series){xs, ys, ns, TUI_DOTTED, t->attrs[TUI_A_S2], '.', NULL};
        s[k++] = (tui_series){xs, ys, ns, TUI_POINTS, t->attrs[TUI_A_S2], '+', NULL};
    }
    tui_chart ch = {.xmin = x[0], .xmax = x[n - 1], .ymin = ymin, .ymax = ymax, .series = s,
                    .nseries = k, .has_mark = active > 0, .mark_x = (double)active,
                    .mark_attr = t->attrs[TUI_A_MARK], .xprefix = "v"};
    area a = inner(w);
    if (!xa || tui_chart_draw(t, w, a.y, a.x, a.h, a.w, &ch) != 0) {
        /* no room for a chart: the latest versions as text, newest first */
        int row = 1, rows = getmaxy(w) - 2;
        for (size_t i = n; i-- > 0 && row <= rows;)
            tui_kv(t, w, row++, "", "v%lld %s %s %.3f%s", (long long)v[i].version,
                   v[i].kmeans ? "kmeans" : "knn", v[i].kmeans ? "silhouette" : "accuracy",
                   v[i].metric, v[i].version == active ? " (active)" : "");
    } else if (a.legend_y > 0) {
        int end = a.x + a.w, lx = a.x;
        char lab[48];
        if (nknn)
            lx = legend_at(t, w, a.legend_y, lx, end, TUI_POINTS, t->attrs[TUI_A_S1], '*',
                           "knn accuracy");
        if (nkm)
            lx = legend_at(t, w, a.legend_y, lx, end, TUI_POINTS, t->attrs[TUI_A_S2], '+',
                           "kmeans silhouette");
        if (active > 0) {
            snprintf(lab, sizeof lab, "active v%lld", (long long)active);
            legend_at(t, w, a.legend_y, lx, end, -1, t->attrs[TUI_A_MARK], '|', lab);
        }
    }
    free(xa);
    free(buf);
    wnoutrefresh(w);
}

void tui_graph_free(tui_state *t)
{
    free(t->versions);
    t->versions = NULL;
    t->nversions = 0;
    json_decref(t->minfo_curve);
    t->minfo_curve = NULL;
    t->minfo_version = 0;
}
