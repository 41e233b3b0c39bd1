/* A graph-form model as the graph fuzzer generates it: the nodes exactly as
 * written to model.json (before any load-time rewrite), with each node's
 * output shape and weights. graph_gen.c fills it, graph_write.c writes it as
 * a model directory, graph_ref.c evaluates it. Independent of the engine.
 */
#ifndef CNN_GRAPH_SPEC_H
#define CNN_GRAPH_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum gs_op {
    GS_INPUT = 0,
    GS_CONV2D,
    GS_DENSE,
    GS_MAX_POOL,
    GS_AVG_POOL,
    GS_GLOBAL_AVG_POOL,
    GS_RELU,
    GS_LEAKY_RELU,
    GS_PRELU,
    GS_ELU,
    GS_SIGMOID,
    GS_TANH,
    GS_SOFTMAX,
    GS_LRN,
    GS_BATCH_NORM,
    GS_DROPOUT,
    GS_CONCAT,
    GS_ADD,
    GS_FLATTEN,
    GS_ZERO_PAD,
    GS_MAXOUT,
    GS_CLIP,
    GS_OP_COUNT
} gs_op_t;

#define GS_MAX_NODES 40
#define GS_MAX_INPUTS 3
#define GS_NAME_MAX 24

/* Weight slots, named "<node>.<suffix>" in weights.safetensors. */
enum { GS_W_WEIGHT = 0, GS_W_BIAS, GS_W_MEAN, GS_W_VAR, GS_W_SLOTS };

typedef struct gs_weight {
    float *data; /* NULL: the node has no such weight */
    int ndim;
    int dims[4];
    size_t numel;
} gs_weight_t;

typedef struct gs_node {
    char name[GS_NAME_MAX];
    gs_op_t op;
    int inputs[GS_MAX_INPUTS];
    int num_inputs;
    int c, h, w; /* output shape per image (a flat vector of F values: F, 1, 1) */

    /* conv2d: out_channels, kernel, stride, dilation, groups, bias; pools: kernel, stride */
    int out, kh, kw, sh, sw, dh, dw, groups;
    bool bias;
    int pad[4];     /* conv/pool/zero_pad [top, left, bottom, right]; for "same" the computed pads */
    bool same;      /* written as "padding": "same" */
    bool ceil_mode, count_include_pad;
    float alpha, beta, k; /* leaky_relu/elu alpha; lrn alpha, beta, k; clip min (alpha), max (beta) */
    bool has_min, has_max; /* clip bounds present (else -inf / +inf) */
    int size;       /* lrn */
    int pieces;     /* maxout */
    int num_slopes; /* prelu */
    float eps;      /* batch_norm */
    gs_weight_t wt[GS_W_SLOTS];

    /* How the JSON spells it (each a valid way to say the same thing). */
    bool write_inputs;   /* "inputs" even when it is the previous node */
    bool write_defaults; /* stride/dilation/groups/bias/... even at their defaults */
    bool scalar_kernel;  /* "kernel": k instead of [k, k] (square kernels only) */
    bool valid_padding;  /* "padding": "valid" instead of no pads (all pads zero) */
} gs_node_t;

typedef struct gs_spec {
    gs_node_t nodes[GS_MAX_NODES];
    int num_nodes;
    int output;     /* node whose value the model returns */
    int input_rank; /* 3: [C, H, W], 2: [C, H], 1: [F] */
    uint64_t seed;  /* weights, inputs and run choices */
} gs_spec_t;

/* Number of floats in one image's output of node i. */
static inline size_t gs_numel(const gs_node_t *n)
{
    return (size_t)n->c * (size_t)n->h * (size_t)n->w;
}

/* The op's name in model.json ("conv2d"). */
const char *gs_op_name(gs_op_t op);

/* Frees the weights of every node. */
void gs_spec_free(gs_spec_t *s);

#endif
