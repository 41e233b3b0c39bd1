/* model.json parsing: defaults from the zoo, validation messages, and the to_json round trip. */
#include "test_support.h"

#include "model_config.h"

#include <stdlib.h>
#include <string.h>

static cnn_status_t parse(const char *json, cnn_model_config_t *cfg, cnn_error_t *err)
{
    return cnn_model_config_parse(json, strlen(json), "dirname", cfg, err);
}

/* Expects `json` to be rejected with `status` and a message containing `needle`. */
static void expect_bad(const char *json, cnn_status_t status, const char *needle)
{
    cnn_model_config_t cfg;
    cnn_error_t err = {0};
    assert_int_equal(parse(json, &cfg, &err), status);
    if (!strstr(err.message, needle))
        fail_msg("message '%s' lacks '%s' (json: %s)", err.message, needle, json);
    assert_null(cfg.name);
    assert_null(cfg.arch);
    assert_null(cfg.labels);
}

static void test_defaults_from_zoo(void **state)
{
    (void)state;
    const cnn_zoo_arch_t *arch = cnn_zoo_find("lenet5");
    assert_non_null(arch);
    cnn_model_config_t cfg;
    cnn_error_t err = {0};
    assert_int_equal(parse("{\"architecture\": {\"zoo\": \"lenet5\"}}", &cfg, &err), CNN_OK);
    assert_string_equal(cfg.name, "dirname");
    assert_string_equal(cfg.arch, "lenet5");
    assert_ptr_equal(cfg.zoo.arch, cfg.arch);
    assert_int_equal(cfg.zoo.num_classes, arch->default_classes);
    assert_int_equal(cfg.zoo.width_divisor, 1);
    assert_int_equal(cfg.zoo.in_channels, arch->in_channels);
    assert_int_equal(cfg.zoo.in_height, arch->in_height);
    assert_int_equal(cfg.zoo.in_width, arch->in_width);
    assert_memory_equal(&cfg.preprocess, &arch->preprocess, sizeof cfg.preprocess);
    assert_null(cfg.labels);
    assert_int_equal(cfg.num_labels, 0);
    assert_int_equal(cfg.max_batch_size, 8);
    assert_int_equal(cfg.max_queue_delay_us, 2000);
    assert_int_equal(cfg.precision, CNN_PRECISION_FP32);
    cnn_model_config_free(&cfg);

    /* Without a directory name the architecture names the model. */
    const char *json = "{\"architecture\": {\"zoo\": \"lenet5\"}}";
    assert_int_equal(cnn_model_config_parse(json, strlen(json), NULL, &cfg, &err), CNN_OK);
    assert_string_equal(cfg.name, "lenet5");
    cnn_model_config_free(&cfg);
}

static const char *FULL =
    "{\n"
    "  \"name\": \"lenet5-fashion\",\n"
    "  \"architecture\": {\"zoo\": \"lenet5\", \"num_classes\": 3, \"width_divisor\": 2},\n"
    "  \"input\": {\"channels\": 3, \"height\": 32, \"width\": 30},\n"
    "  \"preprocessing\": {\"color\": \"rgb\", \"resize_shorter\": 36, \"scale\": 0.00392156862745098,\n"
    "                    \"mean\": [0.485, 0.456, 0.406], \"std\": [0.229, 0.224, 0.225]},\n"
    "  \"labels\": [\"cat\", \"dog\", \"bird\"],\n"
    "  \"batching\": {\"max_batch_size\": 32, \"max_queue_delay_us\": 0},\n"
    "  \"precision\": \"bf16\"\n"
    "}\n";

static void check_full(const cnn_model_config_t *cfg)
{
    assert_string_equal(cfg->name, "lenet5-fashion");
    assert_string_equal(cfg->arch, "lenet5");
    assert_int_equal(cfg->zoo.num_classes, 3);
    assert_int_equal(cfg->zoo.width_divisor, 2);
    assert_int_equal(cfg->zoo.in_channels, 3);
    assert_int_equal(cfg->zoo.in_height, 32);
    assert_int_equal(cfg->zoo.in_width, 30);
    assert_int_equal(cfg->preprocess.color, CNN_COLOR_RGB);
    assert_int_equal(cfg->preprocess.resize_shorter, 36);
    assert_true(cfg->preprocess.scale == (float)0.00392156862745098);
    assert_true(cfg->preprocess.mean[1] == 0.456f);
    assert_true(cfg->preprocess.std[2] == 0.225f);
    assert_int_equal(cfg->num_labels, 3);
    assert_string_equal(cfg->labels[2], "bird");
    assert_int_equal(cfg->max_batch_size, 32);
    assert_int_equal(cfg->max_queue_delay_us, 0);
    assert_int_equal(cfg->precision, CNN_PRECISION_BF16);
}

static void test_full_config_and_round_trip(void **state)
{
    (void)state;
    cnn_model_config_t cfg, again;
    cnn_error_t err = {0};
    assert_int_equal(parse(FULL, &cfg, &err), CNN_OK);
    check_full(&cfg);
    char *json = cnn_model_config_to_json(&cfg);
    assert_non_null(json);
    assert_int_equal(cnn_model_config_parse(json, strlen(json), "other", &again, &err), CNN_OK);
    check_full(&again);
    assert_memory_equal(&again.preprocess, &cfg.preprocess, sizeof cfg.preprocess);
    free(json);
    cnn_model_config_free(&again);
    cnn_model_config_free(&cfg);

    /* Defaults round-trip too (single mean/std values broadcast). */
    assert_int_equal(parse("{\"architecture\": {\"zoo\": \"lenet5\"}, "
                           "\"preprocessing\": {\"mean\": [0.5], \"std\": [0.25]}}", &cfg, &err),
                     CNN_OK);
    assert_true(cfg.preprocess.mean[2] == 0.5f);
    json = cnn_model_config_to_json(&cfg);
    assert_non_null(json);
    assert_int_equal(cnn_model_config_parse(json, strlen(json), NULL, &again, &err), CNN_OK);
    assert_string_equal(again.name, "dirname");
    assert_memory_equal(&again.zoo.num_classes, &cfg.zoo.num_classes, sizeof(int));
    assert_memory_equal(&again.preprocess, &cfg.preprocess, sizeof cfg.preprocess);
    assert_int_equal(again.max_batch_size, cfg.max_batch_size);
    free(json);
    cnn_model_config_free(&again);
    cnn_model_config_free(&cfg);
}

static void test_color_follows_channels(void **state)
{
    (void)state;
    cnn_model_config_t cfg;
    cnn_error_t err = {0};
    assert_int_equal(parse("{\"architecture\": {\"zoo\": \"lenet5\"}, \"input\": {\"channels\": 3}}",
                           &cfg, &err), CNN_OK);
    assert_int_equal(cfg.preprocess.color, CNN_COLOR_RGB);
    cnn_model_config_free(&cfg);
    assert_int_equal(parse("{\"architecture\": {\"zoo\": \"lenet5\"}, \"input\": {\"channels\": 1}}",
                           &cfg, &err), CNN_OK);
    assert_int_equal(cfg.preprocess.color, CNN_COLOR_GRAYSCALE);
    cnn_model_config_free(&cfg);
}

static void test_rejects_bad_json(void **state)
{
    (void)state;
    expect_bad("", CNN_E_FORMAT, "not valid JSON");
    expect_bad("{\"architecture\": {\"zoo\": \"lenet5\"}", CNN_E_FORMAT, "not valid JSON");
    expect_bad("{\"architecture\": {\"zoo\": \"lenet5\"}} {}", CNN_E_FORMAT, "after the JSON");
    expect_bad("[]", CNN_E_FORMAT, "top level must be a JSON object");
}

static void test_rejects_unknown_and_duplicate_keys(void **state)
{
    (void)state;
    expect_bad("{\"architecture\": {\"zoo\": \"lenet5\"}, \"labelz\": []}", CNN_E_FORMAT,
               "unknown key 'labelz'");
    expect_bad("{\"architecture\": {\"zoo\": \"lenet5\"}, \"preprocessing\": {\"colour\": \"rgb\"}}",
               CNN_E_FORMAT, "unknown key 'preprocessing.colour'");
    expect_bad("{\"architecture\": {\"zoo\": \"lenet5\", \"classes\": 3}}", CNN_E_FORMAT,
               "unknown key 'architecture.classes'");
    expect_bad("{\"architecture\": {\"zoo\": \"lenet5\"}, \"batching\": {\"max_batch\": 3}}",
               CNN_E_FORMAT, "unknown key 'batching.max_batch'");
    expect_bad("{\"architecture\": {\"zoo\": \"lenet5\"}, \"input\": {\"depth\": 3}}", CNN_E_FORMAT,
               "unknown key 'input.depth'");
    expect_bad("{\"architecture\": {\"zoo\": \"lenet5\"}, \"name\": \"a\", \"name\": \"b\"}",
               CNN_E_FORMAT, "duplicate key 'name'");
}

static void test_rejects_bad_architecture(void **state)
{
    (void)state;
    expect_bad("{}", CNN_E_FORMAT, "architecture needs \"zoo\"");
    expect_bad("{\"architecture\": \"lenet5\"}", CNN_E_FORMAT, "architecture must be an object");
    expect_bad("{\"architecture\": {\"zoo\": 5}}", CNN_E_FORMAT, "architecture.zoo must be a string");
    expect_bad("{\"architecture\": {\"zoo\": \"lenet6\"}}", CNN_E_NOT_FOUND,
               "unknown architecture 'lenet6' (known: ");
    expect_bad("{\"architecture\": {\"zoo\": \"lenet5\", \"num_classes\": 0}}", CNN_E_FORMAT,
               "architecture.num_classes must be an integer");
    expect_bad("{\"architecture\": {\"zoo\": \"lenet5\", \"num_classes\": 2.5}}", CNN_E_FORMAT,
               "architecture.num_classes");
    expect_bad("{\"architecture\": {\"zoo\": \"lenet5\", \"width_divisor\": \"2\"}}", CNN_E_FORMAT,
               "architecture.width_divisor");
}

static void test_rejects_bad_values(void **state)
{
    (void)state;
#define ARCH "{\"architecture\": {\"zoo\": \"lenet5\"}, "
    expect_bad(ARCH "\"input\": {\"height\": -1}}", CNN_E_FORMAT, "input.height");
    expect_bad(ARCH "\"input\": {\"width\": 0}}", CNN_E_FORMAT, "input.width");
    expect_bad(ARCH "\"input\": {\"channels\": 4}}", CNN_E_FORMAT, "input.channels");
    expect_bad(ARCH "\"input\": []}", CNN_E_FORMAT, "input must be an object");
    expect_bad(ARCH "\"preprocessing\": {\"color\": \"cmyk\"}}", CNN_E_FORMAT, "preprocessing.color");
    expect_bad(ARCH "\"input\": {\"channels\": 1}, \"preprocessing\": {\"color\": \"rgb\"}}",
               CNN_E_FORMAT, "needs 3 input channels");
    expect_bad(ARCH "\"preprocessing\": {\"std\": [0]}}", CNN_E_FORMAT, "preprocessing.std[0]");
    expect_bad(ARCH "\"preprocessing\": {\"std\": 1}}", CNN_E_FORMAT, "preprocessing.std must be an array");
    expect_bad(ARCH "\"input\": {\"channels\": 3}, \"preprocessing\": {\"mean\": [0.1, 0.2]}}",
               CNN_E_FORMAT, "preprocessing.mean must be an array of 1 or 3");
    expect_bad(ARCH "\"preprocessing\": {\"mean\": [\"x\"]}}", CNN_E_FORMAT, "preprocessing.mean[0]");
    expect_bad(ARCH "\"preprocessing\": {\"scale\": 0}}", CNN_E_FORMAT, "preprocessing.scale");
    expect_bad(ARCH "\"preprocessing\": {\"resize_shorter\": -3}}", CNN_E_FORMAT,
               "preprocessing.resize_shorter");
    expect_bad(ARCH "\"batching\": {\"max_batch_size\": 0}}", CNN_E_FORMAT, "batching.max_batch_size");
    expect_bad(ARCH "\"batching\": {\"max_queue_delay_us\": -1}}", CNN_E_FORMAT,
               "batching.max_queue_delay_us");
    expect_bad(ARCH "\"precision\": \"int8\"}", CNN_E_FORMAT, "precision must be fp32, bf16, tf32 or fp16");
    expect_bad(ARCH "\"precision\": 16}", CNN_E_FORMAT, "precision must be a string");
    expect_bad(ARCH "\"name\": \"my model\"}", CNN_E_FORMAT, "name 'my model'");
    expect_bad(ARCH "\"name\": \"..\"}", CNN_E_FORMAT, "name '..'");
    expect_bad(ARCH "\"name\": 3}", CNN_E_FORMAT, "name must be a string");
    expect_bad(ARCH "\"labels\": [\"a\", \"b\"]}", CNN_E_FORMAT, "labels has 2 entries but the model has 10");
    expect_bad(ARCH "\"labels\": \"a\"}", CNN_E_FORMAT, "labels must be an array");
    expect_bad("{\"architecture\": {\"zoo\": \"lenet5\", \"num_classes\": 2}, \"labels\": [\"a\", 2]}",
               CNN_E_FORMAT, "labels[1] must be a string");
#undef ARCH
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_from_zoo),
        cmocka_unit_test(test_full_config_and_round_trip),
        cmocka_unit_test(test_color_follows_channels),
        cmocka_unit_test(test_rejects_bad_json),
        cmocka_unit_test(test_rejects_unknown_and_duplicate_keys),
        cmocka_unit_test(test_rejects_bad_architecture),
        cmocka_unit_test(test_rejects_bad_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
