/* Execution plan of the oneDNN backend for one batch size.
 *
 * Building a plan walks the rewritten graph once, creating forward-inference
 * primitives whose layouts oneDNN chooses (format `any`). Every tensor the
 * plan touches is a *view* (a memory descriptor + a dnnl_memory_t) over a
 * *buffer*; buffers are placed in the session's activation arena by
 * cnn_plan_arena from the steps that touch them. A graph value may have
 * several views (its primary one plus reordered variants other consumers
 * asked for) and in-place ops give a new value a view over its input's buffer.
 * Running a plan is a straight loop over its steps on one stream.
 */
#ifndef CNN_DNNL_PLAN_H
#define CNN_DNNL_PLAN_H

#include "backend.h"
#include "dnnl_util.h"

typedef enum cnn_cpu_buf_kind {
    CNN_CPU_BUF_ARENA = 0, /* placed in the activation arena */
    CNN_CPU_BUF_INPUT,     /* the caller's input array */
    CNN_CPU_BUF_OUTPUT,    /* the caller's output array */
} cnn_cpu_buf_kind_t;

typedef struct cnn_cpu_buffer {
    cnn_cpu_buf_kind_t kind;
    size_t size, offset;
    int first, last; /* first/last step touching it; -1 when none */
    int node_last;   /* last graph step that may read a value stored here */
} cnn_cpu_buffer_t;

typedef struct cnn_cpu_view {
    dnnl_memory_desc_t md;
    dnnl_memory_t mem;
    int buf;
    int next; /* next view of the same value, -1 at the end */
} cnn_cpu_view_t;

/* Hand-written kernels for ops oneDNN lacks; they work on plain fp32 views. */
typedef struct cnn_cpu_loop {
    const cnn_node_t *node;
    int batch;
    cnn_shape_t in, out; /* per-image shapes */
    int in_view, out_view;
    void (*fn)(const struct cnn_cpu_loop *l, const float *in, float *out);
} cnn_cpu_loop_t;

typedef struct cnn_cpu_step {
    dnnl_primitive_t prim; /* NULL for a loop */
    dnnl_exec_arg_t *args;
    int nargs;
    cnn_cpu_loop_t loop;
} cnn_cpu_step_t;

/* One argument of a step: a plan view, or (view < 0) a constant memory. */
typedef struct cnn_cpu_arg {
    int arg;
    int view;
    dnnl_memory_t mem;
} cnn_cpu_arg_t;

/* Weights and other constants, reordered once into the layout a primitive
 * wants and shared by all plans of a session that want the same layout. */
typedef struct cnn_cpu_const {
    int node, key;
    dnnl_memory_desc_t md;
    dnnl_memory_t mem;
    void *data;
    struct cnn_cpu_const *next;
} cnn_cpu_const_t;

typedef struct cnn_cpu_plan {
    int batch;
    cnn_cpu_buffer_t *bufs;
    int num_bufs, cap_bufs;
    cnn_cpu_view_t *views;
    int num_views, cap_views;
    cnn_cpu_step_t *steps;
    int num_steps, cap_steps;
    dnnl_memory_t *scratch_mems;
    int num_scratch, cap_scratch;
    int *node_view; /* primary view of each graph value, -1 if none */
    int *node_steps; /* steps that have run once each graph value is computed */
    cnn_layer_impl_t *node_impl; /* what computes each graph node (its main primitive) */
    int out_view;   /* the caller's output array */
    size_t arena_bytes, scratch_bytes;
    void *bound_arena, *bound_scratch; /* what arena views point at now */
} cnn_cpu_plan_t;

struct cnn_backend_session {
    const cnn_graph_t *g;
    cnn_session_options_t opts;
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    int *last;   /* graph liveness: last step reading each value */
    cnn_cpu_plan_t **plans; /* [max_batch + 1], built lazily */
    cnn_cpu_const_t *consts;
    void *arena, *scratch;
    size_t arena_size, scratch_size;
};

/* Plan under construction: the session, the plan and the error sink. */
typedef struct cnn_cpu_build {
    cnn_backend_session_t *s;
    cnn_cpu_plan_t *p;
    cnn_error_t *err;
    int node; /* node being built (the current graph step) */
} cnn_cpu_build_t;

/* --- dnnl_plan.c: plan skeleton --- */

/* Builds the plan for `batch` images into *out. */
cnn_status_t cnn_cpu_plan_create(cnn_backend_session_t *s, int batch, cnn_cpu_plan_t **out, cnn_error_t *err);
void cnn_cpu_plan_free(cnn_cpu_plan_t *p);
/* Points the plan's memories at the session arena/scratchpad and the caller's
 * arrays, then runs every step on the session stream; each fetch (sorted by
 * node) is copied out right after the steps computing its node. */
cnn_status_t cnn_cpu_plan_run(cnn_backend_session_t *s, cnn_cpu_plan_t *p, const float *input,
                              float *output, const cnn_backend_fetch_t *fetches, int num_fetches,
                              cnn_error_t *err);

/* --- dnnl_fetch.c: feature-map copies --- */

/* Copies images [f->image, f->image + f->count) of node f->node's value
 * (its primary view, bound for this run) into f->data as plain fp32. */
cnn_status_t cnn_cpu_fetch_copy(cnn_backend_session_t *s, cnn_cpu_plan_t *p, const cnn_backend_fetch_t *f,
                                cnn_error_t *err);

/* Index-returning helpers below return the new index (>= 0) or a negative
 * cnn_status_t with err filled. */

/* Views live in a growable array (p->views) that these helpers may move: keep
 * view indices, never pointers into it, across them. A descriptor argument may
 * point into p->views; it is copied before anything grows. */

/* Fresh arena view for the output of the current node, or an in-place view
 * over `reuse` (a view index, -1 for none) when that buffer dies here and
 * the descriptor matches. */
int cnn_cpu_view_output(cnn_cpu_build_t *b, const dnnl_memory_desc_t *md, int reuse);
/* New view with view v's descriptor over its buffer (same bytes), holding the
 * current node's value. */
int cnn_cpu_view_alias(cnn_cpu_build_t *b, int v);
/* True when view v's buffer is arena memory no later step reads. */
bool cnn_cpu_view_dies_here(const cnn_cpu_build_t *b, int v);
/* Makes v the primary view of the current node's value. */
void cnn_cpu_value_set(cnn_cpu_build_t *b, int v);
/* Index of a view of graph value `value` with exactly descriptor md,
 * appending a reorder step (and caching the new view) when needed. */
int cnn_cpu_value_get(cnn_cpu_build_t *b, int value, const dnnl_memory_desc_t *md);
/* A view of `value` with `ndims` dimensions (2: [N, numel], 4: [N,C,H,W]),
 * reordering to a plain layout first when the layouts differ. */
int cnn_cpu_value_get_ndims(cnn_cpu_build_t *b, int value, int ndims);
/* A plain fp32 view of `value` with `ndims` dimensions. */
int cnn_cpu_value_get_plain(cnn_cpu_build_t *b, int value, int ndims);
/* Appends a reorder step from view src into view dst. */
cnn_status_t cnn_cpu_step_reorder(cnn_cpu_build_t *b, int src, int dst);
/* Creates the primitive of `pd` (scratchpad mode user) and appends it as a
 * step with `args`. Does not destroy pd. */
cnn_status_t cnn_cpu_step_primitive(cnn_cpu_build_t *b, const_dnnl_primitive_desc_t pd,
                                    const cnn_cpu_arg_t *args, int nargs);
/* Appends a hand-written kernel step. */
cnn_status_t cnn_cpu_step_loop(cnn_cpu_build_t *b, const cnn_cpu_loop_t *loop);
/* Attribute with user scratchpad and optional post-ops (NULL: none); NULL on failure. */
dnnl_primitive_attr_t cnn_cpu_attr_new(const_dnnl_post_ops_t post_ops);
/* Creates a primitive descriptor; returns oneDNN's status (no error set). */
dnnl_status_t cnn_cpu_pd_create(cnn_cpu_build_t *b, dnnl_primitive_desc_t *pd, const_dnnl_op_desc_t desc,
                                const_dnnl_post_ops_t post_ops);

/* --- dnnl_const.c: constant tensors --- */

/* Constant of the current node: fp32 `data` in plain layout `src_md`,
 * reordered once into `md` and cached in the session by (node, key, md). */
cnn_status_t cnn_cpu_const_get(cnn_cpu_build_t *b, int key, const dnnl_memory_desc_t *src_md, const float *data,
                               const dnnl_memory_desc_t *md, dnnl_memory_t *out);
void cnn_cpu_consts_free(cnn_cpu_const_t *c);

/* --- dnnl_ops_*.c: one builder per op; each sets the node's primary view. --- */
cnn_status_t cnn_cpu_build_conv(cnn_cpu_build_t *b, const cnn_node_t *n);
cnn_status_t cnn_cpu_build_dense(cnn_cpu_build_t *b, const cnn_node_t *n);
cnn_status_t cnn_cpu_build_pool(cnn_cpu_build_t *b, const cnn_node_t *n);
cnn_status_t cnn_cpu_build_eltwise(cnn_cpu_build_t *b, const cnn_node_t *n);
cnn_status_t cnn_cpu_build_prelu(cnn_cpu_build_t *b, const cnn_node_t *n);
cnn_status_t cnn_cpu_build_softmax(cnn_cpu_build_t *b, const cnn_node_t *n);
cnn_status_t cnn_cpu_build_lrn(cnn_cpu_build_t *b, const cnn_node_t *n);
cnn_status_t cnn_cpu_build_batch_norm(cnn_cpu_build_t *b, const cnn_node_t *n);
cnn_status_t cnn_cpu_build_concat(cnn_cpu_build_t *b, const cnn_node_t *n);
cnn_status_t cnn_cpu_build_add(cnn_cpu_build_t *b, const cnn_node_t *n);
cnn_status_t cnn_cpu_build_flatten(cnn_cpu_build_t *b, const cnn_node_t *n);
cnn_status_t cnn_cpu_build_zero_pad(cnn_cpu_build_t *b, const cnn_node_t *n);
cnn_status_t cnn_cpu_build_maxout(cnn_cpu_build_t *b, const cnn_node_t *n);

/* --- dnnl_loops.c: kernels on plain fp32 NCHW --- */
void cnn_cpu_loop_maxout(const cnn_cpu_loop_t *l, const float *in, float *out);
void cnn_cpu_loop_zero_pad(const cnn_cpu_loop_t *l, const float *in, float *out);
/* Average pooling with PyTorch's ceil_mode + count_include_pad divisor. */
void cnn_cpu_loop_avg_pool(const cnn_cpu_loop_t *l, const float *in, float *out);

#endif
