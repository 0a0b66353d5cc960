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

/* num_decimal_exact against strtod, bit for bit, on the texts it takes; and it must take
 * the everyday ones (a feature value as people write it). */
static int decimal_mismatches, decimal_taken;

static void decimal_check(const char *text)
{
    double fast;
    if (!num_decimal_exact(text, text + strlen(text), &fast))
        return;
    decimal_taken++;
    double slow = strtod(text, NULL);
    if (memcmp(&fast, &slow, sizeof fast) != 0 && decimal_mismatches++ < 10)
        print_error("num_decimal_exact(\"%s\") = %.17g, strtod %.17g\n", text, fast, slow);
}

static void exact_decimals(void **state)
{
    (void)state;
    static const char *taken[] = {"5.1", "0.2", "-3.25e-2", "1e5", "0", "-0.0", "7",
                                  "1234567890123456e-22", "9007199254740992",
                                  "0.00000000000000000001", "1E+22", "4.35"};
    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++) {
        double v;
        assert_true(num_decimal_exact(taken[i], taken[i] + strlen(taken[i]), &v));
        assert_memory_equal(&v, &(double){strtod(taken[i], NULL)}, sizeof v);
    }
    double z;
    assert_true(num_decimal_exact("-0.0", "-0.0" + 4, &z) && signbit(z) && z == 0);
    /* left to strtod: too many digits, a mantissa past 2^53, a power past 10^22, text
     * that is not a whole number */
    static const char *refused[] = {"12345678901234567890", "9007199254740993", "1e23",
                                    "1.5e-23", "0.000000000000000000000000001", "1.",
                                    ".5", "1e", "1e+", "--1", "1x", "", "-", "0x10", "inf"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        double v;
        assert_false(num_decimal_exact(refused[i], refused[i] + strlen(refused[i]), &v));
    }
    decimal_mismatches = decimal_taken = 0;
    uint64_t x = 88172645463325252u;  /* xorshift64 */
    char text[64];
    for (int i = 0; i < 300000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int digits = 1 + (int)(x % 20), point = (int)((x >> 8) % (unsigned)(digits + 1));
        int exp = (int)((x >> 16) % 61) - 30;
        size_t o = 0;
        if (x >> 63)
            text[o++] = '-';
        uint64_t y = x * 6364136223846793005u + 1442695040888963407u;
        for (int d = 0; d < digits; d++) {
            if (d == point && d > 0)
                text[o++] = '.';
            text[o++] = (char)('0' + (y >> 60) % 10);
            y = y * 6364136223846793005u + 1442695040888963407u;
        }
        if ((x >> 24) & 1)
            o += (size_t)snprintf(text + o, sizeof text - o, "e%d", exp);
        text[o] = '\0';
        decimal_check(text);
    }
    print_message("exact decimals: %d of 300000 taken\n", decimal_taken);
    assert_int_equal(decimal_mismatches, 0);
    assert_true(decimal_taken > 100000);
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
        cmocka_unit_test(exact_decimals),
        cmocka_unit_test(utf8_check_and_repair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
