/* test_text.c — shortest float decimals (and their text) and UTF-8 repair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlwb/core/num.h"
#include "mlwb/core/text.h"

static void shortest_floats(void **state)
{
    assert_true(num_f32(5.1f) == 5.1);
    assert_true(num_f32(0.6f) == 0.6);
    assert_true(num_f32(1.0f) == 1.0);
    assert_true(num_f32(3.4028235e38f) == 3.4028235e38);
    assert_true(num_f32(1e-45f) > 0);  /* the smallest subnormal survives */
    /* every result reads back as the same float */
    for (float f = -1000.0f; f < 1000.0f; f += 0.37f)
        assert_true((float)num_f32(f) == f);
}

/* The reference: the first "%.*g" precision whose text reads back as v. */
static void shortest_by_printf(float v, char *out)
{
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(out, NUM_F32_TEXT, "%.*g", prec, (double)v);
        if (strtof(out, NULL) == v)
            return;
    }
}

static unsigned text_mismatches;

static void text_check(float v)
{
    char got[NUM_F32_TEXT], want[NUM_F32_TEXT];
    size_t n = num_f32_text(v, got);
    shortest_by_printf(v, want);
    if (strcmp(got, want) != 0 || n != strlen(got)) {
        if (text_mismatches++ < 10)
            print_error("num_f32_text(%a) = \"%s\", printf finds \"%s\"\n", (double)v, got, want);
    }
}

static void shortest_float_texts(void **state)
{
    static const struct { float v; const char *text; } fixed[] = {
        {5.1f, "5.1"}, {0.2f, "0.2"}, {1.0f, "1"}, {0.8f, "0.8"}, {100.0f, "1e+02"},
        {120.0f, "1.2e+02"}, {123.0f, "123"}, {1e-5f, "1e-05"}, {0.0001f, "0.0001"},
        {-2.5f, "-2.5"}, {1.5e10f, "1.5e+10"}, {16777216.0f, "16777216"},
        {0.1f, "0.1"}, {1.0f / 3.0f, "0.33333334"}, {3.4028235e38f, "3.4028235e+38"},
        {1e-45f, "1e-45"}, {0.0f, "0"}, {-0.0f, "-0"}, {INFINITY, "inf"},
    };
    char buf[NUM_F32_TEXT];
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        num_f32_text(fixed[i].v, buf);
        assert_string_equal(buf, fixed[i].text);
    }

    /* The fast path must give printf's text exactly: around every power of ten and two,
     * short decimals, and random bit patterns. */
    text_mismatches = 0;
    for (int k = -45; k <= 38; k++) {
        char p10[16];
        snprintf(p10, sizeof p10, "1e%d", k);
        float up = strtof(p10, NULL), down = up;
        for (int i = 0; i < 200; i++) {
            text_check(up);
            text_check(-down);
            up = nextafterf(up, INFINITY);
            down = nextafterf(down, 0);
        }
    }
    for (int e = -149; e < 128; e++) {
        float up = ldexpf(1, e), down = up;
        for (int i = 0; i < 20; i++) {
            text_check(up);
            text_check(down);
            up = nextafterf(up, INFINITY);
            down = nextafterf(down, 0);
        }
    }
    for (int j = 0; j <= 7; j++) {
        double scale = pow(10, j);
        for (int i = 1; i <= 20000; i++) {
            text_check((float)(i / scale));
            text_check((float)(i * scale));
        }
    }
    uint32_t x = 2463534242u;  /* xorshift32 */
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        float v;
        memcpy(&v, &x, sizeof v);
        if (!isnan(v))
            text_check(v);
    }
    assert_int_equal(text_mismatches, 0);
}

static void utf8_check_and_repair(void **state)
{
    assert_true(text_is_utf8("plain ascii"));
    assert_true(text_is_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8c\xb8"));
    assert_false(text_is_utf8("lat\xe9"));           /* Latin-1 */
    assert_false(text_is_utf8("\xc0\xaf"));          /* overlong '/' */
    assert_false(text_is_utf8("\xed\xa0\x80"));      /* a surrogate */
    assert_false(text_is_utf8("\xf4\x90\x80\x80"));  /* beyond U+10FFFF */
    assert_false(text_is_utf8("cut \xe2\x82"));      /* truncated */
    char *s = text_utf8("lat\xe9.csv");
    assert_string_equal(s, "lat\xef\xbf\xbd.csv");
    assert_true(text_is_utf8(s));
    free(s);
    s = text_utf8("caf\xc3\xa9");
    assert_string_equal(s, "caf\xc3\xa9");  /* valid text is unchanged */
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shortest_floats),
        cmocka_unit_test(shortest_float_texts),
        cmocka_unit_test(utf8_check_and_repair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
