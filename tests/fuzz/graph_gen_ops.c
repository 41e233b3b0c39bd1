/* The generator's single-op builders (see graph_gen_ops.h): each picks its
 * parameters from the decision bytes so that the node is valid for its
 * input (kernels fit the padded input, groups divide both channel counts,
 * pool padding stays under the kernel) and draws its weights from the PRNG. */
#include "graph_gen_ops.h"

#include "ref_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

/* Appends a node reading `in` with output shape c×h×w; returns its id or -1 when the spec is full. */
int gg_node_new(gen_t *g, gs_op_t op, const int *in, int num_in, int c, int h, int w)
{
    gs_spec_t *s = g->s;
    if (s->num_nodes >= GS_MAX_NODES)
        return -1;
    int id = s->num_nodes++;
    gs_node_t *n = &s->nodes[id];
    memset(n, 0, sizeof *n);
    static const char *const styles[] = {"n%d", "layer%d", "block.%d", "b/%d.x", "Node-%d"};
    snprintf(n->name, sizeof n->name, styles[g->name_style], id);
    n->op = op;
    for (int i = 0; i < num_in; i++)
        n->inputs[i] = in[i];
    n->num_inputs = num_in;
    n->c = c, n->h = h, n->w = w;
    n->sh = n->sw = n->dh = n->dw = n->groups = 1;
    n->bias = true;
    n->write_inputs = num_in > 1 || (num_in == 1 && in[0] != id - 1) || gg_chance(g->r, 30);
    n->write_defaults = gg_chance(g->r, 25);
    return id;
}

/* Allocates weight `slot` of node id with `ndim` dims, filled uniform in [lo, hi). */
static void weight_new(gen_t *g, int id, int slot, int ndim, const int *dims, float lo, float hi)
{
    gs_weight_t *w = &g->s->nodes[id].wt[slot];
    w->ndim = ndim;
    w->numel = 1;
    for (int d = 0; d < ndim; d++) {
        w->dims[d] = dims[d];
        w->numel *= (size_t)dims[d];
    }
    w->data = malloc(w->numel * sizeof(float));
    if (!w->data) {
        g->oom = true;
        return;
    }
    for (size_t i = 0; i < w->numel; i++)
        w->data[i] = gg_uniform(&g->rng, lo, hi);
}

/* TensorFlow SAME padding along one axis (graph.h's cnn_same_padding). */
static void same_pad(int in, int k, int s, int d, int *before, int *after)
{
    int out = (in + s - 1) / s;
    int total = (out - 1) * s + (k - 1) * d + 1 - in;
    if (total < 0)
        total = 0;
    *before = total / 2;
    *after = total - total / 2;
}

/* A conv2d node with He-like uniform weights; the padding must fit (caller's job). */
int gg_conv_node(gen_t *g, int x, const conv_args_t *a)
{
    const gs_node_t in = g->s->nodes[x];
    int pad[4];
    memcpy(pad, a->pad, sizeof pad);
    if (a->same) {
        same_pad(in.h, a->kh, a->sh, a->dh, &pad[0], &pad[2]);
        same_pad(in.w, a->kw, a->sw, a->dw, &pad[1], &pad[3]);
    }
    int oh = (in.h + pad[0] + pad[2] - (a->dh * (a->kh - 1) + 1)) / a->sh + 1;
    int ow = (in.w + pad[1] + pad[3] - (a->dw * (a->kw - 1) + 1)) / a->sw + 1;
    int id = gg_node_new(g, GS_CONV2D, &x, 1, a->out, oh, ow);
    if (id < 0)
        return x;
    gs_node_t *n = &g->s->nodes[id];
    n->out = a->out, n->kh = a->kh, n->kw = a->kw, n->sh = a->sh, n->sw = a->sw, n->dh = a->dh, n->dw = a->dw;
    n->groups = a->groups, n->same = a->same, n->bias = a->bias;
    memcpy(n->pad, pad, sizeof pad);
    n->scalar_kernel = a->kh == a->kw && gg_chance(g->r, 40);
    n->valid_padding = !a->same && !pad[0] && !pad[1] && !pad[2] && !pad[3] && gg_chance(g->r, 30);
    int icg = in.c / a->groups;
    float bound = sqrtf(3.0f / (float)(icg * a->kh * a->kw));
    int wd[4] = {a->out, icg, a->kh, a->kw};
    weight_new(g, id, GS_W_WEIGHT, 4, wd, -bound, bound);
    if (a->bias)
        weight_new(g, id, GS_W_BIAS, 1, &a->out, -0.5f, 0.5f);
    return id;
}

/* Shrinks a (kernel, dilation) pair until its span fits `padded`. */
static void fit_kernel(int padded, int *k, int *d)
{
    while (*d * (*k - 1) + 1 > padded) {
        if (*d > 1)
            (*d)--;
        else
            (*k)--;
    }
}

/* A random conv2d with `oc` output channels; with KEEP_HW stride 1 and H, W kept. */
int gg_conv(gen_t *g, int x, int oc, bool keep_hw)
{
    gg_reader_t *r = g->r;
    const gs_node_t in = g->s->nodes[x];
    conv_args_t a = {.out = oc, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .groups = 1, .bias = !gg_chance(r, 30)};
    int divs[GG_MAX_CHANNELS], nd = 0;
    for (int d = 1; d <= in.c && d <= oc && nd < GG_MAX_CHANNELS; d++)
        if (in.c % d == 0 && oc % d == 0)
            divs[nd++] = d;
    if (gg_chance(r, 40))
        a.groups = divs[gg_int(r, 0, nd - 1)];
    a.kh = gg_int(r, 1, 5);
    a.kw = gg_chance(r, 25) ? gg_int(r, 1, 5) : a.kh;
    if (in.c / a.groups * a.kh * a.kw > GG_MAX_CHANNELS * 25)
        a.kh = a.kw = 1; /* a long flat vector seen as channels */
    if (gg_chance(r, 20)) {
        a.dh = gg_int(r, 2, 3);
        a.dw = gg_chance(r, 50) ? gg_int(r, 1, 3) : a.dh;
    }
    int mode = gg_int(r, 0, 2); /* 0 explicit pads, 1 same, 2 none */
    if (keep_hw) {
        if (mode == 1) {
            a.same = true;
        } else {
            int th = a.dh * (a.kh - 1), tw = a.dw * (a.kw - 1);
            a.pad[0] = gg_int(r, 0, th), a.pad[2] = th - a.pad[0];
            a.pad[1] = gg_int(r, 0, tw), a.pad[3] = tw - a.pad[1];
        }
        return gg_conv_node(g, x, &a);
    }
    if (gg_chance(r, 40)) {
        a.sh = gg_int(r, 2, 3);
        a.sw = gg_chance(r, 30) ? gg_int(r, 1, 3) : a.sh;
    }
    if (mode == 1) {
        a.same = true;
    } else if (mode == 0) {
        for (int i = 0; i < 4; i++)
            a.pad[i] = gg_int(r, 0, 3);
    }
    fit_kernel(in.h + a.pad[0] + a.pad[2], &a.kh, &a.dh);
    fit_kernel(in.w + a.pad[1] + a.pad[3], &a.kw, &a.dw);
    int oh = (in.h + a.pad[0] + a.pad[2] - (a.dh * (a.kh - 1) + 1)) / a.sh + 1;
    int ow = (in.w + a.pad[1] + a.pad[3] - (a.dw * (a.kw - 1) + 1)) / a.sw + 1;
    if (!a.same && (oh > MAX_GROWN_SIDE || ow > MAX_GROWN_SIDE)) {
        memset(a.pad, 0, sizeof a.pad); /* too much padding: none, and a kernel that fits without */
        fit_kernel(in.h, &a.kh, &a.dh);
        fit_kernel(in.w, &a.kw, &a.dw);
    }
    return gg_conv_node(g, x, &a);
}

/* A random max or avg pooling; with KEEP_HW stride 1 and H, W kept. */
int gg_pool(gen_t *g, int x, gs_op_t op, bool keep_hw)
{
    gg_reader_t *r = g->r;
    const gs_node_t in = g->s->nodes[x];
    int kh = gg_int(r, 1, 4), kw = gg_chance(r, 25) ? gg_int(r, 1, 4) : kh;
    int sh = kh, sw = kw, pad[4] = {0, 0, 0, 0};
    bool same = false, stride_default = false;
    int mode = gg_int(r, 0, 2); /* 0 none, 1 explicit pads (each < kernel), 2 same */
    if (keep_hw) {
        sh = sw = 1;
        if (mode == 2) {
            same = true;
        } else {
            pad[0] = gg_int(r, 0, kh - 1), pad[2] = kh - 1 - pad[0];
            pad[1] = gg_int(r, 0, kw - 1), pad[3] = kw - 1 - pad[1];
        }
    } else {
        if (gg_chance(r, 50)) {
            sh = gg_int(r, 1, 3);
            sw = gg_chance(r, 30) ? gg_int(r, 1, 3) : sh;
        } else {
            stride_default = gg_chance(r, 50); /* stride = kernel: omit it */
        }
        same = mode == 2;
        if (mode == 1)
            for (int i = 0; i < 4; i++)
                pad[i] = gg_int(r, 0, (i % 2 ? kw : kh) - 1);
        while (kh > in.h + pad[0] + pad[2]) {
            kh--;
            pad[0] = min_int(pad[0], kh - 1), pad[2] = min_int(pad[2], kh - 1);
        }
        while (kw > in.w + pad[1] + pad[3]) {
            kw--;
            pad[1] = min_int(pad[1], kw - 1), pad[3] = min_int(pad[3], kw - 1);
        }
        if (stride_default)
            sh = kh, sw = kw;
    }
    if (same) {
        same_pad(in.h, kh, sh, 1, &pad[0], &pad[2]);
        same_pad(in.w, kw, sw, 1, &pad[1], &pad[3]);
    }
    bool ceil_mode = gg_chance(r, 35);
    int oh = ref_pool_out_size(in.h, kh, sh, pad[0], pad[2], ceil_mode);
    int ow = ref_pool_out_size(in.w, kw, sw, pad[1], pad[3], ceil_mode);
    int id = gg_node_new(g, op, &x, 1, in.c, oh, ow);
    if (id < 0)
        return x;
    gs_node_t *n = &g->s->nodes[id];
    n->kh = kh, n->kw = kw, n->sh = sh, n->sw = sw, n->same = same, n->ceil_mode = ceil_mode;
    memcpy(n->pad, pad, sizeof pad);
    n->count_include_pad = gg_chance(r, 45);
    n->scalar_kernel = kh == kw && gg_chance(r, 40);
    n->valid_padding = !same && !pad[0] && !pad[1] && !pad[2] && !pad[3] && gg_chance(r, 30);
    if (stride_default)
        n->write_defaults = false;
    return id;
}

/* A node reading x with x's shape (activations, batch norm, ...). */
int gg_same_shape_node(gen_t *g, gs_op_t op, int x)
{
    const gs_node_t *in = &g->s->nodes[x];
    return gg_node_new(g, op, &x, 1, in->c, in->h, in->w);
}

/* One of the activations the rewrites fuse after conv/dense/add. */
int gg_activation(gen_t *g, int x)
{
    static const gs_op_t acts[] = {GS_RELU, GS_LEAKY_RELU, GS_ELU, GS_SIGMOID, GS_TANH, GS_CLIP};
    gs_op_t op = acts[gg_int(g->r, 0, 5)];
    int id = gg_same_shape_node(g, op, x);
    if (id < 0)
        return x;
    gs_node_t *n = &g->s->nodes[id];
    if (op == GS_LEAKY_RELU)
        n->alpha = gg_chance(g->r, 30) ? 0.01f : gg_uniform(&g->rng, 0.0f, 0.5f);
    else if (op == GS_ELU)
        n->alpha = gg_chance(g->r, 30) ? 1.0f : gg_uniform(&g->rng, 0.1f, 2.0f);
    else if (op == GS_CLIP) {
        int which = gg_int(g->r, 0, 3); /* 0 both bounds, 1 min only, 2 max only, 3 both, max = min possible */
        n->has_min = which != 2;
        n->has_max = which != 1;
        n->alpha = gg_uniform(&g->rng, -1.0f, 0.2f);
        n->beta = which == 3 && gg_chance(g->r, 20) ? n->alpha : gg_uniform(&g->rng, 0.3f, 1.5f);
    }
    return id;
}

int gg_batch_norm(gen_t *g, int x)
{
    int id = gg_same_shape_node(g, GS_BATCH_NORM, x);
    if (id < 0)
        return x;
    gs_node_t *n = &g->s->nodes[id];
    static const float eps[] = {1e-5f, 1e-3f, 1e-1f};
    n->eps = eps[gg_int(g->r, 0, 2)];
    int c = n->c;
    weight_new(g, id, GS_W_WEIGHT, 1, &c, 0.5f, 1.5f);
    weight_new(g, id, GS_W_BIAS, 1, &c, -0.5f, 0.5f);
    weight_new(g, id, GS_W_MEAN, 1, &c, -0.5f, 0.5f);
    weight_new(g, id, GS_W_VAR, 1, &c, 0.5f, 2.0f);
    if (n->wt[GS_W_WEIGHT].data && gg_chance(g->r, 15))
        n->wt[GS_W_WEIGHT].data[0] = -n->wt[GS_W_WEIGHT].data[0]; /* a negative scale */
    return id;
}

/* A dense layer with `out` features over x flattened. */
int gg_dense(gen_t *g, int x, int out)
{
    const gs_node_t in = g->s->nodes[x];
    int id = gg_node_new(g, GS_DENSE, &x, 1, out, 1, 1);
    if (id < 0)
        return x;
    gs_node_t *n = &g->s->nodes[id];
    n->out = out;
    n->bias = !gg_chance(g->r, 30);
    int in_features = (int)gs_numel(&in);
    float bound = sqrtf(3.0f / (float)in_features);
    int wd[2] = {out, in_features};
    weight_new(g, id, GS_W_WEIGHT, 2, wd, -bound, bound);
    if (n->bias)
        weight_new(g, id, GS_W_BIAS, 1, &out, -0.5f, 0.5f);
    return id;
}

/* A single op that keeps what `flags` asks (prelu, lrn, softmax, maxout, ...). */
int gg_unary(gen_t *g, int x, int flags)
{
    gg_reader_t *r = g->r;
    const gs_node_t in = g->s->nodes[x];
    int kind = gg_int(r, 0, 8);
    int id;
    switch (kind) {
    case 0:
    default:
        return gg_activation(g, x);
    case 1:
        return gg_batch_norm(g, x);
    case 2: {
        if ((id = gg_same_shape_node(g, GS_PRELU, x)) < 0)
            return x;
        int slopes = gg_chance(r, 50) ? in.c : 1;
        g->s->nodes[id].num_slopes = slopes;
        weight_new(g, id, GS_W_WEIGHT, 1, &slopes, -0.5f, 0.5f);
        return id;
    }
    case 3: {
        if ((id = gg_same_shape_node(g, GS_LRN, x)) < 0)
            return x;
        gs_node_t *n = &g->s->nodes[id];
        n->size = 2 * gg_int(r, 0, 3) + 1;
        static const float alphas[] = {1e-4f, 1e-3f, 1e-2f, 0.1f, 0.5f};
        n->alpha = alphas[gg_int(r, 0, 4)] * gg_uniform(&g->rng, 0.5f, 2.0f);
        n->beta = gg_uniform(&g->rng, 0.5f, 1.0f);
        n->k = gg_uniform(&g->rng, 1.0f, 2.0f);
        if (gg_chance(r, 20))
            n->alpha = 1e-4f, n->beta = 0.75f, n->k = 1.0f; /* the defaults, maybe written */
        return id;
    }
    case 4:
        return (id = gg_same_shape_node(g, GS_DROPOUT, x)) < 0 ? x : id;
    case 5:
        return (id = gg_same_shape_node(g, GS_SOFTMAX, x)) < 0 ? x : id;
    case 6: {
        int divs[64], nd = 0;
        for (int d = 1; d <= in.c && nd < 64; d++)
            if (in.c % d == 0 && ((flags & KEEP_C) ? d == 1 : in.c / d <= GG_MAX_CHANNELS || d == 1))
                divs[nd++] = d;
        int pieces = divs[gg_int(r, 0, nd - 1)];
        if ((id = gg_node_new(g, GS_MAXOUT, &x, 1, in.c / pieces, in.h, in.w)) < 0)
            return x;
        g->s->nodes[id].pieces = pieces;
        return id;
    }
    case 7: {
        if (flags & KEEP_HW)
            return gg_activation(g, x);
        int p[4];
        for (int i = 0; i < 4; i++)
            p[i] = gg_int(r, 0, 2);
        if (in.h + p[0] + p[2] > MAX_GROWN_SIDE || in.w + p[1] + p[3] > MAX_GROWN_SIDE)
            p[0] = p[1] = p[2] = p[3] = 0;
        if ((id = gg_node_new(g, GS_ZERO_PAD, &x, 1, in.c, in.h + p[0] + p[2], in.w + p[1] + p[3])) < 0)
            return x;
        memcpy(g->s->nodes[id].pad, p, sizeof p);
        return id;
    }
    case 8:
        if (flags & KEEP_HW && (in.h > 1 || in.w > 1))
            return gg_pool(g, x, gg_chance(r, 50) ? GS_AVG_POOL : GS_MAX_POOL, true);
        return (id = gg_node_new(g, GS_GLOBAL_AVG_POOL, &x, 1, in.c, 1, 1)) < 0 ? x : id;
    }
}

