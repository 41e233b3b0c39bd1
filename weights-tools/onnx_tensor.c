/* ONNX TensorProto → constant tensor: fp32 for floating types, int64 for
 * integer and bool types, from the typed repeated fields, raw_data
 * (little-endian) or external data. */
#include "onnx_internal.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum elem_kind { ELEM_FLOAT, ELEM_INT, ELEM_NONE } elem_kind_t;

typedef struct elem_type {
    elem_kind_t kind;
    size_t raw_size; /* bytes per element in raw_data */
    const char *name;
} elem_type_t;

static elem_type_t elem_type(int32_t data_type)
{
    switch (data_type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: return (elem_type_t){ELEM_FLOAT, 4, "float"};
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: return (elem_type_t){ELEM_FLOAT, 8, "double"};
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16: return (elem_type_t){ELEM_FLOAT, 2, "float16"};
    case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16: return (elem_type_t){ELEM_FLOAT, 2, "bfloat16"};
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return (elem_type_t){ELEM_INT, 8, "int64"};
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return (elem_type_t){ELEM_INT, 4, "int32"};
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT16: return (elem_type_t){ELEM_INT, 2, "int16"};
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: return (elem_type_t){ELEM_INT, 1, "int8"};
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: return (elem_type_t){ELEM_INT, 8, "uint64"};
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: return (elem_type_t){ELEM_INT, 4, "uint32"};
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16: return (elem_type_t){ELEM_INT, 2, "uint16"};
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: return (elem_type_t){ELEM_INT, 1, "uint8"};
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return (elem_type_t){ELEM_INT, 1, "bool"};
    default: return (elem_type_t){ELEM_NONE, 0, NULL};
    }
}

static float half_to_float(uint16_t h)
{
    int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float v;
    if (exp == 0)
        v = ldexpf((float)mant, -24);
    else if (exp == 31)
        v = mant ? NAN : INFINITY;
    else
        v = ldexpf((float)(mant | 0x400), exp - 25);
    return (h & 0x8000) ? -v : v;
}

/* A double as float, saturating to +-infinity (plain conversion of an
 * out-of-range value is undefined). */
static float double_to_float(double v)
{
    if (v > FLT_MAX)
        return INFINITY;
    if (v < -FLT_MAX)
        return -INFINITY;
    return (float)v;
}

static float bf16_to_float(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

cnn_status_t tools_onnx_numel(int ndim, const int64_t *dims, size_t limit, size_t *numel, cnn_error_t *err)
{
    if (ndim < 0 || ndim > TOOLS_ONNX_MAX_DIMS)
        return cnn_error_set(err, CNN_E_UNSUPPORTED, "tensors of rank %d are not supported (at most %d)",
                             ndim, TOOLS_ONNX_MAX_DIMS);
    *numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (dims[d] < 0)
            return cnn_error_set(err, CNN_E_FORMAT, "negative dimension %lld", (long long)dims[d]);
        if (dims[d] > 0 && *numel > limit / (size_t)dims[d])
            return cnn_error_set(err, CNN_E_UNSUPPORTED, "tensor too large (over %zu elements)", limit);
        *numel *= (size_t)dims[d];
    }
    return CNN_OK;
}

cnn_status_t tools_onnx_tensor_alloc(tools_onnx_tensor_t *t, bool is_int, int ndim, const int64_t *dims,
                                     cnn_error_t *err)
{
    memset(t, 0, sizeof *t);
    size_t numel;
    cnn_status_t st = tools_onnx_numel(ndim, dims, TOOLS_ONNX_MAX_NUMEL, &numel, err);
    if (st != CNN_OK)
        return st;
    if (ndim)
        memcpy(t->dims, dims, (size_t)ndim * sizeof *dims);
    t->ndim = ndim;
    t->numel = numel;
    t->is_int = is_int;
    size_t bytes = (numel ? numel : 1) * (is_int ? sizeof *t->i : sizeof *t->f);
    void *p = calloc(1, bytes);
    if (!p)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory for a tensor of %zu values", numel);
    if (is_int)
        t->i = p;
    else
        t->f = p;
    return CNN_OK;
}

void tools_onnx_tensor_free(tools_onnx_tensor_t *t)
{
    if (!t)
        return;
    if (!t->borrowed) {
        free(t->f);
        free(t->i);
    }
    t->f = NULL;
    t->i = NULL;
}

double tools_onnx_tensor_at(const tools_onnx_tensor_t *t, size_t i)
{
    return t->is_int ? (double)t->i[i] : (double)t->f[i];
}

/* Decodes numel little-endian elements of `data_type` from `raw`. */
static cnn_status_t decode_raw(tools_onnx_tensor_t *t, int32_t data_type, const uint8_t *raw, cnn_error_t *err)
{
    for (size_t k = 0; k < t->numel; k++) {
        switch (data_type) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: memcpy(&t->f[k], raw + 4 * k, 4); break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: {
            double v;
            memcpy(&v, raw + 8 * k, 8);
            t->f[k] = double_to_float(v);
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
        case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16: {
            uint16_t v;
            memcpy(&v, raw + 2 * k, 2);
            t->f[k] = data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 ? half_to_float(v) : bf16_to_float(v);
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: memcpy(&t->i[k], raw + 8 * k, 8); break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: {
            uint64_t v;
            memcpy(&v, raw + 8 * k, 8);
            if (v > (uint64_t)INT64_MAX)
                return cnn_error_set(err, CNN_E_UNSUPPORTED, "uint64 value out of range");
            t->i[k] = (int64_t)v;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: {
            int32_t v;
            memcpy(&v, raw + 4 * k, 4);
            t->i[k] = v;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: {
            uint32_t v;
            memcpy(&v, raw + 4 * k, 4);
            t->i[k] = v;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT16: {
            int16_t v;
            memcpy(&v, raw + 2 * k, 2);
            t->i[k] = v;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16: {
            uint16_t v;
            memcpy(&v, raw + 2 * k, 2);
            t->i[k] = v;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: t->i[k] = (int8_t)raw[k]; break;
        default: t->i[k] = raw[k]; break; /* uint8, bool */
        }
    }
    return CNN_OK;
}

/* Number of values in the typed repeated field that holds `data_type`. */
static size_t typed_count(const Onnx__TensorProto *tp)
{
    switch (tp->data_type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: return tp->n_float_data;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: return tp->n_double_data;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return tp->n_int64_data;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: return tp->n_uint64_data;
    default: return tp->n_int32_data;
    }
}

/* Decodes the typed repeated field (typed_count(tp) == t->numel). */
static cnn_status_t decode_typed(tools_onnx_tensor_t *t, const Onnx__TensorProto *tp, cnn_error_t *err)
{
    for (size_t k = 0; k < t->numel; k++) {
        switch (tp->data_type) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: t->f[k] = tp->float_data[k]; break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: t->f[k] = double_to_float(tp->double_data[k]); break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
            t->f[k] = half_to_float((uint16_t)tp->int32_data[k]);
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16:
            t->f[k] = bf16_to_float((uint16_t)tp->int32_data[k]);
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: t->i[k] = tp->int64_data[k]; break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
        case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
            if (tp->uint64_data[k] > (uint64_t)INT64_MAX)
                return cnn_error_set(err, CNN_E_UNSUPPORTED, "uint64 value out of range");
            t->i[k] = (int64_t)tp->uint64_data[k];
            break;
        default: t->i[k] = tp->int32_data[k]; break;
        }
    }
    return CNN_OK;
}

/* Reads the `bytes` bytes of tp's external data (keys location, offset,
 * length, checksum) into a malloc'ed *raw. */
static cnn_status_t read_external(const Onnx__TensorProto *tp, size_t bytes, const char *base_dir, uint8_t **raw,
                                  cnn_error_t *err)
{
    const char *location = NULL;
    uint64_t offset = 0, length = 0;
    bool has_length = false;
    for (size_t k = 0; k < tp->n_external_data; k++) {
        const char *key = tp->external_data[k]->key ? tp->external_data[k]->key : "";
        const char *val = tp->external_data[k]->value ? tp->external_data[k]->value : "";
        if (strcmp(key, "location") == 0) {
            location = val;
            continue;
        }
        if (strcmp(key, "checksum") == 0)
            continue;
        if (strcmp(key, "offset") != 0 && strcmp(key, "length") != 0)
            return cnn_error_set(err, CNN_E_FORMAT, "unknown external_data key '%s'", key);
        char *end;
        if (*val < '0' || *val > '9')
            return cnn_error_set(err, CNN_E_FORMAT, "external_data %s '%s' is not a number", key, val);
        unsigned long long v = strtoull(val, &end, 10);
        if (*end || v == ULLONG_MAX)
            return cnn_error_set(err, CNN_E_FORMAT, "external_data %s '%s' is not a number", key, val);
        if (key[0] == 'o') {
            offset = v;
        } else {
            length = v;
            has_length = true;
        }
    }
    if (!location || !*location)
        return cnn_error_set(err, CNN_E_FORMAT, "external data without a location");
    return tools_onnx_external_read(base_dir, location, offset, has_length, length, bytes, (void **)raw, err);
}

cnn_status_t tools_onnx_tensor_read(const Onnx__TensorProto *tp, const char *base_dir, const char *what,
                                    tools_onnx_tensor_t *out, cnn_error_t *err)
{
    memset(out, 0, sizeof *out);
    elem_type_t et = elem_type(tp->data_type);
    bool external = tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    uint8_t *ext = NULL;
    const uint8_t *raw = tp->has_raw_data ? tp->raw_data.data : NULL;
    size_t numel = 0;
    cnn_status_t st;
    /* Everything is checked against the data actually present before the
     * tensor is allocated, so dims cannot make us allocate what is not there. */
    if (et.kind == ELEM_NONE)
        st = cnn_error_set(err, CNN_E_UNSUPPORTED, "data type %d is not supported", (int)tp->data_type);
    else if (tp->segment)
        st = cnn_error_set(err, CNN_E_UNSUPPORTED, "segmented tensors are not supported");
    else if (tp->n_dims > TOOLS_ONNX_MAX_DIMS)
        st = cnn_error_set(err, CNN_E_UNSUPPORTED, "rank %zu is not supported (at most %d)", tp->n_dims,
                           TOOLS_ONNX_MAX_DIMS);
    else
        st = tools_onnx_numel((int)tp->n_dims, tp->dims, TOOLS_ONNX_MAX_NUMEL, &numel, err);
    if (st != CNN_OK) {
    } else if (tp->has_data_location && !external && tp->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT) {
        st = cnn_error_set(err, CNN_E_FORMAT, "unknown data_location %d", (int)tp->data_location);
    } else if (external && !base_dir) {
        st = cnn_error_set(err, CNN_E_UNSUPPORTED, "external data is not allowed here");
    } else if (external) {
        if ((st = read_external(tp, numel * et.raw_size, base_dir, &ext, err)) == CNN_OK)
            raw = ext;
    } else if (raw && (tp->raw_data.len % et.raw_size || tp->raw_data.len / et.raw_size != numel)) {
        st = cnn_error_set(err, CNN_E_FORMAT, "raw_data has %zu bytes, %zu %s values need %zu", tp->raw_data.len,
                           numel, et.name, numel * et.raw_size);
    } else if (!raw && typed_count(tp) != numel) {
        st = cnn_error_set(err, CNN_E_FORMAT, "has %zu values for %zu elements", typed_count(tp), numel);
    }
    if (st == CNN_OK)
        st = tools_onnx_tensor_alloc(out, et.kind == ELEM_INT, (int)tp->n_dims, tp->dims, err);
    if (st == CNN_OK)
        st = raw ? decode_raw(out, tp->data_type, raw, err) : decode_typed(out, tp, err);
    free(ext);
    if (st != CNN_OK) {
        tools_onnx_tensor_free(out);
        cnn_error_prefix(err, "tensor '%s'", what);
    }
    return st;
}
