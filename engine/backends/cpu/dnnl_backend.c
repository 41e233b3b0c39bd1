/* The oneDNN CPU backend: vtable, session lifetime, per-batch plan cache and
 * the session-wide activation arena and scratchpad. */
#include <omp.h>
#include <stdlib.h>

#include "dnnl_plan.h"
#include "planner.h"

/* Largest max_batch a session accepts (the plan cache is indexed by batch). */
#define CNN_CPU_MAX_BATCH 65536

static bool cpu_supports_op(const cnn_graph_t *g, const cnn_node_t *n, cnn_precision_t precision)
{
    (void)g;
    if (precision != CNN_PRECISION_FP32 && precision != CNN_PRECISION_BF16)
        return false;
    switch (n->op) {
    case CNN_OP_LRN:
        /* oneDNN centres even windows differently from PyTorch. */
        return n->p.lrn.size % 2 == 1;
    case CNN_OP_INPUT: case CNN_OP_CONV2D: case CNN_OP_DENSE: case CNN_OP_MAX_POOL:
    case CNN_OP_AVG_POOL: case CNN_OP_GLOBAL_AVG_POOL: case CNN_OP_RELU: case CNN_OP_LEAKY_RELU:
    case CNN_OP_PRELU: case CNN_OP_ELU: case CNN_OP_SIGMOID: case CNN_OP_TANH: case CNN_OP_CLIP: case CNN_OP_SOFTMAX:
    case CNN_OP_BATCH_NORM: case CNN_OP_DROPOUT: case CNN_OP_CONCAT: case CNN_OP_ADD:
    case CNN_OP_FLATTEN: case CNN_OP_ZERO_PAD: case CNN_OP_MAXOUT:
        return true;
    case CNN_OP_COUNT:
        break;
    }
    return false;
}

static cnn_status_t cpu_check_precision(cnn_precision_t precision, cnn_error_t *err)
{
    if (precision == CNN_PRECISION_TF32 || precision == CNN_PRECISION_FP16)
        return cnn_error_set(err, CNN_E_UNSUPPORTED, "%s precision runs on the CUDA backend only (--device cuda); "
                             "the CPU runs fp32 or bf16", precision == CNN_PRECISION_TF32 ? "tf32" : "fp16");
    if (precision == CNN_PRECISION_BF16 && !cnn_dnnl_cpu_has_bf16())
        return cnn_error_set(err, CNN_E_UNSUPPORTED,
                             "bf16 precision needs a CPU that computes bf16 natively (AVX512_BF16 or AMX); "
                             "no AVX512_BF16/AMX here (oneDNN dispatches to %s): use fp32",
                             cnn_dnnl_cpu_isa_name());
    return CNN_OK;
}

static void cpu_session_free(cnn_backend_session_t *s)
{
    if (!s)
        return;
    if (s->plans)
        for (int i = 0; i <= s->opts.max_batch; i++)
            cnn_cpu_plan_free(s->plans[i]);
    cnn_cpu_consts_free(s->consts);
    if (s->stream)
        dnnl_stream_destroy(s->stream);
    if (s->engine)
        dnnl_engine_destroy(s->engine);
    free(s->plans);
    free(s->last);
    free(s->arena);
    free(s->scratch);
    free(s);
}

/* Checks that g has exactly one executed input node and a valid output. */
static cnn_status_t graph_check(const cnn_graph_t *g, cnn_error_t *err)
{
    int inputs = 0;
    for (int i = 0; i < g->num_nodes; i++)
        if (g->nodes[i].fused_into < 0 && g->nodes[i].op == CNN_OP_INPUT)
            inputs++;
    if (inputs != 1)
        return cnn_error_set(err, CNN_E_UNSUPPORTED, "the CPU backend runs graphs with exactly one input (got %d)",
                             inputs);
    int out = cnn_graph_resolve(g, g->output);
    if (out < 0 || out >= g->num_nodes)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "graph has no output node");
    return CNN_OK;
}

static cnn_status_t cpu_session_create(const cnn_graph_t *g, const cnn_session_options_t *opts,
                                       cnn_backend_session_t **out, cnn_error_t *err)
{
    cnn_status_t st;
    cnn_backend_session_t *s = NULL;
    int *first = NULL;
    if (!out)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    if (!g || !opts)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "graph or options are NULL");
    if (opts->max_batch < 1 || opts->max_batch > CNN_CPU_MAX_BATCH)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "max_batch %d outside 1..%d", opts->max_batch,
                             CNN_CPU_MAX_BATCH);
    if ((st = graph_check(g, err)) != CNN_OK)
        return st;
    if ((st = cpu_check_precision(opts->precision, err)) != CNN_OK)
        return st;
    s = calloc(1, sizeof *s);
    size_t nn = (size_t)(g->num_nodes > 0 ? g->num_nodes : 1);
    if (!s || !(s->last = malloc(nn * sizeof *s->last)) || !(first = malloc(nn * sizeof *first)) ||
        !(s->plans = calloc((size_t)opts->max_batch + 1, sizeof *s->plans))) {
        st = cnn_error_set(err, CNN_E_NOMEM, "out of memory creating CPU session");
        goto done;
    }
    s->g = g;
    s->opts = *opts;
    cnn_graph_liveness(g, NULL, first, s->last);
    CNN_DNNL_TRY(err, dnnl_engine_create(&s->engine, dnnl_cpu, 0));
    CNN_DNNL_TRY(err, dnnl_stream_create(&s->stream, s->engine, dnnl_stream_default_flags));
    *out = s;
    s = NULL;
done:
    free(first);
    cpu_session_free(s);
    return st;
}

/* Grows *buf to at least `need` bytes (contents are not kept). */
static cnn_status_t ensure_size(void **buf, size_t *size, size_t need, cnn_error_t *err)
{
    if (need <= *size)
        return CNN_OK;
    void *p = aligned_alloc(64, (need + 63) / 64 * 64);
    if (!p)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory for %zu bytes of activations", need);
    free(*buf);
    *buf = p;
    *size = need;
    return CNN_OK;
}

/* The plan for `batch` images, built on first use. */
static cnn_status_t plan_get(cnn_backend_session_t *s, int batch, cnn_cpu_plan_t **out, cnn_error_t *err)
{
    cnn_status_t st = CNN_OK;
    if (!s->plans[batch] && (st = cnn_cpu_plan_create(s, batch, &s->plans[batch], err)) != CNN_OK)
        return st;
    *out = s->plans[batch];
    return CNN_OK;
}

static cnn_status_t cpu_layer_impl(cnn_backend_session_t *s, int batch, int node, cnn_layer_impl_t *out,
                                   cnn_error_t *err)
{
    cnn_cpu_plan_t *p = NULL;
    if (s->opts.num_threads > 0)
        omp_set_num_threads(s->opts.num_threads);
    cnn_status_t st = plan_get(s, batch, &p, err);
    if (st == CNN_OK)
        *out = p->node_impl[node];
    return st;
}

static cnn_status_t cpu_session_run(cnn_backend_session_t *s, const float *input, int batch, float *output,
                                    const cnn_backend_fetch_t *fetches, int num_fetches, cnn_error_t *err)
{
    if (!s || !input || !output)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "session, input and output must not be NULL");
    if (batch < 1 || batch > s->opts.max_batch)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "batch %d outside 1..%d", batch, s->opts.max_batch);
    if (s->opts.num_threads > 0)
        omp_set_num_threads(s->opts.num_threads);
    cnn_cpu_plan_t *p = NULL;
    cnn_status_t st = plan_get(s, batch, &p, err);
    if (st != CNN_OK)
        return st;
    st = ensure_size(&s->arena, &s->arena_size, p->arena_bytes, err);
    if (st == CNN_OK)
        st = ensure_size(&s->scratch, &s->scratch_size, p->scratch_bytes, err);
    return st == CNN_OK ? cnn_cpu_plan_run(s, p, input, output, fetches, num_fetches, err) : st;
}

const cnn_backend_i cnn_backend_cpu = {
    .name = "cpu",
    .device = CNN_DEVICE_CPU,
    .supports_op = cpu_supports_op,
    .check_precision = cpu_check_precision,
    .session_create = cpu_session_create,
    .session_run = cpu_session_run,
    .layer_impl = cpu_layer_impl,
    .session_free = cpu_session_free,
};
