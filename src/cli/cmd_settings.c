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
#include "mlwb/serve/http.h"

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

static void get_alert_acc(engine *e, char *buf, size_t n)
{
    double a, d;
    int o;
    eng_get_quality_alerts(e, &a, &d, &o);
    if (a < 0)
        snprintf(buf, n, "auto");
    else
        snprintf(buf, n, "%g", a);
}

static const char *put_alert_acc(engine *e, const char *v)
{
    double a, d, x;
    int o;
    eng_get_quality_alerts(e, &a, &d, &o);
    if (strcmp(v, "auto") == 0)
        x = -1;
    else if (cmd_parse_double(v, &x) != 0 || x < 0 || x > 1)
        return "expected auto or an accuracy from 0 to 1";
    eng_set_quality_alerts(e, x, d, o);
    return NULL;
}

static void get_alert_drift(engine *e, char *buf, size_t n)
{
    double a, d;
    int o;
    eng_get_quality_alerts(e, &a, &d, &o);
    snprintf(buf, n, "%g", d);
}

static const char *put_alert_drift(engine *e, const char *v)
{
    double a, d, x;
    int o;
    eng_get_quality_alerts(e, &a, &d, &o);
    if (cmd_parse_double(v, &x) != 0 || x <= 0 || x > 1000)
        return "expected a number of standard deviations above 0";
    eng_set_quality_alerts(e, a, x, o);
    return NULL;
}

static const char *const on_drift_names[] = {"off", "alert", "retrain"};

static void get_on_drift(engine *e, char *buf, size_t n)
{
    double a, d;
    int o;
    eng_get_quality_alerts(e, &a, &d, &o);
    snprintf(buf, n, "%s", on_drift_names[o]);
}

static const char *put_on_drift(engine *e, const char *v)
{
    double a, d;
    int o;
    eng_get_quality_alerts(e, &a, &d, &o);
    for (int i = 0; i < 3; i++)
        if (strcmp(v, on_drift_names[i]) == 0) {
            eng_set_quality_alerts(e, a, d, i);
            return NULL;
        }
    return "expected retrain, alert or off";
}

static void get_min_conf(engine *e, char *buf, size_t n)
{
    snprintf(buf, n, "%g", eng_get_min_confidence(e));
}

static const char *put_min_conf(engine *e, const char *v)
{
    double x;
    if (cmd_parse_double(v, &x) != 0 || x < 0 || x > 1)
        return "expected a confidence from 0 to 1";
    eng_set_min_confidence(e, x);
    return NULL;
}

static void get_model_name(engine *e, char *buf, size_t n)
{
    eng_get_model_name(e, buf, n);
}

static const char *put_model_name(engine *e, const char *v)
{
    size_t n = strlen(v);
    if (n < 1 || n > 63 || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789._-") != n)
        return "expected 1 to 63 letters, digits, '.', '_' or '-'";
    eng_set_model_name(e, v);
    return NULL;
}

/* --- the listener's limits: "1m", "64k", "512" bytes; counts; a duration --------- */

static int parse_size(const char *v, size_t *out)
{
    char *end;
    double x = strtod(v, &end);
    double mul = 1;
    if (end == v || x < 0)
        return -1;
    if (*end == 'k' || *end == 'K')
        mul = 1024, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1024 * 1024, end++;
    else if (*end == 'g' || *end == 'G')
        mul = 1024.0 * 1024 * 1024, end++;
    if (*end || x * mul > 1024.0 * 1024 * 1024 || x * mul < 1)
        return -1;
    *out = (size_t)(x * mul);
    return 0;
}

static void show_size(size_t v, size_t dflt, char *buf, size_t n)
{
    size_t x = v ? v : dflt;
    if (x % (1024 * 1024) == 0)
        snprintf(buf, n, "%zum", x / (1024 * 1024));
    else if (x % 1024 == 0)
        snprintf(buf, n, "%zuk", x / 1024);
    else
        snprintf(buf, n, "%zu", x);
}

#define LIMIT_GETPUT(NAME, FIELD, DFLT, KIND)                                             \
    static void get_##NAME(engine *e, char *buf, size_t n)                                \
    {                                                                                     \
        eng_serve_limits l;                                                               \
        eng_get_serve_limits(e, &l);                                                      \
        KIND##_show(l.FIELD, DFLT, buf, n);                                               \
    }                                                                                     \
    static const char *put_##NAME(engine *e, const char *v)                              \
    {                                                                                     \
        eng_serve_limits l;                                                               \
        eng_get_serve_limits(e, &l);                                                      \
        const char *why = KIND##_parse(v, &l.FIELD);                                      \
        if (!why)                                                                         \
            eng_set_serve_limits(e, &l);                                                  \
        return why;                                                                       \
    }

static void size_show(size_t v, size_t dflt, char *buf, size_t n) { show_size(v, dflt, buf, n); }
static const char *size_parse(const char *v, size_t *out)
{
    return parse_size(v, out) ? "expected a size like 512, 64k or 1m (up to 1g)" : NULL;
}
static void count_show(unsigned v, unsigned dflt, char *buf, size_t n)
{
    snprintf(buf, n, "%u", v ? v : dflt);
}
static const char *count_parse(const char *v, unsigned *out)
{
    long x;
    if (cmd_parse_long(v, &x) != 0 || x < 1 || x > 1000000)
        return "expected a count from 1 to 1000000";
    *out = (unsigned)x;
    return NULL;
}
static void secs_show(unsigned v, unsigned dflt, char *buf, size_t n)
{
    snprintf(buf, n, "%us", v ? v : dflt);
}
static const char *secs_parse(const char *v, unsigned *out)
{
    int64_t ms;
    if (cmd_parse_duration(v, &ms) != 0 || ms < 1000 || ms > 86400000)
        return "expected a duration from 1s to 24h";
    *out = (unsigned)(ms / 1000);
    return NULL;
}

LIMIT_GETPUT(max_body, max_body, (size_t)1 << 20, size)
LIMIT_GETPUT(max_instances, max_instances, 10000u, count)
LIMIT_GETPUT(connections, connections, 1024u, count)
LIMIT_GETPUT(per_ip, per_ip, 64u, count)
LIMIT_GETPUT(timeout, timeout_s, 15u, secs)
LIMIT_GETPUT(header_size, header_size, HTTP_DEFAULT_HEADER_SIZE, size)

/* http-threads: "auto" (0) is half the cores, at least 1, decided by each 'serve'. */
static void threads_show(unsigned v, unsigned dflt, char *buf, size_t n)
{
    if (v)
        snprintf(buf, n, "%u", v);
    else
        snprintf(buf, n, "auto");
}
static const char *threads_parse(const char *v, unsigned *out)
{
    long x;
    if (strcmp(v, "auto") == 0) {
        *out = 0;
        return NULL;
    }
    if (cmd_parse_long(v, &x) != 0 || x < 1 || x > 64)
        return "expected auto or a count of threads from 1 to 64";
    *out = (unsigned)x;
    return NULL;
}
LIMIT_GETPUT(http_threads, threads, 0, threads)

static const setting settings[] = {
    {"promote", "always|if-better",
     "whether a new model becomes active: always, or only if its score (KNN: accuracy, "
     "k-means: silhouette) is not below the active model's of its kind by more than "
     "promote-margin (else it is kept as a version)",
     get_promote, put_promote},
    {"promote-margin", "0..1", "how much lower a new model's score may be and still be promoted",
     get_margin, put_margin},
    {"threads", "1..256", "threads for the data-parallel work of a job (search, curves, parsing)",
     get_threads, put_threads},
    {"retrain", "on-new-data|off",
     "on-new-data: a load that brings a new data set version queues a training with the "
     "last training's parameters",
     get_retrain, put_retrain},
    {"min-confidence", "0..1",
     "a KNN prediction less confident than this answers no label (\"abstained\": true); 0 never abstains",
     get_min_conf, put_min_conf},
    {"alert-accuracy", "auto|0..1",
     "alert when the online accuracy (20+ feedback labels) of the active model falls below "
     "this; auto: its accuracy at training minus 0.1",
     get_alert_acc, put_alert_acc},
    {"alert-drift", "sds",
     "alert when a feature's mean over the last 500 requests moves more than this many "
     "training standard deviations",
     get_alert_drift, put_alert_drift},
    {"model-name", "NAME", "the model's name in the KServe v2 routes (/v2/models/NAME/infer)",
     get_model_name, put_model_name},
    {"http-max-body", "SIZE", "largest request body the next 'serve' accepts (413 above)",
     get_max_body, put_max_body},
    {"http-max-instances", "N", "instances per request the next 'serve' accepts (413 above)",
     get_max_instances, put_max_instances},
    {"http-connections", "N", "connections at once the next 'serve' accepts", get_connections,
     put_connections},
    {"http-per-ip", "N", "connections at once from one address", get_per_ip, put_per_ip},
    {"http-timeout", "DURATION", "an idle (or slow) connection is closed after this",
     get_timeout, put_timeout},
    {"http-header-size", "SIZE", "memory for one connection's request line and headers",
     get_header_size, put_header_size},
    {"http-threads", "auto|1..64",
     "threads of the next 'serve' answering requests; auto: half the cores, at least 1",
     get_http_threads, put_http_threads},
    {"on-drift", "retrain|alert|off",
     "what a drift alert does: log it, also queue a training with the last parameters, or "
     "nothing",
     get_on_drift, put_on_drift},
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
    "    promote-margin=0..1, threads=1..256, retrain=on-new-data|off,\n"
    "    min-confidence=0..1, alert-accuracy=auto|0..1, alert-drift=SDS,\n"
    "    on-drift=retrain|alert|off, model-name=NAME, and the listener's limits\n"
    "    http-max-body=SIZE, http-max-instances=N, http-connections=N, http-per-ip=N,\n"
    "    http-timeout=DURATION, http-header-size=SIZE, http-threads=auto|1..64 (for the\n"
    "    next 'serve').  'settings' lists them with their values.",
    0, 0, "promote,promote-margin,threads,retrain,min-confidence,alert-accuracy,alert-drift,"
    "on-drift,model-name,http-max-body,http-max-instances,http-connections,http-per-ip,"
    "http-timeout,http-header-size,http-threads", set_exec};

static cmd_status settings_exec(cmd_ctx *c, const cmd_args *a)
{
    engine *e = cli_engine(c->cli);
    for (size_t k = 0; k < NSETTINGS; k++) {
        char buf[64];
        settings[k].get(e, buf, sizeof buf);
        cmd_result(c, json_pack("{ss ss ss ss}", "setting", settings[k].name, "value", buf,
                                "values", settings[k].values, "help", settings[k].help),
                   "%-15s %-11s %s", settings[k].name, buf, settings[k].help);
    }
    return CMD_OK;
}

const cmd_entry cmd_settings_entry = {
    "settings", "settings", "list the settings and their values",
    "settings\n    Every setting, its value and what it does.", 0, 0, NULL, settings_exec};
