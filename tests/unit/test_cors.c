/* --cors-origin: which values are origins, and which requests get
 * Access-Control-Allow-Origin. */
#include "test_support.h"

#include "cors.h"

#include <string.h>

static void test_valid_origins(void **state)
{
    (void)state;
    const char *good[] = {"*", "http://localhost", "http://localhost:3000", "https://example.com",
                          "https://a-b.example.org:8443", "http://127.0.0.1:8080", "http://[::1]:5173",
                          "HTTPS://Example.COM"};
    char msg[256];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!srv_cors_origin_valid(good[i], msg, sizeof msg))
            fail_msg("'%s' refused: %s", good[i], msg);
}

static void test_invalid_origins(void **state)
{
    (void)state;
    const char *bad[] = {"", "null", "localhost:3000", "ftp://example.com", "http://", "http://:80",
                         "http://example.com/", "http://example.com/path", "http://example.com:",
                         "http://example.com:123456", "http://exa mple.com", "http://[]:80",
                         "http://[::1", "http://a.com,http://b.com", "**", "http://example.com*"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char msg[256] = "";
        if (srv_cors_origin_valid(bad[i], msg, sizeof msg))
            fail_msg("'%s' accepted", bad[i]);
        assert_non_null(strstr(msg, "not an origin"));
    }
}

static void test_allow_origin(void **state)
{
    (void)state;
    assert_null(srv_cors_allow_origin(NULL, "http://localhost:3000"));
    assert_string_equal(srv_cors_allow_origin("*", NULL), "*");
    assert_string_equal(srv_cors_allow_origin("*", "http://anything"), "*");
    const char *o = "http://localhost:3000";
    assert_string_equal(srv_cors_allow_origin(o, "http://localhost:3000"), o);
    assert_string_equal(srv_cors_allow_origin(o, "HTTP://LOCALHOST:3000"), o);
    assert_null(srv_cors_allow_origin(o, NULL));
    assert_null(srv_cors_allow_origin(o, "http://localhost:3001"));
    assert_null(srv_cors_allow_origin(o, "http://localhost:3000/"));
    assert_null(srv_cors_allow_origin(o, "https://localhost:3000"));
    assert_null(srv_cors_allow_origin(o, "null"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_origins),
        cmocka_unit_test(test_invalid_origins),
        cmocka_unit_test(test_allow_origin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
