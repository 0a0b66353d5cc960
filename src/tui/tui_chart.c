/*
 * tui_chart.c — charts drawn with text: a canvas of braille cells, axes with value
 * labels, sparklines, legend entries.
 *
 * Resolution: with a UTF-8 locale (and no --ascii) each character cell is a braille
 * pattern, U+2800 + bits, holding 2 x 4 dots, so a chart of W x H cells has 2W x 4H
 * dots.  Otherwise each cell is one ASCII character (the series' glyph: '*', '+', ...),
 * so a chart of W x H cells has W x H points.  Everything above the canvas is the same
 * for both: values map to dot coordinates, lines are drawn dot by dot (Bresenham), and
 * the canvas is blitted into the window cell by cell.
 *
 * Colour: a cell has one attribute; it takes the attribute of the last series that put a
 * dot in it (series are drawn in the order given, the vertical mark first), so a line
 * drawn last stays in its colour where it crosses a band.  Where colours are not
 * allowed, the series are told apart by their style (solid, dotted, points) or, in
 * ASCII, by their glyph; the legend shows each one's sample.
 *
 * Invariants: nothing is drawn outside the rectangle given; the canvas's memory is
 * sized by the rectangle (malloc'd, no VLAs) and an allocation failure draws nothing.
 * UI thread only.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui_int.h"

/* ---- the canvas ------------------------------------------------------------------------- */

typedef struct canvas {
    int cw, ch;             /* cells */
    int dw, dh;             /* dots: 2x4 per cell (braille) or 1x1 (ASCII) */
    int braille;
    unsigned char *cell;    /* braille: the dot bits; ASCII: the glyph (0: empty) */
    signed char *layer;     /* which layer colours the cell, -1: none */
} canvas;

static int canvas_init(canvas *cv, int cw, int ch, int braille)
{
    memset(cv, 0, sizeof *cv);
    if (cw < 1 || ch < 1)
        return -1;
    cv->cw = cw;
    cv->ch = ch;
    cv->braille = braille;
    cv->dw = braille ? cw * 2 : cw;
    cv->dh = braille ? ch * 4 : ch;
    size_t n = (size_t)cw * (size_t)ch;
    cv->cell = calloc(n, 1);
    cv->layer = malloc(n);
    if (!cv->cell || !cv->layer) {
        free(cv->cell);
        free(cv->layer);
        memset(cv, 0, sizeof *cv);
        return -1;
    }
    memset(cv->layer, -1, n);
    return 0;
}

static void canvas_free(canvas *cv)
{
    free(cv->cell);
    free(cv->layer);
    memset(cv, 0, sizeof *cv);
}

/* Braille dot bits by (column 0..1, row 0..3) within a cell. */
static const unsigned char dot_bit[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20},
                                            {0x40, 0x80}};

static void canvas_set(canvas *cv, int dx, int dy, int layer, char glyph)
{
    if (dx < 0 || dy < 0 || dx >= cv->dw || dy >= cv->dh)
        return;
    size_t at;
    if (cv->braille) {
        at = (size_t)(dy / 4) * (size_t)cv->cw + (size_t)(dx / 2);
        cv->cell[at] |= dot_bit[dy % 4][dx % 2];
    } else {
        at = (size_t)dy * (size_t)cv->cw + (size_t)dx;
        cv->cell[at] = (unsigned char)glyph;
    }
    if (cv->layer[at] < layer)
        cv->layer[at] = (signed char)layer;
}

/* A line of dots; dotted lines light every other step (the count runs on across
 * segments through *step). */
static void canvas_line(canvas *cv, int x0, int y0, int x1, int y1, int layer, char glyph,
                        int dotted, unsigned *step)
{
    int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int e = dx + dy;
    for (;;) {
        if (!dotted || ((*step)++ & 1u) == 0)
            canvas_set(cv, x0, y0, layer, glyph);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * e;
        if (e2 >= dy) {
            e += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            e += dx;
            y0 += sy;
        }
    }
}

static void put_braille(WINDOW *w, int y, int x, unsigned bits)
{
    char buf[4] = {(char)0xe2, (char)(0xa0 | (bits >> 6)), (char)(0x80 | (bits & 0x3f)), 0};
    mvwaddstr(w, y, x, buf);
}

static void canvas_blit(const canvas *cv, WINDOW *w, int y, int x, const attr_t *layer_attr)
{
    for (int r = 0; r < cv->ch; r++) {
        for (int c = 0; c < cv->cw; c++) {
            size_t at = (size_t)r * (size_t)cv->cw + (size_t)c;
            if (!cv->cell[at])
                continue;
            attr_t a = cv->layer[at] >= 0 ? layer_attr[cv->layer[at]] : A_NORMAL;
            wattr_on(w, a, NULL);
            if (cv->braille)
                put_braille(w, y + r, x + c, cv->cell[at]);
            else
                mvwaddch(w, y + r, x + c, (chtype)cv->cell[at]);
            wattr_off(w, a, NULL);
        }
    }
}

/* ---- the chart ---------------------------------------------------------------------------- */

static int use_braille(const tui_state *t)
{
    return t->utf8 && !t->ascii;
}

static int to_dot(double v, double lo, double hi, int n)
{
    if (!(hi > lo) || !isfinite(v))
        return (n - 1) / 2;
    double f = (v - lo) / (hi - lo);
    if (f < 0)
        f = 0;
    if (f > 1)
        f = 1;
    return (int)lround(f * (n - 1));
}

static int xdot(const canvas *cv, const tui_chart *c, double x)
{
    return to_dot(x, c->xmin, c->xmax, cv->dw);
}

static int ydot(const canvas *cv, const tui_chart *c, double y)
{
    return cv->dh - 1 - to_dot(y, c->ymin, c->ymax, cv->dh);
}

/* The cell column (from the plot's left) of an x value. */
static int xcell(const canvas *cv, const tui_chart *c, double x)
{
    int d = xdot(cv, c, x);
    return cv->braille ? d / 2 : d;
}

/* A band: the area between two edges lightly shaded, with braille one dot per cell (the
 * top-left one) so that a line drawn over it stays visible; in ASCII every cell. */
static void draw_band(canvas *cv, const tui_chart *c, const tui_series *s, int layer)
{
    int xstep = cv->braille ? 2 : 1, ystep = cv->braille ? 4 : 1;
    for (size_t i = 0; i + 1 < s->n; i++) {
        if (!isfinite(s->y[i]) || !isfinite(s->y2[i]) || !isfinite(s->y[i + 1]) ||
            !isfinite(s->y2[i + 1]))
            continue;
        int x0 = xdot(cv, c, s->x[i]), x1 = xdot(cv, c, s->x[i + 1]);
        for (int dx = x0; dx <= x1; dx++) {
            if (dx % xstep)
                continue;
            double f = x1 > x0 ? (double)(dx - x0) / (x1 - x0) : 0;
            double lo = s->y[i] + f * (s->y[i + 1] - s->y[i]);
            double hi = s->y2[i] + f * (s->y2[i + 1] - s->y2[i]);
            int top = ydot(cv, c, hi), bot = ydot(cv, c, lo);
            for (int dy = top; dy <= bot; dy++)
                if (dy % ystep == 0)
                    canvas_set(cv, dx, dy, layer, s->glyph);
            if (cv->braille && top / 4 == bot / 4 && top % 4 != 0)  /* thin: one dot */
                canvas_set(cv, dx, top, layer, s->glyph);
        }
    }
}

static void draw_series(canvas *cv, const tui_chart *c, const tui_series *s, int layer)
{
    if (s->style == TUI_BAND) {
        if (s->y2)
            draw_band(cv, c, s, layer);
        return;
    }
    unsigned step = 0;
    int have = 0, px = 0, py = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!isfinite(s->y[i]) || !isfinite(s->x[i])) {
            have = 0;
            continue;
        }
        int dx = xdot(cv, c, s->x[i]), dy = ydot(cv, c, s->y[i]);
        if (s->style == TUI_POINTS) {
            canvas_set(cv, dx, dy, layer, s->glyph);
            if (cv->braille) {  /* a 2x2 blob: one dot is hard to see */
                int ox = dx + 1 < cv->dw ? 1 : -1, oy = dy + 1 < cv->dh ? 1 : -1;
                canvas_set(cv, dx + ox, dy, layer, s->glyph);
                canvas_set(cv, dx, dy + oy, layer, s->glyph);
                canvas_set(cv, dx + ox, dy + oy, layer, s->glyph);
            }
        } else if (have) {
            canvas_line(cv, px, py, dx, dy, layer, s->glyph, s->style == TUI_DOTTED, &step);
        } else {
            canvas_set(cv, dx, dy, layer, s->glyph);
        }
        have = 1;
        px = dx;
        py = dy;
    }
}

/* Decimals for y labels over a range. */
static int y_digits(double lo, double hi)
{
    double r = hi - lo;
    double m = fmax(fabs(lo), fabs(hi));
    if (m >= 1000)
        return 0;
    return r >= 10 ? 0 : r >= 1 ? 1 : r >= 0.1 ? 2 : 3;
}

/* A "nice" step (1, 2 or 5 times a power of ten) giving at most max_ticks ticks. */
static long nice_step(long range, int max_ticks)
{
    if (max_ticks < 1)
        max_ticks = 1;
    for (long p = 1;; p *= 10) {
        static const long m[] = {1, 2, 5};
        for (int i = 0; i < 3; i++)
            if (range / (m[i] * p) <= max_ticks)
                return m[i] * p;
        if (p > 100000000L)
            return range > 0 ? range : 1;
    }
}

/* Place a label centred at column col of [x0, x0 + w) if it does not touch another
 * (occupied[] marks taken columns, with a gap of one); returns 1 when placed. */
static int place_label(WINDOW *win, int y, int x0, int w, int col, const char *text,
                       attr_t a, unsigned char *occupied)
{
    int len = (int)strlen(text);
    if (len > w)
        return 0;
    int at = col - (len - 1) / 2;
    if (at < 0)
        at = 0;
    if (at + len > w)
        at = w - len;
    for (int i = at - 1; i <= at + len; i++)
        if (i >= 0 && i < w && occupied[i])
            return 0;
    for (int i = at; i < at + len; i++)
        occupied[i] = 1;
    tui_put(win, y, x0 + at, len, text, a);
    return 1;
}

int tui_chart_draw(const tui_state *t, WINDOW *win, int y, int x, int h, int w,
                   const tui_chart *c)
{
    if (h < 3 || w < 10)
        return -1;
    int br = use_braille(t);
    /* y labels: top, bottom, and middle when tall enough */
    int digits = y_digits(c->ymin, c->ymax);
    char ytop[32], ybot[32], ymid[32];
    snprintf(ytop, sizeof ytop, "%.*f", digits, c->ymax);
    snprintf(ybot, sizeof ybot, "%.*f", digits, c->ymin);
    int lw = (int)strlen(ytop) > (int)strlen(ybot) ? (int)strlen(ytop) : (int)strlen(ybot);
    int axis = h >= 4;           /* an x axis line between the plot and the labels */
    int ph = h - 1 - axis;       /* plot rows */
    int mid = ph >= 5 ? (ph - 1) / 2 : -1;
    if (mid >= 0) {
        double v = c->ymax - ((double)mid + 0.5) / ph * (c->ymax - c->ymin);
        snprintf(ymid, sizeof ymid, "%.*f", digits, v);
        if ((int)strlen(ymid) > lw)
            lw = (int)strlen(ymid);
    }
    if (lw > w / 3)
        lw = w / 3;
    int px = x + lw + 1;          /* the plot's first column (after the y axis) */
    int pw = w - lw - 1;
    if (pw < 4)
        return -1;

    attr_t la = t->attrs[TUI_A_DIM], ax = t->attrs[TUI_A_BORDER];
    tui_put(win, y, x + lw - (int)strlen(ytop), lw, ytop, la);
    tui_put(win, y + ph - 1, x + lw - (int)strlen(ybot), lw, ybot, la);
    if (mid > 0 && mid < ph - 1)
        tui_put(win, y + mid, x + lw - (int)strlen(ymid), lw, ymid, la);
    wattr_on(win, ax, NULL);
    for (int r = 0; r < ph; r++) {
        int tick = r == 0 || r == ph - 1 || r == mid;
        if (br)
            mvwaddstr(win, y + r, px - 1, tick ? "\xe2\x94\xa4" : "\xe2\x94\x82");
        else
            mvwaddch(win, y + r, px - 1, tick ? '+' : '|');
    }
    wattr_off(win, ax, NULL);

    canvas cv;
    if (canvas_init(&cv, pw, ph, br) != 0)
        return -1;
    /* layer 0: the mark; layer i + 1: series i */
    size_t nl = c->nseries + 1;
    attr_t *la_of = malloc(nl * sizeof *la_of);
    if (!la_of) {
        canvas_free(&cv);
        return -1;
    }
    la_of[0] = c->mark_attr;
    if (c->has_mark) {  /* a dotted vertical line */
        int mx = xdot(&cv, c, c->mark_x);
        for (int d = 0; d < cv.dh; d += 2)
            canvas_set(&cv, mx, d, 0, ':');
    }
    for (size_t i = 0; i < c->nseries; i++) {
        la_of[i + 1] = c->series[i].attr;
        draw_series(&cv, c, &c->series[i], (int)(i + 1));
    }
    canvas_blit(&cv, win, y, px, la_of);
    free(la_of);

    /* x axis and labels */
    int mark_col = c->has_mark ? xcell(&cv, c, c->mark_x) : -1;
    long xmin = lround(c->xmin), xmax = lround(c->xmax);
    long step = nice_step(xmax - xmin, pw / 6);
    if (axis) {
        int ay = y + ph;
        wattr_on(win, ax, NULL);
        if (br) {
            mvwaddstr(win, ay, px - 1, "\xe2\x94\x94");
            for (int i = 0; i < pw; i++)
                mvwaddstr(win, ay, px + i, "\xe2\x94\x80");
        } else {
            mvwaddch(win, ay, px - 1, '+');
            for (int i = 0; i < pw; i++)
                mvwaddch(win, ay, px + i, '-');
        }
        for (long v = (xmin / step) * step; v <= xmax; v += step) {
            if (v < xmin)
                continue;
            int col = xcell(&cv, c, (double)v);
            if (br)
                mvwaddstr(win, ay, px + col, "\xe2\x94\xac");
            else
                mvwaddch(win, ay, px + col, '+');
        }
        wattr_off(win, ax, NULL);
        if (mark_col >= 0) {
            if (br)
                tui_put(win, ay, px + mark_col, 1, "\xe2\x96\xb2", c->mark_attr | A_BOLD);
            else
                tui_put(win, ay, px + mark_col, 1, "^", c->mark_attr | A_BOLD);
        }
    }
    unsigned char *occ = calloc((size_t)pw, 1);
    if (occ) {
        int ly = y + ph + axis;
        const char *pre = c->xprefix ? c->xprefix : "";
        char lab[40];
        if (mark_col >= 0) {
            snprintf(lab, sizeof lab, "%s%ld", pre, lround(c->mark_x));
            place_label(win, ly, px, pw, mark_col, lab, c->mark_attr | A_BOLD, occ);
        }
        long mark = c->has_mark ? lround(c->mark_x) : LONG_MIN;
        snprintf(lab, sizeof lab, "%s%ld", pre, xmin);
        if (xmin != mark)
            place_label(win, ly, px, pw, xcell(&cv, c, (double)xmin), lab, la, occ);
        if (xmax != xmin && xmax != mark) {
            snprintf(lab, sizeof lab, "%s%ld", pre, xmax);
            place_label(win, ly, px, pw, xcell(&cv, c, (double)xmax), lab, la, occ);
        }
        for (long v = (xmin / step) * step; v < xmax; v += step) {
            if (v <= xmin || v == mark)
                continue;
            snprintf(lab, sizeof lab, "%s%ld", pre, v);
            place_label(win, ly, px, pw, xcell(&cv, c, (double)v), lab, la, occ);
        }
        free(occ);
    }
    canvas_free(&cv);
    return 0;
}

/* ---- sparkline and legend ---------------------------------------------------------------- */

static int spark_level(double v, double max)
{
    if (!(max > 0) || !(v > 0))
        return 0;
    int lv = (int)ceil(v / max * 4);
    return lv > 4 ? 4 : lv;
}

void tui_spark_draw(const tui_state *t, WINDOW *win, int y, int x, int w, const double *v,
                    size_t n, attr_t a)
{
    if (w < 1 || n == 0)
        return;
    int br = use_braille(t);
    size_t slots = (size_t)w * (br ? 2 : 1);   /* one value per slot, the newest last */
    size_t shown = slots < n ? slots : n;
    const double *s = v + (n - shown);
    size_t off = slots - shown;                 /* empty slots before the oldest value */
    double max = 0;
    for (size_t i = 0; i < shown; i++)
        if (s[i] > max)
            max = s[i];
    static const unsigned char left[5] = {0, 0x40, 0x44, 0x46, 0x47};
    static const unsigned char right[5] = {0, 0x80, 0xa0, 0xb0, 0xb8};
    static const char ascii_lv[5] = {' ', '.', '-', '=', '#'};
    wattr_on(win, a, NULL);
    for (int c = 0; c < w; c++) {
        if (br) {
            size_t s0 = (size_t)c * 2, s1 = s0 + 1;
            unsigned bits = 0;
            if (s0 >= off)
                bits |= left[spark_level(s[s0 - off], max)];
            if (s1 >= off)
                bits |= right[spark_level(s[s1 - off], max)];
            if (bits)
                put_braille(win, y, x + c, bits);
        } else if ((size_t)c >= off) {
            mvwaddch(win, y, x + c, (chtype)ascii_lv[spark_level(s[(size_t)c - off], max)]);
        }
    }
    wattr_off(win, a, NULL);
}

int tui_legend(const tui_state *t, WINDOW *win, int y, int x, int maxw, int style, attr_t a,
               char glyph, const char *label)
{
    if (maxw < 4)
        return 0;
    char sample[16];
    if (use_braille(t)) {
        const char *s = style == TUI_BAND ? "\xe2\xa0\x81\xe2\xa0\x81"    /* ⠁⠁ */
                        : style == TUI_DOTTED ? "\xe2\xa0\x82\xe2\xa0\x82"   /* ⠂⠂ */
                        : style == TUI_POINTS ? "\xe2\xa0\xb6"              /* ⠶ */
                        : style < 0 ? "\xe2\x96\xb2"                        /* ▲ the mark */
                                    : "\xe2\xa0\x92\xe2\xa0\x92";           /* ⠒⠒ */
        snprintf(sample, sizeof sample, "%s", s);
    } else {
        snprintf(sample, sizeof sample, "%c", style < 0 ? '^' : glyph);
    }
    int used = tui_put(win, y, x, maxw, sample, a | A_BOLD);
    if (used + 2 > maxw)
        return used;
    used += 1;
    used += tui_put(win, y, x + used, maxw - used, label, t->attrs[TUI_A_TEXT]);
    return used;
}
