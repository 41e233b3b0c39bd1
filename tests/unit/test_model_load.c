/* Loading model directories: a real lenet5 directory, then one broken thing at a time. */
#include "test_support.h"

#include "model.h"
#include "weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TENSORS 16


/* A model directory being put together: tensors (F32 unless changed) and model.json. */
typedef struct fixture {
    char *dir;
    cnn_test_tensor_t t[MAX_TENSORS];
    float *data[MAX_TENSORS];
    int n;
} fixture_t;

static size_t numel(const cnn_test_tensor_t *t)
{
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= (size_t)t->dims[d];
    return n;
}

/* Adds an F32 tensor filled with small deterministic values; returns its data. */
static float *fixture_add(fixture_t *fx, const char *name, int ndim, const int64_t *dims)
{
    assert_true(fx->n < MAX_TENSORS);
    cnn_test_tensor_t *t = &fx->t[fx->n];
    t->name = name;
    t->dtype = "F32";
    t->ndim = ndim;
    memcpy(t->dims, dims, (size_t)ndim * sizeof *dims);
    size_t count = numel(t);
    float *data = calloc(count + 1, sizeof *data);
    assert_non_null(data);
    cnn_test_fill_uniform(data, count, -0.1f, 0.1f, 1000u + (uint32_t)fx->n);
    t->data = data;
    t->nbytes = count * sizeof *data;
    fx->data[fx->n++] = data;
    return data;
}

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    fx->dir = cnn_test_make_tmpdir();
    for (int i = 0; i < CNN_TEST_LENET5_WEIGHT_COUNT; i++)
        fixture_add(fx, CNN_TEST_LENET5_WEIGHTS[i].name, CNN_TEST_LENET5_WEIGHTS[i].ndim, CNN_TEST_LENET5_WEIGHTS[i].dims);
    *state = fx;
    return fx->dir ? 0 : -1;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    for (int i = 0; i < fx->n; i++)
        free(fx->data[i]);
    cnn_test_remove_tree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static cnn_test_tensor_t *fixture_find(fixture_t *fx, const char *name)
{
    for (int i = 0; i < fx->n; i++) {
        if (strcmp(fx->t[i].name, name) == 0)
            return &fx->t[i];
    }
    fail_msg("no tensor %s", name);
    return NULL;
}

static void fixture_write(fixture_t *fx, const char *model_json)
{
    if (model_json)
        assert_int_equal(cnn_test_write_file(fx->dir, "model.json", model_json, strlen(model_json)), 0);
    assert_int_equal(cnn_test_write_safetensors(fx->dir, "weights.safetensors", fx->t, fx->n), 0);
}

static const char *MODEL_JSON =
    "{\"architecture\": {\"zoo\": \"lenet5\"},\n"
    " \"labels\": [\"zero\", \"one\", \"two\", \"three\", \"four\", \"five\", \"six\", \"seven\",\n"
    "            \"eight\", \"nine\"],\n"
    " \"batching\": {\"max_batch_size\": 16}}\n";

/* Loads fx->dir expecting failure with `status` and a message containing each needle. */
static void expect_load_error(fixture_t *fx, cnn_status_t status, const char *needle1, const char *needle2)
{
    cnn_model_t *model = (cnn_model_t *)fx; /* must be reset to NULL */
    cnn_error_t err = {0};
    assert_int_equal(cnn_model_load(fx->dir, &model, &err), status);
    assert_null(model);
    assert_int_equal(err.status, status);
    if (!strstr(err.message, needle1) || (needle2 && !strstr(err.message, needle2)))
        fail_msg("message '%s' lacks '%s' / '%s'", err.message, needle1, needle2 ? needle2 : "");
}

static void test_load_lenet5(void **state)
{
    fixture_t *fx = *state;
    fixture_write(fx, MODEL_JSON);
    cnn_model_t *model = NULL;
    cnn_error_t err = {0};
    assert_int_equal(cnn_model_load(fx->dir, &model, &err), CNN_OK);
    assert_non_null(model);

    const cnn_model_info_t *info = cnn_model_get_info(model);
    const char *base = strrchr(fx->dir, '/') + 1;
    assert_string_equal(info->name, base);
    assert_string_equal(info->architecture, "lenet5");
    const cnn_zoo_arch_t *arch = cnn_zoo_find("lenet5");
    assert_int_equal(info->input_channels, arch->in_channels);
    assert_int_equal(info->input_height, arch->in_height);
    assert_int_equal(info->input_width, arch->in_width);
    assert_int_equal(info->num_classes, 10);
    assert_int_equal(cnn_model_output_size(model), 10);
    assert_non_null(info->labels);
    assert_string_equal(info->labels[3], "three");
    assert_int_equal(info->max_batch_size, 16);
    assert_int_equal(info->max_queue_delay_us, 2000);
    assert_int_equal(info->preprocess.color, CNN_COLOR_GRAYSCALE);
    assert_true(info->output_is_probability); /* lenet5 ends in softmax */

    /* Weights are bound: F32 data from an 8-byte-aligned header is used in place. */
    const cnn_graph_t *g = model->graph;
    int conv = cnn_graph_find(g, "features.0");
    assert_true(conv >= 0);
    const cnn_weight_t *w = g->nodes[conv].w[CNN_W_WEIGHT];
    assert_non_null(w->data);
    assert_true(w->data[7] == fx->data[0][7]);
    const cnn_st_tensor_t *t = cnn_safetensors_find(model->weights, "features.0.weight");
    assert_ptr_equal((const void *)w->data, (const void *)t->data);

    size_t layers = cnn_model_layer_count(model);
    assert_true(layers > 0);
    int64_t params = 0, macs = 0;
    bool saw_conv = false, saw_fused = false;
    for (size_t i = 0; i < layers; i++) {
        cnn_layer_info_t layer;
        assert_int_equal(cnn_model_get_layer(model, i, &layer), CNN_OK);
        assert_non_null(layer.name);
        assert_non_null(layer.op);
        assert_non_null(layer.fused);
        assert_true(layer.c > 0 && layer.h > 0 && layer.w > 0);
        assert_string_not_equal(layer.op, "input");
        assert_string_not_equal(layer.name, "classifier.1"); /* sigmoid fused into classifier.0 */
        saw_conv = saw_conv || strcmp(layer.op, "conv2d") == 0;
        saw_fused = saw_fused || layer.fused[0] != '\0';
        params += layer.params;
        macs += layer.macs;
    }
    assert_true(saw_conv);
    assert_true(saw_fused);
    int64_t expected_params = 0;
    for (int i = 0; i < CNN_TEST_LENET5_WEIGHT_COUNT; i++)
        expected_params += (int64_t)numel(&fx->t[i]);
    assert_int_equal(params, expected_params);
    assert_true(macs > expected_params);
    cnn_layer_info_t layer;
    assert_int_equal(cnn_model_get_layer(model, layers, &layer), CNN_E_INVALID_ARGUMENT);

    size_t peak1 = cnn_model_peak_activation_bytes(model, 1);
    size_t peak4 = cnn_model_peak_activation_bytes(model, 4);
    assert_true(peak1 >= 6 * 24 * 24 * sizeof(float));
    assert_true(peak4 >= peak1);
    cnn_model_free(model);
    cnn_model_free(NULL);
}

static void test_load_converted_and_ignored_tensors(void **state)
{
    fixture_t *fx = *state;
    /* classifier.2.bias as F16 (converted), plus tensors inference does not use. */
    cnn_test_tensor_t *bias = fixture_find(fx, "classifier.2.bias");
    uint16_t *half = (uint16_t *)fx->data[9];
    for (int i = 0; i < 10; i++)
        half[i] = (uint16_t)(0x3c00 + i); /* 1.0 + i * 2^-10 */
    bias->dtype = "F16";
    bias->nbytes = 10 * sizeof(uint16_t);
    float *counter = fixture_add(fx, "features.1.num_batches_tracked", 0, (const int64_t[]){0});
    fx->t[fx->n - 1].dtype = "I64";
    fx->t[fx->n - 1].nbytes = 8;
    memset(counter, 0, 8);
    fixture_write(fx, "{\"name\": \"half\", \"architecture\": {\"zoo\": \"lenet5\"}}");

    cnn_model_t *model = NULL;
    cnn_error_t err = {0};
    assert_int_equal(cnn_model_load(fx->dir, &model, &err), CNN_OK);
    assert_string_equal(cnn_model_get_info(model)->name, "half");
    assert_null(cnn_model_get_info(model)->labels);
    int dense = cnn_graph_find(model->graph, "classifier.2");
    assert_true(dense >= 0);
    const cnn_weight_t *b = model->graph->nodes[dense].w[CNN_W_BIAS];
    assert_non_null(b->owned);
    assert_true(b->data[0] == 1.0f);
    assert_true(b->data[9] == 1.0f + 9.0f / 1024.0f);
    cnn_model_free(model);
}

static void test_wrong_shape(void **state)
{
    fixture_t *fx = *state;
    cnn_test_tensor_t *t = fixture_find(fx, "features.0.weight");
    t->dims[2] = t->dims[3] = 3;
    t->nbytes = 6 * 9 * sizeof(float);
    fixture_write(fx, MODEL_JSON);
    expect_load_error(fx, CNN_E_SHAPE,
                      "tensor 'features.0.weight': shape [6,1,5,5] expected, file has [6,1,3,3]",
                      "weights.safetensors: ");
}

static void test_missing_tensor(void **state)
{
    fixture_t *fx = *state;
    fx->n--; /* drops classifier.2.bias; teardown still frees it */
    fixture_write(fx, MODEL_JSON);
    fx->n++;
    expect_load_error(fx, CNN_E_NOT_FOUND, "missing tensor 'classifier.2.bias'", "weights.safetensors: ");
}

static void test_extra_tensor(void **state)
{
    fixture_t *fx = *state;
    fixture_add(fx, "classifier.5.weight", 2, (const int64_t[]){2, 2});
    fixture_write(fx, MODEL_JSON);
    expect_load_error(fx, CNN_E_FORMAT, "extra tensor 'classifier.5.weight'", "weights.safetensors: ");
}

static void test_non_float_weight(void **state)
{
    fixture_t *fx = *state;
    fixture_find(fx, "features.6.bias")->dtype = "I32";
    fixture_write(fx, MODEL_JSON);
    expect_load_error(fx, CNN_E_FORMAT, "tensor 'features.6.bias': dtype I32 is not a float type", NULL);
}

static void test_nan_weights(void **state)
{
    fixture_t *fx = *state;
    fx->data[2][17] = NAN;
    fixture_write(fx, MODEL_JSON);
    expect_load_error(fx, CNN_E_FORMAT, "tensor 'features.3.weight' contains NaN at index 17", NULL);
}

static void test_inf_weights(void **state)
{
    fixture_t *fx = *state;
    fx->data[7][83] = -INFINITY;
    fixture_write(fx, MODEL_JSON);
    expect_load_error(fx, CNN_E_FORMAT, "tensor 'classifier.0.bias' contains Inf at index 83", NULL);
}

static void test_inf_after_conversion(void **state)
{
    fixture_t *fx = *state;
    cnn_test_tensor_t *bias = fixture_find(fx, "features.0.bias");
    uint16_t *half = (uint16_t *)fx->data[1];
    memset(half, 0, 6 * sizeof *half);
    half[4] = 0x7c00; /* +inf */
    bias->dtype = "F16";
    bias->nbytes = 6 * sizeof *half;
    fixture_write(fx, MODEL_JSON);
    expect_load_error(fx, CNN_E_FORMAT, "tensor 'features.0.bias' contains Inf at index 4", NULL);
}

static void test_malformed_model_json(void **state)
{
    fixture_t *fx = *state;
    fixture_write(fx, "{\"architecture\": {\"zoo\": \"lenet5\"");
    expect_load_error(fx, CNN_E_FORMAT, "model.json: not valid JSON", fx->dir);
    fixture_write(fx, "{\"architecture\": {\"zoo\": \"lenet5\"}, \"lables\": []}");
    expect_load_error(fx, CNN_E_FORMAT, "model.json: unknown key 'lables'", NULL);
}

static void test_oversized_model_json(void **state)
{
    fixture_t *fx = *state;
    size_t len = 16u * 1024u * 1024u + 1;
    char *json = malloc(len);
    assert_non_null(json);
    memset(json, ' ', len);
    memcpy(json, MODEL_JSON, strlen(MODEL_JSON));
    assert_int_equal(cnn_test_write_file(fx->dir, "model.json", json, len), 0);
    fixture_write(fx, NULL);
    expect_load_error(fx, CNN_E_FORMAT, "model.json: larger than 16777216 bytes", NULL);
    /* Exactly at the limit is fine. */
    assert_int_equal(cnn_test_write_file(fx->dir, "model.json", json, len - 1), 0);
    cnn_model_t *model = NULL;
    cnn_error_t err = {0};
    assert_int_equal(cnn_model_load(fx->dir, &model, &err), CNN_OK);
    cnn_model_free(model);
    free(json);
}

static void test_unknown_architecture(void **state)
{
    fixture_t *fx = *state;
    fixture_write(fx, "{\"architecture\": {\"zoo\": \"lenet7\"}}");
    expect_load_error(fx, CNN_E_NOT_FOUND, "model.json: architecture.zoo: unknown architecture 'lenet7'",
                      "lenet5");
}

static void test_missing_files(void **state)
{
    fixture_t *fx = *state;
    expect_load_error(fx, CNN_E_IO, "model.json: cannot open", fx->dir);
    assert_int_equal(cnn_test_write_file(fx->dir, "model.json", MODEL_JSON, strlen(MODEL_JSON)), 0);
    expect_load_error(fx, CNN_E_IO, "weights.safetensors: cannot open", fx->dir);

    cnn_model_t *model = NULL;
    cnn_error_t err = {0};
    assert_int_equal(cnn_model_load("", &model, &err), CNN_E_INVALID_ARGUMENT);
    assert_int_equal(cnn_model_load(NULL, &model, &err), CNN_E_INVALID_ARGUMENT);
    assert_int_equal(cnn_model_load("/nonexistent-cnn-model", &model, NULL), CNN_E_IO);
    assert_null(model);
}

static void test_truncated_weights(void **state)
{
    fixture_t *fx = *state;
    size_t len = 0;
    uint8_t *buf = cnn_test_safetensors_build(fx->t, fx->n, &len);
    assert_int_equal(cnn_test_write_file(fx->dir, "model.json", MODEL_JSON, strlen(MODEL_JSON)), 0);
    assert_int_equal(cnn_test_write_file(fx->dir, "weights.safetensors", buf, len - 100), 0);
    free(buf);
    expect_load_error(fx, CNN_E_FORMAT, "weights.safetensors: tensor 'classifier.2.", "past the");
}

/* Binding straight onto a small graph: unaligned F32 is copied, ignore rules, rebinding. */
static void test_bind_unaligned_and_ignored(void **state)
{
    (void)state;
    cnn_graph_t *g = cnn_graph_new();
    assert_non_null(g);
    int in = cnn_graph_add_input(g, "input", 3, 1, 1);
    g->output = cnn_graph_add_dense(g, "fc", in, 2, true);
    assert_true(g->output > in);
    const float values[8] = {1, 2, 3, 4, 5, 6, -1, -2};
    /* An odd-length header: the data starts at an odd address. */
    const char *header = "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                         "\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}}   ";
    assert_int_equal(strlen(header) % 2, 1);
    size_t len = 0;
    uint8_t *buf = cnn_test_safetensors_raw(header, values, sizeof values, &len);
    cnn_safetensors_t *st = NULL;
    cnn_error_t err = {0};
    assert_int_equal(cnn_safetensors_parse(buf, len, &st, &err), CNN_OK);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(cnn_graph_bind_weights(g, st, NULL, &err), CNN_OK);
        const cnn_weight_t *w = g->nodes[g->output].w[CNN_W_WEIGHT];
        assert_non_null(w->owned);
        assert_ptr_equal(w->data, w->owned);
        assert_memory_equal(w->data, values, 6 * sizeof(float));
        assert_true(g->nodes[g->output].w[CNN_W_BIAS]->data[1] == -2.0f);
    }
    cnn_safetensors_close(st);
    free(buf);

    header = "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
             "\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]},"
             "\"aux.fc.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[32,40]}}";
    const float more[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    buf = cnn_test_safetensors_raw(header, more, sizeof more, &len);
    assert_int_equal(cnn_safetensors_parse(buf, len, &st, &err), CNN_OK);
    assert_int_equal(cnn_graph_bind_weights(g, st, NULL, &err), CNN_E_FORMAT);
    assert_string_equal(err.message, "extra tensor 'aux.fc.bias' not used by the architecture");
    const char *const ignored[] = {"aux.", NULL};
    assert_int_equal(cnn_graph_bind_weights(g, st, ignored, &err), CNN_OK);
    assert_true(g->nodes[g->output].w[CNN_W_BIAS]->data[1] == 8.0f);
    cnn_safetensors_close(st);
    free(buf);
    cnn_graph_free(g);
}

/* Runs the model in fx->dir on a fixed input batch of 2; returns malloc'ed outputs. */
static float *run_dir(fixture_t *fx)
{
    cnn_model_t *model = NULL;
    cnn_session_t *s = NULL;
    cnn_error_t err = {0};
    assert_int_equal(cnn_model_load(fx->dir, &model, &err), CNN_OK);
    assert_int_equal(cnn_session_create(model, NULL, &s, &err), CNN_OK);
    float *in = malloc(2 * 28 * 28 * sizeof(float)), *out = malloc(2 * 10 * sizeof(float));
    assert_non_null(in);
    assert_non_null(out);
    cnn_test_fill_uniform(in, 2 * 28 * 28, 0.0f, 1.0f, 7);
    assert_int_equal(cnn_session_run(s, in, 2, out, &err), CNN_OK);
    cnn_session_free(s);
    cnn_model_free(model);
    free(in);
    return out;
}

/* The same weights under a graph-form model.json give the zoo's outputs. */
static void test_graph_form_runs_like_zoo(void **state)
{
    fixture_t *fx = *state;
    fixture_write(fx, MODEL_JSON);
    float *zoo = run_dir(fx);
    char json[4096];
    snprintf(json, sizeof json, "{\"architecture\": {\"graph\": %s}}", CNN_TEST_LENET5_GRAPH);
    fixture_write(fx, json);
    cnn_model_t *model = NULL;
    cnn_error_t err = {0};
    assert_int_equal(cnn_model_load(fx->dir, &model, &err), CNN_OK);
    assert_string_equal(cnn_model_get_info(model)->architecture, "graph");
    assert_int_equal(cnn_model_get_info(model)->num_classes, 10);
    cnn_model_free(model);
    float *graph = run_dir(fx);
    for (int i = 0; i < 20; i++)
        assert_true(graph[i] == zoo[i]);
    free(zoo);
    free(graph);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_load_lenet5),
        T(test_load_converted_and_ignored_tensors),
        T(test_wrong_shape),
        T(test_missing_tensor),
        T(test_extra_tensor),
        T(test_non_float_weight),
        T(test_nan_weights),
        T(test_inf_weights),
        T(test_inf_after_conversion),
        T(test_malformed_model_json),
        T(test_oversized_model_json),
        T(test_unknown_architecture),
        T(test_missing_files),
        T(test_truncated_weights),
        T(test_graph_form_runs_like_zoo),
        cmocka_unit_test(test_bind_unaligned_and_ignored),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
