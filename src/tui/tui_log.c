/*
 * tui_log.c — the log pane's scrollback and the display-width helpers.
 *
 * The log is a ring of at most `cap` lines (TUI_LOG_LINES); the oldest line goes when a
 * new one arrives at capacity.  Lines are cleaned on the way in (tabs expanded to 8
 * columns, control characters and invalid bytes replaced by '?'), so that drawing never
 * meets a byte that would move the terminal's cursor, and widths computed with wcwidth
 * match what ncurses draws.  Wrapping happens at draw time, at the pane's current width,
 * so a resize rewraps everything.
 *
 * The scroll position is counted in display rows above the bottom; while it is not 0,
 * lines added are compensated so the view stays on the same text.
 *
 * Single-threaded (the UI thread).  Allocation failures drop the line, never abort.
 */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "tui_int.h"

size_t tui_char(const char *s, size_t len, wchar_t *wc, int *w)
{
    unsigned char c = (unsigned char)s[0];
    if (c < 0x20 || c == 0x7f) {
        *wc = (wchar_t)c;
        *w = 2;
        return 1;
    }
    if (c < 0x80) {
        *wc = (wchar_t)c;
        *w = 1;
        return 1;
    }
    mbstate_t st;
    memset(&st, 0, sizeof st);
    wchar_t ch = 0;
    size_t n = mbrtowc(&ch, s, len, &st);
    if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
        *wc = 0;
        *w = 1;
        return 1;
    }
    int cw = wcwidth(ch);
    if (cw < 0) {  /* not printable here: shown as '?' */
        *wc = 0;
        *w = 1;
        return n;
    }
    *wc = ch;
    *w = cw;
    return n;
}

int tui_text_width(const char *s, size_t len)
{
    int total = 0;
    size_t i = 0;
    while (i < len) {
        wchar_t wc;
        int w;
        i += tui_char(s + i, len - i, &wc, &w);
        total += w;
    }
    return total;
}

char *tui_text_clean(const char *s, size_t len)
{
    /* worst case: every byte a tab (8 columns) */
    size_t cap = len * 8 + 1;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t o = 0;
    int col = 0;
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\t') {
            int to = (col / 8 + 1) * 8;
            while (col < to) {
                out[o++] = ' ';
                col++;
            }
            i++;
            continue;
        }
        if (c == '\r') {  /* CR LF line ends: drop the CR */
            i++;
            continue;
        }
        wchar_t wc;
        int w;
        size_t n = tui_char(s + i, len - i, &wc, &w);
        if (wc == 0 || c < 0x20 || c == 0x7f) {
            out[o++] = '?';
            col++;
        } else {
            memcpy(out + o, s + i, n);
            o += n;
            col += w;
        }
        i += n;
    }
    out[o] = '\0';
    char *fit = realloc(out, o + 1);  /* the worst case was generous: give it back */
    return fit ? fit : out;
}

size_t tui_text_fit(const char *s, size_t len, int w)
{
    size_t i = 0;
    int col = 0;
    while (i < len) {
        wchar_t wc;
        int cw;
        size_t n = tui_char(s + i, len - i, &wc, &cw);
        if (col + cw > w) {
            if (i == 0 && w >= 1)  /* a character wider than the row: take it anyway */
                return n;
            break;
        }
        col += cw;
        i += n;
    }
    return i;
}

static int ascii_marks;  /* --ascii: cut text ends with '~', never an ellipsis */

void tui_text_ascii(int on)
{
    ascii_marks = on;
}

int tui_put(WINDOW *win, int y, int x, int maxw, const char *s, attr_t attr)
{
    if (!win || maxw <= 0 || !s)
        return 0;
    size_t len = strlen(s);
    int w = tui_text_width(s, len);
    size_t n = len;
    int cut = 0;
    if (w > maxw) {
        n = tui_text_fit(s, len, maxw - 1);
        cut = 1;
        w = tui_text_width(s, n);
        if (w > maxw - 1) {  /* a wide first character in a 1-column slot */
            n = 0;
            w = 0;
        }
    }
    wattr_on(win, attr, NULL);
    if (n > 0)
        mvwaddnstr(win, y, x, s, (int)n);
    else
        wmove(win, y, x);
    if (cut) {
        /* U+2026 in UTF-8; '~' elsewhere */
        const char *mark = "~";
        if (!ascii_marks && MB_CUR_MAX > 1 && tui_text_width("\xe2\x80\xa6", 3) == 1)
            mark = "\xe2\x80\xa6";
        waddstr(win, mark);
        w += 1;
    }
    wattr_off(win, attr, NULL);
    return w;
}

/* ---- the ring ---------------------------------------------------------------------------- */

int tui_log_init(tui_log *l, size_t cap)
{
    memset(l, 0, sizeof *l);
    l->text = calloc(cap, sizeof *l->text);
    l->kind = calloc(cap, sizeof *l->kind);
    if (!l->text || !l->kind) {
        free(l->text);
        free(l->kind);
        memset(l, 0, sizeof *l);
        return -1;
    }
    l->cap = cap;
    l->width = 80;
    return 0;
}

void tui_log_free(tui_log *l)
{
    if (l->text) {
        for (size_t i = 0; i < l->cap; i++)
            free(l->text[i]);
    }
    free(l->text);
    free(l->kind);
    memset(l, 0, sizeof *l);
}

const char *tui_log_line(const tui_log *l, size_t i, tui_log_kind *kind)
{
    size_t at = (l->start + i) % l->cap;
    if (kind)
        *kind = (tui_log_kind)l->kind[at];
    return l->text[at];
}

int tui_log_rows(const char *text, int w)
{
    size_t len = strlen(text);
    if (len == 0 || w < 1)
        return 1;
    int rows = 0;
    size_t i = 0;
    while (i < len) {
        i += tui_text_fit(text + i, len - i, w);
        rows++;
    }
    return rows;
}

long tui_log_total_rows(const tui_log *l, int w)
{
    long total = 0;
    for (size_t i = 0; i < l->n; i++)
        total += tui_log_rows(tui_log_line(l, i, NULL), w);
    return total;
}

static void log_push(tui_log *l, tui_log_kind kind, char *line)
{
    if (l->cap == 0) {
        free(line);
        return;
    }
    size_t at;
    if (l->n == l->cap) {  /* full: the oldest goes (above the view; scroll unchanged) */
        at = l->start;
        free(l->text[at]);
        l->start = (l->start + 1) % l->cap;
    } else {
        at = (l->start + l->n) % l->cap;
        l->n++;
    }
    l->text[at] = line;
    l->kind[at] = (unsigned char)kind;
    if (l->scroll > 0)  /* keep the view on the same text */
        l->scroll += tui_log_rows(line, l->width > 0 ? l->width : 1);
}

void tui_log_add(tui_log *l, tui_log_kind kind, const char *text)
{
    if (!text)
        return;
    const char *p = text;
    for (;;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        /* a trailing newline does not make an empty last line */

        char *line = tui_text_clean(p, len);
        if (line)
            log_push(l, kind, line);
        if (!nl)
            break;
        p = nl + 1;
        if (*p == '\0')
            break;
    }
}
