/* torchvision 0.14 VGG-16 and VGG-19 (configurations D and E, no batch norm). */
#include "zoo_internal.h"

#define POOL 0 /* marks a max pool in a layer configuration */

/* features.* from `cfg` (channel counts, POOL for 2×2 max pools), then
 * avgpool (7×7 adaptive), flatten and the three-layer classifier. */
static int build_vgg(cnn_graph_t *g, const cnn_zoo_options_t *o, const int *cfg, int cfg_len)
{
    cnn_zoo_ctx_t z;
    cnn_zoo_ctx_init(&z, g, o);
    int x = cnn_zoo_input(&z, o);
    int index = 0;
    for (int i = 0; i < cfg_len; i++) {
        if (cfg[i] == POOL) {
            x = cnn_zoo_pool(&z, cnn_zoo_name(&z, "features.%d", index++), CNN_OP_MAX_POOL, x, 2, 2, 0, false,
                             false);
            continue;
        }
        x = cnn_zoo_conv(&z, cnn_zoo_name(&z, "features.%d", index++), x, cfg[i], 3, 1, 1, true);
        x = cnn_zoo_unary(&z, cnn_zoo_name(&z, "features.%d", index++), CNN_OP_RELU, x);
    }
    x = cnn_zoo_adaptive_avg_pool(&z, "avgpool", x, 7, 7);
    x = cnn_zoo_unary(&z, "flatten", CNN_OP_FLATTEN, x);
    x = cnn_zoo_dense(&z, "classifier.0", x, cnn_zoo_width(&z, 4096));
    x = cnn_zoo_unary(&z, "classifier.1", CNN_OP_RELU, x);
    x = cnn_zoo_unary(&z, "classifier.2", CNN_OP_DROPOUT, x);
    x = cnn_zoo_dense(&z, "classifier.3", x, cnn_zoo_width(&z, 4096));
    x = cnn_zoo_unary(&z, "classifier.4", CNN_OP_RELU, x);
    x = cnn_zoo_unary(&z, "classifier.5", CNN_OP_DROPOUT, x);
    return cnn_zoo_dense(&z, "classifier.6", x, o->num_classes);
}

int cnn_zoo_build_vgg16(cnn_graph_t *g, const cnn_zoo_options_t *o)
{
    static const int cfg[] = {64,  64,  POOL, 128, 128, POOL, 256, 256, 256,  POOL,
                              512, 512, 512,  POOL, 512, 512, 512, POOL};
    return build_vgg(g, o, cfg, (int)(sizeof cfg / sizeof cfg[0]));
}

int cnn_zoo_build_vgg19(cnn_graph_t *g, const cnn_zoo_options_t *o)
{
    static const int cfg[] = {64,  64,  POOL, 128, 128, POOL, 256, 256, 256, 256, POOL,
                              512, 512, 512, 512, POOL, 512, 512, 512, 512, POOL};
    return build_vgg(g, o, cfg, (int)(sizeof cfg / sizeof cfg[0]));
}
