/* Feature maps out of a run (cnn_session_run_fetch, cnn_model_find_layer) on
 * the bundled models: a first conv against a direct convolution of its
 * weights, the last layer against the output, a concat against its
 * branches, image slices of a batch against single-image runs, fp32
 * outputs unchanged by fetching, and the argument checks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "test_support.h"

static cnn_model_t *load(const char *name)
{
    const char *root = getenv("CNN_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/models/%s", root ? root : ".", name);
    cnn_model_t *m = NULL;
    cnn_error_t err;
    cnn_status_t st = cnn_model_load(dir, &m, &err);
    if (st != CNN_OK)
        fprintf(stderr, "%s: %s\n", dir, err.message);
    assert_int_equal(st, CNN_OK);
    return m;
}

static cnn_session_t *session(cnn_model_t *m, int max_batch)
{
    cnn_session_options_t o;
    cnn_session_options_init(&o);
    o.max_batch = max_batch;
    o.num_threads = 1;
    cnn_session_t *s = NULL;
    cnn_error_t err;
    assert_int_equal(cnn_session_create(m, &o, &s, &err), CNN_OK);
    return s;
}

static size_t layer_of(const cnn_model_t *m, const char *name, cnn_layer_info_t *info)
{
    size_t idx = 0;
    cnn_error_t err;
    assert_int_equal(cnn_model_find_layer(m, name, &idx, &err), CNN_OK);
    assert_int_equal(cnn_model_get_layer(m, idx, info), CNN_OK);
    assert_string_equal(info->name, name);
    return idx;
}

static size_t numel(const cnn_layer_info_t *l)
{
    return (size_t)l->c * (size_t)l->h * (size_t)l->w;
}

static float max_abs(const float *a, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmaxf(m, fabsf(a[i]));
    return m;
}

static void assert_close(const float *got, const float *want, size_t n, float rel)
{
    float tol = rel * fmaxf(max_abs(want, n), 1e-6f);
    for (size_t i = 0; i < n; i++)
        if (fabsf(got[i] - want[i]) > tol) {
            fprintf(stderr, "element %zu: got %g, want %g (tolerance %g)\n", i, got[i], want[i], tol);
            fail();
        }
}

/* LeNet-5's features.0 (nothing fused) is a direct convolution of the input. */
static void test_first_conv_matches_direct(void **state)
{
    (void)state;
    cnn_model_t *m = load("lenet5-fashion");
    cnn_session_t *s = session(m, 2);
    cnn_layer_info_t l;
    size_t idx = layer_of(m, "features.0", &l);
    assert_string_equal(l.fused, "");
    const cnn_node_t *n = &m->graph->nodes[cnn_graph_find(m->graph, "features.0")];
    const cnn_conv_params_t *p = &n->p.conv;
    int ih = m->info.input_height, iw = m->info.input_width;
    float in[2 * 28 * 28];
    cnn_test_fill_uniform(in, 2 * 28 * 28, 0.0f, 1.0f, 11);
    float *got = malloc(2 * numel(&l) * sizeof *got), out[2 * 10];
    assert_non_null(got);
    cnn_fetch_t f = {idx, 0, 2, got};
    cnn_error_t err;
    assert_int_equal(cnn_session_run_fetch(s, in, 2, out, &f, 1, &err), CNN_OK);
    const float *w = n->w[CNN_W_WEIGHT]->data, *bias = n->w[CNN_W_BIAS]->data;
    float *want = malloc(2 * numel(&l) * sizeof *want);
    assert_non_null(want);
    for (int b = 0; b < 2; b++)
        for (int o = 0; o < l.c; o++)
            for (int y = 0; y < l.h; y++)
                for (int x = 0; x < l.w; x++) {
                    double acc = bias[o];
                    for (int ky = 0; ky < p->kh; ky++)
                        for (int kx = 0; kx < p->kw; kx++) {
                            int yy = y * p->sh - p->pad.top + ky, xx = x * p->sw - p->pad.left + kx;
                            if (yy >= 0 && yy < ih && xx >= 0 && xx < iw)
                                acc += (double)w[(o * p->kh + ky) * p->kw + kx] * in[(b * ih + yy) * iw + xx];
                        }
                    want[((size_t)(b * l.c + o) * l.h + y) * l.w + x] = (float)acc;
                }
    assert_close(got, want, 2 * numel(&l), 1e-5f);
    free(got);
    free(want);
    cnn_session_free(s);
    cnn_model_free(m);
}

/* Fetching the last layer gives the output; fetching does not change it. */
static void test_last_layer_is_output(void **state)
{
    (void)state;
    cnn_model_t *m = load("resnet-fashion");
    cnn_session_t *s = session(m, 3);
    size_t last = cnn_model_layer_count(m) - 1, no = cnn_model_output_size(m);
    float in[3 * 28 * 28], out[3 * 10], plain[3 * 10], got[3 * 10];
    cnn_test_fill_uniform(in, 3 * 28 * 28, 0.0f, 1.0f, 5);
    cnn_error_t err;
    assert_int_equal(cnn_session_run(s, in, 3, plain, &err), CNN_OK);
    cnn_fetch_t f = {last, 0, 3, got};
    assert_int_equal(cnn_session_run_fetch(s, in, 3, out, &f, 1, &err), CNN_OK);
    assert_memory_equal(out, plain, sizeof plain);
    assert_memory_equal(got, plain, 3 * no * sizeof(float));
    cnn_session_free(s);
    cnn_model_free(m);
}

/* Every layer of images 1..2 of a batch of 3 equals the same images run alone. */
static void test_slices_match_single_runs(void **state)
{
    (void)state;
    cnn_model_t *m = load("resnet-fashion");
    cnn_session_t *s = session(m, 3);
    size_t nl = cnn_model_layer_count(m), total = 0;
    size_t *off = malloc(nl * sizeof *off);
    cnn_fetch_t *fb = malloc(nl * sizeof *fb), *f1 = malloc(nl * sizeof *f1);
    assert_true(off && fb && f1);
    for (size_t i = 0; i < nl; i++) {
        cnn_layer_info_t l;
        assert_int_equal(cnn_model_get_layer(m, i, &l), CNN_OK);
        off[i] = total;
        total += numel(&l);
    }
    float *batch_maps = malloc(2 * total * sizeof(float)), *single = malloc(total * sizeof(float));
    assert_true(batch_maps && single);
    float in[3 * 28 * 28], out[3 * 10];
    cnn_test_fill_uniform(in, 3 * 28 * 28, 0.0f, 1.0f, 9);
    /* Layers in reverse order: the engine sorts them. */
    for (size_t i = 0; i < nl; i++)
        fb[i] = (cnn_fetch_t){nl - 1 - i, 1, 2, batch_maps + 2 * off[nl - 1 - i]};
    cnn_error_t err;
    assert_int_equal(cnn_session_run_fetch(s, in, 3, out, fb, nl, &err), CNN_OK);
    for (int img = 1; img <= 2; img++) {
        for (size_t i = 0; i < nl; i++)
            f1[i] = (cnn_fetch_t){i, 0, 1, single + off[i]};
        assert_int_equal(cnn_session_run_fetch(s, in + img * 28 * 28, 1, out, f1, nl, &err), CNN_OK);
        for (size_t i = 0; i < nl; i++) {
            size_t n = (i + 1 < nl ? off[i + 1] : total) - off[i];
            assert_close(batch_maps + 2 * off[i] + (size_t)(img - 1) * n, single + off[i], n, 1e-5f);
        }
    }
    free(off);
    free(fb);
    free(f1);
    free(batch_maps);
    free(single);
    cnn_session_free(s);
    cnn_model_free(m);
}

/* An inception concat is its four branches, channel after channel. */
static void test_concat_is_branches(void **state)
{
    (void)state;
    cnn_model_t *m = load("inception-fashion");
    cnn_session_t *s = session(m, 2);
    const char *names[5] = {"inception3a.concat", "inception3a.branch1.0", "inception3a.branch3.2",
                            "inception3a.branch5.2", "inception3a.branch_pool.1"};
    cnn_layer_info_t l[5];
    cnn_fetch_t f[5];
    float *maps[5];
    float in[2 * 28 * 28], out[2 * 10];
    cnn_test_fill_uniform(in, 2 * 28 * 28, 0.0f, 1.0f, 21);
    for (int i = 0; i < 5; i++) {
        size_t idx = layer_of(m, names[i], &l[i]);
        maps[i] = malloc(numel(&l[i]) * sizeof(float));
        assert_non_null(maps[i]);
        f[i] = (cnn_fetch_t){idx, 1, 1, maps[i]};
    }
    cnn_error_t err;
    assert_int_equal(cnn_session_run_fetch(s, in, 2, out, f, 5, &err), CNN_OK);
    size_t at = 0;
    for (int i = 1; i < 5; i++) {
        assert_memory_equal(maps[0] + at, maps[i], numel(&l[i]) * sizeof(float));
        at += numel(&l[i]);
    }
    assert_int_equal(at, numel(&l[0]));
    for (int i = 0; i < 5; i++)
        free(maps[i]);
    cnn_session_free(s);
    cnn_model_free(m);
}

/* At bf16 the copies come out as fp32 close to the fp32 run's (where the CPU runs bf16). */
static void test_bf16_fetch(void **state)
{
    (void)state;
    cnn_model_t *m = load("inception-fashion");
    cnn_session_t *s32 = session(m, 2), *s16 = NULL;
    cnn_session_options_t o;
    cnn_session_options_init(&o);
    o.max_batch = 2;
    o.num_threads = 1;
    o.precision = CNN_PRECISION_BF16;
    cnn_error_t err;
    assert_int_equal(cnn_session_create(m, &o, &s16, &err), CNN_OK);
    cnn_layer_info_t l;
    size_t idx = layer_of(m, "inception3a.concat", &l);
    float in[2 * 28 * 28], out[2 * 10];
    cnn_test_fill_uniform(in, 2 * 28 * 28, 0.0f, 1.0f, 33);
    float *a = malloc(numel(&l) * sizeof *a), *b = malloc(numel(&l) * sizeof *b);
    assert_true(a && b);
    cnn_fetch_t fa = {idx, 1, 1, a}, fb = {idx, 1, 1, b};
    assert_int_equal(cnn_session_run_fetch(s32, in, 2, out, &fa, 1, &err), CNN_OK);
    assert_int_equal(cnn_session_run_fetch(s16, in, 2, out, &fb, 1, &err), CNN_OK);
    assert_close(b, a, numel(&l), 5e-2f);
    free(a);
    free(b);
    cnn_session_free(s32);
    cnn_session_free(s16);
    cnn_model_free(m);
}

/* Every layer of every bundled model, fetched at bf16 from a batch of 3 real-range
 * inputs, is within BF16_FMAP_REL_TOL of the fp32 fetch, relative to the layer's
 * largest fp32 value (bf16 keeps 8 significant bits, ~0.4 % per rounding; errors
 * add up over the layers before, so the deepest layers set the bound: measured
 * worst 1.4e-2 on inception-bn-fashion, 0.6-1.2e-2 on the others). */
#define BF16_FMAP_REL_TOL 5e-2f

static void test_bf16_fetch_every_layer(void **state)
{
    (void)state;
    static const char *const models[] = {"lenet5-fashion", "alexnet-fashion", "vgg-fashion", "resnet-fashion",
                                         "inception-fashion", "inception-bn-fashion"};
    enum { BATCH = 3 };
    for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
        cnn_model_t *m = load(models[k]);
        cnn_session_t *s32 = session(m, BATCH), *s16 = NULL;
        cnn_session_options_t o;
        cnn_session_options_init(&o);
        o.max_batch = BATCH;
        o.num_threads = 1;
        o.precision = CNN_PRECISION_BF16;
        cnn_error_t err;
        assert_int_equal(cnn_session_create(m, &o, &s16, &err), CNN_OK);
        size_t layers = cnn_model_layer_count(m), in_size = BATCH * 28 * 28;
        float in[BATCH * 28 * 28], out[BATCH * 10];
        cnn_test_fill_uniform(in, in_size, 0.0f, 1.0f, 77 + (uint32_t)k);
        float worst = 0.0f;
        for (size_t i = 0; i < layers; i++) {
            cnn_layer_info_t l;
            assert_int_equal(cnn_model_get_layer(m, i, &l), CNN_OK);
            size_t n = BATCH * numel(&l);
            float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
            assert_true(a && b);
            cnn_fetch_t fa = {i, 0, BATCH, a}, fb = {i, 0, BATCH, b};
            assert_int_equal(cnn_session_run_fetch(s32, in, BATCH, out, &fa, 1, &err), CNN_OK);
            assert_int_equal(cnn_session_run_fetch(s16, in, BATCH, out, &fb, 1, &err), CNN_OK);
            float scale = fmaxf(max_abs(a, n), 1e-6f), diff = 0.0f;
            for (size_t j = 0; j < n; j++) {
                assert_true(isfinite(b[j]));
                diff = fmaxf(diff, fabsf(a[j] - b[j]));
            }
            if (diff / scale > BF16_FMAP_REL_TOL)
                fail_msg("%s layer %s: bf16 differs from fp32 by %g of its largest value %g (tolerance %g)",
                         models[k], l.name, diff / scale, scale, BF16_FMAP_REL_TOL);
            worst = fmaxf(worst, diff / scale);
            free(a);
            free(b);
        }
        printf("%s: %zu layers, worst bf16 feature-map error %.2e of the layer's largest value\n", models[k], layers,
               worst);
        cnn_session_free(s32);
        cnn_session_free(s16);
        cnn_model_free(m);
    }
}

static void test_find_layer_and_bad_fetches(void **state)
{
    (void)state;
    cnn_model_t *m = load("resnet-fashion");
    cnn_session_t *s = session(m, 2);
    size_t idx = 99;
    cnn_error_t err;
    assert_int_equal(cnn_model_find_layer(m, "stem.1", &idx, &err), CNN_E_NOT_FOUND);
    assert_non_null(strstr(err.message, "fused into layer 'stem.0'"));
    assert_int_equal(cnn_model_find_layer(m, "nope", &idx, &err), CNN_E_NOT_FOUND);
    assert_int_equal(cnn_model_find_layer(m, NULL, &idx, &err), CNN_E_INVALID_ARGUMENT);
    assert_int_equal(idx, 99);
    float in[2 * 28 * 28] = {0}, out[2 * 10], buf[2 * 16 * 28 * 28];
    cnn_fetch_t bad[] = {
        {cnn_model_layer_count(m), 0, 1, buf}, /* no such layer */
        {0, 1, 2, buf},                        /* past the batch */
        {0, -1, 1, buf},
        {0, 0, 0, buf},
        {0, 0, 1, NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cnn_session_run_fetch(s, in, 2, out, &bad[i], 1, &err), CNN_E_INVALID_ARGUMENT);
    assert_int_equal(cnn_session_run_fetch(s, in, 2, out, NULL, 1, &err), CNN_E_INVALID_ARGUMENT);
    assert_int_equal(cnn_session_run_fetch(s, in, 2, out, NULL, 0, &err), CNN_OK);
    cnn_session_free(s);
    cnn_model_free(m);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_conv_matches_direct),
        cmocka_unit_test(test_last_layer_is_output),
        cmocka_unit_test(test_slices_match_single_runs),
        cmocka_unit_test(test_concat_is_branches),
        cmocka_unit_test(test_find_layer_and_bad_fetches),
    };
    const struct CMUnitTest bf16_tests[] = {
        cmocka_unit_test(test_bf16_fetch),
        cmocka_unit_test(test_bf16_fetch_every_layer),
    };
    return cnn_test_main(argc, argv, "test_fetch", tests, sizeof tests / sizeof tests[0], bf16_tests,
                         sizeof bf16_tests / sizeof bf16_tests[0]);
}
