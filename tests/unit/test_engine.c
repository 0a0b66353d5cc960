/* test_engine.c — the event queue (bounds, what is dropped), the registry (publish and
 * references), the job pool (order, results, errors, cancel), and the command lexer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlwb/cli/cmd.h"
#include "mlwb/engine/events.h"
#include "mlwb/engine/jobs.h"
#include "mlwb/engine/registry.h"

static void events_keep_important_ones(void **state)
{
    ev_queue *q = ev_queue_new(4);
    ev_post(q, EV_PROGRESS, 1, 0, 0.1, "p1");
    ev_post(q, EV_LOG, 0, 0, 0, "log");
    ev_post(q, EV_PROGRESS, 1, 0, 0.2, "p2");
    ev_post(q, EV_PROGRESS, 1, 0, 0.3, "p3");
    /* full: a model event drops the oldest progress (p1) */
    ev_post(q, EV_MODEL, 0, 7, 1, "published");
    /* full of one log, p2, p3, model: progress again drops p2 */
    ev_post(q, EV_PROGRESS, 1, 0, 0.4, "p4");
    /* more non-progress events than the bound: first the progress ones go (p3, p4),
     * then the ring grows: no log or model event is lost */
    for (int i = 0; i < 10; i++)
        ev_postf(q, EV_LOG, 0, 0, "log %d", i);
    struct pollfd p = {ev_fd(q), POLLIN, 0};
    assert_int_equal(poll(&p, 1, 0), 1);
    ev out[32];
    size_t n = ev_drain(q, out, 32);
    assert_int_equal(n, 12);
    assert_string_equal(out[0].text, "log");
    assert_int_equal(out[1].kind, EV_MODEL);
    assert_int_equal(out[1].version, 7);
    assert_string_equal(out[2].text, "log 0");
    assert_string_equal(out[11].text, "log 9");
    assert_int_equal(ev_dropped(q), 4);
    for (size_t i = 0; i < n; i++)
        ev_clear(&out[i]);
    assert_int_equal(poll(&p, 1, 0), 0);  /* drained: no wake-up pending */
    ev_queue_free(&q);
    assert_null(q);
}

static void registry_references(void **state)
{
    registry *r = reg_new();
    assert_null(reg_acquire(r));
    assert_int_equal(reg_active_version(r), 0);
    reg_publish(r, mdl_new(1, "knn", NULL, "{\"k\":1}", NULL, 1, 0));
    mdl *held = reg_acquire(r);
    assert_int_equal(held->version, 1);
    reg_publish(r, mdl_new(2, "knn", NULL, NULL, NULL, 1, 0));
    assert_int_equal(reg_active_version(r), 2);
    /* the reader still holds version 1, intact */
    assert_int_equal(held->version, 1);
    assert_string_equal(held->params_json, "{\"k\":1}");
    assert_int_equal(atomic_load(&held->refs), 1);
    mdl_release(&held);
    assert_null(held);
    mdl *m = reg_acquire(r);
    assert_string_equal(m->metrics_json, "{}");
    mdl_release(&m);
    reg_free(&r);
}

static mlwb_status job_ok(job *j, store *st, void *arg, json_t **result, char **err)
{
    int *order = arg;
    *result = json_pack("{si}", "n", *order);
    job_set_progress(j, 0.5, "half");
    return MLWB_OK;
}

static mlwb_status job_bad(job *j, store *st, void *arg, json_t **result, char **err)
{
    return err_set(err, MLWB_ERR_INVALID, "it went wrong");
}

static mlwb_status job_slow(job *j, store *st, void *arg, json_t **result, char **err)
{
    while (!job_cancelled(j))
        usleep(1000);
    return MLWB_ERR_CANCELLED;
}

static void jobs_run_in_order(void **state)
{
    char dir[] = "/tmp/mlwb-test-jobs-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[256];
    snprintf(db, sizeof db, "%s/t.db", dir);
    ev_queue *q = ev_queue_new(64);
    job_pool *p = job_pool_new(1, db, q);
    assert_non_null(p);
    static int one = 1, two = 2;
    int64_t a = job_submit(p, "t", "first", job_ok, &one, NULL);
    int64_t b = job_submit(p, "t", "second", job_bad, &two, NULL);
    int64_t c = job_submit(p, "slow", "slow one", job_slow, NULL, NULL);
    assert_true(a > 0 && b == a + 1 && c == b + 1);
    job *jb = job_get(p, b);
    job_wait(jb);
    assert_int_equal(job_get_state(jb), JOB_FAILED);
    assert_string_equal(job_error(jb), "it went wrong");
    assert_null(job_result(jb));
    job *ja = job_get(p, a);
    assert_int_equal(job_get_state(ja), JOB_DONE);  /* FIFO: a finished before b */
    assert_int_equal(json_integer_value(json_object_get(job_result(ja), "n")), 1);
    char phase[64];
    assert_true(job_progress(ja, phase, sizeof phase) == 1.0);
    assert_string_equal(phase, "half");
    assert_int_equal(job_cancel(p, c), 1);
    job *jc = job_get(p, c);
    job_wait(jc);
    assert_int_equal(job_get_state(jc), JOB_CANCELLED);
    assert_int_equal(job_cancel(p, c), 0);
    assert_null(job_get(p, 999));
    size_t n = 0;
    job **list = job_list(p, &n);
    assert_int_equal(n, 3);
    job_list_free(list, n);
    job_release(&ja);
    job_release(&jb);
    job_release(&jc);
    job_wait_all(p);
    job_pool_free(&p);
    /* three EV_JOB_DONE events were posted */
    ev out[64];
    size_t ne = ev_drain(q, out, 64), done = 0;
    for (size_t i = 0; i < ne; i++) {
        done += out[i].kind == EV_JOB_DONE;
        ev_clear(&out[i]);
    }
    assert_int_equal(done, 3);
    ev_queue_free(&q);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void lexer(void **state)
{
    char *argv[16];
    const char *rest;
    char *err = NULL;
    unsigned char quoted[16];
    int n = cmd_split("  load csv \"my file.csv\" label='a b';  train knn k=5 # note", argv,
                      quoted, 16, &rest, &err);
    assert_int_equal(n, 4);
    assert_int_equal(quoted[1], 0);
    assert_int_equal(quoted[2], 1);
    assert_int_equal(quoted[3], 0);  /* label='a b': the quote comes after the '=' */
    assert_string_equal(argv[2], "my file.csv");
    assert_string_equal(argv[3], "label=a b");
    for (int i = 0; i < n; i++)
        free(argv[i]);
    assert_non_null(rest);
    n = cmd_split(rest, argv, NULL, 16, &rest, &err);
    assert_int_equal(n, 3);
    assert_string_equal(argv[2], "k=5");
    assert_null(rest);
    for (int i = 0; i < n; i++)
        free(argv[i]);
    n = cmd_split("# only a comment", argv, NULL, 16, &rest, &err);
    assert_int_equal(n, 0);
    n = cmd_split("say \"a \\\"quoted\\\" word\"", argv, NULL, 16, &rest, &err);
    assert_int_equal(n, 2);
    assert_string_equal(argv[1], "a \"quoted\" word");
    free(argv[0]);
    free(argv[1]);
    n = cmd_split("load csv \"open", argv, NULL, 16, &rest, &err);
    assert_int_equal(n, -1);
    assert_string_equal(err, "column 10: unterminated \" quote");
    free(err);
    err = NULL;
    n = cmd_split("load csv \"a=b.csv\"", argv, quoted, 16, &rest, &err);
    assert_int_equal(n, 3);
    assert_int_equal(quoted[2], 1);  /* a file name, not an option */
    assert_string_equal(argv[2], "a=b.csv");
    for (int i = 0; i < n; i++)
        free(argv[i]);
    n = cmd_split("a b c d", argv, NULL, 3, &rest, &err);
    assert_int_equal(n, -1);
    assert_string_equal(err, "too many words (at most 3)");
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(events_keep_important_ones),
        cmocka_unit_test(registry_references),
        cmocka_unit_test(jobs_run_in_order),
        cmocka_unit_test(lexer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
