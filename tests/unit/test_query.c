/* /classify query parameters: top_k and the allow-list of keys. */
#include "test_support.h"

#include "query.h"

#include <string.h>

static void expect_bad(const char *key, const char *value, const char *needle)
{
    srv_query_t q;
    srv_error_t err;
    srv_query_init(&q);
    memset(&err, 0, sizeof err);
    assert_false(srv_query_set(&q, key, value, &err));
    assert_int_equal(err.http_status, 400);
    if (!strstr(err.message, needle))
        fail_msg("%s=%s: \"%s\" lacks \"%s\"", key ? key : "(null)", value ? value : "(null)", err.message,
                 needle);
    assert_int_equal(q.top_k, SRV_QUERY_TOP_K_DEFAULT);
}

static void test_default(void **state)
{
    (void)state;
    srv_query_t q;
    srv_error_t err;
    srv_query_init(&q);
    assert_true(srv_query_finish(&q, 10, &err));
    assert_int_equal(q.top_k, 5);
    assert_false(q.top_k_set);
    /* A model with fewer classes than the default lowers it. */
    srv_query_init(&q);
    assert_true(srv_query_finish(&q, 3, &err));
    assert_int_equal(q.top_k, 3);
}

static void test_top_k(void **state)
{
    (void)state;
    srv_query_t q;
    srv_error_t err;
    srv_query_init(&q);
    assert_true(srv_query_set(&q, "top_k", "3", &err));
    assert_true(srv_query_finish(&q, 10, &err));
    assert_int_equal(q.top_k, 3);
    assert_true(q.top_k_set);

    srv_query_init(&q);
    assert_true(srv_query_set(&q, "top_k", "10", &err));
    assert_true(srv_query_finish(&q, 10, &err));
    assert_int_equal(q.top_k, 10);

    srv_query_init(&q);
    assert_true(srv_query_set(&q, "top_k", "007", &err));
    assert_true(srv_query_finish(&q, 10, &err));
    assert_int_equal(q.top_k, 7);

    srv_query_init(&q);
    assert_true(srv_query_set(&q, "top_k", "11", &err));
    assert_false(srv_query_finish(&q, 10, &err));
    assert_int_equal(err.http_status, 400);
    assert_non_null(strstr(err.message, "between 1 and 10"));
}

static void test_bad_values(void **state)
{
    (void)state;
    expect_bad("top_k", "0", "positive integer");
    expect_bad("top_k", "-1", "positive integer");
    expect_bad("top_k", "+3", "positive integer");
    expect_bad("top_k", " 3", "positive integer");
    expect_bad("top_k", "3 ", "positive integer");
    expect_bad("top_k", "3x", "positive integer");
    expect_bad("top_k", "2.5", "positive integer");
    expect_bad("top_k", "abc", "\"abc\"");
    expect_bad("top_k", "", "positive integer");
    expect_bad("top_k", NULL, "positive integer");
    expect_bad("top_k", "99999999999999999999", "positive integer");
    expect_bad("top_k", "1000001", "positive integer");
}

static void test_keys(void **state)
{
    (void)state;
    expect_bad("topk", "3", "unknown query parameter \"topk\"; known: top_k");
    expect_bad("TOP_K", "3", "unknown");
    expect_bad("", "3", "unknown");
    /* Client bytes in messages come out as printable ASCII. */
    expect_bad("k\x01\xc3\xa9\"", "3", "unknown query parameter \"k???\"\"");
    srv_query_t q;
    srv_error_t err;
    srv_query_init(&q);
    assert_true(srv_query_set(&q, "top_k", "2", &err));
    assert_false(srv_query_set(&q, "top_k", "2", &err));
    assert_int_equal(err.http_status, 400);
    assert_non_null(strstr(err.message, "twice"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default),
        cmocka_unit_test(test_top_k),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
