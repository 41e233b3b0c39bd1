/* torchvision 0.14 Inception v3 for inference (299×299, transform_input=False).
 * Every conv is a BasicConv2d (no bias, BN eps 0.001, ReLU); the branch
 * average pools are 3×3/1/1 with count_include_pad. AuxLogits only matters
 * in training and is not built. Module outputs (concats) carry the module
 * name ("Mixed_5b"); InceptionE's inner two-way concats are merged into it. */
#include "zoo_internal.h"

typedef struct block {
    cnn_zoo_ctx_t *z;
    const char *prefix;
    char name[CNN_ZOO_NAME_MAX];
} block_t;

/* BasicConv2d "<prefix>.<branch>" with kernel kh×kw, stride s, padding ph/pw. */
static int bconv(block_t *b, const char *branch, int in, int out, int kh, int kw, int s, int ph, int pw)
{
    return cnn_zoo_basic_conv(b->z, cnn_zoo_join(b->name, b->prefix, branch), in, out, kh, kw, s, s, ph, pw);
}

/* Pool "<prefix>.<what>": avg 3/1/1 counting padding, or max 3/2. */
static int bpool(block_t *b, const char *what, cnn_op_t op, int in)
{
    cnn_zoo_join(b->name, b->prefix, what);
    if (op == CNN_OP_AVG_POOL)
        return cnn_zoo_pool(b->z, b->name, op, in, 3, 1, 1, false, true);
    return cnn_zoo_pool(b->z, b->name, op, in, 3, 2, 0, false, false);
}

static int inception_a(cnn_zoo_ctx_t *z, const char *prefix, int in, int pool_features)
{
    block_t b = {z, prefix, ""};
    int y[4];
    y[0] = bconv(&b, "branch1x1", in, 64, 1, 1, 1, 0, 0);
    y[1] = bconv(&b, "branch5x5_1", in, 48, 1, 1, 1, 0, 0);
    y[1] = bconv(&b, "branch5x5_2", y[1], 64, 5, 5, 1, 2, 2);
    y[2] = bconv(&b, "branch3x3dbl_1", in, 64, 1, 1, 1, 0, 0);
    y[2] = bconv(&b, "branch3x3dbl_2", y[2], 96, 3, 3, 1, 1, 1);
    y[2] = bconv(&b, "branch3x3dbl_3", y[2], 96, 3, 3, 1, 1, 1);
    y[3] = bpool(&b, "avg_pool", CNN_OP_AVG_POOL, in);
    y[3] = bconv(&b, "branch_pool", y[3], pool_features, 1, 1, 1, 0, 0);
    return cnn_zoo_concat(z, prefix, y, 4);
}

static int inception_b(cnn_zoo_ctx_t *z, const char *prefix, int in)
{
    block_t b = {z, prefix, ""};
    int y[3];
    y[0] = bconv(&b, "branch3x3", in, 384, 3, 3, 2, 0, 0);
    y[1] = bconv(&b, "branch3x3dbl_1", in, 64, 1, 1, 1, 0, 0);
    y[1] = bconv(&b, "branch3x3dbl_2", y[1], 96, 3, 3, 1, 1, 1);
    y[1] = bconv(&b, "branch3x3dbl_3", y[1], 96, 3, 3, 2, 0, 0);
    y[2] = bpool(&b, "max_pool", CNN_OP_MAX_POOL, in);
    return cnn_zoo_concat(z, prefix, y, 3);
}

static int inception_c(cnn_zoo_ctx_t *z, const char *prefix, int in, int c7)
{
    block_t b = {z, prefix, ""};
    int y[4];
    y[0] = bconv(&b, "branch1x1", in, 192, 1, 1, 1, 0, 0);
    y[1] = bconv(&b, "branch7x7_1", in, c7, 1, 1, 1, 0, 0);
    y[1] = bconv(&b, "branch7x7_2", y[1], c7, 1, 7, 1, 0, 3);
    y[1] = bconv(&b, "branch7x7_3", y[1], 192, 7, 1, 1, 3, 0);
    y[2] = bconv(&b, "branch7x7dbl_1", in, c7, 1, 1, 1, 0, 0);
    y[2] = bconv(&b, "branch7x7dbl_2", y[2], c7, 7, 1, 1, 3, 0);
    y[2] = bconv(&b, "branch7x7dbl_3", y[2], c7, 1, 7, 1, 0, 3);
    y[2] = bconv(&b, "branch7x7dbl_4", y[2], c7, 7, 1, 1, 3, 0);
    y[2] = bconv(&b, "branch7x7dbl_5", y[2], 192, 1, 7, 1, 0, 3);
    y[3] = bpool(&b, "avg_pool", CNN_OP_AVG_POOL, in);
    y[3] = bconv(&b, "branch_pool", y[3], 192, 1, 1, 1, 0, 0);
    return cnn_zoo_concat(z, prefix, y, 4);
}

static int inception_d(cnn_zoo_ctx_t *z, const char *prefix, int in)
{
    block_t b = {z, prefix, ""};
    int y[3];
    y[0] = bconv(&b, "branch3x3_1", in, 192, 1, 1, 1, 0, 0);
    y[0] = bconv(&b, "branch3x3_2", y[0], 320, 3, 3, 2, 0, 0);
    y[1] = bconv(&b, "branch7x7x3_1", in, 192, 1, 1, 1, 0, 0);
    y[1] = bconv(&b, "branch7x7x3_2", y[1], 192, 1, 7, 1, 0, 3);
    y[1] = bconv(&b, "branch7x7x3_3", y[1], 192, 7, 1, 1, 3, 0);
    y[1] = bconv(&b, "branch7x7x3_4", y[1], 192, 3, 3, 2, 0, 0);
    y[2] = bpool(&b, "max_pool", CNN_OP_MAX_POOL, in);
    return cnn_zoo_concat(z, prefix, y, 3);
}

static int inception_e(cnn_zoo_ctx_t *z, const char *prefix, int in)
{
    block_t b = {z, prefix, ""};
    int y[6];
    y[0] = bconv(&b, "branch1x1", in, 320, 1, 1, 1, 0, 0);
    int t = bconv(&b, "branch3x3_1", in, 384, 1, 1, 1, 0, 0);
    y[1] = bconv(&b, "branch3x3_2a", t, 384, 1, 3, 1, 0, 1);
    y[2] = bconv(&b, "branch3x3_2b", t, 384, 3, 1, 1, 1, 0);
    t = bconv(&b, "branch3x3dbl_1", in, 448, 1, 1, 1, 0, 0);
    t = bconv(&b, "branch3x3dbl_2", t, 384, 3, 3, 1, 1, 1);
    y[3] = bconv(&b, "branch3x3dbl_3a", t, 384, 1, 3, 1, 0, 1);
    y[4] = bconv(&b, "branch3x3dbl_3b", t, 384, 3, 1, 1, 1, 0);
    y[5] = bpool(&b, "avg_pool", CNN_OP_AVG_POOL, in);
    y[5] = bconv(&b, "branch_pool", y[5], 192, 1, 1, 1, 0, 0);
    return cnn_zoo_concat(z, prefix, y, 6);
}

int cnn_zoo_build_inception_v3(cnn_graph_t *g, const cnn_zoo_options_t *o)
{
    cnn_zoo_ctx_t z;
    cnn_zoo_ctx_init(&z, g, o);
    int x = cnn_zoo_input(&z, o);
    x = cnn_zoo_basic_conv(&z, "Conv2d_1a_3x3", x, 32, 3, 3, 2, 2, 0, 0);
    x = cnn_zoo_basic_conv(&z, "Conv2d_2a_3x3", x, 32, 3, 3, 1, 1, 0, 0);
    x = cnn_zoo_basic_conv(&z, "Conv2d_2b_3x3", x, 64, 3, 3, 1, 1, 1, 1);
    x = cnn_zoo_pool(&z, "maxpool1", CNN_OP_MAX_POOL, x, 3, 2, 0, false, false);
    x = cnn_zoo_basic_conv(&z, "Conv2d_3b_1x1", x, 80, 1, 1, 1, 1, 0, 0);
    x = cnn_zoo_basic_conv(&z, "Conv2d_4a_3x3", x, 192, 3, 3, 1, 1, 0, 0);
    x = cnn_zoo_pool(&z, "maxpool2", CNN_OP_MAX_POOL, x, 3, 2, 0, false, false);
    x = inception_a(&z, "Mixed_5b", x, 32);
    x = inception_a(&z, "Mixed_5c", x, 64);
    x = inception_a(&z, "Mixed_5d", x, 64);
    x = inception_b(&z, "Mixed_6a", x);
    x = inception_c(&z, "Mixed_6b", x, 128);
    x = inception_c(&z, "Mixed_6c", x, 160);
    x = inception_c(&z, "Mixed_6d", x, 160);
    x = inception_c(&z, "Mixed_6e", x, 192);
    x = inception_d(&z, "Mixed_7a", x);
    x = inception_e(&z, "Mixed_7b", x);
    x = inception_e(&z, "Mixed_7c", x);
    x = cnn_zoo_global_avg_pool(&z, "avgpool", x);
    x = cnn_zoo_unary(&z, "flatten", CNN_OP_FLATTEN, x);
    x = cnn_zoo_unary(&z, "dropout", CNN_OP_DROPOUT, x);
    return cnn_zoo_dense(&z, "fc", x, o->num_classes);
}
