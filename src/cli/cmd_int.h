/*
 * cmd_int.h — private to the command layer: the command entry and argument helpers.
 *
 * A command is a const cmd_entry: its name, usage, one-line summary, long help, the
 * bounds on positional words, the option keys it accepts, and its handler.  The
 * interpreter (cmd.c) finds the entry by unique prefix, splits positional words from
 * key=value options, checks both against the entry, and only then calls the handler.
 */
#ifndef MLWB_CLI_CMD_INT_H
#define MLWB_CLI_CMD_INT_H

#include "mlwb/cli/cmd.h"

#define CMD_MAX_WORDS 256

typedef struct cmd_args {
    int npos;
    char *pos[CMD_MAX_WORDS];
    int nopt;
    char *key[CMD_MAX_WORDS];
    char *val[CMD_MAX_WORDS];
    unsigned char quoted[CMD_MAX_WORDS];  /* CMD_RAW entries: pos[i] was quoted */
} cmd_args;

/* An entry whose opts is CMD_RAW takes every word as positional, untouched (`every`). */
#define CMD_RAW "*"

typedef struct cmd_entry {
    const char *name;
    const char *usage;
    const char *summary;
    const char *help;
    int min_pos, max_pos;  /* max_pos < 0: unbounded */
    const char *opts;      /* comma-separated option keys, or NULL */
    cmd_status (*exec)(cmd_ctx *c, const cmd_args *a);
} cmd_entry;

/* The words after the command name (argv[1..argc)) into a: key=value options (an
 * unquoted '=' not first; the '=' is cut to a NUL) and positional words, checked against
 * e's option keys and bounds.  Returns 0, or -1 with *err set (the words restored).
 * cmd_args_restore puts the '=' back so the words can be freed as they were. */
int cmd_args_split(const cmd_entry *e, int argc, char **argv, const unsigned char *quoted,
                   cmd_args *a, char **err);
void cmd_args_restore(cmd_args *a);

/* The value of option `key`, or NULL. */
const char *cmd_opt(const cmd_args *a, const char *key);
/* Parse option `key` as an integer in [lo, hi]; *v keeps its default when absent.
 * Returns CMD_ERROR (after reporting) when present but invalid. */
cmd_status cmd_opt_int(cmd_ctx *c, const cmd_args *a, const char *key, long lo, long hi,
                       long *v);
/* Parse a whole word as an integer / a finite number; 0 on success. */
int cmd_parse_long(const char *s, long *v);
int cmd_parse_double(const char *s, double *v);
/* "500ms", "30s", "5m", "1h", "2d", or a plain number of seconds; 0 on success. */
int cmd_parse_duration(const char *s, int64_t *ms);

/* The CSV options of load (sep=, missing=, ignore=) into o. */
cmd_status cmd_csv_opts(cmd_ctx *c, const cmd_args *a, csv_opts *o);

/* Submit-and-report for job commands: waits when c->wait, else says it was queued. */
cmd_status cmd_job_started(cmd_ctx *c, int64_t id);
/* Report err (an engine or store message) as this command's error and free it. */
cmd_status cmd_fail(cmd_ctx *c, char *err);
/* cmd_job_started(c, id) when id > 0, else cmd_fail(c, err). */
cmd_status cmd_job_or_error(cmd_ctx *c, int64_t id, char *err);

/* The session internals shared by the command files. */
struct cli {
    engine *eng;
    http_server *http;
};

extern const cmd_entry cmd_load_entry, cmd_data_entry, cmd_datasets_entry;
extern const cmd_entry cmd_train_entry, cmd_models_entry, cmd_use_entry, cmd_predict_entry;
extern const cmd_entry cmd_serve_entry, cmd_jobs_entry, cmd_wait_entry, cmd_cancel_entry;
extern const cmd_entry cmd_help_entry, cmd_quit_entry;
extern const cmd_entry cmd_schedules_entry, cmd_unschedule_entry, cmd_head_entry;
extern const cmd_entry cmd_split_entry, cmd_tune_entry, cmd_curve_entry, cmd_eval_entry;
extern const cmd_entry cmd_explain_entry, cmd_set_entry, cmd_settings_entry, cmd_every_entry;
extern const cmd_entry cmd_feedback_entry, cmd_quality_entry;

/* Plain-text renderings shared by a command and the job reports. */
void cmd_print_dataset(cmd_ctx *c, json_t *obj, const char *verb);
void cmd_print_model(cmd_ctx *c, json_t *obj);
void cmd_print_curve(cmd_ctx *c, json_t *curve);
cmd_status cmd_predict_file(cmd_ctx *c, const cmd_args *a, const char *path);
/* The positional arguments as one row of the model's features into x (mdl_dims(m)
 * floats): each a finite float32, none past mdl_far_value's bound; else an error naming
 * the argument. */
cmd_status cmd_parse_row(cmd_ctx *c, const cmd_args *a, const mdl *m, float *x);

const cmd_entry *cmd_lookup(const char *name, char **err);

/* A k-curve ({"points": [{"k", "mean", "sd"}, ...], "best_k"}) as an ASCII chart
 * (malloc'd text), or NULL. */
char *cmd_chart_curve(json_t *curve);
/* The chart of points[].key against k ('*'; ':' for key ± band when band is not NULL;
 * 'o' at k = best; values clamped to 0..1 when clamp01), or NULL when nothing to draw. */
char *cmd_chart(json_t *curve, const char *key, const char *band, int best, int clamp01);

#endif
