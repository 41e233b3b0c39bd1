/* The server's URL routing: paths, model segments, methods. */
#include "test_support.h"

#include "routes.h"

#include <string.h>

static void expect_route(const char *path, srv_route_id_t id, const char *model, bool post)
{
    srv_route_t r;
    bool ok = srv_route_match(path, &r);
    if (!ok || r.id != id)
        fail_msg("%s: route %d, expected %d", path, (int)r.id, (int)id);
    if (model) {
        assert_non_null(r.model);
        if (r.model_len != strlen(model) || memcmp(r.model, model, r.model_len) != 0)
            fail_msg("%s: model '%.*s', expected '%s'", path, (int)r.model_len, r.model, model);
    } else {
        assert_null(r.model);
    }
    assert_int_equal(r.post, post);
}

static void test_known_paths(void **state)
{
    (void)state;
    expect_route("/classify", SRV_ROUTE_CLASSIFY, NULL, true);
    expect_route("/v1/models/lenet5-fashion/classify", SRV_ROUTE_CLASSIFY, "lenet5-fashion", true);
    expect_route("/v1/models", SRV_ROUTE_MODELS, NULL, false);
    expect_route("/v1/models/m", SRV_ROUTE_MODEL, "m", false);
    expect_route("/health/live", SRV_ROUTE_LIVE, NULL, false);
    expect_route("/health/ready", SRV_ROUTE_READY, NULL, false);
    expect_route("/v2", SRV_ROUTE_V2_SERVER, NULL, false);
    expect_route("/v2/health/live", SRV_ROUTE_V2_LIVE, NULL, false);
    expect_route("/v2/health/ready", SRV_ROUTE_V2_READY, NULL, false);
    expect_route("/v2/models/resnet50", SRV_ROUTE_V2_MODEL, "resnet50", false);
    expect_route("/v2/models/resnet50/ready", SRV_ROUTE_V2_MODEL_READY, "resnet50", false);
    expect_route("/v2/models/resnet50/infer", SRV_ROUTE_V2_INFER, "resnet50", true);
    expect_route("/metrics", SRV_ROUTE_METRICS, NULL, false);
    expect_route("/featuremaps", SRV_ROUTE_FEATUREMAPS, NULL, true);
    expect_route("/v1/models/resnet50/featuremaps", SRV_ROUTE_FEATUREMAPS, "resnet50", true);
    expect_route("/v1/models/resnet50/layers", SRV_ROUTE_LAYERS, "resnet50", false);
    /* A model called "layers" or "featuremaps" is still a model. */
    expect_route("/v1/models/layers", SRV_ROUTE_MODEL, "layers", false);
    expect_route("/", SRV_ROUTE_DASHBOARD, NULL, false);
    expect_route("/dashboard/dashboard.js", SRV_ROUTE_DASHBOARD_FILE, "dashboard.js", false);
}

/* A model segment is one non-empty segment; anything else is unknown. */
static void test_unknown_paths(void **state)
{
    (void)state;
    const char *bad[] = {"", "//", "/index.html", "/dashboard", "/dashboard/", "/dashboard/a/b.js",
                         "/classify/", "/v1/models/", "/v1/models//classify",
                         "/v1/models/a/b/classify", "/v2/models/a/b", "/v2/models//infer",
                         "/health", "/metrics/x", "/CLASSIFY", "/v1/modelsx", "/v1/models//layers",
                         "/v1/models/a/b/featuremaps", "/featuremaps/", "/v1/layers"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        srv_route_t r;
        if (srv_route_match(bad[i], &r) || r.id != SRV_ROUTE_NONE)
            fail_msg("'%s' matched route %d", bad[i], (int)r.id);
    }
}

static void test_allow_and_names(void **state)
{
    (void)state;
    srv_route_t r;
    assert_true(srv_route_match("/classify", &r));
    assert_string_equal(srv_route_allow(&r), "POST");
    assert_string_equal(srv_route_name(r.id), "classify");
    assert_true(srv_route_match("/v1/models", &r));
    assert_string_equal(srv_route_allow(&r), "GET, HEAD");
    assert_string_equal(srv_route_name(SRV_ROUTE_NONE), "unknown");
    assert_true(srv_route_match("/", &r));
    assert_string_equal(srv_route_allow(&r), "GET, HEAD");
    assert_string_equal(srv_route_name(r.id), "dashboard");
    assert_string_equal(srv_route_name(SRV_ROUTE_DASHBOARD_FILE), "dashboard_file");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_paths),
        cmocka_unit_test(test_unknown_paths),
        cmocka_unit_test(test_allow_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
