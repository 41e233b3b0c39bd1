/* Hypercolumns (the seed's §5.16): every returned channel of every requested
 * layer resized to the input size and averaged. */
#ifndef SRV_HYPERCOLUMN_H
#define SRV_HYPERCOLUMN_H

#include "fmap_spec.h"

/* Resizes src (in_h×in_w) to dst (out_h×out_w) bilinearly as PyTorch's
 * F.interpolate(mode="bilinear", align_corners=False) without antialiasing:
 * source coordinate (d + 0.5) × in/out − 0.5, clamped at 0, neighbours
 * clamped at the last row/column; dst[i] += weight × value (accumulates). */
void srv_resize_bilinear_add(const float *src, int in_h, int in_w, double *dst, int out_h, int out_w);

/* dst[spec->in_h × spec->in_w] = the mean over every returned channel of
 * every layer of that channel resized to the input size. `block` is one
 * image's fetched floats (layers at their offsets). False when out of memory. */
bool srv_hypercolumn(const srv_fmap_spec_t *spec, const float *block, float *dst);

#endif
