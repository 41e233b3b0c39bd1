/* Feature-map replies: JSON (numbers or base64), PNG grids, hypercolumns. */
#include "reply_fmaps.h"

#include "base64.h"
#include "hypercolumn.h"
#include "json_writer.h"
#include "reply_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ,"name":[values] of n floats, or ,"name_base64":"..." of their bytes. */
static void write_floats(srv_json_writer_t *w, const float *v, size_t n, bool base64)
{
    if (base64) {
        size_t bytes = n * sizeof(float);
        srv_jw_raw(w, "\"");
        char *at = srv_jw_extend(w, srv_base64_encoded_len(bytes));
        if (at)
            srv_base64_encode((const uint8_t *)v, bytes, at); /* little-endian hosts only (x86-64, aarch64) */
        srv_jw_raw(w, "\"");
        return;
    }
    srv_jw_raw(w, "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            srv_jw_raw(w, ",");
        srv_jw_float(w, v[i]);
    }
    srv_jw_raw(w, "]");
}

static void write_stat(srv_json_writer_t *w, const float *v, size_t n, bool first)
{
    float lo = INFINITY, hi = -INFINITY;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        lo = fminf(lo, v[i]);
        hi = fmaxf(hi, v[i]);
        sum += v[i];
    }
    srv_jw_raw(w, first ? "{\"min\":" : ",{\"min\":");
    srv_jw_float(w, lo);
    srv_jw_raw(w, ",\"max\":");
    srv_jw_float(w, hi);
    srv_jw_raw(w, ",\"mean\":");
    srv_jw_float(w, n ? (float)(sum / (double)n) : 0.0f);
    srv_jw_raw(w, "}");
}

static void write_int(srv_json_writer_t *w, long v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%ld", v);
    srv_jw_raw(w, buf);
}

/* {"name", "op", "fused", "shape", "channels", "stats", "data"|"data_base64"}.
 * scratch holds one layer's returned channels when they must be gathered. */
static void write_layer(srv_json_writer_t *w, const srv_fmap_spec_t *s, const srv_fmap_layer_t *l,
                        const float *data, float *scratch)
{
    size_t plane = (size_t)l->info.h * (size_t)l->info.w;
    srv_jw_raw(w, "{\"name\":");
    srv_jw_string(w, l->info.name);
    srv_jw_raw(w, ",\"op\":");
    srv_jw_string(w, l->info.op);
    srv_jw_raw(w, ",\"fused\":");
    srv_jw_string(w, l->info.fused);
    srv_jw_raw(w, ",\"shape\":[");
    write_int(w, l->info.c);
    srv_jw_raw(w, ",");
    write_int(w, l->info.h);
    srv_jw_raw(w, ",");
    write_int(w, l->info.w);
    srv_jw_raw(w, "],\"channels\":[");
    for (int k = 0; k < l->n_channels; k++) {
        if (k)
            srv_jw_raw(w, ",");
        write_int(w, srv_fmap_channel(s, k));
    }
    srv_jw_raw(w, "],\"stats\":[");
    for (int k = 0; k < l->n_channels; k++)
        write_stat(w, data + (size_t)srv_fmap_channel(s, k) * plane, plane, k == 0);
    srv_jw_raw(w, "]");
    if (s->base64) {
        const float *src = data;
        if (s->channels) {
            for (int k = 0; k < l->n_channels; k++)
                memcpy(scratch + (size_t)k * plane, data + (size_t)s->channels[k] * plane, plane * sizeof(float));
            src = scratch;
        }
        srv_jw_raw(w, ",\"data_base64\":");
        write_floats(w, src, (size_t)l->n_channels * plane, true);
    } else {
        srv_jw_raw(w, ",\"data\":[");
        for (int k = 0; k < l->n_channels; k++) {
            if (k)
                srv_jw_raw(w, ",");
            write_floats(w, data + (size_t)srv_fmap_channel(s, k) * plane, plane, false);
        }
        srv_jw_raw(w, "]");
    }
    srv_jw_raw(w, "}");
}

static void write_hypercolumn(srv_json_writer_t *w, const srv_fmap_spec_t *s, const float *hc)
{
    size_t n = (size_t)s->in_h * (size_t)s->in_w;
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        lo = fminf(lo, hc[i]);
        hi = fmaxf(hi, hc[i]);
    }
    srv_jw_raw(w, ",\"hypercolumn\":{\"layers\":[");
    for (int i = 0; i < s->n_layers; i++) {
        if (i)
            srv_jw_raw(w, ",");
        srv_jw_string(w, s->layers[i].info.name);
    }
    srv_jw_raw(w, "],\"shape\":[");
    write_int(w, s->in_h);
    srv_jw_raw(w, ",");
    write_int(w, s->in_w);
    srv_jw_raw(w, "],\"min\":");
    srv_jw_float(w, lo);
    srv_jw_raw(w, ",\"max\":");
    srv_jw_float(w, hi);
    srv_jw_raw(w, s->base64 ? ",\"data_base64\":" : ",\"data\":");
    write_floats(w, hc, n, s->base64);
    srv_jw_raw(w, "}");
}

/* Largest returned channels × plane of any layer, for gathering. */
static size_t scratch_floats(const srv_fmap_spec_t *s)
{
    size_t most = 0;
    for (int i = 0; i < s->n_layers; i++) {
        size_t n = (size_t)s->layers[i].n_channels * (size_t)s->layers[i].info.h * (size_t)s->layers[i].info.w;
        if (n > most)
            most = n;
    }
    return most;
}

char *srv_reply_featuremaps(const srv_request_t *req, size_t max_bytes, size_t *len, size_t *would_be)
{
    const srv_model_t *m = req->model;
    const srv_fmap_spec_t *s = req->fmaps;
    int k = req->top_k < (int)m->output_size ? req->top_k : (int)m->output_size;
    double *prob = malloc(m->output_size * sizeof *prob);
    int *idx = malloc((size_t)(k > 0 ? k : 1) * sizeof *idx);
    float *scratch = s->base64 && s->channels ? malloc(scratch_floats(s) * sizeof(float) + 1) : NULL;
    float *hc = s->hypercolumn ? malloc((size_t)s->in_h * (size_t)s->in_w * sizeof(float)) : NULL;
    srv_json_writer_t w = {.limit = max_bytes};
    bool ok = prob && idx && (!s->base64 || !s->channels || scratch) && (!s->hypercolumn || hc);
    *would_be = 0;
    if (ok) {
        srv_jw_raw(&w, "{\"model\":");
        srv_jw_string(&w, m->name);
        srv_jw_raw(&w, ",\"results\":[");
    }
    for (int i = 0; ok && i < req->n_images; i++) {
        const float *block = req->fmap_data + (size_t)i * s->image_floats;
        if (!srv_reply_rank(req, i, k, prob, idx) || (hc && !srv_hypercolumn(s, block, hc))) {
            ok = false;
            break;
        }
        srv_reply_image_head(&w, req, i, k, prob, idx);
        srv_jw_raw(&w, ",\"layers\":[");
        for (int l = 0; l < s->n_layers; l++) {
            if (l)
                srv_jw_raw(&w, ",");
            write_layer(&w, s, &s->layers[l], block + s->layers[l].offset, scratch);
        }
        srv_jw_raw(&w, "]");
        if (hc)
            write_hypercolumn(&w, s, hc);
        srv_jw_raw(&w, "}");
    }
    if (ok)
        srv_reply_tail(&w, req);
    free(prob);
    free(idx);
    free(scratch);
    free(hc);
    ok = ok && !w.failed;
    if (!ok || w.count_only) {
        if (ok)
            *would_be = w.len;
        free(w.buf);
        return NULL;
    }
    return srv_jw_finish(&w, len);
}

uint8_t *srv_reply_featuremaps_png(const srv_request_t *req, size_t *len, srv_png_grid_t *grid,
                                   char **predictions)
{
    const srv_model_t *m = req->model;
    const srv_fmap_spec_t *s = req->fmaps;
    int k = req->top_k < (int)m->output_size ? req->top_k : (int)m->output_size;
    double *prob = malloc(m->output_size * sizeof *prob);
    int *idx = malloc((size_t)(k > 0 ? k : 1) * sizeof *idx);
    uint8_t *png = NULL;
    *predictions = NULL;
    memset(grid, 0, sizeof *grid);
    if (prob && idx && srv_reply_rank(req, 0, k, prob, idx)) {
        srv_json_writer_t w = {0};
        srv_reply_predictions(&w, m, k, prob, idx);
        *predictions = srv_jw_finish(&w, NULL);
    }
    if (*predictions && s->hypercolumn) {
        float *hc = malloc((size_t)s->in_h * (size_t)s->in_w * sizeof(float));
        if (hc && srv_hypercolumn(s, req->fmap_data, hc))
            png = srv_fmap_png_plane(hc, s->in_h, s->in_w, len);
        free(hc);
    } else if (*predictions) {
        png = srv_fmap_png_grid(s, &s->layers[0], req->fmap_data + s->layers[0].offset, grid, len);
    }
    free(prob);
    free(idx);
    if (!png) {
        free(*predictions);
        *predictions = NULL;
    }
    return png;
}
