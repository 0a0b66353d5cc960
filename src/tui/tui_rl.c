/*
 * tui_rl.c — the readline seam: readline owns the line, ncurses owns the screen.
 *
 * Readline runs in callback mode and never touches the terminal:
 *   - no signal handlers, no SIGWINCH handling, no LINES/COLUMNS in the environment
 *     (rl_catch_signals, rl_catch_sigwinch, rl_change_environment = 0);
 *   - no terminal mode changes (rl_prep_term_function / rl_deprep_term_function = NULL;
 *     ncurses put the terminal in raw mode) and rl_outstream is /dev/null, so a stray
 *     write from readline can never land on the screen;
 *   - input comes from ncurses: the loop in tui.c reads a byte with wgetch on the prompt
 *     window (keypad off, so escape sequences arrive raw and readline's own key maps
 *     decode arrows, Home/End, PgUp/PgDn, F1) and hands it over with tui_rl_feed;
 *     rl_getc_function returns that byte, or reads the next one when readline wants
 *     more of a sequence; rl_input_available_hook says whether more bytes are waiting;
 *   - output goes through rl_redisplay_function (tui_rl_draw): the prompt and
 *     rl_line_buffer on the bottom line, scrolled horizontally to keep the cursor, whose
 *     column comes from rl_point measured with wcwidth;
 *   - completion lists go to the log pane (rl_completion_display_matches_hook).
 *
 * Readline keeps global state, so this file keeps one static pointer to the TUI's state;
 * only the UI thread calls anything here.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "mlwb/core/samples.h"
#include "tui_int.h"

static tui_state *T;          /* the running TUI (readline's callbacks have no user data) */
static FILE *rl_null;         /* readline's output stream: nowhere */

#define PROMPT "mlwb> "

/* ---- input --------------------------------------------------------------------------- */

static int rl_getc_cb(FILE *f)
{
    (void)f;
    if (T->have_key) {
        T->have_key = 0;
        return T->key;
    }
    /* Readline wants the rest of a sequence: wait for it (never report a false EOF). */
    for (;;) {
        int ch = T->w_prompt ? wgetch(T->w_prompt) : ERR;
        if (ch != ERR && ch <= 0xff)  /* not KEY_RESIZE (keypad is off: no other KEY_*) */
            return ch;
        if (ch != ERR)
            continue;
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        int r = poll(&p, 1, -1);
        if (r < 0 && errno != EINTR)
            return EOF;
        if (r > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)) && !(p.revents & POLLIN))
            return EOF;
    }
}

static int rl_avail_cb(void)
{
    if (T->have_key)
        return 1;
    struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
    return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

void tui_rl_feed(tui_state *t, int ch)
{
    t->key = ch & 0xff;
    t->have_key = 1;
    rl_callback_read_char();
    t->have_key = 0;
}

/* ---- redisplay ----------------------------------------------------------------------- */

/* Draw one character of the input line at (0, x): control characters as ^X. */
static void put_char(WINDOW *w, int x, const char *s, size_t n, wchar_t wc)
{
    unsigned char c = (unsigned char)s[0];
    if (c < 0x20 || c == 0x7f) {
        char buf[3] = {'^', c == 0x7f ? '?' : (char)(c + '@'), 0};
        mvwaddstr(w, 0, x, buf);
    } else if (wc == 0) {
        mvwaddch(w, 0, x, '?');
    } else {
        mvwaddnstr(w, 0, x, s, (int)n);
    }
}

void tui_rl_draw(tui_state *t)
{
    WINDOW *w = t->w_prompt;
    if (!w)
        return;
    werase(w);
    if (!t->prompt_open) {
        wnoutrefresh(w);
        return;
    }
    int W = getmaxx(w);

    /* The prompt (rl_display_prompt also carries i-search and argument prompts);
     * readline's invisible-text markers \001 \002 are dropped. */
    const char *pr = rl_display_prompt ? rl_display_prompt : (rl_prompt ? rl_prompt : "");
    char pbuf[256];
    size_t pn = 0;
    for (const char *p = pr; *p && pn + 1 < sizeof pbuf; p++)
        if (*p != '\001' && *p != '\002')
            pbuf[pn++] = *p;
    pbuf[pn] = '\0';
    char *pclean = tui_text_clean(pbuf, pn);
    int pw = tui_put(w, 0, 0, W / 2 > 1 ? W / 2 : 1, pclean ? pclean : PROMPT,
                     t->attrs[TUI_A_PROMPT]);
    free(pclean);

    const char *line = rl_line_buffer ? rl_line_buffer : "";
    size_t len = rl_line_buffer ? (size_t)rl_end : 0;
    size_t point = rl_point < 0 ? 0 : (size_t)rl_point;
    if (point > len)
        point = len;
    int avail = W - pw - 1;  /* the last column keeps the cursor at the end visible */
    if (avail < 1)
        avail = 1;
    int cur = tui_text_width(line, point);
    int total = tui_text_width(line, len);
    if (total <= avail)
        t->hscroll = 0;
    else if (cur < t->hscroll)
        t->hscroll = cur - avail / 2 > 0 ? cur - avail / 2 : 0;
    else if (cur > t->hscroll + avail)
        t->hscroll = cur - avail + avail / 4;
    if (t->hscroll < 0)
        t->hscroll = 0;

    int col = 0;
    size_t i = 0;
    while (i < len) {
        wchar_t wc;
        int cw;
        size_t n = tui_char(line + i, len - i, &wc, &cw);
        if (col >= t->hscroll && col + cw <= t->hscroll + avail)
            put_char(w, pw + col - t->hscroll, line + i, n, wc);
        else if (col < t->hscroll && col + cw > t->hscroll)
            mvwaddch(w, 0, pw, ' ');  /* a wide character cut by the left edge */
        col += cw;
        i += n;
        if (col > t->hscroll + avail)
            break;
    }
    attr_t dim = t->attrs[TUI_A_WARN];
    if (t->hscroll > 0 && pw > 0)
        mvwaddch(w, 0, pw - 1, '<' | (chtype)dim);
    if (total > t->hscroll + avail && W > 1)
        mvwaddch(w, 0, W - 1, '>' | (chtype)dim);
    wmove(w, 0, pw + cur - t->hscroll);
    wnoutrefresh(w);
}

static void rl_redisplay_cb(void)
{
    tui_rl_draw(T);
    doupdate();
}

/* ---- the line handler ------------------------------------------------------------------ */

static void on_line(char *line)
{
    if (!line) {  /* Ctrl-D on an empty line */
        T->quit = 1;
        tui_rl_close(T);
        return;
    }
    const char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p)
        add_history(line);
    tui_run_prompt_line(T, line);
    free(line);
    T->hscroll = 0;
    if (T->quit)
        tui_rl_close(T);
}

/* ---- completion ------------------------------------------------------------------------ */

static const char *const load_sources[] = {"csv", "sample", "synth", "sqlite", NULL};
static const char *const train_kinds[] = {"knn", "kmeans", NULL};
static const char *const serve_words[] = {"stop", NULL};

enum { FROM_LIST, FROM_COMMANDS, FROM_SAMPLES };
static int gen_from;
static const char *const *gen_list;

static char *generate(const char *text, int state)
{
    static size_t i;
    if (state == 0)
        i = 0;
    size_t tl = strlen(text);
    for (;;) {
        const char *cand = NULL;
        if (gen_from == FROM_COMMANDS) {
            const cmd_info *ci = cmd_info_at(i);
            if (!ci)
                return NULL;
            cand = ci->name;
        } else if (gen_from == FROM_SAMPLES) {
            sample_info si;
            if (!sample_at(i, &si))
                return NULL;
            cand = si.name;
        } else {
            cand = gen_list[i];
            if (!cand)
                return NULL;
        }
        i++;
        if (cand && strncmp(cand, text, tl) == 0)
            return strdup(cand);
    }
}

/* The words before the one being completed, in the current command (after the last ';'). */
static int words_before(int start, char *w0, size_t n0, char *w1, size_t n1)
{
    const char *buf = rl_line_buffer;
    int from = 0;
    for (int i = 0; i < start; i++)
        if (buf[i] == ';')
            from = i + 1;
    int count = 0, i = from;
    w0[0] = w1[0] = '\0';
    while (i < start) {
        while (i < start && (buf[i] == ' ' || buf[i] == '\t'))
            i++;
        if (i >= start)
            break;
        int b = i;
        while (i < start && buf[i] != ' ' && buf[i] != '\t')
            i++;
        size_t len = (size_t)(i - b);
        if (count == 0)
            snprintf(w0, n0, "%.*s", (int)len, buf + b);
        else if (count == 1)
            snprintf(w1, n1, "%.*s", (int)len, buf + b);
        count++;
    }
    return count;
}

static char **complete(const char *text, int start, int end)
{
    (void)end;
    char w0[32], w1[32];
    int nw = words_before(start, w0, sizeof w0, w1, sizeof w1);
    gen_from = FROM_LIST;
    gen_list = NULL;
    if (nw == 0)
        gen_from = FROM_COMMANDS;
    else if (nw == 1 && strcmp(w0, "help") == 0)
        gen_from = FROM_COMMANDS;
    else if (nw == 1 && strcmp(w0, "load") == 0)
        gen_list = load_sources;
    else if (nw == 1 && (strcmp(w0, "train") == 0 || strcmp(w0, "tune") == 0))
        gen_list = train_kinds;
    else if (nw == 1 && strcmp(w0, "serve") == 0)
        gen_list = serve_words;
    else if (nw == 2 && strcmp(w0, "load") == 0 && strcmp(w1, "sample") == 0)
        gen_from = FROM_SAMPLES;
    else
        return NULL;  /* readline's file name completion (load csv PATH, file=PATH) */
    rl_attempted_completion_over = 1;
    return rl_completion_matches(text, generate);
}

/* List the candidates in the log pane, in columns, instead of on the terminal. */
static void display_matches(char **matches, int num, int max_length)
{
    int width = T->log.width > 10 ? T->log.width : 60;
    int colw = max_length + 2;
    int ncols = colw > 0 ? width / colw : 1;
    if (ncols < 1)
        ncols = 1;
    int nrows = (num + ncols - 1) / ncols;
    size_t cap = (size_t)ncols * (size_t)(colw + 1) + 1;
    char *row = malloc(cap);
    if (!row)
        return;
    char head[64];
    snprintf(head, sizeof head, "%d completions:", num);
    tui_log_add(&T->log, TUI_LOG_INFO, head);
    for (int r = 0; r < nrows; r++) {
        size_t at = 0;
        for (int c = 0; c < ncols; c++) {
            int k = 1 + c * nrows + r;  /* column-major, like readline */
            if (k > num)
                break;
            const char *m = matches[k];
            if (rl_filename_completion_desired) {
                const char *slash = strrchr(m, '/');
                if (slash && slash[1])
                    m = slash + 1;
            }
            int n = snprintf(row + at, cap - at, "%-*s", colw, m);
            if (n < 0 || (size_t)n >= cap - at)
                break;
            at += (size_t)n;
        }
        while (at > 0 && row[at - 1] == ' ')
            at--;
        row[at] = '\0';
        tui_log_add(&T->log, TUI_LOG_INFO, row);
    }
    free(row);
    T->log.scroll = 0;
    T->dirty |= TUI_D_LOG;
    tui_view_flush(T);
}

/* ---- key bindings ------------------------------------------------------------------------ */

static int key_pgup(int count, int key)
{
    (void)count, (void)key;
    tui_view_scroll(T, 1);
    return 0;
}

static int key_pgdn(int count, int key)
{
    (void)count, (void)key;
    tui_view_scroll(T, -1);
    return 0;
}

static int key_help(int count, int key)
{
    (void)count, (void)key;
    tui_view_help(T, 1);
    return 0;
}

static int key_question(int count, int key)
{
    for (int i = 0; i < rl_end; i++)
        if (rl_line_buffer[i] != ' ' && rl_line_buffer[i] != '\t')
            return rl_insert(count, key);
    return key_help(count, key);
}

static int key_redraw(int count, int key)
{
    (void)count, (void)key;
    clearok(curscr, TRUE);
    T->dirty |= TUI_D_ALL;
    return 0;
}

static int key_cancel(int count, int key)
{
    (void)count, (void)key;
    rl_replace_line("", 1);
    rl_point = rl_end = 0;
    rl_mark = 0;
    T->hscroll = 0;
    return 0;
}

void tui_rl_init(tui_state *t)
{
    T = t;
    if (!rl_null)
        rl_null = fopen("/dev/null", "w");
    rl_readline_name = "mlwb";
    rl_instream = stdin;
    rl_outstream = rl_null ? rl_null : stdout;
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    rl_change_environment = 0;
    rl_prep_term_function = NULL;
    rl_deprep_term_function = NULL;
    rl_getc_function = rl_getc_cb;
    rl_input_available_hook = rl_avail_cb;
    rl_redisplay_function = rl_redisplay_cb;
    rl_attempted_completion_function = complete;
    rl_completion_display_matches_hook = display_matches;
    rl_initialize();  /* reads ~/.inputrc; our bindings below override it */
    rl_set_screen_size(LINES, COLS);

    /* Page keys (xterm/tmux/linux), F1 (xterm/tmux: ESC O P; rxvt; linux console). */
    rl_bind_keyseq("\033[5~", key_pgup);
    rl_bind_keyseq("\033[6~", key_pgdn);
    rl_bind_keyseq("\033OP", key_help);
    rl_bind_keyseq("\033[11~", key_help);
    rl_bind_keyseq("\033[[A", key_help);
    /* Home, End, Delete in their other spellings. */
    rl_bind_keyseq("\033[1~", rl_beg_of_line);
    rl_bind_keyseq("\033[7~", rl_beg_of_line);
    rl_bind_keyseq("\033[4~", rl_end_of_line);
    rl_bind_keyseq("\033[8~", rl_end_of_line);
    rl_bind_keyseq("\033[3~", rl_delete);
    rl_bind_key('?', key_question);
    rl_bind_key('\014', key_redraw);  /* Ctrl-L */
    rl_bind_key('\003', key_cancel);  /* Ctrl-C (raw mode: a byte, not SIGINT) */
}

void tui_rl_resize(tui_state *t)
{
    (void)t;
    rl_set_screen_size(LINES, COLS);
}

void tui_rl_open(tui_state *t)
{
    t->prompt_open = 1;
    t->hscroll = 0;
    rl_callback_handler_install(PROMPT, on_line);
}

void tui_rl_close(tui_state *t)
{
    if (!t->prompt_open)
        return;
    t->prompt_open = 0;
    rl_callback_handler_remove();
}
