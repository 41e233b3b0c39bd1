/* Plan skeleton: buffers, views, steps, arena layout and execution. The
 * per-op builders live in dnnl_ops_*.c. */
#include "dnnl_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array_grow.h"
#include "planner.h"

#define CNN_CPU_ALIGN 64

/* New buffer of `size` bytes holding values readable until graph step
 * node_last; returns its index or a negative status. */
static int buffer_new(cnn_cpu_build_t *b, cnn_cpu_buf_kind_t kind, size_t size, int node_last)
{
    cnn_cpu_plan_t *p = b->p;
    cnn_cpu_buffer_t *bufs = cnn_array_grow(p->bufs, &p->cap_bufs, p->num_bufs, sizeof *p->bufs);
    if (!bufs)
        return cnn_error_set(b->err, CNN_E_NOMEM, "out of memory");
    p->bufs = bufs;
    p->bufs[p->num_bufs] = (cnn_cpu_buffer_t){
        .kind = kind, .size = size, .offset = 0, .first = -1, .last = -1, .node_last = node_last};
    return p->num_bufs++;
}

/* New view of buffer `buf` with descriptor md, not chained to any value;
 * returns its index or a negative status. md may point into p->views
 * (it is copied before the array grows). */
static int view_new(cnn_cpu_build_t *b, const dnnl_memory_desc_t *md_in, int buf)
{
    const dnnl_memory_desc_t md_copy = *md_in, *md = &md_copy;
    cnn_cpu_plan_t *p = b->p;
    cnn_cpu_view_t *views = cnn_array_grow(p->views, &p->cap_views, p->num_views, sizeof *p->views);
    if (!views)
        return cnn_error_set(b->err, CNN_E_NOMEM, "out of memory");
    p->views = views;
    cnn_cpu_view_t *v = &p->views[p->num_views];
    v->md = *md;
    v->buf = buf;
    v->next = -1;
    v->mem = NULL;
    cnn_status_t st = CNN_DNNL_CHECK(b->err, dnnl_memory_create(&v->mem, md, b->s->engine, DNNL_MEMORY_NONE));
    return st != CNN_OK ? st : p->num_views++;
}

bool cnn_cpu_view_dies_here(const cnn_cpu_build_t *b, int v)
{
    const cnn_cpu_buffer_t *buf = &b->p->bufs[b->p->views[v].buf];
    return buf->kind == CNN_CPU_BUF_ARENA && buf->node_last <= b->node;
}

int cnn_cpu_view_output(cnn_cpu_build_t *b, const dnnl_memory_desc_t *md_in, int reuse)
{
    const dnnl_memory_desc_t md_copy = *md_in, *md = &md_copy; /* md_in may point into p->views */
    int node_last = b->s->last[b->node];
    if (reuse >= 0 && cnn_cpu_view_dies_here(b, reuse) &&
        dnnl_memory_desc_equal(&b->p->views[reuse].md, md)) {
        int buf = b->p->views[reuse].buf;
        if (b->p->bufs[buf].node_last < node_last)
            b->p->bufs[buf].node_last = node_last;
        return view_new(b, md, buf);
    }
    int buf = buffer_new(b, CNN_CPU_BUF_ARENA, dnnl_memory_desc_get_size(md), node_last);
    return buf < 0 ? buf : view_new(b, md, buf);
}

int cnn_cpu_view_alias(cnn_cpu_build_t *b, int v)
{
    cnn_cpu_buffer_t *buf = &b->p->bufs[b->p->views[v].buf];
    if (buf->node_last < b->s->last[b->node])
        buf->node_last = b->s->last[b->node];
    return view_new(b, &b->p->views[v].md, b->p->views[v].buf);
}

void cnn_cpu_value_set(cnn_cpu_build_t *b, int v)
{
    b->p->node_view[b->node] = v;
}

/* Adds view v to the chain of value `value` (after its primary view). */
static void value_chain(cnn_cpu_build_t *b, int value, int v)
{
    int head = b->p->node_view[value];
    b->p->views[v].next = b->p->views[head].next;
    b->p->views[head].next = v;
}

/* The batch-sized dims of a value seen with `ndims` dimensions. */
static void value_dims(const cnn_cpu_build_t *b, int value, int ndims, dnnl_dim_t *dims)
{
    const cnn_node_t *n = &b->s->g->nodes[value];
    dims[0] = b->p->batch;
    if (ndims == 2) {
        dims[1] = (dnnl_dim_t)cnn_node_numel(n);
    } else {
        dims[1] = n->out.c;
        dims[2] = n->out.h;
        dims[3] = n->out.w;
    }
}

int cnn_cpu_value_get(cnn_cpu_build_t *b, int value, const dnnl_memory_desc_t *md_in)
{
    const dnnl_memory_desc_t md_copy = *md_in, *md = &md_copy; /* md_in may point into p->views */
    cnn_cpu_plan_t *p = b->p;
    int src = -1;
    for (int v = p->node_view[value]; v >= 0; v = p->views[v].next) {
        if (dnnl_memory_desc_equal(&p->views[v].md, md))
            return v;
        if (src < 0 && p->views[v].md.ndims == md->ndims)
            src = v;
    }
    if (src < 0 && (src = cnn_cpu_value_get_ndims(b, value, md->ndims)) < 0)
        return src;
    int buf = buffer_new(b, CNN_CPU_BUF_ARENA, dnnl_memory_desc_get_size(md), b->s->last[value]);
    int v = buf < 0 ? buf : view_new(b, md, buf);
    if (v < 0)
        return v;
    cnn_status_t st = cnn_cpu_step_reorder(b, src, v);
    if (st != CNN_OK)
        return st;
    value_chain(b, value, v);
    return v;
}

int cnn_cpu_value_get_ndims(cnn_cpu_build_t *b, int value, int ndims)
{
    cnn_cpu_plan_t *p = b->p;
    int head = p->node_view[value];
    for (int v = head; v >= 0; v = p->views[v].next)
        if (p->views[v].md.ndims == ndims)
            return v;
    /* Reshaping is a free alias over a plain layout of the same bytes. */
    const dnnl_memory_desc_t hmd = p->views[head].md; /* a copy: value_get may move p->views */
    dnnl_memory_desc_t plain = cnn_dnnl_md_plain(hmd.ndims, hmd.dims, hmd.data_type);
    int pv = cnn_cpu_value_get(b, value, &plain);
    if (pv < 0)
        return pv;
    dnnl_dim_t dims[4];
    value_dims(b, value, ndims, dims);
    dnnl_memory_desc_t md = cnn_dnnl_md_plain(ndims, dims, hmd.data_type);
    int v = view_new(b, &md, p->views[pv].buf);
    if (v < 0)
        return v;
    value_chain(b, value, v);
    return v;
}

int cnn_cpu_value_get_plain(cnn_cpu_build_t *b, int value, int ndims)
{
    dnnl_dim_t dims[4];
    value_dims(b, value, ndims, dims);
    dnnl_memory_desc_t md = cnn_dnnl_md_plain(ndims, dims, dnnl_f32);
    return cnn_cpu_value_get(b, value, &md);
}

/* Records that the step being appended uses buffer `buf`. */
static void touch(cnn_cpu_plan_t *p, int buf)
{
    cnn_cpu_buffer_t *bf = &p->bufs[buf];
    if (bf->first < 0)
        bf->first = p->num_steps;
    bf->last = p->num_steps;
}

/* Appends a step; takes ownership of args (freed on failure too). */
static cnn_status_t step_append(cnn_cpu_build_t *b, const cnn_cpu_step_t *step)
{
    cnn_cpu_plan_t *p = b->p;
    cnn_cpu_step_t *steps = cnn_array_grow(p->steps, &p->cap_steps, p->num_steps, sizeof *p->steps);
    if (!steps) {
        free(step->args);
        if (step->prim)
            dnnl_primitive_destroy(step->prim);
        return cnn_error_set(b->err, CNN_E_NOMEM, "out of memory");
    }
    p->steps = steps;
    p->steps[p->num_steps++] = *step;
    return CNN_OK;
}

dnnl_primitive_attr_t cnn_cpu_attr_new(const_dnnl_post_ops_t post_ops)
{
    dnnl_primitive_attr_t attr = NULL;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success)
        return NULL;
    if (dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) != dnnl_success ||
        (post_ops && dnnl_primitive_attr_set_post_ops(attr, post_ops) != dnnl_success)) {
        dnnl_primitive_attr_destroy(attr);
        return NULL;
    }
    return attr;
}

dnnl_status_t cnn_cpu_pd_create(cnn_cpu_build_t *b, dnnl_primitive_desc_t *pd, const_dnnl_op_desc_t desc,
                                const_dnnl_post_ops_t post_ops)
{
    *pd = NULL;
    dnnl_primitive_attr_t attr = cnn_cpu_attr_new(post_ops);
    if (!attr)
        return dnnl_out_of_memory;
    dnnl_status_t s = dnnl_primitive_desc_create(pd, desc, attr, b->s->engine, NULL);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success)
        *pd = NULL;
    return s;
}

/* Records what computes the current node: its main primitive, or a reorder
 * when that is all the node needs. */
static void impl_record(cnn_cpu_build_t *b, const_dnnl_primitive_desc_t pd)
{
    if (b->node >= b->s->g->num_nodes)
        return;
    cnn_layer_impl_t *li = &b->p->node_impl[b->node];
    dnnl_primitive_kind_t kind = dnnl_undefined_primitive;
    dnnl_primitive_desc_query(pd, dnnl_query_primitive_kind, 0, &kind);
    if (kind == dnnl_reorder && li->impl[0])
        return;
    const char *name = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) != dnnl_success || !name)
        name = "unknown";
    const dnnl_memory_desc_t *dst = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    snprintf(li->impl, sizeof li->impl, "%s", name);
    snprintf(li->dtype, sizeof li->dtype, "%s", dst ? cnn_dnnl_type_name(dst->data_type) : "");
}

cnn_status_t cnn_cpu_step_primitive(cnn_cpu_build_t *b, const_dnnl_primitive_desc_t pd,
                                    const cnn_cpu_arg_t *args, int nargs)
{
    cnn_cpu_plan_t *p = b->p;
    cnn_cpu_step_t step = {0};
    cnn_status_t st = CNN_OK;
    dnnl_memory_t scratch = NULL;
    step.args = malloc((size_t)(nargs + 1) * sizeof *step.args);
    if (!step.args)
        return cnn_error_set(b->err, CNN_E_NOMEM, "out of memory");
    for (int i = 0; i < nargs; i++) {
        step.args[i].arg = args[i].arg;
        step.args[i].memory = args[i].view >= 0 ? p->views[args[i].view].mem : args[i].mem;
        if (args[i].view >= 0)
            touch(p, p->views[args[i].view].buf);
    }
    step.nargs = nargs;
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t ssize = smd ? dnnl_memory_desc_get_size(smd) : 0;
    if (ssize > 0) {
        dnnl_memory_t *mems = cnn_array_grow(p->scratch_mems, &p->cap_scratch, p->num_scratch, sizeof *mems);
        if (!mems) {
            st = cnn_error_set(b->err, CNN_E_NOMEM, "out of memory");
            goto done;
        }
        p->scratch_mems = mems;
        CNN_DNNL_TRY(b->err, dnnl_memory_create(&scratch, smd, b->s->engine, DNNL_MEMORY_NONE));
        p->scratch_mems[p->num_scratch++] = scratch;
        step.args[step.nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, scratch};
        if (ssize > p->scratch_bytes)
            p->scratch_bytes = ssize;
    }
    CNN_DNNL_TRY(b->err, dnnl_primitive_create(&step.prim, pd));
    impl_record(b, pd);
    return step_append(b, &step);
done:
    free(step.args);
    return st;
}

cnn_status_t cnn_cpu_step_reorder(cnn_cpu_build_t *b, int src, int dst)
{
    dnnl_primitive_desc_t pd = NULL;
    cnn_status_t st;
    dnnl_primitive_attr_t attr = cnn_cpu_attr_new(NULL);
    if (!attr)
        return cnn_error_set(b->err, CNN_E_NOMEM, "out of memory");
    CNN_DNNL_TRY(b->err, dnnl_reorder_primitive_desc_create(&pd, &b->p->views[src].md, b->s->engine,
                                                            &b->p->views[dst].md, b->s->engine, attr));
    cnn_cpu_arg_t args[2] = {{DNNL_ARG_FROM, src, NULL}, {DNNL_ARG_TO, dst, NULL}};
    st = cnn_cpu_step_primitive(b, pd, args, 2);
done:
    dnnl_primitive_attr_destroy(attr);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    return st;
}

cnn_status_t cnn_cpu_step_loop(cnn_cpu_build_t *b, const cnn_cpu_loop_t *loop)
{
    cnn_cpu_step_t step = {0};
    step.loop = *loop;
    if (b->node < b->s->g->num_nodes)
        b->p->node_impl[b->node] = (cnn_layer_impl_t){.impl = "loop", .dtype = "f32"};
    touch(b->p, b->p->views[loop->in_view].buf);
    touch(b->p, b->p->views[loop->out_view].buf);
    return step_append(b, &step);
}

/* Input node: a plain fp32 NCHW view over the caller's array. */
static cnn_status_t build_input(cnn_cpu_build_t *b, const cnn_node_t *n)
{
    dnnl_dim_t dims[4] = {b->p->batch, n->out.c, n->out.h, n->out.w};
    dnnl_memory_desc_t md = cnn_dnnl_md_plain(4, dims, dnnl_f32);
    int buf = buffer_new(b, CNN_CPU_BUF_INPUT, dnnl_memory_desc_get_size(&md), b->s->last[b->node]);
    int v = buf < 0 ? buf : view_new(b, &md, buf);
    if (v < 0)
        return (cnn_status_t)v;
    cnn_cpu_value_set(b, v);
    return CNN_OK;
}

/* Dropout (normally rewritten away): the output is the input. */
static cnn_status_t build_identity(cnn_cpu_build_t *b, const cnn_node_t *n)
{
    int head = b->p->node_view[cnn_graph_resolve(b->s->g, n->inputs[0])];
    int v = cnn_cpu_view_alias(b, head);
    if (v < 0)
        return (cnn_status_t)v;
    cnn_cpu_value_set(b, v);
    return CNN_OK;
}

static cnn_status_t build_node(cnn_cpu_build_t *b, const cnn_node_t *n)
{
    switch (n->op) {
    case CNN_OP_INPUT: return build_input(b, n);
    case CNN_OP_CONV2D: return cnn_cpu_build_conv(b, n);
    case CNN_OP_DENSE: return cnn_cpu_build_dense(b, n);
    case CNN_OP_MAX_POOL:
    case CNN_OP_AVG_POOL:
    case CNN_OP_GLOBAL_AVG_POOL: return cnn_cpu_build_pool(b, n);
    case CNN_OP_RELU:
    case CNN_OP_LEAKY_RELU:
    case CNN_OP_ELU:
    case CNN_OP_SIGMOID:
    case CNN_OP_TANH:
    case CNN_OP_CLIP: return cnn_cpu_build_eltwise(b, n);
    case CNN_OP_PRELU: return cnn_cpu_build_prelu(b, n);
    case CNN_OP_SOFTMAX: return cnn_cpu_build_softmax(b, n);
    case CNN_OP_LRN: return cnn_cpu_build_lrn(b, n);
    case CNN_OP_BATCH_NORM: return cnn_cpu_build_batch_norm(b, n);
    case CNN_OP_DROPOUT: return build_identity(b, n);
    case CNN_OP_CONCAT: return cnn_cpu_build_concat(b, n);
    case CNN_OP_ADD: return cnn_cpu_build_add(b, n);
    case CNN_OP_FLATTEN: return cnn_cpu_build_flatten(b, n);
    case CNN_OP_ZERO_PAD: return cnn_cpu_build_zero_pad(b, n);
    case CNN_OP_MAXOUT: return cnn_cpu_build_maxout(b, n);
    case CNN_OP_COUNT: break;
    }
    return cnn_error_set(b->err, CNN_E_UNSUPPORTED, "op %d is not supported by the CPU backend", (int)n->op);
}

/* Final step: the output value, reordered into the caller's plain fp32 array. */
static cnn_status_t build_output(cnn_cpu_build_t *b)
{
    cnn_cpu_plan_t *p = b->p;
    int value = cnn_graph_resolve(b->s->g, b->s->g->output);
    int src = p->node_view[value];
    const dnnl_memory_desc_t *smd = &p->views[src].md;
    dnnl_memory_desc_t md = cnn_dnnl_md_plain(smd->ndims, smd->dims, dnnl_f32);
    int buf = buffer_new(b, CNN_CPU_BUF_OUTPUT, dnnl_memory_desc_get_size(&md), b->node);
    p->out_view = buf < 0 ? buf : view_new(b, &md, buf);
    if (p->out_view < 0)
        return (cnn_status_t)p->out_view;
    return cnn_cpu_step_reorder(b, src, p->out_view);
}

/* A value may be fetched (cnn_cpu_plan_run) once the steps of its node have
 * run, even when no later step reads it (a branch only a dashboard asks
 * for) or when its node only re-viewed bytes an earlier step wrote (a flatten
 * over a copy made for another reader): its buffer stays reserved until then. */
static void keep_values_until_fetchable(cnn_cpu_build_t *b)
{
    cnn_cpu_plan_t *p = b->p;
    for (int v = 0; v < b->s->g->num_nodes; v++) {
        if (p->node_view[v] < 0)
            continue;
        cnn_cpu_buffer_t *buf = &p->bufs[p->views[p->node_view[v]].buf];
        int fetch_at = p->node_steps[v] - 1;
        if (buf->first >= 0 && buf->last < fetch_at)
            buf->last = fetch_at;
    }
}

/* Places arena buffers with the shared planner from the steps touching them. */
static cnn_status_t plan_layout(cnn_cpu_build_t *b)
{
    cnn_cpu_plan_t *p = b->p;
    keep_values_until_fetchable(b);
    int n = p->num_bufs;
    size_t cnt = (size_t)(n > 0 ? n : 1);
    size_t *sizes = malloc(cnt * sizeof *sizes);
    size_t *offsets = malloc(cnt * sizeof *offsets);
    int *first = malloc(cnt * sizeof *first);
    int *last = malloc(cnt * sizeof *last);
    cnn_status_t st = CNN_E_NOMEM;
    if (!sizes || !offsets || !first || !last)
        goto done;
    for (int i = 0; i < n; i++) {
        bool arena = p->bufs[i].kind == CNN_CPU_BUF_ARENA;
        sizes[i] = arena ? p->bufs[i].size : 0;
        first[i] = arena ? p->bufs[i].first : -1;
        last[i] = p->bufs[i].last;
    }
    st = cnn_plan_arena(n, sizes, first, last, CNN_CPU_ALIGN, offsets, &p->arena_bytes);
    for (int i = 0; st == CNN_OK && i < n; i++)
        p->bufs[i].offset = offsets[i];
done:
    free(sizes);
    free(offsets);
    free(first);
    free(last);
    return st == CNN_OK ? st : cnn_error_set(b->err, st, "out of memory");
}

cnn_status_t cnn_cpu_plan_create(cnn_backend_session_t *s, int batch, cnn_cpu_plan_t **out, cnn_error_t *err)
{
    const cnn_graph_t *g = s->g;
    cnn_cpu_plan_t *p = calloc(1, sizeof *p);
    cnn_cpu_build_t b = {.s = s, .p = p, .err = err, .node = 0};
    cnn_status_t st = CNN_OK;
    *out = NULL;
    size_t nn = (size_t)(g->num_nodes > 0 ? g->num_nodes : 1);
    if (!p || !(p->node_view = malloc(nn * sizeof *p->node_view)) ||
        !(p->node_steps = calloc(nn, sizeof *p->node_steps)) || !(p->node_impl = calloc(nn, sizeof *p->node_impl))) {
        st = cnn_error_set(err, CNN_E_NOMEM, "out of memory");
        goto done;
    }
    p->batch = batch;
    p->out_view = -1;
    for (int i = 0; i < g->num_nodes; i++)
        p->node_view[i] = -1;
    for (int i = 0; i < g->num_nodes; i++) {
        const cnn_node_t *n = &g->nodes[i];
        if (n->fused_into >= 0)
            continue;
        b.node = i;
        if ((st = build_node(&b, n)) != CNN_OK) {
            cnn_error_prefix(err, "layer '%s' (%s)", n->name, cnn_op_name(n->op));
            goto done;
        }
        p->node_steps[i] = p->num_steps;
    }
    b.node = g->num_nodes;
    if ((st = build_output(&b)) != CNN_OK || (st = plan_layout(&b)) != CNN_OK)
        goto done;
    *out = p;
    p = NULL;
done:
    cnn_cpu_plan_free(p);
    return st;
}

void cnn_cpu_plan_free(cnn_cpu_plan_t *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->num_steps; i++) {
        if (p->steps[i].prim)
            dnnl_primitive_destroy(p->steps[i].prim);
        free(p->steps[i].args);
    }
    for (int i = 0; i < p->num_views; i++)
        if (p->views[i].mem)
            dnnl_memory_destroy(p->views[i].mem);
    for (int i = 0; i < p->num_scratch; i++)
        dnnl_memory_destroy(p->scratch_mems[i]);
    free(p->steps);
    free(p->views);
    free(p->bufs);
    free(p->scratch_mems);
    free(p->node_view);
    free(p->node_steps);
    free(p->node_impl);
    free(p);
}

/* Points every view at its storage for this run. Arena and scratchpad
 * views are only re-pointed when the session grew those buffers. */
static cnn_status_t plan_bind(cnn_backend_session_t *s, cnn_cpu_plan_t *p, const float *input,
                              float *output, cnn_error_t *err)
{
    bool rebind = p->bound_arena != s->arena;
    for (int i = 0; i < p->num_views; i++) {
        const cnn_cpu_buffer_t *buf = &p->bufs[p->views[i].buf];
        void *ptr;
        if (buf->kind == CNN_CPU_BUF_INPUT)
            ptr = (void *)(uintptr_t)input; /* read-only: no step writes an input buffer */
        else if (buf->kind == CNN_CPU_BUF_OUTPUT)
            ptr = output;
        else if (rebind)
            ptr = (char *)s->arena + buf->offset;
        else
            continue;
        cnn_status_t st = CNN_DNNL_CHECK(err, dnnl_memory_set_data_handle(p->views[i].mem, ptr));
        if (st != CNN_OK)
            return st;
    }
    p->bound_arena = s->arena;
    if (p->bound_scratch != s->scratch) {
        for (int i = 0; i < p->num_scratch; i++) {
            cnn_status_t st = CNN_DNNL_CHECK(err, dnnl_memory_set_data_handle(p->scratch_mems[i], s->scratch));
            if (st != CNN_OK)
                return st;
        }
        p->bound_scratch = s->scratch;
    }
    return CNN_OK;
}

cnn_status_t cnn_cpu_plan_run(cnn_backend_session_t *s, cnn_cpu_plan_t *p, const float *input,
                              float *output, const cnn_backend_fetch_t *fetches, int num_fetches,
                              cnn_error_t *err)
{
    cnn_status_t st = plan_bind(s, p, input, output, err);
    if (st != CNN_OK)
        return st;
    int f = 0;
    for (int i = 0; i < p->num_steps; i++) {
        for (; f < num_fetches && p->node_steps[fetches[f].node] <= i; f++)
            if ((st = cnn_cpu_fetch_copy(s, p, &fetches[f], err)) != CNN_OK)
                return st;
        const cnn_cpu_step_t *step = &p->steps[i];
        if (step->prim) {
            st = CNN_DNNL_CHECK(err, dnnl_primitive_execute(step->prim, s->stream, step->nargs, step->args));
            if (st != CNN_OK)
                return st;
            continue;
        }
        void *in = NULL, *out = NULL;
        st = CNN_DNNL_CHECK(err, dnnl_stream_wait(s->stream));
        if (st == CNN_OK)
            st = CNN_DNNL_CHECK(err, dnnl_memory_get_data_handle(p->views[step->loop.in_view].mem, &in));
        if (st == CNN_OK)
            st = CNN_DNNL_CHECK(err, dnnl_memory_get_data_handle(p->views[step->loop.out_view].mem, &out));
        if (st != CNN_OK)
            return st;
        step->loop.fn(&step->loop, in, out);
    }
    for (; f < num_fetches; f++)
        if ((st = cnn_cpu_fetch_copy(s, p, &fetches[f], err)) != CNN_OK)
            return st;
    return CNN_DNNL_CHECK(err, dnnl_stream_wait(s->stream));
}
