/* The CUDA backend's host-side planning, on the CPU: storage formats, the
 * step chosen for each op, tensor strides, and the arena layout, checked
 * against an independent brute-force overlap test on every zoo architecture
 * and on the bundled (rewritten) Fashion-MNIST models. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_plan.h"
#include "model.h"
#include "zoo.h"

static cnn_graph_t *zoo(const char *arch, int divisor, int size)
{
    cnn_zoo_options_t o = {.arch = arch, .num_classes = 10, .width_divisor = divisor, .in_height = size,
                           .in_width = size};
    cnn_graph_t *g = NULL;
    cnn_error_t err = {0};
    if (cnn_zoo_build(&o, &g, &err) != CNN_OK)
        print_error("%s: %s\n", arch, err.message);
    assert_non_null(g);
    return g;
}

static cnn_cu_plan_t *plan(const cnn_graph_t *g, cnn_precision_t prec, int batch, size_t guard)
{
    cnn_cu_plan_t *p = NULL;
    cnn_error_t err = {0};
    cnn_status_t st = cnn_cu_plan_build(g, prec, batch, guard, &p, &err);
    if (st != CNN_OK)
        print_error("plan: %s\n", err.message);
    assert_int_equal(st, CNN_OK);
    return p;
}

/* Last graph step reading a value stored in buffer b, found independently of
 * the planner: every executed node's inputs and residual, and the output. */
static int buffer_last_read(const cnn_graph_t *g, const cnn_cu_plan_t *p, int b)
{
    int last = -1;
    for (int i = 0; i < g->num_nodes; i++) {
        const cnn_node_t *n = &g->nodes[i];
        if (n->fused_into >= 0)
            continue;
        if (p->values[i].buf == b && i > last)
            last = i;
        for (int k = 0; k < n->num_inputs + 1; k++) {
            int src = k < n->num_inputs ? n->inputs[k] : n->residual_input;
            if (src >= 0 && p->values[cnn_graph_resolve(g, src)].buf == b && i > last)
                last = i;
        }
    }
    if (p->values[p->output_value].buf == b)
        last = g->num_nodes;
    return last;
}

/* Invariants every plan must satisfy. */
static void check_plan(const cnn_graph_t *g, const cnn_cu_plan_t *p)
{
    size_t es = cnn_cu_dtype_size(p->fmt.dtype);
    int *first = malloc((size_t)p->num_bufs * sizeof *first), *last = malloc((size_t)p->num_bufs * sizeof *last);
    assert_true(p->num_bufs == 0 || (first && last));
    for (int b = 0; b < p->num_bufs; b++) {
        first[b] = g->num_nodes + 1;
        last[b] = buffer_last_read(g, p, b);
    }
    for (int i = 0; i < g->num_nodes; i++) {
        const cnn_cu_tensor_t *t = &p->values[i];
        if (g->nodes[i].fused_into >= 0)
            continue;
        assert_true(t->buf >= 0 || t->buf == CNN_CU_BUF_INPUT);
        assert_int_equal(t->n, p->batch);
        assert_true(t->cp >= t->c);
        if (!t->flat && p->fmt.layout == CNN_CU_NHWC) {
            assert_int_equal(t->cp % 8, 0);
            assert_int_equal(t->sc, 1);
            assert_int_equal(t->sn, (int64_t)t->h * t->w * t->cp);
        } else {
            assert_int_equal(t->cp, t->c);
            assert_int_equal(t->sn, (int64_t)t->c * t->h * t->w);
        }
        assert_int_equal((size_t)t->c * t->h * t->w, cnn_node_numel(&g->nodes[i]));
        if (t->buf >= 0) {
            assert_true(p->bufs[t->buf].bytes >= cnn_cu_tensor_elems(t) * es);
            if (i < first[t->buf])
                first[t->buf] = i;
        }
    }
    for (int s = 0; s < p->num_steps; s++) {
        const cnn_cu_step_t *st = &p->steps[s];
        if (st->aux.buf >= 0) {
            first[st->aux.buf] = last[st->aux.buf] = st->node;
            assert_true(p->bufs[st->aux.buf].bytes >= cnn_cu_tensor_elems(&st->aux) * es);
        }
        if (s > 0)
            assert_true(st->node >= p->steps[s - 1].node);
    }
    assert_int_equal(p->steps[p->num_steps - 1].kind, CNN_CU_STEP_OUTPUT);
    /* No two buffers live at a common step may share bytes; all fit the arena. */
    for (int a = 0; a < p->num_bufs; a++) {
        const cnn_cu_buffer_t *x = &p->bufs[a];
        assert_true(x->offset + x->bytes + p->guard_bytes <= p->arena_bytes);
        assert_int_equal(x->offset % 256, 0);
        for (int b = a + 1; b < p->num_bufs; b++) {
            const cnn_cu_buffer_t *y = &p->bufs[b];
            bool live_together = p->guard_bytes || (first[a] <= last[b] && first[b] <= last[a]);
            bool overlap = x->offset < y->offset + y->bytes + p->guard_bytes &&
                           y->offset < x->offset + x->bytes + p->guard_bytes;
            if (live_together && overlap)
                print_error("buffers %d [%d,%d] and %d [%d,%d] overlap\n", a, first[a], last[a], b, first[b], last[b]);
            assert_false(live_together && overlap);
        }
    }
    free(first);
    free(last);
}

static int count_steps(const cnn_cu_plan_t *p, cnn_cu_step_kind_t kind)
{
    int n = 0;
    for (int s = 0; s < p->num_steps; s++)
        n += p->steps[s].kind == kind;
    return n;
}

static void test_formats(void **state)
{
    (void)state;
    cnn_cu_format_t f;
    cnn_error_t err;
    assert_int_equal(cnn_cu_format_for(CNN_PRECISION_FP32, &f, &err), CNN_OK);
    assert_true(f.dtype == CNN_CU_F32 && f.layout == CNN_CU_NCHW && f.math == CNN_CU_MATH_FMA);
    assert_int_equal(cnn_cu_format_for(CNN_PRECISION_TF32, &f, &err), CNN_OK);
    assert_true(f.dtype == CNN_CU_F32 && f.math == CNN_CU_MATH_TF32);
    assert_int_equal(cnn_cu_format_for(CNN_PRECISION_FP16, &f, &err), CNN_OK);
    assert_true(f.dtype == CNN_CU_F16 && f.layout == CNN_CU_NHWC && f.channel_align == 8);
    assert_int_equal(cnn_cu_format_for(CNN_PRECISION_BF16, &f, &err), CNN_E_UNSUPPORTED);
    assert_int_equal(cnn_cu_pad_channels(3, 8), 8);
    assert_int_equal(cnn_cu_pad_channels(16, 8), 16);
    assert_int_equal(cnn_cu_pad_channels(17, 8), 24);
    assert_int_equal(cnn_cu_pad_channels(5, 1), 5);

    cnn_cu_tensor_t t;
    cnn_cu_tensor_init(&t, 2, 3, 5, 7, false, CNN_CU_NHWC, 8);
    assert_int_equal(t.cp, 8);
    assert_true(t.sc == 1 && t.sw == 8 && t.sh == 56 && t.sn == 280);
    assert_int_equal(cnn_cu_tensor_elems(&t), 560);
    cnn_cu_tensor_init(&t, 2, 3, 5, 7, false, CNN_CU_NCHW, 8);
    assert_true(t.cp == 3 && t.sw == 1 && t.sh == 7 && t.sc == 35 && t.sn == 105);
    cnn_cu_tensor_init(&t, 4, 3, 5, 7, true, CNN_CU_NHWC, 8);
    assert_true(t.flat && t.c == 105 && t.cp == 105 && t.h == 1 && t.w == 1 && t.sn == 105 && t.sc == 1);
}

/* Every zoo architecture plans in fp32 and fp16 at batch 1 and 3, with and
 * without guard bytes. */
static void test_zoo_plans(void **state)
{
    (void)state;
    static const struct { const char *arch; int divisor, size; } archs[] = {
        {"lenet5", 1, 0}, {"alexnet", 8, 0}, {"vgg16", 8, 224}, {"resnet18", 4, 64}, {"resnet50", 8, 64},
        {"googlenet", 4, 96}, {"inception_v3", 8, 0},
    };
    static const cnn_precision_t precs[] = {CNN_PRECISION_FP32, CNN_PRECISION_TF32, CNN_PRECISION_FP16};
    for (size_t a = 0; a < sizeof archs / sizeof archs[0]; a++) {
        cnn_graph_t *g = zoo(archs[a].arch, archs[a].divisor, archs[a].size);
        for (size_t k = 0; k < 3; k++)
            for (int batch = 1; batch <= 3; batch += 2)
                for (size_t guard = 0; guard <= 256; guard += 256) {
                    cnn_cu_plan_t *p = plan(g, precs[k], batch, guard);
                    check_plan(g, p);
                    assert_true(count_steps(p, CNN_CU_STEP_CONV) > 0);
                    assert_int_equal(count_steps(p, CNN_CU_STEP_INPUT), precs[k] == CNN_PRECISION_FP16);
                    if (precs[k] == CNN_PRECISION_FP16)
                        assert_int_equal(count_steps(p, CNN_CU_STEP_POOL_CUDNN) + count_steps(p, CNN_CU_STEP_LRN_CUDNN), 0);
                    cnn_cu_plan_free(p);
                }
        cnn_graph_free(g);
    }
}

/* The rewritten ResNet of models/: convolutions with a fused relu (and
 * residual) are single cuDNN calls; the flatten before the classifier is a
 * reshape in fp32 and a copy in fp16. */
static void test_resnet_fashion(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/models/resnet-fashion", getenv("CNN_SOURCE_DIR"));
    cnn_model_t *m = NULL;
    cnn_error_t err;
    assert_int_equal(cnn_model_load(dir, &m, &err), CNN_OK);
    const cnn_graph_t *g = m->graph;
    cnn_cu_plan_t *p = plan(g, CNN_PRECISION_FP32, 4, 0);
    check_plan(g, p);
    int fused = 0, residual = 0;
    for (int s = 0; s < p->num_steps; s++) {
        const cnn_cu_step_t *st = &p->steps[s];
        if (st->kind != CNN_CU_STEP_CONV)
            continue;
        const cnn_node_t *n = &g->nodes[st->node];
        assert_int_equal(st->conv_fused, n->post_act == CNN_ACT_RELU);
        fused += st->conv_fused;
        residual += n->residual_input >= 0;
    }
    assert_true(fused > 0);
    assert_true(residual > 0);
    cnn_cu_plan_free(p);
    p = plan(g, CNN_PRECISION_FP16, 4, 0);
    check_plan(g, p);
    assert_true(count_steps(p, CNN_CU_STEP_TO_FLAT) + count_steps(p, CNN_CU_STEP_GLOBAL_AVG_POOL) > 0);
    cnn_cu_plan_free(p);
    cnn_model_free(m);
}

/* Hand-made graph: asymmetric ("SAME", stride 2) conv padding runs on a
 * zero-padded copy; ceil_mode pools and even LRN go to the own kernels. */
static void test_special_cases(void **state)
{
    (void)state;
    cnn_graph_t *g = cnn_graph_new();
    int x = cnn_graph_add_input(g, "x", 3, 8, 8);
    cnn_conv_params_t cp = {.out_channels = 5, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .dh = 1, .dw = 1, .groups = 1,
                            .pad = cnn_same_padding(8, 8, 3, 3, 2, 2, 1, 1), .has_bias = true};
    assert_true(cp.pad.top != cp.pad.bottom);
    int c = cnn_graph_add_conv2d(g, "conv", x, &cp);
    cnn_pool_params_t pp = {.kh = 3, .kw = 3, .sh = 2, .sw = 2, .ceil_mode = true};
    int pool = cnn_graph_add_pool(g, "pool", CNN_OP_MAX_POOL, c, &pp);
    cnn_pool_params_t sym = {.kh = 3, .kw = 3, .sh = 1, .sw = 1, .pad = {1, 1, 1, 1}};
    int pool2 = cnn_graph_add_pool(g, "pool2", CNN_OP_MAX_POOL, pool, &sym);
    int f = cnn_graph_add_unary(g, "flat", CNN_OP_FLATTEN, pool2);
    int d = cnn_graph_add_dense(g, "fc", f, 4, true);
    assert_true(c >= 0 && pool >= 0 && pool2 >= 0 && f >= 0 && d >= 0);
    g->output = d;
    cnn_cu_plan_t *p = plan(g, CNN_PRECISION_FP32, 2, 0);
    check_plan(g, p);
    const cnn_cu_step_t *conv = &p->steps[0];
    assert_int_equal(conv->kind, CNN_CU_STEP_CONV);
    assert_true(conv->aux.buf >= 0);
    assert_true(conv->aux.h == 9 && conv->aux.w == 9);
    assert_int_equal(conv->aux_pad_top, cp.pad.top);
    assert_int_equal(p->steps[1].kind, CNN_CU_STEP_POOL);       /* 4x4 → 2x2 needs the ceil extra row */
    assert_int_equal(p->steps[2].kind, CNN_CU_STEP_POOL_CUDNN); /* symmetric, cuDNN's size */
    assert_int_equal(p->values[f].buf, p->values[pool2].buf);  /* flatten of NCHW is a reshape */
    assert_int_equal(p->steps[3].kind, CNN_CU_STEP_DENSE);
    assert_true(p->steps[3].aux.buf < 0);
    assert_int_equal(p->values[x].buf, CNN_CU_BUF_INPUT);
    cnn_cu_plan_free(p);

    p = plan(g, CNN_PRECISION_FP16, 2, 0);
    check_plan(g, p);
    assert_int_equal(p->steps[0].kind, CNN_CU_STEP_INPUT);
    assert_int_equal(p->steps[1].aux.cp, 8);
    assert_int_equal(p->steps[3].kind, CNN_CU_STEP_POOL); /* own kernels for NHWC */
    assert_int_equal(p->steps[4].kind, CNN_CU_STEP_TO_FLAT);
    assert_true(p->values[f].flat && p->values[f].c == 5 * 2 * 2);
    cnn_cu_plan_free(p);
    cnn_graph_free(g);
}

/* Grouped convolutions with channel counts that padding would change are
 * refused in fp16 (and run in fp32). */
static void test_grouped_fp16(void **state)
{
    (void)state;
    cnn_graph_t *g = cnn_graph_new();
    int x = cnn_graph_add_input(g, "x", 6, 8, 8);
    cnn_conv_params_t cp = {.out_channels = 6, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .groups = 3,
                            .pad = {1, 1, 1, 1}};
    int c = cnn_graph_add_conv2d(g, "conv", x, &cp);
    assert_true(c >= 0);
    g->output = c;
    assert_true(cnn_cu_supports_node(g, &g->nodes[c], CNN_PRECISION_FP32));
    assert_false(cnn_cu_supports_node(g, &g->nodes[c], CNN_PRECISION_FP16));
    assert_false(cnn_cu_supports_node(g, &g->nodes[c], CNN_PRECISION_BF16));
    cnn_cu_plan_t *p = NULL;
    cnn_error_t err;
    assert_int_equal(cnn_cu_plan_build(g, CNN_PRECISION_FP16, 1, 0, &p, &err), CNN_E_UNSUPPORTED);
    assert_null(p);
    assert_non_null(strstr(err.message, "conv"));
    cnn_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_zoo_plans),
        cmocka_unit_test(test_resnet_fashion),
        cmocka_unit_test(test_special_cases),
        cmocka_unit_test(test_grouped_fp16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
