/* LeNet-5 as in the seed's Keras example (§5.4.9), with PyTorch-style names:
 * features.0 conv 6@5×5 → features.1 maxpool 2 → features.2 relu →
 * features.3 conv 16@5×5 → features.4 maxpool 2 → features.5 relu →
 * features.6 conv 120@1×1 → flatten → classifier.0 dense 84 →
 * classifier.1 sigmoid → classifier.2 dense → classifier.3 softmax. */
#include "zoo_internal.h"

int cnn_zoo_build_lenet5(cnn_graph_t *g, const cnn_zoo_options_t *o)
{
    cnn_zoo_ctx_t z;
    cnn_zoo_ctx_init(&z, g, o);
    int x = cnn_zoo_input(&z, o);
    x = cnn_zoo_conv(&z, "features.0", x, 6, 5, 1, 0, true);
    x = cnn_zoo_pool(&z, "features.1", CNN_OP_MAX_POOL, x, 2, 2, 0, false, false);
    x = cnn_zoo_unary(&z, "features.2", CNN_OP_RELU, x);
    x = cnn_zoo_conv(&z, "features.3", x, 16, 5, 1, 0, true);
    x = cnn_zoo_pool(&z, "features.4", CNN_OP_MAX_POOL, x, 2, 2, 0, false, false);
    x = cnn_zoo_unary(&z, "features.5", CNN_OP_RELU, x);
    x = cnn_zoo_conv(&z, "features.6", x, 120, 1, 1, 0, true);
    x = cnn_zoo_unary(&z, "flatten", CNN_OP_FLATTEN, x);
    x = cnn_zoo_dense(&z, "classifier.0", x, cnn_zoo_width(&z, 84));
    x = cnn_zoo_unary(&z, "classifier.1", CNN_OP_SIGMOID, x);
    x = cnn_zoo_dense(&z, "classifier.2", x, o->num_classes);
    return cnn_zoo_unary(&z, "classifier.3", CNN_OP_SOFTMAX, x);
}
