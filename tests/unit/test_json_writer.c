/* The reply JSON writer prints numbers and strings byte for byte as
 * cJSON_PrintUnformatted does (so /classify replies read the same whichever
 * wrote them). */
#include "test_support.h"

#include "json_writer.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What cJSON prints for a lone number or string. */
static char *cjson_text(cJSON *item)
{
    char *text = cJSON_PrintUnformatted(item);
    cJSON_Delete(item);
    assert_non_null(text);
    return text;
}

static char *writer_number(double d)
{
    srv_json_writer_t w = {0};
    srv_jw_number(&w, d);
    char *text = srv_jw_finish(&w, NULL);
    assert_non_null(text);
    return text;
}

static void expect_number(double d)
{
    char *want = cjson_text(cJSON_CreateNumber(d)), *got = writer_number(d);
    if (strcmp(want, got) != 0)
        fail_msg("%.17g: cJSON '%s', writer '%s'", d, want, got);
    free(want);
    free(got);
}

static void test_numbers_match_cjson(void **state)
{
    (void)state;
    static const double fixed[] = {0.0, -0.0, 1.0, -1.0, 0.1, 1.0 / 3.0, 2.0 / 3.0, 3e9, 1e300, -1e-300,
                                   5e-324, 123456789012345678.0, 0.9948, 4.4e-3, 1e15, 1e16, 1e17};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        expect_number(fixed[i]);
    float probs[20000];
    cnn_test_fill_uniform(probs, 20000, 0.0f, 1.0f, 42);
    for (size_t i = 0; i < 20000; i++) {
        expect_number(probs[i]);                  /* probabilities as replies carry them */
        expect_number(probs[i] * 1e6 - 5e5);      /* and wider doubles */
        expect_number(ldexp(probs[i], (int)(i % 200) - 100));
    }
    char *nan = writer_number(NAN), *inf = writer_number(-INFINITY);
    assert_string_equal(nan, "null");
    assert_string_equal(inf, "null");
    free(nan);
    free(inf);
}

static void test_strings_and_raw_match_cjson(void **state)
{
    (void)state;
    static const char *const strings[] = {"", "Ankle boot", "T-shirt/top", "quote \" backslash \\ slash /",
                                          "\b\f\n\r\t\x01\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac"};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        char *want = cjson_text(cJSON_CreateString(strings[i]));
        srv_json_writer_t w = {0};
        srv_jw_string(&w, strings[i]);
        size_t len = 0;
        char *got = srv_jw_finish(&w, &len);
        assert_non_null(got);
        assert_string_equal(got, want);
        assert_int_equal(len, strlen(want));
        free(want);
        free(got);
    }
    srv_json_writer_t w = {0};
    srv_jw_raw(&w, "{\"label\":");
    srv_jw_string(&w, "Bag");
    srv_jw_raw(&w, ",\"probability\":");
    srv_jw_number(&w, 0.5);
    srv_jw_raw(&w, "}");
    char *got = srv_jw_finish(&w, NULL);
    assert_string_equal(got, "{\"label\":\"Bag\",\"probability\":0.5}");
    free(got);
}

static char *writer_float(float f)
{
    srv_json_writer_t w = {0};
    srv_jw_float(&w, f);
    char *text = srv_jw_finish(&w, NULL);
    assert_non_null(text);
    return text;
}

/* srv_jw_float: what strtof reads back is the float itself (every exponent:
 * random bit patterns), at most nine digits, JSON number syntax; and the
 * exact text of a few values. */
static void test_floats_round_trip(void **state)
{
    (void)state;
    static const struct {
        float f;
        const char *text;
    } fixed[] = {{1.0f, "1"}, {0.5f, "0.5"}, {-2.5f, "-2.5"}, {100.0f, "100"}, {123456789.0f, "123456792"},
                 {1e9f, "1e9"}, {1e-5f, "9.99999975e-6"}, {1e-4f, "0.0000999999975"}, {0.1f, "0.100000001"}, {0.0f, "0"}, {-0.0f, "-0"},
                 {3.40282347e38f, "3.40282347e38"}, {1.40129846e-45f, "1.40129846e-45"}, {NAN, "null"},
                 {INFINITY, "null"}};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        char *got = writer_float(fixed[i].f);
        if (strcmp(got, fixed[i].text) != 0)
            fail_msg("%.9g: got '%s', want '%s'", (double)fixed[i].f, got, fixed[i].text);
        free(got);
    }
    uint32_t x = 2463534242u;
    for (int i = 0; i < 2000000; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        float f;
        memcpy(&f, &x, sizeof f);
        if (!isfinite(f) || f == 0.0f)
            continue;
        char buf[40], *end;
        srv_json_writer_t w = {.buf = NULL};
        srv_jw_float(&w, f);
        char *got = srv_jw_finish(&w, NULL);
        assert_non_null(got);
        float back = strtof(got, &end);
        size_t digits = 0;
        for (const char *p = got; *p && *p != 'e'; p++)
            digits += *p >= '0' && *p <= '9';
        if (*end || memcmp(&back, &f, sizeof f) != 0 || strlen(got) > 16 || digits > 9 + 5 ||
            got[strspn(got, "-0123456789.e")] != '\0') {
            snprintf(buf, sizeof buf, "%.9g", (double)f);
            fail_msg("0x%08x (%s): wrote '%s', read back %.9g", x, buf, got, (double)back);
        }
        free(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_match_cjson),
        cmocka_unit_test(test_strings_and_raw_match_cjson),
        cmocka_unit_test(test_floats_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
