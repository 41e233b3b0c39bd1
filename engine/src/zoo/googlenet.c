/* torchvision 0.14 GoogLeNet (Inception v1) for inference: BasicConv2d
 * blocks (conv without bias + BN eps 0.001 + ReLU), max pools with
 * ceil_mode, transform_input=False. The auxiliary classifiers (aux1, aux2)
 * only matter in training and are not built. Like torchvision, the "5×5"
 * branch uses a 3×3 kernel. */
#include "zoo_internal.h"

typedef struct inception_cfg {
    const char *name;
    int ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj;
} inception_cfg_t;

/* One Inception module; its output (the concat) is named after the module. */
static int inception(cnn_zoo_ctx_t *z, int in, const inception_cfg_t *c)
{
    char name[CNN_ZOO_NAME_MAX];
#define N(suffix) cnn_zoo_join(name, c->name, suffix)
    int b[4];
    b[0] = cnn_zoo_basic_conv(z, N("branch1"), in, c->ch1x1, 1, 1, 1, 1, 0, 0);
    b[1] = cnn_zoo_basic_conv(z, N("branch2.0"), in, c->ch3x3red, 1, 1, 1, 1, 0, 0);
    b[1] = cnn_zoo_basic_conv(z, N("branch2.1"), b[1], c->ch3x3, 3, 3, 1, 1, 1, 1);
    b[2] = cnn_zoo_basic_conv(z, N("branch3.0"), in, c->ch5x5red, 1, 1, 1, 1, 0, 0);
    b[2] = cnn_zoo_basic_conv(z, N("branch3.1"), b[2], c->ch5x5, 3, 3, 1, 1, 1, 1);
    b[3] = cnn_zoo_pool(z, N("branch4.0"), CNN_OP_MAX_POOL, in, 3, 1, 1, true, false);
    b[3] = cnn_zoo_basic_conv(z, N("branch4.1"), b[3], c->pool_proj, 1, 1, 1, 1, 0, 0);
#undef N
    return cnn_zoo_concat(z, c->name, b, 4);
}

int cnn_zoo_build_googlenet(cnn_graph_t *g, const cnn_zoo_options_t *o)
{
    static const inception_cfg_t stage3[] = {
        {"inception3a", 64, 96, 128, 16, 32, 32},
        {"inception3b", 128, 128, 192, 32, 96, 64},
    };
    static const inception_cfg_t stage4[] = {
        {"inception4a", 192, 96, 208, 16, 48, 64},
        {"inception4b", 160, 112, 224, 24, 64, 64},
        {"inception4c", 128, 128, 256, 24, 64, 64},
        {"inception4d", 112, 144, 288, 32, 64, 64},
        {"inception4e", 256, 160, 320, 32, 128, 128},
    };
    static const inception_cfg_t stage5[] = {
        {"inception5a", 256, 160, 320, 32, 128, 128},
        {"inception5b", 384, 192, 384, 48, 128, 128},
    };
    cnn_zoo_ctx_t z;
    cnn_zoo_ctx_init(&z, g, o);
    int x = cnn_zoo_input(&z, o);
    x = cnn_zoo_basic_conv(&z, "conv1", x, 64, 7, 7, 2, 2, 3, 3);
    x = cnn_zoo_pool(&z, "maxpool1", CNN_OP_MAX_POOL, x, 3, 2, 0, true, false);
    x = cnn_zoo_basic_conv(&z, "conv2", x, 64, 1, 1, 1, 1, 0, 0);
    x = cnn_zoo_basic_conv(&z, "conv3", x, 192, 3, 3, 1, 1, 1, 1);
    x = cnn_zoo_pool(&z, "maxpool2", CNN_OP_MAX_POOL, x, 3, 2, 0, true, false);
    for (size_t i = 0; i < sizeof stage3 / sizeof stage3[0]; i++)
        x = inception(&z, x, &stage3[i]);
    x = cnn_zoo_pool(&z, "maxpool3", CNN_OP_MAX_POOL, x, 3, 2, 0, true, false);
    for (size_t i = 0; i < sizeof stage4 / sizeof stage4[0]; i++)
        x = inception(&z, x, &stage4[i]);
    x = cnn_zoo_pool(&z, "maxpool4", CNN_OP_MAX_POOL, x, 2, 2, 0, true, false);
    for (size_t i = 0; i < sizeof stage5 / sizeof stage5[0]; i++)
        x = inception(&z, x, &stage5[i]);
    x = cnn_zoo_global_avg_pool(&z, "avgpool", x);
    x = cnn_zoo_unary(&z, "flatten", CNN_OP_FLATTEN, x);
    x = cnn_zoo_unary(&z, "dropout", CNN_OP_DROPOUT, x);
    return cnn_zoo_dense(&z, "fc", x, o->num_classes);
}
