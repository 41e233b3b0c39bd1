/* Feature-map grids and planes to PNG. */
#include "fmap_png.h"

#include <math.h>
#include <stb/stb_image_write.h>
#include <stdlib.h>
#include <string.h>

typedef struct png_buf {
    uint8_t *data;
    size_t len, cap;
    bool failed;
} png_buf_t;

static void png_write_cb(void *ctx, void *data, int size)
{
    png_buf_t *b = ctx;
    if (b->failed || size <= 0)
        return;
    if (b->len + (size_t)size > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + (size_t)size)
            cap *= 2;
        uint8_t *p = realloc(b->data, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, (size_t)size);
    b->len += (size_t)size;
}

static uint8_t *encode(const uint8_t *px, int w, int h, size_t *len)
{
    png_buf_t b = {0};
    if (!stbi_write_png_to_func(png_write_cb, &b, w, h, 1, px, w) || b.failed) {
        free(b.data);
        return NULL;
    }
    *len = b.len;
    return b.data;
}

/* Writes plane (h×w) normalized to its min/max, each pixel as a f×f block,
 * into dst (row stride `stride`). */
static void draw(const float *plane, int h, int w, int f, uint8_t *dst, size_t stride)
{
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < (size_t)h * (size_t)w; i++) {
        lo = fminf(lo, plane[i]);
        hi = fmaxf(hi, plane[i]);
    }
    float scale = hi > lo ? 255.0f / (hi - lo) : 0.0f;
    for (int y = 0; y < h * f; y++)
        for (int x = 0; x < w * f; x++) {
            float v = (plane[(size_t)(y / f) * w + x / f] - lo) * scale;
            dst[(size_t)y * stride + x] = (uint8_t)(v > 255.0f ? 255 : v < 0.0f || v != v ? 0 : lrintf(v));
        }
}

uint8_t *srv_fmap_png_grid(const srv_fmap_spec_t *s, const srv_fmap_layer_t *l, const float *data,
                           srv_png_grid_t *g, size_t *len)
{
    int n = l->n_channels, h = l->info.h, w = l->info.w;
    int small = h < w ? h : w, f = small >= 32 ? 1 : (32 + small - 1) / small;
    g->cols = (int)ceil(sqrt((double)n));
    if (g->cols < 1)
        g->cols = 1;
    while ((g->cols - 1) * (g->cols - 1) >= n && g->cols > 1)
        g->cols--;
    g->rows = (n + g->cols - 1) / g->cols;
    g->tile_w = w * f;
    g->tile_h = h * f;
    int W = g->cols * g->tile_w + g->cols - 1, H = g->rows * g->tile_h + g->rows - 1;
    uint8_t *px = malloc((size_t)W * (size_t)H);
    if (!px)
        return NULL;
    memset(px, 255, (size_t)W * (size_t)H);
    size_t plane = (size_t)h * (size_t)w;
    for (int k = 0; k < n; k++) {
        int r = k / g->cols, c = k % g->cols;
        uint8_t *at = px + (size_t)r * (size_t)(g->tile_h + 1) * (size_t)W + (size_t)c * (size_t)(g->tile_w + 1);
        draw(data + (size_t)srv_fmap_channel(s, k) * plane, h, w, f, at, (size_t)W);
    }
    uint8_t *png = encode(px, W, H, len);
    free(px);
    return png;
}

uint8_t *srv_fmap_png_plane(const float *plane, int h, int w, size_t *len)
{
    uint8_t *px = malloc((size_t)w * (size_t)h);
    if (!px)
        return NULL;
    draw(plane, h, w, 1, px, (size_t)w);
    uint8_t *png = encode(px, w, h, len);
    free(px);
    return png;
}
