/* torchvision 0.14 AlexNet (the single-tower variant, no LRN). */
#include "zoo_internal.h"

int cnn_zoo_build_alexnet(cnn_graph_t *g, const cnn_zoo_options_t *o)
{
    cnn_zoo_ctx_t z;
    cnn_zoo_ctx_init(&z, g, o);
    int x = cnn_zoo_input(&z, o);
    x = cnn_zoo_conv(&z, "features.0", x, 64, 11, 4, 2, true);
    x = cnn_zoo_unary(&z, "features.1", CNN_OP_RELU, x);
    x = cnn_zoo_pool(&z, "features.2", CNN_OP_MAX_POOL, x, 3, 2, 0, false, false);
    x = cnn_zoo_conv(&z, "features.3", x, 192, 5, 1, 2, true);
    x = cnn_zoo_unary(&z, "features.4", CNN_OP_RELU, x);
    x = cnn_zoo_pool(&z, "features.5", CNN_OP_MAX_POOL, x, 3, 2, 0, false, false);
    x = cnn_zoo_conv(&z, "features.6", x, 384, 3, 1, 1, true);
    x = cnn_zoo_unary(&z, "features.7", CNN_OP_RELU, x);
    x = cnn_zoo_conv(&z, "features.8", x, 256, 3, 1, 1, true);
    x = cnn_zoo_unary(&z, "features.9", CNN_OP_RELU, x);
    x = cnn_zoo_conv(&z, "features.10", x, 256, 3, 1, 1, true);
    x = cnn_zoo_unary(&z, "features.11", CNN_OP_RELU, x);
    x = cnn_zoo_pool(&z, "features.12", CNN_OP_MAX_POOL, x, 3, 2, 0, false, false);
    x = cnn_zoo_adaptive_avg_pool(&z, "avgpool", x, 6, 6);
    x = cnn_zoo_unary(&z, "flatten", CNN_OP_FLATTEN, x);
    x = cnn_zoo_unary(&z, "classifier.0", CNN_OP_DROPOUT, x);
    x = cnn_zoo_dense(&z, "classifier.1", x, cnn_zoo_width(&z, 4096));
    x = cnn_zoo_unary(&z, "classifier.2", CNN_OP_RELU, x);
    x = cnn_zoo_unary(&z, "classifier.3", CNN_OP_DROPOUT, x);
    x = cnn_zoo_dense(&z, "classifier.4", x, cnn_zoo_width(&z, 4096));
    x = cnn_zoo_unary(&z, "classifier.5", CNN_OP_RELU, x);
    return cnn_zoo_dense(&z, "classifier.6", x, o->num_classes);
}
