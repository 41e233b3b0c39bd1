/* NumPy .npy arrays (format versions 1.0-3.0), as `classify` accepts them:
 * float32 little-endian ('<f4'), C order. The array stays inside the
 * caller's buffer. */
#ifndef SRV_NPY_H
#define SRV_NPY_H

#include "cnn/cnn.h"

#define SRV_NPY_MAX_DIMS 8

typedef struct srv_npy {
    int ndim;
    int64_t dims[SRV_NPY_MAX_DIMS];
    size_t numel;
    const uint8_t *data; /* numel little-endian float32 values; may be unaligned */
} srv_npy_t;

/* True when `buf` starts with the .npy magic string. */
bool srv_npy_is_npy(const uint8_t *buf, size_t len);

/* Validates the header strictly (magic, version, a dict with exactly 'descr',
 * 'fortran_order' and 'shape', '<f4', C order, data size exactly numel × 4)
 * and fills *out. CNN_E_FORMAT or CNN_E_UNSUPPORTED with a message. */
cnn_status_t srv_npy_parse(const uint8_t *buf, size_t len, srv_npy_t *out, cnn_error_t *err);

/* Copies values [start, start + count) as host floats into dst. */
void srv_npy_copy(const srv_npy_t *a, size_t start, size_t count, float *dst);

#endif
