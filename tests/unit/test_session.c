/* Public session API over a hand-built model: options, device selection,
 * batch limits, unsupported layers, NULL arguments. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "test_support.h"

/* A model wrapping x[2,4,4] -> dense(3) -> softmax with max_batch_size 4. */
static cnn_model_t *fake_model(void)
{
    cnn_model_t *m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->graph = cnn_graph_new();
    int x = cnn_graph_add_input(m->graph, "x", 2, 4, 4);
    int d = cnn_graph_add_dense(m->graph, "fc", x, 3, true);
    assert_true(cnn_graph_add_unary(m->graph, "prob", CNN_OP_SOFTMAX, d) > 0);
    cnn_node_t *fc = &m->graph->nodes[d];
    for (int s = CNN_W_WEIGHT; s <= CNN_W_BIAS; s++) {
        size_t n = s == CNN_W_WEIGHT ? 3 * 32 : 3;
        fc->w[s]->owned = malloc(n * sizeof(float));
        assert_non_null(fc->w[s]->owned);
        cnn_test_fill_uniform(fc->w[s]->owned, n, -1.0f, 1.0f, 7 + (uint32_t)s);
        fc->w[s]->data = fc->w[s]->owned;
    }
    m->info.max_batch_size = 4;
    return m;
}

static void fake_model_free(cnn_model_t *m)
{
    cnn_graph_free(m->graph);
    free(m);
}

static void test_options_init(void **state)
{
    (void)state;
    cnn_session_options_t o;
    memset(&o, 0x5a, sizeof o);
    cnn_session_options_init(&o);
    assert_int_equal(o.device, CNN_DEVICE_CPU);
    assert_int_equal(o.precision, CNN_PRECISION_FP32);
    assert_int_equal(o.max_batch, 0);
    assert_int_equal(o.num_threads, 0);
    cnn_session_options_init(NULL);
}

static void test_run_defaults(void **state)
{
    (void)state;
    cnn_model_t *m = fake_model();
    cnn_session_t *s = NULL;
    cnn_error_t err;
    assert_int_equal(cnn_session_create(m, NULL, &s, &err), CNN_OK);
    assert_int_equal(s->opts.max_batch, 4); /* model default */
    float in[4 * 32], out[4 * 3];
    cnn_test_fill_uniform(in, 4 * 32, -1.0f, 1.0f, 3);
    assert_int_equal(cnn_session_run(s, in, 4, out, &err), CNN_OK);
    for (int b = 0; b < 4; b++) {
        float sum = out[b * 3] + out[b * 3 + 1] + out[b * 3 + 2];
        assert_true(fabsf(sum - 1.0f) < 1e-5f);
    }
    assert_int_equal(cnn_session_run(s, in, 5, out, &err), CNN_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "batch 5"));
    assert_int_equal(cnn_session_run(s, in, 0, out, &err), CNN_E_INVALID_ARGUMENT);
    assert_int_equal(cnn_session_run(s, NULL, 1, out, &err), CNN_E_INVALID_ARGUMENT);
    assert_int_equal(cnn_session_run(s, in, 1, NULL, &err), CNN_E_INVALID_ARGUMENT);
    assert_int_equal(cnn_session_run(NULL, in, 1, out, &err), CNN_E_INVALID_ARGUMENT);
    cnn_session_free(s);
    cnn_session_free(NULL);
    fake_model_free(m);
}

/* cnn_precision_check and cnn_session_create agree about bf16 on this CPU;
 * without native bf16 (or under ONEDNN_MAX_CPU_ISA=AVX2) creation fails
 * saying why. */
static void test_bf16_availability(void **state)
{
    (void)state;
    cnn_model_t *m = fake_model();
    cnn_session_options_t o;
    cnn_session_options_init(&o);
    o.max_batch = 2;
    o.precision = CNN_PRECISION_BF16;
    cnn_session_t *s = NULL;
    cnn_error_t check_err, err;
    cnn_status_t check = cnn_precision_check(CNN_DEVICE_CPU, CNN_PRECISION_BF16, &check_err);
    assert_int_equal(cnn_session_create(m, &o, &s, &err), check);
    if (check == CNN_OK) {
        cnn_session_free(s);
    } else {
        assert_int_equal(check, CNN_E_UNSUPPORTED);
        assert_null(s);
        assert_string_equal(err.message, check_err.message);
        assert_non_null(strstr(err.message, "AVX512_BF16/AMX"));
    }
    fake_model_free(m);
}

/* A bf16 session on one thread runs and its softmax sums to 1. */
static void test_threads_and_bf16(void **state)
{
    (void)state;
    cnn_model_t *m = fake_model();
    cnn_session_options_t o;
    cnn_session_options_init(&o);
    o.num_threads = 1;
    o.max_batch = 2;
    o.precision = CNN_PRECISION_BF16;
    cnn_session_t *s = NULL;
    cnn_error_t err;
    assert_int_equal(cnn_session_create(m, &o, &s, &err), CNN_OK);
    float in[2 * 32], out[2 * 3];
    cnn_test_fill_uniform(in, 2 * 32, -1.0f, 1.0f, 3);
    assert_int_equal(cnn_session_run(s, in, 2, out, &err), CNN_OK);
    assert_true(fabsf(out[0] + out[1] + out[2] - 1.0f) < 1e-2f);
    cnn_session_free(s);
    fake_model_free(m);
}

static void test_create_errors(void **state)
{
    (void)state;
    cnn_model_t *m = fake_model();
    cnn_session_t *s = (cnn_session_t *)m; /* must be reset to NULL */
    cnn_error_t err;
    cnn_session_options_t o;
    cnn_session_options_init(&o);
    o.device = CNN_DEVICE_CUDA;
    assert_int_equal(cnn_session_create(m, &o, &s, &err), CNN_E_UNSUPPORTED);
    assert_null(s);
    assert_non_null(strstr(err.message, "CUDA"));
    assert_int_equal(cnn_session_create(NULL, NULL, &s, &err), CNN_E_INVALID_ARGUMENT);
    assert_int_equal(cnn_session_create(m, NULL, NULL, &err), CNN_E_INVALID_ARGUMENT);
    cnn_session_options_init(&o);
    o.precision = (cnn_precision_t)7;
    assert_int_equal(cnn_session_create(m, &o, &s, &err), CNN_E_INVALID_ARGUMENT);
    fake_model_free(m);
}

static void test_unsupported_layers_listed(void **state)
{
    (void)state;
    cnn_model_t *m = fake_model();
    cnn_graph_t *g = m->graph;
    cnn_lrn_params_t lp = {.size = 3, .alpha = 1e-4f, .beta = 0.75f, .k = 1.0f};
    int a = cnn_graph_add_lrn(g, "lrn_a", 0, &lp);
    int b = cnn_graph_add_lrn(g, "lrn_b", a, &lp);
    g->nodes[a].p.lrn.size = 4; /* even windows: unsupported */
    g->nodes[b].p.lrn.size = 2;
    cnn_session_t *s = NULL;
    cnn_error_t err;
    assert_int_equal(cnn_session_create(m, NULL, &s, &err), CNN_E_UNSUPPORTED);
    assert_null(s);
    assert_non_null(strstr(err.message, "lrn_a"));
    assert_non_null(strstr(err.message, "lrn_b"));
    assert_non_null(strstr(err.message, "2 layer"));
    fake_model_free(m);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_init),
        cmocka_unit_test(test_run_defaults),
        cmocka_unit_test(test_bf16_availability),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_unsupported_layers_listed),
    };
    const struct CMUnitTest bf16_tests[] = {
        cmocka_unit_test(test_threads_and_bf16),
    };
    return cnn_test_main(argc, argv, "test_session", tests, sizeof tests / sizeof tests[0], bf16_tests,
                         sizeof bf16_tests / sizeof bf16_tests[0]);
}
