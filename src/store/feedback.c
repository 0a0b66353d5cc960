/*
 * feedback.c — feedback on logged predictions and the queries behind `quality` (see
 * mlwb/store/store.h).
 *
 * Design: a feedback row is keyed by its prediction's id, so "once per prediction" is
 * the primary key's job; store_put_feedback reads and writes in one BEGIN IMMEDIATE
 * transaction so two clients racing on one id get one NEW and one SAME/CONFLICT.
 * "Correct" is decided in SQL: the prediction's output {"label": ...} (json_extract)
 * equals the feedback's label.  Per-version counts come from prediction_counts, which
 * the log keeps with each batch (store.c; an index on model_version cost the log writer
 * a third of its time).  A version's newest inputs are read backwards by id, which
 * stops at `limit`: the newest rows are the active version's; a version with no count
 * is not looked for at all.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

mlwb_status store_put_feedback(store *st, int64_t id, const char *label, int *outcome,
                               int64_t *model_version, char **previous, char **err)
{
    static const char what[] = "cannot store the feedback";
    sqlite3_stmt *q = NULL, *ins = NULL;
    mlwb_status rc;
    *outcome = STORE_FB_UNKNOWN;
    if (model_version)
        *model_version = 0;
    if (previous)
        *previous = NULL;
    if ((rc = st_tx_begin(st, what, err)) != MLWB_OK)
        goto out;
    if ((rc = st_prep(st,
                      "SELECT p.model_version, f.label FROM predictions p"
                      " LEFT JOIN feedback f ON f.prediction_id = p.id WHERE p.id = ?1",
                      &q, what, err)) != MLWB_OK)
        goto out;
    sqlite3_bind_int64(q, 1, id);
    int step = sqlite3_step(q);
    if (step == SQLITE_DONE) {  /* no such prediction */
        rc = st_tx_commit(st, what, err);
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = st_db_fail(st, err, what);
        goto out;
    }
    if (model_version)
        *model_version = sqlite3_column_int64(q, 0);
    const unsigned char *had = sqlite3_column_text(q, 1);
    if (had) {
        *outcome = strcmp((const char *)had, label) == 0 ? STORE_FB_SAME : STORE_FB_CONFLICT;
        if (previous && !(*previous = strdup((const char *)had))) {
            rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
            goto out;
        }
        rc = st_tx_commit(st, what, err);
        goto out;
    }
    if ((rc = st_prep(st, "INSERT INTO feedback(prediction_id, label, created) VALUES(?1, ?2, ?3)",
                      &ins, what, err)) != MLWB_OK)
        goto out;
    sqlite3_bind_int64(ins, 1, id);
    sqlite3_bind_text(ins, 2, label, -1, SQLITE_STATIC);
    sqlite3_bind_double(ins, 3, st_now_seconds());
    if (sqlite3_step(ins) != SQLITE_DONE) {
        rc = st_db_fail(st, err, what);
        goto out;
    }
    if ((rc = st_tx_commit(st, what, err)) == MLWB_OK)
        *outcome = STORE_FB_NEW;
out:
    sqlite3_finalize(q);
    sqlite3_finalize(ins);
    st_tx_end(st);
    if (rc != MLWB_OK && previous) {
        free(*previous);
        *previous = NULL;
    }
    return rc;
}

mlwb_status store_quality(store *st, int64_t only, store_quality_row **rows, size_t *n,
                          char **err)
{
    static const char what[] = "cannot read the quality figures";
    sqlite3_stmt *s = NULL;
    store_quality_row *r = NULL;
    size_t cnt = 0, cap = 0;
    mlwb_status rc;
    *rows = NULL;
    *n = 0;
    /* the versions with predictions, then their feedback (one pass over feedback); or,
     * for one version, its count and its feedback alone */
    if (only > 0) {
        if ((rc = st_prep(st,
                          "SELECT ?1, coalesce((SELECT n FROM prediction_counts"
                          "  WHERE model_version = ?1), 0), count(*),"
                          " coalesce(sum(json_extract(p.output, '$.label') = f.label), 0),"
                          " coalesce(sum(coalesce(json_extract(p.output, '$.abstained'), 0)), 0),"
                          " coalesce(max(f.created), 0)"
                          " FROM feedback f JOIN predictions p ON p.id = f.prediction_id"
                          " WHERE p.model_version = ?1",
                          &s, what, err)) != MLWB_OK)
            goto out;
        sqlite3_bind_int64(s, 1, only);
    } else if ((rc = st_prep(st,
                      "SELECT v.model_version, v.n, coalesce(f.fb, 0), coalesce(f.ok, 0),"
                      " coalesce(f.abst, 0), coalesce(f.last, 0) FROM"
                      " (SELECT model_version, n FROM prediction_counts WHERE n > 0) v"
                      " LEFT JOIN"
                      " (SELECT p.model_version AS mv, count(*) AS fb,"
                      "   sum(json_extract(p.output, '$.label') = f.label) AS ok,"
                      "   sum(coalesce(json_extract(p.output, '$.abstained'), 0)) AS abst,"
                      "   max(f.created) AS last"
                      "   FROM feedback f JOIN predictions p ON p.id = f.prediction_id"
                      "   GROUP BY p.model_version) f"
                      " ON f.mv = v.model_version ORDER BY v.model_version",
                      &s, what, err)) != MLWB_OK)
        goto out;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 8;
            store_quality_row *t = realloc(r, nc * sizeof *t);
            if (!t) {
                rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
                goto out;
            }
            r = t;
            cap = nc;
        }
        store_quality_row *q = &r[cnt++];
        q->model_version = sqlite3_column_int64(s, 0);
        q->predictions = sqlite3_column_int64(s, 1);
        q->feedback = sqlite3_column_int64(s, 2);
        q->correct = sqlite3_column_int64(s, 3);
        q->abstained = sqlite3_column_int64(s, 4);
        q->last_feedback = sqlite3_column_double(s, 5);
    }
    if (step != SQLITE_DONE) {
        rc = st_db_fail(st, err, what);
        goto out;
    }
    *rows = r;
    *n = cnt;
    r = NULL;
out:
    free(r);
    sqlite3_finalize(s);
    return rc;
}

mlwb_status store_recent_inputs(store *st, int64_t v, int limit, char ***inputs, size_t *n,
                                char **err)
{
    static const char what[] = "cannot read the recent predictions";
    sqlite3_stmt *s = NULL;
    char **list = NULL;
    size_t cnt = 0;
    mlwb_status rc;
    *inputs = NULL;
    *n = 0;
    if (limit < 1)
        return MLWB_OK;
    if (!(list = calloc((size_t)limit, sizeof *list)))
        return err_set(err, MLWB_ERR_NOMEM, "out of memory");
    if ((rc = st_prep(st, "SELECT input FROM predictions WHERE model_version = ?1 AND"
                          " EXISTS (SELECT 1 FROM prediction_counts WHERE model_version = ?1)"
                          " ORDER BY id DESC LIMIT ?2", &s, what, err)) != MLWB_OK)
        goto out;
    sqlite3_bind_int64(s, 1, v);
    sqlite3_bind_int(s, 2, limit);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW && cnt < (size_t)limit) {
        const unsigned char *t = sqlite3_column_text(s, 0);
        if (!t)
            continue;
        if (!(list[cnt] = strdup((const char *)t))) {
            rc = err_set(err, MLWB_ERR_NOMEM, "out of memory");
            goto out;
        }
        cnt++;
    }
    if (step != SQLITE_DONE && step != SQLITE_ROW) {
        rc = st_db_fail(st, err, what);
        goto out;
    }
    *inputs = list;
    *n = cnt;
    list = NULL;
out:
    if (list) {
        for (size_t i = 0; i < cnt; i++)
            free(list[i]);
        free(list);
    }
    sqlite3_finalize(s);
    return rc;
}
