/* The generator's single-op builders (graph_gen_ops.c), shared with its
 * block builders (graph_gen.c). Each appends one node (or a few, for a
 * node with weights) to the spec and returns the id of its output, or x
 * unchanged when the spec is full. */
#ifndef CNN_GRAPH_GEN_OPS_H
#define CNN_GRAPH_GEN_OPS_H

#include "graph_gen.h"

/* Output-shape constraints a block must keep (bit flags). */
enum { KEEP_HW = 1, KEEP_C = 2 };

#define MAX_GROWN_SIDE 24   /* padding may grow a side up to this */
#define MAX_SQUARE_DENSE 64 /* a dense that keeps a flat vector's length: at most this long */

typedef struct gen {
    gg_reader_t *r;
    gs_spec_t *s;
    uint64_t rng;
    int target; /* stop starting top-level blocks at this many nodes */
    int name_style;
    bool oom;
} gen_t;

typedef struct conv_args {
    int out, kh, kw, sh, sw, dh, dw, groups;
    int pad[4];
    bool same, bias;
} conv_args_t;

/* Appends a node reading `in` with output shape c×h×w; returns its id or -1 when the spec is full. */
int gg_node_new(gen_t *g, gs_op_t op, const int *in, int num_in, int c, int h, int w);
/* A node reading x with x's shape (activations, batch norm, ...); -1 when full. */
int gg_same_shape_node(gen_t *g, gs_op_t op, int x);
/* A conv2d node as `a` says, with He-like uniform weights; the padding must fit (caller's job). */
int gg_conv_node(gen_t *g, int x, const conv_args_t *a);
/* A random conv2d with `oc` output channels; with keep_hw stride 1 and H, W kept. */
int gg_conv(gen_t *g, int x, int oc, bool keep_hw);
/* A random max or avg pooling; with keep_hw stride 1 and H, W kept. */
int gg_pool(gen_t *g, int x, gs_op_t op, bool keep_hw);
/* One of the activations the rewrites fuse after conv/dense/add. */
int gg_activation(gen_t *g, int x);
/* A batch norm with random statistics (variances positive, a scale sometimes negative). */
int gg_batch_norm(gen_t *g, int x);
/* A dense layer with `out` features over x flattened. */
int gg_dense(gen_t *g, int x, int out);
/* A single op that keeps what `flags` asks (prelu, lrn, softmax, maxout, ...). */
int gg_unary(gen_t *g, int x, int flags);

#endif
