/* Plan of the CUDA backend for one batch size: tensor formats, steps and the
 * arena layout (see cuda_plan.h). */
#include "cuda_plan.h"

#include <stdlib.h>
#include <string.h>

#include "array_grow.h"
#include "planner.h"
#include "status.h"

#define CNN_CU_ARENA_ALIGN 256

cnn_status_t cnn_cu_format_for(cnn_precision_t precision, cnn_cu_format_t *f, cnn_error_t *err)
{
    switch (precision) {
    case CNN_PRECISION_FP32:
        *f = (cnn_cu_format_t){CNN_CU_F32, CNN_CU_NCHW, CNN_CU_MATH_FMA, 1};
        return CNN_OK;
    case CNN_PRECISION_TF32:
        *f = (cnn_cu_format_t){CNN_CU_F32, CNN_CU_NCHW, CNN_CU_MATH_TF32, 1};
        return CNN_OK;
    case CNN_PRECISION_FP16:
        *f = (cnn_cu_format_t){CNN_CU_F16, CNN_CU_NHWC, CNN_CU_MATH_F16, 8};
        return CNN_OK;
    case CNN_PRECISION_BF16:
        break;
    }
    return cnn_error_set(err, CNN_E_UNSUPPORTED, "the CUDA backend runs fp32, tf32 or fp16, not %s",
                         precision == CNN_PRECISION_BF16 ? "bf16" : "this precision");
}

size_t cnn_cu_dtype_size(cnn_cu_dtype_t t)
{
    return t == CNN_CU_F16 ? 2 : 4;
}

int cnn_cu_pad_channels(int c, int align)
{
    if (align <= 1)
        return c;
    return (c + align - 1) / align * align;
}

void cnn_cu_tensor_init(cnn_cu_tensor_t *t, int n, int c, int h, int w, bool flat, cnn_cu_layout_t layout,
                        int align)
{
    memset(t, 0, sizeof *t);
    t->n = n;
    t->buf = CNN_CU_BUF_NONE;
    if (flat) {
        t->c = t->cp = c * h * w;
        t->h = t->w = 1;
        t->flat = true;
        t->layout = CNN_CU_NCHW;
        t->sn = t->c;
        t->sc = 1;
        return;
    }
    t->c = c;
    t->h = h;
    t->w = w;
    t->layout = layout;
    if (layout == CNN_CU_NHWC) {
        t->cp = cnn_cu_pad_channels(c, align);
        t->sc = 1;
        t->sw = t->cp;
        t->sh = (int64_t)w * t->cp;
        t->sn = (int64_t)h * w * t->cp;
    } else {
        t->cp = c;
        t->sw = 1;
        t->sh = w;
        t->sc = (int64_t)h * w;
        t->sn = (int64_t)c * h * w;
    }
}

size_t cnn_cu_tensor_elems(const cnn_cu_tensor_t *t)
{
    return (size_t)t->n * (size_t)t->sn;
}

const char *cnn_cu_step_name(cnn_cu_step_kind_t kind)
{
    static const char *const names[CNN_CU_STEP_KIND_COUNT] = {
        "input", "conv", "dense", "pool_cudnn", "pool", "global_avg_pool", "act", "prelu", "softmax_cudnn",
        "softmax", "lrn_cudnn", "lrn", "affine", "concat", "add", "to_flat", "zero_pad", "maxout", "output",
    };
    return kind >= 0 && kind < CNN_CU_STEP_KIND_COUNT ? names[kind] : "?";
}

bool cnn_cu_supports_node(const cnn_graph_t *g, const cnn_node_t *n, cnn_precision_t precision)
{
    cnn_cu_format_t f = {0};
    if (cnn_cu_format_for(precision, &f, NULL) != CNN_OK)
        return false;
    switch (n->op) {
    case CNN_OP_CONV2D: {
        /* Padded channels would shift group boundaries: grouped convolutions
         * in NHWC need channel counts that are already aligned. */
        const cnn_node_t *in = &g->nodes[cnn_graph_resolve(g, n->inputs[0])];
        if (n->p.conv.groups > 1 && f.channel_align > 1 &&
            (in->out.c % f.channel_align != 0 || n->p.conv.out_channels % f.channel_align != 0))
            return false;
        return !in->flat;
    }
    case CNN_OP_LRN:
        return n->p.lrn.size % 2 == 1; /* as on the CPU: PyTorch centres even windows differently */
    case CNN_OP_CONCAT:
        return n->num_inputs <= CNN_CU_CONCAT_INPUTS_MAX;
    case CNN_OP_INPUT: case CNN_OP_DENSE: case CNN_OP_MAX_POOL: case CNN_OP_AVG_POOL:
    case CNN_OP_GLOBAL_AVG_POOL: case CNN_OP_RELU: case CNN_OP_LEAKY_RELU: case CNN_OP_PRELU: case CNN_OP_ELU:
    case CNN_OP_SIGMOID: case CNN_OP_TANH: case CNN_OP_CLIP: case CNN_OP_SOFTMAX: case CNN_OP_BATCH_NORM:
    case CNN_OP_DROPOUT: case CNN_OP_ADD: case CNN_OP_FLATTEN: case CNN_OP_ZERO_PAD:
    case CNN_OP_MAXOUT:
        return true;
    case CNN_OP_COUNT:
        break;
    }
    return false;
}

/* Appends an arena buffer of `bytes` first used at step `first`; returns its index or -1 on OOM. */
static int buffer_new(cnn_cu_plan_t *p, size_t bytes, int first)
{
    cnn_cu_buffer_t *b = cnn_array_grow(p->bufs, &p->cap_bufs, p->num_bufs, sizeof *b);
    if (!b)
        return -1;
    p->bufs = b;
    p->bufs[p->num_bufs] = (cnn_cu_buffer_t){.bytes = bytes, .offset = 0, .first = first, .last = first};
    return p->num_bufs++;
}

/* Gives tensor t a fresh arena buffer first written at step `at`. */
static cnn_status_t tensor_alloc(cnn_cu_plan_t *p, cnn_cu_tensor_t *t, int at, cnn_error_t *err)
{
    t->buf = buffer_new(p, cnn_cu_tensor_elems(t) * cnn_cu_dtype_size(p->fmt.dtype), at);
    return t->buf < 0 ? cnn_error_set(err, CNN_E_NOMEM, "out of memory planning the CUDA session") : CNN_OK;
}

static bool pad_symmetric(const cnn_pad_t *pad)
{
    return pad->top == pad->bottom && pad->left == pad->right;
}

/* cuDNN pooling computes out = (in + 2 pad - k) / stride + 1 with symmetric
 * padding; it runs a pool only when that is the graph's output size. */
static bool pool_fits_cudnn(const cnn_cu_plan_t *p, const cnn_node_t *n, const cnn_cu_tensor_t *in)
{
    const cnn_pool_params_t *pp = &n->p.pool;
    if (p->fmt.layout != CNN_CU_NCHW || !pad_symmetric(&pp->pad))
        return false;
    if (pp->pad.top >= pp->kh || pp->pad.left >= pp->kw)
        return false;
    int oh = (in->h + 2 * pp->pad.top - pp->kh) / pp->sh + 1;
    int ow = (in->w + 2 * pp->pad.left - pp->kw) / pp->sw + 1;
    return oh == n->out.h && ow == n->out.w;
}

/* Chooses the step for executed node i and its output tensor's storage. */
static cnn_status_t plan_node(cnn_cu_plan_t *p, const cnn_graph_t *g, int i, cnn_error_t *err)
{
    const cnn_node_t *n = &g->nodes[i];
    cnn_cu_tensor_t *t = &p->values[i];
    cnn_cu_step_t *s = &p->steps[p->num_steps];
    memset(s, 0, sizeof *s);
    s->node = i;
    s->in = n->num_inputs > 0 ? cnn_graph_resolve(g, n->inputs[0]) : -1;
    s->aux.buf = CNN_CU_BUF_NONE;
    const cnn_cu_tensor_t *in = s->in >= 0 ? &p->values[s->in] : NULL;
    bool add_step = true, alloc = true;
    cnn_status_t st = CNN_OK;

    switch (n->op) {
    case CNN_OP_INPUT:
        if (p->fmt.dtype == CNN_CU_F32 && p->fmt.layout == CNN_CU_NCHW) {
            t->buf = CNN_CU_BUF_INPUT; /* the staging buffer is already the tensor */
            add_step = alloc = false;
        }
        s->kind = CNN_CU_STEP_INPUT;
        break;
    case CNN_OP_CONV2D: {
        const cnn_conv_params_t *c = &n->p.conv;
        s->kind = CNN_CU_STEP_CONV;
        s->conv_fused = n->post_act == CNN_ACT_RELU;
        if (!pad_symmetric(&c->pad)) {
            cnn_cu_tensor_init(&s->aux, p->batch, in->c, in->h + c->pad.top + c->pad.bottom,
                               in->w + c->pad.left + c->pad.right, false, p->fmt.layout, p->fmt.channel_align);
            s->aux_pad_top = c->pad.top;
            s->aux_pad_left = c->pad.left;
            if ((st = tensor_alloc(p, &s->aux, i, err)) != CNN_OK)
                return st;
        }
        break;
    }
    case CNN_OP_DENSE:
        s->kind = CNN_CU_STEP_DENSE;
        if (!in->flat && in->layout == CNN_CU_NHWC) {
            cnn_cu_tensor_init(&s->aux, p->batch, in->c, in->h, in->w, true, CNN_CU_NCHW, 1);
            if ((st = tensor_alloc(p, &s->aux, i, err)) != CNN_OK)
                return st;
        }
        break;
    case CNN_OP_MAX_POOL:
    case CNN_OP_AVG_POOL:
        s->kind = pool_fits_cudnn(p, n, in) ? CNN_CU_STEP_POOL_CUDNN : CNN_CU_STEP_POOL;
        /* PyTorch's ceil_mode + count_include_pad divisor excludes the extra
         * ceil area; cuDNN would count it. */
        if (n->op == CNN_OP_AVG_POOL && n->p.pool.count_include_pad && n->p.pool.ceil_mode)
            s->kind = CNN_CU_STEP_POOL;
        break;
    case CNN_OP_GLOBAL_AVG_POOL: s->kind = CNN_CU_STEP_GLOBAL_AVG_POOL; break;
    case CNN_OP_RELU: case CNN_OP_LEAKY_RELU: case CNN_OP_ELU: case CNN_OP_SIGMOID: case CNN_OP_TANH:
    case CNN_OP_CLIP:
        s->kind = CNN_CU_STEP_ACT;
        break;
    case CNN_OP_PRELU: s->kind = CNN_CU_STEP_PRELU; break;
    case CNN_OP_SOFTMAX:
        s->kind = in->flat || in->layout == CNN_CU_NCHW ? CNN_CU_STEP_SOFTMAX_CUDNN : CNN_CU_STEP_SOFTMAX;
        break;
    case CNN_OP_LRN:
        s->kind = !in->flat && in->layout == CNN_CU_NCHW && n->p.lrn.size >= 1 && n->p.lrn.size <= 15
                      ? CNN_CU_STEP_LRN_CUDNN : CNN_CU_STEP_LRN;
        break;
    case CNN_OP_BATCH_NORM: s->kind = CNN_CU_STEP_AFFINE; break;
    case CNN_OP_CONCAT: s->kind = CNN_CU_STEP_CONCAT; break;
    case CNN_OP_ADD: s->kind = CNN_CU_STEP_ADD; break;
    case CNN_OP_ZERO_PAD: s->kind = CNN_CU_STEP_ZERO_PAD; break;
    case CNN_OP_MAXOUT: s->kind = CNN_CU_STEP_MAXOUT; break;
    case CNN_OP_DROPOUT:
        t->buf = in->buf; /* identity at inference: the same memory */
        add_step = alloc = false;
        break;
    case CNN_OP_FLATTEN:
        if (in->flat || in->layout == CNN_CU_NCHW) {
            t->buf = in->buf; /* CHW order already: a reshape */
            add_step = alloc = false;
        } else {
            s->kind = CNN_CU_STEP_TO_FLAT;
        }
        break;
    case CNN_OP_COUNT:
        return cnn_error_set(err, CNN_E_UNSUPPORTED, "node %s: unknown op", n->name);
    }
    if (alloc && (st = tensor_alloc(p, t, i, err)) != CNN_OK)
        return st;
    if (add_step)
        p->num_steps++;
    return CNN_OK;
}

/* Extends every buffer's live range to the last step reading a value stored
 * in it, then places the buffers in the arena. */
static cnn_status_t place_buffers(cnn_cu_plan_t *p, const cnn_graph_t *g, cnn_error_t *err)
{
    int nn = g->num_nodes;
    int *first = malloc((size_t)nn * sizeof *first), *last = malloc((size_t)nn * sizeof *last);
    int nb = p->num_bufs > 0 ? p->num_bufs : 1;
    size_t *sizes = malloc((size_t)nb * sizeof *sizes), *offsets = malloc((size_t)nb * sizeof *offsets);
    int *bf = malloc((size_t)nb * sizeof *bf), *bl = malloc((size_t)nb * sizeof *bl);
    cnn_status_t st = CNN_OK;
    if (!first || !last || !sizes || !offsets || !bf || !bl) {
        st = cnn_error_set(err, CNN_E_NOMEM, "out of memory planning the CUDA session");
        goto done;
    }
    cnn_graph_liveness(g, NULL, first, last);
    for (int v = 0; v < nn; v++) {
        int b = p->values[v].buf;
        if (b >= 0 && last[v] > p->bufs[b].last)
            p->bufs[b].last = last[v];
    }
    for (int b = 0; b < p->num_bufs; b++) {
        sizes[b] = p->bufs[b].bytes + p->guard_bytes;
        bf[b] = p->guard_bytes ? 0 : p->bufs[b].first;
        bl[b] = p->guard_bytes ? nn : p->bufs[b].last;
    }
    if ((st = cnn_plan_arena(p->num_bufs, sizes, bf, bl, CNN_CU_ARENA_ALIGN, offsets, &p->arena_bytes)) != CNN_OK) {
        st = cnn_error_set(err, st, "out of memory planning the CUDA session");
        goto done;
    }
    for (int b = 0; b < p->num_bufs; b++)
        p->bufs[b].offset = offsets[b];
done:
    free(first);
    free(last);
    free(sizes);
    free(offsets);
    free(bf);
    free(bl);
    return st;
}

cnn_status_t cnn_cu_plan_build(const cnn_graph_t *g, cnn_precision_t precision, int batch, size_t guard_bytes,
                               cnn_cu_plan_t **out, cnn_error_t *err)
{
    *out = NULL;
    if (batch < 1)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "batch %d < 1", batch);
    cnn_cu_plan_t *p = calloc(1, sizeof *p);
    if (!p)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory planning the CUDA session");
    cnn_status_t st = cnn_cu_format_for(precision, &p->fmt, err);
    int nn = g->num_nodes;
    p->batch = batch;
    p->precision = precision;
    p->guard_bytes = guard_bytes;
    p->num_values = nn;
    p->input_value = p->output_value = -1;
    if (st == CNN_OK && (!(p->values = calloc((size_t)(nn > 0 ? nn : 1), sizeof *p->values)) ||
                         !(p->steps = calloc((size_t)nn + 1, sizeof *p->steps))))
        st = cnn_error_set(err, CNN_E_NOMEM, "out of memory planning the CUDA session");
    for (int i = 0; st == CNN_OK && i < nn; i++) {
        const cnn_node_t *n = &g->nodes[i];
        cnn_cu_tensor_init(&p->values[i], batch, n->out.c, n->out.h, n->out.w, n->flat, p->fmt.layout,
                           p->fmt.channel_align);
        if (n->fused_into >= 0)
            continue;
        if (!cnn_cu_supports_node(g, n, precision)) {
            st = cnn_error_set(err, CNN_E_UNSUPPORTED, "layer %s (%s) is not supported by the CUDA backend in %s",
                               n->name, cnn_op_name(n->op), precision == CNN_PRECISION_FP16 ? "fp16" : "fp32");
            break;
        }
        if (n->op == CNN_OP_INPUT) {
            if (p->input_value >= 0) {
                st = cnn_error_set(err, CNN_E_UNSUPPORTED, "the CUDA backend runs graphs with exactly one input");
                break;
            }
            p->input_value = i;
        }
        st = plan_node(p, g, i, err);
    }
    if (st == CNN_OK && p->input_value < 0)
        st = cnn_error_set(err, CNN_E_UNSUPPORTED, "the CUDA backend runs graphs with exactly one input (got 0)");
    if (st == CNN_OK) {
        p->output_value = cnn_graph_resolve(g, g->output);
        if (p->output_value < 0 || p->output_value >= nn)
            st = cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "graph has no output node");
    }
    if (st == CNN_OK) {
        const cnn_node_t *in = &g->nodes[p->input_value];
        p->input_floats = (size_t)in->out.c * in->out.h * in->out.w;
        p->output_floats = cnn_node_numel(&g->nodes[p->output_value]);
        cnn_cu_step_t *s = &p->steps[p->num_steps++];
        memset(s, 0, sizeof *s);
        s->kind = CNN_CU_STEP_OUTPUT;
        s->node = s->in = p->output_value;
        s->aux.buf = CNN_CU_BUF_NONE;
        st = place_buffers(p, g, err);
    }
    if (st != CNN_OK) {
        cnn_cu_plan_free(p);
        return st;
    }
    *out = p;
    return CNN_OK;
}

void cnn_cu_plan_free(cnn_cu_plan_t *p)
{
    if (!p)
        return;
    free(p->values);
    free(p->steps);
    free(p->bufs);
    free(p);
}

size_t cnn_cu_plan_guard_offset(const cnn_cu_plan_t *p, int buf)
{
    return p->bufs[buf].offset + p->bufs[buf].bytes;
}
