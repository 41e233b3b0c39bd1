/* torchvision 0.14 ResNets: BasicBlock (18, 34) and Bottleneck v1.5 (50, 101,
 * 152, stride on the 3×3 conv). Names follow the modules ("layer2.0.conv1",
 * "layer2.0.downsample.0"); torchvision's shared ReLU module becomes one node
 * per use ("layer2.0.relu1", ...), the residual sum "layer2.0.add". */
#include "zoo_internal.h"

#include <stdio.h>

#define BN_EPS 1e-5f

typedef struct resnet_cfg {
    bool bottleneck;
    int blocks[4];
} resnet_cfg_t;

/* One residual block "<prefix>" from `in` (inplanes channels before width division). */
static int residual_block(cnn_zoo_ctx_t *z, const char *prefix, int in, int inplanes, int planes, int stride,
                          bool bottleneck)
{
    char name[CNN_ZOO_NAME_MAX];
    int expansion = bottleneck ? 4 : 1;
    int x = in;
#define N(suffix) cnn_zoo_join(name, prefix, suffix)
    if (bottleneck) {
        x = cnn_zoo_conv(z, N("conv1"), x, planes, 1, 1, 0, false);
        x = cnn_zoo_bn(z, N("bn1"), x, BN_EPS);
        x = cnn_zoo_unary(z, N("relu1"), CNN_OP_RELU, x);
        x = cnn_zoo_conv(z, N("conv2"), x, planes, 3, stride, 1, false);
        x = cnn_zoo_bn(z, N("bn2"), x, BN_EPS);
        x = cnn_zoo_unary(z, N("relu2"), CNN_OP_RELU, x);
        x = cnn_zoo_conv(z, N("conv3"), x, planes * expansion, 1, 1, 0, false);
        x = cnn_zoo_bn(z, N("bn3"), x, BN_EPS);
    } else {
        x = cnn_zoo_conv(z, N("conv1"), x, planes, 3, stride, 1, false);
        x = cnn_zoo_bn(z, N("bn1"), x, BN_EPS);
        x = cnn_zoo_unary(z, N("relu1"), CNN_OP_RELU, x);
        x = cnn_zoo_conv(z, N("conv2"), x, planes, 3, 1, 1, false);
        x = cnn_zoo_bn(z, N("bn2"), x, BN_EPS);
    }
    int shortcut = in;
    if (stride != 1 || inplanes != planes * expansion) {
        shortcut = cnn_zoo_conv(z, N("downsample.0"), in, planes * expansion, 1, stride, 0, false);
        shortcut = cnn_zoo_bn(z, N("downsample.1"), shortcut, BN_EPS);
    }
    x = cnn_zoo_add(z, N("add"), x, shortcut);
    return cnn_zoo_unary(z, N(bottleneck ? "relu3" : "relu2"), CNN_OP_RELU, x);
#undef N
}

static int build_resnet(cnn_graph_t *g, const cnn_zoo_options_t *o, const resnet_cfg_t *cfg)
{
    static const int planes[4] = {64, 128, 256, 512};
    int expansion = cfg->bottleneck ? 4 : 1;
    cnn_zoo_ctx_t z;
    cnn_zoo_ctx_init(&z, g, o);
    int x = cnn_zoo_input(&z, o);
    x = cnn_zoo_conv(&z, "conv1", x, 64, 7, 2, 3, false);
    x = cnn_zoo_bn(&z, "bn1", x, BN_EPS);
    x = cnn_zoo_unary(&z, "relu", CNN_OP_RELU, x);
    x = cnn_zoo_pool(&z, "maxpool", CNN_OP_MAX_POOL, x, 3, 2, 1, false, false);
    int inplanes = 64;
    for (int layer = 0; layer < 4; layer++) {
        for (int b = 0; b < cfg->blocks[layer]; b++) {
            char prefix[CNN_ZOO_NAME_MAX];
            snprintf(prefix, sizeof prefix, "layer%d.%d", layer + 1, b);
            int stride = (layer > 0 && b == 0) ? 2 : 1;
            x = residual_block(&z, prefix, x, inplanes, planes[layer], stride, cfg->bottleneck);
            inplanes = planes[layer] * expansion;
        }
    }
    x = cnn_zoo_global_avg_pool(&z, "avgpool", x);
    x = cnn_zoo_unary(&z, "flatten", CNN_OP_FLATTEN, x);
    return cnn_zoo_dense(&z, "fc", x, o->num_classes);
}

int cnn_zoo_build_resnet18(cnn_graph_t *g, const cnn_zoo_options_t *o)
{
    static const resnet_cfg_t cfg = {false, {2, 2, 2, 2}};
    return build_resnet(g, o, &cfg);
}

int cnn_zoo_build_resnet34(cnn_graph_t *g, const cnn_zoo_options_t *o)
{
    static const resnet_cfg_t cfg = {false, {3, 4, 6, 3}};
    return build_resnet(g, o, &cfg);
}

int cnn_zoo_build_resnet50(cnn_graph_t *g, const cnn_zoo_options_t *o)
{
    static const resnet_cfg_t cfg = {true, {3, 4, 6, 3}};
    return build_resnet(g, o, &cfg);
}

int cnn_zoo_build_resnet101(cnn_graph_t *g, const cnn_zoo_options_t *o)
{
    static const resnet_cfg_t cfg = {true, {3, 4, 23, 3}};
    return build_resnet(g, o, &cfg);
}

int cnn_zoo_build_resnet152(cnn_graph_t *g, const cnn_zoo_options_t *o)
{
    static const resnet_cfg_t cfg = {true, {3, 8, 36, 3}};
    return build_resnet(g, o, &cfg);
}
