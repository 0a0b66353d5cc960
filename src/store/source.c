/*
 * source.c — a data set from an SQL query on another SQLite file (see source.h).
 *
 * Design: open read-only with SQLITE_OPEN_READONLY (and immutable=0: a live database is
 * read consistently through SQLite's own locking), prepare the query, check the result
 * columns, then step through the rows appending features to a growing matrix and label
 * texts to an array; ds_set_labels turns the texts into classes.  Errors name the file
 * and either SQLite's message or the row (1-based) and column.
 */
#include "mlwb/store/source.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cancel_hook {
    int (*cancelled)(void *);
    void *ud;
} cancel_hook;

/* SQLite calls this every few thousand virtual-machine steps, so a query that computes
 * for long without returning rows can still be cancelled. */
static int query_progress(void *arg)
{
    cancel_hook *h = arg;
    return h->cancelled && h->cancelled(h->ud);
}

static int parse_text_number(const unsigned char *t, double *v)
{
    char *end;
    if (!t || !*t)
        return -1;
    *v = strtod((const char *)t, &end);
    while (*end == ' ')
        end++;
    return *end == 0 && isfinite(*v) ? 0 : -1;
}

mlwb_status store_query_dataset(const char *path, const char *sql, const char *label,
                                int (*cancelled)(void *), void *cancel_ud, ds **out,
                                char **err)
{
    *out = NULL;
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    ds *d = NULL;
    float *x = NULL;
    char **texts = NULL;
    size_t rows = 0, cap = 0, ncols = 0, nfeat = 0, lab = 0;
    mlwb_status st = MLWB_OK;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        st = err_set(err, MLWB_ERR_IO, "%s: cannot open: %s", path,
                     db ? sqlite3_errmsg(db) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(db, 5000);
    cancel_hook hook = {cancelled, cancel_ud};
    if (cancelled)
        sqlite3_progress_handler(db, 10000, query_progress, &hook);
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
        st = err_set(err, MLWB_ERR_PARSE, "%s: SQL error: %s", path, sqlite3_errmsg(db));
        goto out;
    }
    if (!q) {
        st = err_set(err, MLWB_ERR_INVALID, "%s: the query is empty", path);
        goto out;
    }
    ncols = (size_t)sqlite3_column_count(q);
    if (ncols < 2) {
        st = err_set(err, MLWB_ERR_INVALID,
                     "%s: the query returns %zu column; need at least one feature and a label",
                     path, ncols);
        goto out;
    }
    lab = ncols - 1;
    if (label && *label) {
        size_t k;
        for (k = 0; k < ncols; k++)
            if (strcmp(sqlite3_column_name(q, (int)k), label) == 0)
                break;
        if (k == ncols) {
            st = err_set(err, MLWB_ERR_NOTFOUND, "%s: the query has no column '%s'", path, label);
            goto out;
        }
        lab = k;
    }
    nfeat = ncols - 1;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (rows == cap) {
            size_t nc = cap ? cap * 2 : 1024;
            float *nx = realloc(x, nc * nfeat * sizeof *x);
            if (!nx) {
                st = err_set(err, MLWB_ERR_NOMEM, "%s: out of memory at row %zu", path, rows + 1);
                goto out;
            }
            x = nx;
            char **nt = realloc(texts, nc * sizeof *texts);
            if (!nt) {
                st = err_set(err, MLWB_ERR_NOMEM, "%s: out of memory at row %zu", path, rows + 1);
                goto out;
            }
            memset(nt + cap, 0, (nc - cap) * sizeof *nt);
            texts = nt;
            cap = nc;
        }
        for (size_t j = 0, fj = 0; j < ncols; j++) {
            int type = sqlite3_column_type(q, (int)j);
            const char *name = sqlite3_column_name(q, (int)j);
            if (j == lab) {
                if (type == SQLITE_NULL) {
                    st = err_set(err, MLWB_ERR_PARSE, "%s: row %zu: the label '%s' is NULL", path,
                                 rows + 1, name);
                    goto out;
                }
                const unsigned char *t = sqlite3_column_text(q, (int)j);
                if (!t || !(texts[rows] = strdup((const char *)t))) {
                    st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
                    goto out;
                }
                continue;
            }
            double v;
            if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) {
                v = sqlite3_column_double(q, (int)j);
            } else if (type == SQLITE_NULL) {
                st = err_set(err, MLWB_ERR_PARSE, "%s: row %zu: missing value (NULL) in column '%s'",
                             path, rows + 1, name);
                goto out;
            } else if (parse_text_number(sqlite3_column_text(q, (int)j), &v) != 0) {
                st = err_set(err, MLWB_ERR_PARSE, "%s: row %zu: column '%s' is not numeric ('%.40s')",
                             path, rows + 1, name, (const char *)sqlite3_column_text(q, (int)j));
                goto out;
            }
            if (!isfinite(v) || fabs(v) > 3.4e38) {
                st = err_set(err, MLWB_ERR_PARSE, "%s: row %zu: column '%s': %g is not a finite float",
                             path, rows + 1, name, v);
                goto out;
            }
            x[rows * nfeat + fj++] = (float)v;
        }
        rows++;
        if (cancelled && rows % 4096 == 0 && cancelled(cancel_ud)) {
            st = MLWB_ERR_CANCELLED;
            goto out;
        }
    }
    if (rc == SQLITE_INTERRUPT && cancelled && cancelled(cancel_ud)) {
        st = MLWB_ERR_CANCELLED;
        goto out;
    }
    if (rc != SQLITE_DONE) {
        st = err_set(err, MLWB_ERR_IO, "%s: SQL error at row %zu: %s", path, rows + 1,
                     sqlite3_errmsg(db));
        goto out;
    }
    if (rows == 0) {
        st = err_set(err, MLWB_ERR_INVALID, "%s: the query returned no rows", path);
        goto out;
    }
    if ((st = ds_new(0, nfeat, 0, &d, err)) != MLWB_OK)
        goto out;
    free(d->x);
    d->x = x;
    x = NULL;
    d->rows = rows;
    for (size_t j = 0, fj = 0; j < ncols; j++) {
        char *nm = strdup(sqlite3_column_name(q, (int)j));
        if (!nm) {
            st = err_set(err, MLWB_ERR_NOMEM, "out of memory");
            goto out;
        }
        if (j == lab)
            d->label_name = nm;
        else
            d->feature_names[fj++] = nm;
    }
    if ((st = ds_set_labels(d, texts, err)) != MLWB_OK)
        goto out;
    size_t n = strlen(path) + strlen(sql) + 16;
    if ((d->source = malloc(n)) != NULL)
        snprintf(d->source, n, "sqlite %s %s", path, sql);
    ds_finish(d);
    *out = d;
    d = NULL;
out:
    if (texts)
        for (size_t i = 0; i < cap; i++)
            free(texts[i]);
    free(texts);
    free(x);
    ds_release(&d);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return st;
}
