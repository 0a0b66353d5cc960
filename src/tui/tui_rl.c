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
 *   - completion lists go to the log pane (rl_completion_display_matches_hook);
 *   - function keys are bound by their escape sequences (xterm/tmux/screen, rxvt, the
 *     linux console): F1 help, F2 / Shift-F2 focus, F3 zoom; a lone Esc (un-zoom) is
 *     caught by tui.c before it reaches readline, since readline would take it as the
 *     start of a sequence;
 *   - history is kept across sessions in $XDG_STATE_HOME/mlwb/history (default
 *     ~/.local/state/mlwb/history; directories made 0700, the file 0600): read at start,
 *     the lines of this session appended at exit and the file cut to its last 1000
 *     lines.  When neither variable is set, or the file cannot be written, history is
 *     simply not kept: never an error.
 *
 * Readline keeps global state, so this file keeps one static pointer to the TUI's state;
 * only the UI thread calls anything here.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "mlwb/core/samples.h"
#include "tui_int.h"

static tui_state *T;          /* the running TUI (readline's callbacks have no user data) */
static FILE *rl_null;         /* readline's output stream: nowhere */

#define PROMPT "mlwb> "
#define HISTORY_LINES 1000

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
    HIST_ENTRY *prev = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
    if (*p && !(prev && prev->line && strcmp(prev->line, line) == 0)) {
        add_history(line);
        T->hist_added++;
    }
    tui_run_prompt_line(T, line);
    free(line);
    T->hscroll = 0;
    if (T->quit)
        tui_rl_close(T);
}

/* ---- completion ------------------------------------------------------------------------
 *
 * What Tab completes depends on the words before the cursor (in the current command,
 * after the last ';'):
 *   the first word                       command names
 *   help W                               command names
 *   set W / set NAME=V                   setting names / their values (from `settings`)
 *   load sample W                        the bundled sample names
 *   load csv W, load sqlite W, file=W,   file names (readline's own completion)
 *     out=W, path=W
 *   NAME=W                               the option's values where its usage lists words
 *                                        (choose=silhouette|elbow, weights=..., k=auto)
 *   anything else                        the next literal word of the command's usage
 *                                        alternatives that fit what is typed (train knn,
 *                                        serve stop), else their option names with '='
 *                                        (train kmeans ch -> choose=), those already
 *                                        typed left out
 * Option names and values come from the command table's usage strings, so they follow
 * the commands as they change.  Candidates are collected first, then readline's
 * generator hands out those that start with the text. */

#define MAX_WORDS 16
#define MAX_CANDS 256

static char *cands[MAX_CANDS];
static size_t ncands;

static void cands_clear(void)
{
    for (size_t i = 0; i < ncands; i++)
        free(cands[i]);
    ncands = 0;
}

static void cand_add(const char *s, size_t len)
{
    if (len == 0 || ncands == MAX_CANDS)
        return;
    for (size_t i = 0; i < ncands; i++)
        if (strlen(cands[i]) == len && strncmp(cands[i], s, len) == 0)
            return;
    char *c = malloc(len + 1);
    if (!c)
        return;
    memcpy(c, s, len);
    c[len] = '\0';
    cands[ncands++] = c;
}

static char *generate(const char *text, int state)
{
    static size_t i;
    if (state == 0)
        i = 0;
    size_t tl = strlen(text);
    while (i < ncands) {
        const char *c = cands[i++];
        if (strncmp(c, text, tl) == 0)
            return strdup(c);
    }
    return NULL;
}

/* The words before the one being completed, in the current command (after the last
 * ';'), into words[] (each truncated to 63 bytes); the partial word that ends at start
 * (e.g. "choose=" when completing after '=') goes to *pre.  Returns the word count. */
static int words_before(int start, char words[][64], int max, char *pre, size_t npre)
{
    const char *buf = rl_line_buffer;
    int from = 0;
    for (int i = 0; i < start; i++)
        if (buf[i] == ';')
            from = i + 1;
    int count = 0, i = from;
    pre[0] = '\0';
    while (i < start) {
        while (i < start && (buf[i] == ' ' || buf[i] == '\t'))
            i++;
        if (i >= start)
            break;
        int b = i;
        while (i < start && buf[i] != ' ' && buf[i] != '\t')
            i++;
        int len = i - b;
        if (i == start) {  /* runs into the word being completed */
            snprintf(pre, npre, "%.*s", len, buf + b);
            break;
        }
        if (count < max)
            snprintf(words[count], 64, "%.*s", len, buf + b);
        count++;
    }
    return count < max ? count : max;
}

/* The command a typed first word names (exact, else a unique prefix), or NULL. */
static const cmd_info *find_cmd(const char *w)
{
    const cmd_info *found = NULL;
    size_t len = strlen(w), matches = 0;
    for (size_t i = 0;; i++) {
        const cmd_info *ci = cmd_info_at(i);
        if (!ci)
            break;
        if (strcmp(ci->name, w) == 0)
            return ci;
        if (len > 0 && strncmp(ci->name, w, len) == 0) {
            found = ci;
            matches++;
        }
    }
    return matches == 1 ? found : NULL;
}

static int is_literal(const char *tok, size_t len)
{
    if (len == 0 || tok[0] < 'a' || tok[0] > 'z')
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = tok[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* An option token "[name=SPEC]" / "name=SPEC": the name's span and the spec's. */
static int option_of(const char *tok, size_t len, const char **name, size_t *nlen,
                     const char **spec, size_t *slen)
{
    while (len > 0 && (*tok == '[' || *tok == '('))
        tok++, len--;
    while (len > 0 && (tok[len - 1] == ']' || tok[len - 1] == ')'))
        len--;
    const char *eq = memchr(tok, '=', len);
    if (!eq || eq == tok || !is_literal(tok, (size_t)(eq - tok)))
        return 0;
    *name = tok;
    *nlen = (size_t)(eq - tok);
    *spec = eq + 1;
    *slen = len - *nlen - 1;
    return 1;
}

/* The words of one usage alternative ("train knn [k=N|auto] ..."). */
typedef struct alt {
    const char *tok[32];
    size_t len[32];
    int n;
} alt;

static void alt_split(const char *s, size_t len, alt *a)
{
    a->n = 0;
    size_t i = 0;
    while (i < len && a->n < 32) {
        while (i < len && s[i] == ' ')
            i++;
        if (i >= len)
            break;
        size_t b = i;
        while (i < len && s[i] != ' ')
            i++;
        a->tok[a->n] = s + b;
        a->len[a->n++] = i - b;
    }
}

/* Whether the typed words fit the alternative's leading literal words; *lead gets how
 * many leading words are literal (the command name included). */
static int alt_fits(const alt *a, char words[][64], int nw, int *lead)
{
    int l = 0;
    while (l < a->n && is_literal(a->tok[l], a->len[l]) && !memchr(a->tok[l], '=', a->len[l]))
        l++;
    *lead = l;
    for (int i = 1; i < nw && i < l; i++)
        if (strlen(words[i]) != a->len[i] || strncmp(words[i], a->tok[i], a->len[i]) != 0)
            return 0;
    return 1;
}

static int typed(char words[][64], int nw, const char *name, size_t nlen)
{
    for (int i = 1; i < nw; i++)
        if (strncmp(words[i], name, nlen) == 0 && words[i][nlen] == '=')
            return 1;
    return 0;
}

/* Add the words of a spec "N|auto" / "k=N|k=auto" / "uniform|distance". */
static void add_values(const char *spec, size_t slen, const char *name, size_t nlen)
{
    size_t i = 0;
    while (i <= slen) {
        size_t b = i;
        while (i < slen && spec[i] != '|')
            i++;
        const char *v = spec + b;
        size_t vl = i - b;
        if (vl > nlen && strncmp(v, name, nlen) == 0 && v[nlen] == '=') {
            v += nlen + 1;
            vl -= nlen + 1;
        }
        if (is_literal(v, vl))
            cand_add(v, vl);
        i++;
    }
}

/* Walk the usage alternatives of ci that fit the typed words.  With value_of NULL: add
 * the next literal word, or the option names; else add the values of that option. */
static void from_usage(const cmd_info *ci, char words[][64], int nw, const char *value_of)
{
    const char *u = ci->usage ? ci->usage : "";
    const char *each = strstr(u, "(each:");  /* options every alternative takes */
    size_t ulen = each ? (size_t)(each - u) : strlen(u);
    size_t vlen = value_of ? strlen(value_of) : 0;
    int any_fit = 0, fit_lead = 0;
    size_t i = 0;
    while (i < ulen) {
        const char *bar = strstr(u + i, " | ");
        size_t end = bar && (size_t)(bar - u) < ulen ? (size_t)(bar - u) : ulen;
        alt a;
        alt_split(u + i, end - i, &a);
        i = end + 3;
        int lead;
        if (a.n == 0 || !alt_fits(&a, words, nw, &lead))
            continue;
        any_fit = 1;
        if (lead > fit_lead)
            fit_lead = lead;
        if (!value_of && nw < lead) {
            cand_add(a.tok[nw], a.len[nw]);
            continue;
        }
        for (int k = lead; k < a.n; k++) {
            const char *name, *spec;
            size_t nl, sl;
            if (!option_of(a.tok[k], a.len[k], &name, &nl, &spec, &sl))
                continue;
            if (value_of) {
                if (nl == vlen && strncmp(name, value_of, nl) == 0)
                    add_values(spec, sl, name, nl);
            } else if (!typed(words, nw, name, nl)) {
                char buf[64];
                snprintf(buf, sizeof buf, "%.*s=", (int)nl, name);
                cand_add(buf, strlen(buf));
            }
        }
    }
    if (each && any_fit && (value_of || nw >= fit_lead)) {
        alt a;
        alt_split(each, strlen(each), &a);
        for (int k = 0; k < a.n; k++) {
            const char *name, *spec;
            size_t nl, sl;
            if (!option_of(a.tok[k], a.len[k], &name, &nl, &spec, &sl))
                continue;
            if (value_of) {
                if (nl == vlen && strncmp(name, value_of, nl) == 0)
                    add_values(spec, sl, name, nl);
            } else if (!typed(words, nw, name, nl)) {
                char buf[64];
                snprintf(buf, sizeof buf, "%.*s=", (int)nl, name);
                cand_add(buf, strlen(buf));
            }
        }
    }
}

/* `settings` run quietly in JSON: each result line is one setting. */
static void collect_result(void *ud, const char *text)
{
    json_t *o = json_loads(text, 0, NULL);
    if (o)
        json_array_append_new(ud, o);
}

static void collect_error(void *ud, const char *text)
{
    (void)ud, (void)text;
}

static void from_settings(const char *value_of)
{
    json_t *arr = json_array();
    if (!arr)
        return;
    cmd_ctx c = T->ctx;
    c.sink.result = collect_result;
    c.sink.error = collect_error;
    c.sink.ud = arr;
    c.json = 1;
    c.file = NULL;
    cmd_run_line(&c, "settings", 0);
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) {
        const char *name = json_string_value(json_object_get(o, "setting"));
        const char *values = json_string_value(json_object_get(o, "values"));
        if (!name)
            continue;
        if (!value_of) {
            char buf[96];
            snprintf(buf, sizeof buf, "%s=", name);
            cand_add(buf, strlen(buf));
        } else if (strcmp(name, value_of) == 0 && values) {
            add_values(values, strlen(values), name, strlen(name));
        }
    }
    json_decref(arr);
}

static int is_path_option(const char *name)
{
    return strcmp(name, "file") == 0 || strcmp(name, "out") == 0 || strcmp(name, "path") == 0;
}

static char **complete(const char *text, int start, int end)
{
    (void)end;
    char words[MAX_WORDS][64], pre[64];
    int nw = words_before(start, words, MAX_WORDS, pre, sizeof pre);
    cands_clear();
    rl_attempted_completion_over = 1;  /* no file names unless a path is expected */
    const cmd_info *ci = nw > 0 ? find_cmd(words[0]) : NULL;
    size_t pl = strlen(pre);
    if (nw == 0 && pl == 0) {
        for (size_t i = 0; (ci = cmd_info_at(i)) != NULL; i++)
            cand_add(ci->name, strlen(ci->name));
    } else if (!ci) {
        return NULL;
    } else if (pl > 0 && pre[pl - 1] == '=') {  /* an option's value */
        pre[pl - 1] = '\0';
        if (is_path_option(pre)) {
            rl_attempted_completion_over = 0;
            return NULL;
        }
        if (strcmp(ci->name, "set") == 0)
            from_settings(pre);
        else
            from_usage(ci, words, nw, pre);
    } else if (strcmp(ci->name, "help") == 0 && nw == 1) {
        for (size_t i = 0; (ci = cmd_info_at(i)) != NULL; i++)
            cand_add(ci->name, strlen(ci->name));
    } else if (strcmp(ci->name, "set") == 0) {
        from_settings(NULL);
    } else if (strcmp(ci->name, "load") == 0 && nw == 2 && strcmp(words[1], "sample") == 0) {
        sample_info si;
        for (size_t i = 0; sample_at(i, &si); i++)
            cand_add(si.name, strlen(si.name));
    } else if (strcmp(ci->name, "load") == 0 && nw == 2 &&
               (strcmp(words[1], "csv") == 0 || strcmp(words[1], "sqlite") == 0)) {
        rl_attempted_completion_over = 0;
        return NULL;
    } else {
        from_usage(ci, words, nw, NULL);
    }
    if (ncands == 0)
        return NULL;
    char **m = rl_completion_matches(text, generate);
    if (m && m[0] && m[0][0] && m[0][strlen(m[0]) - 1] == '=')
        rl_completion_suppress_append = 1;  /* "choose=" then the value, no space */
    return m;
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

static int key_focus_next(int count, int key)
{
    (void)count, (void)key;
    tui_view_focus(T, 1);
    return 0;
}

static int key_focus_prev(int count, int key)
{
    (void)count, (void)key;
    tui_view_focus(T, -1);
    return 0;
}

static int key_zoom(int count, int key)
{
    (void)count, (void)key;
    tui_view_zoom(T, T->zoom < 0);
    return 0;
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

/* ---- history ------------------------------------------------------------------------------ */

/* mkdir -p for the directories of path below an existing one, each made 0700. */
static int make_dirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int r = mkdir(path, 0700);
        int e = errno;
        *p = '/';
        if (r != 0 && e != EEXIST)
            return -1;
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

/* The history file, created (empty) if missing so that appending works; NULL when
 * history cannot be kept. */
static char *history_path(void)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char dir[4096];
    if (xdg && xdg[0] == '/')  /* the spec ignores a relative path */
        snprintf(dir, sizeof dir, "%s/mlwb", xdg);
    else if (home && home[0])
        snprintf(dir, sizeof dir, "%s/.local/state/mlwb", home);
    else
        return NULL;
    if (make_dirs(dir) != 0)
        return NULL;
    size_t n = strlen(dir) + sizeof "/history";
    char *path = malloc(n);
    if (!path)
        return NULL;
    snprintf(path, n, "%s/history", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        free(path);
        return NULL;
    }
    close(fd);
    return path;
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
    /* F2 (xterm/tmux, rxvt, linux), Shift-F2 (xterm/tmux), F3 (xterm/tmux, rxvt, linux) */
    rl_bind_keyseq("\033OQ", key_focus_next);
    rl_bind_keyseq("\033[12~", key_focus_next);
    rl_bind_keyseq("\033[[B", key_focus_next);
    rl_bind_keyseq("\033[1;2Q", key_focus_prev);
    rl_bind_keyseq("\033O2Q", key_focus_prev);
    rl_bind_keyseq("\033OR", key_zoom);
    rl_bind_keyseq("\033[13~", key_zoom);
    rl_bind_keyseq("\033[[C", key_zoom);
    /* Home, End, Delete in their other spellings. */
    rl_bind_keyseq("\033[1~", rl_beg_of_line);
    rl_bind_keyseq("\033[7~", rl_beg_of_line);
    rl_bind_keyseq("\033[4~", rl_end_of_line);
    rl_bind_keyseq("\033[8~", rl_end_of_line);
    rl_bind_keyseq("\033[3~", rl_delete);
    rl_bind_key('?', key_question);
    rl_bind_key('\014', key_redraw);  /* Ctrl-L */
    rl_bind_key('\003', key_cancel);  /* Ctrl-C (raw mode: a byte, not SIGINT) */

    using_history();
    stifle_history(HISTORY_LINES);
    t->hist_added = 0;
    t->hist_path = history_path();
    if (t->hist_path)
        read_history(t->hist_path);  /* a missing or unreadable file: no history yet */
}

void tui_rl_done(tui_state *t)
{
    if (t->hist_path && t->hist_added > 0) {
        int n = t->hist_added < history_length ? t->hist_added : history_length;
        if (append_history(n, t->hist_path) == 0)
            history_truncate_file(t->hist_path, HISTORY_LINES);
    }
    free(t->hist_path);
    t->hist_path = NULL;
    cands_clear();
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
