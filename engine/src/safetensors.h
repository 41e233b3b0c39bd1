/* safetensors reader: maps a file and validates it the way the format's spec
 * does (https://github.com/huggingface/safetensors): 8-byte little-endian
 * header length N (<= 100 MB and inside the file), N bytes of JSON mapping
 * tensor name -> {dtype, shape, data_offsets:[begin,end]} plus an optional
 * "__metadata__" object of strings; data offsets are relative to the byte
 * after the header, contiguous, non-overlapping, cover the data section
 * exactly (no gaps, no trailing bytes), and end-begin == numel × dtype size.
 * Names are unique. */
#ifndef CNN_SAFETENSORS_H
#define CNN_SAFETENSORS_H

#include "cnn/cnn.h"

#define CNN_ST_MAX_HEADER_BYTES (100u * 1000u * 1000u)
#define CNN_ST_MAX_DIMS 8

typedef enum cnn_dtype {
    CNN_DTYPE_BOOL = 0,
    CNN_DTYPE_U8, CNN_DTYPE_I8,
    CNN_DTYPE_I16, CNN_DTYPE_U16, CNN_DTYPE_F16, CNN_DTYPE_BF16,
    CNN_DTYPE_I32, CNN_DTYPE_U32, CNN_DTYPE_F32,
    CNN_DTYPE_I64, CNN_DTYPE_U64, CNN_DTYPE_F64,
    CNN_DTYPE_COUNT
} cnn_dtype_t;

typedef struct cnn_st_tensor {
    char *name;
    cnn_dtype_t dtype;
    int ndim;
    int64_t dims[CNN_ST_MAX_DIMS];
    const uint8_t *data; /* inside the mapping; may be unaligned */
    size_t nbytes;
} cnn_st_tensor_t;

typedef struct cnn_safetensors {
    void *map; /* NULL when parsing a caller's buffer */
    size_t map_size;
    cnn_st_tensor_t *tensors; /* sorted by data offset */
    int num_tensors;
} cnn_safetensors_t;

const char *cnn_dtype_name(cnn_dtype_t dtype);
size_t cnn_dtype_size(cnn_dtype_t dtype);
bool cnn_dtype_is_float(cnn_dtype_t dtype);
/* Writes "[d0,d1,...]" into buf (NUL-terminated, truncated to `size`) for messages. */
void cnn_dims_format(const int64_t *dims, int ndim, char *buf, size_t size);

/* Maps `path` read-only and validates it. Returns CNN_E_IO or CNN_E_FORMAT
 * with a message naming the offending tensor or field. */
cnn_status_t cnn_safetensors_open(const char *path, cnn_safetensors_t **out, cnn_error_t *err);
/* Validates a buffer already in memory; `buf` must outlive the result. */
cnn_status_t cnn_safetensors_parse(const uint8_t *buf, size_t len, cnn_safetensors_t **out,
                                   cnn_error_t *err);
void cnn_safetensors_close(cnn_safetensors_t *st);

/* Tensor by name, or NULL. */
const cnn_st_tensor_t *cnn_safetensors_find(const cnn_safetensors_t *st, const char *name);

/* Converts numel values of a float tensor (F32/F16/BF16/F64) to fp32. */
cnn_status_t cnn_dtype_to_f32(cnn_dtype_t dtype, const uint8_t *src, size_t numel, float *dst,
                              cnn_error_t *err);

#endif
