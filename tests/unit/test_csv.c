/* test_csv.c — CSV parsing: shapes, quoting, line ends, labels, and exact error places. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "mlwb/core/csv.h"
#include "mlwb/core/samples.h"

static ds *parse_ok(const char *text, const char *label)
{
    csv_opts o = {.label = label};
    ds *d = NULL;
    char *err = NULL;
    mlwb_status st = csv_parse(text, strlen(text), "t.csv", &o, &d, &err);
    if (st != MLWB_OK)
        print_error("unexpected error: %s\n", err);
    assert_int_equal(st, MLWB_OK);
    assert_non_null(d);
    free(err);
    return d;
}

static char *parse_err(const char *text, const char *label)
{
    csv_opts o = {.label = label};
    ds *d = NULL;
    char *err = NULL;
    mlwb_status st = csv_parse(text, strlen(text), "t.csv", &o, &d, &err);
    assert_int_not_equal(st, MLWB_OK);
    assert_null(d);
    assert_non_null(err);
    return err;
}

static void basic(void **state)
{
    ds *d = parse_ok("a,b,cls\n1,2,x\n3.5,-4e-1,y\n.5,6,x\n", NULL);
    assert_int_equal(d->rows, 3);
    assert_int_equal(d->cols, 2);
    assert_int_equal(d->nclasses, 2);
    assert_string_equal(d->class_names[0], "x");
    assert_string_equal(d->class_names[1], "y");
    assert_string_equal(d->feature_names[1], "b");
    assert_string_equal(d->label_name, "cls");
    assert_true(d->x[2] == 3.5f && d->x[3] == -0.4f && d->x[4] == 0.5f);
    assert_int_equal(d->y[0], 0);
    assert_int_equal(d->y[1], 1);
    assert_int_equal(strlen(d->hash), 16);
    ds_release(&d);
    assert_null(d);
}

static void quotes_crlf_bom(void **state)
{
    ds *d = parse_ok("\xEF\xBB\xBF\"f,1\",\"f \"\"2\"\"\",lab\r\n1,2,\"a\nb\"\r\n3,4,c\r\n", NULL);
    assert_int_equal(d->rows, 2);
    assert_string_equal(d->feature_names[0], "f,1");
    assert_string_equal(d->feature_names[1], "f \"2\"");
    assert_string_equal(d->class_names[0], "a\nb");
    assert_true(d->x[3] == 4.0f);
    ds_release(&d);
}

static void separators(void **state)
{
    ds *d = parse_ok("a;b;c\n1;2;x\n3;4;y\n", NULL);
    assert_int_equal(d->cols, 2);
    assert_true(d->x[2] == 3.0f);
    ds_release(&d);
    d = parse_ok("a\tb\tc\n1\t2\tx\n", NULL);
    assert_int_equal(d->cols, 2);
    ds_release(&d);
}

static void label_choice_and_numeric_order(void **state)
{
    ds *d = parse_ok("y,a,b\n10,1,2\n9,3,4\n10,5,6\n", "y");
    assert_int_equal(d->cols, 2);
    assert_string_equal(d->class_names[0], "9");  /* numeric order, not "10" < "9" */
    assert_string_equal(d->class_names[1], "10");
    assert_int_equal(d->y[0], 1);
    assert_true(d->x[0] == 1.0f);
    ds_release(&d);
    d = parse_ok("y,a,b\n1,1,2\n", "1");  /* by 1-based index */
    assert_string_equal(d->label_name, "y");
    ds_release(&d);
}

static void same_content_same_hash(void **state)
{
    ds *a = parse_ok("a,b,c\n1,2,x\n", NULL), *b = parse_ok("a,b,c\r\n1,2,x\r\n", NULL);
    ds *c = parse_ok("a,b,c\n1,2.5,x\n", NULL);
    assert_string_equal(a->hash, b->hash);
    assert_string_not_equal(a->hash, c->hash);
    ds_release(&a);
    ds_release(&b);
    ds_release(&c);
}

static void errors_name_the_place(void **state)
{
    char *e = parse_err("a,b,c\n1,2,x\n1,2\n", NULL);
    assert_string_equal(e, "t.csv:3: 2 fields, expected 3");
    free(e);
    e = parse_err("a,b,c\n1,zz,x\n", NULL);
    assert_string_equal(e, "t.csv:2:3: bad number 'zz' in column 'b'");
    free(e);
    e = parse_err("a,b,c\n1,2,x\n3,\"4,y\n", NULL);
    assert_string_equal(e, "t.csv:3:3: unterminated quoted field (the quote opened here is never closed)");
    free(e);
    e = parse_err("", NULL);
    assert_string_equal(e, "t.csv: empty file (expected a header row)");
    free(e);
    e = parse_err("a,b,c\n", NULL);
    assert_string_equal(e, "t.csv: no data rows after the header");
    free(e);
    e = parse_err("a,b,c\n1,2,x\n", "nope");
    assert_string_equal(e, "t.csv: label column 'nope' does not exist (columns: a, b, c)");
    free(e);
    e = parse_err("a,b,c\n1,,x\n", NULL);
    assert_string_equal(e, "t.csv:2:3: missing value in column 'b'");
    free(e);
    e = parse_err("a,b,c\n1,inf,x\n", NULL);
    assert_string_equal(e, "t.csv:2:3: bad number 'inf' in column 'b'");
    free(e);
    e = parse_err("a,b,c\n1,nan,x\n", NULL);
    assert_string_equal(e, "t.csv:2:3: missing value in column 'b'");
    free(e);
}

static void missing_file(void **state)
{
    ds *d = NULL;
    char *err = NULL;
    assert_int_equal(csv_load_file("/nonexistent/x.csv", NULL, &d, &err), MLWB_ERR_NOTFOUND);
    assert_string_equal(err, "/nonexistent/x.csv: cannot open: No such file or directory");
    free(err);
}

static void bundled_iris(void **state)
{
    sample_info s;
    assert_true(sample_find("iris", &s));
    assert_false(sample_find("nope", &s));
    ds *d = NULL;
    assert_int_equal(csv_parse(s.data, s.len, "iris", NULL, &d, NULL), MLWB_OK);
    assert_int_equal(d->rows, 150);
    assert_int_equal(d->cols, 4);
    assert_int_equal(d->nclasses, 3);
    size_t counts[3];
    ds_class_counts(d, counts);
    assert_int_equal(counts[0], 50);
    assert_int_equal(counts[1], 50);
    assert_int_equal(counts[2], 50);
    assert_string_equal(d->class_names[2], "virginica");
    assert_true(d->x[0] == 5.1f);
    ds_release(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(basic),
        cmocka_unit_test(quotes_crlf_bom),
        cmocka_unit_test(separators),
        cmocka_unit_test(label_choice_and_numeric_order),
        cmocka_unit_test(same_content_same_hash),
        cmocka_unit_test(errors_name_the_place),
        cmocka_unit_test(missing_file),
        cmocka_unit_test(bundled_iris),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
