/*
 * err.h — the status codes and error-message convention shared by every layer.
 *
 * Every fallible function returns an mlwb_status and takes an optional `char **err`
 * out-parameter.  On failure it stores a malloc'd, human-readable message there
 * (naming the input, the place and the reason); the caller frees it.  A NULL `err`
 * means the caller does not want the message.  On success `*err` is left untouched.
 *
 * Thread-safety: all functions here are reentrant.
 */
#ifndef MLWB_CORE_ERR_H
#define MLWB_CORE_ERR_H

#include <stdarg.h>

typedef enum mlwb_status {
    MLWB_OK = 0,
    MLWB_ERR_IO,        /* a file or socket could not be read or written */
    MLWB_ERR_PARSE,     /* the input is malformed */
    MLWB_ERR_INVALID,   /* well-formed, but not acceptable (bad argument, wrong shape) */
    MLWB_ERR_NOMEM,     /* an allocation sized by user data failed */
    MLWB_ERR_NOTFOUND,  /* no such version, file, column, sample */
    MLWB_ERR_STATE,     /* not possible now (no data loaded, no active model) */
    MLWB_ERR_CANCELLED, /* the job was cancelled */
    MLWB_ERR_STORE      /* the SQLite store failed */
} mlwb_status;

/* A short lowercase name for a status ("parse error", ...). Never NULL. */
const char *err_name(mlwb_status st);

/* Store a printf-formatted message into *err (if err is not NULL; an older message
 * there is freed first) and return st, so callers can write `return err_set(...)`. */
mlwb_status err_set(char **err, mlwb_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
mlwb_status err_vset(char **err, mlwb_status st, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Prefix an existing message: "PREFIX: old message". No-op when err or *err is NULL. */
void err_prefix(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
