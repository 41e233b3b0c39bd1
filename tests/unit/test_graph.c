/* Graph IR: shape inference, builder errors, SAME padding, arena planning, rewrites. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "planner.h"
#include "rewrite.h"
#include "test_support.h"

static cnn_conv_params_t conv_params(int oc, int k, int s, int p)
{
    return (cnn_conv_params_t){.out_channels = oc, .kh = k, .kw = k, .sh = s, .sw = s, .dh = 1, .dw = 1,
                               .groups = 1, .pad = {p, p, p, p}, .has_bias = true};
}

static void test_conv_shapes(void **state)
{
    (void)state;
    cnn_graph_t *g = cnn_graph_new();
    int x = cnn_graph_add_input(g, "x", 3, 224, 224);
    cnn_conv_params_t p = conv_params(64, 7, 2, 3);
    int c = cnn_graph_add_conv2d(g, "conv1", x, &p);
    assert_true(c > 0);
    assert_int_equal(g->nodes[c].out.c, 64);
    assert_int_equal(g->nodes[c].out.h, 112);
    assert_int_equal(g->nodes[c].w[CNN_W_WEIGHT]->dims[1], 3);
    assert_string_equal(g->nodes[c].w[CNN_W_BIAS]->name, "conv1.bias");
    /* dilation 2, groups 4, asymmetric padding */
    cnn_conv_params_t q = conv_params(8, 3, 1, 0);
    q.dh = q.dw = 2;
    q.groups = 4;
    q.pad = (cnn_pad_t){1, 0, 2, 1};
    int d = cnn_graph_add_conv2d(g, "dil", c, &q);
    assert_true(d > 0);
    /* (112 + 1 + 2 - 5)/1 + 1 = 111 ; (112 + 0 + 1 - 5) + 1 = 109 */
    assert_int_equal(g->nodes[d].out.h, 111);
    assert_int_equal(g->nodes[d].out.w, 109);
    assert_int_equal(g->nodes[d].w[CNN_W_WEIGHT]->dims[1], 16);
    assert_int_equal(cnn_node_macs(g, &g->nodes[d]), (int64_t)8 * 111 * 109 * 16 * 9);
    cnn_graph_free(g);
}

static void test_builder_errors(void **state)
{
    (void)state;
    cnn_graph_t *g = cnn_graph_new();
    int x = cnn_graph_add_input(g, "x", 3, 8, 8);
    cnn_conv_params_t big = conv_params(4, 9, 1, 0);
    assert_int_equal(cnn_graph_add_conv2d(g, "big", x, &big), CNN_E_SHAPE);
    assert_non_null(strstr(g->err.message, "big"));
    cnn_conv_params_t grp = conv_params(4, 3, 1, 1);
    grp.groups = 2; /* 3 input channels not divisible */
    assert_int_equal(cnn_graph_add_conv2d(g, "grp", x, &grp), CNN_E_SHAPE);
    cnn_conv_params_t zero = conv_params(4, 3, 0, 1);
    assert_int_equal(cnn_graph_add_conv2d(g, "zs", x, &zero), CNN_E_INVALID_ARGUMENT);
    assert_int_equal(cnn_graph_add_unary(g, "r", CNN_OP_RELU, 7), CNN_E_INVALID_ARGUMENT);
    assert_int_equal(cnn_graph_add_unary(g, "x", CNN_OP_RELU, x), CNN_E_INVALID_ARGUMENT); /* duplicate */
    int y = cnn_graph_add_input(g, "y", 4, 8, 8);
    assert_int_equal(cnn_graph_add_add(g, "sum", x, y), CNN_E_SHAPE);
    int z = cnn_graph_add_input(g, "z", 4, 7, 8);
    int in[2] = {y, z};
    assert_int_equal(cnn_graph_add_concat(g, "cat", in, 2), CNN_E_SHAPE);
    assert_int_equal(cnn_graph_add_maxout(g, "mo", y, 3), CNN_E_SHAPE);
    assert_int_equal(cnn_graph_add_prelu(g, "pr", y, 3), CNN_E_SHAPE);
    cnn_lrn_params_t lrn = {.size = 4, .alpha = 1e-4f, .beta = 0.75f, .k = 1.0f};
    assert_int_equal(cnn_graph_add_lrn(g, "lrn", y, &lrn), CNN_E_INVALID_ARGUMENT);
    assert_int_equal(cnn_graph_add_batch_norm(g, "bn", y, 0.0f), CNN_E_INVALID_ARGUMENT);
    assert_int_equal(g->num_nodes, 3); /* failed builders leave nothing behind */
    cnn_graph_free(g);
}

/* Expected sizes from PyTorch: MaxPool2d(3, 2, ceil_mode=True) on 112 -> 56, on 55 -> 27 (floor 27),
 * on 14 -> 7 (floor 6), MaxPool2d(2, 2, ceil_mode=True) on 7 -> 4 (floor 3). */
static void test_pool_ceil_mode(void **state)
{
    (void)state;
    static const int cases[][4] = {{112, 3, 2, 56}, {55, 3, 2, 27}, {14, 3, 2, 7}, {7, 2, 2, 4}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cnn_graph_t *g = cnn_graph_new();
        int x = cnn_graph_add_input(g, "x", 2, cases[i][0], cases[i][0]);
        cnn_pool_params_t p = {.kh = cases[i][1], .kw = cases[i][1], .sh = cases[i][2], .sw = cases[i][2],
                               .ceil_mode = true};
        int id = cnn_graph_add_pool(g, "pool", CNN_OP_MAX_POOL, x, &p);
        assert_true(id > 0);
        assert_int_equal(g->nodes[id].out.h, cases[i][3]);
        const cnn_pool_params_t *q = &g->nodes[id].p.pool;
        /* the stored padding makes an ordinary floor-mode window produce the same size */
        assert_int_equal((cases[i][0] + q->pad.top + q->pad.bottom - q->kh) / q->sh + 1, cases[i][3]);
        cnn_graph_free(g);
    }
}

static void test_same_padding(void **state)
{
    (void)state;
    /* TF: in 28, k 5, s 1 -> pad 2/2; in 28, k 3, s 2 -> out 14, total 1: 0 top, 1 bottom */
    cnn_pad_t a = cnn_same_padding(28, 28, 5, 5, 1, 1, 1, 1);
    assert_int_equal(a.top, 2);
    assert_int_equal(a.bottom, 2);
    cnn_pad_t b = cnn_same_padding(28, 27, 3, 3, 2, 2, 1, 1);
    assert_int_equal(b.top, 0);
    assert_int_equal(b.bottom, 1);
    assert_int_equal(b.left, 1);
    assert_int_equal(b.right, 1);
}

static void test_arena_no_overlap(void **state)
{
    (void)state;
    /* chain a->b->c->d plus a long-lived tensor e */
    size_t sizes[5] = {100, 200, 100, 50, 70};
    int first[5] = {0, 1, 2, 3, 0};
    int last[5] = {1, 2, 3, 4, 4};
    size_t off[5], total = 0;
    assert_int_equal(cnn_plan_arena(5, sizes, first, last, 16, off, &total), CNN_OK);
    for (int i = 0; i < 5; i++)
        for (int j = i + 1; j < 5; j++) {
            bool live_together = first[i] <= last[j] && first[j] <= last[i];
            bool overlap = off[i] < off[j] + sizes[j] && off[j] < off[i] + sizes[i];
            assert_false(live_together && overlap);
        }
    assert_true(total < 100 + 200 + 100 + 50 + 70);
    assert_true(total >= 200 + 112); /* b, c/a and e live at once */
}

static float *own(cnn_weight_t *w, const float *values)
{
    size_t n = 1;
    for (int d = 0; d < w->ndim; d++)
        n *= (size_t)w->dims[d];
    w->owned = malloc(n * sizeof(float));
    memcpy(w->owned, values, n * sizeof(float));
    w->data = w->owned;
    return w->owned;
}

static void test_rewrite_folds_and_fuses(void **state)
{
    (void)state;
    cnn_graph_t *g = cnn_graph_new();
    int x = cnn_graph_add_input(g, "x", 1, 4, 4);
    cnn_conv_params_t p = conv_params(2, 1, 1, 0);
    p.has_bias = false;
    int c1 = cnn_graph_add_conv2d(g, "c1", x, &p);
    int bn = cnn_graph_add_batch_norm(g, "bn", c1, 1e-5f);
    int r1 = cnn_graph_add_unary(g, "r1", CNN_OP_RELU, bn);
    int dr = cnn_graph_add_unary(g, "drop", CNN_OP_DROPOUT, r1);
    int c2 = cnn_graph_add_conv2d(g, "c2", dr, &(cnn_conv_params_t){.out_channels = 2, .kh = 1, .kw = 1, .sh = 1,
                                                                   .sw = 1, .dh = 1, .dw = 1, .groups = 1,
                                                                   .has_bias = true});
    int sum = cnn_graph_add_add(g, "sum", c2, dr);
    int r2 = cnn_graph_add_unary(g, "r2", CNN_OP_RELU, sum);
    assert_true(r2 > 0);
    own(g->nodes[c1].w[CNN_W_WEIGHT], (const float[]){2.0f, 3.0f});
    own(g->nodes[bn].w[CNN_W_WEIGHT], (const float[]){1.0f, 0.5f});
    own(g->nodes[bn].w[CNN_W_BIAS], (const float[]){0.25f, -1.0f});
    own(g->nodes[bn].w[CNN_W_MEAN], (const float[]){1.0f, 2.0f});
    own(g->nodes[bn].w[CNN_W_VAR], (const float[]){4.0f, 1.0f});
    own(g->nodes[c2].w[CNN_W_WEIGHT], (const float[]){1, 0, 0, 1});
    own(g->nodes[c2].w[CNN_W_BIAS], (const float[]){0, 0});
    cnn_error_t err;
    assert_int_equal(cnn_graph_rewrite(g, &err), CNN_OK);

    assert_int_equal(g->nodes[bn].fused_into, c1);
    assert_int_equal(g->nodes[r1].fused_into, c1);
    assert_int_equal(cnn_graph_resolve(g, dr), c1);
    assert_int_equal(g->nodes[c1].post_act, CNN_ACT_RELU);
    assert_string_equal(g->nodes[c1].fused_desc, "bn+relu");
    /* s = gamma / sqrt(var + eps) */
    double s0 = 1.0 / sqrt(4.0 + 1e-5), s1 = 0.5 / sqrt(1.0 + 1e-5);
    assert_float_equal(g->nodes[c1].w[CNN_W_WEIGHT]->data[0], 2.0 * s0, 1e-6);
    assert_float_equal(g->nodes[c1].w[CNN_W_WEIGHT]->data[1], 3.0 * s1, 1e-6);
    assert_float_equal(g->nodes[c1].w[CNN_W_BIAS]->data[0], -1.0 * s0 + 0.25, 1e-6);
    assert_float_equal(g->nodes[c1].w[CNN_W_BIAS]->data[1], -2.0 * s1 - 1.0, 1e-6);
    /* add + relu became c2's residual sum and post-activation */
    assert_int_equal(g->nodes[sum].fused_into, c2);
    assert_int_equal(g->nodes[c2].residual_input, c1);
    assert_int_equal(g->nodes[c2].post_act, CNN_ACT_RELU);
    assert_int_equal(cnn_graph_resolve(g, g->output), c2);
    cnn_graph_free(g);
}

/* A BN after a dense layer (BatchNorm1d) folds into its rows and bias. */
static void test_rewrite_folds_bn_into_dense(void **state)
{
    (void)state;
    cnn_graph_t *g = cnn_graph_new();
    int x = cnn_graph_add_input(g, "x", 3, 1, 1);
    int fc = cnn_graph_add_dense(g, "fc", x, 2, false);
    int bn = cnn_graph_add_batch_norm(g, "bn", fc, 1e-3f);
    int r = cnn_graph_add_unary(g, "r", CNN_OP_SIGMOID, bn);
    assert_true(r > 0);
    own(g->nodes[fc].w[CNN_W_WEIGHT], (const float[]){1, 2, 3, 4, 5, 6});
    own(g->nodes[bn].w[CNN_W_WEIGHT], (const float[]){2.0f, -1.0f});
    own(g->nodes[bn].w[CNN_W_BIAS], (const float[]){0.5f, 0.0f});
    own(g->nodes[bn].w[CNN_W_MEAN], (const float[]){1.0f, -2.0f});
    own(g->nodes[bn].w[CNN_W_VAR], (const float[]){3.0f, 0.25f});
    cnn_error_t err;
    assert_int_equal(cnn_graph_rewrite(g, &err), CNN_OK);
    assert_int_equal(g->nodes[bn].fused_into, fc);
    assert_int_equal(g->nodes[r].fused_into, fc);
    assert_true(g->nodes[fc].p.dense.has_bias);
    assert_string_equal(g->nodes[fc].fused_desc, "bn+sigmoid");
    double s0 = 2.0 / sqrt(3.0 + 1e-3), s1 = -1.0 / sqrt(0.25 + 1e-3);
    const float *w = g->nodes[fc].w[CNN_W_WEIGHT]->data, *b = g->nodes[fc].w[CNN_W_BIAS]->data;
    for (int k = 0; k < 3; k++) {
        assert_float_equal(w[k], (k + 1) * s0, 1e-6);
        assert_float_equal(w[3 + k], (k + 4) * s1, 1e-6);
    }
    assert_float_equal(b[0], -1.0 * s0 + 0.5, 1e-6);
    assert_float_equal(b[1], 2.0 * s1, 1e-6);
    cnn_graph_free(g);
}

/* A BN whose conv output is also read elsewhere must not be folded. */
static void test_rewrite_keeps_shared_bn(void **state)
{
    (void)state;
    cnn_graph_t *g = cnn_graph_new();
    int x = cnn_graph_add_input(g, "x", 1, 2, 2);
    cnn_conv_params_t p = conv_params(1, 1, 1, 0);
    int c = cnn_graph_add_conv2d(g, "c", x, &p);
    int bn = cnn_graph_add_batch_norm(g, "bn", c, 1e-3f);
    int sum = cnn_graph_add_add(g, "sum", c, bn);
    assert_true(sum > 0);
    for (int i = 0; i < g->num_nodes; i++)
        for (int s = 0; s < CNN_W_SLOTS; s++)
            if (g->nodes[i].w[s])
                own(g->nodes[i].w[s], (const float[]){1.0f});
    cnn_error_t err;
    assert_int_equal(cnn_graph_rewrite(g, &err), CNN_OK);
    assert_int_equal(g->nodes[bn].fused_into, -1);
    assert_int_equal(g->nodes[sum].fused_into, -1);
    cnn_graph_free(g);
}

static void test_peak_activation_bytes(void **state)
{
    (void)state;
    cnn_graph_t *g = cnn_graph_new();
    int x = cnn_graph_add_input(g, "x", 1, 8, 8);            /* 256 B */
    int r1 = cnn_graph_add_unary(g, "r1", CNN_OP_RELU, x);   /* 256 B */
    int r2 = cnn_graph_add_unary(g, "r2", CNN_OP_SIGMOID, r1);
    int r3 = cnn_graph_add_unary(g, "r3", CNN_OP_TANH, r2);
    assert_true(r3 > 0);
    /* at most two tensors are live at once */
    assert_int_equal(cnn_graph_peak_activation_bytes(g, 1), 512);
    assert_int_equal(cnn_graph_peak_activation_bytes(g, 4), 2048);
    cnn_graph_free(g);
}

/* Builders read earlier nodes while appending: with enough nodes to cross
 * several capacities (and, under CNN_MOVE_ON_GROW, a move on every append),
 * every node keeps its name, inputs, shape and weights. */
static void test_nodes_survive_growth(void **state)
{
    (void)state;
    enum { BLOCKS = 100 };
    cnn_graph_t *g = cnn_graph_new();
    int x = cnn_graph_add_input(g, "x", 4, 6, 6);
    char name[32];
    for (int i = 0; i < BLOCKS; i++) {
        cnn_conv_params_t p = conv_params(4, 3, 1, 1);
        snprintf(name, sizeof name, "conv%d", i);
        int c = cnn_graph_add_conv2d(g, name, x, &p);
        snprintf(name, sizeof name, "relu%d", i);
        int r = cnn_graph_add_unary(g, name, CNN_OP_RELU, c);
        snprintf(name, sizeof name, "add%d", i);
        x = cnn_graph_add_add(g, name, r, x);
        assert_true(x > 0);
        assert_true(cnn_graph_add_unary(g, name, CNN_OP_RELU, x) < 0); /* duplicate: nothing appended */
    }
    int pool = cnn_graph_add_global_avg_pool(g, "pool", x);
    assert_int_equal(pool, 1 + 3 * BLOCKS);
    assert_int_equal(g->nodes[pool].out.c, 4);
    for (int i = 0; i < BLOCKS; i++) {
        const cnn_node_t *c = &g->nodes[1 + 3 * i], *r = &g->nodes[2 + 3 * i], *a = &g->nodes[3 + 3 * i];
        snprintf(name, sizeof name, "conv%d.weight", i);
        assert_string_equal(c->w[CNN_W_WEIGHT]->name, name);
        assert_int_equal(c->inputs[0], 3 * i);
        assert_int_equal(r->inputs[0], 1 + 3 * i);
        assert_int_equal(r->out.h, 6);
        snprintf(name, sizeof name, "add%d", i);
        assert_string_equal(a->name, name);
        assert_int_equal(a->inputs[0], 2 + 3 * i);
        assert_int_equal(a->inputs[1], 3 * i);
        assert_int_equal(a->out.c, 4);
    }
    cnn_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_shapes),
        cmocka_unit_test(test_builder_errors),
        cmocka_unit_test(test_pool_ceil_mode),
        cmocka_unit_test(test_same_padding),
        cmocka_unit_test(test_arena_no_overlap),
        cmocka_unit_test(test_rewrite_folds_and_fuses),
        cmocka_unit_test(test_rewrite_folds_bn_into_dense),
        cmocka_unit_test(test_rewrite_keeps_shared_bn),
        cmocka_unit_test(test_peak_activation_bytes),
        cmocka_unit_test(test_nodes_survive_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
