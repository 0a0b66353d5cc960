/* test_text.c — shortest float decimals and UTF-8 repair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
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
        cmocka_unit_test(utf8_check_and_repair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
