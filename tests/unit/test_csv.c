/* test_csv.c — CSV parsing: shapes, numbers, quoting, line ends, separators, labels,
 * missing values, ignored columns, exact error places, determinism across threads and
 * chunk sizes, files, cancellation and memory exhaustion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mlwb/core/csv.h"
#include "mlwb/core/samples.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

static mlwb_status run(const char *text, const csv_opts *o, ds **d, char **err)
{
    *d = NULL;
    *err = NULL;
    mlwb_status st = csv_parse(text, strlen(text), "t.csv", o, d, err);
    if (st == MLWB_OK)
        assert_non_null(*d);
    else
        assert_null(*d);
    return st;
}

static ds *ok_opts(const char *text, const csv_opts *o)
{
    ds *d;
    char *err;
    mlwb_status st = run(text, o, &d, &err);
    if (st != MLWB_OK)
        print_error("unexpected error: %s\n", err);
    assert_int_equal(st, MLWB_OK);
    free(err);
    return d;
}

static ds *parse_ok(const char *text, const char *label)
{
    return ok_opts(text, &(csv_opts){.label = label});
}

static char *err_opts(const char *text, const csv_opts *o)
{
    ds *d;
    char *err;
    mlwb_status st = run(text, o, &d, &err);
    assert_int_not_equal(st, MLWB_OK);
    assert_non_null(err);
    return err;
}

static char *parse_err(const char *text, const char *label)
{
    return err_opts(text, &(csv_opts){.label = label});
}

/* The error for `text` must be `want`, with every thread count and chunk size. */
static void expect_err(const char *text, const csv_opts *base, const char *want)
{
    static const size_t chunks[] = {0, 1, 2, 3, 5, 8, 13, 64};
    for (int t = 1; t <= 3; t++)
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            csv_opts o = base ? *base : (csv_opts){0};
            o.threads = t;
            o.chunk_size = chunks[c];
            char *e = err_opts(text, &o);
            if (strcmp(e, want) != 0)
                print_error("threads=%d chunk=%zu\n", t, chunks[c]);
            assert_string_equal(e, want);
            free(e);
        }
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
    assert_string_equal(d->source, "csv t.csv");
    assert_true(d->x[2] == 3.5f && d->x[3] == -0.4f && d->x[4] == 0.5f);
    assert_int_equal(d->y[0], 0);
    assert_int_equal(d->y[1], 1);
    assert_int_equal(d->y[2], 0);
    assert_null(d->col_missing);
    assert_int_equal(d->rows_dropped, 0);
    assert_int_equal(strlen(d->hash), 16);
    ds_release(&d);
    assert_null(d);
}

static void numbers(void **state)
{
    ds *d = parse_ok("a,b,c,d,e,f,g,h,y\n"
                     "1e-3,-0.5,.5,+2, 3 ,5.,1E2,\"7.25\",k\n"
                     "0.84442185152504812,123456789012345678901,-0,1.5e+3,0.0001234,"
                     "16777217,0.1234567891,\" -2.5 \",k\n",
                     NULL);
    assert_int_equal(d->rows, 2);
    assert_int_equal(d->cols, 8);
    const float *x = d->x;
    assert_true(x[0] == 1e-3f);
    assert_true(x[1] == -0.5f);
    assert_true(x[2] == 0.5f);
    assert_true(x[3] == 2.0f);
    assert_true(x[4] == 3.0f);
    assert_true(x[5] == 5.0f);
    assert_true(x[6] == 100.0f);
    assert_true(x[7] == 7.25f);
    assert_true(x[8] == (float)0.84442185152504812);
    assert_true(x[9] == 1.2345678901234568e20f);
    assert_true(x[10] == 0.0f && signbit(x[10]));
    assert_true(x[11] == 1500.0f);
    assert_true(x[12] == 0.0001234f);
    assert_true(x[13] == 16777216.0f);  /* a float32 tie: to even */
    assert_true(x[14] == 0.1234567891f);
    assert_true(x[15] == -2.5f);
    ds_release(&d);

    /* quoted or not, blanks or not: the same float */
    ds *a = parse_ok("a,y\n0.1234567891,k\n3.14159,k\n1.000000059604644775390625,k\n", NULL);
    ds *b = parse_ok("a,y\n\"0.1234567891\",k\n\" 3.14159\",k\n 1.000000059604644775390625 ,k\n",
                     NULL);
    assert_memory_equal(a->x, b->x, 3 * sizeof(float));
    assert_string_equal(a->hash, b->hash);
    ds_release(&a);
    ds_release(&b);

    char *e = parse_err("a,b,c\n1,2,x\n1,inf,x\n", NULL);
    assert_string_equal(e, "t.csv:3:3: bad number 'inf' in column 'b'");
    free(e);
    e = parse_err("a,b,c\n1,2,x\n1,-Infinity,x\n", NULL);
    assert_string_equal(e, "t.csv:3:3: bad number '-Infinity' in column 'b'");
    free(e);
    e = parse_err("a,b,c\n1,0x1F,x\n", NULL);
    assert_string_equal(e, "t.csv:2:3: bad number '0x1F' in column 'b'");
    free(e);
    e = parse_err("a,b,c\n1,1e39,x\n", NULL);
    assert_string_equal(e, "t.csv:2:3: bad number '1e39' in column 'b' (outside the float32 range)");
    free(e);
    e = parse_err("a,b,c\n1,-4e38,x\n", NULL);
    assert_string_equal(e, "t.csv:2:3: bad number '-4e38' in column 'b' (outside the float32 range)");
    free(e);
    e = parse_err("a;b;c\n1;1,5;x\n", NULL);
    assert_string_equal(e, "t.csv:2:3: bad number '1,5' in column 'b'");
    free(e);
    e = parse_err("a,b,c\n1,1.2.3,x\n", NULL);
    assert_string_equal(e, "t.csv:2:3: bad number '1.2.3' in column 'b'");
    free(e);
    e = parse_err("a,b,c\n1,1e,x\n", NULL);
    assert_string_equal(e, "t.csv:2:3: bad number '1e' in column 'b'");
    free(e);
    e = parse_err("a,b,c\n1,2,x\n1,12abc,x\n", NULL);
    assert_string_equal(e, "t.csv:3:3: bad number '12abc' in column 'b'");
    free(e);
    /* long cells are cut in the message, not inside a UTF-8 character */
    e = parse_err("a,b,c\n1,2,x\n1,1\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9,x\n", NULL);
    assert_string_equal(e, "t.csv:3:3: bad number '1\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                           "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                           "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9' in column 'b'");
    free(e);
}

static void not_numeric_column(void **state)
{
    char *e = parse_err("id,size,weight,colour,kind\n1,2,3,red,x\n", NULL);
    assert_string_equal(e, "t.csv:2:7: column 'colour' is not numeric ('red'); skip it with "
                           "ignore=colour");
    free(e);
    e = parse_err("a,b,c\n1,zz,x\n", NULL);
    assert_string_equal(e, "t.csv:2:3: column 'b' is not numeric ('zz'); skip it with ignore=b");
    free(e);
    /* a name that ignore= cannot spell is suggested by its index */
    e = parse_err("a,\"b, c\",d\n1,zz,x\n", NULL);
    assert_string_equal(e, "t.csv:2:3: column 'b, c' is not numeric ('zz'); skip it with ignore=2");
    free(e);
    /* after the first data row, a stray word is a bad number */
    e = parse_err("a,b,c\n1,2,x\n\n1,zz,x\n", NULL);
    assert_string_equal(e, "t.csv:4:3: bad number 'zz' in column 'b'");
    free(e);
    /* the first data row after blank lines is still the first */
    e = parse_err("a,b,c\n\n\n1,zz,x\n", NULL);
    assert_string_equal(e, "t.csv:4:3: column 'b' is not numeric ('zz'); skip it with ignore=b");
    free(e);
    /* and ignore= does it */
    ds *d = ok_opts("id,size,colour,kind\n1,2,red,x\n2,3,blue,y\n",
                    &(csv_opts){.ignore = "colour"});
    assert_int_equal(d->cols, 2);
    assert_string_equal(d->feature_names[1], "size");
    assert_true(d->x[2] == 2.0f && d->x[3] == 3.0f);
    ds_release(&d);
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

static void quoting(void **state)
{
    /* blanks around a quoted field, an empty quoted label, CRLF inside quotes */
    ds *d = parse_ok("a,b,y\n1, \"2\" ,\"x,\"\"y\"\"\"\n3,4,\"line1\r\nline2\"\n5,6, \"x,\"\"y\"\"\"\n",
                     NULL);
    assert_int_equal(d->rows, 3);
    assert_int_equal(d->nclasses, 2);
    assert_string_equal(d->class_names[0], "line1\r\nline2");
    assert_string_equal(d->class_names[1], "x,\"y\"");
    assert_int_equal(d->y[0], 1);
    assert_int_equal(d->y[2], 1);
    assert_true(d->x[1] == 2.0f);
    ds_release(&d);

    expect_err("a,b,c\n1,2,x\n3,\"4,y\n", NULL,
               "t.csv:3:3: unterminated quoted field (the quote opened here is never closed)");
    /* opened on line 3, the file goes on for lines: still where it opened */
    expect_err("a,b,c\n1,2,x\n3,4,\"y\n5,6,z\n7,8,w\n", NULL,
               "t.csv:3:5: unterminated quoted field (the quote opened here is never closed)");
    expect_err("a,b,c\n1,2,x\n3,4,ab\"c\n", NULL,
               "t.csv:3:7: a quote inside an unquoted field (quote the whole field and double "
               "its quotes: \"5\"\" tall\")");
    expect_err("a,b,c\n1,2,\"x\"y\n", NULL, "t.csv:2:8: unexpected 'y' after a closing quote");
    expect_err("a,\"b\"c,d\n1,2,x\n", NULL, "t.csv:1:6: unexpected 'c' after a closing quote");
}

static void line_ends(void **state)
{
    /* no newline at the end, with LF or CRLF before */
    ds *a = parse_ok("a,b,c\n1,2,x\n3,4,y", NULL);
    ds *b = parse_ok("a,b,c\r\n1,2,x\r\n3,4,y", NULL);
    ds *c = parse_ok("a,b,c\r\n1,2,x\r\n3,4,y\r\n", NULL);
    ds *e = parse_ok("\n\na,b,c\n\n1,2,x\r\n\r\n\n3,4,y\n\n", NULL);  /* blank lines */
    assert_int_equal(a->rows, 2);
    assert_string_equal(a->class_names[1], "y");
    assert_string_equal(a->hash, b->hash);
    assert_string_equal(a->hash, c->hash);
    assert_string_equal(a->hash, e->hash);
    ds_release(&a);
    ds_release(&b);
    ds_release(&c);
    ds_release(&e);
    /* a lone CR is data */
    ds *d = parse_ok("a,y\n1,x\ry\n2,x\n", NULL);
    assert_int_equal(d->nclasses, 2);
    assert_string_equal(d->class_names[1], "x\ry");
    ds_release(&d);
    char *m = parse_err("a,b,y\n1,2\r3,x\n", NULL);
    assert_string_equal(m, "t.csv:2:3: bad number '2\r3' in column 'b'");
    free(m);
    /* blank lines count in line numbers */
    expect_err("a,b,c\n\n1,2,x\r\n\r\n1,2\r\n", NULL, "t.csv:5: 2 fields, expected 3");
}

static void bom_and_encodings(void **state)
{
    ds *d = parse_ok("\xEF\xBB\xBF" "a,b,c\n1,2,x\n", NULL);
    assert_string_equal(d->feature_names[0], "a");
    ds_release(&d);
    /* columns on line 1 count from after the BOM, in characters */
    char *e = parse_err("\xEF\xBB\xBF" "\xc3\xa9,\"b\"c,d\n1,2,x\n", NULL);
    assert_string_equal(e, "t.csv:1:6: unexpected 'c' after a closing quote");
    free(e);
    e = parse_err("\xFF\xFE" "a\0,\0", NULL);
    assert_string_equal(e, "t.csv: the file is UTF-16 text; save it as UTF-8 (or ASCII)");
    free(e);
    e = parse_err("\xEF\xBB\xBF", NULL);
    assert_string_equal(e, "t.csv: empty file (expected a header row)");
    free(e);
    e = parse_err("\n\r\n\n", NULL);
    assert_string_equal(e, "t.csv: empty file (expected a header row)");
    free(e);
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
    /* detection ignores separators inside quotes */
    d = parse_ok("\"a,b,c\";d;e\n1;2;x\n", NULL);
    assert_int_equal(d->cols, 2);
    assert_string_equal(d->feature_names[0], "a,b,c");
    ds_release(&d);
    /* a tie goes to the comma */
    d = parse_ok("a;b,c\n1,x\n", NULL);
    assert_int_equal(d->cols, 1);
    assert_string_equal(d->feature_names[0], "a;b");
    ds_release(&d);
    /* sep= wins over detection */
    d = ok_opts("a|b,c|y\n1|2|x\n", &(csv_opts){.sep = '|'});
    assert_int_equal(d->cols, 2);
    assert_string_equal(d->feature_names[1], "b,c");
    ds_release(&d);
    d = ok_opts("a b y\n1 2 x\n", &(csv_opts){.sep = ' '});
    assert_int_equal(d->cols, 2);
    assert_true(d->x[1] == 2.0f);
    ds_release(&d);
    char *e = err_opts("a,b\n1,2\n", &(csv_opts){.sep = '"'});
    assert_string_equal(e, "t.csv: the separator cannot be a quote or a line end");
    free(e);

    char s = 'x';
    assert_int_equal(csv_sep_parse("tab", &s), 0);
    assert_int_equal(s, '\t');
    assert_int_equal(csv_sep_parse("\\t", &s), 0);
    assert_int_equal(s, '\t');
    assert_int_equal(csv_sep_parse(";", &s), 0);
    assert_int_equal(s, ';');
    assert_int_equal(csv_sep_parse("semicolon", &s), 0);
    assert_int_equal(s, ';');
    assert_int_equal(csv_sep_parse("auto", &s), 0);
    assert_int_equal(s, 0);
    assert_int_equal(csv_sep_parse("\"", &s), -1);
    assert_int_equal(csv_sep_parse("ab", &s), -1);
    assert_int_equal(csv_sep_parse("", &s), -1);
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
    assert_string_equal(d->feature_names[0], "a");
    ds_release(&d);
    d = parse_ok("a,2,b\n5,x,6\n", "2");  /* a name is matched before an index */
    assert_string_equal(d->label_name, "2");
    assert_true(d->x[0] == 5.0f && d->x[1] == 6.0f);
    ds_release(&d);
    d = parse_ok("a,y\n1,-1\n2,10\n3,2\n4,01\n5,1\n", NULL);  /* negatives; ties by bytes */
    assert_int_equal(d->nclasses, 5);
    assert_string_equal(d->class_names[0], "-1");
    assert_string_equal(d->class_names[1], "01");
    assert_string_equal(d->class_names[2], "1");
    assert_string_equal(d->class_names[3], "2");
    assert_string_equal(d->class_names[4], "10");
    assert_int_equal(d->y[1], 4);
    ds_release(&d);
    d = parse_ok("a,y\n1,b\n2,B\n3,a\n4,\xc3\x84\n5,10\n", NULL);  /* byte order */
    assert_string_equal(d->class_names[0], "10");
    assert_string_equal(d->class_names[1], "B");
    assert_string_equal(d->class_names[2], "a");
    assert_string_equal(d->class_names[3], "b");
    assert_string_equal(d->class_names[4], "\xc3\x84");
    ds_release(&d);
    char *e = parse_err("a,b,c\n1,2,x\n", "4");
    assert_string_equal(e, "t.csv: label column '4' does not exist (columns: a, b, c)");
    free(e);
}

static void label_none(void **state)
{
    ds *d = parse_ok("a,b,c\n1,2,3\n4,5,6\n", "none");
    assert_int_equal(d->rows, 2);
    assert_int_equal(d->cols, 3);
    assert_null(d->y);
    assert_int_equal(d->nclasses, 0);
    assert_null(d->label_name);
    assert_null(d->class_names);
    assert_string_equal(d->feature_names[2], "c");
    assert_true(d->x[5] == 6.0f);
    ds_release(&d);
    d = parse_ok("a\n1\n2\n", "none");  /* one column */
    assert_int_equal(d->cols, 1);
    assert_true(d->x[1] == 2.0f);
    ds_release(&d);
    char *e = parse_err("a\n1\n", NULL);
    assert_string_equal(e, "t.csv:1: the header has 1 column; need at least one feature and a "
                           "label (or label=none)");
    free(e);
}

static void ignore_columns(void **state)
{
    ds *d = ok_opts("id,a,name,b,y\n7,1,ann,2,x\n8,3,bob,4,y\n",
                    &(csv_opts){.ignore = "id, 3"});
    assert_int_equal(d->cols, 2);
    assert_string_equal(d->feature_names[0], "a");
    assert_string_equal(d->feature_names[1], "b");
    assert_true(d->x[0] == 1.0f && d->x[1] == 2.0f && d->x[2] == 3.0f && d->x[3] == 4.0f);
    ds_release(&d);
    /* an ignored column may be anything, even quoted text over lines */
    d = ok_opts("a,note,y\n1,\"two\nlines, \"\"quoted\"\"\",x\n2,,y\n",
                &(csv_opts){.ignore = "note"});
    assert_int_equal(d->rows, 2);
    assert_null(d->col_missing);
    ds_release(&d);
    char *e = err_opts("a,b,y\n1,2,x\n", &(csv_opts){.ignore = "a,colour"});
    assert_string_equal(e, "t.csv: ignore: column 'colour' does not exist (columns: a, b, y)");
    free(e);
    e = err_opts("a,b,y\n1,2,x\n", &(csv_opts){.ignore = "9"});
    assert_string_equal(e, "t.csv: ignore: column '9' does not exist (columns: a, b, y)");
    free(e);
    e = err_opts("a,b,y\n1,2,x\n", &(csv_opts){.ignore = "y"});
    assert_string_equal(e, "t.csv: ignore: column 'y' is the label; choose another with label= "
                           "or label=none");
    free(e);
    e = err_opts("a,b,y\n1,2,x\n", &(csv_opts){.ignore = "a,b"});
    assert_string_equal(e, "t.csv: no feature column left after the label and ignore= "
                           "(columns: a, b, y)");
    free(e);
}

static void missing_values(void **state)
{
    /* every marker, quoted or not, blanks around */
    const char *marks[] = {"", " ", "NA", "N/A", "n/a", "NaN", "nan", "NAN", "null", "NULL",
                           "None", "?", "\"\"", "\" NA \"", " ? "};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "a,b,c\n1,2,x\n3,%s,y\n", marks[i]);
        char *e = parse_err(text, NULL);
        assert_string_equal(e, "t.csv:3:3: missing value in column 'b' (accept missing values "
                               "with missing=drop or missing=mean)");
        free(e);
        ds *d = ok_opts(text, &(csv_opts){.missing = CSV_MISSING_DROP});
        assert_int_equal(d->rows, 1);
        ds_release(&d);
    }
    char *e = parse_err("a,b,c\n1,na,x\n", NULL);  /* not a marker */
    assert_string_equal(e, "t.csv:2:3: column 'b' is not numeric ('na'); skip it with ignore=b");
    free(e);
    /* missing=error names the first missing cell, whatever the threads and chunks */
    const char *text = "a,b,c,y\n1,2,3,x\n4,5,6,x\n7,8,9,\"y\nz\"\n10,11,NA,x\n12,,14,y\n";
    expect_err(text, NULL, "t.csv:6:7: missing value in column 'c' (accept missing values with "
                           "missing=drop or missing=mean)");

    /* drop: counts, exact remaining rows */
    const char *m = "a,b,c,y\n1,2,3,x\nNA,5,,y\n7,8,9,z\n10,?,12,x\n13,14,15,\n16,17,18,y\n";
    ds *d = ok_opts(m, &(csv_opts){.missing = CSV_MISSING_DROP});
    assert_int_equal(d->rows, 3);
    assert_int_equal(d->rows_dropped, 3);
    assert_non_null(d->col_missing);
    assert_int_equal(d->col_missing[0], 1);
    assert_int_equal(d->col_missing[1], 1);
    assert_int_equal(d->col_missing[2], 1);
    const float want_drop[] = {1, 2, 3, 7, 8, 9, 16, 17, 18};
    assert_memory_equal(d->x, want_drop, sizeof want_drop);
    assert_int_equal(d->nclasses, 3);  /* x y z: the labels of dropped rows do not count */
    assert_int_equal(d->y[1], 2);
    ds_release(&d);

    /* mean: the column means over the present values */
    d = ok_opts("a,b,y\n1,NA,x\n,4,y\n3,,x\n6,8,y\n",
                &(csv_opts){.missing = CSV_MISSING_MEAN});
    assert_int_equal(d->rows, 4);
    assert_int_equal(d->rows_dropped, 0);
    assert_int_equal(d->col_missing[0], 1);
    assert_int_equal(d->col_missing[1], 2);
    const float want_mean[] = {1, 6, 10.0f / 3, 4, 3, 6, 6, 8};
    assert_memory_equal(d->x, want_mean, sizeof want_mean);
    ds_release(&d);

    /* a missing label: an error unless missing=drop */
    e = parse_err("a,y\n1,x\n2,NA\n", NULL);
    assert_string_equal(e, "t.csv:3:3: missing label in column 'y' (missing=drop leaves such rows "
                           "out)");
    free(e);
    e = err_opts("a,y\n1,x\n2,\n", &(csv_opts){.missing = CSV_MISSING_MEAN});
    assert_string_equal(e, "t.csv:3:3: missing label in column 'y' (missing=drop leaves such rows "
                           "out)");
    free(e);
    e = err_opts("a,b,y\n1,NA,x\n2,,y\n", &(csv_opts){.missing = CSV_MISSING_MEAN});
    assert_string_equal(e, "t.csv: column 'b' has no values at all, so no mean to fill in (skip "
                           "it with ignore=)");
    free(e);
    e = err_opts("a,b,y\n1,NA,x\n2,,y\n", &(csv_opts){.missing = CSV_MISSING_DROP});
    assert_string_equal(e, "t.csv: all 2 data rows have missing values (missing=drop left none)");
    free(e);

    csv_missing mm;
    assert_int_equal(csv_missing_parse("mean", &mm), 0);
    assert_int_equal(mm, CSV_MISSING_MEAN);
    assert_int_equal(csv_missing_parse("drop", &mm), 0);
    assert_int_equal(mm, CSV_MISSING_DROP);
    assert_int_equal(csv_missing_parse("error", &mm), 0);
    assert_int_equal(mm, CSV_MISSING_ERROR);
    assert_int_equal(csv_missing_parse("zero", &mm), -1);
    assert_string_equal(csv_missing_name(CSV_MISSING_DROP), "drop");
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
    e = parse_err("a,b,c\n1,2,x\n3,\"4,y\n", NULL);
    assert_string_equal(e, "t.csv:3:3: unterminated quoted field (the quote opened here is never closed)");
    free(e);
    e = parse_err("", NULL);
    assert_string_equal(e, "t.csv: empty file (expected a header row)");
    free(e);
    e = parse_err("a,b,c\n", NULL);
    assert_string_equal(e, "t.csv: no data rows after the header");
    free(e);
    e = parse_err("a,b,c\n\n\r\n", NULL);
    assert_string_equal(e, "t.csv: no data rows after the header");
    free(e);
    e = parse_err("a,b,c", NULL);
    assert_string_equal(e, "t.csv: no data rows after the header");
    free(e);
    e = parse_err("a,b,c\n1,2,x\n", "nope");
    assert_string_equal(e, "t.csv: label column 'nope' does not exist (columns: a, b, c)");
    free(e);
    e = parse_err("a,b,c\n1,,x\n", NULL);
    assert_string_equal(e, "t.csv:2:3: missing value in column 'b' (accept missing values with "
                           "missing=drop or missing=mean)");
    free(e);
    e = parse_err("a,b,c\n1,nan,x\n", NULL);
    assert_string_equal(e, "t.csv:2:3: missing value in column 'b' (accept missing values with "
                           "missing=drop or missing=mean)");
    free(e);
    e = parse_err("a,b,a,c\n1,2,3,x\n", NULL);
    assert_string_equal(e, "t.csv:1: duplicate column name 'a' (columns 1 and 3); rename one");
    free(e);
    e = parse_err("\n\nx,b,c,b,x\n1,2,3,4,y\n", NULL);
    assert_string_equal(e, "t.csv:3: duplicate column name 'b' (columns 2 and 4); rename one");
    free(e);

    /* ragged rows: too many and too few, the line of the record's start */
    const char *rag = "a,b,c,d\n" "1,2,3,x\n" "1,2,3,\"multi\nline\"\n" "1,2,3,x\n"
                      "1,2,3,x,5\n";
    expect_err(rag, NULL, "t.csv:6: 5 fields, expected 4");
    expect_err("a,b,c,d\n1,2,3,x\n1,2,3,\"x,y\",\"5,5\",\"6\n6\"\n", NULL,
               "t.csv:3: 6 fields, expected 4");
    expect_err("a,b,c,d\n1,2,3,x\n4,\"x\ny\"\n", &(csv_opts){.ignore = "b"},
               "t.csv:3: 2 fields, expected 4");
    expect_err("a,b,c,d\n1,2,3,x\n\n7\n", NULL, "t.csv:4: 1 field, expected 4");
    /* errors after multi-line quoted fields and CRLF keep their line and column */
    expect_err("a,b,y\r\n1,2,\"x\r\ny\r\nz\"\r\n3,4,\"p\r\n\"\r\n5,zz,x\r\n", NULL,
               "t.csv:7:3: bad number 'zz' in column 'b'");
}

/* --- determinism across threads and chunks --------------------------------------------- */

static uint64_t rng_state;

static unsigned rnd(unsigned n)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (unsigned)((z ^ (z >> 31)) % n);
}

/* A messy but valid CSV: quoted numbers and labels with separators, doubled quotes and
 * newlines, CRLF and LF, blank lines, missing cells, an ignored text column. */
static char *messy_csv(unsigned rows, uint64_t seed, int with_missing)
{
    rng_state = seed;
    size_t cap = 256 + (size_t)rows * 160, len = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    len += (size_t)sprintf(s, "\"f,1\",f2,note,\"f\"\"3\",label\n");
    static const char *labels[] = {"a", "\"b,c\"", "\"multi\nline\"", "\"say \"\"hi\"\"\"",
                                   "\"cr\r\nlf\"", "17", "\xc3\xa9t\xc3\xa9"};
    static const char *notes[] = {"plain", "\"with, comma\"", "\"two\nlines\"", "",
                                  "\"\"\"q\"\"\""};
    for (unsigned i = 0; i < rows; i++) {
        if (rnd(20) == 0)
            len += (size_t)sprintf(s + len, rnd(2) ? "\n" : "\r\n");
        for (int j = 0; j < 3; j++) {
            if (j == 2)
                len += (size_t)sprintf(s + len, "%s,", notes[rnd(5)]);
            if (with_missing && rnd(15) == 0) {
                len += (size_t)sprintf(s + len, "%s,", rnd(2) ? "NA" : "");
                continue;
            }
            int v = (int)rnd(2000000) - 1000000;
            switch (rnd(6)) {
            case 0:
                len += (size_t)sprintf(s + len, "\"%d.%02d\",", v / 100, abs(v % 100));
                break;
            case 1:
                len += (size_t)sprintf(s + len, " %de-3 ,", v);
                break;
            case 2:
                len += (size_t)sprintf(s + len, "%.9g,", v / 7.0);
                break;
            default:
                len += (size_t)sprintf(s + len, "%d.%05d,", v / 100000, abs(v % 100000));
            }
        }
        len += (size_t)sprintf(s + len, "%s%s", labels[rnd(7)], rnd(3) ? "\n" : "\r\n");
        assert_true(len + 200 < cap);
    }
    return s;
}

static void check_same(const ds *a, const ds *b)
{
    assert_int_equal(a->rows, b->rows);
    assert_int_equal(a->cols, b->cols);
    assert_int_equal(a->nclasses, b->nclasses);
    assert_string_equal(a->hash, b->hash);
    assert_memory_equal(a->x, b->x, a->rows * a->cols * sizeof(float));
    if (a->y)
        assert_memory_equal(a->y, b->y, a->rows * sizeof(int32_t));
    for (size_t c = 0; c < a->nclasses; c++)
        assert_string_equal(a->class_names[c], b->class_names[c]);
    assert_int_equal(a->rows_dropped, b->rows_dropped);
    assert_int_equal(a->col_missing != NULL, b->col_missing != NULL);
    if (a->col_missing)
        assert_memory_equal(a->col_missing, b->col_missing, a->cols * sizeof(size_t));
}

static void same_result_any_threads_and_chunks(void **state)
{
    static const size_t chunks[] = {1, 2, 3, 7, 16, 61, 200, 1000, 4096, 0};
    for (int variant = 0; variant < 3; variant++) {
        char *text = messy_csv(variant == 0 ? 300 : 120, 1234 + (uint64_t)variant, variant > 0);
        csv_opts base = {.ignore = "note",
                         .missing = variant == 1 ? CSV_MISSING_MEAN
                                    : variant == 2 ? CSV_MISSING_DROP : CSV_MISSING_ERROR,
                         .threads = 1};
        ds *ref = ok_opts(text, &base);
        assert_int_equal(ref->cols, 3);
        assert_int_equal(ref->nclasses, 7);
        if (variant == 0) {
            assert_int_equal(ref->rows, 300);
            assert_null(ref->col_missing);
        } else {
            assert_non_null(ref->col_missing);
        }
        if (variant == 1)
            for (size_t i = 0; i < ref->rows * ref->cols; i++)
                assert_false(isnan(ref->x[i]));
        if (variant == 2)
            assert_int_equal(ref->rows + ref->rows_dropped, 120);
        for (int t = 1; t <= 4; t++)
            for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
                csv_opts o = base;
                o.threads = t;
                o.chunk_size = chunks[c];
                ds *d = ok_opts(text, &o);
                check_same(ref, d);
                ds_release(&d);
            }
        ds_release(&ref);
        free(text);
    }
}

static void quoted_newlines_across_chunks(void **state)
{
    const char *text = "a,y\n1,\"one\ntwo\nthree\"\n2,\"x\"\"\n\"\"y\"\n3,plain\n4,\"\n\"\n";
    for (size_t c = 1; c < 40; c++)
        for (int t = 1; t <= 3; t++) {
            ds *d = ok_opts(text, &(csv_opts){.chunk_size = c, .threads = t});
            assert_int_equal(d->rows, 4);
            assert_int_equal(d->nclasses, 4);
            assert_string_equal(d->class_names[0], "\n");
            assert_string_equal(d->class_names[1], "one\ntwo\nthree");
            assert_string_equal(d->class_names[2], "plain");
            assert_string_equal(d->class_names[3], "x\"\n\"y");
            const int32_t want_y[] = {1, 3, 2, 0};
            assert_memory_equal(d->y, want_y, sizeof want_y);
            ds_release(&d);
        }
    /* and an error after them keeps its line */
    expect_err("a,y\n1,\"one\ntwo\nthree\"\n2,\"x\"\"\n\"\"y\"\n3\n", NULL,
               "t.csv:7: 1 field, expected 2");
}

/* --- files ------------------------------------------------------------------------------ */

static char *temp_file(const char *text, size_t len)
{
    char *path = strdup("/tmp/mlwb-test-csv-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static void files(void **state)
{
    char *text = messy_csv(400, 99, 0);
    char *path = temp_file(text, strlen(text));
    ds *mem = ok_opts(text, &(csv_opts){.ignore = "note"});
    static const size_t chunks[] = {1, 5, 64, 333, 0};
    for (int t = 1; t <= 2; t++)
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            ds *d = NULL;
            char *err = NULL;
            csv_opts o = {.ignore = "note", .threads = t, .chunk_size = chunks[c]};
            assert_int_equal(csv_load_file(path, &o, &d, &err), MLWB_OK);
            check_same(mem, d);
            char want[128];
            snprintf(want, sizeof want, "csv %s", path);
            assert_string_equal(d->source, want);
            ds_release(&d);
        }
    ds_release(&mem);
    unlink(path);
    free(path);
    free(text);

    /* an error in a file names the file */
    path = temp_file("a,b\n1,x\n2\n", 10);
    ds *d = NULL;
    char *err = NULL;
    assert_int_equal(csv_load_file(path, &(csv_opts){.chunk_size = 3}, &d, &err), MLWB_ERR_PARSE);
    char want[128];
    snprintf(want, sizeof want, "%s:3: 1 field, expected 2", path);
    assert_string_equal(err, want);
    free(err);
    err = NULL;
    unlink(path);
    free(path);

    /* a file far larger than memory (sparse: 1 TB of which only the first rows exist)
     * fails at once, before it fills the RAM */
    path = temp_file("a,b,y\n1,2,x\n3,4,y\n", 18);
    if (truncate(path, (off_t)1 << 40) == 0) {
        assert_int_equal(csv_load_file(path, NULL, &d, &err), MLWB_ERR_NOMEM);
        snprintf(want, sizeof want, "%s: the data does not fit in memory: at its first rows' "
                 "size, the file holds about ", path);
        assert_memory_equal(err, want, strlen(want));
        assert_non_null(strstr(err, " rows x 2 features ("));
        free(err);
        err = NULL;
    }
    unlink(path);
    free(path);

    /* an empty file */
    path = temp_file("", 0);
    assert_int_equal(csv_load_file(path, NULL, &d, &err), MLWB_ERR_PARSE);
    snprintf(want, sizeof want, "%s: empty file (expected a header row)", path);
    assert_string_equal(err, want);
    free(err);
    err = NULL;
    unlink(path);
    free(path);

    /* a directory, a FIFO (refused without waiting for a writer) */
    char dir[] = "/tmp/mlwb-test-dir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(csv_load_file(dir, NULL, &d, &err), MLWB_ERR_IO);
    snprintf(want, sizeof want, "%s: is a directory, not a CSV file", dir);
    assert_string_equal(err, want);
    free(err);
    err = NULL;
    char fifo[64];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(csv_load_file(fifo, NULL, &d, &err), MLWB_ERR_IO);
    snprintf(want, sizeof want, "%s: not a regular file", fifo);
    assert_string_equal(err, want);
    free(err);
    err = NULL;
    unlink(fifo);
    rmdir(dir);
    assert_null(d);
}

static void missing_file(void **state)
{
    ds *d = NULL;
    char *err = NULL;
    assert_int_equal(csv_load_file("/nonexistent/x.csv", NULL, &d, &err), MLWB_ERR_NOTFOUND);
    assert_string_equal(err, "/nonexistent/x.csv: cannot open: No such file or directory");
    assert_null(d);
    free(err);
}

/* --- cancel and progress -------------------------------------------------------------------- */

typedef struct hooks {
    int polls, cancel_at;
    double last;
    int reports, backwards;
} hooks;

static int cancel_hook(void *ud)
{
    hooks *h = ud;
    return ++h->polls >= h->cancel_at;
}

static void progress_hook(void *ud, double f)
{
    hooks *h = ud;
    if (f < h->last)
        h->backwards = 1;
    h->last = f;
    h->reports++;
}

static void cancel_and_progress(void **state)
{
    char *text = messy_csv(200, 5, 0);
    ds *d = NULL;
    char *err = NULL;
    hooks h = {.cancel_at = 1};
    csv_opts o = {.ignore = "note", .cancelled = cancel_hook, .cancel_ud = &h};
    assert_int_equal(csv_parse(text, strlen(text), "t.csv", &o, &d, &err), MLWB_ERR_CANCELLED);
    assert_string_equal(err, "t.csv: cancelled");
    assert_null(d);
    free(err);
    err = NULL;

    /* cancelled between chunks */
    h = (hooks){.cancel_at = 4};
    o.chunk_size = 256;
    assert_int_equal(csv_parse(text, strlen(text), "t.csv", &o, &d, &err), MLWB_ERR_CANCELLED);
    assert_int_equal(h.polls, 4);
    assert_null(d);
    free(err);
    err = NULL;

    /* never cancelled: polled once per chunk; progress goes up to 1 */
    h = (hooks){.cancel_at = 1 << 30};
    o.progress = progress_hook;
    o.progress_ud = &h;
    assert_int_equal(csv_parse(text, strlen(text), "t.csv", &o, &d, &err), MLWB_OK);
    assert_true(h.polls > 10);
    assert_int_equal(h.reports, h.polls);  /* one poll before the first chunk, none after the last */
    assert_false(h.backwards);
    assert_true(h.last == 1.0);
    ds_release(&d);
    free(text);
}

/* --- memory exhaustion ------------------------------------------------------------------------ */

/* Run in a fresh process (no malloc arenas of earlier threads to fall back on): 8M rows
 * of "1\n", 16 MB of text for a 32 MB matrix, in a process allowed 24 MB more than it
 * has.  Exits 0 when the parse fails cleanly with MLWB_ERR_NOMEM. */
static int oom_child(void)
{
    size_t rows = 8u << 20, len = 2 + 2 * rows;
    char *text = malloc(len);
    if (!text)
        return 3;
    memcpy(text, "a\n", 2);
    for (size_t i = 0; i < rows; i++)
        memcpy(text + 2 + 2 * i, "1\n", 2);
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (!f || fscanf(f, "%lu", &pages) != 1)
        return 4;
    fclose(f);
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = pages * (unsigned long)sysconf(_SC_PAGESIZE) + (24u << 20);
    if (setrlimit(RLIMIT_AS, &rl) != 0)
        return 5;
    ds *d = NULL;
    char *err = NULL;
    csv_opts o = {.label = "none", .threads = 1};
    mlwb_status st = csv_parse(text, len, "big.csv", &o, &d, &err);
    if (st != MLWB_ERR_NOMEM || d || !err || strncmp(err, "big.csv: ", 9) != 0 ||
        !strstr(err, "memory")) {
        fprintf(stderr, "status %d: %s\n", st, err ? err : "(null)");
        return 1;
    }
    printf("oom child: %s\n", err);
    return 0;
}

static void out_of_memory(void **state)
{
#ifdef UNDER_SANITIZER
    skip();  /* sanitizers reserve terabytes of address space: RLIMIT_AS cannot work */
#else
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/proc/self/exe", "test_csv", "--oom-child", (char *)NULL);
        _exit(6);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
#endif
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
    assert_string_equal(d->hash, "db25505a8f347e7c");  /* as with the first parser */
    ds_release(&d);
}

/* The CSV reader and ds_set_labels (synth, SQLite) order classes by one rule. */
static void one_class_order(void **state)
{
    const char *text = "a,lab\n1,2\n2,01\n3,1\n4,10\n";
    csv_opts o = {0};
    ds *d = NULL;
    assert_int_equal(csv_parse(text, strlen(text), "t.csv", &o, &d, NULL), MLWB_OK);
    assert_int_equal(d->nclasses, 4);
    ds *e = NULL;
    assert_int_equal(ds_new(4, 1, 0, &e, NULL), MLWB_OK);
    char t0[] = "2", t1[] = "01", t2[] = "1", t3[] = "10";
    char *texts[] = {t0, t1, t2, t3};
    assert_int_equal(ds_set_labels(e, texts, NULL), MLWB_OK);
    assert_int_equal(e->nclasses, 4);
    static const char *const want[] = {"01", "1", "2", "10"};  /* numeric; 01 = 1: bytes */
    for (size_t c = 0; c < 4; c++) {
        assert_string_equal(d->class_names[c], want[c]);
        assert_string_equal(e->class_names[c], want[c]);
    }
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(d->y[i], e->y[i]);
    ds_release(&d);
    ds_release(&e);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--oom-child") == 0)
        return oom_child();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_class_order),
        cmocka_unit_test(basic),
        cmocka_unit_test(numbers),
        cmocka_unit_test(not_numeric_column),
        cmocka_unit_test(quotes_crlf_bom),
        cmocka_unit_test(quoting),
        cmocka_unit_test(line_ends),
        cmocka_unit_test(bom_and_encodings),
        cmocka_unit_test(separators),
        cmocka_unit_test(label_choice_and_numeric_order),
        cmocka_unit_test(label_none),
        cmocka_unit_test(ignore_columns),
        cmocka_unit_test(missing_values),
        cmocka_unit_test(same_content_same_hash),
        cmocka_unit_test(errors_name_the_place),
        cmocka_unit_test(same_result_any_threads_and_chunks),
        cmocka_unit_test(quoted_newlines_across_chunks),
        cmocka_unit_test(files),
        cmocka_unit_test(missing_file),
        cmocka_unit_test(cancel_and_progress),
        cmocka_unit_test(out_of_memory),
        cmocka_unit_test(bundled_iris),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
