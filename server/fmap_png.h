/* Feature maps as 8-bit grayscale PNG images (stb_image_write). */
#ifndef SRV_FMAP_PNG_H
#define SRV_FMAP_PNG_H

#include "fmap_spec.h"

#include <stdint.h>

typedef struct srv_png_grid {
    int cols, rows;   /* tiles */
    int tile_w, tile_h; /* after upscaling */
} srv_png_grid_t;

/* PNG of the returned channels of layer l (its floats at `data`, C×H×W):
 * tiles in channel order, row-major, cols = ceil(sqrt(n)); each tile
 * normalized to its own min/max (constant → 0), upscaled by
 * ceil(32 / min(H, W)) (nearest), 1 px separators of 255 (also the unused
 * cells). Malloc'ed bytes and *len, the layout in *g; NULL when out of memory. */
uint8_t *srv_fmap_png_grid(const srv_fmap_spec_t *s, const srv_fmap_layer_t *l, const float *data,
                           srv_png_grid_t *g, size_t *len);

/* PNG of one h×w plane normalized to its min/max; NULL when out of memory. */
uint8_t *srv_fmap_png_plane(const float *plane, int h, int w, size_t *len);

#endif
