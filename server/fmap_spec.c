/* Resolving a feature-map query against a model. */
#include "fmap_spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "unknown layer 'x' (why); valid layers: a, b, ..." (malloc'ed). */
static char *names_message(const cnn_model_t *model, const char *name, const char *why)
{
    size_t n = cnn_model_layer_count(model), cap = strlen(name) + strlen(why) + 64;
    for (size_t i = 0; i < n; i++) {
        cnn_layer_info_t l;
        if (cnn_model_get_layer(model, i, &l) == CNN_OK)
            cap += strlen(l.name) + 2;
    }
    char *msg = malloc(cap);
    if (!msg)
        return NULL;
    size_t at = (size_t)snprintf(msg, cap, "unknown layer '%.128s' (%s); valid layers: ", name, why);
    for (size_t i = 0; i < n && at < cap; i++) {
        cnn_layer_info_t l;
        if (cnn_model_get_layer(model, i, &l) == CNN_OK)
            at += (size_t)snprintf(msg + at, cap - at, "%s%s", i ? ", " : "", l.name);
    }
    return msg;
}

/* Fills spec->layers from q (names or all). */
static bool resolve_layers(const srv_fmap_query_t *q, const cnn_model_t *model, srv_fmap_spec_t *spec,
                           char **names_msg, srv_error_t *err)
{
    size_t total = cnn_model_layer_count(model);
    int max = (int)(total > 0 ? total : 1);
    const char **names = NULL;
    char *text = NULL;
    int n = (int)total;
    if (!q->all_layers) {
        text = strdup(q->layers ? q->layers : "");
        names = malloc((strlen(text) / 2 + 1) * sizeof *names);
        if (!text || !names) {
            free(text);
            free(names);
            return srv_error_set(err, 500, "out of memory");
        }
        if (!srv_layer_list_split(text, names, (int)(strlen(text) / 2 + 1), &n, err)) {
            free(text);
            free(names);
            return false;
        }
        max = n;
    }
    spec->layers = calloc((size_t)max, sizeof *spec->layers);
    bool ok = spec->layers != NULL;
    if (!ok)
        srv_error_set(err, 500, "out of memory");
    for (int i = 0; ok && i < n; i++) {
        srv_fmap_layer_t *l = &spec->layers[i];
        l->index = (size_t)i;
        cnn_error_t ce;
        if (names && cnn_model_find_layer(model, names[i], &l->index, &ce) != CNN_OK) {
            srv_error_set(err, 400, "unknown layer '%.128s' (%s); GET /v1/models/{model}/layers lists them",
                          names[i], ce.message);
            if (names_msg)
                *names_msg = names_message(model, names[i], ce.message);
            ok = false;
            break;
        }
        cnn_model_get_layer(model, l->index, &l->info);
        l->numel = (size_t)l->info.c * (size_t)l->info.h * (size_t)l->info.w;
        l->offset = spec->image_floats;
        spec->image_floats += l->numel;
        spec->n_layers = i + 1;
    }
    free(text);
    free(names);
    return ok;
}

/* Expands q's ranges into spec->channels, checking them against every layer. */
static bool resolve_channels(const srv_fmap_query_t *q, srv_fmap_spec_t *spec, srv_error_t *err)
{
    int max_hi = -1;
    size_t count = 0;
    for (int r = 0; r < q->n_ranges; r++) {
        if (q->ranges[r].hi > max_hi)
            max_hi = q->ranges[r].hi;
        count += (size_t)(q->ranges[r].hi - q->ranges[r].lo) + 1;
    }
    for (int i = 0; i < spec->n_layers; i++) {
        srv_fmap_layer_t *l = &spec->layers[i];
        if (max_hi >= l->info.c)
            return srv_error_set(err, 400, "channels: channel %d is out of range for layer '%.128s', which has %d "
                                 "channels (0-%d)", max_hi, l->info.name, l->info.c, l->info.c - 1);
        l->n_channels = q->n_ranges ? (int)count : l->info.c;
    }
    if (!q->n_ranges)
        return true;
    /* Every channel is below some layer's C, so count is bounded by ranges × C. */
    spec->channels = malloc(count * sizeof *spec->channels);
    if (!spec->channels)
        return srv_error_set(err, 500, "out of memory");
    for (int r = 0; r < q->n_ranges; r++)
        for (int c = q->ranges[r].lo; c <= q->ranges[r].hi; c++)
            spec->channels[spec->n_selected++] = c;
    return true;
}

bool srv_fmap_spec_build(const srv_fmap_query_t *q, const cnn_model_t *model, srv_fmap_spec_t *spec,
                         char **names_msg, srv_error_t *err)
{
    memset(spec, 0, sizeof *spec);
    if (names_msg)
        *names_msg = NULL;
    const cnn_model_info_t *info = cnn_model_get_info(model);
    spec->format = q->format;
    spec->base64 = q->base64;
    spec->hypercolumn = q->hypercolumn;
    spec->in_h = info->input_height;
    spec->in_w = info->input_width;
    bool ok = resolve_layers(q, model, spec, names_msg, err) && resolve_channels(q, spec, err);
    if (ok && q->format == SRV_FMAP_PNG && !q->hypercolumn && spec->n_layers > 1)
        ok = srv_error_set(err, 400, "format=png draws one layer (got %d); ask for several layers with "
                           "format=json, or for their hypercolumn with hypercolumn=1", spec->n_layers);
    if (!ok)
        srv_fmap_spec_free(spec);
    return ok;
}

void srv_fmap_spec_free(srv_fmap_spec_t *spec)
{
    free(spec->layers);
    free(spec->channels);
    memset(spec, 0, sizeof *spec);
}

/* Base64 characters for n bytes, with padding. */
static size_t base64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

size_t srv_fmap_min_bytes(const srv_fmap_spec_t *s, int n_images)
{
    size_t per_image = 0;
    for (int i = 0; i < s->n_layers; i++) {
        const srv_fmap_layer_t *l = &s->layers[i];
        size_t values = (size_t)l->n_channels * (size_t)l->info.h * (size_t)l->info.w;
        per_image += s->base64 ? base64_len(values * 4) : 2 * values;
    }
    if (s->hypercolumn) {
        size_t values = (size_t)s->in_h * (size_t)s->in_w;
        per_image += s->base64 ? base64_len(values * 4) : 2 * values;
    }
    return per_image * (size_t)n_images;
}
