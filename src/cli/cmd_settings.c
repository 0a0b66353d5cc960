/*
 * cmd_settings.c — `set NAME=VALUE` and `settings`: the session's knobs, as a table.
 *
 * Each setting has a name, a one-line help, a reader (its value as text) and a writer
 * that checks the new value and names it when it is wrong.  Settings last for the
 * session (scripts set them at the top).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_int.h"
#include "mlwb/core/parfor.h"

typedef struct setting {
    const char *name, *values, *help;
    void (*get)(engine *e, char *buf, size_t n);
    const char *(*put)(engine *e, const char *value);  /* NULL, or why not */
} setting;

static void get_promote(engine *e, char *buf, size_t n)
{
    int ib;
    double m;
    eng_get_promote(e, &ib, &m);
    snprintf(buf, n, "%s", ib ? "if-better" : "always");
}

static const char *put_promote(engine *e, const char *v)
{
    int ib;
    double m;
    eng_get_promote(e, &ib, &m);
    if (strcmp(v, "always") == 0)
        eng_set_promote(e, 0, m);
    else if (strcmp(v, "if-better") == 0)
        eng_set_promote(e, 1, m);
    else
        return "expected always or if-better";
    return NULL;
}

static void get_margin(engine *e, char *buf, size_t n)
{
    int ib;
    double m;
    eng_get_promote(e, &ib, &m);
    snprintf(buf, n, "%g", m);
}

static const char *put_margin(engine *e, const char *v)
{
    double m;
    if (cmd_parse_double(v, &m) != 0 || m < 0 || m > 1)
        return "expected a number from 0 to 1 (an accuracy difference)";
    int ib;
    double old;
    eng_get_promote(e, &ib, &old);
    eng_set_promote(e, ib, m);
    return NULL;
}

static void get_threads(engine *e, char *buf, size_t n)
{
    snprintf(buf, n, "%d", par_threads());
}

static const char *put_threads(engine *e, const char *v)
{
    long t;
    if (cmd_parse_long(v, &t) != 0 || t < 1 || t > 256)
        return "expected an integer from 1 to 256";
    par_set_threads((int)t);
    return NULL;
}

static void get_retrain(engine *e, char *buf, size_t n)
{
    snprintf(buf, n, "%s", eng_get_retrain(e) ? "on-new-data" : "off");
}

static const char *put_retrain(engine *e, const char *v)
{
    if (strcmp(v, "on-new-data") == 0)
        eng_set_retrain(e, 1);
    else if (strcmp(v, "off") == 0)
        eng_set_retrain(e, 0);
    else
        return "expected on-new-data or off";
    return NULL;
}

static const setting settings[] = {
    {"promote", "always|if-better",
     "whether a new model becomes active: always, or only if its accuracy is not below "
     "the active model's by more than promote-margin (else it is kept as a version)",
     get_promote, put_promote},
    {"promote-margin", "0..1", "how much worse (in accuracy) a new model may be and still be promoted",
     get_margin, put_margin},
    {"threads", "1..256", "threads for the data-parallel work of a job (search, curves, parsing)",
     get_threads, put_threads},
    {"retrain", "on-new-data|off",
     "on-new-data: a load that brings a new data set version queues a training with the "
     "last training's parameters",
     get_retrain, put_retrain},
};
#define NSETTINGS (sizeof settings / sizeof settings[0])

static cmd_status set_exec(cmd_ctx *c, const cmd_args *a)
{
    if (a->nopt == 0)
        return cmd_error(c, "usage: set NAME=VALUE (see 'settings')");
    engine *e = cli_engine(c->cli);
    for (int i = 0; i < a->nopt; i++) {
        const setting *s = NULL;
        for (size_t k = 0; k < NSETTINGS; k++)
            if (strcmp(settings[k].name, a->key[i]) == 0)
                s = &settings[k];
        if (!s)
            return cmd_error(c, "no setting '%s' (see 'settings')", a->key[i]);
        const char *why = s->put(e, a->val[i]);
        if (why)
            return cmd_error(c, "%s=%s: %s", a->key[i], a->val[i], why);
        char buf[64];
        s->get(e, buf, sizeof buf);
        cmd_result(c, json_pack("{ss ss}", "setting", s->name, "value", buf), "%s=%s", s->name,
                   buf);
    }
    return CMD_OK;
}

const cmd_entry cmd_set_entry = {
    "set", "set NAME=VALUE ...", "change a setting (see 'settings')",
    "set NAME=VALUE ...\n    Change settings for this session: promote=always|if-better,\n"
    "    promote-margin=0..1, threads=1..256, retrain=on-new-data|off.  'settings'\n"
    "    lists them with their values.",
    0, 0, "promote,promote-margin,threads,retrain", set_exec};

static cmd_status settings_exec(cmd_ctx *c, const cmd_args *a)
{
    engine *e = cli_engine(c->cli);
    for (size_t k = 0; k < NSETTINGS; k++) {
        char buf[64];
        settings[k].get(e, buf, sizeof buf);
        cmd_result(c, json_pack("{ss ss ss ss}", "setting", settings[k].name, "value", buf,
                                "values", settings[k].values, "help", settings[k].help),
                   "%-15s %-10s %s", settings[k].name, buf, settings[k].help);
    }
    return CMD_OK;
}

const cmd_entry cmd_settings_entry = {
    "settings", "settings", "list the settings and their values",
    "settings\n    Every setting, its value and what it does.", 0, 0, NULL, settings_exec};
