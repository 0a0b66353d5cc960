/*
 * cmd.c — the interpreter: the command table, lookup, argument checks, the result and
 * error sinks, and job reports (see mlwb/cli/cmd.h).
 *
 * Runs on the UI/script thread only.  Handlers never print: cmd_result hands one
 * result to the sink (its JSON in --json mode, else its text), cmd_error one error
 * (a JSON object in --json mode, else "FILE:LINE: command: reason").
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_int.h"
#include "mlwb/core/text.h"

static const cmd_entry *const table[] = {
    &cmd_load_entry,    &cmd_data_entry,      &cmd_head_entry,       &cmd_datasets_entry,
    &cmd_split_entry,   &cmd_train_entry,     &cmd_tune_entry,       &cmd_curve_entry,
    &cmd_models_entry,  &cmd_eval_entry,      &cmd_use_entry,        &cmd_predict_entry,
    &cmd_explain_entry, &cmd_serve_entry,     &cmd_jobs_entry,       &cmd_wait_entry,
    &cmd_cancel_entry,  &cmd_schedules_entry, &cmd_unschedule_entry, &cmd_set_entry,
    &cmd_settings_entry, &cmd_help_entry,     &cmd_quit_entry,      &cmd_every_entry,
    &cmd_feedback_entry, &cmd_quality_entry,
};
#define NCMDS (sizeof table / sizeof table[0])

cli *cli_new(engine *e)
{
    cli *c = calloc(1, sizeof *c);
    if (c)
        c->eng = e;
    return c;
}

void cli_free(cli **pc)
{
    cli *c = *pc;
    *pc = NULL;
    if (!c)
        return;
    http_stop(&c->http);
    free(c);
}

engine *cli_engine(cli *c) { return c->eng; }
http_server *cli_server(cli *c) { return c->http; }
int cli_keep_running(cli *c)
{
    return c->http != NULL || sched_count(eng_sched(c->eng)) > 0;
}

const cmd_info *cmd_info_at(size_t i)
{
    static cmd_info infos[NCMDS];
    if (i >= NCMDS)
        return NULL;
    infos[i] = (cmd_info){table[i]->name, table[i]->usage, table[i]->summary};
    return &infos[i];
}

const cmd_entry *cmd_lookup(const char *name, char **err)
{
    const cmd_entry *found = NULL;
    size_t len = strlen(name), matches = 0;
    char cands[256] = "";
    for (size_t i = 0; i < NCMDS; i++) {
        if (strcmp(table[i]->name, name) == 0)
            return table[i];
        if (strncmp(table[i]->name, name, len) == 0) {
            found = table[i];
            matches++;
            strncat(cands, matches > 1 ? ", " : "", sizeof cands - strlen(cands) - 1);
            strncat(cands, table[i]->name, sizeof cands - strlen(cands) - 1);
        }
    }
    if (matches == 1)
        return found;
    if (matches > 1)
        err_set(err, MLWB_ERR_INVALID, "'%s' is ambiguous: %s", name, cands);
    else
        err_set(err, MLWB_ERR_NOTFOUND, "unknown command '%s' (try 'help')", name);
    return NULL;
}

/* --- sinks ---------------------------------------------------------------------- */

void cmd_result(cmd_ctx *c, json_t *obj, const char *fmt, ...)
{
    if (c->json) {
        char *s = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)) : NULL;
        if (s)
            c->sink.result(c->sink.ud, s);
        else if (fmt)  /* never lose a result silently */
            c->sink.error(c->sink.ud, "{\"error\":\"a result could not be written as JSON\"}");
        free(s);
    } else if (fmt) {
        char small[1024], *buf = small;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(small, sizeof small, fmt, ap);
        va_end(ap);
        if (n >= (int)sizeof small && (buf = malloc((size_t)n + 1)) != NULL) {
            va_start(ap, fmt);
            vsnprintf(buf, (size_t)n + 1, fmt, ap);
            va_end(ap);
        }
        c->sink.result(c->sink.ud, buf ? buf : small);
        if (buf != small)
            free(buf);
    }
    json_decref(obj);
}

cmd_status cmd_error(cmd_ctx *c, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->json) {
        char *m = text_utf8(msg), *f = c->file ? text_utf8(c->file) : NULL;
        json_t *o = json_object();
        json_object_set_new(o, "error", json_string(m ? m : "error"));
        if (c->cmd)
            json_object_set_new(o, "command", json_string(c->cmd));
        if (f) {
            json_object_set_new(o, "file", json_string(f));
            json_object_set_new(o, "line", json_integer(c->line));
        }
        char *s = json_dumps(o, JSON_COMPACT);
        c->sink.error(c->sink.ud, s ? s : "{\"error\":\"out of memory\"}");
        free(s);
        free(m);
        free(f);
        json_decref(o);
    } else {
        char out[4096 + 600 + 64];
        char where[600] = "";
        if (c->file)
            snprintf(where, sizeof where, "%s:%d: ", c->file, c->line);
        snprintf(out, sizeof out, "%s%s%s%s", where, c->cmd ? c->cmd : "",
                 c->cmd ? ": " : "", msg);
        c->sink.error(c->sink.ud, out);
    }
    return CMD_ERROR;
}

/* --- arguments ------------------------------------------------------------------ */

const char *cmd_opt(const cmd_args *a, const char *key)
{
    for (int i = a->nopt - 1; i >= 0; i--)
        if (strcmp(a->key[i], key) == 0)
            return a->val[i];
    return NULL;
}

int cmd_parse_long(const char *s, long *v)
{
    char *end;
    if (!s || !*s)
        return -1;
    long x = strtol(s, &end, 10);
    if (*end)
        return -1;
    *v = x;
    return 0;
}

int cmd_parse_double(const char *s, double *v)
{
    char *end;
    if (!s || !*s)
        return -1;
    double x = strtod(s, &end);
    if (*end || !isfinite(x))
        return -1;
    *v = x;
    return 0;
}

int cmd_parse_duration(const char *s, int64_t *ms)
{
    char *end;
    if (!s || !*s)
        return -1;
    double v = strtod(s, &end);
    double scale;
    if (strcmp(end, "ms") == 0)
        scale = 1;
    else if (*end == 0 || strcmp(end, "s") == 0)
        scale = 1e3;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        scale = 60e3;
    else if (strcmp(end, "h") == 0)
        scale = 3600e3;
    else if (strcmp(end, "d") == 0)
        scale = 86400e3;
    else
        return -1;
    if (!isfinite(v) || v <= 0 || v * scale < 10 || v * scale > 366 * 86400e3)
        return -1;
    *ms = (int64_t)(v * scale + 0.5);
    return 0;
}

cmd_status cmd_opt_int(cmd_ctx *c, const cmd_args *a, const char *key, long lo, long hi, long *v)
{
    const char *s = cmd_opt(a, key);
    if (!s)
        return CMD_OK;
    long x;
    if (cmd_parse_long(s, &x) != 0 || x < lo || x > hi)
        return cmd_error(c, "%s=%s: expected an integer from %ld to %ld", key, s, lo, hi);
    *v = x;
    return CMD_OK;
}

static int key_allowed(const char *opts, const char *key)
{
    if (!opts)
        return 0;
    size_t n = strlen(key);
    for (const char *p = opts; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, key, n) == 0)
            return 1;
        p += len + (comma ? 1 : 0);
    }
    return 0;
}

int cmd_args_split(const cmd_entry *e, int argc, char **argv, const unsigned char *quoted,
                   cmd_args *a, char **err)
{
    *a = (cmd_args){0};
    int raw = e->opts && strcmp(e->opts, CMD_RAW) == 0;
    for (int i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (raw) {
            a->quoted[a->npos] = quoted[i];
            a->pos[a->npos++] = argv[i];
        } else if (eq && eq != argv[i] && !quoted[i]) {
            *eq = 0;
            if (!key_allowed(e->opts, argv[i])) {
                if (e->opts)
                    err_set(err, MLWB_ERR_INVALID, "unknown option '%s' (options: %s)", argv[i],
                            e->opts);
                else
                    err_set(err, MLWB_ERR_INVALID, "takes no options ('%s=')", argv[i]);
                *eq = '=';
                cmd_args_restore(a);
                return -1;
            }
            a->key[a->nopt] = argv[i];
            a->val[a->nopt++] = eq + 1;
        } else {
            a->pos[a->npos++] = argv[i];
        }
    }
    if (a->npos < e->min_pos || (e->max_pos >= 0 && a->npos > e->max_pos)) {
        if (strlen(e->usage) > 60)
            err_set(err, MLWB_ERR_INVALID, "%s arguments; see 'help %s'",
                    a->npos < e->min_pos ? "missing" : "too many", e->name);
        else
            err_set(err, MLWB_ERR_INVALID, "%s arguments; usage: %s",
                    a->npos < e->min_pos ? "missing" : "too many", e->usage);
        cmd_args_restore(a);
        return -1;
    }
    return 0;
}

void cmd_args_restore(cmd_args *a)
{
    for (int i = 0; i < a->nopt; i++)
        a->val[i][-1] = '=';  /* restore the words for the caller to free */
    a->nopt = 0;
}

static cmd_status run_words(cmd_ctx *c, int argc, char **argv, const unsigned char *quoted)
{
    char *err = NULL;
    const cmd_entry *e = cmd_lookup(argv[0], &err);
    if (!e) {
        c->cmd = NULL;
        cmd_status st = cmd_error(c, "%s", err);
        free(err);
        return st;
    }
    c->cmd = e->name;
    cmd_args a;
    if (cmd_args_split(e, argc, argv, quoted, &a, &err) != 0) {
        cmd_status st = cmd_error(c, "%s", err);
        free(err);
        return st;
    }
    cmd_status st = e->exec(c, &a);
    cmd_args_restore(&a);
    return st;
}

cmd_status cmd_run_line(cmd_ctx *c, const char *line, int bail)
{
    cmd_status worst = CMD_OK;
    const char *p = line;
    while (p) {
        char *argv[CMD_MAX_WORDS];
        unsigned char quoted[CMD_MAX_WORDS];
        const char *rest = NULL;
        char *err = NULL;
        int argc = cmd_split(p, argv, quoted, CMD_MAX_WORDS, &rest, &err);
        if (argc < 0) {
            c->cmd = NULL;
            cmd_error(c, "syntax error: %s", err);
            free(err);
            return CMD_ERROR;
        }
        cmd_status st = argc ? run_words(c, argc, argv, quoted) : CMD_OK;
        c->cmd = NULL;
        for (int i = 0; i < argc; i++)
            free(argv[i]);
        if (st == CMD_QUIT)
            return CMD_QUIT;
        if (st == CMD_ERROR) {
            worst = CMD_ERROR;
            if (bail)
                return worst;
        }
        p = rest;
    }
    return worst;
}

/* --- jobs --------------------------------------------------------------------------- */

void cmd_run_scheduled(cmd_ctx *c, int64_t sched_id, const char *line)
{
    const char *origin = c->origin, *file = c->file;
    c->origin = "schedule";
    c->file = NULL;  /* not a line of a script */
    if (line)
        cmd_run_line(c, line, 0);
    c->origin = origin;
    c->file = file;
    eng_command_done(c->cli->eng, sched_id);
}

cmd_status cmd_report_job(cmd_ctx *c, job *j)
{
    if (!job_claim_report(j))  /* already reported, or not finished */
        return job_get_state(j) == JOB_FAILED ? CMD_ERROR : CMD_OK;
    const char *saved = c->cmd;
    c->cmd = job_kind(j);
    cmd_status st = CMD_OK;
    switch (job_get_state(j)) {
    case JOB_DONE: {
        json_t *r = job_result(j);
        if (strcmp(job_kind(j), "load") == 0)
            cmd_print_dataset(c, json_incref(r), "loaded");
        else if (strcmp(job_kind(j), "train") == 0)
            cmd_print_model(c, json_incref(r));
        else if (strcmp(job_kind(j), "tune") == 0)
            cmd_print_curve(c, json_incref(r));
        else
            cmd_result(c, json_incref(r), "job %lld done", (long long)job_id(j));
        break;
    }
    case JOB_FAILED:
        st = cmd_error(c, "%s", job_error(j) ? job_error(j) : "failed");
        break;
    case JOB_CANCELLED:
        st = cmd_error(c, "job %lld cancelled", (long long)job_id(j));
        break;
    default:
        break;
    }
    c->cmd = saved;
    return st;
}

cmd_status cmd_fail(cmd_ctx *c, char *err)
{
    cmd_status st = cmd_error(c, "%s", err ? err : "failed");
    free(err);
    return st;
}

cmd_status cmd_job_or_error(cmd_ctx *c, int64_t id, char *err)
{
    if (!id)
        return cmd_fail(c, err);
    free(err);
    return cmd_job_started(c, id);
}

/* Wait for j; after a second, keep one progress line up to date on c->progress (a
 * terminal), and erase it at the end so the job's report starts on a clean line. */
static void wait_showing_progress(cmd_ctx *c, job *j)
{
    if (!c->progress) {
        job_wait(j);
        return;
    }
    if (job_wait_for(j, 1.0))
        return;
    int shown = 0;
    do {
        char phase[64] = "", bar[21];
        double f = job_progress(j, phase, sizeof phase);
        int filled = (int)(f * 20 + 0.5);
        filled = filled < 0 ? 0 : filled > 20 ? 20 : filled;
        memset(bar, '#', (size_t)filled);
        memset(bar + filled, '-', (size_t)(20 - filled));
        bar[20] = 0;
        fprintf(c->progress, "\r\033[K[%s] %3.0f%%  %.40s  %.60s", bar, f * 100, phase,
                job_desc(j));
        fflush(c->progress);
        shown = 1;
    } while (!job_wait_for(j, 0.2));
    if (shown) {
        fputs("\r\033[K", c->progress);
        fflush(c->progress);
    }
}

cmd_status cmd_job_started(cmd_ctx *c, int64_t id)
{
    job *j = job_get(eng_jobs(c->cli->eng), id);
    if (!j)
        return cmd_error(c, "job %lld vanished", (long long)id);
    cmd_status st = CMD_OK;
    if (c->wait) {
        wait_showing_progress(c, j);
        st = cmd_report_job(c, j);
    } else if (!c->json) {
        cmd_result(c, NULL, "job %lld started: %s", (long long)id, job_desc(j));
    } else {
        cmd_result(c, json_pack("{sI ss ss}", "job", (json_int_t)id, "state", "queued", "desc",
                                job_desc(j)), NULL);
    }
    job_release(&j);
    return st;
}
