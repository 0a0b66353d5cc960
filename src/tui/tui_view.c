/*
 * tui_view.c — layout and drawing: the title bar, the Data / Model / Server / Jobs panels,
 * the log pane, focus and zoom, the "too small" screen and the help overlay.  (The
 * Curve and Quality panels are drawn by tui_graph.c.)
 *
 * Layout is a pure function of (LINES, COLS, zoom) (layout_compute); tui_view_layout
 * throws the windows away and makes new ones, so a resize, a zoom and an un-zoom are
 * all "destroy, layout".  Every window is at least 1x1 (newwin(0, 0) would mean "full
 * screen"), and below TUI_MIN_COLS x TUI_MIN_LINES only the prompt window exists and
 * stdscr shows a message.
 *
 * Rows, top to bottom (r = LINES - 2 rows between the title bar and the prompt):
 *   title bar (1)
 *   Data | Model              8 rows (r >= 32), 6 (r >= 22), else 5
 *   Curve | Quality           half of what is left after the other rows (7..24 rows)
 *   Server | Jobs             6, 4, else 3 rows
 *   Log                       the rest (at least 4 rows at the minimum size)
 *   prompt (1, drawn by tui_rl.c)
 * e.g. 80x24: 6 + 7 + 4 + log 5; 120x40: 8 + 12 + 6 + log 12; 200x60: 8 + 22 + 6 + log 22.
 * Zoomed, the focused panel takes all r rows and the whole width.  Each panel draws
 * only from a snapshot it takes itself (eng_dataset, reg_acquire, job_list,
 * http_get_stats, eng_last_curve, the store), so a panel can be moved or resized
 * without touching the others.
 *
 * Each draw_* erases its window, draws, and calls wnoutrefresh; tui_view_flush then puts
 * the prompt last and calls doupdate once.  UI thread only.
 */
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "tui_int.h"

#ifndef MLWB_VERSION
#define MLWB_VERSION "dev"
#endif

typedef struct rect {
    int y, x, h, w;
} rect;

typedef struct layout {
    int too_small;
    rect title, prompt, panel[TUI_P_COUNT];
} layout;

static const unsigned panel_bits[TUI_P_COUNT] = {
    [TUI_P_DATA] = TUI_D_DATA,     [TUI_P_MODEL] = TUI_D_MODEL,
    [TUI_P_CURVE] = TUI_D_CURVE,   [TUI_P_QUALITY] = TUI_D_QUALITY,
    [TUI_P_SERVER] = TUI_D_SERVER, [TUI_P_JOBS] = TUI_D_JOBS,
    [TUI_P_LOG] = TUI_D_LOG,
};

unsigned tui_panel_dirty(int p)
{
    return p >= 0 && p < TUI_P_COUNT ? panel_bits[p] : 0;
}

static void layout_compute(int lines, int cols, int zoom, layout *lo)
{
    memset(lo, 0, sizeof *lo);
    if (lines < 1)
        lines = 1;
    if (cols < 1)
        cols = 1;
    lo->prompt = (rect){lines - 1, 0, 1, cols};
    if (lines < TUI_MIN_LINES || cols < TUI_MIN_COLS) {
        lo->too_small = 1;
        return;
    }
    int r = lines - 2;  /* between the title bar and the prompt */
    lo->title = (rect){0, 0, 1, cols};
    if (zoom >= 0 && zoom < TUI_P_COUNT) {
        lo->panel[zoom] = (rect){1, 0, r, cols};
        return;
    }
    int top, mid, charts;
    if (r >= 32) {
        top = 8;
        mid = 6;
        charts = (r - top - mid) / 2;
        if (charts > 24)
            charts = 24;
    } else if (r >= 22) {
        top = 6;
        mid = 4;
        charts = (r - top - mid) / 2;
        if (charts < 7)
            charts = 7;
    } else {
        top = 5;
        mid = 3;
        charts = 6;
    }
    int logh = r - top - charts - mid;
    int half = cols / 2;
    int curvew = cols * 11 / 20;
    int srvw = cols < 100 ? cols / 2 : cols * 2 / 5;
    int y = 1;
    lo->panel[TUI_P_DATA] = (rect){y, 0, top, half};
    lo->panel[TUI_P_MODEL] = (rect){y, half, top, cols - half};
    y += top;
    lo->panel[TUI_P_CURVE] = (rect){y, 0, charts, curvew};
    lo->panel[TUI_P_QUALITY] = (rect){y, curvew, charts, cols - curvew};
    y += charts;
    lo->panel[TUI_P_SERVER] = (rect){y, 0, mid, srvw};
    lo->panel[TUI_P_JOBS] = (rect){y, srvw, mid, cols - srvw};
    y += mid;
    lo->panel[TUI_P_LOG] = (rect){y, 0, logh, cols};
}

static WINDOW *mkwin(rect r)
{
    if (r.h < 1 || r.w < 1)
        return NULL;
    WINDOW *w = newwin(r.h, r.w, r.y, r.x);
    if (w)
        leaveok(w, TRUE);
    return w;
}

static void del(WINDOW **w)
{
    if (*w) {
        delwin(*w);
        *w = NULL;
    }
}

void tui_view_destroy(tui_state *t)
{
    del(&t->w_help);
    del(&t->w_title);
    for (int p = 0; p < TUI_P_COUNT; p++)
        del(&t->w_panel[p]);
    del(&t->w_prompt);
}

void tui_view_layout(tui_state *t)
{
    tui_view_destroy(t);
    layout lo;
    layout_compute(LINES, COLS, t->zoom, &lo);
    t->lines = LINES;
    t->cols = COLS;
    t->too_small = lo.too_small;
    if (!lo.too_small) {
        t->w_title = mkwin(lo.title);
        for (int p = 0; p < TUI_P_COUNT; p++)
            t->w_panel[p] = mkwin(lo.panel[p]);
        if (t->w_panel[TUI_P_LOG])
            t->log.width = getmaxx(t->w_panel[TUI_P_LOG]) - 4;
    }
    /* The prompt: no keypad (readline sees raw escape sequences), never blocks. */
    t->w_prompt = newwin(1, lo.prompt.w, lo.prompt.y, 0);
    if (t->w_prompt) {
        nodelay(t->w_prompt, TRUE);
        meta(t->w_prompt, TRUE);
    }
    if (t->too_small && t->help_open) {  /* no room for the overlay: close it */
        t->help_open = 0;
        curs_set(1);
    }
    t->dirty = TUI_D_ALL;
}

void tui_view_focus(tui_state *t, int delta)
{
    int old = t->focus;
    t->focus = ((t->focus + delta) % TUI_P_COUNT + TUI_P_COUNT) % TUI_P_COUNT;
    if (t->zoom >= 0) {  /* the zoomed view follows the focus */
        t->zoom = t->focus;
        tui_view_layout(t);
    } else {
        t->dirty |= tui_panel_dirty(old) | tui_panel_dirty(t->focus);
    }
}

void tui_view_zoom(tui_state *t, int on)
{
    int z = on ? t->focus : -1;
    if (z == t->zoom)
        return;
    t->zoom = z;
    tui_view_layout(t);
}

/* ---- colours ---------------------------------------------------------------------------- */

void tui_view_colors(tui_state *t)
{
    const char *nc = getenv("NO_COLOR");
    t->color = has_colors() && !(nc && *nc);
    attr_t *a = t->attrs;
    for (int i = 0; i < TUI_A_COUNT; i++)
        a[i] = A_NORMAL;
    if (t->color && start_color() == OK) {
        short bg = use_default_colors() == OK ? -1 : COLOR_BLACK;
        init_pair(1, COLOR_BLACK, COLOR_CYAN);
        init_pair(2, COLOR_CYAN, bg);
        init_pair(3, COLOR_YELLOW, bg);
        init_pair(4, COLOR_RED, bg);
        init_pair(5, COLOR_GREEN, bg);
        init_pair(6, COLOR_MAGENTA, bg);
        a[TUI_A_TITLEBAR] = COLOR_PAIR(1);
        a[TUI_A_BORDER] = COLOR_PAIR(2);
        a[TUI_A_LABEL] = COLOR_PAIR(3);
        a[TUI_A_ERROR] = COLOR_PAIR(4) | A_BOLD;
        a[TUI_A_ECHO] = COLOR_PAIR(5) | A_BOLD;
        a[TUI_A_EVENT] = COLOR_PAIR(6);
        a[TUI_A_BAR] = COLOR_PAIR(5);
        a[TUI_A_PROMPT] = COLOR_PAIR(5) | A_BOLD;
        a[TUI_A_WARN] = COLOR_PAIR(3) | A_BOLD;
        a[TUI_A_FOCUS] = COLOR_PAIR(3) | A_BOLD;
        a[TUI_A_S1] = COLOR_PAIR(5) | A_BOLD;
        a[TUI_A_S2] = COLOR_PAIR(6) | A_BOLD;
        a[TUI_A_BAND] = COLOR_PAIR(2);
        a[TUI_A_MARK] = COLOR_PAIR(3);
    } else {
        t->color = 0;
        a[TUI_A_TITLEBAR] = A_REVERSE;
        a[TUI_A_ERROR] = A_BOLD;
        a[TUI_A_ECHO] = A_BOLD;
        a[TUI_A_PROMPT] = A_BOLD;
        a[TUI_A_WARN] = A_BOLD;
        a[TUI_A_FOCUS] = A_BOLD;
        a[TUI_A_S1] = A_BOLD;
        a[TUI_A_S2] = A_NORMAL;
        a[TUI_A_BAND] = A_DIM;
        a[TUI_A_MARK] = A_DIM;
    }
    a[TUI_A_PANEL_TITLE] = A_BOLD;
    a[TUI_A_DIM] = A_DIM;
}

/* ---- small drawing helpers ----------------------------------------------------------- */

/* The middle dot separator, or a comma where the locale cannot show it. */
static const char *sep(const tui_state *t)
{
    return t->utf8 && !t->ascii ? " \xc2\xb7 " : ", ";
}

void tui_frame(tui_state *t, int p, WINDOW *w, const char *title, const char *note)
{
    werase(w);
    int focused = p >= 0 && p == t->focus && !t->too_small;
    chtype b = (chtype)t->attrs[focused ? TUI_A_FOCUS : TUI_A_BORDER];
    if (t->ascii)
        wborder(w, '|' | b, '|' | b, '-' | b, '-' | b, '+' | b, '+' | b, '+' | b, '+' | b);
    else
        wborder(w, ACS_VLINE | b, ACS_VLINE | b, ACS_HLINE | b, ACS_HLINE | b,
                ACS_ULCORNER | b, ACS_URCORNER | b, ACS_LLCORNER | b, ACS_LRCORNER | b);
    int W = getmaxx(w);
    char buf[128];
    snprintf(buf, sizeof buf, " %s ", title);
    int x = 2 + tui_put(w, 0, 2, W - 4, buf, t->attrs[TUI_A_PANEL_TITLE]);
    if (focused && W > 4)  /* a mark before the title, for when colours are off */
        tui_put(w, 0, 1, 1, t->utf8 && !t->ascii ? "\xe2\x96\xb6" : ">",
                t->attrs[TUI_A_FOCUS]);
    if (note && x < W - 4) {
        snprintf(buf, sizeof buf, " %s ", note);
        tui_put(w, 0, x + 1, W - 3 - (x + 1), buf, t->attrs[TUI_A_WARN]);
    }
}

/* Text that did not come from us (names, paths) is cleaned before drawing. */
int tui_put_clean(WINDOW *w, int y, int x, int maxw, const char *s, attr_t a)
{
    char *c = tui_text_clean(s, strlen(s));
    if (!c)
        return 0;
    int n = tui_put(w, y, x, maxw, c, a);
    free(c);
    return n;
}

#define LABEL_W 9

/* One "label  value" row inside a panel; rows past the panel's inner height are dropped. */
void tui_kv(tui_state *t, WINDOW *w, int row, const char *label, const char *fmt, ...)
{
    int H = getmaxy(w), W = getmaxx(w);
    if (row < 1 || row > H - 2)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    int x = 2, maxw = W - 4;
    if (label && *label) {
        tui_put(w, row, x, maxw, label, t->attrs[TUI_A_LABEL]);
        x += LABEL_W;
        maxw -= LABEL_W;
    }
    tui_put_clean(w, row, x, maxw, buf, t->attrs[TUI_A_TEXT]);
}

static const char *clock_text(double when, char *buf, size_t n)
{
    time_t s = (time_t)when, now = time(NULL);
    struct tm tm, tn;
    if (when <= 0 || !localtime_r(&s, &tm) || !localtime_r(&now, &tn)) {
        snprintf(buf, n, "-");
        return buf;
    }
    if (tm.tm_year == tn.tm_year && tm.tm_yday == tn.tm_yday)
        strftime(buf, n, "%H:%M:%S", &tm);
    else
        strftime(buf, n, "%Y-%m-%d %H:%M", &tm);
    return buf;
}

/* Append to a bounded buffer; silently stops at the end. */
static void cat(char *buf, size_t n, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void cat(char *buf, size_t n, size_t *at, const char *fmt, ...)
{
    if (*at >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *at, n - *at, fmt, ap);
    va_end(ap);
    if (k > 0)
        *at = *at + (size_t)k < n ? *at + (size_t)k : n - 1;
}

/* "k1 v1 · k2 v2" (or "k1=v1 k2=v2") from a JSON object text; false when nothing. */
static int json_line(const tui_state *t, const char *json, const char *kvsep, int dots,
                     char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    if (!json || !*json)
        return 0;
    json_t *o = json_loads(json, 0, NULL);
    if (!o)
        return 0;
    if (json_is_object(o)) {
        const char *key;
        json_t *v;
        int first = 1;
        json_object_foreach(o, key, v) {
            if (json_is_object(v) || json_is_array(v))
                continue;
            cat(buf, n, &at, "%s%s%s", first ? "" : dots ? sep(t) : " ", key, kvsep);
            first = 0;
            if (json_is_integer(v))
                cat(buf, n, &at, "%lld", (long long)json_integer_value(v));
            else if (json_is_real(v))
                cat(buf, n, &at, "%.4g", json_real_value(v));
            else if (json_is_string(v))
                cat(buf, n, &at, "%s", json_string_value(v));
            else if (json_is_boolean(v))
                cat(buf, n, &at, "%s", json_is_true(v) ? "true" : "false");
            else
                cat(buf, n, &at, "null");
        }
    }
    json_decref(o);
    return at > 0;
}

/* ---- panels ----------------------------------------------------------------------------- */

static void draw_title(tui_state *t)
{
    WINDOW *w = t->w_title;
    int W = getmaxx(w);
    attr_t a = t->attrs[TUI_A_TITLEBAR];
    werase(w);
    wattr_on(w, a, NULL);
    mvwhline(w, 0, 0, ' ', W);
    wattr_off(w, a, NULL);
    int x = 1 + tui_put(w, 0, 1, W - 2, "mlwb " MLWB_VERSION, a | A_BOLD);
    char path[512];
    snprintf(path, sizeof path, "db %s", eng_db_path(t->eng) ? eng_db_path(t->eng) : "-");
    char *clean = tui_text_clean(path, strlen(path));
    int pw = clean ? tui_text_width(clean, strlen(clean)) : 0;
    /* The path comes first; the key hints take what is left (long, short, or none). */
    static const char *const hints[] = {
        "F1 help  F2 focus  F3 zoom  PgUp/PgDn log  Tab complete  ^D quit",
        "F1 help  F2 focus  F3 zoom  ^D quit", "F1 help  ^D quit"};
    const char *hint = NULL;
    int hw = 0;
    for (size_t i = 0; i < sizeof hints / sizeof hints[0] && !hint; i++) {
        int n = (int)strlen(hints[i]);
        if (x + 2 + pw + 3 + n + 1 <= W) {
            hint = hints[i];
            hw = n;
        }
    }
    if (clean)
        tui_put(w, 0, x + 2, W - (x + 2) - (hint ? hw + 4 : 1), clean, a);
    free(clean);
    if (hint)
        tui_put(w, 0, W - hw - 1, hw, hint, a);
    wnoutrefresh(w);
}

static void data_snapshot(tui_state *t)
{
    ds *d = eng_dataset(t->eng);
    if (d == t->data) {
        if (d)
            ds_release(&d);
        return;
    }
    if (t->data)
        ds_release(&t->data);
    free(t->class_counts);
    t->class_counts = NULL;
    t->data = d;
    if (d && d->y && d->nclasses > 0) {
        t->class_counts = calloc(d->nclasses, sizeof *t->class_counts);
        if (t->class_counts)
            ds_class_counts(d, t->class_counts);
    }
}

/* "42s", "5m03s", "2h05m" */
static const char *duration_text(int s, char *buf, size_t n)
{
    if (s < 0)
        s = 0;
    if (s < 60)
        snprintf(buf, n, "%ds", s);
    else if (s < 3600)
        snprintf(buf, n, "%dm%02ds", s / 60, s % 60);
    else
        snprintf(buf, n, "%dh%02dm", s / 3600, s % 3600 / 60);
    return buf;
}

int tui_view_next_load(tui_state *t, int64_t *every_ms)
{
    size_t n = 0;
    sched_info *list = sched_list(eng_sched(t->eng), &n);
    int best = -1;
    for (size_t i = 0; list && i < n; i++) {
        if (strncmp(list[i].desc, "load", 4) != 0)
            continue;
        double in = list[i].next_in;
        int s = in <= 0 ? 0 : (int)ceil(in);
        if (best < 0 || s < best) {
            best = s;
            if (every_ms)
                *every_ms = list[i].interval_ms;
        }
    }
    free(list);
    return best;
}

static void draw_data(tui_state *t)
{
    WINDOW *w = t->w_panel[TUI_P_DATA];
    tui_frame(t, TUI_P_DATA, w, "Data", NULL);
    data_snapshot(t);
    const ds *d = t->data;
    if (!d) {
        tui_kv(t, w, 1, "", "no data loaded");
        tui_kv(t, w, 2, "", "try: load sample iris");
        wnoutrefresh(w);
        return;
    }
    char buf[1024], tm[32];
    size_t at = 0;
    int row = 1;
    tui_kv(t, w, row++, "source", "%s", d->source ? d->source : "-");
    if (d->version > 0 && t->data_checked > 0 && strcmp(t->data_check, "unchanged") == 0) {
        char tm2[32];
        tui_kv(t, w, row++, "version", "%lld%sloaded %s%sunchanged %s", (long long)d->version,
           sep(t), clock_text(d->loaded_at, tm, sizeof tm), sep(t),
           clock_text(t->data_checked, tm2, sizeof tm2));
    } else if (d->version > 0)
        tui_kv(t, w, row++, "version", "%lld%sloaded %s", (long long)d->version, sep(t),
           clock_text(d->loaded_at, tm, sizeof tm));
    else
        tui_kv(t, w, row++, "version", "not stored");
    int64_t every = 0;
    int next = tui_view_next_load(t, &every);
    t->next_load = next;
    if (next >= 0) {
        char a[32], b[32];
        tui_kv(t, w, row++, "next", "load in %s%severy %s", duration_text(next, a, sizeof a),
               sep(t), duration_text((int)((every + 999) / 1000), b, sizeof b));
    }
    int narrow = getmaxx(w) - 4 - LABEL_W < 24;
    tui_kv(t, w, row++, "shape", "%zu rows %s %zu %s", d->rows,
       t->utf8 && !t->ascii ? "\xc3\x97" : "x", d->cols, narrow ? "cols" : "columns");
    if (d->y && d->nclasses > 0) {
        if (d->label_name)
            cat(buf, sizeof buf, &at, "%zu %s:", d->nclasses, d->label_name);
        else
            cat(buf, sizeof buf, &at, "%zu:", d->nclasses);
        for (size_t c = 0; c < d->nclasses; c++)
            cat(buf, sizeof buf, &at, "%s%s %zu", c ? sep(t) : " ",
                d->class_names && d->class_names[c] ? d->class_names[c] : "?",
                t->class_counts ? t->class_counts[c] : 0);
        tui_kv(t, w, row++, "classes", "%s", buf);
    } else {
        tui_kv(t, w, row++, "classes", "none (unlabelled)");
    }
    tui_kv(t, w, row++, "hash", "%s", d->hash);
    at = 0;
    buf[0] = '\0';
    for (size_t j = 0; j < d->cols; j++)
        cat(buf, sizeof buf, &at, "%s%s", j ? " " : "",
            d->feature_names && d->feature_names[j] ? d->feature_names[j] : "?");
    tui_kv(t, w, row++, "features", "%s", buf);
    wnoutrefresh(w);
}

/* A duration in seconds: "0.8 ms", "12 ms", "1.4 s", "3m12s". */
static const char *seconds_text(double s, char *buf, size_t n)
{
    if (s < 0.01)
        snprintf(buf, n, "%.1f ms", s * 1000);
    else if (s < 1)
        snprintf(buf, n, "%.0f ms", s * 1000);
    else if (s < 60)
        snprintf(buf, n, "%.1f s", s);
    else
        snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
    return buf;
}

void tui_view_model_info(tui_state *t, int64_t version)
{
    if (version <= 0 || version == t->minfo_version)
        return;
    t->minfo_version = version;
    t->minfo_train_seconds = -1;
    json_decref(t->minfo_curve);
    t->minfo_curve = NULL;
    store_model_info info;
    memset(&info, 0, sizeof info);
    char *err = NULL;
    if (store_get_model(eng_store(t->eng), version, &info, NULL, NULL, &err) != MLWB_OK) {
        free(err);  /* the panel shows what the registry has */
        return;
    }
    t->minfo_train_seconds = info.train_seconds;
    if (info.curve_json && *info.curve_json)
        t->minfo_curve = json_loads(info.curve_json, 0, NULL);
    store_model_info_clear(&info);
}

static void draw_model(tui_state *t)
{
    WINDOW *w = t->w_panel[TUI_P_MODEL];
    tui_frame(t, TUI_P_MODEL, w, "Model", NULL);
    mdl *m = reg_acquire(eng_registry(t->eng));
    if (!m) {
        tui_kv(t, w, 1, "", "no active model");
        tui_kv(t, w, 2, "", "try: train knn k=5");
        wnoutrefresh(w);
        return;
    }
    char buf[512], tm[32];
    int row = 1;
    tui_kv(t, w, row++, "version", "%lld (active)", (long long)m->version);
    if (m->knn)
        tui_kv(t, w, row++, "kind", "%s%sk=%d", m->kind, sep(t), knn_k(m->knn));
    else if (m->km)
        tui_kv(t, w, row++, "kind", "%s%sk=%zu clusters", m->kind, sep(t), km_model_k(m->km));
    else
        tui_kv(t, w, row++, "kind", "%s", m->kind);
    if (json_line(t, m->metrics_json, " ", 1, buf, sizeof buf))
        tui_kv(t, w, row++, "metrics", "%s", buf);
    else
        tui_kv(t, w, row++, "metrics", "-");
    tui_kv(t, w, row++, "dataset", "v%lld", (long long)m->dataset_version);
    if (json_line(t, m->params_json, "=", 0, buf, sizeof buf))
        tui_kv(t, w, row++, "params", "%s", buf);
    tui_view_model_info(t, m->version);
    char took[32] = "";
    if (t->minfo_version == m->version && t->minfo_train_seconds >= 0)
        seconds_text(t->minfo_train_seconds, took, sizeof took);
    tui_kv(t, w, row++, "trained", "%s%s%s%s", clock_text(m->created, tm, sizeof tm),
           took[0] ? sep(t) : "", took[0] ? "took " : "", took);
    mdl_release(&m);
    wnoutrefresh(w);
}

int tui_view_sample_server(tui_state *t, double now)
{
    http_server *s = cli_server(t->cli);
    tui_server_view *v = &t->server;
    if (!s) {
        if (v->serving) {
            memset(v, 0, sizeof *v);
            return 1;
        }
        return 0;
    }
    http_stats st;
    http_get_stats(s, &st);
    if (!v->serving) {
        memset(v, 0, sizeof *v);
        v->serving = 1;
        v->last = st;
        v->last_t = now;
        v->win[0] = st;
        v->win_t[0] = now;
        v->win_n = 1;
        v->win_at = 1 % TUI_SERVER_WIN;
        return 1;
    }
    double dt = now - v->last_t;
    if (dt < 1.0)
        return 0;
    double old_rate = v->rate;
    v->rate = st.requests >= v->last.requests ? (double)(st.requests - v->last.requests) / dt : 0;
    v->hist[v->hist_at] = v->rate;
    v->hist_at = (v->hist_at + 1) % TUI_SERVER_HIST;
    if (v->hist_n < TUI_SERVER_HIST)
        v->hist_n++;
    int changed = st.requests != v->last.requests || v->rate != old_rate;
    v->last = st;
    v->last_t = now;
    v->win[v->win_at] = st;
    v->win_t[v->win_at] = now;
    v->win_at = (v->win_at + 1) % TUI_SERVER_WIN;
    if (v->win_n < TUI_SERVER_WIN)
        v->win_n++;
    /* the latency window moves on even without new requests: redraw while it holds any */
    const http_stats *oldest = &v->win[v->win_n < TUI_SERVER_WIN ? 0 : v->win_at];
    return changed || st.requests != oldest->requests;
}

/* The sample at the start of the latency window (~10 s back), or NULL. */
static const http_stats *window_start(const tui_server_view *v)
{
    if (v->win_n == 0)
        return NULL;
    size_t first = v->win_n < TUI_SERVER_WIN ? 0 : v->win_at;
    return &v->win[first];
}

/* Milliseconds for the latency row: "85µs", "1.25ms", "40ms", "-". */
static const char *ms_text(const tui_state *t, double ms, char *buf, size_t n)
{
    if (ms < 0)
        snprintf(buf, n, "-");
    else if (ms < 1)
        snprintf(buf, n, "%.0f%s", ms * 1000, t->utf8 && !t->ascii ? "\xc2\xb5s" : "us");
    else if (ms < 10)
        snprintf(buf, n, "%.2fms", ms);
    else if (ms < 100)
        snprintf(buf, n, "%.1fms", ms);
    else
        snprintf(buf, n, "%.0fms", ms);
    return buf;
}

/* The requests/s history in time order (oldest first) into out (TUI_SERVER_HIST). */
static size_t rate_history(const tui_server_view *v, double *out)
{
    size_t n = v->hist_n;
    size_t first = (v->hist_at + TUI_SERVER_HIST - n) % TUI_SERVER_HIST;
    for (size_t i = 0; i < n; i++)
        out[i] = v->hist[(first + i) % TUI_SERVER_HIST];
    return n;
}

static void draw_server(tui_state *t)
{
    WINDOW *w = t->w_panel[TUI_P_SERVER];
    tui_frame(t, TUI_P_SERVER, w, "Server", NULL);
    http_server *s = cli_server(t->cli);
    if (!s) {
        tui_kv(t, w, 1, "status", "not serving");
        tui_kv(t, w, 2, "start", "serve 8000");
        wnoutrefresh(w);
        return;
    }
    int rows = getmaxy(w) - 2, iw = getmaxx(w) - 4;
    const char *addr = http_addr(s);
    if (!addr)
        addr = "127.0.0.1";
    int v6 = strchr(addr, ':') != NULL;
    char url[160];
    snprintf(url, sizeof url, "http://%s%s%s:%d", v6 ? "[" : "", addr, v6 ? "]" : "",
             http_port(s));
    http_stats st;
    http_get_stats(s, &st);
    const http_stats *before = window_start(&t->server);
    char p50[24], p99[24], lat[96], req[128];
    ms_text(t, http_latency_quantile(&st, before, 0.5), p50, sizeof p50);
    ms_text(t, http_latency_quantile(&st, before, 0.99), p99, sizeof p99);
    snprintf(lat, sizeof lat, "p50 %s%sp99 %s", p50, sep(t), p99);
    snprintf(req, sizeof req, "%llu%serrors %llu%s%.1f/s", (unsigned long long)st.requests,
             sep(t), (unsigned long long)st.errors, sep(t), t->server.rate);
    double hist[TUI_SERVER_HIST];
    size_t nh = rate_history(&t->server, hist);

    /* What fits: listen, requests, latency, predictions, the sparkline on a row of its
     * own when there are five rows, else after the address when there is room. */
    tui_kv(t, w, 1, "listen", "%s", url);
    int sparkw = iw - LABEL_W - (int)strlen(url) - 2;
    if (rows < 5 && sparkw >= 6 && nh > 0) {
        if (sparkw > 30)
            sparkw = 30;
        tui_spark_draw(t, w, 1, 2 + iw - sparkw, sparkw, hist, nh, t->attrs[TUI_A_S1]);
    }
    if (rows == 2) {  /* short: the counts, then the latency */
        tui_kv(t, w, 2, "requests", "%llu%s%.1f/s%s%s%serr %llu",
               (unsigned long long)st.requests, sep(t), t->server.rate, sep(t), lat, sep(t),
               (unsigned long long)st.errors);
    } else if (rows >= 3) {
        tui_kv(t, w, 2, "requests", "%s", req);
        if (rows == 3)
            tui_kv(t, w, 3, "latency", "%s%spredicts %llu", lat, sep(t),
                   (unsigned long long)st.predictions);
        else
            tui_kv(t, w, 3, "latency", "%s (10 s)", lat);
    }
    if (rows >= 4)
        tui_kv(t, w, 4, "predicts", "%llu", (unsigned long long)st.predictions);
    if (rows >= 5) {
        tui_put(w, 5, 2, iw, "req/s", t->attrs[TUI_A_LABEL]);
        if (nh > 0 && iw - LABEL_W >= 4)
            tui_spark_draw(t, w, 5, 2 + LABEL_W, iw - LABEL_W, hist, nh, t->attrs[TUI_A_S1]);
    }
    wnoutrefresh(w);
}

static int job_active(job_state s)
{
    return s == JOB_QUEUED || s == JOB_RUNNING;
}

/* How many jobs are queued or running (the loop ticks while there are any). */
static void count_jobs(tui_state *t)
{
    size_t n = 0;
    job **list = job_list(eng_jobs(t->eng), &n);
    int active = 0;
    for (size_t i = 0; i < n; i++)
        if (job_active(job_get_state(list[i])))
            active++;
    job_list_free(list, n);
    t->active_jobs = active;
}

static void draw_jobs(tui_state *t)
{
    WINDOW *w = t->w_panel[TUI_P_JOBS];
    int H = getmaxy(w), W = getmaxx(w);
    size_t n = 0;
    job **list = job_list(eng_jobs(t->eng), &n);
    int active = 0;
    for (size_t i = 0; i < n; i++)
        if (job_active(job_get_state(list[i])))
            active++;
    t->active_jobs = active;
    char title[32];
    snprintf(title, sizeof title, active ? "Jobs (%d)" : "Jobs", active);
    tui_frame(t, TUI_P_JOBS, w, title, NULL);
    int rows = H - 2, row = 1;
    if (active == 0) {
        tui_kv(t, w, row++, "", "idle");
        if (t->last_job[0])
            tui_kv(t, w, row++, "last", "%s", t->last_job);
    }
    int shown = 0;
    for (size_t i = 0; i < n && row <= rows; i++) {
        job *j = list[i];
        job_state st = job_get_state(j);
        if (!job_active(st))
            continue;
        if (row == rows && rows > 1 && active - shown > 1) {
            tui_kv(t, w, row++, "", "+%d more", active - shown);
            break;
        }
        char phase[64] = "";
        double p = job_progress(j, phase, sizeof phase);
        if (p < 0)
            p = 0;
        if (p > 1)
            p = 1;
        char head[64];
        snprintf(head, sizeof head, "#%lld %s ", (long long)job_id(j), job_kind(j));
        int x = 2, maxw = W - 4;
        int used = tui_put_clean(w, row, x, maxw, head, t->attrs[TUI_A_LABEL]);
        x += used;
        maxw -= used;
        int barw = maxw >= 40 ? 16 : maxw >= 24 ? 10 : 0;
        if (barw > 0) {
            int fill = (int)(p * barw + 0.5);
            wattr_on(w, t->attrs[TUI_A_BAR], NULL);
            for (int b = 0; b < barw; b++) {
                if (t->utf8 && !t->ascii)
                    mvwaddstr(w, row, x + b, b < fill ? "\xe2\x96\x88" : "\xe2\x96\x91");
                else
                    mvwaddch(w, row, x + b, b < fill ? '#' : '.');
            }
            wattr_off(w, t->attrs[TUI_A_BAR], NULL);
            x += barw + 1;
            maxw -= barw + 1;
        }
        char tail[512];
        if (st == JOB_QUEUED)
            snprintf(tail, sizeof tail, "queued  %s", job_desc(j));
        else
            snprintf(tail, sizeof tail, "%3d%% %s%s%s", (int)(p * 100 + 0.5),
                     phase, phase[0] ? "  " : "", job_desc(j));
        tui_put_clean(w, row, x, maxw, tail, t->attrs[TUI_A_TEXT]);
        row++;
        shown++;
    }
    job_list_free(list, n);
    wnoutrefresh(w);
}

static attr_t log_attr(const tui_state *t, tui_log_kind k)
{
    switch (k) {
    case TUI_LOG_ERR: return t->attrs[TUI_A_ERROR];
    case TUI_LOG_ECHO: return t->attrs[TUI_A_ECHO];
    case TUI_LOG_EVENT: return t->attrs[TUI_A_EVENT];
    case TUI_LOG_INFO: return t->attrs[TUI_A_DIM];
    case TUI_LOG_OUT: break;
    }
    return t->attrs[TUI_A_TEXT];
}

static void clamp_scroll(tui_state *t, int iw, int ih)
{
    if (t->log.scroll <= 0) {
        t->log.scroll = 0;
        return;
    }
    long total = tui_log_total_rows(&t->log, iw);
    long max = total - ih;
    if (max < 0)
        max = 0;
    if (t->log.scroll > max)
        t->log.scroll = (int)max;
}

static void draw_log(tui_state *t)
{
    WINDOW *w = t->w_panel[TUI_P_LOG];
    int H = getmaxy(w), W = getmaxx(w);
    int iw = W - 4, ih = H - 2;  /* one blank column each side, as in the panels */
    if (iw < 1 || ih < 1) {
        werase(w);
        wnoutrefresh(w);
        return;
    }
    t->log.width = iw;
    clamp_scroll(t, iw, ih);
    char note[64] = "";
    if (t->log.scroll > 0)
        snprintf(note, sizeof note, "scrolled up %d rows - PgDn", t->log.scroll);
    tui_frame(t, TUI_P_LOG, w, "Log", note[0] ? note : NULL);

    /* Find the line and the row within it that sits at the top of the view. */
    const tui_log *l = &t->log;
    long need = (long)t->log.scroll + ih, acc = 0;
    size_t first = l->n;
    while (first > 0 && acc < need) {
        first--;
        acc += tui_log_rows(tui_log_line(l, first, NULL), iw);
    }
    long skip = acc > need ? acc - need : 0;
    int y = 1;
    for (size_t i = first; i < l->n && y <= ih; i++) {
        tui_log_kind k;
        const char *s = tui_log_line(l, i, &k);
        attr_t a = log_attr(t, k);
        size_t len = strlen(s), at = 0;
        long row = 0;
        do {
            size_t fit = tui_text_fit(s + at, len - at, iw);
            if (row >= skip) {
                if (fit > 0) {
                    wattr_on(w, a, NULL);
                    mvwaddnstr(w, y, 2, s + at, (int)fit);
                    wattr_off(w, a, NULL);
                }
                y++;
            }
            at += fit;
            row++;
        } while (at < len && y <= ih);
        skip = 0;
    }
    wnoutrefresh(w);
}

void tui_view_scroll(tui_state *t, int pages)
{
    WINDOW *lw = t->w_panel[TUI_P_LOG];
    int ih = lw ? getmaxy(lw) - 2 : 10;
    int step = ih > 2 ? ih - 1 : 1;
    long s = (long)t->log.scroll + (long)pages * step;
    if (s < 0)
        s = 0;
    if (s > 1000000)
        s = 1000000;
    t->log.scroll = (int)s;
    if (lw)
        clamp_scroll(t, getmaxx(lw) - 4, ih);
    t->dirty |= TUI_D_LOG;
}

static void draw_small(tui_state *t)
{
    werase(stdscr);
    char msg[96];
    snprintf(msg, sizeof msg, "terminal too small: need at least %dx%d", TUI_MIN_COLS,
             TUI_MIN_LINES);
    int len = (int)strlen(msg);
    int y = (LINES - 1) / 2 - 1, x = (COLS - len) / 2;
    if (y < 0)
        y = 0;
    if (x < 0)
        x = 0;
    tui_put(stdscr, y, x, COLS - x, msg, t->attrs[TUI_A_WARN]);
    if (y + 1 < LINES - 1) {
        snprintf(msg, sizeof msg, "(now %dx%d)", COLS, LINES);
        len = (int)strlen(msg);
        x = (COLS - len) / 2;
        tui_put(stdscr, y + 1, x < 0 ? 0 : x, COLS, msg, t->attrs[TUI_A_DIM]);
    }
    wnoutrefresh(stdscr);
}

/* ---- help overlay ---------------------------------------------------------------------- */

static const char *const help_keys[] = {
    "F1, ? (empty line)   this help",
    "F2 / Shift-F2        focus the next / previous panel",
    "F3                   zoom the focused panel (F3 or Esc: back)",
    "PgUp / PgDn          scroll the log",
    "Tab                  complete commands, options, sample names, paths",
    "Up / Down, Ctrl-R    history (kept across sessions)",
    "Ctrl-L               redraw the screen",
    "Ctrl-C               clear the line",
    "Ctrl-D (empty line)  quit",
};

static void draw_help(tui_state *t)
{
    del(&t->w_help);
    if (t->too_small)
        return;
    size_t ncmd = 0;
    int namew = 4;
    for (const cmd_info *ci; (ci = cmd_info_at(ncmd)) != NULL; ncmd++) {
        int nw = (int)strlen(ci->name);
        if (nw > namew)
            namew = nw;
    }
    if (namew > 12)
        namew = 12;
    int nkeys = (int)(sizeof help_keys / sizeof help_keys[0]);
    int want = (int)ncmd + nkeys + 5;
    int h = want < LINES - 2 ? want : LINES - 2;
    int w = COLS - 4 < 80 ? COLS - 4 : 80;
    WINDOW *win = newwin(h, w, (LINES - 1 - h) / 2, (COLS - w) / 2);
    if (!win)
        return;
    t->w_help = win;
    leaveok(win, TRUE);
    tui_frame(t, -1, win, "Help", NULL);
    int row = 1, inner = h - 2;
    tui_put(win, row++, 2, w - 4, "Commands", t->attrs[TUI_A_PANEL_TITLE]);
    /* keep room for the keys list: commands get what is left */
    int cmd_rows = inner - 1 - (nkeys + 1);
    if (cmd_rows < 1)
        cmd_rows = inner - 1;
    for (size_t i = 0; i < ncmd && row <= inner; i++) {
        const cmd_info *ci = cmd_info_at(i);
        if (row - 1 > cmd_rows) {
            break;
        }
        if (row - 1 == cmd_rows && i + 1 < ncmd) {
            char more[64];
            snprintf(more, sizeof more, "... %zu more: type help", ncmd - i);
            tui_put(win, row++, 4, w - 6, more, t->attrs[TUI_A_DIM]);
            break;
        }
        tui_put_clean(win, row, 4, namew, ci->name, t->attrs[TUI_A_LABEL]);
        const char *what = ci->summary && *ci->summary ? ci->summary : ci->usage;
        tui_put_clean(win, row, 4 + namew + 2, w - 6 - namew - 2, what ? what : "",
                  t->attrs[TUI_A_TEXT]);
        row++;
    }
    if (row + 1 <= inner) {
        row++;
        tui_put(win, row++, 2, w - 4, "Keys", t->attrs[TUI_A_PANEL_TITLE]);
        for (int k = 0; k < nkeys && row <= inner; k++)
            tui_put(win, row++, 4, w - 6, help_keys[k], t->attrs[TUI_A_TEXT]);
    }
    const char *foot = " any key closes ";
    int fw = (int)strlen(foot);
    if (w - fw - 2 > 10)
        tui_put(win, h - 1, w - fw - 2, fw, foot, t->attrs[TUI_A_DIM]);
    wnoutrefresh(win);
}

void tui_view_help(tui_state *t, int open)
{
    if (open == t->help_open || (open && t->too_small))
        return;
    t->help_open = open;
    if (!open)
        del(&t->w_help);
    curs_set(open ? 0 : 1);
    t->dirty |= TUI_D_ALL;
}

static void draw_curve(tui_state *t)
{
    tui_graph_curve(t, t->w_panel[TUI_P_CURVE]);
}

static void draw_quality(tui_state *t)
{
    tui_graph_quality(t, t->w_panel[TUI_P_QUALITY]);
}

/* ---- flush ----------------------------------------------------------------------------- */

void tui_view_flush(tui_state *t)
{
    unsigned d = t->dirty;
    t->dirty = 0;
    /* the loop ticks while jobs run: keep the count even when no Jobs panel is drawn */
    if ((d & TUI_D_JOBS) && (t->too_small || !t->w_panel[TUI_P_JOBS]))
        count_jobs(t);
    if (t->too_small) {
        if (d & ~(unsigned)TUI_D_PROMPT)
            draw_small(t);
    } else {
        if ((d & TUI_D_TITLE) && t->w_title)
            draw_title(t);
        static void (*const draw[TUI_P_COUNT])(tui_state *) = {
            [TUI_P_DATA] = draw_data,     [TUI_P_MODEL] = draw_model,
            [TUI_P_CURVE] = draw_curve,   [TUI_P_QUALITY] = draw_quality,
            [TUI_P_SERVER] = draw_server, [TUI_P_JOBS] = draw_jobs,
            [TUI_P_LOG] = draw_log,
        };
        for (int p = 0; p < TUI_P_COUNT; p++)
            if ((d & panel_bits[p]) && t->w_panel[p])
                draw[p](t);
        if (t->help_open) {
            if ((d & TUI_D_HELP) || !t->w_help)
                draw_help(t);
            else if (d & ~(unsigned)TUI_D_PROMPT) {
                touchwin(t->w_help);
                wnoutrefresh(t->w_help);
            }
        }
    }
    tui_rl_draw(t);  /* last: the cursor ends on the prompt */
    doupdate();
}
