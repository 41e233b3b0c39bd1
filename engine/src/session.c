/* Sessions: a model bound to a backend with options (device, precision,
 * max batch, threads). Validation lives here; the backend does the work. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "status.h"

void cnn_session_options_init(cnn_session_options_t *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->device = CNN_DEVICE_CPU;
    opts->device_index = 0;
    opts->precision = CNN_PRECISION_FP32;
    opts->max_batch = 0;
    opts->num_threads = 0;
}

/* Sets *be to the backend for a device. */
static cnn_status_t backend_for(cnn_device_kind_t device, const cnn_backend_i **be, cnn_error_t *err)
{
    switch (device) {
    case CNN_DEVICE_CPU:
        *be = &cnn_backend_cpu;
        return CNN_OK;
    case CNN_DEVICE_CUDA:
#ifdef CNN_HAVE_CUDA
        *be = cnn_cuda_backend(err);
        return *be ? CNN_OK : CNN_E_UNSUPPORTED;
#else
        return cnn_error_set(err, CNN_E_UNSUPPORTED,
                             "this cnnserve was built without the CUDA backend (nvcc, the CUDA toolkit or cuDNN 9 "
                             "were not found when it was configured)");
#endif
    }
    return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "unknown device kind %d", (int)device);
}

static const char *const PRECISION_NAMES[] = {
    [CNN_PRECISION_FP32] = "fp32",
    [CNN_PRECISION_BF16] = "bf16",
    [CNN_PRECISION_TF32] = "tf32",
    [CNN_PRECISION_FP16] = "fp16",
};
#define NUM_PRECISIONS (sizeof PRECISION_NAMES / sizeof PRECISION_NAMES[0])

static bool precision_known(cnn_precision_t p)
{
    return (unsigned)p < NUM_PRECISIONS;
}

const char *cnn_precision_name(cnn_precision_t precision)
{
    return precision_known(precision) ? PRECISION_NAMES[precision] : "unknown";
}

bool cnn_precision_parse(const char *name, cnn_precision_t *out)
{
    for (size_t i = 0; name && i < NUM_PRECISIONS; i++) {
        if (strcmp(name, PRECISION_NAMES[i]) == 0) {
            *out = (cnn_precision_t)i;
            return true;
        }
    }
    return false;
}

cnn_status_t cnn_device_check(cnn_device_kind_t device, int index, cnn_error_t *err)
{
    const cnn_backend_i *be = NULL;
    cnn_status_t st = backend_for(device, &be, err);
    if (st != CNN_OK)
        return st;
    if (be->device_check)
        return be->device_check(index, err);
    if (index != 0)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "the %s backend has one device (index 0), not %d",
                             be->name, index);
    return CNN_OK;
}

cnn_status_t cnn_precision_check(cnn_device_kind_t device, cnn_precision_t precision, cnn_error_t *err)
{
    const cnn_backend_i *be = NULL;
    cnn_status_t st = backend_for(device, &be, err);
    if (st != CNN_OK)
        return st;
    if (!precision_known(precision))
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "unknown precision %d", (int)precision);
    return be->check_precision ? be->check_precision(precision, err) : CNN_OK;
}

/* Fails listing every executed layer the backend cannot run. */
static cnn_status_t check_supported(const cnn_graph_t *g, const cnn_backend_i *be, cnn_precision_t precision,
                                    cnn_error_t *err)
{
    char list[CNN_ERROR_MESSAGE_MAX] = "";
    size_t used = 0;
    int count = 0;
    for (int i = 0; i < g->num_nodes; i++) {
        const cnn_node_t *n = &g->nodes[i];
        if (n->fused_into >= 0 || be->supports_op(g, n, precision))
            continue;
        if (used < sizeof list) {
            int w = snprintf(list + used, sizeof list - used, "%s%s (%s)", count ? ", " : "", n->name,
                             cnn_op_name(n->op));
            used += w > 0 ? (size_t)w : 0;
        }
        count++;
    }
    if (count == 0)
        return CNN_OK;
    return cnn_error_set(err, CNN_E_UNSUPPORTED, "%d layer(s) not supported by the %s backend: %s", count,
                         be->name, list);
}

cnn_status_t cnn_session_create(cnn_model_t *model, const cnn_session_options_t *opts, cnn_session_t **out,
                                cnn_error_t *err)
{
    if (!out)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    if (!model || !model->graph)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "model is NULL");
    cnn_session_options_t o;
    if (opts)
        o = *opts;
    else
        cnn_session_options_init(&o);
    if (!precision_known(o.precision))
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "unknown precision %d", (int)o.precision);
    const cnn_backend_i *be = NULL;
    cnn_status_t st = backend_for(o.device, &be, err);
    if (st != CNN_OK)
        return st;
    if (o.max_batch <= 0)
        o.max_batch = model->info.max_batch_size > 0 ? model->info.max_batch_size : 1;
    if (be->device_check && (st = be->device_check(o.device_index, err)) != CNN_OK)
        return st;
    if (!be->device_check && o.device_index != 0)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "the %s backend has one device (index 0), not %d",
                             be->name, o.device_index);
    if (be->check_precision && (st = be->check_precision(o.precision, err)) != CNN_OK)
        return st;
    st = check_supported(model->graph, be, o.precision, err);
    if (st != CNN_OK)
        return st;
    cnn_session_t *s = calloc(1, sizeof *s);
    if (!s)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory creating session");
    s->model = model;
    s->backend = be;
    s->opts = o;
    if ((st = be->session_create(model->graph, &o, &s->impl, err)) != CNN_OK) {
        free(s);
        return st;
    }
    *out = s;
    return CNN_OK;
}

void cnn_session_free(cnn_session_t *session)
{
    if (!session)
        return;
    session->backend->session_free(session->impl);
    free(session);
}

cnn_status_t cnn_session_run(cnn_session_t *session, const float *input, int batch, float *output,
                             cnn_error_t *err)
{
    return cnn_session_run_fetch(session, input, batch, output, NULL, 0, err);
}

static int by_node(const void *a, const void *b)
{
    const cnn_backend_fetch_t *fa = a, *fb = b;
    return (fa->node > fb->node) - (fa->node < fb->node);
}

cnn_status_t cnn_session_run_fetch(cnn_session_t *session, const float *input, int batch, float *output,
                                   const cnn_fetch_t *fetches, size_t num_fetches, cnn_error_t *err)
{
    if (!session || !input || !output)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "session, input and output must not be NULL");
    if (batch < 1 || batch > session->opts.max_batch)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "batch %d outside 1..%d", batch,
                             session->opts.max_batch);
    if (num_fetches == 0)
        return session->backend->session_run(session->impl, input, batch, output, NULL, 0, err);
    if (!fetches || num_fetches > INT_MAX)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "fetches is NULL or too long");
    const cnn_model_t *m = session->model;
    for (size_t i = 0; i < num_fetches; i++) {
        const cnn_fetch_t *f = &fetches[i];
        if (f->layer >= (size_t)m->num_layers)
            return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "fetch %zu: layer %zu outside 0..%d", i, f->layer,
                                 m->num_layers - 1);
        if (!f->data || f->image < 0 || f->count < 1 || f->count > batch - f->image)
            return cnn_error_set(err, CNN_E_INVALID_ARGUMENT,
                                 "fetch %zu: images [%d, %d + %d) outside the batch of %d or no data", i,
                                 f->image, f->image, f->count, batch);
    }
    cnn_backend_fetch_t *bf = malloc(num_fetches * sizeof *bf);
    if (!bf)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory for %zu fetches", num_fetches);
    for (size_t i = 0; i < num_fetches; i++)
        bf[i] = (cnn_backend_fetch_t){m->layer_ids[fetches[i].layer], fetches[i].image, fetches[i].count,
                                      fetches[i].data};
    qsort(bf, num_fetches, sizeof *bf, by_node);
    cnn_status_t st = session->backend->session_run(session->impl, input, batch, output, bf, (int)num_fetches, err);
    free(bf);
    return st;
}

cnn_status_t cnn_session_layer_impl(cnn_session_t *session, int batch, size_t layer, cnn_layer_impl_t *out,
                                    cnn_error_t *err)
{
    if (!session || !out)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "session and out must not be NULL");
    if (batch < 1 || batch > session->opts.max_batch)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "batch %d outside 1..%d", batch,
                             session->opts.max_batch);
    const cnn_model_t *m = session->model;
    if (layer >= (size_t)m->num_layers)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "layer %zu outside 0..%d", layer, m->num_layers - 1);
    if (!session->backend->layer_impl)
        return cnn_error_set(err, CNN_E_UNSUPPORTED, "the %s backend does not describe its layers",
                             session->backend->name);
    return session->backend->layer_impl(session->impl, batch, m->layer_ids[layer], out, err);
}
