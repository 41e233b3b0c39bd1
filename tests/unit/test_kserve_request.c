/* KServe v2 JSON inference requests: accepted forms give the exact tensor,
 * every malformed request is refused with its status and a precise message. */
#include "test_support.h"

#include "kserve_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A 1×2×3 input model with 10 classes, at most 4 images per request. */
static const srv_kserve_model_t MODEL = {"input", "output", 1, 2, 3, 10, 4};

static bool parse(const char *json, srv_kserve_request_t *r, srv_error_t *err)
{
    memset(err, 0, sizeof *err);
    return srv_kserve_parse_request((const uint8_t *)json, strlen(json), &MODEL, r, err);
}

static void expect_error(const char *json, int status, const char *needle)
{
    srv_kserve_request_t r;
    srv_error_t err;
    if (parse(json, &r, &err))
        fail_msg("accepted: %s", json);
    if (err.http_status != status || !strstr(err.message, needle))
        fail_msg("%s\n  expected %d \"%s\", got %d \"%s\"", json, status, needle, err.http_status, err.message);
    assert_null(r.data);
}

static void test_flat_batch(void **state)
{
    (void)state;
    srv_kserve_request_t r;
    srv_error_t err;
    const char *json = "{\"id\": \"req-7\", \"inputs\": [{\"name\": \"input\", \"shape\": [2, 1, 2, 3], "
                       "\"datatype\": \"FP32\", \"data\": [0, 1, 2, 3, 4, 5, 6.5, -7, 8e-1, 9, 10, 11]}]}";
    if (!parse(json, &r, &err))
        fail_msg("%s", err.message);
    assert_int_equal(r.batch, 2);
    assert_int_equal(r.numel, 12);
    assert_int_equal(r.classification, 0);
    assert_true(r.has_id);
    assert_string_equal(r.id, "req-7");
    assert_string_equal(r.output_name, "");
    const float want[12] = {0, 1, 2, 3, 4, 5, 6.5f, -7, 0.8f, 9, 10, 11};
    for (int i = 0; i < 12; i++)
        assert_true(r.data[i] == want[i]);
    srv_kserve_request_free(&r);
}

static void test_nested_chw_classification(void **state)
{
    (void)state;
    srv_kserve_request_t r;
    srv_error_t err;
    const char *json = "{\"inputs\": [{\"name\": \"input\", \"shape\": [1, 2, 3], \"datatype\": \"FP32\", "
                       "\"data\": [[[1, 2, 3], [4, 5, 6]]], \"parameters\": {\"content_type\": \"np\"}}], "
                       "\"outputs\": [{\"name\": \"output\", \"parameters\": {\"classification\": 3}}], "
                       "\"parameters\": {\"classification\": 3, \"other\": true}}";
    if (!parse(json, &r, &err))
        fail_msg("%s", err.message);
    assert_int_equal(r.batch, 1);
    assert_int_equal(r.numel, 6);
    assert_int_equal(r.classification, 3);
    assert_false(r.has_id);
    assert_string_equal(r.output_name, "output");
    for (int i = 0; i < 6; i++)
        assert_true(r.data[i] == (float)(i + 1));
    srv_kserve_request_free(&r);

    const char *top = "{\"parameters\": {\"classification\": 10}, \"inputs\": [{\"name\": \"input\", "
                      "\"shape\": [1, 1, 2, 3], \"datatype\": \"FP32\", \"data\": [[1, 2, 3, 4, 5, 6]]}]}";
    if (!parse(top, &r, &err))
        fail_msg("%s", err.message);
    assert_int_equal(r.classification, 10);
    srv_kserve_request_free(&r);
}

#define INPUT(shape, dtype, data) \
    "{\"inputs\": [{\"name\": \"input\", \"shape\": " shape ", \"datatype\": \"" dtype "\", \"data\": " data "}]}"
#define SIX "[1, 2, 3, 4, 5, 6]"

static void test_tensor_refusals(void **state)
{
    (void)state;
    expect_error(INPUT("[1, 1, 2, 3]", "INT32", SIX), 400, "datatype is INT32; only FP32");
    expect_error(INPUT("[1, 1, 2, 3]", "fp32", SIX), 400, "only FP32");
    expect_error(INPUT("[1, 3, 2, 3]", "FP32", SIX), 400, "C, H, W = 3, 2, 3; the model takes 1, 2, 3");
    expect_error(INPUT("[1, 1, 3, 2]", "FP32", SIX), 400, "the model takes 1, 2, 3");
    expect_error(INPUT("[6]", "FP32", SIX), 400, "[N, C, H, W] or [C, H, W]");
    expect_error(INPUT("[1, 1, 1, 2, 3]", "FP32", SIX), 400, "[N, C, H, W] or [C, H, W]");
    expect_error(INPUT("[1, 1, 2.5, 3]", "FP32", SIX), 400, "integers");
    expect_error(INPUT("[1, 1, -2, 3]", "FP32", SIX), 400, "integers");
    expect_error(INPUT("[1, 1, \"2\", 3]", "FP32", SIX), 400, "integers");
    expect_error(INPUT("\"1x1x2x3\"", "FP32", SIX), 400, "shape must be an array");
    expect_error(INPUT("[0, 1, 2, 3]", "FP32", "[]"), 400, "batch of 0");
    expect_error(INPUT("[5, 1, 2, 3]", "FP32", SIX), 413, "batch of 5; the limit is 4");
    expect_error(INPUT("[1e15, 1, 2, 3]", "FP32", SIX), 413, "the limit is 4");
    expect_error(INPUT("[1, 1, 2, 3]", "FP32", "[1, 2, 3, 4, 5]"), 400, "data has 5 values; the shape needs 6");
    expect_error(INPUT("[1, 1, 2, 3]", "FP32", "[1, 2, 3, 4, 5, 6, 7]"), 400, "data has 7 values");
    expect_error(INPUT("[2, 1, 2, 3]", "FP32", SIX), 400, "data has 6 values; the shape needs 12");
    expect_error(INPUT("[1, 1, 2, 3]", "FP32", "[1, 2, \"3\", 4, 5, 6]"), 400, "value 2 is not a number");
    expect_error(INPUT("[1, 1, 2, 3]", "FP32", "[1, 2, 3, null, 5, 6]"), 400, "value 3 is not a number");
    expect_error(INPUT("[1, 1, 2, 3]", "FP32", "[1, 2, 3, 4, 5, 1e999]"), 400, "value 5 is not a finite FP32");
    expect_error(INPUT("[1, 1, 2, 3]", "FP32", "[1, 2, 3, 4, -1e39, 6]"), 400, "value 4 is not a finite FP32");
    expect_error(INPUT("[1, 1, 2, 3]", "FP32", "{\"a\": 1}"), 400, "data must be an array");
    expect_error(INPUT("[1, 1, 2, 3]", "FP32", "7"), 400, "data must be an array");
}

static void test_request_refusals(void **state)
{
    (void)state;
    expect_error("{\"inputs\": [", 400, "invalid JSON");
    expect_error("[]", 400, "must be a JSON object");
    expect_error("{}", 400, "no \"inputs\"");
    expect_error("{\"inputs\": []}", 400, "exactly one input");
    expect_error("{\"inputs\": [{}, {}]}", 400, "exactly one input");
    expect_error("{\"inputs\": [7]}", 400, "inputs[0] must be an object");
    expect_error("{\"inputs\": [{\"name\": \"input\", \"shape\": [1, 2, 3], \"data\": " SIX "}]}", 400,
                 "inputs[0] has no \"datatype\"");
    expect_error("{\"inputs\": [{\"shape\": [1, 2, 3], \"datatype\": \"FP32\", \"data\": " SIX "}]}", 400,
                 "inputs[0] has no \"name\"");
    expect_error("{\"inputs\": [{\"name\": \"input\", \"datatype\": \"FP32\", \"data\": " SIX "}]}", 400,
                 "no \"shape\"");
    expect_error("{\"inputs\": [{\"name\": \"x\", \"shape\": [1, 2, 3], \"datatype\": \"FP32\", \"data\": " SIX
                 "}]}",
                 400, "unknown input \"x\"; the model's input is \"input\"");
    expect_error("{\"inputs\": [{\"name\": \"input\", \"shape\": [1, 2, 3], \"datatype\": \"FP32\", \"data\": " SIX
                 ", \"contents\": {}}]}",
                 400, "unknown key \"contents\" in inputs[0]");
    expect_error("{\"inputs\": [{\"name\": \"input\", \"shape\": [1, 2, 3], \"datatype\": \"FP32\", \"data\": " SIX
                 ", \"parameters\": {\"binary_data_size\": 24}}]}",
                 400, "binary tensor data extension");
    expect_error("{\"model\": \"m\", \"inputs\": []}", 400, "unknown key \"model\" in the request");
    expect_error("{\"inputs\": [], \"inputs\": []}", 400, "given twice");
    expect_error("{\"id\": 7, \"inputs\": []}", 400, "id must be a string");
    char long_id[400];
    snprintf(long_id, sizeof long_id, "{\"id\": \"%0300d\", \"inputs\": []}", 0);
    expect_error(long_id, 400, "id is longer than 255 bytes");
    expect_error("{\"parameters\": [], \"inputs\": []}", 400, "parameters must be an object");
    expect_error(INPUT("[1, 2, 3]", "FP32", SIX) " x", 400, "after the value");
}

/* The classification extension and the outputs list. */
#define WITH(extra) \
    "{\"inputs\": [{\"name\": \"input\", \"shape\": [1, 2, 3], \"datatype\": \"FP32\", \"data\": " SIX "}], " extra "}"

static void test_output_refusals(void **state)
{
    (void)state;
    expect_error(WITH("\"parameters\": {\"classification\": 0}"), 400, "classification must be an integer from 1 to 10");
    expect_error(WITH("\"parameters\": {\"classification\": 11}"), 400, "from 1 to 10");
    expect_error(WITH("\"parameters\": {\"classification\": 2.5}"), 400, "from 1 to 10");
    expect_error(WITH("\"parameters\": {\"classification\": \"3\"}"), 400, "from 1 to 10");
    expect_error(WITH("\"parameters\": {\"classification\": 2}, \"outputs\": [{\"name\": \"output\", "
                      "\"parameters\": {\"classification\": 3}}]"),
                 400, "classification given as both 2 and 3");
    expect_error(WITH("\"outputs\": [{\"name\": \"output\"}, {\"name\": \"output\"}]"), 400, "at most one output");
    expect_error(WITH("\"outputs\": {\"name\": \"output\"}"), 400, "at most one output");
    expect_error(WITH("\"outputs\": [{\"name\": \"probs\"}]"), 400, "unknown output \"probs\"");
    expect_error(WITH("\"outputs\": [{}]"), 400, "outputs[0] has no \"name\"");
    expect_error(WITH("\"outputs\": [{\"name\": \"output\", \"shape\": [1]}]"), 400, "unknown key \"shape\" in outputs[0]");
    expect_error(WITH("\"outputs\": [3]"), 400, "outputs[0] must be an object");

    srv_kserve_request_t r;
    srv_error_t err;
    if (!parse(WITH("\"outputs\": []"), &r, &err))
        fail_msg("%s", err.message);
    assert_int_equal(r.classification, 0);
    srv_kserve_request_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flat_batch),
        cmocka_unit_test(test_nested_chw_classification),
        cmocka_unit_test(test_tensor_refusals),
        cmocka_unit_test(test_request_refusals),
        cmocka_unit_test(test_output_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
