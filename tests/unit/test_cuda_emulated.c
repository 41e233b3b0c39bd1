/* Whole CUDA plans run on the CPU: every step's call list (cuda_calls.c)
 * goes through the same element functions the CUDA kernels use
 * (cuda_elem.h), with reference convolutions and matrix products standing in
 * for cuDNN and cuBLASLt (computed from the packed weights the device would
 * get, with the tensor views the descriptors describe). The results must
 * match the CPU (oneDNN) backend: fp32 within 1e-4 of the largest output,
 * fp16 with a cosine similarity >= 0.999 per image. The arena starts filled
 * with NaN, so a step reading memory no earlier step wrote fails the test.
 * What this cannot check: cuDNN's and cuBLASLt's own behaviour, streams,
 * graphs and device errors (tests/gpu/run.sh does, on a GPU). */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cuda_calls.h"
#include "model.h"
#include "rewrite.h"
#include "zoo.h"

/* Reference of what cuDNN computes for a CONV call: all cp output channels
 * of d, from x (view s) and the packed filter; fused: relu(conv + bias + z). */
static void ref_conv(const cnn_graph_t *g, const cnn_cu_plan_t *p, const cnn_cu_step_t *st, const cnn_cu_call_t *c)
{
    const cnn_node_t *n = &g->nodes[st->node];
    const cnn_conv_params_t *cv = &n->p.conv;
    bool nhwc = p->fmt.layout == CNN_CU_NHWC, f16 = c->f16;
    int groups = cv->groups, kp = c->d.cp, kpg = kp / groups;
    int cpg = groups == 1 ? c->s.cp : c->s.c / groups;
    int pt = st->aux.buf >= 0 ? 0 : cv->pad.top, pl = st->aux.buf >= 0 ? 0 : cv->pad.left;
    for (long long i = 0; i < cnn_cu_total(c->d); i++) {
        cnn_cu_pos_t o = cnn_cu_pos(c->d, i);
        int grp = o.c / kpg;
        double acc = 0;
        for (int ci = 0; ci < cpg; ci++)
            for (int r = 0; r < cv->kh; r++)
                for (int q = 0; q < cv->kw; q++) {
                    int y = o.h * cv->sh - pt + r * cv->dh, x = o.w * cv->sw - pl + q * cv->dw;
                    if (y < 0 || y >= c->s.h || x < 0 || x >= c->s.w)
                        continue;
                    long long wi = nhwc ? (((long long)o.c * cv->kh + r) * cv->kw + q) * cpg + ci
                                        : (((long long)o.c * cpg + ci) * cv->kh + r) * cv->kw + q;
                    acc += (double)cnn_cu_ld(c->p0, wi, f16) *
                           cnn_cu_ld(c->src, cnn_cu_off(c->s, o.n, grp * cpg + ci, y, x), f16);
                }
        float v = (float)acc;
        if (c->b[0]) {
            v += cnn_cu_ld(c->p1, o.c, f16);
            if (c->src2)
                v += cnn_cu_ld(c->src2, cnn_cu_off(c->s2, o.n, o.c, o.h, o.w), f16);
            v = v > 0 ? v : 0;
        }
        cnn_cu_st(c->dst, i, v, f16);
    }
}

/* Reference of the cuBLASLt DENSE call: y[n][m] = x[n] . W[m] + bias[m] (relu). */
static void ref_dense(const cnn_cu_call_t *c)
{
    int m = c->d.c;
    long long k = c->s.sn;
    for (int b = 0; b < c->d.n; b++)
        for (int j = 0; j < m; j++) {
            double acc = 0;
            for (long long t = 0; t < k; t++)
                acc += (double)cnn_cu_ld(c->src, b * k + t, c->f16) * cnn_cu_ld(c->p0, j * k + t, c->f16);
            float v = (float)acc + cnn_cu_ld(c->p1, j, c->f16);
            cnn_cu_st(c->dst, (long long)b * m + j, c->b[0] && v < 0 ? 0.f : v, c->f16);
        }
}

static void run_call(const cnn_graph_t *g, const cnn_cu_plan_t *p, const cnn_cu_step_t *st, const cnn_cu_call_t *c)
{
    long long total = cnn_cu_total(c->d);
    switch (c->kind) {
    case CNN_CU_CALL_COPY:
        for (long long i = 0; i < total; i++)
            cnn_cu_e_copy(i, c->src, c->s, c->sf16, c->dst, c->d, c->df16);
        break;
    case CNN_CU_CALL_ZERO_PAD:
        for (long long i = 0; i < total; i++)
            cnn_cu_e_zero_pad(i, c->src, c->s, c->dst, c->d, c->i[0], c->i[1], c->f16);
        break;
    case CNN_CU_CALL_ACT:
        for (long long i = 0; i < total; i++)
            cnn_cu_e_act(i, c->src, c->s, c->dst, c->d, c->act, c->alpha, c->beta, c->f16);
        break;
    case CNN_CU_CALL_BIAS_ACT:
        for (long long i = 0; i < total; i++)
            cnn_cu_e_bias_act(i, c->dst, c->d, c->p1, c->src2, c->s2, c->act, c->alpha, c->beta, c->f16);
        break;
    case CNN_CU_CALL_ADD:
        for (long long i = 0; i < total; i++)
            cnn_cu_e_add(i, c->src, c->s, c->src2, c->s2, c->dst, c->d, c->act, c->alpha, c->beta, c->f16);
        break;
    case CNN_CU_CALL_AFFINE:
        for (long long i = 0; i < total; i++)
            cnn_cu_e_affine(i, c->src, c->s, c->dst, c->d, c->p0, c->p1, c->f16);
        break;
    case CNN_CU_CALL_PRELU:
        for (long long i = 0; i < total; i++)
            cnn_cu_e_prelu(i, c->src, c->s, c->dst, c->d, c->p0, c->i[0], c->f16);
        break;
    case CNN_CU_CALL_POOL_CUDNN: { /* symmetric padding, cuDNN's output size: the same function */
        const cnn_pool_params_t *pp = &g->nodes[st->node].p.pool;
        bool max = g->nodes[st->node].op == CNN_OP_MAX_POOL;
        for (long long i = 0; i < total; i++)
            cnn_cu_e_pool(i, c->src, c->s, c->dst, c->d, pp->kh, pp->kw, pp->sh, pp->sw, pp->pad.top, pp->pad.left,
                          pp->pad.top, pp->pad.left, max, pp->count_include_pad, c->f16);
        break;
    }
    case CNN_CU_CALL_POOL:
        for (long long i = 0; i < total; i++)
            cnn_cu_e_pool(i, c->src, c->s, c->dst, c->d, c->i[0], c->i[1], c->i[2], c->i[3], c->i[4], c->i[5], c->i[6],
                          c->i[7], c->b[0], c->b[1], c->f16);
        break;
    case CNN_CU_CALL_GLOBAL_AVG:
        for (long long i = 0; i < total; i++)
            cnn_cu_e_global_avg(i, c->src, c->s, c->dst, c->d, c->f16);
        break;
    case CNN_CU_CALL_SOFTMAX_CUDNN:
    case CNN_CU_CALL_SOFTMAX:
        for (long long j = 0; j < (long long)c->d.n * c->d.h * c->d.w; j++)
            cnn_cu_e_softmax(j, c->src, c->s, c->dst, c->d, c->f16);
        break;
    case CNN_CU_CALL_LRN_CUDNN:
    case CNN_CU_CALL_LRN:
        for (long long i = 0; i < total; i++)
            cnn_cu_e_lrn(i, c->src, c->s, c->dst, c->d, c->i[0], c->f[0], c->f[1], c->f[2], c->f16);
        break;
    case CNN_CU_CALL_MAXOUT:
        for (long long i = 0; i < total; i++)
            cnn_cu_e_maxout(i, c->src, c->s, c->dst, c->d, c->i[0], c->f16);
        break;
    case CNN_CU_CALL_CONCAT:
        for (long long i = 0; i < total; i++)
            cnn_cu_e_concat(i, &c->concat, c->dst, c->d, c->f16);
        break;
    case CNN_CU_CALL_CONV: ref_conv(g, p, st, c); break;
    case CNN_CU_CALL_DENSE: ref_dense(c); break;
    }
}

/* Runs graph g through the CUDA plan on the CPU; output: batch × numel fp32.
 * With fetches (sorted by node), each is copied the way the device executor
 * does: right before the first step of a later node. */
static void emulate(const cnn_graph_t *g, cnn_precision_t prec, int batch, const float *input, float *output,
                    const cnn_backend_fetch_t *fetches, int num_fetches)
{
    cnn_cu_plan_t *p = NULL;
    cnn_error_t err;
    assert_int_equal(cnn_cu_plan_build(g, prec, batch, 0, &p, &err), CNN_OK);
    cnn_cu_wlayout_t wl;
    assert_int_equal(cnn_cu_wlayout_build(g, &p->fmt, &wl, &err), CNN_OK);
    unsigned char *blob = malloc(wl.total + 1), *arena = malloc(p->arena_bytes + 1);
    float *in = malloc((size_t)batch * p->input_floats * sizeof *in);
    float *out = malloc((size_t)batch * p->output_floats * sizeof *out);
    assert_true(blob && arena && in && out);
    cnn_cu_wlayout_pack(g, &wl, blob);
    memset(arena, 0xff, p->arena_bytes); /* NaN in fp32 and fp16 */
    memcpy(in, input, (size_t)batch * p->input_floats * sizeof *in);
    cnn_cu_bases_t bases = {.arena = arena, .input = in, .output = out, .weights = blob};
    cnn_cu_call_t calls[CNN_CU_CALLS_MAX];
    int next = 0;
    for (int s = 0; s < p->num_steps; s++) {
        int before = p->steps[s].kind == CNN_CU_STEP_OUTPUT ? g->num_nodes : p->steps[s].node;
        for (; next < num_fetches && fetches[next].node < before; next++) {
            const cnn_backend_fetch_t *f = &fetches[next];
            cnn_cu_call_t c = cnn_cu_fetch_call(p, f->node, f->image, f->count, &bases, f->data);
            run_call(g, p, &p->steps[s], &c);
        }
        int n = cnn_cu_step_calls(g, p, &wl, &p->steps[s], &bases, calls);
        assert_true(n >= 1 && n <= CNN_CU_CALLS_MAX);
        for (int k = 0; k < n; k++)
            run_call(g, p, &p->steps[s], &calls[k]);
    }
    memcpy(output, out, (size_t)batch * p->output_floats * sizeof *out);
    free(blob);
    free(arena);
    free(in);
    free(out);
    cnn_cu_wlayout_free(&wl);
    cnn_cu_plan_free(p);
}

static void cpu_reference(const cnn_graph_t *g, int batch, const float *input, float *output)
{
    cnn_session_options_t o;
    cnn_session_options_init(&o);
    o.max_batch = batch;
    o.num_threads = 2;
    cnn_backend_session_t *s = NULL;
    cnn_error_t err;
    if (cnn_backend_cpu.session_create(g, &o, &s, &err) != CNN_OK)
        print_error("cpu: %s\n", err.message);
    assert_non_null(s);
    assert_int_equal(cnn_backend_cpu.session_run(s, input, batch, output, NULL, 0, &err), CNN_OK);
    cnn_backend_cpu.session_free(s);
}

/* CUDA fp32, tf32 (emulated as fp32) and, with fp16 set, fp16 plans,
 * emulated, against the CPU backend. */
static void compare(const char *what, const cnn_graph_t *g, int batch, bool fp16)
{
    const cnn_node_t *in = NULL;
    for (int i = 0; i < g->num_nodes && !in; i++)
        if (g->nodes[i].op == CNN_OP_INPUT)
            in = &g->nodes[i];
    size_t in_n = cnn_node_numel(in), out_n = cnn_node_numel(&g->nodes[cnn_graph_resolve(g, g->output)]);
    float *x = malloc((size_t)batch * in_n * sizeof *x), *ref = malloc((size_t)batch * out_n * sizeof *ref);
    float *got = malloc((size_t)batch * out_n * sizeof *got);
    assert_true(x && ref && got);
    cnn_test_fill_uniform(x, (size_t)batch * in_n, -1.0f, 1.0f, 99);
    cpu_reference(g, batch, x, ref);
    double scale = 0;
    for (size_t i = 0; i < batch * out_n; i++)
        scale = fmax(scale, fabs(ref[i]));
    assert_true(scale > 0);
    static const cnn_precision_t precs[] = {CNN_PRECISION_FP32, CNN_PRECISION_TF32, CNN_PRECISION_FP16};
    for (int k = 0; k < (fp16 ? 3 : 2); k++) {
        emulate(g, precs[k], batch, x, got, NULL, 0);
        double worst = 0, min_cos = 1;
        for (int b = 0; b < batch; b++) {
            double dot = 0, na = 0, nb = 0;
            for (size_t i = b * out_n; i < (b + 1) * out_n; i++) {
                worst = fmax(worst, fabs(got[i] - ref[i]) / scale);
                if (!isfinite(got[i]))
                    worst = INFINITY;
                dot += (double)got[i] * ref[i];
                na += (double)got[i] * got[i];
                nb += (double)ref[i] * ref[i];
            }
            min_cos = fmin(min_cos, dot / sqrt(na * nb));
        }
        bool ok = precs[k] == CNN_PRECISION_FP16 ? min_cos >= 0.999 : worst <= 1e-4;
        if (!ok || getenv("CNN_TEST_VERBOSE"))
            print_message("%s %s: max rel diff %.3g, min cosine %.6f\n", what,
                          precs[k] == CNN_PRECISION_FP16 ? "fp16" : "fp32", worst, min_cos);
        assert_true(ok);
    }
    free(x);
    free(ref);
    free(got);
}

/* Every executed layer of g fetched for images [1, batch) on the CPU backend
 * and through the emulated CUDA plan. */
static void compare_fetches(const char *what, const cnn_graph_t *g, int batch)
{
    int nf = 0;
    cnn_backend_fetch_t *cpu = calloc((size_t)g->num_nodes, sizeof *cpu), *cu = calloc((size_t)g->num_nodes, sizeof *cu);
    assert_true(cpu && cu);
    for (int i = 0; i < g->num_nodes; i++) {
        if (g->nodes[i].fused_into >= 0)
            continue;
        size_t n = (size_t)(batch - 1) * cnn_node_numel(&g->nodes[i]);
        cpu[nf] = (cnn_backend_fetch_t){i, 1, batch - 1, malloc(n * sizeof(float))};
        cu[nf] = (cnn_backend_fetch_t){i, 1, batch - 1, malloc(n * sizeof(float))};
        assert_true(cpu[nf].data && cu[nf].data);
        nf++;
    }
    const cnn_node_t *in = &g->nodes[0];
    size_t in_n = cnn_node_numel(in), out_n = cnn_node_numel(&g->nodes[cnn_graph_resolve(g, g->output)]);
    float *x = malloc((size_t)batch * in_n * sizeof *x), *out = malloc((size_t)batch * out_n * sizeof *out);
    assert_true(in->op == CNN_OP_INPUT && x && out);
    cnn_test_fill_uniform(x, (size_t)batch * in_n, -1.0f, 1.0f, 7);
    cnn_session_options_t o;
    cnn_session_options_init(&o);
    o.max_batch = batch;
    o.num_threads = 2;
    cnn_backend_session_t *s = NULL;
    cnn_error_t err;
    assert_int_equal(cnn_backend_cpu.session_create(g, &o, &s, &err), CNN_OK);
    assert_int_equal(cnn_backend_cpu.session_run(s, x, batch, out, cpu, nf, &err), CNN_OK);
    cnn_backend_cpu.session_free(s);
    emulate(g, CNN_PRECISION_FP32, batch, x, out, cu, nf);
    for (int k = 0; k < nf; k++) {
        size_t n = (size_t)(batch - 1) * cnn_node_numel(&g->nodes[cpu[k].node]);
        double scale = 1e-6, worst = 0;
        for (size_t i = 0; i < n; i++)
            scale = fmax(scale, fabs(cpu[k].data[i]));
        for (size_t i = 0; i < n; i++)
            worst = fmax(worst, isfinite(cu[k].data[i]) ? fabs(cu[k].data[i] - cpu[k].data[i]) / scale : INFINITY);
        if (worst > 1e-4)
            print_error("%s: fetch of %s differs by %.3g\n", what, g->nodes[cpu[k].node].name, worst);
        assert_true(worst <= 1e-4);
        free(cpu[k].data);
        free(cu[k].data);
    }
    free(cpu);
    free(cu);
    free(x);
    free(out);
}

static void test_bundled_models(void **state)
{
    (void)state;
    static const char *const models[] = {"lenet5-fashion", "alexnet-fashion", "vgg-fashion", "resnet-fashion",
                                         "inception-fashion", "inception-bn-fashion"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/models/%s", getenv("CNN_SOURCE_DIR"), models[i]);
        cnn_model_t *m = NULL;
        cnn_error_t err;
        assert_int_equal(cnn_model_load(dir, &m, &err), CNN_OK);
        compare(models[i], m->graph, 3, true);
        compare_fetches(models[i], m->graph, 3);
        cnn_model_free(m);
    }
}

/* Binds deterministic weights to every weight slot of g (BN variances > 0). */
static void bind_weights(cnn_graph_t *g, uint32_t seed)
{
    for (int i = 0; i < g->num_nodes; i++)
        for (int sl = 0; sl < CNN_W_SLOTS; sl++) {
            cnn_weight_t *w = g->nodes[i].w[sl];
            if (!w || w->data)
                continue;
            size_t n = 1;
            for (int d = 0; d < w->ndim; d++)
                n *= (size_t)w->dims[d];
            w->owned = malloc(n * sizeof *w->owned);
            assert_non_null(w->owned);
            bool bn = g->nodes[i].op == CNN_OP_BATCH_NORM;
            float lo = bn && (sl == CNN_W_VAR || sl == CNN_W_WEIGHT) ? 0.5f : -0.5f;
            cnn_test_fill_uniform(w->owned, n, lo, bn ? 1.5f : 0.5f, seed + (uint32_t)(i * 7 + sl));
            if (!bn && sl == CNN_W_WEIGHT && g->nodes[i].op == CNN_OP_CONV2D) {
                /* ~He scaling keeps deep random nets' activations O(1). */
                float fan_in = (float)(n / (size_t)w->dims[0]);
                for (size_t k = 0; k < n; k++)
                    w->owned[k] *= 2.0f * sqrtf(3.0f / fan_in);
            }
            w->data = w->owned;
        }
}

static void test_zoo(void **state)
{
    (void)state;
    static const struct { const char *arch; int divisor, size; } archs[] = {
        {"resnet18", 8, 32}, {"resnet50", 16, 32}, {"googlenet", 8, 48}, {"inception_v3", 16, 75},
        {"alexnet", 16, 224}, {"vgg16", 16, 224},
    };
    for (size_t a = 0; a < sizeof archs / sizeof archs[0]; a++) {
        cnn_zoo_options_t o = {.arch = archs[a].arch, .num_classes = 10, .width_divisor = archs[a].divisor,
                               .in_height = archs[a].size, .in_width = archs[a].size};
        cnn_graph_t *g = NULL;
        cnn_error_t err;
        if (cnn_zoo_build(&o, &g, &err) != CNN_OK)
            print_error("%s: %s\n", archs[a].arch, err.message);
        assert_non_null(g);
        bind_weights(g, 5);
        assert_int_equal(cnn_graph_rewrite(g, &err), CNN_OK);
        compare(archs[a].arch, g, 2, true);
        cnn_graph_free(g);
    }
}

/* Every op the CPU backend has, in one graph, in shapes with channel counts
 * that are not multiples of 8 (so fp16 pads them). With groups > 1 the
 * grouped convolution's 6 channels cannot be padded: fp16 refuses it. */
static void all_ops(int groups)
{
    cnn_graph_t *g = cnn_graph_new();
    int x = cnn_graph_add_input(g, "x", 3, 13, 13);
    cnn_conv_params_t c1 = {.out_channels = 12, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .dh = 1, .dw = 1, .groups = 1,
                            .pad = cnn_same_padding(13, 13, 3, 3, 2, 2, 1, 1), .has_bias = true};
    int a = cnn_graph_add_conv2d(g, "c1", x, &c1); /* asymmetric padding: pre-padded copy */
    a = cnn_graph_add_prelu(g, "prelu", a, 12);
    cnn_lrn_params_t lrn = {.size = 5, .alpha = 1e-2f, .beta = 0.75f, .k = 2.0f};
    a = cnn_graph_add_lrn(g, "lrn", a, &lrn);
    a = cnn_graph_add_zero_pad(g, "zpad", a, (cnn_pad_t){1, 0, 0, 1});
    a = cnn_graph_add_maxout(g, "maxout", a, 2); /* 6 channels */
    cnn_pool_params_t avg = {.kh = 3, .kw = 3, .sh = 2, .sw = 2, .pad = {1, 0, 2, 1}, .ceil_mode = true,
                             .count_include_pad = true}; /* asymmetric: the divisor clips at each side's padding */
    int p1 = cnn_graph_add_pool(g, "avg", CNN_OP_AVG_POOL, a, &avg);
    cnn_conv_params_t c2 = {.out_channels = 5, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .groups = 1,
                            .has_bias = false};
    int b1 = cnn_graph_add_conv2d(g, "c2", p1, &c2);
    b1 = cnn_graph_add_activation_alpha(g, "elu", CNN_OP_ELU, b1, 0.7f);
    cnn_conv_params_t c3 = {.out_channels = 6, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .dh = 2, .dw = 2, .groups = groups,
                            .pad = {2, 2, 2, 2}, .has_bias = true};
    int b2 = cnn_graph_add_conv2d(g, "c3", p1, &c3); /* grouped, dilated */
    b2 = cnn_graph_add_clip(g, "clip", b2, -0.2f, 0.3f);
    int cat_in[3] = {b1, b2, p1};
    int cat = cnn_graph_add_concat(g, "cat", cat_in, 3); /* 5 + 6 + 6 = 17 */
    cnn_conv_params_t c4 = {.out_channels = 17, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .groups = 1,
                            .pad = {1, 1, 1, 1}, .has_bias = true};
    int r = cnn_graph_add_conv2d(g, "c4", cat, &c4);
    int sum = cnn_graph_add_add(g, "add", r, cat); /* residual, fused into c4 */
    sum = cnn_graph_add_unary(g, "tanh", CNN_OP_TANH, sum);
    int bn = cnn_graph_add_batch_norm(g, "bn", sum, 1e-3f); /* after an activation: stays a node */
    cnn_pool_params_t mx = {.kh = 2, .kw = 2, .sh = 2, .sw = 2, .ceil_mode = true};
    int p2 = cnn_graph_add_pool(g, "max", CNN_OP_MAX_POOL, bn, &mx);
    int sig = cnn_graph_add_unary(g, "sigmoid", CNN_OP_SIGMOID, p2);
    int gap = cnn_graph_add_global_avg_pool(g, "gap", sig);
    int sm4 = cnn_graph_add_unary(g, "softmax4", CNN_OP_SOFTMAX, p2); /* over channels of a 4-D tensor */
    int add2 = cnn_graph_add_add(g, "add2", sm4, p2);
    int f = cnn_graph_add_unary(g, "flat", CNN_OP_FLATTEN, add2);
    int d1 = cnn_graph_add_dense(g, "fc1", f, 24, true);
    d1 = cnn_graph_add_activation_alpha(g, "leaky", CNN_OP_LEAKY_RELU, d1, 0.1f);
    int fg = cnn_graph_add_unary(g, "flat2", CNN_OP_FLATTEN, gap);
    int d2 = cnn_graph_add_dense(g, "fc2", fg, 24, true);
    d2 = cnn_graph_add_unary(g, "relu", CNN_OP_RELU, d2);
    int s2 = cnn_graph_add_add(g, "add3", d1, d2);
    int d3 = cnn_graph_add_dense(g, "fc3", s2, 7, true);
    int out = cnn_graph_add_unary(g, "softmax", CNN_OP_SOFTMAX, d3);
    if (out < 0)
        print_error("building: %s\n", g->err.message);
    assert_true(out >= 0);
    g->output = out;
    bind_weights(g, 11);
    cnn_error_t err;
    assert_int_equal(cnn_graph_rewrite(g, &err), CNN_OK);
    compare(groups > 1 ? "all ops, grouped" : "all ops", g, 3, groups == 1);
    compare_fetches("all ops", g, 3);
    if (groups > 1) {
        cnn_cu_plan_t *p = NULL;
        assert_int_equal(cnn_cu_plan_build(g, CNN_PRECISION_FP16, 1, 0, &p, &err), CNN_E_UNSUPPORTED);
        assert_non_null(strstr(err.message, "c3"));
    }
    cnn_graph_free(g);
}

static void test_all_ops(void **state)
{
    (void)state;
    all_ops(1);
    all_ops(3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_ops),
        cmocka_unit_test(test_bundled_models),
        cmocka_unit_test(test_zoo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
