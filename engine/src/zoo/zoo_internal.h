/* Shared helpers for the zoo architecture builders.
 *
 * Every helper takes node ids and returns the new node id, or a negative
 * cnn_status_t. A negative input id is passed straight through (nothing is
 * appended, g->err keeps the first error), so a builder can chain layers and
 * check for failure once at the end.
 *
 * Conv helpers divide their output channel count by the width divisor
 * (minimum 1); dense helpers take the final width, so a builder writes
 * cnn_zoo_width(z, 4096) for hidden layers and o->num_classes for the head.
 */
#ifndef CNN_ZOO_INTERNAL_H
#define CNN_ZOO_INTERNAL_H

#include "status.h"
#include "zoo.h"

#define CNN_ZOO_NAME_MAX 128

typedef struct cnn_zoo_ctx {
    cnn_graph_t *g;
    int divisor;                  /* >= 1 */
    char name[CNN_ZOO_NAME_MAX];  /* scratch for cnn_zoo_name */
} cnn_zoo_ctx_t;

/* Context for a builder: `o` has its defaults filled in by cnn_zoo_build. */
void cnn_zoo_ctx_init(cnn_zoo_ctx_t *z, cnn_graph_t *g, const cnn_zoo_options_t *o);

/* Formats a node name into z->name and returns it; valid until the next call. */
const char *cnn_zoo_name(cnn_zoo_ctx_t *z, const char *fmt, ...) CNN_PRINTF(2, 3);

/* Writes "<prefix>.<suffix>" into buf (CNN_ZOO_NAME_MAX bytes) and returns
 * it; a name that does not fit becomes "" so the builder reports an error. */
const char *cnn_zoo_join(char *buf, const char *prefix, const char *suffix);

/* channels / divisor, at least 1. */
int cnn_zoo_width(const cnn_zoo_ctx_t *z, int channels);

int cnn_zoo_input(cnn_zoo_ctx_t *z, const cnn_zoo_options_t *o);

/* Square kernel k, stride s, symmetric padding pad. */
int cnn_zoo_conv(cnn_zoo_ctx_t *z, const char *name, int in, int out_channels, int k, int s, int pad, bool bias);

int cnn_zoo_bn(cnn_zoo_ctx_t *z, const char *name, int in, float eps);
/* Parameter-free op (relu, sigmoid, softmax, dropout, flatten). */
int cnn_zoo_unary(cnn_zoo_ctx_t *z, const char *name, cnn_op_t op, int in);
/* Square max/avg pool with PyTorch's ceil_mode and count_include_pad. */
int cnn_zoo_pool(cnn_zoo_ctx_t *z, const char *name, cnn_op_t op, int in, int k, int s, int pad, bool ceil_mode,
                 bool count_include_pad);
int cnn_zoo_global_avg_pool(cnn_zoo_ctx_t *z, const char *name, int in);
/* nn.AdaptiveAvgPool2d((oh, ow)): no node when the input already is oh×ow, an
 * avg pool when the input is an exact multiple, else CNN_E_UNSUPPORTED. */
int cnn_zoo_adaptive_avg_pool(cnn_zoo_ctx_t *z, const char *name, int in, int oh, int ow);
int cnn_zoo_dense(cnn_zoo_ctx_t *z, const char *name, int in, int out_features);
int cnn_zoo_concat(cnn_zoo_ctx_t *z, const char *name, const int *inputs, int num_inputs);
int cnn_zoo_add(cnn_zoo_ctx_t *z, const char *name, int a, int b);

/* torchvision's BasicConv2d (GoogLeNet, Inception v3): "<prefix>.conv"
 * (no bias), "<prefix>.bn" (eps 0.001), "<prefix>.relu". */
int cnn_zoo_basic_conv(cnn_zoo_ctx_t *z, const char *prefix, int in, int out_channels, int kh, int kw, int sh,
                       int sw, int ph, int pw);

/* The architecture builders (one file each). */
int cnn_zoo_build_lenet5(cnn_graph_t *g, const cnn_zoo_options_t *o);
int cnn_zoo_build_alexnet(cnn_graph_t *g, const cnn_zoo_options_t *o);
int cnn_zoo_build_vgg16(cnn_graph_t *g, const cnn_zoo_options_t *o);
int cnn_zoo_build_vgg19(cnn_graph_t *g, const cnn_zoo_options_t *o);
int cnn_zoo_build_resnet18(cnn_graph_t *g, const cnn_zoo_options_t *o);
int cnn_zoo_build_resnet34(cnn_graph_t *g, const cnn_zoo_options_t *o);
int cnn_zoo_build_resnet50(cnn_graph_t *g, const cnn_zoo_options_t *o);
int cnn_zoo_build_resnet101(cnn_graph_t *g, const cnn_zoo_options_t *o);
int cnn_zoo_build_resnet152(cnn_graph_t *g, const cnn_zoo_options_t *o);
int cnn_zoo_build_googlenet(cnn_graph_t *g, const cnn_zoo_options_t *o);
int cnn_zoo_build_inception_v3(cnn_graph_t *g, const cnn_zoo_options_t *o);

#endif
