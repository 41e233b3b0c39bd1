/* The graph form of model.json: building graphs, equivalence with the zoo, and
 * one clear error per broken node. */
#include "test_support.h"

#include "graph_json.h"
#include "model_config.h"
#include "status.h"
#include "zoo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cnn_graph_t *build(const char *json, cnn_status_t want, const char *needle)
{
    cJSON *spec = cJSON_Parse(json);
    assert_non_null(spec);
    cnn_graph_t *g = (cnn_graph_t *)spec; /* must be reset */
    cnn_error_t err = {0};
    cnn_status_t st = cnn_graph_from_json(spec, &g, &err);
    cJSON_Delete(spec);
    if (st != want || (needle && !strstr(err.message, needle)))
        fail_msg("status %d (want %d), message '%s' (want '%s')", st, want, err.message, needle ? needle : "");
    if (want != CNN_OK)
        assert_null(g);
    return g;
}

static void test_lenet5_matches_zoo(void **state)
{
    (void)state;
    cnn_graph_t *g = build(CNN_TEST_LENET5_GRAPH, CNN_OK, NULL);
    cnn_graph_t *z = NULL;
    cnn_error_t err;
    cnn_zoo_options_t o = {.arch = "lenet5"};
    assert_int_equal(cnn_zoo_build(&o, &z, &err), CNN_OK);
    assert_int_equal(g->num_nodes, z->num_nodes);
    assert_int_equal(g->output, z->output);
    for (int i = 0; i < g->num_nodes; i++) {
        const cnn_node_t *a = &g->nodes[i], *b = &z->nodes[i];
        assert_string_equal(a->name, b->name);
        assert_int_equal(a->op, b->op);
        assert_int_equal(a->out.c, b->out.c);
        assert_int_equal(a->out.h, b->out.h);
        assert_int_equal(a->out.w, b->out.w);
        assert_int_equal(a->flat, b->flat);
        assert_int_equal(a->num_inputs, b->num_inputs);
        for (int k = 0; k < a->num_inputs; k++)
            assert_int_equal(a->inputs[k], b->inputs[k]);
        for (int s = 0; s < CNN_W_SLOTS; s++) {
            assert_int_equal(a->w[s] != NULL, b->w[s] != NULL);
            if (a->w[s])
                assert_string_equal(a->w[s]->name, b->w[s]->name);
        }
    }
    cnn_graph_free(g);
    cnn_graph_free(z);
}

static void test_same_padding_branches_and_output(void **state)
{
    (void)state;
    cnn_graph_t *g = build(
        "{\"nodes\": ["
        " {\"name\": \"x\", \"op\": \"input\", \"shape\": [3, 7, 8]},"
        " {\"name\": \"a\", \"op\": \"conv2d\", \"out_channels\": 4, \"kernel\": 3, \"stride\": 2, \"padding\": \"same\"},"
        " {\"name\": \"b\", \"op\": \"max_pool\", \"inputs\": [\"x\"], \"kernel\": 3, \"stride\": 2, \"padding\": \"same\"},"
        " {\"name\": \"cat\", \"op\": \"concat\", \"inputs\": [\"a\", \"b\"]},"
        " {\"name\": \"r6\", \"op\": \"clip\", \"min\": 0, \"max\": 6},"
        " {\"name\": \"pad\", \"op\": \"zero_pad\", \"pads\": [1, 0, 0, 2]},"
        " {\"name\": \"gap\", \"op\": \"global_avg_pool\", \"inputs\": [\"cat\"]}],"
        " \"output\": \"pad\"}",
        CNN_OK, NULL);
    /* TF SAME: ceil(7/2) = 4, ceil(8/2) = 4; pad total h = 3·2+3−7 = 2 → 1/1, w = 3·2+3−8 = 1 → 0/1. */
    const cnn_node_t *a = &g->nodes[1];
    assert_int_equal(a->out.h, 4);
    assert_int_equal(a->out.w, 4);
    assert_int_equal(a->p.conv.pad.top, 1);
    assert_int_equal(a->p.conv.pad.bottom, 1);
    assert_int_equal(a->p.conv.pad.left, 0);
    assert_int_equal(a->p.conv.pad.right, 1);
    assert_int_equal(g->nodes[3].out.c, 7);
    assert_int_equal(g->nodes[4].op, CNN_OP_CLIP);
    assert_true(g->nodes[4].p.act.beta == 6.0f);
    assert_int_equal(g->output, 5);
    assert_int_equal(g->nodes[5].out.h, 5);
    assert_int_equal(g->nodes[5].out.w, 6);
    cnn_graph_free(g);
}

static void test_flat_input(void **state)
{
    (void)state;
    cnn_graph_t *g = build("{\"nodes\": [{\"name\": \"x\", \"op\": \"input\", \"shape\": [20]},"
                           " {\"name\": \"fc\", \"op\": \"dense\", \"out_features\": 3, \"bias\": false}]}",
                           CNN_OK, NULL);
    assert_true(g->nodes[0].flat);
    assert_int_equal(g->nodes[1].w[CNN_W_WEIGHT]->dims[1], 20);
    assert_null(g->nodes[1].w[CNN_W_BIAS]);
    cnn_graph_free(g);
}

#define INPUT "{\"name\": \"x\", \"op\": \"input\", \"shape\": [2, 6, 6]}"

static void test_errors_name_the_node(void **state)
{
    (void)state;
    build("[]", CNN_E_FORMAT, "needs \"nodes\"");
    build("{\"nodes\": [" INPUT "]}", CNN_E_FORMAT, "needs \"nodes\"");
    build("{\"nodes\": [" INPUT ", {\"name\": \"r\", \"op\": \"relu\"}], \"extra\": 1}", CNN_E_FORMAT,
          "unknown key 'extra'");
    build("{\"nodes\": [{\"name\": \"r\", \"op\": \"relu\"}, " INPUT "]}", CNN_E_FORMAT, "must be op 'input'");
    build("{\"nodes\": [" INPUT ", " INPUT "]}", CNN_E_FORMAT, "must be op 'input'");
    build("{\"nodes\": [" INPUT ", {\"name\": \"g\", \"op\": \"gelu\"}]}", CNN_E_UNSUPPORTED, "'g': unknown op 'gelu'");
    build("{\"nodes\": [" INPUT ", {\"op\": \"relu\"}]}", CNN_E_FORMAT, "node 1 needs a \"name\"");
    build("{\"nodes\": [" INPUT ", {\"name\": \"x\", \"op\": \"relu\"}]}", CNN_E_FORMAT, "name used by an earlier");
    build("{\"nodes\": [" INPUT ", {\"name\": \"r\", \"op\": \"relu\", \"alpha\": 1}]}", CNN_E_FORMAT,
          "'r': unknown key 'alpha'");
    build("{\"nodes\": [" INPUT ", {\"name\": \"r\", \"op\": \"relu\", \"inputs\": [\"later\"]}]}", CNN_E_FORMAT,
          "input 'later' is not an earlier node");
    build("{\"nodes\": [" INPUT ", {\"name\": \"s\", \"op\": \"add\"}]}", CNN_E_FORMAT, "wrong number of inputs");
    build("{\"nodes\": [" INPUT ", {\"name\": \"c\", \"op\": \"conv2d\", \"kernel\": 3}]}", CNN_E_FORMAT,
          "needs 'out_channels'");
    build("{\"nodes\": [" INPUT ", {\"name\": \"c\", \"op\": \"conv2d\", \"out_channels\": 2, \"kernel\": [3]}]}",
          CNN_E_FORMAT, "'kernel' must be an integer or a list of 2");
    build("{\"nodes\": [" INPUT ", {\"name\": \"c\", \"op\": \"conv2d\", \"out_channels\": 2, \"kernel\": 9}]}",
          CNN_E_SHAPE, "graph node 1");
    build("{\"nodes\": [" INPUT ", {\"name\": \"c\", \"op\": \"conv2d\", \"out_channels\": 2, \"kernel\": 3,"
          " \"pads\": [1, 1], \"padding\": \"same\"}]}",
          CNN_E_FORMAT, "not both");
    build("{\"nodes\": [" INPUT ", {\"name\": \"p\", \"op\": \"max_pool\", \"kernel\": 2, \"pads\": [1, 1, -1, 0]}]}",
          CNN_E_FORMAT, "non-negative");
    build("{\"nodes\": [" INPUT ", {\"name\": \"k\", \"op\": \"clip\", \"min\": 2, \"max\": 1}]}",
          CNN_E_INVALID_ARGUMENT, "min <= max");
    build("{\"nodes\": [" INPUT ", {\"name\": \"l\", \"op\": \"lrn\", \"size\": 5, \"beta\": \"big\"}]}",
          CNN_E_FORMAT, "'beta' must be a finite number");
    build("{\"nodes\": [" INPUT ", {\"name\": \"r\", \"op\": \"relu\"}], \"output\": \"nope\"}", CNN_E_FORMAT,
          "output 'nope'");
    build("{\"nodes\": [{\"name\": \"x\", \"op\": \"input\", \"shape\": [1, 2, 3, 4]}, {\"name\": \"r\", \"op\": \"relu\"}]}",
          CNN_E_FORMAT, "'shape' must be");
}

/* model.json with a graph: defaults from the input node, round trip, bad combinations. */
static void test_model_config_graph_form(void **state)
{
    (void)state;
    char json[4096];
    snprintf(json, sizeof json, "{\"architecture\": {\"graph\": %s}, \"labels\": [\"a\",\"b\"]}", CNN_TEST_LENET5_GRAPH);
    cnn_model_config_t cfg;
    cnn_error_t err = {0};
    assert_int_equal(cnn_model_config_parse(json, strlen(json), "tiny", &cfg, &err), CNN_OK);
    assert_string_equal(cfg.arch, "graph");
    assert_non_null(cfg.graph);
    assert_int_equal(cfg.zoo.in_channels, 1);
    assert_int_equal(cfg.zoo.in_height, 28);
    assert_int_equal(cfg.preprocess.color, CNN_COLOR_GRAYSCALE);
    assert_true(cfg.preprocess.scale == 1.0f / 255.0f);
    char *text = cnn_model_config_to_json(&cfg);
    assert_non_null(text);
    cnn_model_config_t again;
    assert_int_equal(cnn_model_config_parse(text, strlen(text), NULL, &again, &err), CNN_OK);
    assert_true(cJSON_Compare(cfg.graph, again.graph, true));
    assert_null(strstr(text, "\"input\":"));
    free(text);
    cnn_model_config_free(&again);
    cnn_model_config_free(&cfg);

    static const char *const bad[][2] = {
        {"{\"architecture\": {\"graph\": {\"nodes\": []}}}", "nodes[0] must be the input node"},
        {"{\"architecture\": {\"zoo\": \"lenet5\", \"graph\": {}}}", "cannot be combined"},
        {"{\"architecture\": {\"graph\": {\"nodes\": [" INPUT "]}}, \"input\": {\"channels\": 2}}",
         "remove \"input\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cnn_status_t st = cnn_model_config_parse(bad[i][0], strlen(bad[i][0]), "m", &cfg, &err);
        assert_int_equal(st, CNN_E_FORMAT);
        if (!strstr(err.message, bad[i][1]))
            fail_msg("message '%s' lacks '%s'", err.message, bad[i][1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lenet5_matches_zoo),
        cmocka_unit_test(test_same_padding_branches_and_output),
        cmocka_unit_test(test_flat_input),
        cmocka_unit_test(test_errors_name_the_node),
        cmocka_unit_test(test_model_config_graph_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
