/*
 * tui.c — tui_run: the full-screen workbench's lifetime and its event loop.
 *
 * What it guarantees:
 *   - The TUI does no work itself.  Lines from the prompt (and the startup script) go to
 *     cmd_run_line with wait = 0, so jobs run in the background; their completion
 *     (EV_JOB_DONE) is reported into the log with cmd_report_job, exactly as the command
 *     would have reported it in a script.  Panels draw engine snapshots.
 *   - One thread: the caller's.  It alone touches ncurses and readline.
 *   - The loop sleeps in poll() on three descriptors: the terminal (stdin), the engine's
 *     event pipe (ev_fd) and a self-pipe written by the signal handlers.  The timeout is
 *     infinite when nothing moves, 250 ms while jobs run, the listener serves or a
 *     schedule exists (to refresh progress, counters and the "next load" countdown), and
 *     shorter only to honour the redraw rate limit (panels at most every 100 ms; the
 *     prompt is drawn at once on each key).  A tick marks a panel dirty only when what it
 *     shows has changed, so an idle listener costs a few wake-ups a second and no drawing.
 *   - Events mark panels dirty: EV_CURVE the Curve (a sweep's points appear as they are
 *     computed), EV_MODEL the Model, Quality and Curve, EV_DATASET the Data panel.
 *   - Signals only write a byte to the self-pipe: SIGWINCH re-lays out the screen from
 *     TIOCGWINSZ (resizeterm, new windows); SIGTERM, SIGHUP and SIGINT leave cleanly.
 *     (In raw mode Ctrl-C is a key, bound to "clear the line".)  The previous handlers
 *     are restored on the way out.
 *   - Leaving (quit, Ctrl-D on an empty line, a signal) removes the readline handler and
 *     ends curses, which restores the terminal's modes and the normal screen.
 */
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "tui_int.h"

#ifndef MLWB_VERSION
#define MLWB_VERSION "dev"
#endif

#define REDRAW_INTERVAL 0.1   /* seconds between panel redraws, at most */
#define TICK_MS 250           /* refresh period while something moves */

double tui_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- signals: a self-pipe --------------------------------------------------------------- */

static int sig_pipe[2] = {-1, -1};

static const int caught[] = {SIGWINCH, SIGTERM, SIGHUP, SIGINT};
#define NCAUGHT (sizeof caught / sizeof caught[0])
static struct sigaction saved[NCAUGHT];

static void on_signal(int sig)
{
    int e = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t r = write(sig_pipe[1], &b, 1);  /* a full pipe already holds a wake-up */
    (void)r;
    errno = e;
}

static int signals_install(void)
{
    if (pipe(sig_pipe) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(sig_pipe[i], F_SETFL, fcntl(sig_pipe[i], F_GETFL) | O_NONBLOCK);
        fcntl(sig_pipe[i], F_SETFD, FD_CLOEXEC);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (size_t i = 0; i < NCAUGHT; i++)
        sigaction(caught[i], &sa, &saved[i]);
    return 0;
}

static void signals_restore(void)
{
    for (size_t i = 0; i < NCAUGHT; i++)
        sigaction(caught[i], &saved[i], NULL);
    for (int i = 0; i < 2; i++) {
        if (sig_pipe[i] >= 0)
            close(sig_pipe[i]);
        sig_pipe[i] = -1;
    }
}

/* ---- sinks: everything a command says goes to the log ------------------------------------ */

static void sink_result(void *ud, const char *text)
{
    tui_state *t = ud;
    tui_log_add(&t->log, TUI_LOG_OUT, text);
    t->dirty |= TUI_D_LOG;
}

static void sink_error(void *ud, const char *text)
{
    tui_state *t = ud;
    tui_log_add(&t->log, TUI_LOG_ERR, text);
    t->dirty |= TUI_D_LOG;
}

static void note(tui_state *t, tui_log_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(tui_state *t, tui_log_kind kind, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    tui_log_add(&t->log, kind, buf);
    t->dirty |= TUI_D_LOG;
}

/* ---- engine events ------------------------------------------------------------------------ */

static void job_done(tui_state *t, int64_t id)
{
    job *j = job_get(eng_jobs(t->eng), id);
    if (!j)
        return;
    cmd_report_job(&t->ctx, j);
    snprintf(t->last_job, sizeof t->last_job, "#%lld %s: %s", (long long)id, job_desc(j),
             job_state_name(job_get_state(j)));
    job_release(&j);
}

static void handle_event(tui_state *t, const ev *e)
{
    switch (e->kind) {
    case EV_LOG:
        if (e->text)
            tui_log_add(&t->log, TUI_LOG_EVENT, e->text);
        t->dirty |= TUI_D_LOG;
        break;
    case EV_PROGRESS:
        t->dirty |= TUI_D_JOBS;
        break;
    case EV_JOB_DONE:
        job_done(t, e->job_id);
        t->dirty |= TUI_D_JOBS | TUI_D_DATA | TUI_D_MODEL | TUI_D_LOG | TUI_D_CURVE;
        break;
    case EV_DATASET: {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        t->data_checked = (double)ts.tv_sec;
        snprintf(t->data_check, sizeof t->data_check, "%s", e->text ? e->text : "");
    }
        t->dirty |= TUI_D_DATA | TUI_D_MODEL;
        break;
    case EV_MODEL:  /* published, kept back, or activated by `use` */
        t->versions_stale = 1;
        t->dirty |= TUI_D_MODEL | TUI_D_QUALITY | TUI_D_CURVE;
        break;
    case EV_CURVE:  /* the curve gained a fold or a k */
        t->dirty |= TUI_D_CURVE | TUI_D_JOBS;
        break;
    case EV_COMMAND: {  /* `every DURATION COMMAND` is due: run it here, like a typed line */
        char echo[600];
        snprintf(echo, sizeof echo, "schedule %lld> %s", (long long)e->version,
                 e->text ? e->text : "");
        tui_log_add(&t->log, TUI_LOG_ECHO, echo);
        cmd_run_scheduled(&t->ctx, e->version, e->text);
        t->dirty |= TUI_D_ALL & ~TUI_D_HELP;
        break;
    }
    }
}

static void drain_events(tui_state *t)
{
    ev_queue *q = eng_events(t->eng);
    ev evs[64];
    size_t n;
    do {
        n = ev_drain(q, evs, sizeof evs / sizeof evs[0]);
        for (size_t i = 0; i < n; i++) {
            handle_event(t, &evs[i]);
            ev_clear(&evs[i]);
        }
    } while (n == sizeof evs / sizeof evs[0]);
}

/* ---- commands ---------------------------------------------------------------------------- */

void tui_run_prompt_line(tui_state *t, const char *line)
{
    const char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p)
        return;
    note(t, TUI_LOG_ECHO, "mlwb> %s", line);
    t->log.scroll = 0;
    if (cmd_run_line(&t->ctx, line, 0) == CMD_QUIT)
        t->quit = 1;
    t->dirty |= TUI_D_ALL;
}

static void run_script(tui_state *t, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        note(t, TUI_LOG_ERR, "%s: cannot open: %s", path, strerror(errno));
        return;
    }
    cmd_ctx sc = t->ctx;
    sc.file = path;
    sc.origin = "script";
    sc.wait = 1;  /* a script's lines run in order: predict after train */
    note(t, TUI_LOG_INFO, "running %s", path);
    tui_view_flush(t);
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, errors = 0;
    while (getline(&line, &cap, f) != -1) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        sc.line = lineno;
        cmd_status st = cmd_run_line(&sc, line, 0);
        if (st == CMD_ERROR)
            errors++;
        drain_events(t);
        t->dirty |= TUI_D_ALL;
        tui_view_flush(t);
        if (st == CMD_QUIT) {
            t->quit = 1;
            break;
        }
    }
    if (ferror(f))
        note(t, TUI_LOG_ERR, "%s:%d: read error: %s", path, lineno + 1, strerror(errno));
    free(line);
    fclose(f);
    note(t, errors ? TUI_LOG_ERR : TUI_LOG_INFO, "%s: %d lines, %d failed", path, lineno,
         errors);
}

/* ---- input and resize ---------------------------------------------------------------------- */

static void resize(tui_state *t)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_row < 1 || ws.ws_col < 1)
        return;
    tui_view_destroy(t);
    resizeterm(ws.ws_row, ws.ws_col);
    tui_view_layout(t);
    tui_rl_resize(t);
    clearok(curscr, TRUE);
    t->dirty = TUI_D_ALL;
}

static void read_signals(tui_state *t)
{
    unsigned char buf[64];
    ssize_t n;
    int winch = 0;
    while ((n = read(sig_pipe[0], buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == SIGWINCH)
                winch = 1;
            else
                t->quit = 1;
        }
    }
    if (winch && !t->quit)
        resize(t);
}

/* Whether another byte is waiting (the rest of an escape sequence arrives with it). */
static int more_input(void)
{
    struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
    return poll(&p, 1, 5) > 0 && (p.revents & POLLIN);
}

/* Returns how many bytes were read. */
static int read_keys(tui_state *t)
{
    int got = 0;
    while (!t->quit && t->w_prompt) {
        int ch = wgetch(t->w_prompt);
        if (ch == ERR)
            break;
        got++;
        if (ch > 0xff)  /* KEY_RESIZE, pushed back by resizeterm: we resize on SIGWINCH */
            continue;
        if (t->help_open) {  /* any key closes the help, and the rest of its sequence goes */
            tui_view_help(t, 0);
            while (wgetch(t->w_prompt) != ERR) {
            }
            break;
        }
        if (ch == 0x1b && t->zoom >= 0 && !more_input()) {  /* a lone Esc un-zooms */
            tui_view_zoom(t, 0);
            continue;
        }
        if (t->prompt_open)
            tui_rl_feed(t, ch);
    }
    return got;
}

static void loop(tui_state *t)
{
    ev_queue *q = eng_events(t->eng);
    double last_draw = 0, last_tick = tui_now();
    int empty_reads = 0;
    while (!t->quit) {
        double now = tui_now();
        int scheduled = sched_count(eng_sched(t->eng)) > 0;
        int moving = t->active_jobs > 0 || cli_server(t->cli) != NULL || t->server.serving ||
                     scheduled || t->next_load >= 0;
        if (moving && now - last_tick >= TICK_MS / 1000.0) {
            last_tick = now;
            if (t->active_jobs > 0)
                t->dirty |= TUI_D_JOBS;
            if (tui_view_sample_server(t, now))
                t->dirty |= TUI_D_SERVER;
            int next = tui_view_next_load(t, NULL);
            if (next != t->next_load) {
                t->next_load = next;
                t->dirty |= TUI_D_DATA;
            }
        }
        int timeout = moving ? TICK_MS : -1;
        if (t->dirty) {
            double wait = last_draw + REDRAW_INTERVAL - now;
            if (wait <= 0) {
                tui_view_flush(t);
                last_draw = now;
            } else {
                int ms = (int)(wait * 1000) + 1;
                if (timeout < 0 || ms < timeout)
                    timeout = ms;
            }
        }
        struct pollfd fds[3] = {
            {.fd = STDIN_FILENO, .events = POLLIN},
            {.fd = ev_fd(q), .events = POLLIN},
            {.fd = sig_pipe[0], .events = POLLIN},
        };
        int r = poll(fds, 3, timeout);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (r == 0)
            continue;
        if (fds[2].revents & POLLIN)
            read_signals(t);
        if (fds[1].revents & POLLIN)
            drain_events(t);
        if (fds[0].revents & POLLIN) {
            /* readable but nothing to read, again and again: the terminal is gone */
            if (read_keys(t) == 0) {
                if (++empty_reads > 100)
                    t->quit = 1;
            } else {
                empty_reads = 0;
            }
        } else if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
            t->quit = 1;
        }
    }
}

/* ---- tui_run ------------------------------------------------------------------------------ */

int tui_run(cli *c, const tui_opts *o)
{
    static const tui_opts no_opts = {NULL, 0};
    if (!o)
        o = &no_opts;
    tui_state t;
    memset(&t, 0, sizeof t);
    t.cli = c;
    t.eng = cli_engine(c);
    t.opts = o;
    t.ascii = o->ascii;
    const char *cs = nl_langinfo(CODESET);
    t.utf8 = cs && strcmp(cs, "UTF-8") == 0;
    tui_text_ascii(t.ascii || !t.utf8);
    t.ctx.cli = c;
    t.ctx.sink.result = sink_result;
    t.ctx.sink.error = sink_error;
    t.ctx.sink.ud = &t;
    t.ctx.json = 0;
    t.ctx.wait = 0;
    t.ctx.file = NULL;
    t.ctx.line = 0;
    t.ctx.origin = "prompt";
    t.focus = TUI_P_LOG;
    t.zoom = -1;
    t.next_load = -1;
    t.versions_stale = 1;
    if (tui_log_init(&t.log, TUI_LOG_LINES) != 0) {
        fprintf(stderr, "mlwb: out of memory\n");
        return 1;
    }
    /* Our handlers go in before newterm, so ncurses leaves SIGWINCH/SIGINT/SIGTERM to us. */
    if (signals_install() != 0) {
        fprintf(stderr, "mlwb: pipe: %s\n", strerror(errno));
        tui_log_free(&t.log);
        return 1;
    }
    t.screen = newterm(NULL, stdout, stdin);
    if (!t.screen) {
        const char *term = getenv("TERM");
        signals_restore();
        tui_log_free(&t.log);
        fprintf(stderr, "mlwb: cannot use the terminal (TERM=%s); try --no-tui\n",
                term ? term : "");
        return 1;
    }
    set_term(t.screen);
    raw();
    noecho();
    nonl();
    curs_set(1);
    tui_view_colors(&t);
    tui_view_layout(&t);
    tui_rl_init(&t);

    note(&t, TUI_LOG_INFO, "mlwb %s  -  type a command (help lists them), F1 for keys",
         MLWB_VERSION);
    t.dirty = TUI_D_ALL;
    tui_view_flush(&t);

    if (o->startup_script)
        run_script(&t, o->startup_script);
    if (!t.quit) {
        tui_rl_open(&t);
        t.dirty = TUI_D_ALL;
        loop(&t);
    }

    tui_rl_close(&t);
    tui_rl_done(&t);
    tui_view_destroy(&t);
    endwin();
    delscreen(t.screen);
    signals_restore();
    if (t.data)
        ds_release(&t.data);
    free(t.class_counts);
    tui_graph_free(&t);
    tui_log_free(&t.log);
    return 0;
}
