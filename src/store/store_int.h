/*
 * store_int.h — what the store's own source files share (not a public header).
 *
 * store.c owns the connection (open, migrations, data sets, models, the prediction
 * log); feedback.c adds feedback and the quality queries on the same connection.
 */
#ifndef MLWB_STORE_INT_H
#define MLWB_STORE_INT_H

#include <sqlite3.h>
#include <stdbool.h>

#include "mlwb/store/store.h"

struct store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *ins_pred; /* cached: predictions are logged often, in batches */
    sqlite3_stmt *ins_pred_n; /* the same for STORE_PRED_ROWS rows at once */
    sqlite3_stmt *cnt_pred;   /* raises a version's count in prediction_counts */
    int busy;               /* the last SQLite failure was SQLITE_BUSY (see st_db_fail) */
    int busy_ms;            /* the busy timeout set (store_set_busy_timeout) */
    bool readonly;          /* opened read-only: the file may not be written */
};

double st_now_seconds(void);
/* err = "PATH: what: SQLite's message"; notes a SQLITE_BUSY in st->busy. */
mlwb_status st_db_fail(store *st, char **err, const char *what);
mlwb_status st_prep(store *st, const char *sql, sqlite3_stmt **s, const char *what,
                    char **err);
mlwb_status st_tx_begin(store *st, const char *what, char **err);   /* BEGIN IMMEDIATE */
mlwb_status st_tx_commit(store *st, const char *what, char **err);
void st_tx_end(store *st);  /* roll back a transaction still open */
/* One integer from a query of one row and one column. */
mlwb_status st_query_int(store *st, const char *sql, int64_t *v, const char *what, char **err);

#endif
