/* Device weight images of the CUDA backend, built on the host (no CUDA
 * dependency): which constants each node needs, where they sit in one
 * device blob, and their packed bytes (fp32, or fp16 with convolution
 * filters in KRSC order and channels padded to the format's alignment). */
#ifndef CNN_CUDA_PACK_H
#define CNN_CUDA_PACK_H

#include <stdint.h>

#include "cuda_plan.h"

/* IEEE 754 binary16 bits of f, rounded to nearest even (overflow → ±inf, NaN kept). */
uint16_t cnn_cu_f16_bits(float f);
/* The float a binary16 bit pattern holds (exact). */
float cnn_cu_f16_value(uint16_t h);

/* Where node i's constants are in the blob (byte offsets; SIZE_MAX when absent).
 *   conv:  filter (dtype; fp32 KCRS, fp16 K_p R S C_p) and bias (dtype, K_p, zeros when the layer has none)
 *   dense: weight [O, F] (dtype) and bias [O] (dtype, zeros when none)
 *   batch norm: scale [C] and shift [C] (fp32): y = x * scale + shift
 *   prelu: slopes [1 or C] (fp32) */
typedef struct cnn_cu_wslot {
    size_t a, b;
    size_t a_bytes, b_bytes;
} cnn_cu_wslot_t;

typedef struct cnn_cu_wlayout {
    cnn_cu_format_t fmt;
    cnn_cu_wslot_t *slots; /* per graph node */
    size_t total;          /* blob bytes */
} cnn_cu_wlayout_t;

/* Lays out every executed node's constants for format fmt. */
cnn_status_t cnn_cu_wlayout_build(const cnn_graph_t *g, const cnn_cu_format_t *fmt, cnn_cu_wlayout_t *out,
                                  cnn_error_t *err);
void cnn_cu_wlayout_free(cnn_cu_wlayout_t *l);
/* Writes the packed constants into blob (l->total bytes, zeroed first). */
void cnn_cu_wlayout_pack(const cnn_graph_t *g, const cnn_cu_wlayout_t *l, void *blob);

/* Packs conv filter w ([K, C/groups, R, S] fp32) into dst: fp32 keeps KCRS;
 * fp16 writes [kp][R][S][cp] (per-group C when groups > 1, then kp = K,
 * cp = C/groups), zero in padded entries. */
void cnn_cu_pack_filter(const float *w, int k, int c_per_group, int r, int s, const cnn_cu_format_t *fmt, int kp,
                        int cp, void *dst);

#endif
