/* Zoo architectures: every arch builds, shapes and parameter totals match
 * torchvision 0.14 (counted with torch: sum(p.numel() for p in
 * model.parameters()), auxiliary heads off), names follow torchvision's
 * state_dict, and bad options are errors. */
#include "test_support.h"

#include <string.h>

#include "zoo.h"

/* Parameters as torch counts them: BN running statistics are buffers, not parameters. */
static int64_t trainable_params(const cnn_graph_t *g)
{
    int64_t total = 0;
    for (int i = 0; i < g->num_nodes; i++) {
        const cnn_node_t *n = &g->nodes[i];
        total += cnn_node_params(n);
        if (n->op == CNN_OP_BATCH_NORM)
            total -= 2 * (int64_t)n->out.c;
    }
    return total;
}

static cnn_graph_t *build(const char *arch, int classes, int divisor)
{
    cnn_zoo_options_t o = {.arch = arch, .num_classes = classes, .width_divisor = divisor};
    cnn_graph_t *g = NULL;
    cnn_error_t err = {0};
    cnn_status_t st = cnn_zoo_build(&o, &g, &err);
    if (st != CNN_OK)
        print_error("%s: %s\n", arch, err.message);
    assert_int_equal(st, CNN_OK);
    assert_non_null(g);
    return g;
}

static void assert_shape(const cnn_graph_t *g, const char *name, int c, int h, int w)
{
    int id = cnn_graph_find(g, name);
    if (id < 0)
        print_error("no layer '%s'\n", name);
    assert_true(id >= 0);
    const cnn_shape_t s = g->nodes[id].out;
    if (s.c != c || s.h != h || s.w != w)
        print_error("%s: got %dx%dx%d, want %dx%dx%d\n", name, s.c, s.h, s.w, c, h, w);
    assert_true(s.c == c && s.h == h && s.w == w);
}

static void assert_weight(const cnn_graph_t *g, const char *node, int slot, const char *name, int ndim,
                          const int64_t *dims)
{
    int id = cnn_graph_find(g, node);
    assert_true(id >= 0);
    const cnn_weight_t *w = g->nodes[id].w[slot];
    assert_non_null(w);
    assert_string_equal(w->name, name);
    assert_int_equal(w->ndim, ndim);
    for (int d = 0; d < ndim; d++)
        assert_int_equal(w->dims[d], dims[d]);
}

static void test_every_arch_builds(void **state)
{
    (void)state;
    int count = 0;
    for (const cnn_zoo_arch_t *const *a = cnn_zoo_list(); *a; a++, count++) {
        assert_ptr_equal(cnn_zoo_find((*a)->name), *a);
        cnn_graph_t *g = build((*a)->name, 0, 0);
        const cnn_node_t *out = &g->nodes[g->output];
        assert_int_equal(g->output, g->num_nodes - 1);
        assert_true(out->flat);
        assert_int_equal(out->out.c, (*a)->default_classes);
        assert_int_equal(g->nodes[0].op, CNN_OP_INPUT);
        assert_int_equal(g->nodes[0].out.c, (*a)->in_channels);
        assert_int_equal(g->nodes[0].out.h, (*a)->in_height);
        assert_int_equal(g->nodes[0].out.w, (*a)->in_width);
        cnn_graph_free(g);
    }
    assert_int_equal(count, 11);
}

static void test_classes_and_divisor(void **state)
{
    (void)state;
    for (const cnn_zoo_arch_t *const *a = cnn_zoo_list(); *a; a++) {
        cnn_graph_t *full = build((*a)->name, 0, 0);
        cnn_graph_t *g = build((*a)->name, 7, 4);
        assert_int_equal(g->nodes[g->output].out.c, 7);
        assert_int_equal(g->num_nodes, full->num_nodes);
        assert_true(trainable_params(g) < trainable_params(full));
        cnn_graph_free(g);
        cnn_graph_free(full);
    }
}

static void test_param_totals_match_torchvision(void **state)
{
    (void)state;
    static const struct {
        const char *arch;
        int classes, divisor;
        int64_t params;
    } cases[] = {
        {"lenet5", 0, 0, 166826},
        {"alexnet", 0, 0, 61100840},
        {"vgg16", 0, 0, 138357544},
        {"vgg19", 0, 0, 143667240},
        {"resnet18", 0, 0, 11689512},
        {"resnet34", 0, 0, 21797672},
        {"resnet50", 0, 0, 25557032},
        {"resnet101", 0, 0, 44549160},
        {"resnet152", 0, 0, 60192808},
        {"googlenet", 0, 0, 6624904},
        {"inception_v3", 0, 0, 23834568},
        /* Narrowed variants, counted on weights-tools/torch_zoo.py's modules. */
        {"resnet18", 7, 4, 702999},
        {"googlenet", 10, 8, 91410},
        {"inception_v3", 5, 8, 345545},
        {"lenet5", 0, 8, 2643},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cnn_graph_t *g = build(cases[i].arch, cases[i].classes, cases[i].divisor);
        int64_t got = trainable_params(g);
        if (got != cases[i].params)
            print_error("%s /%d: %lld params, torchvision has %lld\n", cases[i].arch, cases[i].divisor,
                        (long long)got, (long long)cases[i].params);
        assert_true(got == cases[i].params);
        cnn_graph_free(g);
    }
}

static void test_known_shapes(void **state)
{
    (void)state;
    cnn_graph_t *g = build("lenet5", 0, 0);
    assert_shape(g, "features.1", 6, 12, 12);
    assert_shape(g, "features.6", 120, 4, 4);
    assert_shape(g, "flatten", 1920, 1, 1);
    assert_int_equal(g->nodes[g->output].op, CNN_OP_SOFTMAX);
    cnn_graph_free(g);

    g = build("alexnet", 0, 0);
    assert_shape(g, "features.0", 64, 55, 55);
    assert_shape(g, "features.12", 256, 6, 6);
    assert_int_equal(cnn_graph_find(g, "avgpool"), -1); /* identity at 224×224 */
    assert_shape(g, "classifier.4", 4096, 1, 1);
    cnn_graph_free(g);

    g = build("vgg16", 0, 0);
    assert_shape(g, "features.28", 512, 14, 14);
    assert_shape(g, "features.30", 512, 7, 7);
    assert_int_equal(g->nodes[cnn_graph_find(g, "features.30")].op, CNN_OP_MAX_POOL);
    cnn_graph_free(g);

    g = build("resnet50", 0, 0);
    assert_shape(g, "maxpool", 64, 56, 56);
    assert_shape(g, "layer1.0.conv3", 256, 56, 56);
    assert_shape(g, "layer2.0.downsample.0", 512, 28, 28);
    assert_shape(g, "layer4.2.relu3", 2048, 7, 7);
    assert_shape(g, "avgpool", 2048, 1, 1);
    assert_int_equal(cnn_graph_find(g, "layer1.1.downsample.0"), -1);
    cnn_graph_free(g);

    g = build("resnet18", 0, 0);
    assert_shape(g, "layer1.1.relu2", 64, 56, 56);
    assert_shape(g, "layer3.0.add", 256, 14, 14);
    assert_int_equal(cnn_graph_find(g, "layer1.0.downsample.0"), -1);
    cnn_graph_free(g);

    g = build("googlenet", 0, 0);
    assert_shape(g, "maxpool1", 64, 56, 56);
    assert_shape(g, "inception3a", 256, 28, 28);
    assert_shape(g, "inception4e", 832, 14, 14);
    assert_shape(g, "maxpool4", 832, 7, 7);
    assert_shape(g, "inception5b", 1024, 7, 7);
    cnn_graph_free(g);

    g = build("inception_v3", 0, 0);
    assert_shape(g, "Conv2d_4a_3x3.relu", 192, 71, 71);
    assert_shape(g, "Mixed_5b", 256, 35, 35);
    assert_shape(g, "Mixed_6a", 768, 17, 17);
    assert_shape(g, "Mixed_7a", 1280, 8, 8);
    assert_shape(g, "Mixed_7c", 2048, 8, 8);
    cnn_graph_free(g);
}

static void test_torchvision_weight_names(void **state)
{
    (void)state;
    cnn_graph_t *g = build("resnet50", 0, 0);
    assert_weight(g, "layer1.0.downsample.0", CNN_W_WEIGHT, "layer1.0.downsample.0.weight", 4,
                  (const int64_t[]){256, 64, 1, 1});
    assert_weight(g, "layer3.5.bn2", CNN_W_VAR, "layer3.5.bn2.running_var", 1, (const int64_t[]){256});
    assert_weight(g, "fc", CNN_W_WEIGHT, "fc.weight", 2, (const int64_t[]){1000, 2048});
    assert_null(g->nodes[cnn_graph_find(g, "conv1")].w[CNN_W_BIAS]);
    cnn_graph_free(g);

    g = build("googlenet", 0, 0);
    assert_weight(g, "inception3a.branch2.1.conv", CNN_W_WEIGHT, "inception3a.branch2.1.conv.weight", 4,
                  (const int64_t[]){128, 96, 3, 3});
    assert_weight(g, "inception3a.branch3.1.conv", CNN_W_WEIGHT, "inception3a.branch3.1.conv.weight", 4,
                  (const int64_t[]){32, 16, 3, 3});
    assert_weight(g, "inception5b.branch4.1.bn", CNN_W_MEAN, "inception5b.branch4.1.bn.running_mean", 1,
                  (const int64_t[]){128});
    assert_float_equal(g->nodes[cnn_graph_find(g, "conv1.bn")].p.bn.eps, 0.001f, 1e-9f);
    cnn_graph_free(g);

    g = build("inception_v3", 0, 0);
    assert_weight(g, "Mixed_7b.branch3x3_2a.conv", CNN_W_WEIGHT, "Mixed_7b.branch3x3_2a.conv.weight", 4,
                  (const int64_t[]){384, 384, 1, 3});
    assert_weight(g, "Mixed_6b.branch7x7dbl_2.conv", CNN_W_WEIGHT, "Mixed_6b.branch7x7dbl_2.conv.weight", 4,
                  (const int64_t[]){128, 128, 7, 1});
    const cnn_node_t *pool = &g->nodes[cnn_graph_find(g, "Mixed_5b.avg_pool")];
    assert_int_equal(pool->op, CNN_OP_AVG_POOL);
    assert_true(pool->p.pool.count_include_pad);
    cnn_graph_free(g);

    g = build("vgg19", 0, 0);
    assert_weight(g, "features.34", CNN_W_BIAS, "features.34.bias", 1, (const int64_t[]){512});
    assert_weight(g, "classifier.0", CNN_W_WEIGHT, "classifier.0.weight", 2, (const int64_t[]){4096, 25088});
    cnn_graph_free(g);
}

static void test_narrowed_widths(void **state)
{
    (void)state;
    cnn_graph_t *g = build("resnet18", 7, 4);
    assert_shape(g, "conv1", 16, 112, 112);
    assert_shape(g, "layer4.1.relu2", 128, 7, 7);
    assert_weight(g, "fc", CNN_W_WEIGHT, "fc.weight", 2, (const int64_t[]){7, 128});
    cnn_graph_free(g);

    g = build("lenet5", 0, 8); /* 6/8 and 16/8 round down, never below 1 */
    assert_shape(g, "features.0", 1, 24, 24);
    assert_shape(g, "features.3", 2, 8, 8);
    assert_shape(g, "classifier.0", 10, 1, 1);
    cnn_graph_free(g);
}

static void test_adaptive_avg_pool(void **state)
{
    (void)state;
    cnn_graph_t *g = NULL;
    cnn_error_t err = {0};
    cnn_zoo_options_t o = {.arch = "alexnet", .in_height = 415, .in_width = 415};
    assert_int_equal(cnn_zoo_build(&o, &g, &err), CNN_OK);
    assert_shape(g, "features.12", 256, 12, 12);
    assert_shape(g, "avgpool", 256, 6, 6);
    assert_int_equal(g->nodes[cnn_graph_find(g, "avgpool")].p.pool.kh, 2);
    cnn_graph_free(g);

    o.in_height = o.in_width = 448; /* 13×13 features */
    assert_int_equal(cnn_zoo_build(&o, &g, &err), CNN_E_UNSUPPORTED);
    assert_null(g);
    assert_non_null(strstr(err.message, "avgpool"));
}

static void test_errors(void **state)
{
    (void)state;
    cnn_graph_t *g = NULL;
    cnn_error_t err = {0};
    cnn_zoo_options_t o = {.arch = "resnet9000"};
    assert_int_equal(cnn_zoo_build(&o, &g, &err), CNN_E_NOT_FOUND);
    assert_null(g);
    assert_non_null(strstr(err.message, "resnet9000"));
    assert_non_null(strstr(err.message, "lenet5"));
    assert_non_null(strstr(err.message, "inception_v3"));
    assert_null(cnn_zoo_find("resnet9000"));
    assert_null(cnn_zoo_find(NULL));

    o = (cnn_zoo_options_t){.arch = NULL};
    assert_int_equal(cnn_zoo_build(&o, &g, &err), CNN_E_NOT_FOUND);

    o = (cnn_zoo_options_t){.arch = "resnet18", .width_divisor = -2};
    assert_int_equal(cnn_zoo_build(&o, &g, &err), CNN_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "width_divisor"));
    o = (cnn_zoo_options_t){.arch = "resnet18", .width_divisor = 1 << 20};
    assert_int_equal(cnn_zoo_build(&o, &g, &err), CNN_E_INVALID_ARGUMENT);
    o = (cnn_zoo_options_t){.arch = "resnet18", .num_classes = -1};
    assert_int_equal(cnn_zoo_build(&o, &g, &err), CNN_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "num_classes"));
    o = (cnn_zoo_options_t){.arch = "vgg16", .num_classes = 1 << 30};
    assert_int_equal(cnn_zoo_build(&o, &g, &err), CNN_E_INVALID_ARGUMENT);
    o = (cnn_zoo_options_t){.arch = "lenet5", .in_height = -28};
    assert_int_equal(cnn_zoo_build(&o, &g, &err), CNN_E_INVALID_ARGUMENT);
    /* Too small for the kernels: the builder's shape error comes through. */
    o = (cnn_zoo_options_t){.arch = "lenet5", .in_height = 8, .in_width = 8};
    assert_int_equal(cnn_zoo_build(&o, &g, &err), CNN_E_SHAPE);
    assert_non_null(strstr(err.message, "lenet5"));
    assert_null(g);
}

static void test_arch_metadata(void **state)
{
    (void)state;
    const cnn_zoo_arch_t *a = cnn_zoo_find("lenet5");
    assert_int_equal(a->preprocess.color, CNN_COLOR_GRAYSCALE);
    assert_float_equal(a->preprocess.scale, 1.0f / 255.0f, 1e-9f);
    a = cnn_zoo_find("inception_v3");
    assert_int_equal(a->preprocess.resize_shorter, 342);
    assert_string_equal(a->ignored_prefixes[0], "AuxLogits.");
    a = cnn_zoo_find("googlenet");
    assert_int_equal(a->preprocess.color, CNN_COLOR_RGB);
    assert_int_equal(a->preprocess.resize_shorter, 256);
    assert_float_equal(a->preprocess.mean[2], 0.406f, 1e-7f);
    assert_float_equal(a->preprocess.std[0], 0.229f, 1e-7f);
    assert_string_equal(a->ignored_prefixes[1], "aux2.");
    assert_null(a->ignored_prefixes[2]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_arch_builds),
        cmocka_unit_test(test_classes_and_divisor),
        cmocka_unit_test(test_param_totals_match_torchvision),
        cmocka_unit_test(test_known_shapes),
        cmocka_unit_test(test_torchvision_weight_names),
        cmocka_unit_test(test_narrowed_widths),
        cmocka_unit_test(test_adaptive_avg_pool),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_arch_metadata),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
