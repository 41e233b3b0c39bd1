/* Writes fp32 tensors as a safetensors file. */
#ifndef TOOLS_SAFETENSORS_WRITE_H
#define TOOLS_SAFETENSORS_WRITE_H

#include "cnn/cnn.h"

#include <stdint.h>

#define TOOLS_ST_MAX_DIMS 8

typedef struct tools_tensor {
    char *name;
    int ndim;
    int64_t dims[TOOLS_ST_MAX_DIMS];
    float *data; /* numel values */
} tools_tensor_t;

/* Writes `n` F32 tensors to `path` (via a temporary file and rename), in the
 * given order. The header is padded with spaces so the data section starts
 * 64-byte aligned, which lets the engine use the mapped weights in place. */
cnn_status_t tools_safetensors_write(const char *path, const tools_tensor_t *tensors, int n, cnn_error_t *err);

#endif
