/* The CUDA backend's host-side weight packing and run-time policies, on the
 * CPU: fp16 conversion against the compiler's own _Float16, KRSC filter
 * packing with padded channels, the weight blob layout, the convolution
 * algorithm cache, graph-capture decisions and the workspace bound. */
#include "test_support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_pack.h"
#include "cuda_policy.h"
#include "zoo.h"

static uint16_t ref_f16_bits(float f)
{
    _Float16 h = (_Float16)f; /* GCC rounds to nearest even, like cuda's __float2half_rn */
    uint16_t bits;
    memcpy(&bits, &h, sizeof bits);
    return bits;
}

static void test_f16_conversion(void **state)
{
    (void)state;
    static const float special[] = {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 65519.0f, 65520.0f, 1e9f, -1e9f,
                                    5.96e-8f, 2.98e-8f, 2.99e-8f, 6.1e-5f, 6.09e-5f, 1e-10f, INFINITY, -INFINITY,
                                    0.333333343f, 1.00048828125f, 1.0014648f};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        assert_int_equal(cnn_cu_f16_bits(special[i]), ref_f16_bits(special[i]));
    assert_true(isnan(cnn_cu_f16_value(cnn_cu_f16_bits(NAN))));
    uint32_t x = 12345;
    for (int i = 0; i < 1000000; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        float f;
        uint32_t bits = (x & 0x8fffffffu) | ((x & 0x10000000u) ? 0x30000000u : 0x38000000u); /* |f| ~ 1e-9..1e5 */
        memcpy(&f, &bits, sizeof f);
        if (ref_f16_bits(f) != cnn_cu_f16_bits(f))
            print_error("%.9g: %04x vs %04x\n", (double)f, cnn_cu_f16_bits(f), ref_f16_bits(f));
        assert_int_equal(cnn_cu_f16_bits(f), ref_f16_bits(f));
    }
    for (uint32_t h = 0; h < 0x10000u; h++) {
        _Float16 r;
        uint16_t b = (uint16_t)h;
        memcpy(&r, &b, sizeof r);
        if (isnan((float)r))
            assert_true(isnan(cnn_cu_f16_value(b)));
        else
            assert_true(cnn_cu_f16_value(b) == (float)r);
    }
}

/* NHWC fp16 filters: [kp][r][s][cp] with zeros in padded rows and channels. */
static void test_pack_filter(void **state)
{
    (void)state;
    enum { K = 5, C = 3, R = 2, S = 3, KP = 8, CP = 8 };
    float w[K * C * R * S];
    for (int i = 0; i < K * C * R * S; i++)
        w[i] = (float)i - 40.0f;
    cnn_cu_format_t f16;
    assert_int_equal(cnn_cu_format_for(CNN_PRECISION_FP16, &f16, NULL), CNN_OK);
    uint16_t *out = calloc(KP * R * S * CP, sizeof *out);
    assert_non_null(out);
    cnn_cu_pack_filter(w, K, C, R, S, &f16, KP, CP, out);
    for (int k = 0; k < KP; k++)
        for (int y = 0; y < R; y++)
            for (int x = 0; x < S; x++)
                for (int c = 0; c < CP; c++) {
                    float want = k < K && c < C ? w[((k * C + c) * R + y) * S + x] : 0.0f;
                    assert_true(cnn_cu_f16_value(out[((k * R + y) * S + x) * CP + c]) == want);
                }
    free(out);
    cnn_cu_format_t f32;
    assert_int_equal(cnn_cu_format_for(CNN_PRECISION_FP32, &f32, NULL), CNN_OK);
    float o32[K * C * R * S];
    cnn_cu_pack_filter(w, K, C, R, S, &f32, K, C, o32);
    assert_memory_equal(o32, w, sizeof w);
}

/* Blob layout of a zoo graph with batch norm left unfolded (no rewrites):
 * slots aligned, disjoint, inside the blob; BN packed as scale/shift. */
static void test_weight_layout(void **state)
{
    (void)state;
    cnn_zoo_options_t o = {.arch = "resnet18", .num_classes = 10, .width_divisor = 8, .in_height = 32,
                           .in_width = 32};
    cnn_graph_t *g = NULL;
    cnn_error_t err;
    assert_int_equal(cnn_zoo_build(&o, &g, &err), CNN_OK);
    /* Bind deterministic weights the builder left unbound. */
    for (int i = 0; i < g->num_nodes; i++)
        for (int sl = 0; sl < CNN_W_SLOTS; sl++) {
            cnn_weight_t *w = g->nodes[i].w[sl];
            if (!w)
                continue;
            size_t n = 1;
            for (int d = 0; d < w->ndim; d++)
                n *= (size_t)w->dims[d];
            w->owned = malloc(n * sizeof *w->owned);
            assert_non_null(w->owned);
            cnn_test_fill_uniform(w->owned, n, 0.5f, 1.5f, (uint32_t)(i * 7 + sl + 1));
            w->data = w->owned;
        }
    static const cnn_precision_t precs[] = {CNN_PRECISION_FP32, CNN_PRECISION_FP16};
    for (int k = 0; k < 2; k++) {
        cnn_cu_format_t f;
        cnn_cu_wlayout_t l;
        assert_int_equal(cnn_cu_format_for(precs[k], &f, NULL), CNN_OK);
        assert_int_equal(cnn_cu_wlayout_build(g, &f, &l, &err), CNN_OK);
        unsigned char *blob = malloc(l.total ? l.total : 1), *used = calloc(l.total ? l.total : 1, 1);
        assert_true(blob && used);
        cnn_cu_wlayout_pack(g, &l, blob);
        int convs = 0, bns = 0;
        for (int i = 0; i < g->num_nodes; i++) {
            const cnn_cu_wslot_t *s = &l.slots[i];
            const cnn_node_t *n = &g->nodes[i];
            if (s->a == SIZE_MAX)
                continue;
            size_t offs[2] = {s->a, s->b}, lens[2] = {s->a_bytes, s->b_bytes};
            for (int j = 0; j < 2; j++) {
                if (!lens[j])
                    continue;
                assert_int_equal(offs[j] % 256, 0);
                assert_true(offs[j] + lens[j] <= l.total);
                for (size_t b = offs[j]; b < offs[j] + lens[j]; b++) {
                    assert_int_equal(used[b], 0);
                    used[b] = 1;
                }
            }
            if (n->op == CNN_OP_CONV2D) {
                convs++;
                int cin = g->nodes[n->inputs[0]].out.c;
                int cp = k ? cnn_cu_pad_channels(cin, 8) : cin, kp = k ? cnn_cu_pad_channels(n->out.c, 8) : n->out.c;
                assert_int_equal(s->a_bytes, (size_t)kp * cp * n->p.conv.kh * n->p.conv.kw * (k ? 2 : 4));
            }
            if (n->op == CNN_OP_BATCH_NORM) {
                bns++;
                const float *scale = (const float *)(blob + s->a), *shift = (const float *)(blob + s->b);
                for (int c = 0; c < n->out.c; c++) {
                    double sc = n->w[CNN_W_WEIGHT]->data[c] / sqrt((double)n->w[CNN_W_VAR]->data[c] + n->p.bn.eps);
                    double sh = n->w[CNN_W_BIAS]->data[c] - n->w[CNN_W_MEAN]->data[c] * sc;
                    assert_true(fabs(scale[c] - sc) <= 1e-6 * fabs(sc) && fabs(shift[c] - sh) <= 1e-5);
                }
            }
        }
        assert_true(convs > 0 && bns > 0);
        free(blob);
        free(used);
        cnn_cu_wlayout_free(&l);
    }
    cnn_graph_free(g);
}

static cnn_cu_conv_key_t key_of(uint32_t v)
{
    cnn_cu_conv_key_t k;
    memset(&k, 0, sizeof k);
    k.n = (int32_t)(v % 7 + 1);
    k.c = (int32_t)(v % 1024);
    k.h = (int32_t)(v / 1024 % 64);
    k.k = (int32_t)(v / 65536);
    k.r = k.s = 3;
    k.dtype = (int32_t)(v & 1);
    return k;
}

static void test_algo_cache(void **state)
{
    (void)state;
    cnn_cu_algo_cache_t c;
    cnn_cu_algo_cache_init(&c);
    cnn_cu_algo_t a;
    cnn_cu_conv_key_t k0 = key_of(0);
    assert_false(cnn_cu_algo_cache_get(&c, &k0, &a));
    for (uint32_t v = 0; v < 5000; v++) {
        cnn_cu_conv_key_t k = key_of(v * 2654435761u);
        cnn_cu_algo_t val = {.algo = (int)(v % 8), .workspace = v};
        assert_int_equal(cnn_cu_algo_cache_put(&c, &k, &val), CNN_OK);
    }
    assert_int_equal(c.count, 5000);
    for (uint32_t v = 0; v < 5000; v++) {
        cnn_cu_conv_key_t k = key_of(v * 2654435761u);
        assert_true(cnn_cu_algo_cache_get(&c, &k, &a));
        assert_int_equal(a.workspace, v);
        k.fused = 1; /* any field changes the key */
        assert_false(cnn_cu_algo_cache_get(&c, &k, &a));
    }
    cnn_cu_conv_key_t k = key_of(7 * 2654435761u);
    cnn_cu_algo_t val = {.algo = 3, .workspace = 99};
    assert_int_equal(cnn_cu_algo_cache_put(&c, &k, &val), CNN_OK);
    assert_int_equal(c.count, 5000);
    assert_true(cnn_cu_algo_cache_get(&c, &k, &a) && a.workspace == 99 && a.algo == 3);
    cnn_cu_conv_key_t k2 = k;
    assert_true(cnn_cu_conv_key_equal(&k, &k2) && cnn_cu_conv_key_hash(&k) == cnn_cu_conv_key_hash(&k2));
    cnn_cu_algo_cache_free(&c);
}

static void test_policies(void **state)
{
    (void)state;
    assert_int_equal(cnn_cu_run_mode(0, false, false, true), CNN_CU_RUN_EAGER);
    assert_int_equal(cnn_cu_run_mode(1, false, false, true), CNN_CU_RUN_CAPTURE);
    assert_int_equal(cnn_cu_run_mode(1, true, false, true), CNN_CU_RUN_REPLAY);
    assert_int_equal(cnn_cu_run_mode(5, false, true, true), CNN_CU_RUN_EAGER);
    assert_int_equal(cnn_cu_run_mode(5, true, false, false), CNN_CU_RUN_EAGER);
    assert_true(cnn_cu_env_flag(NULL, true) && !cnn_cu_env_flag(NULL, false) && cnn_cu_env_flag("", true));
    assert_false(cnn_cu_env_flag("0", true) || cnn_cu_env_flag("OFF", true) || cnn_cu_env_flag("no", true));
    assert_true(cnn_cu_env_flag("1", false) && cnn_cu_env_flag("yes", false));
    size_t gib = (size_t)1 << 30, mib = (size_t)1 << 20;
    assert_int_equal(cnn_cu_workspace_limit(80 * gib, gib, NULL), 512 * mib);
    assert_int_equal(cnn_cu_workspace_limit(80 * gib, gib, "64"), 64 * mib);
    assert_int_equal(cnn_cu_workspace_limit(80 * gib, gib, "x64"), 512 * mib);
    assert_int_equal(cnn_cu_workspace_limit(80 * gib, gib, "-5"), 512 * mib);
    assert_int_equal(cnn_cu_workspace_limit(2 * gib, gib, NULL), gib / 4);
    assert_int_equal(cnn_cu_workspace_limit(gib, 2 * gib, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f16_conversion),
        cmocka_unit_test(test_pack_filter),
        cmocka_unit_test(test_weight_layout),
        cmocka_unit_test(test_algo_cache),
        cmocka_unit_test(test_policies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
