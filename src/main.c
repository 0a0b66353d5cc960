/*
 * main.c — the mlwb program: options, the front end to run, signals, exit status.
 *
 * Front ends: the TUI (a terminal and no script), a script (-f FILE, -c CMDS, or
 * commands on stdin when it is not a terminal), or a plain readline prompt
 * (--no-tui on a terminal).  All of them run commands through the same interpreter.
 *
 * Signals: SIGINT and SIGTERM are blocked in every thread and taken by one signal
 * thread (sigwait), which asks running jobs to stop and wakes the main thread through
 * a pipe.  A script that started the listener keeps serving after its last line until
 * such a signal or `quit` (so does a script that added a schedule, reporting what each
 * scheduled run did); then the listener finishes the requests in flight, the
 * prediction log is flushed and mlwb exits 0.
 *
 * Exit status: 0 when every command succeeded, 1 when one failed, 2 on a usage error.
 */
#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "mlwb/cli/cmd.h"
#include "mlwb/core/parfor.h"
#include "mlwb/tui/tui.h"

#ifndef MLWB_VERSION
#define MLWB_VERSION "0.0.0"
#endif

static const char usage_text[] =
    "usage: mlwb [options] [-f FILE | -c COMMANDS]\n"
    "       mlwb serve --listen [ADDR:]PORT [--token-file F] [--insecure] [--db PATH]\n"
    "       mlwb load SOURCE ... [--every DURATION] [--db PATH]\n"
    "       mlwb train knn|kmeans ... [--every DURATION] [--db PATH]\n"
    "       (each role also takes --set NAME=VALUE, repeated: settings for the process)\n"
    "\n"
    "A terminal workbench for a small ML application: load data, train KNN and k-means\n"
    "models, serve predictions over HTTP.  With no script on a terminal, opens the full-screen\n"
    "workbench; otherwise runs commands from -f FILE, -c COMMANDS or standard input.\n"
    "\n"
    "options:\n"
    "  -f FILE        run the commands in FILE (with --tui: run it, then open the TUI)\n"
    "  -c COMMANDS    run COMMANDS (';' or newlines separate them; -c may repeat)\n"
    "  --db PATH      the store (default ./mlwb.db; read-only when it may not be written)\n"
    "  --json         print each result as one JSON object per line (errors on stderr)\n"
    "  --bail         stop at the first failing command (exit 1)\n"
    "  --no-tui       never open the full-screen workbench (a plain prompt on a terminal)\n"
    "  --tui          open the workbench even with -f (which runs first)\n"
    "  --ascii        draw the workbench with ASCII characters only\n"
    "  --threads N    compute threads (default: the number of cores)\n"
    "  --version      print the version and exit\n"
    "  --help         print this help and exit\n"
    "\n"
    "Inside, 'help' lists the commands and 'help COMMAND' explains one.\n"
    "\n"
    "Headless roles (containers, schedulers; several processes may share one store):\n"
    "  serve   serve the store's active model, and follow it when another process\n"
    "          publishes or rolls back (checked twice a second); until SIGTERM\n"
    "  load    load once and exit 0 (1 on failure, the reason on stderr), or with\n"
    "          --every load on a schedule until SIGTERM\n"
    "  train   the same for a training ('mlwb train knn k=auto --every 1h')\n"
    "Exit status: 0 all commands succeeded, 1 a command failed, 2 a usage error.\n"
    "Documentation: mlwb(1), docs/commands.md, docs/http-api.md.\n";

static int stop_pipe[2] = {-1, -1};
static atomic_int stop_requested;
static engine *_Atomic signal_engine;

static atomic_int exiting;
static pthread_t sig_thread;
static atomic_int have_sig_thread;

/* A signal can still land on a thread that a library started with its own mask (the
 * sanitizers' threads, say): pass it on to the signal thread instead of dying. */
static void forward_signal(int sig)
{
    if (atomic_load(&have_sig_thread))
        pthread_kill(sig_thread, sig);
}

static void *signal_main(void *arg)
{
    sigset_t *set = arg;
    for (;;) {
        int sig = 0;
        if (sigwait(set, &sig) != 0)
            continue;
        if (sig == SIGUSR1) {  /* main is leaving: so is this thread */
            if (atomic_load(&exiting))
                return NULL;
            continue;
        }
        atomic_store(&stop_requested, sig);
        engine *e = atomic_load(&signal_engine);
        if (e) {  /* ask running jobs to stop */
            size_t n = 0;
            job **list = job_list(eng_jobs(e), &n);
            for (size_t i = 0; i < n; i++)
                job_cancel(eng_jobs(e), job_id(list[i]));
            job_list_free(list, n);
        }
        char b = 1;
        ssize_t w = write(stop_pipe[1], &b, 1);
        (void)w;
    }
    return NULL;
}

/* --- sinks for scripts and the plain prompt ------------------------------------- */

static void print_result(void *ud, const char *text)
{
    fputs(text, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

static void print_error(void *ud, const char *text)
{
    fflush(stdout);
    fputs(text, stderr);
    fputc('\n', stderr);
    fflush(stderr);
}

typedef struct opts {
    const char *file, *commands, *db;
    int json, bail, no_tui, tui, ascii, threads;
    int follow;          /* headless roles: what to follow in the store (EF_*) */
    char *role_line;     /* the command a headless role runs, or several -c joined
                            (malloc'd) */
} opts;

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mlwb: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'mlwb --help'.\n");
    va_end(ap);
    return 2;
}

static int parse_args(int argc, char **argv, opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-f") == 0 || strcmp(a, "-c") == 0 || strcmp(a, "--db") == 0 ||
            strcmp(a, "--threads") == 0) {
            if (!next)
                return usage_error("option '%s' needs an argument", a);
            if (a[1] == 'f')
                o->file = next;
            else if (a[1] == 'c' && !o->commands)
                o->commands = next;
            else if (a[1] == 'c') {  /* -c A -c B runs A, then B */
                size_t la = strlen(o->commands), lb = strlen(next);
                char *j = malloc(la + lb + 2);
                if (!j)
                    return usage_error("%s", "out of memory");
                memcpy(j, o->commands, la);
                j[la] = '\n';
                memcpy(j + la + 1, next, lb + 1);
                free(o->role_line);
                o->role_line = j;
                o->commands = j;
            }
            else if (strcmp(a, "--db") == 0)
                o->db = next;
            else {
                char *end;
                long n = strtol(next, &end, 10);
                if (*end || n < 1 || n > 256)
                    return usage_error("--threads '%s': expected a number from 1 to 256", next);
                o->threads = (int)n;
            }
            i++;
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--bail") == 0) {
            o->bail = 1;
        } else if (strcmp(a, "--no-tui") == 0) {
            o->no_tui = 1;
        } else if (strcmp(a, "--tui") == 0) {
            o->tui = 1;
        } else if (strcmp(a, "--ascii") == 0) {
            o->ascii = 1;
        } else if (strcmp(a, "--version") == 0) {
            printf("mlwb %s\n", MLWB_VERSION);
            exit(0);
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            exit(0);
        } else if (strcmp(a, "serve") == 0 || strcmp(a, "load") == 0 ||
                   strcmp(a, "train") == 0) {
            return usage_error("'%s' is a role: give it first, then its options "
                               "(mlwb %s ... --db PATH)", a, a);
        } else if (a[0] != '-') {
            return usage_error("unexpected '%s' (commands go in -c \"...\" or -f FILE)", a);
        } else {
            return usage_error("unknown option '%s'", a);
        }
    }
    if (o->file && o->commands)
        return usage_error("%s", "-f and -c cannot be used together");
    if (o->tui && o->no_tui)
        return usage_error("%s", "--tui and --no-tui cannot be used together");
    if (o->tui && o->commands)
        return usage_error("%s", "--tui runs a script with -f FILE, not -c");
    return 0;
}

/* --- headless roles: mlwb serve | load | train ------------------------------------- */

/* Append to line a space (unless it is empty), then key= when key is not NULL, then w,
 * quoted when the lexer would read it otherwise: "token-file=/a b" as one quoted word
 * would be a positional argument, token-file="/a b" is the option. */
static int add_kv(char *line, size_t cap, size_t *o, const char *key, const char *w)
{
    int plain = *w && !strpbrk(w, " \t\r\n;#\"'\\");
    size_t need = (key ? strlen(key) + 1 : 0) + strlen(w) * 2 + 4;
    if (*o + need >= cap)
        return -1;
    if (*o)
        line[(*o)++] = ' ';
    if (key)
        *o += (size_t)snprintf(line + *o, cap - *o, "%s=", key);
    if (plain) {
        *o += (size_t)snprintf(line + *o, cap - *o, "%s", w);
        return 0;
    }
    line[(*o)++] = '"';
    for (const char *p = w; *p; p++) {
        if (*p == '"' || *p == '\\')
            line[(*o)++] = '\\';
        line[(*o)++] = *p;
    }
    line[(*o)++] = '"';
    line[*o] = 0;
    return 0;
}

static int add_word(char *line, size_t cap, size_t *o, const char *w)
{
    return add_kv(line, cap, o, NULL, w);
}

/* Append a word of a role's command: NAME=VALUE stays an option (the value quoted
 * when it needs it), anything else is one word. */
static int add_arg(char *line, size_t cap, size_t *o, const char *w)
{
    size_t k = strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
    char key[64];
    if (k == 0 || k >= sizeof key || w[k] != '=')
        return add_word(line, cap, o, w);
    memcpy(key, w, k);
    key[k] = 0;
    return add_kv(line, cap, o, key, w + k + 1);
}

/* `mlwb serve|load|train ...`: the options of the role (--db, --json, --threads, --set;
 * --listen, --token-file, --insecure for serve; --every for load and train) and the
 * command it runs, built from the other words; --set NAME=VALUE ... becomes a 'set'
 * command before it. */
static int parse_role(int argc, char **argv, opts *o)
{
    const char *role = argv[1], *every = NULL, *listen = NULL, *tfile = NULL;
    int insecure = 0, rc = 2, nset = 0;
    size_t cap = 65536, n = 0, ns = 0;
    char *line = malloc(cap), *sets = malloc(cap);
    if (!line || !sets) {
        free(line);
        free(sets);
        return usage_error("%s", "out of memory");
    }
    line[0] = sets[0] = 0;
    add_word(sets, cap, &ns, "set");
    int serve = strcmp(role, "serve") == 0, words = 0;
    if (!serve)
        add_word(line, cap, &n, role);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = strcmp(a, "--db") == 0 || strcmp(a, "--threads") == 0 ||
                    strcmp(a, "--every") == 0 || strcmp(a, "--listen") == 0 ||
                    strcmp(a, "--token-file") == 0 || strcmp(a, "--set") == 0;
        if (takes && !next) {
            usage_error("option '%s' needs an argument", a);
            goto out;
        }
        if (strcmp(a, "--db") == 0) {
            o->db = next;
        } else if (strcmp(a, "--threads") == 0) {
            char *end;
            long t = strtol(next, &end, 10);
            if (*end || t < 1 || t > 256) {
                usage_error("--threads '%s': expected a number from 1 to 256", next);
                goto out;
            }
            o->threads = (int)t;
        } else if (strcmp(a, "--set") == 0) {
            const char *eq = strchr(next, '=');
            if (!eq || eq == next) {
                usage_error("--set '%s': expected NAME=VALUE (mlwb -c settings lists them)",
                            next);
                goto out;
            }
            if (add_arg(sets, cap, &ns, next) != 0) {
                usage_error("%s", "the settings are too long");
                goto out;
            }
            nset++;
        } else if (strcmp(a, "--every") == 0 && !serve) {
            every = next;
        } else if (strcmp(a, "--listen") == 0 && serve) {
            listen = next;
        } else if (strcmp(a, "--token-file") == 0 && serve) {
            tfile = next;
        } else if (strcmp(a, "--insecure") == 0 && serve) {
            insecure = 1;
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strncmp(a, "--", 2) == 0) {
            usage_error("mlwb %s: unknown option '%s'", role, a);
            goto out;
        } else if (serve) {
            usage_error("mlwb serve: unexpected '%s' (give --listen [ADDR:]PORT)", a);
            goto out;
        } else if (add_arg(line, cap, &n, a) != 0) {
            usage_error("%s", "the command is too long");
            goto out;
        } else {
            words++;
        }
        if (takes)
            i++;
    }
    if (serve) {
        if (!listen) {
            usage_error("%s", "mlwb serve needs --listen [ADDR:]PORT");
            goto out;
        }
        if (add_word(line, cap, &n, "serve") || add_word(line, cap, &n, listen) ||
            (tfile && add_kv(line, cap, &n, "token-file", tfile)) ||
            (insecure && add_word(line, cap, &n, "insecure"))) {
            usage_error("%s", "the command is too long");
            goto out;
        }
        o->follow = EF_MODEL;
    } else if (!words) {
        usage_error("mlwb %s needs what to %s, e.g. 'mlwb %s'", role, role,
                    strcmp(role, "load") == 0 ? "load csv data.csv" : "train knn k=auto");
        goto out;
    } else if (every) {
        if (strcmp(role, "train") == 0)  /* train what the loaders load */
            o->follow = EF_DATA | EF_MODEL;
        if (add_kv(line, cap, &n, "every", every) != 0) {
            usage_error("%s", "the command is too long");
            goto out;
        }
    }
    if (nset) {  /* the settings first, then the role's command */
        if (ns + n + 3 >= cap) {
            usage_error("%s", "the command is too long");
            goto out;
        }
        memcpy(sets + ns, "\n", 2);
        memcpy(sets + ns + 1, line, n + 1);
        free(line);
        line = sets;
        sets = NULL;
    }
    o->role_line = line;
    o->commands = line;
    o->no_tui = 1;
    o->bail = 1;
    line = NULL;
    rc = 0;
out:
    free(line);
    free(sets);
    return rc;
}

/* Report what background work did since the last look: the results of jobs not yet
 * reported (those that schedules started: a script's own jobs were reported when it
 * waited for them) and log lines.  Runs on the main thread. */
static void report_events(cmd_ctx *c)
{
    engine *e = cli_engine(c->cli);
    ev evs[64];
    size_t n;
    const char *file = c->file;
    c->file = NULL;  /* not a line of the script */
    while ((n = ev_drain(eng_events(e), evs, 64)) > 0) {
        for (size_t i = 0; i < n; i++) {
            if (evs[i].kind == EV_JOB_DONE) {
                job *j = job_get(eng_jobs(e), evs[i].job_id);
                if (j)
                    cmd_report_job(c, j);
                job_release(&j);
            } else if (evs[i].kind == EV_LOG && evs[i].text) {
                c->sink.error(c->sink.ud, evs[i].text);
            } else if (evs[i].kind == EV_COMMAND) {  /* every DURATION COMMAND */
                cmd_run_scheduled(c, evs[i].version, evs[i].text);
            }
            ev_clear(&evs[i]);
        }
    }
    c->file = file;
}

/* A line reader over a file descriptor that also wakes on a stop request, so a
 * script on a pipe that sends nothing more still notices SIGINT/SIGTERM at once. */
typedef struct fd_reader {
    int fd;
    char buf[65536];
    size_t start, end;
    int eof;
} fd_reader;

static ssize_t read_line_fd(fd_reader *r, char **line, size_t *cap)
{
    size_t n = 0;
    for (;;) {
        char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
        size_t take = nl ? (size_t)(nl - (r->buf + r->start)) + 1 : r->end - r->start;
        if (n + take + 1 > *cap) {
            size_t nc = (n + take + 1) * 2;
            char *p = realloc(*line, nc);
            if (!p)
                return -1;
            *line = p;
            *cap = nc;
        }
        memcpy(*line + n, r->buf + r->start, take);
        n += take;
        r->start += take;
        (*line)[n] = 0;
        if (nl)
            return (ssize_t)n;
        if (r->eof)
            return n ? (ssize_t)n : -1;
        r->start = r->end = 0;
        struct pollfd p[2] = {{r->fd, POLLIN, 0}, {stop_pipe[0], POLLIN, 0}};
        while (poll(p, 2, -1) < 0 && errno == EINTR)
            ;
        if (atomic_load(&stop_requested))
            return -1;
        ssize_t got = read(r->fd, r->buf, sizeof r->buf);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got <= 0)
            r->eof = 1;
        else
            r->end = (size_t)got;
    }
}

/* Run a script from a stream; returns CMD_QUIT, CMD_ERROR or CMD_OK. */
static cmd_status run_stream(cmd_ctx *c, FILE *f, int bail)
{
    char *line = NULL;
    size_t cap = 0;
    cmd_status worst = CMD_OK;
    fd_reader *fr = NULL;
    if (f == stdin && (fr = calloc(1, sizeof *fr)) != NULL)
        fr->fd = STDIN_FILENO;
    c->line = 0;
    while ((fr ? read_line_fd(fr, &line, &cap) : getline(&line, &cap, f)) >= 0) {
        c->line++;
        if (atomic_load(&stop_requested))
            break;
        report_events(c);
        cmd_status st = cmd_run_line(c, line, bail);
        if (st == CMD_QUIT) {
            worst = worst == CMD_ERROR ? CMD_ERROR : CMD_QUIT;
            break;
        }
        if (st == CMD_ERROR) {
            worst = CMD_ERROR;
            if (bail)
                break;
        }
    }
    free(line);
    free(fr);
    return worst;
}

static cmd_status run_commands(cmd_ctx *c, const char *text, int bail)
{
    FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
    if (!f) {
        return cmd_error(c, "cannot read -c commands: %s", strerror(errno));
    }
    cmd_status st = run_stream(c, f, bail);
    fclose(f);
    return st;
}

static cmd_status run_prompt(cmd_ctx *c, int bail)
{
    cmd_status worst = CMD_OK;
    char *line;
    while (!atomic_load(&stop_requested) && (line = readline("mlwb> ")) != NULL) {
        if (*line)
            add_history(line);
        cmd_status st = cmd_run_line(c, line, bail);
        free(line);
        if (st == CMD_QUIT)
            break;
        if (st == CMD_ERROR)
            worst = CMD_ERROR;
    }
    return worst;
}

/* Keep serving (and running schedules, reporting their results) until a signal. */
static void wait_for_stop(cmd_ctx *c)
{
    struct pollfd p[2] = {{stop_pipe[0], POLLIN, 0},
                          {ev_fd(eng_events(cli_engine(c->cli))), POLLIN, 0}};
    while (!atomic_load(&stop_requested)) {
        report_events(c);
        int r = poll(p, 2, -1);
        if (r < 0 && errno != EINTR)
            break;
    }
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");         /* the terminal's character set for the TUI */
    setlocale(LC_NUMERIC, "C");    /* numbers are read and written the C way, always */
    opts o = {0};
    int role = argc >= 2 && (strcmp(argv[1], "serve") == 0 || strcmp(argv[1], "load") == 0 ||
                             strcmp(argv[1], "train") == 0);
    int rc = role ? parse_role(argc, argv, &o) : parse_args(argc, argv, &o);
    if (rc)
        return rc;
    if (!o.db)
        o.db = "mlwb.db";

    int interactive = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    int use_tui = o.tui || (interactive && !o.file && !o.commands && !o.no_tui);
    FILE *script = NULL;
    if (o.file && !(script = fopen(o.file, "r"))) {
        fprintf(stderr, "mlwb: %s: cannot open: %s\n", o.file, strerror(errno));
        return 2;
    }
    if (use_tui && !interactive) {
        fprintf(stderr, "mlwb: --tui needs a terminal on standard input and output\n");
        if (script)
            fclose(script);
        return 2;
    }

    /* Signals go to one thread; every thread started from here inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    if (!use_tui) {
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = forward_signal;
        sigfillset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);  /* a file-size limit fails the write (EFBIG), not mlwb */
    if (pipe(stop_pipe) != 0) {
        perror("mlwb: pipe");
        return 1;
    }

    eng_config cfg = {.db_path = o.db, .threads = o.threads};
    engine *e = NULL;
    char *err = NULL;
    if (eng_open(&cfg, &e, &err) != MLWB_OK) {
        fprintf(stderr, "mlwb: %s\n", err ? err : "cannot open the store");
        free(err);
        if (script)
            fclose(script);
        return 1;
    }
    if (o.follow && eng_follow_store(e, o.follow, 500, &err) != MLWB_OK) {
        fprintf(stderr, "mlwb: %s\n", err);
        free(err);
        eng_close(&e);
        free(o.role_line);
        return 1;
    }
    atomic_store(&signal_engine, e);
    if (!use_tui && pthread_create(&sig_thread, NULL, signal_main, &set) == 0)
        atomic_store(&have_sig_thread, 1);
    cli *c = cli_new(e);

    cmd_ctx ctx = {.cli = c, .sink = {print_result, print_error, NULL}, .json = o.json,
                   .wait = 1, .origin = "script"};
    /* a progress line for long jobs, on a terminal only and never in --json mode */
    if (!o.json && isatty(STDERR_FILENO) && getenv("TERM") && strcmp(getenv("TERM"), "dumb") != 0)
        ctx.progress = stderr;
    cmd_status st = CMD_OK;
    if (use_tui) {
        tui_opts to = {.startup_script = o.file, .ascii = o.ascii};
        if (script)
            fclose(script);
        script = NULL;
        rc = tui_run(c, &to);
    } else {
        if (o.commands) {
            st = run_commands(&ctx, o.commands, o.bail);
        } else if (script) {
            ctx.file = o.file;
            st = run_stream(&ctx, script, o.bail);
        } else if (!isatty(STDIN_FILENO)) {
            ctx.file = "<stdin>";
            st = run_stream(&ctx, stdin, o.bail);
        } else {
            ctx.origin = "prompt";
            st = run_prompt(&ctx, o.bail);
        }
        if (st != CMD_QUIT && !atomic_load(&stop_requested) && cli_keep_running(c))
            wait_for_stop(&ctx);
        rc = st == CMD_ERROR ? 1 : 0;
        if (atomic_load(&stop_requested) == SIGINT && !cli_keep_running(c))
            rc = 130;
    }
    if (script)
        fclose(script);
    if (atomic_load(&have_sig_thread)) {  /* before the engine goes: the thread uses it */
        atomic_store(&have_sig_thread, 0);  /* late signals are dropped from here on */
        atomic_store(&exiting, 1);
        pthread_kill(sig_thread, SIGUSR1);
        pthread_join(sig_thread, NULL);
    }
    atomic_store(&signal_engine, NULL);
    cli_free(&c);   /* stops the listener: in-flight requests finish */
    eng_close(&e);  /* joins the workers, flushes the prediction log */
    free(o.role_line);
    return rc;
}
