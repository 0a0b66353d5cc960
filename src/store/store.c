/*
 * store.c — the SQLite store: data set versions, model versions, the workbench state
 * (current data set, active model) and the prediction log, all in one file.
 *
 * Design.  One `store` wraps one SQLite connection: WAL mode (readers never block the
 * writer, and the writer never blocks readers), synchronous=NORMAL (a power cut may
 * lose the last commits but never corrupts the file), foreign keys on, a 5 s busy
 * timeout (store_set_busy_timeout changes it).  The schema version lives in PRAGMA
 * user_version and is raised by the `migrations` table below: migration i takes a
 * store from version i to i+1 inside one BEGIN IMMEDIATE transaction that also bumps
 * user_version, so an interrupted upgrade leaves the older version intact, and two
 * processes opening a fresh file at once apply each migration exactly once.  PRAGMA
 * application_id marks the file as ours.
 *
 * A data set is one row: its features as one float32 little-endian blob (rows*cols),
 * its labels as one int32 little-endian blob (rows, or NULL when unlabelled), and a
 * JSON schema {"features": [...], "label": "species"|null, "classes": [...]} for the
 * names.  Never one SQL row per record.  The blobs never pass through a buffer of
 * their size: binding a 64 MB blob makes SQLite build the whole record in a second
 * 64 MB buffer, so the row is inserted with zeroblob(N) placeholders and the bytes are
 * then written from the data set's own arrays with sqlite3_blob_write, 1 MiB at a
 * time, inside the same transaction; reading opens the blobs with sqlite3_blob_open
 * and sqlite3_blob_read's them straight into the new data set (typeof(), unlike
 * "x IS NULL", does not load a blob).  Measured on a 1,000,000 x 16 set (64 MB x,
 * 4 MB y) on this machine's disk: storing peaks at 70 MB instead of 135 MB; loading
 * takes 0.15 s instead of 0.20 s and peaks at 70 MB instead of 135 MB.  Storing
 * still takes 0.75-0.9 s, as before: ~0.45 s of it is the WAL checkpoint that
 * SQLite runs at the commit (two fdatasync's of 64 MB, ~0.17 s each, the disk's
 * speed; a bare "INSERT zeroblob(64 MB)" in the sqlite3 shell takes as long), and the
 * zero-filled pages, spilled to the WAL before they are overwritten, cost ~0.05 s
 * more page I/O than the 64 MB copy did.  y lies after x in the record, so reaching
 * it walks x's overflow chain once (~0.04 s).  The page size stays SQLite's 4096 and
 * the cache its 2 MB: 64 KiB pages store such a set in ~0.5 s but make a one-row
 * prediction commit 5x slower (50 -> 265 us), and a larger cache only adds memory
 * (a 32 MB cache: same time, 102 MB peak).
 *
 * Prediction ids come from a counter in the store (state 'next_prediction_id'), moved
 * on by store_reserve_ids in one BEGIN IMMEDIATE transaction, so several processes on
 * one file never hand out the same id; each reserves a block and counts in memory.
 *
 * A write that finds another connection holding the write lock waits up to the busy
 * timeout (store_set_busy_timeout), then fails with SQLite's "database is locked";
 * store_log_predictions_busy says so (*busy), so the caller keeps the batch and retries
 * instead of losing it.  A failed batch, busy or not, leaves nothing behind.
 *
 * Guarantees.
 * - Every write is one transaction begun with BEGIN IMMEDIATE (the write lock is taken
 *   up front, so a read-then-write never fails half way with SQLITE_BUSY) and rolled
 *   back on any failure: a failed call leaves the store exactly as it was.
 * - A data set read back is checked: blob sizes against its shape, labels against its
 *   classes, and the recomputed content hash against the stored one.
 * - Values always go through bound parameters, never into SQL text.
 * - A file that is not SQLite, a SQLite file of another program, and a store written by
 *   a newer mlwb are refused by store_open with a message naming the path.
 * - Error messages start with the store path and end with the reason (SQLite's own
 *   text when SQLite failed), e.g. "mlwb.db: cannot store model: database is locked".
 *
 * Threads.  A store handle belongs to the thread that opened it (the connection is
 * opened NOMUTEX): other threads open their own handle on the same file.
 */
#include "mlwb/store/store.h"
#include "store_int.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define STORE_APP_ID 0x6d6c7762 /* "mlwb" in PRAGMA application_id */
#define STORE_BUSY_TIMEOUT_MS 5000
#define RESTART_WAIT_MS 100 /* how long a checkpoint waits to start the WAL over */


/* Migration i takes user_version i to i+1.  Append only; never edit a shipped one. */
static const char *const migrations[] = {
    /* 0 -> 1: the first schema. */
    "CREATE TABLE datasets("
    "  version INTEGER PRIMARY KEY,"
    "  source TEXT,"
    "  created REAL,"
    "  rows INTEGER,"
    "  cols INTEGER,"
    "  nclasses INTEGER,"
    "  hash TEXT,"
    "  schema TEXT," /* {"features":[...],"label":"species"|null,"classes":[...]} */
    "  x BLOB,"      /* rows*cols float32 little-endian, row-major */
    "  y BLOB"       /* rows int32 little-endian, or NULL */
    ");"
    "CREATE TABLE models("
    "  version INTEGER PRIMARY KEY,"
    "  kind TEXT,"
    "  params TEXT,"
    "  metrics TEXT,"
    "  dataset_version INTEGER,"
    "  created REAL,"
    "  train_seconds REAL,"
    "  blob BLOB"
    ");"
    "CREATE TABLE state(key TEXT PRIMARY KEY, value);"
    "CREATE TABLE predictions("
    "  id INTEGER PRIMARY KEY,"
    "  model_version INTEGER,"
    "  created REAL,"
    "  input TEXT,"
    "  output TEXT,"
    "  latency_ms REAL,"
    "  origin TEXT"
    ");"
    "CREATE TABLE feedback("
    "  prediction_id INTEGER PRIMARY KEY REFERENCES predictions(id),"
    "  label TEXT,"
    "  created REAL"
    ");",
    /* 1 -> 2: data sets are found by content (a load of known content makes no new
     * version, whichever version holds it). */
    "CREATE INDEX datasets_hash ON datasets(hash);",
    /* 2 -> 3: a model keeps the tuning curve it was chosen from. */
    "ALTER TABLE models ADD COLUMN curve TEXT;",
    /* 3 -> 4: quality per model version counts its predictions without a full scan. */
    "CREATE INDEX predictions_model ON predictions(model_version);",
    /* 4 -> 5: the counts are kept instead, one row per version, raised with each batch
     * of the log: the index cost the log writer a third of its time per row (1.3 of
     * 3.5 us), and the newest inputs of a version are the last rows anyway (read
     * backwards by id). */
    "CREATE TABLE prediction_counts(model_version INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
    "INSERT INTO prediction_counts SELECT model_version, count(*) FROM predictions"
    "  WHERE model_version IS NOT NULL GROUP BY model_version;"
    "DROP INDEX predictions_model;",
};
#define STORE_SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* --- small helpers -------------------------------------------------------------- */

double st_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int host_is_le(void)
{
    const uint32_t one = 1;
    return *(const unsigned char *)&one == 1;
}

/* Convert n 4-byte words between host order and little-endian, in place. */
static void le32_swap(void *p, size_t n)
{
    if (host_is_le())
        return;
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++, b += 4) {
        unsigned char t = b[0];
        b[0] = b[3];
        b[3] = t;
        t = b[1];
        b[1] = b[2];
        b[2] = t;
    }
}

/* "PATH: WHAT: sqlite's reason".  Also notes whether SQLite failed because another
 * connection held the lock past the busy timeout (SQLITE_BUSY and its extended codes),
 * which callers that report "busy" read back from st->busy. */
mlwb_status st_db_fail(store *st, char **err, const char *what)
{
    int code = sqlite3_extended_errcode(st->db) & 0xff;
    st->busy = code == SQLITE_BUSY;
    /* SQLite's words, with what they mean for the user where they are terse */
    const char *hint = code == SQLITE_BUSY ? " (another process is writing to the store; "
                                             "try again when it is done)"
                       : code == SQLITE_READONLY ? " (the file or its directory may not be "
                                                   "written)"
                       : code == SQLITE_FULL ? " (free some space and try again)"
                       : code == SQLITE_CORRUPT ? " (the file is damaged: restore it from a "
                                                  "backup)"
                                                : "";
    return err_set(err, MLWB_ERR_STORE, "%s: %s: %s%s", st->path, what,
                   sqlite3_errmsg(st->db), hint);
}

mlwb_status st_prep(store *st, const char *sql, sqlite3_stmt **s, const char *what,
                        char **err)
{
    if (sqlite3_prepare_v2(st->db, sql, -1, s, NULL) != SQLITE_OK)
        return st_db_fail(st, err, what);
    return MLWB_OK;
}

mlwb_status st_tx_begin(store *st, const char *what, char **err)
{
    if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return st_db_fail(st, err, what);
    return MLWB_OK;
}

mlwb_status st_tx_commit(store *st, const char *what, char **err)
{
    if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return st_db_fail(st, err, what);
    return MLWB_OK;
}

/* Roll back the transaction if one is still open (a failure before or at COMMIT). */
void st_tx_end(store *st)
{
    if (!sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* strdup of a text column; NULL for SQL NULL.  *ok = 0 when out of memory. */
static char *col_strdup(sqlite3_stmt *s, int i, int *ok)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    if (!t)
        return NULL;
    char *c = strdup((const char *)t);
    if (!c)
        *ok = 0;
    return c;
}

/* One integer out of a pragma or a one-value query. */
mlwb_status st_query_int(store *st, const char *sql, int64_t *v, const char *what,
                             char **err)
{
    sqlite3_stmt *s = NULL;
    mlwb_status rc = st_prep(st, sql, &s, what, err);
    if (rc != MLWB_OK)
        goto done;
    *v = 0;
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW)
        *v = sqlite3_column_int64(s, 0);
    else if (r != SQLITE_DONE)
        rc = st_db_fail(st, err, what);
done:
    sqlite3_finalize(s);
    return rc;
}

static mlwb_status state_get(store *st, const char *key, int64_t *v, const char *what,
                             char **err)
{
    sqlite3_stmt *s = NULL;
    *v = 0;
    mlwb_status rc = st_prep(st, "SELECT value FROM state WHERE key = ?1", &s, what, err);
    if (rc != MLWB_OK)
        goto done;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW)
        *v = sqlite3_column_int64(s, 0);
    else if (r != SQLITE_DONE)
        rc = st_db_fail(st, err, what);
done:
    sqlite3_finalize(s);
    return rc;
}

/* Inside a transaction. */
static mlwb_status state_set(store *st, const char *key, int64_t v, const char *what,
                             char **err)
{
    sqlite3_stmt *s = NULL;
    mlwb_status rc = st_prep(st,
                          "INSERT INTO state(key, value) VALUES(?1, ?2)"
                          " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                          &s, what, err);
    if (rc != MLWB_OK)
        goto done;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, v);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = st_db_fail(st, err, what);
done:
    sqlite3_finalize(s);
    return rc;
}

/* Point state `key` at `version`, which must exist in the table that `exists_sql`
 * queries; otherwise MLWB_ERR_NOTFOUND "no NOUN version V" and nothing changes. */
static mlwb_status state_point(store *st, const char *key, const char *exists_sql,
                               const char *noun, int64_t version, char **err)
{
    char what[64];
    snprintf(what, sizeof what, "cannot select %s %lld", noun, (long long)version);
    sqlite3_stmt *s = NULL;
    mlwb_status rc = st_tx_begin(st, what, err);
    if (rc != MLWB_OK)
        goto done;
    if ((rc = st_prep(st, exists_sql, &s, what, err)) != MLWB_OK)
        goto done;
    sqlite3_bind_int64(s, 1, version);
    int r = sqlite3_step(s);
    if (r == SQLITE_DONE) {
        rc = err_set(err, MLWB_ERR_NOTFOUND, "no %s version %lld", noun, (long long)version);
        goto done;
    }
    if (r != SQLITE_ROW) {
        rc = st_db_fail(st, err, what);
        goto done;
    }
    sqlite3_finalize(s);
    s = NULL;
    if ((rc = state_set(st, key, version, what, err)) != MLWB_OK)
        goto done;
    rc = st_tx_commit(st, what, err);
done:
    sqlite3_finalize(s);
    st_tx_end(st);
    return rc;
}

/* --- open, identity, migrations ---------------------------------------------------- */

/* A failure while first touching the file: SQLITE_NOTADB means it is not a database. */
static mlwb_status open_fail(store *st, char **err)
{
    if (sqlite3_errcode(st->db) == SQLITE_NOTADB)
        return err_set(err, MLWB_ERR_STORE, "%s: not an mlwb store: %s", st->path,
                       sqlite3_errmsg(st->db));
    return st_db_fail(st, err, "cannot open");
}

/* Refuse another program's SQLite file and a store from a newer mlwb. */
static mlwb_status check_identity(store *st, int64_t *user_version, char **err)
{
    int64_t app = 0, nobj = 0;
    mlwb_status rc = st_query_int(st, "PRAGMA application_id", &app, "cannot open", err);
    if (rc == MLWB_OK)
        rc = st_query_int(st, "PRAGMA user_version", user_version, "cannot open", err);
    if (rc == MLWB_OK && app == 0)
        rc = st_query_int(st, "SELECT count(*) FROM sqlite_master", &nobj, "cannot open", err);
    if (rc != MLWB_OK)
        goto done;
    if (app != 0 && app != STORE_APP_ID) {
        rc = err_set(err, MLWB_ERR_STORE,
                     "%s: not an mlwb store: the database belongs to another program "
                     "(application_id 0x%08llx)",
                     st->path, (unsigned long long)(uint32_t)app);
    } else if (app == 0 && (*user_version != 0 || nobj != 0)) {
        rc = err_set(err, MLWB_ERR_STORE,
                     "%s: not an mlwb store: the database already holds another program's "
                     "tables",
                     st->path);
    } else if (*user_version > STORE_SCHEMA_VERSION || *user_version < 0) {
        rc = err_set(err, MLWB_ERR_STORE,
                     "%s: store schema version %lld is newer than this mlwb supports (%d); "
                     "use a newer mlwb",
                     st->path, (long long)*user_version, STORE_SCHEMA_VERSION);
    }
done:
    return rc;
}

/* Apply migrations until user_version is STORE_SCHEMA_VERSION, one transaction each.
 * The version is re-read under the write lock, so a concurrent opener is harmless. */
static mlwb_status migrate(store *st, char **err)
{
    mlwb_status rc = MLWB_OK;
    for (;;) {
        int64_t v = 0;
        char what[64], bump[96];
        if ((rc = st_tx_begin(st, "cannot upgrade the schema", err)) != MLWB_OK)
            goto done;
        if ((rc = st_query_int(st, "PRAGMA user_version", &v, "cannot upgrade the schema",
                            err)) != MLWB_OK)
            goto done;
        if (v >= STORE_SCHEMA_VERSION)
            break;
        snprintf(what, sizeof what, "cannot upgrade the schema from version %lld",
                 (long long)v);
        snprintf(bump, sizeof bump, "PRAGMA application_id = %d; PRAGMA user_version = %lld;",
                 STORE_APP_ID, (long long)v + 1);
        if (sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(st->db, bump, NULL, NULL, NULL) != SQLITE_OK) {
            rc = st_db_fail(st, err, what);
            goto done;
        }
        if ((rc = st_tx_commit(st, what, err)) != MLWB_OK)
            goto done;
    }
done:
    st_tx_end(st);
    return rc;
}

/* A read-only file: reading a WAL store needs its -shm file, which cannot be made in
 * a directory we may not write.  Then, when no -wal file holds unfinished changes, the
 * file is opened as immutable (SQLite reads it without any locking or side file). */
static mlwb_status reopen_readonly(store *st, char **err)
{
    int64_t probe = 0;
    char *e2 = NULL;
    if (st_query_int(st, "PRAGMA user_version", &probe, "cannot open", &e2) == MLWB_OK)
        return MLWB_OK;
    size_t n = strlen(st->path);
    char *wal = malloc(n + 5), *uri = malloc(n * 3 + 32);
    struct stat sb;
    int have_wal = 0;
    if (wal) {
        snprintf(wal, n + 5, "%s-wal", st->path);
        have_wal = stat(wal, &sb) == 0 && sb.st_size > 0;
    }
    free(wal);
    if (!uri || have_wal) {
        free(uri);
        mlwb_status rc = err_set(err, MLWB_ERR_STORE, "%s", e2);  /* SQLite's, with the path */
        free(e2);
        return rc;
    }
    /* file: URI, percent-encoding what a URI would read otherwise */
    size_t o = (size_t)snprintf(uri, 8, "file:");
    for (const unsigned char *p = (const unsigned char *)st->path; *p; p++) {
        if (*p == '%' || *p == '?' || *p == '#' || *p < 0x20 || *p >= 0x7f)
            o += (size_t)sprintf(uri + o, "%%%02X", *p);
        else
            uri[o++] = (char)*p;
    }
    snprintf(uri + o, 24, "?immutable=1");
    sqlite3_close_v2(st->db);
    st->db = NULL;
    int r = sqlite3_open_v2(uri, &st->db,
                            SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
    free(uri);
    if (r != SQLITE_OK || !st->db) {
        free(e2);
        return st->db ? st_db_fail(st, err, "cannot open read-only")
                      : err_set(err, MLWB_ERR_NOMEM, "%s: cannot open: out of memory",
                                st->path);
    }
    free(e2);
    return MLWB_OK;
}

mlwb_status store_open(const char *path, store **out, char **err)
{
    mlwb_status rc = MLWB_OK;
    int64_t version = 0;
    store *st = calloc(1, sizeof *st);
    *out = NULL;
    if (!st || !(st->path = strdup(path))) {
        rc = err_set(err, MLWB_ERR_NOMEM, "%s: cannot open: out of memory", path);
        goto done;
    }
    int r = sqlite3_open_v2(path, &st->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                            NULL);
    if (r != SQLITE_OK) {
        rc = st->db ? st_db_fail(st, err, "cannot open")
                    : err_set(err, MLWB_ERR_NOMEM, "%s: cannot open: out of memory", path);
        goto done;
    }
    sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
    st->busy_ms = STORE_BUSY_TIMEOUT_MS;
    /* A file we may not write (a read-only mount, another user's store) opens read-only:
     * browsing, predicting and serving work; every write fails naming the store. */
    st->readonly = sqlite3_db_readonly(st->db, "main") == 1;
    if (!st->readonly &&
        sqlite3_exec(st->db,
                     "PRAGMA journal_mode = WAL;"
                     "PRAGMA synchronous = NORMAL;"
                     "PRAGMA foreign_keys = ON;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        rc = open_fail(st, err);
        goto done;
    }
    if (st->readonly && (rc = reopen_readonly(st, err)) != MLWB_OK)
        goto done;
    if ((rc = check_identity(st, &version, err)) != MLWB_OK)
        goto done;
    if (version < STORE_SCHEMA_VERSION && st->readonly)
        rc = err_set(err, MLWB_ERR_STORE,
                     "%s: the store is read-only and its schema (version %lld) needs an "
                     "upgrade to version %d: open it once with write access",
                     path, (long long)version, STORE_SCHEMA_VERSION);
    else if (version < STORE_SCHEMA_VERSION)
        rc = migrate(st, err);
done:
    if (rc != MLWB_OK)
        store_close(&st);
    *out = st;
    return rc;
}

void store_close(store **pst)
{
    store *st = *pst;
    *pst = NULL;
    if (!st)
        return;
    sqlite3_finalize(st->ins_pred);
    sqlite3_finalize(st->ins_pred_n);
    sqlite3_finalize(st->cnt_pred);
    sqlite3_close_v2(st->db);
    free(st->path);
    free(st);
}

const char *store_path(const store *st)
{
    return st->path;
}

bool store_readonly(const store *st)
{
    return st->readonly;
}

void store_set_busy_timeout(store *st, int ms)
{
    st->busy_ms = ms > 0 ? ms : 0;
    sqlite3_busy_timeout(st->db, st->busy_ms);
}

/* --- data sets: the schema JSON ----------------------------------------------------- */

static json_t *json_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Append n names to a JSON array; a name that is not UTF-8 cannot go into JSON. */
static mlwb_status names_encode(json_t *arr, char *const *names, size_t n, const char *kind,
                                char **err)
{
    for (size_t i = 0; i < n; i++) {
        json_t *j = json_str_or_null(names ? names[i] : NULL);
        if (!j || json_array_append_new(arr, j) != 0)
            return err_set(err, MLWB_ERR_INVALID, "%s name %zu is not valid UTF-8", kind,
                           i + 1);
    }
    return MLWB_OK;
}

static mlwb_status schema_encode(const ds *d, char **out, char **err)
{
    mlwb_status rc = MLWB_OK;
    json_t *root = json_object(), *feat = json_array(), *cls = json_array();
    json_t *label = NULL;
    *out = NULL;
    if (!root || !feat || !cls) {
        rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = names_encode(feat, d->feature_names, d->cols, "feature", err)) != MLWB_OK ||
        (rc = names_encode(cls, d->class_names, d->nclasses, "class", err)) != MLWB_OK)
        goto done;
    if (!(label = json_str_or_null(d->label_name))) {
        rc = err_set(err, MLWB_ERR_INVALID, "label name is not valid UTF-8");
        goto done;
    }
    json_object_set_new(root, "features", feat);
    json_object_set_new(root, "label", label);
    json_object_set_new(root, "classes", cls);
    feat = cls = label = NULL;
    if (d->col_missing) {
        json_t *miss = json_array();
        for (size_t j = 0; miss && j < d->cols; j++)
            json_array_append_new(miss, json_integer((json_int_t)d->col_missing[j]));
        json_object_set_new(root, "missing", miss);
    }
    if (d->rows_dropped)
        json_object_set_new(root, "rows_dropped", json_integer((json_int_t)d->rows_dropped));
    if (!(*out = json_dumps(root, JSON_COMPACT)))
        rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
done:
    json_decref(root);
    json_decref(feat);
    json_decref(cls);
    json_decref(label);
    return rc;
}

/* n names from a JSON array of strings and nulls into names[n] (already allocated). */
static mlwb_status names_decode(const json_t *arr, char **names, size_t n, const char *kind,
                                char **err)
{
    for (size_t i = 0; i < n; i++) {
        const json_t *j = json_array_get(arr, i);
        if (json_is_null(j))
            continue;
        if (!json_is_string(j))
            return err_set(err, MLWB_ERR_PARSE, "%s name %zu is not a string", kind, i + 1);
        if (!(names[i] = strdup(json_string_value(j))))
            return err_set(err, MLWB_ERR_NOMEM, "out of memory");
    }
    return MLWB_OK;
}

/* Fill d's feature names, label name and class names (d->cols, d->nclasses are set). */
static mlwb_status schema_decode(ds *d, const char *text, char **err)
{
    mlwb_status rc = MLWB_OK;
    json_error_t je;
    json_t *root = text ? json_loads(text, 0, &je) : NULL;
    const json_t *feat = json_object_get(root, "features");
    const json_t *cls = json_object_get(root, "classes");
    const json_t *label = json_object_get(root, "label");
    if (!json_is_array(feat) || !json_is_array(cls) ||
        !(json_is_null(label) || json_is_string(label))) {
        rc = err_set(err, MLWB_ERR_PARSE, "its schema is not valid JSON of the expected shape");
        goto done;
    }
    if (json_array_size(feat) != d->cols || json_array_size(cls) != d->nclasses) {
        rc = err_set(err, MLWB_ERR_PARSE,
                     "its schema names %zu features and %zu classes, expected %zu and %zu",
                     json_array_size(feat), json_array_size(cls), d->cols, d->nclasses);
        goto done;
    }
    if (d->nclasses > 0 && !(d->class_names = calloc(d->nclasses, sizeof(char *)))) {
        rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = names_decode(feat, d->feature_names, d->cols, "feature", err)) != MLWB_OK ||
        (rc = names_decode(cls, d->class_names, d->nclasses, "class", err)) != MLWB_OK)
        goto done;
    if (json_is_string(label) && !(d->label_name = strdup(json_string_value(label)))) {
        rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
        goto done;
    }
    const json_t *miss = json_object_get(root, "missing");
    if (json_is_array(miss) && json_array_size(miss) == d->cols && d->cols > 0) {
        if (!(d->col_missing = calloc(d->cols, sizeof *d->col_missing))) {
            rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (size_t j = 0; j < d->cols; j++) {
            json_int_t m = json_integer_value(json_array_get(miss, j));
            d->col_missing[j] = m > 0 ? (size_t)m : 0;
        }
    }
    json_int_t dropped = json_integer_value(json_object_get(root, "rows_dropped"));
    d->rows_dropped = dropped > 0 ? (size_t)dropped : 0;
done:
    json_decref(root);
    return rc;
}

/* Double a list's room (16 to start); 0 when out of memory (the list is kept). */
static int grow_list(void **a, size_t *cap, size_t elem)
{
    size_t ncap = *cap ? 2 * *cap : 16;
    void *na = realloc(*a, ncap * elem);
    if (!na)
        return 0;
    *a = na;
    *cap = ncap;
    return 1;
}

/* --- data sets ---------------------------------------------------------------------- */

/* Incremental blob I/O moves a data set's bytes between its own buffers and the
 * file in chunks of this size (a multiple of 4; blob offsets are ints). */
#define STORE_BLOB_CHUNK ((size_t)1 << 20)

/* Write len bytes into column `col` of data set row `version`, which this transaction
 * inserted as zeroblob(len), through an incremental blob handle, chunk by chunk.  On a
 * big-endian host each chunk is first copied into `swap` (STORE_BLOB_CHUNK bytes) and
 * turned little-endian; on a little-endian host `swap` is NULL and nothing is copied. */
static mlwb_status blob_put(store *st, const char *col, int64_t version, const void *data,
                            size_t len, unsigned char *swap, const char *what, char **err)
{
    mlwb_status rc = MLWB_OK;
    sqlite3_blob *b = NULL;
    const unsigned char *p = data;
    if (len == 0)
        return MLWB_OK;
    if (sqlite3_blob_open(st->db, "main", "datasets", col, version, 1, &b) != SQLITE_OK) {
        rc = st_db_fail(st, err, what);
        goto done;
    }
    for (size_t off = 0; off < len; off += STORE_BLOB_CHUNK) {
        size_t n = len - off < STORE_BLOB_CHUNK ? len - off : STORE_BLOB_CHUNK;
        const void *src = p + off;
        if (swap) {
            memcpy(swap, src, n);
            le32_swap(swap, n / 4);
            src = swap;
        }
        if (sqlite3_blob_write(b, src, (int)n, (int)off) != SQLITE_OK) {
            rc = st_db_fail(st, err, what);
            goto done;
        }
    }
done:
    if (b && sqlite3_blob_close(b) != SQLITE_OK && rc == MLWB_OK)
        rc = st_db_fail(st, err, what);
    return rc;
}

mlwb_status store_put_dataset(store *st, const ds *d, int64_t *version, int *is_new,
                              char **err)
{
    static const char what[] = "cannot store dataset";
    mlwb_status rc = MLWB_OK;
    sqlite3_stmt *s = NULL;
    char *schema = NULL;
    unsigned char *swap = NULL;
    int64_t v = 0;
    int fresh = 0;
    size_t xbytes = d->rows * d->cols * sizeof(float), ybytes = d->rows * sizeof(int32_t);
    size_t limit = (size_t)sqlite3_limit(st->db, SQLITE_LIMIT_LENGTH, -1);

    *version = 0;
    if (is_new)
        *is_new = 0;
    if (strlen(d->hash) != 16) {
        rc = err_set(err, MLWB_ERR_INVALID, "%s: %s: it has no content hash", st->path, what);
        goto done;
    }
    if (xbytes > limit) {
        rc = err_set(err, MLWB_ERR_INVALID,
                     "%s: %s: its %zu x %zu features take %zu bytes, more than one SQLite "
                     "blob holds (%zu)",
                     st->path, what, d->rows, d->cols, xbytes, limit);
        goto done;
    }
    if ((rc = schema_encode(d, &schema, err)) != MLWB_OK) {
        err_prefix(err, "%s: %s", st->path, what);
        goto done;
    }
    if (!host_is_le() && !(swap = malloc(STORE_BLOB_CHUNK))) {
        rc = err_set(err, MLWB_ERR_NOMEM, "%s: %s: out of memory", st->path, what);
        goto done;
    }

    if ((rc = st_tx_begin(st, what, err)) != MLWB_OK)
        goto done;
    if ((rc = st_prep(st, "SELECT version FROM datasets WHERE hash = ?1 ORDER BY version DESC LIMIT 1",
                   &s, what, err)) != MLWB_OK)
        goto done;
    sqlite3_bind_text(s, 1, d->hash, -1, SQLITE_STATIC);
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW) {
        v = sqlite3_column_int64(s, 0);
    } else if (r != SQLITE_DONE) {
        rc = st_db_fail(st, err, what);
        goto done;
    }
    sqlite3_finalize(s);
    s = NULL;

    if (v == 0) {
        /* The row goes in with zero-filled blobs of the right sizes, then the bytes go
         * straight from d->x and d->y into those pages: no copy of the matrix is made.
         * SQLite leaves a zeroblob unexpanded only when no non-empty value follows it
         * in the record: x and y must stay the last columns written (a column added
         * later must be inserted NULL here, or each insert allocates the blobs). */
        if ((rc = st_prep(st,
                       "INSERT INTO datasets(source, created, rows, cols, nclasses, hash,"
                       " schema, x, y) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                       &s, what, err)) != MLWB_OK)
            goto done;
        sqlite3_bind_text(s, 1, d->source, -1, SQLITE_STATIC);
        sqlite3_bind_double(s, 2, d->loaded_at > 0 ? d->loaded_at : st_now_seconds());
        sqlite3_bind_int64(s, 3, (sqlite3_int64)d->rows);
        sqlite3_bind_int64(s, 4, (sqlite3_int64)d->cols);
        sqlite3_bind_int64(s, 5, (sqlite3_int64)d->nclasses);
        sqlite3_bind_text(s, 6, d->hash, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 7, schema, -1, SQLITE_STATIC);
        if (sqlite3_bind_zeroblob64(s, 8, xbytes) != SQLITE_OK ||
            (d->y && sqlite3_bind_zeroblob64(s, 9, ybytes) != SQLITE_OK) ||
            sqlite3_step(s) != SQLITE_DONE) {
            rc = st_db_fail(st, err, what);
            goto done;
        }
        v = sqlite3_last_insert_rowid(st->db);
        if ((rc = blob_put(st, "x", v, d->x, xbytes, swap, what, err)) != MLWB_OK ||
            (d->y && (rc = blob_put(st, "y", v, d->y, ybytes, swap, what, err)) != MLWB_OK))
            goto done;
        fresh = 1;
    }
    if ((rc = state_set(st, "current_dataset", v, what, err)) != MLWB_OK)
        goto done;
    /* A big new version would make this commit also checkpoint the WAL into the
     * database (two fdatasyncs of the whole blob, about 0.45 s for 64 MB here).  Leave
     * that to the next commit on any connection (or the last close), so the version is
     * stored, and visible, as soon as its bytes are in the WAL. */
    if (fresh)
        sqlite3_wal_autocheckpoint(st->db, 0);
    rc = st_tx_commit(st, what, err);
    if (fresh)
        sqlite3_wal_autocheckpoint(st->db, 1000);  /* SQLite's default */
    if (rc != MLWB_OK)
        goto done;
    *version = v;
    if (is_new)
        *is_new = fresh;
done:
    sqlite3_finalize(s);
    st_tx_end(st);
    free(schema);
    free(swap);
    return rc;
}

/* Open column `col` of data set row `version` for reading; *len gets its size in bytes.
 * A NULL value opens nothing and has size 0. */
static mlwb_status blob_open_read(store *st, const char *col, int64_t version, int is_null,
                                  sqlite3_blob **b, size_t *len, const char *what, char **err)
{
    *b = NULL;
    *len = 0;
    if (is_null)
        return MLWB_OK;
    if (sqlite3_blob_open(st->db, "main", "datasets", col, version, 0, b) != SQLITE_OK)
        return st_db_fail(st, err, what); /* *b is NULL */
    *len = (size_t)sqlite3_blob_bytes(*b);
    return MLWB_OK;
}

/* Read len bytes of an open blob straight into buf, chunk by chunk. */
static mlwb_status blob_get(store *st, sqlite3_blob *b, void *buf, size_t len,
                            const char *what, char **err)
{
    unsigned char *p = buf;
    for (size_t off = 0; off < len; off += STORE_BLOB_CHUNK) {
        size_t n = len - off < STORE_BLOB_CHUNK ? len - off : STORE_BLOB_CHUNK;
        if (sqlite3_blob_read(b, p + off, (int)n, (int)off) != SQLITE_OK)
            return st_db_fail(st, err, what);
    }
    return MLWB_OK;
}

mlwb_status store_get_dataset(store *st, int64_t version, ds **out, char **err)
{
    mlwb_status rc = MLWB_OK;
    sqlite3_stmt *s = NULL;
    sqlite3_blob *xh = NULL, *yh = NULL;
    ds *d = NULL;
    char what[64];
    snprintf(what, sizeof what, "cannot read dataset %lld", (long long)version);
    *out = NULL;

    /* typeof() does not load a blob (SQLite only looks at its header); the bytes are
     * read below, straight into the new data set, while this statement keeps the read
     * snapshot open. */
    if ((rc = st_prep(st,
                   "SELECT source, created, rows, cols, nclasses, hash, schema,"
                   " typeof(x), typeof(y) FROM datasets WHERE version = ?1",
                   &s, what, err)) != MLWB_OK)
        goto done;
    sqlite3_bind_int64(s, 1, version);
    int r = sqlite3_step(s);
    if (r == SQLITE_DONE) {
        rc = err_set(err, MLWB_ERR_NOTFOUND, "no dataset version %lld", (long long)version);
        goto done;
    }
    if (r != SQLITE_ROW) {
        rc = st_db_fail(st, err, what);
        goto done;
    }
    int64_t rows = sqlite3_column_int64(s, 2), cols = sqlite3_column_int64(s, 3);
    int64_t ncl = sqlite3_column_int64(s, 4);
    const char *hash = (const char *)sqlite3_column_text(s, 5);
    char stored_hash[17];
    snprintf(stored_hash, sizeof stored_hash, "%s", hash ? hash : "");
    const char *xtype = (const char *)sqlite3_column_text(s, 7);
    const char *ytype = (const char *)sqlite3_column_text(s, 8);
    if (!xtype || !ytype) {
        rc = err_set(err, MLWB_ERR_NOMEM, "%s: %s: out of memory", st->path, what);
        goto done;
    }
    int x_null = strcmp(xtype, "null") == 0, labelled = strcmp(ytype, "null") != 0;
    if ((!x_null && strcmp(xtype, "blob") != 0) || (labelled && strcmp(ytype, "blob") != 0)) {
        int xbad = !x_null && strcmp(xtype, "blob") != 0;
        rc = err_set(err, MLWB_ERR_STORE,
                     "%s: dataset %lld is corrupted: %s holds %s, not a blob", st->path,
                     (long long)version, xbad ? "x" : "y", xbad ? xtype : ytype);
        goto done;
    }

    if (rows < 0 || cols < 0 || ncl < 0 || (uint64_t)rows > SIZE_MAX / 4 ||
        (cols > 0 && (uint64_t)rows > SIZE_MAX / 4 / (uint64_t)cols)) {
        rc = err_set(err, MLWB_ERR_STORE, "%s: dataset %lld is corrupted: bad shape %lld x %lld",
                     st->path, (long long)version, (long long)rows, (long long)cols);
        goto done;
    }
    size_t nr = (size_t)rows, nc = (size_t)cols, xlen = 0, ylen = 0;
    if ((rc = blob_open_read(st, "x", version, x_null, &xh, &xlen, what, err)) != MLWB_OK ||
        (rc = blob_open_read(st, "y", version, !labelled, &yh, &ylen, what, err)) != MLWB_OK)
        goto done;
    if (xlen != nr * nc * sizeof(float) || (labelled && ylen != nr * sizeof(int32_t))) {
        rc = err_set(err, MLWB_ERR_STORE,
                     "%s: dataset %lld is corrupted: %s blob holds %zu bytes, expected %zu",
                     st->path, (long long)version, xlen != nr * nc * sizeof(float) ? "x" : "y",
                     xlen != nr * nc * sizeof(float) ? xlen : ylen,
                     xlen != nr * nc * sizeof(float) ? nr * nc * sizeof(float)
                                                     : nr * sizeof(int32_t));
        goto done;
    }
    if ((rc = ds_new(nr, nc, labelled, &d, err)) != MLWB_OK) {
        err_prefix(err, "%s: %s", st->path, what);
        goto done;
    }
    d->nclasses = (size_t)ncl;
    if ((rc = blob_get(st, xh, d->x, xlen, what, err)) != MLWB_OK)
        goto done;
    le32_swap(d->x, nr * nc);
    if (labelled) {
        if ((rc = blob_get(st, yh, d->y, ylen, what, err)) != MLWB_OK)
            goto done;
        le32_swap(d->y, nr);
        for (size_t i = 0; i < nr; i++)
            if (d->y[i] < 0 || (size_t)d->y[i] >= d->nclasses) {
                rc = err_set(err, MLWB_ERR_STORE,
                             "%s: dataset %lld is corrupted: row %zu has class %ld of %zu",
                             st->path, (long long)version, i + 1, (long)d->y[i], d->nclasses);
                goto done;
            }
    }
    if ((rc = schema_decode(d, (const char *)sqlite3_column_text(s, 6), err)) != MLWB_OK) {
        if (rc != MLWB_ERR_NOMEM)
            rc = MLWB_ERR_STORE;
        err_prefix(err, "%s: dataset %lld is corrupted", st->path, (long long)version);
        goto done;
    }
    int ok = 1;
    d->source = col_strdup(s, 0, &ok);
    if (!ok) {
        rc = err_set(err, MLWB_ERR_NOMEM, "%s: %s: out of memory", st->path, what);
        goto done;
    }
    d->loaded_at = sqlite3_column_double(s, 1);
    d->version = version;
    ds_finish(d);
    if (strcmp(d->hash, stored_hash) != 0) {
        rc = err_set(err, MLWB_ERR_STORE, "%s: dataset %lld is corrupted: hash mismatch",
                     st->path, (long long)version);
        goto done;
    }
    *out = d;
    d = NULL;
done:
    sqlite3_blob_close(xh);
    sqlite3_blob_close(yh);
    sqlite3_finalize(s);
    ds_release(&d);
    return rc;
}

mlwb_status store_list_datasets(store *st, store_dataset_info **list, size_t *n, char **err)
{
    static const char what[] = "cannot list datasets";
    mlwb_status rc = MLWB_OK;
    sqlite3_stmt *s = NULL;
    store_dataset_info *a = NULL;
    size_t len = 0, cap = 0;
    int r, ok = 1;
    *list = NULL;
    *n = 0;
    if ((rc = st_prep(st,
                   "SELECT version, source, created, rows, cols, nclasses, hash"
                   " FROM datasets ORDER BY version",
                   &s, what, err)) != MLWB_OK)
        goto done;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        if (len == cap && !grow_list((void **)&a, &cap, sizeof *a)) {
            rc = err_set(err, MLWB_ERR_NOMEM, "%s: %s: out of memory", st->path, what);
            goto done;
        }
        store_dataset_info *e = &a[len++];
        memset(e, 0, sizeof *e);
        e->version = sqlite3_column_int64(s, 0);
        e->source = col_strdup(s, 1, &ok);
        e->created = sqlite3_column_double(s, 2);
        e->rows = (size_t)sqlite3_column_int64(s, 3);
        e->cols = (size_t)sqlite3_column_int64(s, 4);
        e->nclasses = (size_t)sqlite3_column_int64(s, 5);
        const char *h = (const char *)sqlite3_column_text(s, 6);
        snprintf(e->hash, sizeof e->hash, "%s", h ? h : "");
        if (!ok) {
            rc = err_set(err, MLWB_ERR_NOMEM, "%s: %s: out of memory", st->path, what);
            goto done;
        }
    }
    if (r != SQLITE_DONE) {
        rc = st_db_fail(st, err, what);
        goto done;
    }
    *list = a;
    *n = len;
    a = NULL;
    len = 0;
done:
    sqlite3_finalize(s);
    for (size_t i = 0; i < len; i++)
        store_dataset_info_clear(&a[i]);
    free(a);
    return rc;
}

void store_dataset_info_clear(store_dataset_info *info)
{
    free(info->source);
    info->source = NULL;
}

mlwb_status store_current_dataset(store *st, int64_t *version, char **err)
{
    return state_get(st, "current_dataset", version, "cannot read the current dataset", err);
}

mlwb_status store_set_current_dataset(store *st, int64_t version, char **err)
{
    return state_point(st, "current_dataset", "SELECT 1 FROM datasets WHERE version = ?1",
                       "dataset", version, err);
}

/* --- models ------------------------------------------------------------------------- */

/* The columns every model query selects, in this order (columns 0..8; the blob may
 * follow as column 9). */
#define MODEL_COLUMNS                                                                     \
    "version, kind, params, metrics, dataset_version, created, train_seconds,"           \
    " version IS (SELECT value FROM state WHERE key = 'active_model'), curve"

/* Fill info from a row of MODEL_COLUMNS; returns 0 when out of memory. */
static int model_row(sqlite3_stmt *s, store_model_info *info)
{
    int ok = 1;
    memset(info, 0, sizeof *info);
    info->version = sqlite3_column_int64(s, 0);
    const char *kind = (const char *)sqlite3_column_text(s, 1);
    snprintf(info->kind, sizeof info->kind, "%s", kind ? kind : "");
    info->params_json = col_strdup(s, 2, &ok);
    info->metrics_json = col_strdup(s, 3, &ok);
    info->dataset_version = sqlite3_column_int64(s, 4);
    info->created = sqlite3_column_double(s, 5);
    info->train_seconds = sqlite3_column_double(s, 6);
    info->active = sqlite3_column_int(s, 7) != 0;
    if (sqlite3_column_type(s, 8) != SQLITE_NULL)
        info->curve_json = col_strdup(s, 8, &ok);
    return ok;
}

mlwb_status store_put_model(store *st, const store_model_info *info, const void *blob,
                            size_t len, int activate, int64_t *version, char **err)
{
    static const char what[] = "cannot store model";
    mlwb_status rc = MLWB_OK;
    sqlite3_stmt *s = NULL;
    *version = 0;
    if ((rc = st_tx_begin(st, what, err)) != MLWB_OK)
        goto done;
    if ((rc = st_prep(st,
                   "INSERT INTO models(kind, params, metrics, dataset_version, created,"
                   " train_seconds, blob, curve) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                   &s, what, err)) != MLWB_OK)
        goto done;
    sqlite3_bind_text(s, 1, info->kind, (int)strnlen(info->kind, sizeof info->kind),
                      SQLITE_STATIC);
    sqlite3_bind_text(s, 2, info->params_json ? info->params_json : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, info->metrics_json ? info->metrics_json : "{}", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, info->dataset_version);
    sqlite3_bind_double(s, 5, info->created > 0 ? info->created : st_now_seconds());
    sqlite3_bind_double(s, 6, info->train_seconds);
    if (info->curve_json)
        sqlite3_bind_text(s, 8, info->curve_json, -1, SQLITE_STATIC);
    int r = blob ? sqlite3_bind_blob64(s, 7, blob, len, SQLITE_STATIC)
                 : sqlite3_bind_zeroblob(s, 7, 0);
    if (r != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
        rc = st_db_fail(st, err, what);
        goto done;
    }
    int64_t v = sqlite3_last_insert_rowid(st->db);
    if (activate && (rc = state_set(st, "active_model", v, what, err)) != MLWB_OK)
        goto done;
    if ((rc = st_tx_commit(st, what, err)) != MLWB_OK)
        goto done;
    *version = v;
done:
    sqlite3_finalize(s);
    st_tx_end(st);
    return rc;
}

mlwb_status store_get_model(store *st, int64_t version, store_model_info *info, void **blob,
                            size_t *len, char **err)
{
    mlwb_status rc = MLWB_OK;
    sqlite3_stmt *s = NULL;
    char what[64];
    snprintf(what, sizeof what, "cannot read model %lld", (long long)version);
    memset(info, 0, sizeof *info);
    if (blob)
        *blob = NULL;
    if (len)
        *len = 0;
    if ((rc = st_prep(st, "SELECT " MODEL_COLUMNS ", blob FROM models WHERE version = ?1", &s,
                   what, err)) != MLWB_OK)
        goto done;
    sqlite3_bind_int64(s, 1, version);
    int r = sqlite3_step(s);
    if (r == SQLITE_DONE) {
        rc = err_set(err, MLWB_ERR_NOTFOUND, "no model version %lld", (long long)version);
        goto done;
    }
    if (r != SQLITE_ROW) {
        rc = st_db_fail(st, err, what);
        goto done;
    }
    if (!model_row(s, info)) {
        rc = err_set(err, MLWB_ERR_NOMEM, "%s: %s: out of memory", st->path, what);
        goto done;
    }
    if (blob) {
        const void *b = sqlite3_column_blob(s, 9);
        size_t n = (size_t)sqlite3_column_bytes(s, 9);
        if (!(*blob = malloc(n ? n : 1))) {
            rc = err_set(err, MLWB_ERR_NOMEM, "%s: %s: cannot allocate %zu bytes", st->path,
                         what, n);
            goto done;
        }
        if (n)
            memcpy(*blob, b, n);
        if (len)
            *len = n;
    }
done:
    sqlite3_finalize(s);
    if (rc != MLWB_OK)
        store_model_info_clear(info);
    return rc;
}

mlwb_status store_list_models(store *st, store_model_info **list, size_t *n, char **err)
{
    static const char what[] = "cannot list models";
    mlwb_status rc = MLWB_OK;
    sqlite3_stmt *s = NULL;
    store_model_info *a = NULL;
    size_t len = 0, cap = 0;
    int r;
    *list = NULL;
    *n = 0;
    if ((rc = st_prep(st, "SELECT " MODEL_COLUMNS " FROM models ORDER BY version", &s, what,
                   err)) != MLWB_OK)
        goto done;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        if (len == cap && !grow_list((void **)&a, &cap, sizeof *a)) {
            rc = err_set(err, MLWB_ERR_NOMEM, "%s: %s: out of memory", st->path, what);
            goto done;
        }
        if (!model_row(s, &a[len++])) {
            rc = err_set(err, MLWB_ERR_NOMEM, "%s: %s: out of memory", st->path, what);
            goto done;
        }
    }
    if (r != SQLITE_DONE) {
        rc = st_db_fail(st, err, what);
        goto done;
    }
    *list = a;
    *n = len;
    a = NULL;
done:
    sqlite3_finalize(s);
    store_model_list_free(&a, len);
    return rc;
}

void store_model_info_clear(store_model_info *info)
{
    free(info->params_json);
    free(info->metrics_json);
    free(info->curve_json);
    info->params_json = info->metrics_json = info->curve_json = NULL;
}

void store_model_list_free(store_model_info **list, size_t n)
{
    if (!*list)
        return;
    for (size_t i = 0; i < n; i++)
        store_model_info_clear(&(*list)[i]);
    free(*list);
    *list = NULL;
}

mlwb_status store_active_model(store *st, int64_t *version, char **err)
{
    return state_get(st, "active_model", version, "cannot read the active model", err);
}

mlwb_status store_set_active_model(store *st, int64_t version, char **err)
{
    return state_point(st, "active_model", "SELECT 1 FROM models WHERE version = ?1", "model",
                       version, err);
}

/* --- predictions -------------------------------------------------------------------- */

mlwb_status store_log_predictions(store *st, const store_prediction *rows, size_t n,
                                  char **err)
{
    return store_log_predictions_busy(st, rows, n, NULL, err);
}

/* Rows per multi-row INSERT: one statement step per 16 rows costs a third less CPU per
 * row than one per row (2.3 against 3.5 us in 400-row transactions). */
#define STORE_PRED_ROWS 16
#define PRED_COLS "(id, model_version, created, input, output, latency_ms, origin)"

static void bind_prediction(sqlite3_stmt *s, int at, const store_prediction *p)
{
    sqlite3_bind_int64(s, at + 1, p->id);
    sqlite3_bind_int64(s, at + 2, p->model_version);
    sqlite3_bind_double(s, at + 3, p->created > 0 ? p->created : st_now_seconds());
    sqlite3_bind_text(s, at + 4, p->input_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, at + 5, p->output_json, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, at + 6, p->latency_ms);
    sqlite3_bind_text(s, at + 7, p->origin, -1, SQLITE_STATIC);
}

/* The cached statements: one row, and STORE_PRED_ROWS rows. */
static mlwb_status prepare_prediction_inserts(store *st, const char *what, char **err)
{
    mlwb_status rc = MLWB_OK;
    if (!st->ins_pred &&
        (rc = st_prep(st, "INSERT INTO predictions" PRED_COLS " VALUES(?,?,?,?,?,?,?)",
                      &st->ins_pred, what, err)) != MLWB_OK)
        return rc;
    if (!st->ins_pred_n) {
        char sql[64 + sizeof PRED_COLS + STORE_PRED_ROWS * 16];
        int o = snprintf(sql, sizeof sql, "INSERT INTO predictions" PRED_COLS " VALUES");
        for (int r = 0; r < STORE_PRED_ROWS; r++)
            o += snprintf(sql + o, sizeof sql - (size_t)o, "%s(?,?,?,?,?,?,?)", r ? "," : "");
        rc = st_prep(st, sql, &st->ins_pred_n, what, err);
    }
    if (rc == MLWB_OK && !st->cnt_pred)
        rc = st_prep(st,
                     "INSERT INTO prediction_counts(model_version, n) VALUES(?1, ?2)"
                     " ON CONFLICT(model_version) DO UPDATE SET n = n + excluded.n",
                     &st->cnt_pred, what, err);
    return rc;
}

static void release_prediction_inserts(store *st)
{
    sqlite3_stmt *ss[] = {st->ins_pred, st->ins_pred_n, st->cnt_pred};
    for (size_t i = 0; i < 3; i++)
        if (ss[i]) {
            sqlite3_reset(ss[i]);
            sqlite3_clear_bindings(ss[i]); /* drop the caller's pointers */
        }
}

mlwb_status store_log_predictions_busy(store *st, const store_prediction *rows, size_t n,
                                       int *busy, char **err)
{
    static const char what[] = "cannot log predictions";
    mlwb_status rc = MLWB_OK;
    st->busy = 0;
    if (n == 0)
        goto done;
    if ((rc = prepare_prediction_inserts(st, what, err)) != MLWB_OK)
        goto done;
    if ((rc = st_tx_begin(st, what, err)) != MLWB_OK)
        goto done;
    for (size_t i = 0; i < n;) {
        size_t stop = i + STORE_PRED_ROWS <= n ? i + STORE_PRED_ROWS : n;
        if (stop - i == STORE_PRED_ROWS) {
            sqlite3_stmt *s = st->ins_pred_n;
            for (size_t r = i; r < stop; r++)
                bind_prediction(s, (int)(r - i) * 7, &rows[r]);
            int ok = sqlite3_step(s) == SQLITE_DONE;
            sqlite3_reset(s);  /* a failed step undoes its rows, not the transaction */
            if (ok) {
                i = stop;
                continue;
            }
        }
        /* the tail of the batch, or a block that failed: row by row, so a failure
         * names its row */
        for (; i < stop; i++) {
            sqlite3_stmt *s = st->ins_pred;
            sqlite3_reset(s);
            bind_prediction(s, 0, &rows[i]);
            if (sqlite3_step(s) != SQLITE_DONE) {
                char why[64];
                snprintf(why, sizeof why, "cannot log prediction %lld", (long long)rows[i].id);
                rc = st_db_fail(st, err, why);
                goto done;
            }
        }
    }
    /* each version's count, once per run of rows of one version (a batch mostly is) */
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && rows[j].model_version == rows[i].model_version; j++)
            ;
        sqlite3_stmt *s = st->cnt_pred;
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, rows[i].model_version);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)(j - i));
        if (sqlite3_step(s) != SQLITE_DONE) {
            rc = st_db_fail(st, err, "cannot count the logged predictions");
            goto done;
        }
    }
    rc = st_tx_commit(st, what, err);
done:
    release_prediction_inserts(st);
    st_tx_end(st); /* after any failure, even a busy COMMIT, nothing of the batch stays */
    if (busy)
        *busy = rc != MLWB_OK && st->busy;
    return rc;
}

mlwb_status store_max_prediction_id(store *st, int64_t *id, char **err)
{
    return st_query_int(st, "SELECT coalesce(max(id), 0) FROM predictions", id,
                     "cannot read the prediction log", err);
}

/* --- id counters ---------------------------------------------------------------------- */

/* The counters store_reserve_ids knows: each keeps its next id in state key KEY, and
 * never hands out an id at or below the largest one in the table it numbers (ids
 * written by an older mlwb, which counted from max(id)+1 in memory, stay safe). */
static const struct id_counter {
    const char *name, *key, *max_sql;
} id_counters[] = {
    {"prediction", "next_prediction_id", "SELECT coalesce(max(id), 0) FROM predictions"},
};

mlwb_status store_reserve_ids(store *st, const char *counter, int64_t n, int64_t *first,
                              char **err)
{
    mlwb_status rc = MLWB_OK;
    const struct id_counter *c = NULL;
    int64_t next = 0, top = 0;
    char what[96];
    *first = 0;
    for (size_t i = 0; i < sizeof id_counters / sizeof id_counters[0]; i++)
        if (counter && strcmp(counter, id_counters[i].name) == 0)
            c = &id_counters[i];
    if (!c) {
        rc = err_set(err, MLWB_ERR_INVALID,
                     "%s: cannot reserve ids: there is no id counter named \"%s\"", st->path,
                     counter ? counter : "(null)");
        goto done;
    }
    snprintf(what, sizeof what, "cannot reserve %lld %s ids", (long long)n, c->name);
    if (n < 1) {
        rc = err_set(err, MLWB_ERR_INVALID, "%s: %s: the count must be at least 1", st->path,
                     what);
        goto done;
    }
    if ((rc = st_tx_begin(st, what, err)) != MLWB_OK)
        goto done;
    if ((rc = state_get(st, c->key, &next, what, err)) != MLWB_OK ||
        (rc = st_query_int(st, c->max_sql, &top, what, err)) != MLWB_OK)
        goto done;
    if (next > INT64_MAX - n || top >= INT64_MAX - n) {
        rc = err_set(err, MLWB_ERR_STORE,
                     "%s: %s: the ids are used up (next %lld, largest used %lld)", st->path,
                     what, (long long)next, (long long)top);
        goto done;
    }
    if (next <= top)
        next = top + 1; /* absent (0), or behind ids written without the counter */
    if (next < 1)
        next = 1;
    if ((rc = state_set(st, c->key, next + n, what, err)) != MLWB_OK)
        goto done;
    if ((rc = st_tx_commit(st, what, err)) != MLWB_OK)
        goto done;
    *first = next;
done:
    st_tx_end(st);
    return rc;
}

void store_set_autocheckpoint(store *st, int pages)
{
    sqlite3_wal_autocheckpoint(st->db, pages);
}

mlwb_status store_checkpoint(store *st, char **err)
{
    /* Two steps.  A passive checkpoint copies the frames there were when it began,
     * without waiting for anyone.  But SQLite starts the WAL over only when a write
     * transaction begins on a WAL copied to its end, and under steady logging the log
     * writer has always committed more meanwhile: the WAL grew by megabytes a second,
     * without end.  So a restart checkpoint follows: it holds writers off while it
     * copies the few frames added since and waits for readers to leave the WAL, so the
     * next commit starts the WAL over.  It waits RESTART_WAIT_MS at most (a reader in
     * another process may stay long); a writer it holds off waits with its busy
     * timeout, and a busy restart is simply tried again at the next checkpoint. */
    int log = 0;
    int rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, NULL);
    if (rc == SQLITE_OK && log > 0) {
        sqlite3_busy_timeout(st->db, RESTART_WAIT_MS);
        rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
        sqlite3_busy_timeout(st->db, st->busy_ms);
    }
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
        return st_db_fail(st, err, "cannot checkpoint the WAL");
    return MLWB_OK;
}
