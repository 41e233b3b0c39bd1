/* Graph IR: nodes in topological order, each producing one tensor.
 *
 * Node i's output tensor has id i. Shapes are per image ([C,H,W]); the batch
 * dimension is chosen when a session runs. Builders append nodes, infer the
 * output shape, and return the new node id, or a negative cnn_status_t with
 * `g->err` describing the problem. Inputs always refer to earlier nodes, so
 * append order is a topological order.
 */
#ifndef CNN_GRAPH_H
#define CNN_GRAPH_H

#include "cnn/cnn.h"

typedef enum cnn_op {
    CNN_OP_INPUT = 0,
    CNN_OP_CONV2D,
    CNN_OP_DENSE,
    CNN_OP_MAX_POOL,
    CNN_OP_AVG_POOL,
    CNN_OP_GLOBAL_AVG_POOL,
    CNN_OP_RELU,
    CNN_OP_LEAKY_RELU,
    CNN_OP_PRELU,
    CNN_OP_ELU,
    CNN_OP_SIGMOID,
    CNN_OP_TANH,
    CNN_OP_SOFTMAX,
    CNN_OP_LRN,
    CNN_OP_BATCH_NORM,
    CNN_OP_DROPOUT,
    CNN_OP_CONCAT,
    CNN_OP_ADD,
    CNN_OP_FLATTEN,
    CNN_OP_ZERO_PAD,
    CNN_OP_MAXOUT,
    CNN_OP_CLIP,
    CNN_OP_COUNT
} cnn_op_t;

/* Elementwise activation that may be fused after conv/dense/add. */
typedef enum cnn_act {
    CNN_ACT_NONE = 0,
    CNN_ACT_RELU,
    CNN_ACT_LEAKY_RELU, /* alpha = negative slope */
    CNN_ACT_ELU,        /* alpha */
    CNN_ACT_SIGMOID,
    CNN_ACT_TANH,
    CNN_ACT_CLIP,       /* alpha = min, beta = max */
} cnn_act_t;

typedef struct cnn_shape {
    int c, h, w;
} cnn_shape_t;

/* A weight tensor: name as in the safetensors file, expected shape, and data
 * once bound. `data` points either into the mapped file or at `owned`. */
#define CNN_WEIGHT_MAX_DIMS 4
typedef struct cnn_weight {
    char *name;
    int ndim;
    int64_t dims[CNN_WEIGHT_MAX_DIMS];
    const float *data;
    float *owned;
} cnn_weight_t;

/* Padding, explicit per side. */
typedef struct cnn_pad {
    int top, left, bottom, right;
} cnn_pad_t;

typedef struct cnn_conv_params {
    int out_channels;
    int kh, kw, sh, sw, dh, dw; /* dilation 1 = dense kernel */
    int groups;
    cnn_pad_t pad;
    bool has_bias;
} cnn_conv_params_t;

typedef struct cnn_pool_params {
    int kh, kw, sh, sw;
    cnn_pad_t pad; /* bottom/right include the extra row/col ceil_mode needs */
    int extra_h, extra_w; /* those extra rows (bottom) and columns (right): set by cnn_graph_add_pool */
    bool ceil_mode;
    bool count_include_pad; /* avg only */
} cnn_pool_params_t;

typedef struct cnn_lrn_params {
    int size;
    float alpha, beta, k;
} cnn_lrn_params_t;

/* Weight slots; which ones a node uses depends on its op. */
enum {
    CNN_W_WEIGHT = 0, /* conv/dense kernel, bn gamma, prelu slope */
    CNN_W_BIAS,       /* conv/dense bias, bn beta */
    CNN_W_MEAN,       /* bn running_mean */
    CNN_W_VAR,        /* bn running_var */
    CNN_W_SLOTS
};

typedef struct cnn_node {
    char *name;
    cnn_op_t op;
    int *inputs;
    int num_inputs;
    cnn_shape_t out;
    bool flat; /* output is a [C] vector (after flatten/dense) */
    union {
        cnn_conv_params_t conv;
        cnn_pool_params_t pool;
        cnn_lrn_params_t lrn;
        struct { int out_features; bool has_bias; } dense;
        struct { float eps; } bn;
        struct { float alpha, beta; } act; /* leaky_relu slope, elu alpha, clip min (alpha) and max (beta) */
        struct { int pieces; } maxout;
        cnn_pad_t zero_pad;
    } p;
    cnn_weight_t *w[CNN_W_SLOTS];

    /* Set by load-time rewrites (rewrite.c). A node with `fused_into >= 0`
     * is not executed: its output is the output of node `fused_into`. */
    int fused_into;
    cnn_act_t post_act;   /* conv/dense/add: activation applied to the result */
    float post_act_alpha, post_act_beta;
    int residual_input;   /* conv: tensor added before post_act, -1 if none */
    char fused_desc[32];  /* e.g. "bn+relu" for inspect */
} cnn_node_t;

typedef struct cnn_graph {
    cnn_node_t *nodes;
    int num_nodes, cap_nodes;
    int output; /* id of the graph output node */
    cnn_error_t err; /* last builder error */
} cnn_graph_t;

cnn_graph_t *cnn_graph_new(void);
void cnn_graph_free(cnn_graph_t *g);

/* Name of an op as used in model.json and inspect ("conv2d"). */
const char *cnn_op_name(cnn_op_t op);
/* Node id by name, or -1. */
int cnn_graph_find(const cnn_graph_t *g, const char *name);
/* Follows fused_into links: the node whose output carries `id`'s value. */
int cnn_graph_resolve(const cnn_graph_t *g, int id);
/* Number of floats in one image's output of node `id`. */
size_t cnn_node_numel(const cnn_node_t *n);

/* --- builders. Each returns the new node id (>= 0) or a negative status. --- */
int cnn_graph_add_input(cnn_graph_t *g, const char *name, int c, int h, int w);

/* Conv weights "<name>.weight" [out, in/groups, kh, kw] and, with bias, "<name>.bias". */
int cnn_graph_add_conv2d(cnn_graph_t *g, const char *name, int input, const cnn_conv_params_t *p);
/* TensorFlow "SAME" padding for conv/pool: total = max((ceil(in/s)-1)*s + (k-1)*d + 1 - in, 0),
 * extra pixel at bottom/right. Fills p->pad from input size. */
cnn_pad_t cnn_same_padding(int in_h, int in_w, int kh, int kw, int sh, int sw, int dh, int dw);
/* Dense over the flattened input: "<name>.weight" [out, in], "<name>.bias" [out]. */
int cnn_graph_add_dense(cnn_graph_t *g, const char *name, int input, int out_features, bool has_bias);
/* Max/avg pooling. `pool->pad` are the user's values; with ceil_mode the
 * builder enlarges bottom/right as needed (PyTorch semantics: the last window
 * must start inside the input or left padding) and records by how much in
 * extra_h/extra_w. An average with count_include_pad divides by the window
 * clipped to the user's padding (PyTorch, ONNX Runtime): the extra is not counted. */
int cnn_graph_add_pool(cnn_graph_t *g, const char *name, cnn_op_t op, int input, const cnn_pool_params_t *pool);
int cnn_graph_add_global_avg_pool(cnn_graph_t *g, const char *name, int input);
/* Parameter-free unary ops: relu, sigmoid, tanh, softmax (over channels), dropout, flatten. */
int cnn_graph_add_unary(cnn_graph_t *g, const char *name, cnn_op_t op, int input);
/* leaky_relu (negative slope) and elu (alpha). */
int cnn_graph_add_activation_alpha(cnn_graph_t *g, const char *name, cnn_op_t op, int input, float alpha);
/* clip: min(max(x, lo), hi); -FLT_MAX / FLT_MAX for a missing bound. */
int cnn_graph_add_clip(cnn_graph_t *g, const char *name, int input, float lo, float hi);
/* PReLU: "<name>.weight" with 1 or C slopes. */
int cnn_graph_add_prelu(cnn_graph_t *g, const char *name, int input, int num_slopes);
int cnn_graph_add_lrn(cnn_graph_t *g, const char *name, int input, const cnn_lrn_params_t *p);
/* Batch norm: "<name>.weight", ".bias", ".running_mean", ".running_var". */
int cnn_graph_add_batch_norm(cnn_graph_t *g, const char *name, int input, float eps);
/* Concat along channels; all inputs share H and W. */
int cnn_graph_add_concat(cnn_graph_t *g, const char *name, const int *inputs, int num_inputs);
/* Elementwise sum of two same-shaped tensors. */
int cnn_graph_add_add(cnn_graph_t *g, const char *name, int a, int b);
int cnn_graph_add_zero_pad(cnn_graph_t *g, const char *name, int input, cnn_pad_t pad);
/* Maxout over groups of `pieces` consecutive channels: out C = C / pieces. */
int cnn_graph_add_maxout(cnn_graph_t *g, const char *name, int input, int pieces);

/* Multiply-adds per image and parameter count of one node (for inspect). */
int64_t cnn_node_macs(const cnn_graph_t *g, const cnn_node_t *n);
int64_t cnn_node_params(const cnn_node_t *n);

#endif
