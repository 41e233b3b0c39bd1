/* Bilinear resizing and channel averaging for hypercolumns. */
#include "hypercolumn.h"

#include <stdlib.h>

/* For each output coordinate along one axis: the two source indices and weights. */
typedef struct axis_tap {
    int i0, i1;
    float w0, w1;
} axis_tap_t;

static void axis_taps(int in, int out, axis_tap_t *taps)
{
    float scale = (float)in / (float)out;
    for (int d = 0; d < out; d++) {
        float src = scale * ((float)d + 0.5f) - 0.5f;
        if (src < 0)
            src = 0;
        int i0 = (int)src;
        if (i0 > in - 1)
            i0 = in - 1;
        int i1 = i0 + (i0 < in - 1 ? 1 : 0);
        float l1 = src - (float)i0;
        taps[d] = (axis_tap_t){i0, i1, 1.0f - l1, l1};
    }
}

void srv_resize_bilinear_add(const float *src, int in_h, int in_w, double *dst, int out_h, int out_w)
{
    axis_tap_t *ty = malloc((size_t)out_h * sizeof *ty), *tx = malloc((size_t)out_w * sizeof *tx);
    if (!ty || !tx) {
        free(ty);
        free(tx);
        return;
    }
    axis_taps(in_h, out_h, ty);
    axis_taps(in_w, out_w, tx);
    for (int y = 0; y < out_h; y++) {
        const float *r0 = src + (size_t)ty[y].i0 * in_w, *r1 = src + (size_t)ty[y].i1 * in_w;
        double *row = dst + (size_t)y * out_w;
        for (int x = 0; x < out_w; x++) {
            const axis_tap_t *t = &tx[x];
            float top = t->w0 * r0[t->i0] + t->w1 * r0[t->i1];
            float bottom = t->w0 * r1[t->i0] + t->w1 * r1[t->i1];
            row[x] += ty[y].w0 * top + ty[y].w1 * bottom;
        }
    }
    free(ty);
    free(tx);
}

/* Resizing is linear, so the mean of the resized channels of a layer is the
 * resized sum of its channels over their count: one resize per layer
 * instead of one per channel (ResNet-50 layers=all: 57 instead of 31,720). */
bool srv_hypercolumn(const srv_fmap_spec_t *spec, const float *block, float *dst)
{
    size_t n = (size_t)spec->in_h * (size_t)spec->in_w, most = 1;
    for (int i = 0; i < spec->n_layers; i++) {
        size_t plane = (size_t)spec->layers[i].info.h * (size_t)spec->layers[i].info.w;
        most = plane > most ? plane : most;
    }
    double *acc = calloc(n, sizeof *acc), *sum = malloc(most * sizeof *sum);
    float *sumf = malloc(most * sizeof *sumf);
    if (!acc || !sum || !sumf) {
        free(acc);
        free(sum);
        free(sumf);
        return false;
    }
    size_t channels = 0;
    for (int i = 0; i < spec->n_layers; i++) {
        const srv_fmap_layer_t *l = &spec->layers[i];
        size_t plane = (size_t)l->info.h * (size_t)l->info.w;
        for (size_t p = 0; p < plane; p++)
            sum[p] = 0;
        for (int k = 0; k < l->n_channels; k++) {
            const float *src = block + l->offset + (size_t)srv_fmap_channel(spec, k) * plane;
            for (size_t p = 0; p < plane; p++)
                sum[p] += src[p];
        }
        for (size_t p = 0; p < plane; p++)
            sumf[p] = (float)sum[p];
        srv_resize_bilinear_add(sumf, l->info.h, l->info.w, acc, spec->in_h, spec->in_w);
        channels += (size_t)l->n_channels;
    }
    for (size_t p = 0; p < n; p++)
        dst[p] = channels ? (float)(acc[p] / (double)channels) : 0.0f;
    free(acc);
    free(sum);
    free(sumf);
    return true;
}
