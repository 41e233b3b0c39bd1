/* Feature-map query parameters: the channel range list, the layer list
 * and every key of /featuremaps (values, repeats, unknown keys). */
#include "test_support.h"

#include "fmap_query.h"

#include <string.h>

static void expect_ranges(const char *text, const int *want, int n_want)
{
    srv_channel_range_t r[8];
    int n = -1;
    srv_error_t err;
    if (!srv_channel_ranges_parse(text, r, 8, &n, &err))
        fail_msg("\"%s\": %s", text, err.message);
    assert_int_equal(n, n_want);
    for (int i = 0; i < n; i++) {
        assert_int_equal(r[i].lo, want[2 * i]);
        assert_int_equal(r[i].hi, want[2 * i + 1]);
    }
}

static void expect_bad_ranges(const char *text, int max, const char *needle)
{
    srv_channel_range_t r[8];
    int n = 0;
    srv_error_t err;
    memset(&err, 0, sizeof err);
    assert_false(srv_channel_ranges_parse(text, r, max, &n, &err));
    assert_int_equal(err.http_status, 400);
    if (!strstr(err.message, needle))
        fail_msg("\"%s\": \"%s\" lacks \"%s\"", text ? text : "(null)", err.message, needle);
}

static void test_channel_ranges(void **state)
{
    (void)state;
    expect_ranges("0", (const int[]){0, 0}, 1);
    expect_ranges("0-15,32", (const int[]){0, 15, 32, 32}, 2);
    expect_ranges("7,7,3-3", (const int[]){7, 7, 7, 7, 3, 3}, 3);
    expect_ranges("1000000", (const int[]){1000000, 1000000}, 1);
    expect_ranges("007-010", (const int[]){7, 10}, 1);
}

static void test_channel_ranges_bad(void **state)
{
    (void)state;
    expect_bad_ranges(NULL, 8, "empty");
    expect_bad_ranges("", 8, "empty");
    expect_bad_ranges("5-3", 8, "runs backwards");
    expect_bad_ranges("1,", 8, "expected a channel number");
    expect_bad_ranges(",1", 8, "expected a channel number");
    expect_bad_ranges("1,,2", 8, "expected a channel number");
    expect_bad_ranges("-1", 8, "expected a channel number");
    expect_bad_ranges("1-", 8, "expected a channel number");
    expect_bad_ranges("1--2", 8, "expected a channel number");
    expect_bad_ranges("1000001", 8, "expected a channel number");
    expect_bad_ranges("99999999999999999999", 8, "expected a channel number");
    expect_bad_ranges("+1", 8, "expected a channel number");
    expect_bad_ranges("1 ", 8, "unexpected ' '");
    expect_bad_ranges("1;2", 8, "unexpected ';'");
    expect_bad_ranges("0x10", 8, "unexpected 'x'");
    expect_bad_ranges("1,2,3", 2, "more than 2 items");
}

static void test_layer_list(void **state)
{
    (void)state;
    char text[] = "conv1,layers.0.0.conv2,fc";
    const char *names[4];
    int n = 0;
    srv_error_t err;
    assert_true(srv_layer_list_split(text, names, 4, &n, &err));
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "conv1");
    assert_string_equal(names[1], "layers.0.0.conv2");
    assert_string_equal(names[2], "fc");
    char bad1[] = "a,,b", bad2[] = ",a", bad3[] = "a,", many[] = "a,b,c";
    assert_false(srv_layer_list_split(bad1, names, 4, &n, &err));
    assert_int_equal(err.http_status, 400);
    assert_false(srv_layer_list_split(bad2, names, 4, &n, &err));
    assert_false(srv_layer_list_split(bad3, names, 4, &n, &err));
    assert_false(srv_layer_list_split(many, names, 2, &n, &err));
    assert_non_null(strstr(err.message, "more than 2"));
}

static void test_query_keys(void **state)
{
    (void)state;
    srv_fmap_query_t q;
    srv_error_t err;
    srv_fmap_query_init(&q);
    assert_int_equal(q.format, SRV_FMAP_JSON);
    assert_false(q.base64);
    assert_false(q.hypercolumn);
    assert_false(srv_fmap_query_finish(&q, 10, &err)); /* layers is required */
    assert_non_null(strstr(err.message, "layers is required"));
    assert_true(srv_fmap_query_set(&q, "layers", "a,b", &err));
    assert_true(srv_fmap_query_set(&q, "channels", "0-3,9", &err));
    assert_true(srv_fmap_query_set(&q, "format", "png", &err));
    assert_true(srv_fmap_query_set(&q, "encoding", "base64", &err));
    assert_true(srv_fmap_query_set(&q, "hypercolumn", "1", &err));
    assert_true(srv_fmap_query_set(&q, "top_k", "3", &err));
    assert_true(srv_fmap_query_finish(&q, 10, &err));
    assert_string_equal(q.layers, "a,b");
    assert_false(q.all_layers);
    assert_int_equal(q.n_ranges, 2);
    assert_int_equal(q.format, SRV_FMAP_PNG);
    assert_true(q.base64);
    assert_true(q.hypercolumn);
    assert_int_equal(q.base.top_k, 3);
    srv_fmap_query_free(&q);

    srv_fmap_query_init(&q);
    assert_true(srv_fmap_query_set(&q, "layers", "all", &err));
    assert_true(q.all_layers);
    assert_null(q.layers);
    assert_true(srv_fmap_query_set(&q, "hypercolumn", "false", &err));
    assert_false(q.hypercolumn);
    assert_true(srv_fmap_query_set(&q, "encoding", "array", &err));
    assert_true(srv_fmap_query_finish(&q, 3, &err));
    assert_int_equal(q.base.top_k, 3); /* the default lowered to the classes */
    srv_fmap_query_free(&q);
}

static void expect_bad_pair(const char *key, const char *value, const char *needle)
{
    srv_fmap_query_t q;
    srv_error_t err;
    srv_fmap_query_init(&q);
    memset(&err, 0, sizeof err);
    assert_false(srv_fmap_query_set(&q, key, value, &err));
    assert_int_equal(err.http_status, 400);
    if (!strstr(err.message, needle))
        fail_msg("%s=%s: \"%s\" lacks \"%s\"", key ? key : "(null)", value ? value : "(null)", err.message, needle);
    srv_fmap_query_free(&q);
}

static void test_query_bad(void **state)
{
    (void)state;
    expect_bad_pair("layers", NULL, "at least one layer");
    expect_bad_pair("layers", "", "at least one layer");
    expect_bad_pair("channels", NULL, "empty");
    expect_bad_pair("channels", "1-x", "expected a channel number");
    expect_bad_pair("format", "jpeg", "format must be json or png");
    expect_bad_pair("format", NULL, "format must be");
    expect_bad_pair("encoding", "hex", "encoding must be array or base64");
    expect_bad_pair("hypercolumn", "yes", "hypercolumn must be 1 or 0");
    expect_bad_pair("hypercolumn", NULL, "hypercolumn must be");
    expect_bad_pair("top_k", "0", "top_k");
    expect_bad_pair("layer", "a", "unknown query parameter \"layer\"");
    expect_bad_pair(NULL, "a", "unknown query parameter");

    /* Every key at most once. */
    const char *keys[][2] = {{"layers", "a"}, {"channels", "1"}, {"format", "json"}, {"encoding", "array"},
                             {"hypercolumn", "0"}, {"top_k", "2"}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        srv_fmap_query_t q;
        srv_error_t err;
        srv_fmap_query_init(&q);
        assert_true(srv_fmap_query_set(&q, keys[i][0], keys[i][1], &err));
        assert_false(srv_fmap_query_set(&q, keys[i][0], keys[i][1], &err));
        assert_non_null(strstr(err.message, "twice"));
        srv_fmap_query_free(&q);
    }
    /* A too long layer list. */
    static char big[SRV_FMAP_LAYERS_TEXT_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    expect_bad_pair("layers", big, "over");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channel_ranges),
        cmocka_unit_test(test_channel_ranges_bad),
        cmocka_unit_test(test_layer_list),
        cmocka_unit_test(test_query_keys),
        cmocka_unit_test(test_query_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
