/*
 * cmd_misc.c — serve, jobs, wait, cancel, help, quit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd_int.h"

/* "http://127.0.0.1:8000" or "http://[::1]:8000" */
static void server_url(http_server *h, char *buf, size_t n)
{
    const char *addr = http_addr(h);
    if (strchr(addr, ':'))
        snprintf(buf, n, "http://[%s]:%d", addr, http_port(h));
    else
        snprintf(buf, n, "http://%s:%d", addr, http_port(h));
}

static cmd_status serve_exec(cmd_ctx *c, const cmd_args *a)
{
    char url[128];
    cli *s = c->cli;
    if (a->npos == 1 && strcmp(a->pos[0], "stop") == 0) {
        if (!s->http)
            return cmd_error(c, "not serving");
        http_stop(&s->http);
        cmd_result(c, json_pack("{sb}", "serving", 0), "listener stopped");
        return CMD_OK;
    }
    if (a->npos == 0) {
        if (!s->http) {
            cmd_result(c, json_pack("{sb}", "serving", 0), "not serving");
            return CMD_OK;
        }
        http_stats hs;
        http_get_stats(s->http, &hs);
        server_url(s->http, url, sizeof url);
        cmd_result(c, json_pack("{sb ss si ss sI sI}", "serving", 1, "address", http_addr(s->http),
                                "port", http_port(s->http), "url", url, "requests",
                                (json_int_t)hs.requests, "errors", (json_int_t)hs.errors),
                   "serving on %s (%llu requests, %llu errors)", url,
                   (unsigned long long)hs.requests, (unsigned long long)hs.errors);
        return CMD_OK;
    }
    if (s->http)
        return cmd_error(c, "already serving on %s:%d ('serve stop' first)", http_addr(s->http),
                         http_port(s->http));
    int insecure = 0;
    if (a->npos == 2 && strcmp(a->pos[1], "insecure") == 0)
        insecure = 1;
    else if (a->npos == 2)
        return cmd_error(c, "'%s': expected 'insecure' or nothing after the address", a->pos[1]);
    http_opts o = {0};
    char *addr = NULL, *err = NULL, token[512] = "";
    /* the token: token=, token-file=, or the MLWB_TOKEN environment variable */
    const char *tok = cmd_opt(a, "token"), *tfile = cmd_opt(a, "token-file");
    if (tok && tfile)
        return cmd_error(c, "give token= or token-file=, not both");
    if (tfile) {
        FILE *f = fopen(tfile, "r");
        if (!f)
            return cmd_error(c, "token-file=%s: cannot read: %s", tfile, strerror(errno));
        if (!fgets(token, sizeof token, f))
            token[0] = 0;
        fclose(f);
        token[strcspn(token, "\r\n")] = 0;
        if (!token[0])
            return cmd_error(c, "token-file=%s: the first line is empty", tfile);
        tok = token;
    } else if (!tok && getenv("MLWB_TOKEN") && *getenv("MLWB_TOKEN")) {
        tok = getenv("MLWB_TOKEN");
    }
    if (tok && (strlen(tok) < 8 || strpbrk(tok, " \t\r\n")))
        return cmd_error(c, "the token must be at least 8 characters without blanks");
    if (http_parse_listen(a->pos[0], &addr, &o.port, &err) != MLWB_OK) {
        return cmd_fail(c, err);
    }
    int loopback = http_addr_is_loopback(addr);
    if (!loopback && !tok && !insecure) {
        cmd_status st = cmd_error(c, "%s is reachable from other machines: give a token (token=T, "
                                     "token-file=PATH or MLWB_TOKEN), or say 'insecure'", addr);
        free(addr);
        return st;
    }
    eng_serve_limits lim;
    eng_get_serve_limits(s->eng, &lim);
    o.addr = addr;
    o.token = tok;
    o.max_body = lim.max_body;
    o.max_instances = lim.max_instances;
    o.connections = lim.connections;
    o.per_ip = lim.per_ip;
    o.timeout_s = lim.timeout_s;
    o.header_size = lim.header_size;
    o.threads = lim.threads;
    mlwb_status rc = http_start(s->eng, &o, &s->http, &err);
    free(addr);
    if (rc != MLWB_OK) {
        return cmd_fail(c, err);
    }
    server_url(s->http, url, sizeof url);
    cmd_result(c, json_pack("{sb ss si ss sb}", "serving", 1, "address", http_addr(s->http),
                            "port", http_port(s->http), "url", url, "token", tok != NULL),
               "serving on %s%s", url,
               tok ? " (predict, feedback and infer need the bearer token)"
                   : loopback ? "" : " WITHOUT a token (insecure)");
    return CMD_OK;
}

const cmd_entry cmd_serve_entry = {
    "serve", "serve [ADDR:]PORT [token=T|token-file=PATH] [insecure] | serve stop | serve",
    "start or stop the HTTP listener",
    "serve [ADDR:]PORT [token=T|token-file=PATH] [insecure]\n"
    "    Listen for HTTP requests (default address 127.0.0.1; PORT 0 picks a free port):\n"
    "    /v1/predict, /predict?prompt=, /v1/feedback, /v1/models, /v1/quality, /metrics,\n"
    "    /healthz, /readyz, /openapi.json, /docs, and the KServe v2 routes under /v2\n"
    "    (see docs/http-api.md, or GET /docs).  With a token (token=, the first line of\n"
    "    token-file=, or the MLWB_TOKEN environment variable) predict, feedback and infer\n"
    "    need 'Authorization: Bearer T'.  An address other machines can reach needs a\n"
    "    token, or the word 'insecure'.  The limits are settings (http-max-body, ...).\n"
    "    A script that starts the listener keeps serving after its last line until quit,\n"
    "    SIGINT or SIGTERM.\n"
    "serve stop\n    Finish the requests in flight and stop listening.\n"
    "serve\n    Show the listener's address and counters.",
    0, 2, "token,token-file", serve_exec};

/* "08:12:03" (local time) or "-" for 0. */
static const char *clock_hms(double t, char *buf, size_t n)
{
    if (t <= 0) {
        snprintf(buf, n, "-");
        return buf;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    strftime(buf, n, "%H:%M:%S", &tm);
    return buf;
}

static cmd_status jobs_exec(cmd_ctx *c, const cmd_args *a)
{
    size_t n = 0;
    job **list = job_list(eng_jobs(c->cli->eng), &n);
    if (!c->json)
        cmd_result(c, NULL, n ? "  id  state     done  started   took    what"
                              : "no jobs yet");
    for (size_t i = 0; i < n; i++) {
        char phase[64], st[16], took[72];
        double f = job_progress(list[i], phase, sizeof phase);
        double tq, ts, te;
        job_times(list[i], &tq, &ts, &te);
        job_state s = job_get_state(list[i]);
        json_t *o = json_pack("{sI ss ss ss sf ss}", "id", (json_int_t)job_id(list[i]), "kind",
                              job_kind(list[i]), "desc", job_desc(list[i]), "state",
                              job_state_name(s), "progress", f, "phase", phase);
        json_object_set_new(o, "queued_at", json_real(tq));
        json_object_set_new(o, "started_at", ts > 0 ? json_real(ts) : json_null());
        json_object_set_new(o, "ended_at", te > 0 ? json_real(te) : json_null());
        if (s == JOB_FAILED)
            json_object_set_new(o, "error", json_string(job_error(list[i])));
        if (ts > 0 && te > 0)
            snprintf(took, sizeof took, "%.2fs", te - ts);
        else if (ts > 0)
            snprintf(took, sizeof took, "%.40s", phase[0] ? phase : "running");
        else
            snprintf(took, sizeof took, "-");
        cmd_result(c, o, "%4lld  %-9s %3.0f%%  %-8s  %-7s %s%s%s", (long long)job_id(list[i]),
                   job_state_name(s), f * 100, clock_hms(ts, st, sizeof st), took,
                   job_desc(list[i]), s == JOB_FAILED ? ": " : "",
                   s == JOB_FAILED ? job_error(list[i]) : "");
    }
    job_list_free(list, n);
    return CMD_OK;
}

const cmd_entry cmd_jobs_entry = {
    "jobs", "jobs", "list background jobs",
    "jobs\n    Every job of this session: id, state (queued, running, done, failed,\n"
    "    cancelled), progress, when it started and how long it took (or its phase while\n"
    "    it runs), what it does, and a failed job's reason.", 0, 0, NULL,
    jobs_exec};

static cmd_status wait_exec(cmd_ctx *c, const cmd_args *a)
{
    job_wait_all(eng_jobs(c->cli->eng));
    return CMD_OK;
}

const cmd_entry cmd_wait_entry = {
    "wait", "wait", "wait until the running jobs are done",
    "wait\n    Block until no job is queued or running.", 0, 0, NULL, wait_exec};

static cmd_status cancel_exec(cmd_ctx *c, const cmd_args *a)
{
    long id;
    if (cmd_parse_long(a->pos[0], &id) != 0 || id < 1)
        return cmd_error(c, "'%s' is not a job id (see 'jobs')", a->pos[0]);
    job *j = job_get(eng_jobs(c->cli->eng), id);
    if (!j)
        return cmd_error(c, "no job %ld", id);
    job_release(&j);
    if (!job_cancel(eng_jobs(c->cli->eng), id))
        return cmd_error(c, "job %ld has already finished", id);
    cmd_result(c, json_pack("{sI sb}", "job", (json_int_t)id, "cancelled", 1),
               "job %ld: cancel requested", id);
    return CMD_OK;
}

const cmd_entry cmd_cancel_entry = {
    "cancel", "cancel ID", "cancel a queued or running job",
    "cancel ID\n    Ask job ID to stop at its next check point.", 1, 1, NULL, cancel_exec};

static cmd_status help_exec(cmd_ctx *c, const cmd_args *a)
{
    if (a->npos == 1) {
        char *err = NULL;
        const cmd_entry *e = cmd_lookup(a->pos[0], &err);
        if (!e) {
            return cmd_fail(c, err);
        }
        cmd_result(c, json_pack("{ss ss ss ss}", "command", e->name, "usage", e->usage,
                                "summary", e->summary, "help", e->help),
                   "%s\n%s", e->summary, e->help);
        return CMD_OK;
    }
    json_t *arr = json_array();
    char text[4096] = "commands (help COMMAND for more):";
    const cmd_info *ci;
    for (size_t i = 0; (ci = cmd_info_at(i)) != NULL; i++) {
        json_array_append_new(arr, json_pack("{ss ss ss}", "command", ci->name, "usage",
                                             ci->usage, "summary", ci->summary));
        size_t n = strlen(text);
        snprintf(text + n, sizeof text - n, "\n  %-11s %s", ci->name, ci->summary);
    }
    cmd_result(c, json_pack("{so}", "commands", arr), "%s", text);
    return CMD_OK;
}

const cmd_entry cmd_help_entry = {
    "help", "help [COMMAND]", "list the commands, or explain one",
    "help [COMMAND]\n    Without an argument, every command with one line about it; with one,\n"
    "    its usage and what it does.  Commands may be abbreviated to a unique prefix.",
    0, 1, NULL, help_exec};

static cmd_status quit_exec(cmd_ctx *c, const cmd_args *a)
{
    return CMD_QUIT;
}

const cmd_entry cmd_quit_entry = {
    "quit", "quit", "leave mlwb (stops the listener after the requests in flight)",
    "quit\n    Leave mlwb.  In a script, stops schedules and the listener too.", 0, 0, NULL,
    quit_exec};

static void fmt_interval(int64_t ms, char *buf, size_t n)
{
    if (ms % 3600000 == 0)
        snprintf(buf, n, "%lldh", (long long)(ms / 3600000));
    else if (ms % 60000 == 0)
        snprintf(buf, n, "%lldm", (long long)(ms / 60000));
    else if (ms % 1000 == 0)
        snprintf(buf, n, "%llds", (long long)(ms / 1000));
    else
        snprintf(buf, n, "%lldms", (long long)ms);
}

static cmd_status schedules_exec(cmd_ctx *c, const cmd_args *a)
{
    size_t n = 0;
    sched_info *list = sched_list(eng_sched(cli_engine(c->cli)), &n);
    if (!c->json)
        cmd_result(c, NULL, n ? "  id  every    runs  skipped  failed  next in  what"
                              : "no schedules (add one with every=, e.g. 'load csv x.csv every=1m')");
    for (size_t i = 0; list && i < n; i++) {
        char every[32];
        fmt_interval(list[i].interval_ms, every, sizeof every);
        json_t *o = json_pack("{sI ss sI sI sI sI sf ss}", "id", (json_int_t)list[i].id, "every",
                              every, "interval_ms", (json_int_t)list[i].interval_ms, "runs",
                              (json_int_t)list[i].runs, "skipped", (json_int_t)list[i].skipped,
                              "failures", (json_int_t)list[i].failures, "next_in",
                              list[i].next_in, "desc", list[i].desc);
        cmd_result(c, o, "%4lld  %-7s %5llu  %7llu  %6llu  %6.1fs  %s", (long long)list[i].id,
                   every, (unsigned long long)list[i].runs,
                   (unsigned long long)list[i].skipped, (unsigned long long)list[i].failures,
                   list[i].next_in, list[i].desc);
    }
    free(list);
    return CMD_OK;
}

const cmd_entry cmd_schedules_entry = {
    "schedules", "schedules", "list the schedules (every=)",
    "schedules\n    Every schedule: its id, period, runs so far, runs skipped because the\n"
    "    previous one was still going, runs that could not start, the time to the next\n"
    "    run, and what it does.  Remove one with 'unschedule ID'.",
    0, 0, NULL, schedules_exec};

static cmd_status unschedule_exec(cmd_ctx *c, const cmd_args *a)
{
    long id;
    if (cmd_parse_long(a->pos[0], &id) != 0 || id < 1)
        return cmd_error(c, "'%s' is not a schedule id (see 'schedules')", a->pos[0]);
    if (!sched_remove(eng_sched(cli_engine(c->cli)), id))
        return cmd_error(c, "no schedule %ld", id);
    cmd_result(c, json_pack("{sI sb}", "schedule", (json_int_t)id, "removed", 1),
               "schedule %ld removed", id);
    return CMD_OK;
}

const cmd_entry cmd_unschedule_entry = {
    "unschedule", "unschedule ID", "remove a schedule",
    "unschedule ID\n    Stop running schedule ID (a run in progress finishes).", 1, 1, NULL,
    unschedule_exec};

/* --- every DURATION COMMAND ------------------------------------------------------------ */

/* Append word w to the line at *o, quoted when the lexer would otherwise read it
 * differently (blanks, ';', '#', quotes, or a word that was quoted). */
static void put_word(char *line, size_t cap, size_t *o, const char *w, int quoted)
{
    int plain = !quoted && *w && !strpbrk(w, " \t\r\n;#\"'\\");
    if (*o && *o < cap)
        line[(*o)++] = ' ';
    if (plain) {
        *o += (size_t)snprintf(line + *o, *o < cap ? cap - *o : 0, "%s", w);
        return;
    }
    if (*o < cap)
        line[(*o)++] = '"';
    for (const char *p = w; *p && *o + 2 < cap; p++) {
        if (*p == '"' || *p == '\\')
            line[(*o)++] = '\\';
        line[(*o)++] = *p;
    }
    if (*o < cap)
        line[(*o)++] = '"';
    if (*o < cap)
        line[*o] = 0;
}

static cmd_status every_exec(cmd_ctx *c, const cmd_args *a)
{
    int64_t ms;
    if (cmd_parse_duration(a->pos[0], &ms) != 0)
        return cmd_error(c, "'%s': expected a duration like 500ms, 30s, 5m, 1h", a->pos[0]);
    if (ms < 100)
        return cmd_error(c, "'%s': the period must be at least 100ms", a->pos[0]);
    char *err = NULL;
    const cmd_entry *inner = cmd_lookup(a->pos[1], &err);
    if (!inner) {
        cmd_status st = cmd_error(c, "%s", err);
        free(err);
        return st;
    }
    if (strcmp(inner->name, "every") == 0 || strcmp(inner->name, "quit") == 0 ||
        strcmp(inner->name, "wait") == 0)
        return cmd_error(c, "'%s' cannot be scheduled", inner->name);
    size_t cap = 8192, o = 0;
    char *line = malloc(cap);
    if (!line)
        return cmd_error(c, "out of memory");
    line[0] = 0;
    put_word(line, cap, &o, inner->name, 0);
    for (int i = 2; i < a->npos; i++) {
        if (!a->quoted[i] && strncmp(a->pos[i], "every=", 6) == 0) {
            free(line);
            return cmd_error(c, "give the period once: 'every %s %s ...' already repeats it",
                             a->pos[0], inner->name);
        }
        put_word(line, cap, &o, a->pos[i], a->quoted[i]);
    }
    if (o + 2 >= cap) {
        free(line);
        return cmd_error(c, "the command is too long to schedule");
    }
    cmd_status st;
    if (strcmp(inner->name, "load") == 0 || strcmp(inner->name, "train") == 0) {
        /* these are jobs with schedules of their own: the same as their every= */
        size_t n = strlen(line);
        snprintf(line + n, cap - n, " every=%s", a->pos[0]);
        st = cmd_run_line(c, line, 1);
    } else {
        char desc[256];
        snprintf(desc, sizeof desc, "%s", line);
        int64_t id = eng_schedule_command(cli_engine(c->cli), desc, line, ms, 1, &err);
        if (!id) {
            free(line);
            return cmd_fail(c, err);
        }
        cmd_result(c, json_pack("{sI ss sI ss}", "schedule", (json_int_t)id, "every", a->pos[0],
                                "interval_ms", (json_int_t)ms, "command", line),
                   "schedule %lld: every %s: %s (the first run now)", (long long)id, a->pos[0],
                   line);
        st = CMD_OK;
    }
    free(line);
    return st;
}

const cmd_entry cmd_every_entry = {
    "every", "every DURATION COMMAND ...", "run a command on a schedule",
    "every DURATION COMMAND ...\n"
    "    Run COMMAND now and then every DURATION (500ms, 30s, 5m, 1h, 2d; at least\n"
    "    100ms) until 'unschedule ID'.  'every 5m load csv x.csv' and 'every 1h train knn\n"
    "    k=auto' are the same as their every= option (a job of their own, skipped while\n"
    "    the previous run is still going; a retrain runs only on new data).  Any other\n"
    "    command runs on the prompt's thread, as if typed, with its output in the log;\n"
    "    a run due while the previous one has not finished is skipped and counted, e.g.\n"
    "    'every 10m predict file=new.csv out=scored.csv'.  'schedules' lists them.",
    2, -1, CMD_RAW, every_exec};
