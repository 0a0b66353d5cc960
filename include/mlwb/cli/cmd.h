/*
 * cmd.h — the command language shared by every front end: the TUI prompt, scripts
 * (-f, stdin), -c, and the headless roles.
 *
 * Commands are data: one table of entries (name, usage, help, argument bounds, handler)
 * in cmd.c; lookup takes a unique prefix and lists the candidates when ambiguous; one
 * place checks arity before a handler runs.  Handlers never print: they report through
 * the context's sinks — cmd_result (a JSON object and its plain-text rendering; the
 * context picks one) and cmd_error (which prefixes FILE:LINE: in scripts and names the
 * command).
 *
 * A `cli` is the session: the engine plus what the command layer itself runs (the
 * HTTP listener).  All functions here run on the UI/script thread.
 */
#ifndef MLWB_CLI_CMD_H
#define MLWB_CLI_CMD_H

#include <jansson.h>
#include <stddef.h>

#include "mlwb/engine/engine.h"
#include "mlwb/serve/http.h"

typedef struct cli cli;

cli *cli_new(engine *e);
void cli_free(cli **c);  /* stops the listener */
engine *cli_engine(cli *c);
http_server *cli_server(cli *c);   /* NULL unless serving */
/* True while something started by commands must keep the process alive (a listener or
 * a schedule). */
int cli_keep_running(cli *c);

typedef struct cmd_sink {
    void (*result)(void *ud, const char *text);  /* one result: text lines or one JSON line */
    void (*error)(void *ud, const char *text);   /* one complete error message */
    void *ud;
} cmd_sink;

typedef struct cmd_ctx {
    cli *cli;
    cmd_sink sink;
    int json;            /* results as one JSON object per line */
    int wait;            /* wait for each job to finish (scripts); the TUI does not */
    const char *file;    /* script name for error prefixes, or NULL */
    int line;            /* current line in `file` */
    const char *origin;  /* "prompt", "script", ... (logged with predictions) */
    const char *cmd;     /* the command running now (set by the interpreter) */
    FILE *progress;      /* while waiting for a job longer than a second, a progress line
                          * is redrawn here (a terminal's stderr), or NULL */
} cmd_ctx;

typedef enum cmd_status { CMD_OK = 0, CMD_ERROR = 1, CMD_QUIT = 2 } cmd_status;

/* Run every command on one line (';'-separated; '#' comment).  Returns CMD_QUIT when a
 * quit was run, else CMD_ERROR if any command failed, else CMD_OK.  With `bail`, stops
 * at the first failing command of the line. */
cmd_status cmd_run_line(cmd_ctx *c, const char *line, int bail);

/* Run the line of a command schedule (EV_COMMAND: sched_id = the event's version) on
 * the caller's (UI) thread, with origin "schedule", then tell the engine it is done so
 * the schedule may fire again. */
void cmd_run_scheduled(cmd_ctx *c, int64_t sched_id, const char *line);

/* Report a finished job the way its command would have (TUI: after EV_JOB_DONE).  A job
 * is reported once: a second call does nothing. */
cmd_status cmd_report_job(cmd_ctx *c, job *j);

/* For handlers. */
void cmd_result(cmd_ctx *c, json_t *obj, const char *fmt, ...)  /* consumes obj */
    __attribute__((format(printf, 3, 4)));
cmd_status cmd_error(cmd_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The command table, for help and completion. */
typedef struct cmd_info {
    const char *name;
    const char *usage;
    const char *summary;
} cmd_info;
const cmd_info *cmd_info_at(size_t i);  /* NULL past the end */

/* Split a line into words (quotes "..." and '...' group; ';' ends a command; '#'
 * starts a comment).  Exposed for tests.  Returns the number of words in the first
 * command and sets *rest to the text after its ';' (NULL at the end); words are
 * malloc'd into argv (max entries); quoted[i] (if not NULL) is 1 when word i has a
 * quote before any unquoted '=' (such a word is never a key=value option).  On a lexical error returns
 * -1 with *err set. */
int cmd_split(const char *line, char **argv, unsigned char *quoted, int max, const char **rest,
              char **err);

#endif
