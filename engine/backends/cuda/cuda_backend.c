/* The CUDA backend: vtable, device check, session lifetime and the batch
 * pipeline (pinned staging, copy stream → compute stream, CUDA graph per
 * batch size, optional guard bytes). */
#include <stdlib.h>
#include <string.h>

#include "cuda_session.h"

/* Largest max_batch a session accepts (plans are indexed by batch). */
#define CNN_CU_MAX_BATCH 65536
#define CNN_CU_LT_WORKSPACE ((size_t)32 << 20)
#define CNN_CU_GUARD_BYTES 256

static cnn_status_t cu_device_check(int index, cnn_error_t *err)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        cudaGetLastError();
        if (e == cudaErrorInsufficientDriver)
            return cnn_error_set(err, CNN_E_UNSUPPORTED, "no usable CUDA device: no NVIDIA driver is loaded, or it is "
                                 "older than the CUDA %d.%d runtime (cudaErrorInsufficientDriver)",
                                 CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10);
        return cnn_error_set(err, CNN_E_UNSUPPORTED, "no usable CUDA device: %s (%s)", cudaGetErrorString(e),
                             cudaGetErrorName(e));
    }
    if (count == 0)
        return cnn_error_set(err, CNN_E_UNSUPPORTED, "no CUDA device found");
    if (index < 0 || index >= count)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "CUDA device %d does not exist (%d device%s: 0..%d)", index,
                             count, count == 1 ? "" : "s", count - 1);
    return CNN_OK;
}

static cnn_status_t cu_check_precision(cnn_precision_t precision, cnn_error_t *err)
{
    cnn_cu_format_t f;
    return cnn_cu_format_for(precision, &f, err);
}

static bool cu_supports_op(const cnn_graph_t *g, const cnn_node_t *n, cnn_precision_t precision)
{
    return cnn_cu_supports_node(g, n, precision);
}

static void cu_session_free(cnn_backend_session_t *s)
{
    if (!s)
        return;
    if (s->device >= 0)
        cudaSetDevice(s->device);
    if (s->compute)
        cudaStreamSynchronize(s->compute);
    if (s->batches)
        for (int i = 0; i <= s->opts.max_batch; i++)
            cnn_cu_batch_destroy(s->batches[i], s->lt_api);
    free(s->batches);
    cnn_cu_weights_release(s->weights);
    cudaFree(s->arena);
    cudaFree(s->workspace);
    cudaFree(s->lt_workspace);
    cudaFree(s->in_dev);
    cudaFree(s->out_dev);
    cudaFree(s->fetch_dev);
    cudaFreeHost(s->in_host);
    cudaFreeHost(s->out_host);
    if (s->copied)
        cudaEventDestroy(s->copied);
    if (s->dnn)
        cudnnDestroy(s->dnn);
    if (s->lt)
        s->lt_api->destroy(s->lt);
    if (s->compute)
        cudaStreamDestroy(s->compute);
    if (s->copy)
        cudaStreamDestroy(s->copy);
    cudaGetLastError(); /* teardown errors of a lost device are not the next call's */
    free(s);
}

/* Device buffer of `bytes` followed by s->guard_bytes of 0xA5. */
static cnn_status_t dev_alloc(cnn_backend_session_t *s, void **p, size_t bytes, cnn_error_t *err)
{
    cnn_status_t st = CNN_OK;
    CNN_CU_TRY(err, cudaMalloc(p, bytes + s->guard_bytes));
    if (s->guard_bytes)
        CNN_CU_TRY(err, cudaMemset((unsigned char *)*p + bytes, 0xA5, s->guard_bytes));
done:
    return st;
}

static cnn_status_t cu_session_create(const cnn_graph_t *g, const cnn_session_options_t *opts,
                                      cnn_backend_session_t **out, cnn_error_t *err)
{
    cnn_status_t st;
    *out = NULL;
    if (opts->max_batch < 1 || opts->max_batch > CNN_CU_MAX_BATCH)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "max_batch %d outside 1..%d", opts->max_batch,
                             CNN_CU_MAX_BATCH);
    if ((st = cu_device_check(opts->device_index, err)) != CNN_OK)
        return st;
    cnn_backend_session_t *s = calloc(1, sizeof *s);
    if (!s)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory creating a CUDA session");
    s->g = g;
    s->opts = *opts;
    s->device = opts->device_index;
    s->guard_bytes = cnn_cu_env_flag(getenv("CNN_CUDA_GUARD"), false) ? CNN_CU_GUARD_BYTES : 0;
    s->graphs_enabled = cnn_cu_env_flag(getenv("CNN_CUDA_GRAPHS"), true);
    s->conv_benchmark = cnn_cu_env_flag(getenv("CNN_CUDA_CONV_BENCHMARK"), true);
    if ((st = cnn_cu_format_for(opts->precision, &s->fmt, err)) != CNN_OK)
        goto done;
    if (!(s->batches = calloc((size_t)opts->max_batch + 1, sizeof *s->batches))) {
        st = cnn_error_set(err, CNN_E_NOMEM, "out of memory creating a CUDA session");
        goto done;
    }
    CNN_CU_TRY(err, cudaSetDevice(s->device));
    CNN_CU_TRY(err, cudaStreamCreateWithFlags(&s->compute, cudaStreamNonBlocking));
    CNN_CU_TRY(err, cudaStreamCreateWithFlags(&s->copy, cudaStreamNonBlocking));
    CNN_CU_TRY(err, cudaEventCreateWithFlags(&s->copied, cudaEventDisableTiming));
    CNN_DNN_TRY(err, cudnnCreate(&s->dnn));
    CNN_DNN_TRY(err, cudnnSetStream(s->dnn, s->compute));
    if (!(s->lt_api = cnn_cu_lt(err))) {
        st = CNN_E_UNSUPPORTED;
        goto done;
    }
    CNN_LT_TRY(err, s->lt_api->create(&s->lt));
    if ((st = cnn_cu_weights_acquire(g, s->device, &s->fmt, s->guard_bytes, &s->weights, err)) != CNN_OK)
        goto done;

    int in_node = -1;
    for (int i = 0; i < g->num_nodes && in_node < 0; i++)
        if (g->nodes[i].fused_into < 0 && g->nodes[i].op == CNN_OP_INPUT)
            in_node = i;
    int out_node = cnn_graph_resolve(g, g->output);
    if (in_node < 0 || out_node < 0) {
        st = cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "graph has no input or no output");
        goto done;
    }
    size_t in_bytes = (size_t)opts->max_batch * cnn_node_numel(&g->nodes[in_node]) * sizeof(float);
    size_t out_bytes = (size_t)opts->max_batch * cnn_node_numel(&g->nodes[out_node]) * sizeof(float);
    size_t free_mem = 0, total_mem = 0;
    CNN_CU_TRY(err, cudaMemGetInfo(&free_mem, &total_mem));
    s->workspace_size = cnn_cu_workspace_limit(free_mem, in_bytes + out_bytes, getenv("CNN_CUDA_WORKSPACE_MB"));
    s->lt_workspace_size = CNN_CU_LT_WORKSPACE;
    if ((st = dev_alloc(s, (void **)&s->in_dev, in_bytes, err)) != CNN_OK ||
        (st = dev_alloc(s, (void **)&s->out_dev, out_bytes, err)) != CNN_OK ||
        (st = dev_alloc(s, &s->workspace, s->workspace_size, err)) != CNN_OK ||
        (st = dev_alloc(s, &s->lt_workspace, s->lt_workspace_size, err)) != CNN_OK)
        goto done;
    CNN_CU_TRY(err, cudaMallocHost((void **)&s->in_host, in_bytes));
    CNN_CU_TRY(err, cudaMallocHost((void **)&s->out_host, out_bytes));
    *out = s;
    s = NULL;
done:
    cu_session_free(s);
    return st;
}

/* Drops every captured graph (they hold the old arena's addresses). */
static void graphs_reset(cnn_backend_session_t *s)
{
    for (int i = 0; i <= s->opts.max_batch; i++) {
        cnn_cu_batch_t *b = s->batches[i];
        if (b && b->graph) {
            cudaGraphExecDestroy(b->graph);
            b->graph = NULL;
        }
    }
}

/* Makes the arena at least `need` bytes (plus guards, filled with 0xA5). */
static cnn_status_t arena_reserve(cnn_backend_session_t *s, size_t need, cnn_error_t *err)
{
    cnn_status_t st = CNN_OK;
    if (need <= s->arena_size && s->arena)
        return CNN_OK;
    CNN_CU_TRY(err, cudaStreamSynchronize(s->compute));
    graphs_reset(s);
    cudaFree(s->arena);
    s->arena = NULL;
    s->arena_size = 0;
    CNN_CU_TRY(err, cudaMalloc((void **)&s->arena, need ? need : 1));
    s->arena_size = need;
done:
    return st;
}

static cnn_status_t batch_get(cnn_backend_session_t *s, int batch, cnn_cu_batch_t **out, cnn_error_t *err)
{
    cnn_status_t st;
    if (s->batches[batch]) {
        *out = s->batches[batch];
        return CNN_OK;
    }
    cnn_cu_batch_t *b = calloc(1, sizeof *b);
    if (!b)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    if ((st = cnn_cu_plan_build(s->g, s->opts.precision, batch, s->guard_bytes, &b->plan, err)) != CNN_OK ||
        (st = arena_reserve(s, b->plan->arena_bytes, err)) != CNN_OK ||
        (st = cnn_cu_batch_prepare(s, b, err)) != CNN_OK) {
        cnn_cu_batch_destroy(b, s->lt_api);
        return st;
    }
    s->batches[batch] = *out = b;
    return CNN_OK;
}

/* Fills (check false) or checks (check true) the guard bytes of every
 * device buffer the batch uses. */
static cnn_status_t guards(cnn_backend_session_t *s, const cnn_cu_batch_t *b, bool check, size_t in_bytes,
                           size_t out_bytes, cnn_error_t *err)
{
    cnn_status_t st = CNN_OK;
    unsigned char got[CNN_CU_GUARD_BYTES];
    const cnn_cu_plan_t *p = b->plan;
    int n = p->num_bufs + 5;
    for (int i = 0; i < n; i++) {
        const unsigned char *at;
        const char *what = "activation buffer";
        if (i < p->num_bufs) {
            at = s->arena + cnn_cu_plan_guard_offset(p, i);
        } else if (i == p->num_bufs) {
            at = (const unsigned char *)s->in_dev + in_bytes, what = "input staging";
        } else if (i == p->num_bufs + 1) {
            at = (const unsigned char *)s->out_dev + out_bytes, what = "output staging";
        } else if (i == p->num_bufs + 2) {
            at = (const unsigned char *)s->workspace + s->workspace_size, what = "cuDNN workspace";
        } else if (i == p->num_bufs + 3) {
            at = (const unsigned char *)s->lt_workspace + s->lt_workspace_size, what = "cuBLASLt workspace";
        } else {
            if (!s->weights->guard)
                continue;
            at = s->weights->dev + s->weights->layout_info.total, what = "weights";
        }
        if (!check && i < p->num_bufs) {
            CNN_CU_TRY(err, cudaMemsetAsync((void *)at, 0xA5, s->guard_bytes, s->compute));
            continue;
        }
        if (!check)
            continue;
        CNN_CU_TRY(err, cudaMemcpy(got, at, s->guard_bytes, cudaMemcpyDeviceToHost));
        for (size_t k = 0; k < s->guard_bytes; k++)
            if (got[k] != 0xA5) {
                st = cnn_error_set(err, CNN_E_BACKEND, "device buffer overrun: guard byte %zu after the %s%s%d "
                                   "changed (0x%02x)", k, what, i < p->num_bufs ? " #" : "",
                                   i < p->num_bufs ? i : 0, got[k]);
                goto done;
            }
    }
done:
    return st;
}

/* Runs the steps of b on the compute stream: eagerly, or by capturing them
 * into a CUDA graph once and replaying it (a failed capture falls back to
 * eager runs for this batch size). */
static cnn_status_t compute(cnn_backend_session_t *s, cnn_cu_batch_t *b, cnn_error_t *err)
{
    cnn_status_t st = CNN_OK;
    switch (cnn_cu_run_mode(b->eager_runs, b->graph != NULL, b->capture_failed, s->graphs_enabled)) {
    case CNN_CU_RUN_EAGER:
        if ((st = cnn_cu_batch_enqueue(s, b, NULL, 0, NULL, err)) == CNN_OK)
            b->eager_runs++;
        return st;
    case CNN_CU_RUN_CAPTURE: {
        cudaGraph_t graph = NULL;
        cnn_error_t ignored;
        bool ok = cudaStreamBeginCapture(s->compute, cudaStreamCaptureModeThreadLocal) == cudaSuccess;
        bool enqueued = ok && cnn_cu_batch_enqueue(s, b, NULL, 0, NULL, &ignored) == CNN_OK;
        ok = cudaStreamEndCapture(s->compute, &graph) == cudaSuccess && ok && enqueued;
        ok = ok && cudaGraphInstantiate(&b->graph, graph, 0) == cudaSuccess;
        if (graph)
            cudaGraphDestroy(graph);
        if (!ok) {
            cudaGetLastError();
            b->capture_failed = true;
            b->graph = NULL;
            return compute(s, b, err);
        }
        break;
    }
    case CNN_CU_RUN_REPLAY:
        break;
    }
    CNN_CU_TRY(err, cudaGraphLaunch(b->graph, s->compute));
done:
    return st;
}

/* Grows the device buffer for feature-map copies to `floats`. */
static cnn_status_t fetch_reserve(cnn_backend_session_t *s, size_t floats, cnn_error_t *err)
{
    cnn_status_t st = CNN_OK;
    if (floats <= s->fetch_floats)
        return CNN_OK;
    cudaFree(s->fetch_dev);
    s->fetch_dev = NULL;
    s->fetch_floats = 0;
    CNN_CU_TRY(err, cudaMalloc((void **)&s->fetch_dev, floats * sizeof(float)));
    s->fetch_floats = floats;
done:
    return st;
}

static cnn_status_t cu_session_run(cnn_backend_session_t *s, const float *input, int batch, float *output,
                                   const cnn_backend_fetch_t *fetches, int num_fetches, cnn_error_t *err)
{
    cnn_status_t st = CNN_OK;
    cnn_cu_batch_t *b = NULL;
    size_t fetch_floats = 0;
    if (batch < 1 || batch > s->opts.max_batch)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "batch %d outside 1..%d", batch, s->opts.max_batch);
    for (int i = 0; i < num_fetches; i++)
        fetch_floats += (size_t)fetches[i].count * cnn_node_numel(&s->g->nodes[fetches[i].node]);
    CNN_CU_TRY(err, cudaSetDevice(s->device));
    if ((st = batch_get(s, batch, &b, err)) != CNN_OK || (st = fetch_reserve(s, fetch_floats, err)) != CNN_OK)
        goto done;
    size_t in_bytes = (size_t)batch * b->plan->input_floats * sizeof(float);
    size_t out_bytes = (size_t)batch * b->plan->output_floats * sizeof(float);
    size_t in_cap = (size_t)s->opts.max_batch * b->plan->input_floats * sizeof(float);
    size_t out_cap = (size_t)s->opts.max_batch * b->plan->output_floats * sizeof(float);
    memcpy(s->in_host, input, in_bytes);
    CNN_CU_TRY(err, cudaMemcpyAsync(s->in_dev, s->in_host, in_bytes, cudaMemcpyHostToDevice, s->copy));
    CNN_CU_TRY(err, cudaEventRecord(s->copied, s->copy));
    CNN_CU_TRY(err, cudaStreamWaitEvent(s->compute, s->copied, 0));
    if (s->guard_bytes && (st = guards(s, b, false, in_cap, out_cap, err)) != CNN_OK)
        goto done;
    /* Runs with feature maps are eager: their copies are not part of the batch size's graph. */
    if (num_fetches > 0)
        st = cnn_cu_batch_enqueue(s, b, fetches, num_fetches, s->fetch_dev, err);
    else
        st = compute(s, b, err);
    if (st != CNN_OK)
        goto done;
    CNN_CU_TRY(err, cudaMemcpyAsync(s->out_host, s->out_dev, out_bytes, cudaMemcpyDeviceToHost, s->compute));
    CNN_CU_TRY(err, cudaStreamSynchronize(s->compute));
    CNN_CU_TRY(err, cudaGetLastError());
    if (s->guard_bytes && (st = guards(s, b, true, in_cap, out_cap, err)) != CNN_OK)
        goto done;
    memcpy(output, s->out_host, out_bytes);
    size_t at = 0;
    for (int i = 0; i < num_fetches; i++) {
        size_t n = (size_t)fetches[i].count * cnn_node_numel(&s->g->nodes[fetches[i].node]);
        CNN_CU_TRY(err, cudaMemcpy(fetches[i].data, s->fetch_dev + at, n * sizeof(float), cudaMemcpyDeviceToHost));
        at += n;
    }
done:
    if (st != CNN_OK && s->compute) {
        cudaStreamSynchronize(s->compute); /* nothing of this batch may still be running */
        cudaGetLastError();
    }
    return st;
}

/* The one symbol the module exports (engine/backends/cuda/loader/cuda_module.c looks it up). */
__attribute__((visibility("default"))) const cnn_backend_i cnn_backend_cuda = {
    .name = "cuda",
    .device = CNN_DEVICE_CUDA,
    .supports_op = cu_supports_op,
    .check_precision = cu_check_precision,
    .device_check = cu_device_check,
    .session_create = cu_session_create,
    .session_run = cu_session_run,
    .session_free = cu_session_free,
};
