/* The importers' model writer: a graph written through it loads and runs like
 * the zoo's LeNet-5 with the same weights; bad writes leave nothing behind. */
#include "test_support.h"

#include "model.h"
#include "model_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* A writer holding LeNet-5 (nodes from CNN_TEST_LENET5_GRAPH), the first
 * `tensors` of its weights filled from seed 1000 + index. */
static tools_model_writer_t *lenet_writer(int tensors)
{
    tools_model_writer_t *w = tools_writer_new();
    assert_non_null(w);
    cJSON *spec = cJSON_Parse(CNN_TEST_LENET5_GRAPH);
    const cJSON *node;
    cJSON_ArrayForEach(node, cJSON_GetObjectItem(spec, "nodes")) {
        const char *name = cJSON_GetObjectItem(node, "name")->valuestring;
        const char *op = cJSON_GetObjectItem(node, "op")->valuestring;
        cJSON *added = tools_writer_add_node(w, name, op, NULL, 0);
        assert_non_null(added);
        const cJSON *key;
        cJSON_ArrayForEach(key, node) {
            if (strcmp(key->string, "name") != 0 && strcmp(key->string, "op") != 0)
                cJSON_AddItemToObject(added, key->string, cJSON_Duplicate(key, true));
        }
    }
    cJSON_Delete(spec);
    cnn_error_t err;
    for (int i = 0; i < tensors; i++) {
        size_t n = 1;
        for (int d = 0; d < CNN_TEST_LENET5_WEIGHTS[i].ndim; d++)
            n *= (size_t)CNN_TEST_LENET5_WEIGHTS[i].dims[d];
        float *data = malloc(n * sizeof *data);
        assert_non_null(data);
        cnn_test_fill_uniform(data, n, -0.1f, 0.1f, 1000u + (uint32_t)i);
        assert_int_equal(tools_writer_add_tensor(w, CNN_TEST_LENET5_WEIGHTS[i].name, CNN_TEST_LENET5_WEIGHTS[i].ndim, CNN_TEST_LENET5_WEIGHTS[i].dims, data, &err),
                         CNN_OK);
        free(data);
    }
    return w;
}

static void test_written_model_loads_and_runs(void **state)
{
    (void)state;
    char *dir = cnn_test_make_tmpdir();
    char out[4200];
    snprintf(out, sizeof out, "%s/model", dir);
    tools_model_writer_t *w = lenet_writer(CNN_TEST_LENET5_WEIGHT_COUNT);
    assert_int_equal(tools_writer_input_channels(w), 1);
    static const char *const labels[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
    cnn_error_t err;
    assert_int_equal(tools_writer_set_labels(w, labels, 10, &err), CNN_OK);
    tools_save_opts_t o = {.out_dir = out, .name = "tiny"};
    if (tools_writer_save(w, &o, &err) != CNN_OK)
        fail_msg("save: %s", err.message);
    tools_writer_free(w);

    cnn_model_t *model = NULL;
    assert_int_equal(cnn_model_load(out, &model, &err), CNN_OK);
    const cnn_model_info_t *info = cnn_model_get_info(model);
    assert_string_equal(info->name, "tiny");
    assert_string_equal(info->labels[9], "j");
    assert_int_equal(info->preprocess.color, CNN_COLOR_GRAYSCALE);
    /* F32 data starts aligned, so the weights are used from the mapping in place. */
    assert_non_null(model->graph->nodes[1].w[CNN_W_WEIGHT]->data);
    assert_null(model->graph->nodes[1].w[CNN_W_WEIGHT]->owned);
    cnn_model_free(model);

    /* A non-empty directory is refused without force and kept as it was. */
    w = lenet_writer(CNN_TEST_LENET5_WEIGHT_COUNT);
    assert_int_equal(tools_writer_save(w, &o, &err), CNN_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "--force"));
    o.force = true;
    assert_int_equal(tools_writer_save(w, &o, &err), CNN_OK);
    tools_writer_free(w);
    cnn_test_remove_tree(dir);
    free(dir);
}

static void test_incomplete_model_is_not_left_behind(void **state)
{
    (void)state;
    char *dir = cnn_test_make_tmpdir();
    tools_model_writer_t *w = lenet_writer(CNN_TEST_LENET5_WEIGHT_COUNT - 1);
    cnn_error_t err;
    tools_save_opts_t o = {.out_dir = dir};
    assert_int_equal(tools_writer_save(w, &o, &err), CNN_E_NOT_FOUND);
    assert_non_null(strstr(err.message, "the written model does not load"));
    assert_non_null(strstr(err.message, "classifier.2.bias"));
    char path[4200];
    snprintf(path, sizeof path, "%s/model.json", dir);
    assert_int_not_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    assert_int_not_equal(access(path, F_OK), 0);

    float one = 1.0f;
    int64_t dims[1] = {1};
    assert_int_equal(tools_writer_add_tensor(w, "extra", 1, dims, &one, &err), CNN_OK);
    assert_int_equal(tools_writer_add_tensor(w, "extra", 1, dims, &one, &err), CNN_E_FORMAT);
    tools_writer_free(w);
    cnn_test_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_written_model_loads_and_runs),
        cmocka_unit_test(test_incomplete_model_is_not_left_behind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
