/* Keras HDF5 import driver (keras_import.h): model_config + weights → the
 * layer converters, in topological order. */
#include "keras_import.h"

#include "keras_internal.h"
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One error listing every layer class the importer lacks, e.g.
 * "unsupported Keras layers: Lambda (lambda_1, lambda_2), LSTM (lstm)". */
static cnn_status_t check_supported(const tools_keras_model_t *m, cnn_error_t *err)
{
    char msg[CNN_ERROR_MESSAGE_MAX];
    size_t used = (size_t)snprintf(msg, sizeof msg, "unsupported Keras layers:");
    bool any = false; /* a class was listed */
    for (int i = 0; i < m->num_layers; i++) {
        const tools_keras_layer_t *l = &m->layers[i];
        if (tools_keras_layer_supported(l->cls))
            continue;
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(m->layers[j].cls, l->cls) == 0;
        if (seen)
            continue;
        if (used < sizeof msg)
            used += (size_t)snprintf(msg + used, sizeof msg - used, "%s %s (", any ? "," : "", l->cls);
        any = true;
        bool first = true;
        for (int j = i; j < m->num_layers; j++)
            if (strcmp(m->layers[j].cls, l->cls) == 0 && used < sizeof msg) {
                used += (size_t)snprintf(msg + used, sizeof msg - used, "%s%s", first ? "" : ", ",
                                         m->layers[j].name);
                first = false;
            }
        if (used < sizeof msg)
            used += (size_t)snprintf(msg + used, sizeof msg - used, ")");
    }
    if (!any)
        return CNN_OK;
    return cnn_error_set(err, CNN_E_UNSUPPORTED, "%s", msg);
}

/* The engine returns its output in CHW order; Keras' output must match it. */
static cnn_status_t check_output(const tools_keras_layer_t *l, const tools_keras_tensor_t *t, cnn_error_t *err)
{
    if (t->perm || (t->rank == 4 && t->c > 1 && t->h * t->w > 1))
        return cnn_error_set(err, CNN_E_UNSUPPORTED,
                             "the output layer '%s' (%s) gives %dx%dx%d values in channels_last order, which "
                             "cnnserve cannot reproduce (end the model with Dense or global pooling)",
                             l->name, l->cls, t->h, t->w, t->c);
    return CNN_OK;
}

static cnn_status_t convert_layers(tools_keras_ctx_t *ctx, const tools_keras_model_t *m, cnn_error_t *err)
{
    if (m->num_layers <= 0)
        return cnn_error_set(err, CNN_E_FORMAT, "model_config: no layers");
    tools_keras_tensor_t *t = calloc((size_t)m->num_layers, sizeof *t);
    const tools_keras_tensor_t **in = NULL;
    int max_inputs = 1;
    for (int i = 0; i < m->num_layers; i++)
        if (m->layers[i].num_inputs > max_inputs)
            max_inputs = m->layers[i].num_inputs;
    in = malloc((size_t)max_inputs * sizeof *in);
    cnn_status_t st = CNN_OK;
    if (!t || !in)
        st = cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    for (int i = 0; i < m->num_layers && st == CNN_OK; i++)
        if (!tools_keras_claim_name(ctx, m->layers[i].name))
            st = cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    for (int i = 0; i < m->num_layers && st == CNN_OK; i++) {
        const tools_keras_layer_t *l = &m->layers[i];
        for (int k = 0; k < l->num_inputs; k++)
            in[k] = &t[l->inputs[k]];
        st = tools_keras_layer_convert(ctx, l, in, &t[i], err);
    }
    if (st == CNN_OK)
        st = check_output(&m->layers[m->output], &t[m->output], err);
    if (st == CNN_OK)
        st = tools_writer_set_output(ctx->w, t[m->output].node, err);
    for (int i = 0; t && i < m->num_layers; i++)
        tools_keras_tensor_clear(&t[i]);
    free(t);
    free(in);
    return st;
}

/* Reads the root attributes and the model's layer graph. */
static cnn_status_t read_model(tools_h5_t *h5, tools_keras_model_t *m, bool *theano, cnn_error_t *err)
{
    char *text = NULL, *version = NULL, *backend = NULL;
    cnn_status_t st = tools_h5_read_string(h5, "/", "model_config", &text, err);
    if (st == CNN_E_NOT_FOUND)
        return cnn_error_set(err, CNN_E_FORMAT,
                             "no model_config attribute: not a Keras model file (files from save_weights hold "
                             "weights only; convert the file written by model.save)");
    if (st != CNN_OK)
        return st;
    if ((st = tools_h5_read_string(h5, "/", "keras_version", &version, err)) == CNN_E_NOT_FOUND)
        st = CNN_OK;
    if (st == CNN_OK && (st = tools_h5_read_string(h5, "/", "backend", &backend, err)) == CNN_E_NOT_FOUND)
        st = CNN_OK;
    if (st == CNN_OK && version && strncmp(version, "1.", 2) == 0)
        st = cnn_error_set(err, CNN_E_UNSUPPORTED, "written by Keras %s: only Keras 2 files are supported", version);
    if (st == CNN_OK && !tools_h5_has_object(h5, "model_weights"))
        st = cnn_error_set(err, CNN_E_FORMAT, "no model_weights group (the file holds no weights)");
    if (st == CNN_OK)
        st = tools_keras_model_parse(text, m, err);
    *theano = backend && strcmp(backend, "theano") == 0;
    free(backend);
    free(version);
    free(text);
    return st;
}

cnn_status_t tools_keras_import_h5(tools_h5_t *h5, tools_model_writer_t *w, cnn_error_t *err)
{
    tools_keras_model_t m = {0};
    tools_keras_ctx_t ctx = {.w = w, .h5 = h5};
    cnn_status_t st = read_model(h5, &m, &ctx.theano, err);
    if (st == CNN_OK)
        st = check_supported(&m, err);
    if (st == CNN_OK)
        st = convert_layers(&ctx, &m, err);
    for (int i = 0; i < ctx.num_names; i++)
        free(ctx.names[i]);
    free(ctx.names);
    tools_keras_model_free(&m);
    return st;
}

cnn_status_t tools_keras_import_replay(const uint8_t *log, size_t len, tools_model_writer_t *w, cnn_error_t *err)
{
    cnn_error_t local;
    if (!err)
        err = &local;
    tools_h5_t *h5 = NULL;
    cnn_status_t st = tools_h5_open_replay(log, len, &h5, err);
    if (st == CNN_OK)
        st = tools_keras_import_h5(h5, w, err);
    tools_h5_close(h5);
    return st;
}

cnn_status_t tools_keras_import(const char *path, tools_model_writer_t *w, cnn_error_t *err)
{
    cnn_error_t local;
    if (!err)
        err = &local;
    uint8_t *log = NULL;
    size_t len = 0;
    cnn_status_t st = tools_keras_record_isolated(path, &log, &len, err);
    if (st == CNN_OK)
        st = tools_keras_import_replay(log, len, w, err);
    free(log);
    return st;
}
