/*
 * err.c — status names and the error-message helpers (see mlwb/core/err.h).
 */
#include "mlwb/core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *err_name(mlwb_status st)
{
    switch (st) {
    case MLWB_OK: return "ok";
    case MLWB_ERR_IO: return "i/o error";
    case MLWB_ERR_PARSE: return "parse error";
    case MLWB_ERR_INVALID: return "invalid";
    case MLWB_ERR_NOMEM: return "out of memory";
    case MLWB_ERR_NOTFOUND: return "not found";
    case MLWB_ERR_STATE: return "not possible now";
    case MLWB_ERR_CANCELLED: return "cancelled";
    case MLWB_ERR_STORE: return "store error";
    }
    return "error";
}

mlwb_status err_vset(char **err, mlwb_status st, const char *fmt, va_list ap)
{
    if (!err)
        return st;
    char *msg = NULL;
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n >= 0 && (msg = malloc((size_t)n + 1)) != NULL)
        vsnprintf(msg, (size_t)n + 1, fmt, ap);
    free(*err);
    *err = msg ? msg : strdup(err_name(st));
    return st;
}

mlwb_status err_set(char **err, mlwb_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, st, fmt, ap);
    va_end(ap);
    return st;
}

void err_prefix(char **err, const char *fmt, ...)
{
    if (!err || !*err)
        return;
    char pre[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    size_t n = strlen(pre) + 2 + strlen(*err) + 1;
    char *msg = malloc(n);
    if (!msg)
        return;
    snprintf(msg, n, "%s: %s", pre, *err);
    free(*err);
    *err = msg;
}
