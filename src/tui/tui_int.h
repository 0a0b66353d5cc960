/*
 * tui_int.h — private to src/tui: the TUI's state and the seams between its files.
 *
 *   tui.c       tui_run: terminal setup and teardown, signals (self-pipe), the poll loop,
 *               engine events, the startup script, running a command line.
 *   tui_view.c  layout (rectangles from LINES/COLS, focus and zoom), windows, the text
 *               panels (Data, Model, Server, Jobs, Log), the help overlay, and the one
 *               place that flushes the screen (tui_view_flush).
 *   tui_graph.c the chart panels: Curve (the k-tuning curve) and Quality (a metric per
 *               model version); they read engine snapshots and the store.
 *   tui_chart.c the drawing of charts: a canvas of braille cells (2x4 dots each) or
 *               ASCII characters, axes with value labels, sparklines.
 *   tui_log.c   the log pane's scrollback (a ring of cleaned lines) and the display-width
 *               helpers every drawing routine uses (UTF-8 aware via mbrtowc/wcwidth).
 *   tui_rl.c    the readline seam: input from ncurses, our redisplay, completion, key
 *               bindings (PgUp/PgDn, F1, ?, F2/Shift-F2, F3, Ctrl-L, Ctrl-C), the line
 *               handler, and the history file (XDG state directory).
 *
 * Everything here runs on the one thread that called tui_run; no locking.
 *
 * Drawing model: state changes only set bits in `dirty`; tui_view_flush redraws the dirty
 * panels into their windows (wnoutrefresh) and then the prompt window last, so that the
 * terminal cursor always ends on the prompt, and calls doupdate once.  The prompt alone is
 * drawn at once on every key (readline's redisplay); everything else is rate limited by
 * the loop in tui.c.
 *
 * Panels: every panel has an id (tui_panel), a window in w_panel[] (NULL when the layout
 * has no room for it, or another panel is zoomed), and a dirty bit (tui_panel_dirty).
 * One panel has the focus (F2 / Shift-F2; drawn with a highlighted border and a mark
 * before its title); F3 zooms it to the whole screen between the title bar and the
 * prompt, and F3 or Esc brings the layout back.
 */
#ifndef MLWB_TUI_INT_H
#define MLWB_TUI_INT_H

#include <curses.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "mlwb/cli/cmd.h"
#include "mlwb/serve/http.h"
#include "mlwb/tui/tui.h"

/* ---- the log pane's scrollback ------------------------------------------------------ */

typedef enum tui_log_kind {
    TUI_LOG_OUT,    /* command results */
    TUI_LOG_ERR,    /* command errors, failed jobs */
    TUI_LOG_ECHO,   /* the command line the user entered */
    TUI_LOG_EVENT,  /* EV_LOG text from the engine */
    TUI_LOG_INFO    /* the TUI's own notes (completions, welcome, script summary) */
} tui_log_kind;

typedef struct tui_log {
    char **text;           /* ring of cap cleaned lines (printable, tabs expanded) */
    unsigned char *kind;   /* tui_log_kind of each line */
    size_t cap, start, n;  /* oldest line at start; n lines held */
    int scroll;            /* display rows the view is scrolled up from the bottom */
    int width;             /* the pane's inner width the last time it was drawn */
} tui_log;

int tui_log_init(tui_log *l, size_t cap);
void tui_log_free(tui_log *l);
/* Append text (may hold several lines, split at '\n').  While the view is scrolled up it
 * stays on the same lines. */
void tui_log_add(tui_log *l, tui_log_kind kind, const char *text);
/* Line i, 0 = oldest. */
const char *tui_log_line(const tui_log *l, size_t i, tui_log_kind *kind);
/* Display rows of line text when wrapped at width w (>= 1). */
int tui_log_rows(const char *text, int w);
/* Total display rows of the whole log at width w. */
long tui_log_total_rows(const tui_log *l, int w);

/* ---- display-width helpers ------------------------------------------------------------ */

/* One character of s (len bytes left, len >= 1): returns the bytes it takes (>= 1), and
 * its display width in *w: a control character counts as 2 ("^X"), an invalid byte as 1
 * ("?").  *wc gets the character, or 0 for an invalid byte. */
size_t tui_char(const char *s, size_t len, wchar_t *wc, int *w);
/* Display width of the first len bytes of s. */
int tui_text_width(const char *s, size_t len);
/* A malloc'd copy of s[0..len) with tabs expanded and every other control character or
 * invalid byte replaced by '?', so that each byte sequence left is printable.  NULL on
 * allocation failure. */
char *tui_text_clean(const char *s, size_t len);
/* Bytes of (clean) s that fit into w columns (at least one character when w >= 1 and s is
 * not empty, so wrapping always makes progress). */
size_t tui_text_fit(const char *s, size_t len, int w);
/* Draw clean text at (y, x) within maxw columns; a cut is marked with an ellipsis.
 * Returns the columns used. */
int tui_put(WINDOW *win, int y, int x, int maxw, const char *s, attr_t attr);
/* Mark cuts with '~' instead of U+2026 (for --ascii). */
void tui_text_ascii(int on);

/* ---- the state -------------------------------------------------------------------------- */

enum {
    TUI_D_TITLE = 1u << 0,
    TUI_D_DATA = 1u << 1,
    TUI_D_MODEL = 1u << 2,
    TUI_D_SERVER = 1u << 3,
    TUI_D_JOBS = 1u << 4,
    TUI_D_LOG = 1u << 5,
    TUI_D_PROMPT = 1u << 6,
    TUI_D_HELP = 1u << 7,
    TUI_D_CURVE = 1u << 8,
    TUI_D_QUALITY = 1u << 9,
    TUI_D_ALL = 0x3ffu
};

/* The panels, in focus order (F2 goes down this list). */
typedef enum tui_panel {
    TUI_P_DATA,
    TUI_P_MODEL,
    TUI_P_CURVE,
    TUI_P_QUALITY,
    TUI_P_SERVER,
    TUI_P_JOBS,
    TUI_P_LOG,
    TUI_P_COUNT
} tui_panel;

/* Colour/attribute roles; tui_attr maps them to attributes (colour pairs when allowed). */
typedef enum tui_role {
    TUI_A_TEXT,
    TUI_A_TITLEBAR,
    TUI_A_BORDER,
    TUI_A_PANEL_TITLE,
    TUI_A_LABEL,
    TUI_A_DIM,
    TUI_A_ERROR,
    TUI_A_ECHO,
    TUI_A_EVENT,
    TUI_A_BAR,
    TUI_A_PROMPT,
    TUI_A_WARN,
    TUI_A_FOCUS,   /* the focused panel's border */
    TUI_A_S1,      /* a chart's first series (KNN accuracy, silhouette) */
    TUI_A_S2,      /* its second series (inertia; k-means silhouette in Quality) */
    TUI_A_BAND,    /* the ±1 sd band */
    TUI_A_MARK,    /* the chosen k / the active version */
    TUI_A_COUNT
} tui_role;

#define TUI_MIN_COLS 60
#define TUI_MIN_LINES 20
#define TUI_LOG_LINES 2000

/* The listener's counters, sampled about once a second while it serves: requests/s for
 * the sparkline, and the last TUI_SERVER_WIN samples for the latency window (p50/p99
 * over the answers of the last ~10 s). */
#define TUI_SERVER_HIST 120
#define TUI_SERVER_WIN 11
typedef struct tui_server_view {
    int serving;
    http_stats last;          /* at the last sample */
    double last_t;            /* monotonic seconds of that sample */
    double rate;              /* requests per second over the last sample interval */
    double hist[TUI_SERVER_HIST];  /* requests/s, one per sample, ring */
    size_t hist_n, hist_at;
    http_stats win[TUI_SERVER_WIN];  /* ring of samples, oldest at win_at when full */
    double win_t[TUI_SERVER_WIN];
    size_t win_n, win_at;
} tui_server_view;

/* One stored model version, as the Quality panel plots it. */
typedef struct tui_version {
    int64_t version;
    int kmeans;               /* kind "kmeans" (else "knn") */
    double metric;            /* accuracy (knn) or silhouette (kmeans); NAN when absent */
    int active;
} tui_version;

typedef struct tui_state {
    cli *cli;
    engine *eng;
    const tui_opts *opts;
    cmd_ctx ctx;           /* the prompt's context: wait 0, origin "prompt" */

    SCREEN *screen;
    int ascii;             /* ASCII borders, bars and marks */
    int utf8;              /* the locale's charset is UTF-8 */
    int color;             /* colours allowed and available */
    attr_t attrs[TUI_A_COUNT];

    /* windows; NULL when the layout has none (terminal too small, another zoomed) */
    WINDOW *w_title, *w_prompt, *w_help;
    WINDOW *w_panel[TUI_P_COUNT];
    int too_small;
    int lines, cols;       /* the size the windows were made for */
    int focus;             /* tui_panel with the focus */
    int zoom;              /* the zoomed tui_panel, or -1 */

    unsigned dirty;        /* TUI_D_* bits */
    int help_open;
    int quit;
    int hscroll;           /* the prompt's horizontal scroll, in columns */
    int prompt_open;       /* the readline handler is installed */

    /* one byte fetched by the loop for readline's getc */
    int key;
    int have_key;

    tui_log log;

    /* snapshots, refreshed when their panel is redrawn */
    ds *data;              /* a reference to the data set the Data panel shows */
    double data_checked;   /* when the last load finished (0: none this session) */
    char data_check[16];   /* what it found: "new", "unchanged", "current" */
    size_t *class_counts;  /* data->nclasses counts */
    int active_jobs;       /* queued + running at the last Jobs draw */
    int64_t last_job_id;   /* the last finished job, for the idle Jobs panel */
    char last_job[160];
    tui_server_view server;
    int next_load;         /* seconds to the next scheduled load as last drawn, -1: none */

    /* the active model's stored record (train_seconds, curve_json), read once per
     * version from the main thread's store connection */
    int64_t minfo_version; /* 0: nothing cached */
    double minfo_train_seconds;
    json_t *minfo_curve;   /* its parsed curve_json, or NULL */

    /* the Quality panel's list of versions, re-read when a model is published */
    tui_version *versions;
    size_t nversions;
    int versions_stale;

    /* readline history kept across sessions (NULL path: off) */
    char *hist_path;
    int hist_added;        /* lines added this session */
} tui_state;

/* The dirty bit of a panel. */
unsigned tui_panel_dirty(int p);

/* tui_view.c */
void tui_view_colors(tui_state *t);
/* Move the focus by delta panels (wrapping); a zoomed view follows the focus. */
void tui_view_focus(tui_state *t, int delta);
/* Zoom the focused panel to the whole screen (on = 1), or back to the layout (0). */
void tui_view_zoom(tui_state *t, int on);
/* (Re)create every window for the current LINES/COLS; marks everything dirty. */
void tui_view_layout(tui_state *t);
void tui_view_destroy(tui_state *t);
/* Redraw what is dirty and update the terminal (prompt last, so the cursor sits there). */
void tui_view_flush(tui_state *t);
void tui_view_help(tui_state *t, int open);
/* Scroll the log by `pages` half-pages (positive = up, into the past). */
void tui_view_scroll(tui_state *t, int halfpages);
/* Sample the listener's counters (called on the loop's tick while serving); returns 1
 * when the Server panel has something new to show. */
int tui_view_sample_server(tui_state *t, double now);
/* Seconds (rounded up) to the next run of a schedule whose description starts with
 * "load", -1 when there is none; *every_ms gets its period. */
int tui_view_next_load(tui_state *t, int64_t *every_ms);
double tui_now(void);

/* Drawing helpers shared by the panels (tui_view.c).  tui_frame erases the window and
 * draws its border (highlighted when panel p has the focus; p = -1: no panel), the
 * title and an optional note after it. */
void tui_frame(tui_state *t, int p, WINDOW *w, const char *title, const char *note);
/* "label  value" on inner row `row` (rows past the inner height are dropped). */
void tui_kv(tui_state *t, WINDOW *w, int row, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Text that did not come from us, cleaned, at (y, x) within maxw columns. */
int tui_put_clean(WINDOW *w, int y, int x, int maxw, const char *s, attr_t a);
/* The active model's stored record into the minfo_* cache (UI thread: the store). */
void tui_view_model_info(tui_state *t, int64_t version);

/* tui_graph.c */
void tui_graph_curve(tui_state *t, WINDOW *w);
void tui_graph_quality(tui_state *t, WINDOW *w);
void tui_graph_free(tui_state *t);  /* the caches */

/* tui_chart.c: a chart in the rectangle (y, x, h, w) of a window. */
enum { TUI_LINE, TUI_DOTTED, TUI_POINTS, TUI_BAND };
typedef struct tui_series {
    const double *x, *y;   /* n points in x order; a NAN y is left out (breaks a line) */
    size_t n;
    int style;             /* TUI_LINE, TUI_DOTTED (every other dot), TUI_POINTS, or
                            * TUI_BAND: the area from y up to y2, lightly shaded */
    attr_t attr;
    char glyph;            /* its character in ASCII */
    const double *y2;      /* TUI_BAND: the upper edge */
} tui_series;

typedef struct tui_chart {
    double xmin, xmax, ymin, ymax;
    const tui_series *series;  /* drawn in order: a cell takes the colour of the last */
    size_t nseries;
    int has_mark;          /* a vertical mark at mark_x (the chosen k, the active version) */
    double mark_x;
    attr_t mark_attr;
    const char *xprefix;   /* before each x label: "" (k) or "v" (versions) */
} tui_chart;

/* Draw y labels, axes, the plot and x labels (integer x); returns 0, or -1 when the
 * rectangle is too small for any plot. */
int tui_chart_draw(const tui_state *t, WINDOW *win, int y, int x, int h, int w,
                   const tui_chart *c);
/* A one-row sparkline of v[0..n) (the newest last), scaled to its maximum. */
void tui_spark_draw(const tui_state *t, WINDOW *win, int y, int x, int w, const double *v,
                    size_t n, attr_t a);
/* A legend entry: a sample of the series' style then its label; returns columns used. */
int tui_legend(const tui_state *t, WINDOW *win, int y, int x, int maxw, int style, attr_t a,
               char glyph, const char *label);

/* tui_rl.c */
void tui_rl_init(tui_state *t);   /* settings and bindings; before tui_rl_open */
void tui_rl_open(tui_state *t);   /* install the line handler (draws the prompt) */
void tui_rl_close(tui_state *t);  /* remove the line handler; idempotent */
void tui_rl_done(tui_state *t);   /* save the history; at exit */
void tui_rl_resize(tui_state *t); /* tell readline the new screen size */
void tui_rl_feed(tui_state *t, int ch);  /* give readline one input byte */
/* Draw the prompt line from readline's state into its window and wnoutrefresh it (no
 * doupdate); before tui_rl_open it shows nothing. */
void tui_rl_draw(tui_state *t);

/* tui.c */
/* Run one line from the prompt (the line handler calls this). */
void tui_run_prompt_line(tui_state *t, const char *line);

#endif
