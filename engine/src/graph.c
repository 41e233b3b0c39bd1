#include "graph.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "array_grow.h"
#include "status.h"

static const char *const op_names[CNN_OP_COUNT] = {
    [CNN_OP_INPUT] = "input",
    [CNN_OP_CONV2D] = "conv2d",
    [CNN_OP_DENSE] = "dense",
    [CNN_OP_MAX_POOL] = "max_pool",
    [CNN_OP_AVG_POOL] = "avg_pool",
    [CNN_OP_GLOBAL_AVG_POOL] = "global_avg_pool",
    [CNN_OP_RELU] = "relu",
    [CNN_OP_LEAKY_RELU] = "leaky_relu",
    [CNN_OP_PRELU] = "prelu",
    [CNN_OP_ELU] = "elu",
    [CNN_OP_SIGMOID] = "sigmoid",
    [CNN_OP_TANH] = "tanh",
    [CNN_OP_SOFTMAX] = "softmax",
    [CNN_OP_LRN] = "lrn",
    [CNN_OP_BATCH_NORM] = "batch_norm",
    [CNN_OP_DROPOUT] = "dropout",
    [CNN_OP_CONCAT] = "concat",
    [CNN_OP_ADD] = "add",
    [CNN_OP_FLATTEN] = "flatten",
    [CNN_OP_ZERO_PAD] = "zero_pad",
    [CNN_OP_MAXOUT] = "maxout",
    [CNN_OP_CLIP] = "clip",
};

const char *cnn_op_name(cnn_op_t op)
{
    return (op >= 0 && op < CNN_OP_COUNT) ? op_names[op] : "unknown";
}

cnn_graph_t *cnn_graph_new(void)
{
    cnn_graph_t *g = calloc(1, sizeof *g);
    if (g)
        g->output = -1;
    return g;
}

static void weight_free(cnn_weight_t *w)
{
    if (!w)
        return;
    free(w->name);
    free(w->owned);
    free(w);
}

void cnn_graph_free(cnn_graph_t *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->num_nodes; i++) {
        cnn_node_t *n = &g->nodes[i];
        free(n->name);
        free(n->inputs);
        for (int s = 0; s < CNN_W_SLOTS; s++)
            weight_free(n->w[s]);
    }
    free(g->nodes);
    free(g);
}

int cnn_graph_find(const cnn_graph_t *g, const char *name)
{
    for (int i = 0; i < g->num_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0)
            return i;
    return -1;
}

int cnn_graph_resolve(const cnn_graph_t *g, int id)
{
    while (id >= 0 && id < g->num_nodes && g->nodes[id].fused_into >= 0)
        id = g->nodes[id].fused_into;
    return id;
}

size_t cnn_node_numel(const cnn_node_t *n)
{
    return (size_t)n->out.c * (size_t)n->out.h * (size_t)n->out.w;
}

/* Records a builder error in g->err and returns its (negative) status. */
static int fail(cnn_graph_t *g, cnn_status_t status, const char *name, const char *what)
{
    return cnn_error_set(&g->err, status, "layer '%s': %s", name ? name : "(null)", what);
}

/* Appends a node named `name` reading `inputs`; returns its id or a negative
 * status. The caller fills op params and the output shape. */
static int node_append(cnn_graph_t *g, const char *name, cnn_op_t op, const int *inputs, int num_inputs)
{
    if (!name || !*name)
        return cnn_error_set(&g->err, CNN_E_INVALID_ARGUMENT, "layer name must not be empty");
    if (cnn_graph_find(g, name) >= 0)
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "duplicate layer name");
    for (int i = 0; i < num_inputs; i++)
        if (inputs[i] < 0 || inputs[i] >= g->num_nodes)
            return fail(g, CNN_E_INVALID_ARGUMENT, name, "input refers to no earlier layer");
    if (g->num_nodes == INT_MAX - 1)
        return fail(g, CNN_E_NOMEM, name, "too many layers");
    cnn_node_t *grown = cnn_array_grow(g->nodes, &g->cap_nodes, g->num_nodes, sizeof *grown);
    if (!grown)
        return fail(g, CNN_E_NOMEM, name, "out of memory");
    g->nodes = grown;
    cnn_node_t *n = &g->nodes[g->num_nodes];
    memset(n, 0, sizeof *n);
    n->name = strdup(name);
    n->inputs = num_inputs ? malloc((size_t)num_inputs * sizeof *n->inputs) : NULL;
    if (!n->name || (num_inputs && !n->inputs)) {
        free(n->name);
        free(n->inputs);
        return fail(g, CNN_E_NOMEM, name, "out of memory");
    }
    if (num_inputs)
        memcpy(n->inputs, inputs, (size_t)num_inputs * sizeof *inputs);
    n->num_inputs = num_inputs;
    n->op = op;
    n->fused_into = -1;
    n->residual_input = -1;
    g->output = g->num_nodes;
    return g->num_nodes++;
}

/* Drops the most recently appended node (used when a builder fails after appending). */
static int node_discard_last(cnn_graph_t *g, int status)
{
    cnn_node_t *n = &g->nodes[--g->num_nodes];
    free(n->name);
    free(n->inputs);
    for (int s = 0; s < CNN_W_SLOTS; s++)
        weight_free(n->w[s]);
    g->output = g->num_nodes - 1;
    return status;
}

/* Declares weight slot `slot` of node `id` as tensor "<node>.<suffix>" with the given dims. */
static int weight_declare(cnn_graph_t *g, int id, int slot, const char *suffix, int ndim, const int64_t *dims)
{
    cnn_node_t *n = &g->nodes[id];
    cnn_weight_t *w = calloc(1, sizeof *w);
    size_t len = strlen(n->name) + 1 + strlen(suffix) + 1;
    if (w)
        w->name = malloc(len);
    if (!w || !w->name) {
        free(w);
        return fail(g, CNN_E_NOMEM, n->name, "out of memory");
    }
    strcpy(w->name, n->name);
    strcat(w->name, ".");
    strcat(w->name, suffix);
    w->ndim = ndim;
    memcpy(w->dims, dims, (size_t)ndim * sizeof *dims);
    n->w[slot] = w;
    return id;
}

int cnn_graph_add_input(cnn_graph_t *g, const char *name, int c, int h, int w)
{
    if (c <= 0 || h <= 0 || w <= 0 || (int64_t)c * h * w > INT_MAX)
        return fail(g, CNN_E_SHAPE, name, "input dimensions must be positive");
    int id = node_append(g, name, CNN_OP_INPUT, NULL, 0);
    if (id < 0)
        return id;
    g->nodes[id].out = (cnn_shape_t){c, h, w};
    return id;
}

/* Output length of a sliding window along one axis (floor), or <= 0 if the window does not fit. */
static int64_t window_out(int64_t in, int pad_a, int pad_b, int k, int s, int d)
{
    int64_t span = (int64_t)d * (k - 1) + 1;
    int64_t padded = in + pad_a + pad_b;
    if (padded < span)
        return 0;
    return (padded - span) / s + 1;
}

cnn_pad_t cnn_same_padding(int in_h, int in_w, int kh, int kw, int sh, int sw, int dh, int dw)
{
    cnn_pad_t p = {0, 0, 0, 0};
    if (sh <= 0 || sw <= 0)
        return p;
    int64_t out_h = ((int64_t)in_h + sh - 1) / sh, out_w = ((int64_t)in_w + sw - 1) / sw;
    int64_t th = (out_h - 1) * sh + (int64_t)(kh - 1) * dh + 1 - in_h;
    int64_t tw = (out_w - 1) * sw + (int64_t)(kw - 1) * dw + 1 - in_w;
    if (th < 0)
        th = 0;
    if (tw < 0)
        tw = 0;
    p.top = (int)(th / 2);
    p.bottom = (int)(th - th / 2);
    p.left = (int)(tw / 2);
    p.right = (int)(tw - tw / 2);
    return p;
}

static bool pad_valid(cnn_pad_t p)
{
    return p.top >= 0 && p.left >= 0 && p.bottom >= 0 && p.right >= 0;
}

int cnn_graph_add_conv2d(cnn_graph_t *g, const char *name, int input, const cnn_conv_params_t *p)
{
    if (input < 0 || input >= g->num_nodes)
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "input refers to no earlier layer");
    cnn_shape_t in = g->nodes[input].out;
    if (p->out_channels <= 0 || p->kh <= 0 || p->kw <= 0 || p->sh <= 0 || p->sw <= 0 || p->dh <= 0 ||
        p->dw <= 0 || p->groups <= 0 || !pad_valid(p->pad))
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "conv2d kernel, stride, dilation and groups must be positive, padding non-negative");
    if (in.c % p->groups || p->out_channels % p->groups)
        return fail(g, CNN_E_SHAPE, name, "groups must divide input and output channels");
    int64_t oh = window_out(in.h, p->pad.top, p->pad.bottom, p->kh, p->sh, p->dh);
    int64_t ow = window_out(in.w, p->pad.left, p->pad.right, p->kw, p->sw, p->dw);
    if (oh <= 0 || ow <= 0)
        return fail(g, CNN_E_SHAPE, name, "kernel larger than padded input");
    int id = node_append(g, name, CNN_OP_CONV2D, &input, 1);
    if (id < 0)
        return id;
    cnn_node_t *n = &g->nodes[id];
    n->p.conv = *p;
    n->out = (cnn_shape_t){p->out_channels, (int)oh, (int)ow};
    int64_t wd[4] = {p->out_channels, in.c / p->groups, p->kh, p->kw};
    int64_t bd[1] = {p->out_channels};
    int rc = weight_declare(g, id, CNN_W_WEIGHT, "weight", 4, wd);
    if (rc >= 0 && p->has_bias)
        rc = weight_declare(g, id, CNN_W_BIAS, "bias", 1, bd);
    return rc < 0 ? node_discard_last(g, rc) : id;
}

int cnn_graph_add_dense(cnn_graph_t *g, const char *name, int input, int out_features, bool has_bias)
{
    if (input < 0 || input >= g->num_nodes)
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "input refers to no earlier layer");
    if (out_features <= 0)
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "dense needs a positive number of outputs");
    int64_t in_features = (int64_t)cnn_node_numel(&g->nodes[input]);
    int id = node_append(g, name, CNN_OP_DENSE, &input, 1);
    if (id < 0)
        return id;
    cnn_node_t *n = &g->nodes[id];
    n->p.dense.out_features = out_features;
    n->p.dense.has_bias = has_bias;
    n->out = (cnn_shape_t){out_features, 1, 1};
    n->flat = true;
    int64_t wd[2] = {out_features, in_features};
    int64_t bd[1] = {out_features};
    int rc = weight_declare(g, id, CNN_W_WEIGHT, "weight", 2, wd);
    if (rc >= 0 && has_bias)
        rc = weight_declare(g, id, CNN_W_BIAS, "bias", 1, bd);
    return rc < 0 ? node_discard_last(g, rc) : id;
}

/* Output length of a pooling window along one axis with PyTorch's ceil_mode
 * rule; sets *extra to the additional trailing pad the last window needs. */
static int64_t pool_out(int64_t in, int pad_a, int pad_b, int k, int s, bool ceil_mode, int *extra)
{
    *extra = 0;
    int64_t padded = in + pad_a + pad_b;
    if (padded < k)
        return 0;
    int64_t out = (padded - k) / s + 1;
    if (ceil_mode) {
        int64_t up = (padded - k + s - 1) / s + 1;
        if (up > out && (up - 1) * s < in + pad_a)
            out = up;
        int64_t needed = (out - 1) * s + k - padded;
        *extra = needed > 0 ? (int)needed : 0;
    }
    return out;
}

int cnn_graph_add_pool(cnn_graph_t *g, const char *name, cnn_op_t op, int input, const cnn_pool_params_t *pool)
{
    if (op != CNN_OP_MAX_POOL && op != CNN_OP_AVG_POOL)
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "pooling op must be max_pool or avg_pool");
    if (input < 0 || input >= g->num_nodes)
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "input refers to no earlier layer");
    cnn_pool_params_t p = *pool;
    if (p.kh <= 0 || p.kw <= 0 || p.sh <= 0 || p.sw <= 0 || !pad_valid(p.pad))
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "pool kernel and stride must be positive, padding non-negative");
    if (p.pad.top >= p.kh || p.pad.bottom >= p.kh || p.pad.left >= p.kw || p.pad.right >= p.kw)
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "pool padding must be smaller than the kernel");
    cnn_shape_t in = g->nodes[input].out;
    int extra_h, extra_w;
    int64_t oh = pool_out(in.h, p.pad.top, p.pad.bottom, p.kh, p.sh, p.ceil_mode, &extra_h);
    int64_t ow = pool_out(in.w, p.pad.left, p.pad.right, p.kw, p.sw, p.ceil_mode, &extra_w);
    if (oh <= 0 || ow <= 0)
        return fail(g, CNN_E_SHAPE, name, "pool window larger than padded input");
    p.pad.bottom += extra_h;
    p.pad.right += extra_w;
    p.extra_h = extra_h;
    p.extra_w = extra_w;
    int id = node_append(g, name, op, &input, 1);
    if (id < 0)
        return id;
    g->nodes[id].p.pool = p;
    g->nodes[id].out = (cnn_shape_t){in.c, (int)oh, (int)ow};
    return id;
}

int cnn_graph_add_global_avg_pool(cnn_graph_t *g, const char *name, int input)
{
    int id = node_append(g, name, CNN_OP_GLOBAL_AVG_POOL, &input, 1);
    if (id < 0)
        return id;
    g->nodes[id].out = (cnn_shape_t){g->nodes[input].out.c, 1, 1};
    return id;
}

int cnn_graph_add_unary(cnn_graph_t *g, const char *name, cnn_op_t op, int input)
{
    switch (op) {
    case CNN_OP_RELU: case CNN_OP_SIGMOID: case CNN_OP_TANH: case CNN_OP_SOFTMAX:
    case CNN_OP_DROPOUT: case CNN_OP_FLATTEN:
        break;
    default:
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "not a parameter-free unary op");
    }
    int id = node_append(g, name, op, &input, 1);
    if (id < 0)
        return id;
    cnn_node_t *n = &g->nodes[id];
    const cnn_node_t *src = &g->nodes[input];
    n->out = src->out;
    n->flat = src->flat;
    if (op == CNN_OP_FLATTEN) {
        n->out = (cnn_shape_t){(int)cnn_node_numel(src), 1, 1};
        n->flat = true;
    }
    return id;
}

int cnn_graph_add_activation_alpha(cnn_graph_t *g, const char *name, cnn_op_t op, int input, float alpha)
{
    if (op != CNN_OP_LEAKY_RELU && op != CNN_OP_ELU)
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "op takes no alpha");
    if (!(alpha == alpha) || alpha > 1e30f || alpha < -1e30f)
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "alpha must be finite");
    int id = node_append(g, name, op, &input, 1);
    if (id < 0)
        return id;
    g->nodes[id].out = g->nodes[input].out;
    g->nodes[id].flat = g->nodes[input].flat;
    g->nodes[id].p.act.alpha = alpha;
    return id;
}

int cnn_graph_add_clip(cnn_graph_t *g, const char *name, int input, float lo, float hi)
{
    if (!(lo <= hi))
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "clip needs min <= max (and neither NaN)");
    int id = node_append(g, name, CNN_OP_CLIP, &input, 1);
    if (id < 0)
        return id;
    g->nodes[id].out = g->nodes[input].out;
    g->nodes[id].flat = g->nodes[input].flat;
    g->nodes[id].p.act.alpha = lo;
    g->nodes[id].p.act.beta = hi;
    return id;
}

int cnn_graph_add_prelu(cnn_graph_t *g, const char *name, int input, int num_slopes)
{
    if (input < 0 || input >= g->num_nodes)
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "input refers to no earlier layer");
    if (num_slopes != 1 && num_slopes != g->nodes[input].out.c)
        return fail(g, CNN_E_SHAPE, name, "prelu needs 1 slope or one per channel");
    int id = node_append(g, name, CNN_OP_PRELU, &input, 1);
    if (id < 0)
        return id;
    g->nodes[id].out = g->nodes[input].out;
    g->nodes[id].flat = g->nodes[input].flat;
    int64_t d[1] = {num_slopes};
    int rc = weight_declare(g, id, CNN_W_WEIGHT, "weight", 1, d);
    return rc < 0 ? node_discard_last(g, rc) : id;
}

int cnn_graph_add_lrn(cnn_graph_t *g, const char *name, int input, const cnn_lrn_params_t *p)
{
    if (p->size <= 0 || p->size % 2 == 0)
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "lrn size must be a positive odd number");
    if (!(p->beta >= 0.0f) || !(p->k > 0.0f) || !(p->alpha >= 0.0f))
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "lrn needs alpha >= 0, beta >= 0, k > 0");
    int id = node_append(g, name, CNN_OP_LRN, &input, 1);
    if (id < 0)
        return id;
    g->nodes[id].out = g->nodes[input].out;
    g->nodes[id].p.lrn = *p;
    return id;
}

int cnn_graph_add_batch_norm(cnn_graph_t *g, const char *name, int input, float eps)
{
    if (!(eps > 0.0f))
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "batch norm epsilon must be positive");
    int id = node_append(g, name, CNN_OP_BATCH_NORM, &input, 1);
    if (id < 0)
        return id;
    cnn_node_t *n = &g->nodes[id];
    n->out = g->nodes[input].out;
    n->flat = g->nodes[input].flat;
    n->p.bn.eps = eps;
    int64_t d[1] = {n->out.c};
    static const char *const suffix[CNN_W_SLOTS] = {"weight", "bias", "running_mean", "running_var"};
    for (int s = 0; s < CNN_W_SLOTS; s++) {
        int rc = weight_declare(g, id, s, suffix[s], 1, d);
        if (rc < 0)
            return node_discard_last(g, rc);
    }
    return id;
}

int cnn_graph_add_concat(cnn_graph_t *g, const char *name, const int *inputs, int num_inputs)
{
    if (num_inputs < 1)
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "concat needs at least one input");
    int64_t channels = 0;
    for (int i = 0; i < num_inputs; i++) {
        if (inputs[i] < 0 || inputs[i] >= g->num_nodes)
            return fail(g, CNN_E_INVALID_ARGUMENT, name, "input refers to no earlier layer");
        cnn_shape_t s = g->nodes[inputs[i]].out, s0 = g->nodes[inputs[0]].out;
        if (s.h != s0.h || s.w != s0.w)
            return fail(g, CNN_E_SHAPE, name, "concat inputs differ in height or width");
        channels += s.c;
    }
    if (channels > INT_MAX)
        return fail(g, CNN_E_SHAPE, name, "too many channels");
    int id = node_append(g, name, CNN_OP_CONCAT, inputs, num_inputs);
    if (id < 0)
        return id;
    cnn_shape_t s0 = g->nodes[inputs[0]].out;
    g->nodes[id].out = (cnn_shape_t){(int)channels, s0.h, s0.w};
    return id;
}

int cnn_graph_add_add(cnn_graph_t *g, const char *name, int a, int b)
{
    int in[2] = {a, b};
    if (a < 0 || b < 0 || a >= g->num_nodes || b >= g->num_nodes)
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "input refers to no earlier layer");
    cnn_shape_t sa = g->nodes[a].out, sb = g->nodes[b].out;
    if (sa.c != sb.c || sa.h != sb.h || sa.w != sb.w)
        return fail(g, CNN_E_SHAPE, name, "add inputs have different shapes");
    int id = node_append(g, name, CNN_OP_ADD, in, 2);
    if (id < 0)
        return id;
    g->nodes[id].out = sa;
    g->nodes[id].flat = g->nodes[a].flat;
    return id;
}

int cnn_graph_add_zero_pad(cnn_graph_t *g, const char *name, int input, cnn_pad_t pad)
{
    if (!pad_valid(pad))
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "padding must be non-negative");
    if (input < 0 || input >= g->num_nodes)
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "input refers to no earlier layer");
    cnn_shape_t in = g->nodes[input].out;
    int64_t h = (int64_t)in.h + pad.top + pad.bottom, w = (int64_t)in.w + pad.left + pad.right;
    if (h * w * in.c > INT_MAX)
        return fail(g, CNN_E_SHAPE, name, "padded tensor too large");
    int id = node_append(g, name, CNN_OP_ZERO_PAD, &input, 1);
    if (id < 0)
        return id;
    g->nodes[id].out = (cnn_shape_t){in.c, (int)h, (int)w};
    g->nodes[id].p.zero_pad = pad;
    return id;
}

int cnn_graph_add_maxout(cnn_graph_t *g, const char *name, int input, int pieces)
{
    if (input < 0 || input >= g->num_nodes)
        return fail(g, CNN_E_INVALID_ARGUMENT, name, "input refers to no earlier layer");
    cnn_shape_t in = g->nodes[input].out;
    if (pieces <= 0 || in.c % pieces)
        return fail(g, CNN_E_SHAPE, name, "maxout pieces must divide the channel count");
    int id = node_append(g, name, CNN_OP_MAXOUT, &input, 1);
    if (id < 0)
        return id;
    g->nodes[id].out = (cnn_shape_t){in.c / pieces, in.h, in.w};
    g->nodes[id].flat = g->nodes[input].flat;
    g->nodes[id].p.maxout.pieces = pieces;
    return id;
}

int64_t cnn_node_params(const cnn_node_t *n)
{
    int64_t total = 0;
    for (int s = 0; s < CNN_W_SLOTS; s++) {
        const cnn_weight_t *w = n->w[s];
        if (!w)
            continue;
        int64_t numel = 1;
        for (int d = 0; d < w->ndim; d++)
            numel *= w->dims[d];
        total += numel;
    }
    return total;
}

int64_t cnn_node_macs(const cnn_graph_t *g, const cnn_node_t *n)
{
    int64_t out = (int64_t)cnn_node_numel(n);
    switch (n->op) {
    case CNN_OP_CONV2D: {
        int64_t in_c = g->nodes[n->inputs[0]].out.c / n->p.conv.groups;
        return out * in_c * n->p.conv.kh * n->p.conv.kw;
    }
    case CNN_OP_DENSE:
        return out * (int64_t)cnn_node_numel(&g->nodes[n->inputs[0]]);
    default:
        return 0;
    }
}
