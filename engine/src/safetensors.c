/* safetensors reader: mmap + header validation (see safetensors.h). */
#include "safetensors.h"

#include "status.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this reader assumes a little-endian host"
#endif

/* Largest integer a JSON number (a double in cJSON) holds exactly. */
#define ST_MAX_JSON_INT 9007199254740992.0 /* 2^53 */

static const struct {
    const char *name;
    size_t size;
} dtype_table[CNN_DTYPE_COUNT] = {
    [CNN_DTYPE_BOOL] = {"BOOL", 1}, [CNN_DTYPE_U8] = {"U8", 1},   [CNN_DTYPE_I8] = {"I8", 1},
    [CNN_DTYPE_I16] = {"I16", 2},   [CNN_DTYPE_U16] = {"U16", 2}, [CNN_DTYPE_F16] = {"F16", 2},
    [CNN_DTYPE_BF16] = {"BF16", 2}, [CNN_DTYPE_I32] = {"I32", 4}, [CNN_DTYPE_U32] = {"U32", 4},
    [CNN_DTYPE_F32] = {"F32", 4},   [CNN_DTYPE_I64] = {"I64", 8}, [CNN_DTYPE_U64] = {"U64", 8},
    [CNN_DTYPE_F64] = {"F64", 8},
};

const char *cnn_dtype_name(cnn_dtype_t dtype)
{
    return (unsigned)dtype < CNN_DTYPE_COUNT ? dtype_table[dtype].name : "?";
}

size_t cnn_dtype_size(cnn_dtype_t dtype)
{
    return (unsigned)dtype < CNN_DTYPE_COUNT ? dtype_table[dtype].size : 0;
}

bool cnn_dtype_is_float(cnn_dtype_t dtype)
{
    return dtype == CNN_DTYPE_F16 || dtype == CNN_DTYPE_BF16 || dtype == CNN_DTYPE_F32 ||
           dtype == CNN_DTYPE_F64;
}

void cnn_dims_format(const int64_t *dims, int ndim, char *buf, size_t size)
{
    size_t used = 0;
    if (size == 0)
        return;
    buf[0] = '\0';
    for (int i = 0; i <= ndim && used < size; i++) {
        const char *sep = i == 0 ? "[" : ",";
        int n = i == ndim ? snprintf(buf + used, size - used, "%s]", ndim == 0 ? "[" : "")
                          : snprintf(buf + used, size - used, "%s%lld", sep, (long long)dims[i]);
        if (n < 0)
            return;
        used += (size_t)n;
    }
}

/* Dtype by spec name; returns false when unknown. */
static bool dtype_from_name(const char *name, cnn_dtype_t *out)
{
    for (int i = 0; i < CNN_DTYPE_COUNT; i++) {
        if (strcmp(dtype_table[i].name, name) == 0) {
            *out = (cnn_dtype_t)i;
            return true;
        }
    }
    return false;
}

void cnn_safetensors_close(cnn_safetensors_t *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->num_tensors; i++)
        free(st->tensors[i].name);
    free(st->tensors);
    if (st->map)
        munmap(st->map, st->map_size);
    free(st);
}

const cnn_st_tensor_t *cnn_safetensors_find(const cnn_safetensors_t *st, const char *name)
{
    for (int i = 0; i < st->num_tensors; i++) {
        if (strcmp(st->tensors[i].name, name) == 0)
            return &st->tensors[i];
    }
    return NULL;
}

/* A JSON number that is an integer in [0, 2^53]; false otherwise. */
static bool json_to_u64(const cJSON *item, uint64_t *out)
{
    if (!cJSON_IsNumber(item))
        return false;
    double v = item->valuedouble;
    if (!(v >= 0.0 && v <= ST_MAX_JSON_INT) || floor(v) != v)
        return false;
    *out = (uint64_t)v;
    return true;
}

/* Fills the dtype, shape and nbytes of `t` from its JSON entry; data_offsets into begin/end. */
static cnn_status_t parse_entry(const cJSON *entry, cnn_st_tensor_t *t, uint64_t *begin,
                                uint64_t *end, cnn_error_t *err)
{
    const char *name = t->name;
    if (!cJSON_IsObject(entry))
        return cnn_error_set(err, CNN_E_FORMAT, "tensor '%.200s': entry is not an object", name);

    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
    if (!dtype)
        return cnn_error_set(err, CNN_E_FORMAT, "tensor '%.200s': missing \"dtype\"", name);
    if (!cJSON_IsString(dtype))
        return cnn_error_set(err, CNN_E_FORMAT, "tensor '%.200s': \"dtype\" is not a string", name);
    if (!dtype_from_name(dtype->valuestring, &t->dtype))
        return cnn_error_set(err, CNN_E_FORMAT, "tensor '%.200s': unknown dtype '%.32s'", name,
                             dtype->valuestring);

    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(entry, "shape");
    if (!shape)
        return cnn_error_set(err, CNN_E_FORMAT, "tensor '%.200s': missing \"shape\"", name);
    if (!cJSON_IsArray(shape))
        return cnn_error_set(err, CNN_E_FORMAT, "tensor '%.200s': \"shape\" is not an array", name);
    uint64_t nbytes = cnn_dtype_size(t->dtype);
    const cJSON *dim;
    t->ndim = 0;
    cJSON_ArrayForEach(dim, shape) {
        if (t->ndim == CNN_ST_MAX_DIMS)
            return cnn_error_set(err, CNN_E_FORMAT, "tensor '%.200s': \"shape\" has more than %d dims",
                                 name, CNN_ST_MAX_DIMS);
        uint64_t d;
        if (!json_to_u64(dim, &d))
            return cnn_error_set(err, CNN_E_FORMAT,
                                 "tensor '%.200s': \"shape\"[%d] is not a non-negative integer", name,
                                 t->ndim);
        if (d != 0 && nbytes > SIZE_MAX / d)
            return cnn_error_set(err, CNN_E_FORMAT, "tensor '%.200s': \"shape\" size overflows", name);
        nbytes *= d;
        t->dims[t->ndim++] = (int64_t)d;
    }
    t->nbytes = (size_t)nbytes;

    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    if (!offsets)
        return cnn_error_set(err, CNN_E_FORMAT, "tensor '%.200s': missing \"data_offsets\"", name);
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        !json_to_u64(cJSON_GetArrayItem(offsets, 0), begin) ||
        !json_to_u64(cJSON_GetArrayItem(offsets, 1), end))
        return cnn_error_set(err, CNN_E_FORMAT,
                             "tensor '%.200s': \"data_offsets\" is not [begin, end] of non-negative integers",
                             name);
    if (*end < *begin)
        return cnn_error_set(err, CNN_E_FORMAT,
                             "tensor '%.200s': \"data_offsets\" end %llu is before begin %llu", name,
                             (unsigned long long)*end, (unsigned long long)*begin);
    if (*end - *begin != nbytes) {
        char dims[128];
        cnn_dims_format(t->dims, t->ndim, dims, sizeof dims);
        return cnn_error_set(err, CNN_E_FORMAT,
                             "tensor '%.200s': \"data_offsets\" span %llu bytes but shape %s of %s needs %llu",
                             name, (unsigned long long)(*end - *begin), dims,
                             cnn_dtype_name(t->dtype), (unsigned long long)nbytes);
    }
    return CNN_OK;
}

static cnn_status_t check_metadata(const cJSON *meta, cnn_error_t *err)
{
    if (!cJSON_IsObject(meta))
        return cnn_error_set(err, CNN_E_FORMAT, "\"__metadata__\" is not an object");
    const cJSON *item;
    cJSON_ArrayForEach(item, meta) {
        if (!cJSON_IsString(item))
            return cnn_error_set(err, CNN_E_FORMAT, "\"__metadata__\" value '%.200s' is not a string",
                                 item->string);
    }
    return CNN_OK;
}

/* Tensor with its data offsets, while the header is being checked. */
typedef struct st_span {
    uint64_t begin, end;
    int index;
} st_span_t;

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int compare_spans(const void *a, const void *b)
{
    const st_span_t *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->index - y->index;
}

/* Names must be unique; cJSON keeps duplicate keys, so sort a copy of the names and compare neighbours. */
static cnn_status_t check_unique_names(const cJSON *root, int count, cnn_error_t *err)
{
    if (count < 2)
        return CNN_OK;
    const char **names = malloc((size_t)count * sizeof *names);
    if (!names)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory checking tensor names");
    int n = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, root) names[n++] = item->string;
    qsort(names, (size_t)n, sizeof *names, compare_names);
    cnn_status_t status = CNN_OK;
    for (int i = 1; i < n && status == CNN_OK; i++) {
        if (strcmp(names[i - 1], names[i]) == 0)
            status = cnn_error_set(err, CNN_E_FORMAT, "duplicate tensor name '%.200s'", names[i]);
    }
    free(names);
    return status;
}

/* Data offsets, sorted, must tile [0, data_size) exactly. */
static cnn_status_t check_layout(const cnn_safetensors_t *st, st_span_t *spans, uint64_t data_size,
                                 cnn_error_t *err)
{
    int n = st->num_tensors;
    for (int i = 0; i < n; i++) {
        if (spans[i].end > data_size)
            return cnn_error_set(err, CNN_E_FORMAT,
                                 "tensor '%.200s': \"data_offsets\" end %llu is past the %llu-byte data section",
                                 st->tensors[spans[i].index].name, (unsigned long long)spans[i].end,
                                 (unsigned long long)data_size);
    }
    qsort(spans, (size_t)n, sizeof *spans, compare_spans);
    uint64_t expected = 0;
    for (int i = 0; i < n; i++) {
        const char *name = st->tensors[spans[i].index].name;
        if (spans[i].begin < expected)
            return cnn_error_set(err, CNN_E_FORMAT,
                                 "tensor '%.200s': \"data_offsets\" begin %llu overlaps tensor '%.200s' ending at %llu",
                                 name, (unsigned long long)spans[i].begin,
                                 st->tensors[spans[i - 1].index].name, (unsigned long long)expected);
        if (spans[i].begin > expected)
            return cnn_error_set(err, CNN_E_FORMAT,
                                 "tensor '%.200s': gap of %llu bytes before its \"data_offsets\" begin %llu",
                                 name, (unsigned long long)(spans[i].begin - expected),
                                 (unsigned long long)spans[i].begin);
        expected = spans[i].end;
    }
    if (expected != data_size)
        return cnn_error_set(err, CNN_E_FORMAT, "%llu trailing bytes after the last tensor's data",
                             (unsigned long long)(data_size - expected));
    return CNN_OK;
}

/* Fills st->tensors from the parsed header (root object); data follows the header at `data`. */
static cnn_status_t load_tensors(cnn_safetensors_t *st, const cJSON *root, const uint8_t *data,
                                 uint64_t data_size, cnn_error_t *err)
{
    int count = cJSON_GetArraySize(root);
    cnn_status_t status = check_unique_names(root, count, err);
    if (status != CNN_OK)
        return status;
    st->tensors = calloc((size_t)(count > 0 ? count : 1), sizeof *st->tensors);
    st_span_t *spans = calloc((size_t)(count > 0 ? count : 1), sizeof *spans);
    if (!st->tensors || !spans) {
        status = cnn_error_set(err, CNN_E_NOMEM, "out of memory reading %d header entries", count);
        goto done;
    }
    const cJSON *entry;
    cJSON_ArrayForEach(entry, root) {
        if (strcmp(entry->string, "__metadata__") == 0) {
            status = check_metadata(entry, err);
            if (status != CNN_OK)
                goto done;
            continue;
        }
        cnn_st_tensor_t *t = &st->tensors[st->num_tensors];
        t->name = strdup(entry->string);
        if (!t->name) {
            status = cnn_error_set(err, CNN_E_NOMEM, "out of memory copying tensor names");
            goto done;
        }
        spans[st->num_tensors].index = st->num_tensors;
        st->num_tensors++;
        status = parse_entry(entry, t, &spans[st->num_tensors - 1].begin,
                             &spans[st->num_tensors - 1].end, err);
        if (status != CNN_OK)
            goto done;
    }
    status = check_layout(st, spans, data_size, err);
    if (status != CNN_OK)
        goto done;
    /* Attach data pointers, then reorder the tensors by data offset. */
    cnn_st_tensor_t *sorted = calloc((size_t)(count > 0 ? count : 1), sizeof *sorted);
    if (!sorted) {
        status = cnn_error_set(err, CNN_E_NOMEM, "out of memory sorting tensors");
        goto done;
    }
    for (int i = 0; i < st->num_tensors; i++) {
        sorted[i] = st->tensors[spans[i].index];
        sorted[i].data = data + spans[i].begin;
    }
    free(st->tensors);
    st->tensors = sorted;
done:
    free(spans);
    return status;
}

/* Parses the header of `buf` into a new reader (map fields left NULL). */
static cnn_status_t parse_buffer(const uint8_t *buf, size_t len, cnn_safetensors_t **out,
                                 cnn_error_t *err)
{
    *out = NULL;
    if (len < 8)
        return cnn_error_set(err, CNN_E_FORMAT,
                             "file is %zu bytes, too short for the 8-byte header length", len);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | buf[i];
    if (n == 0)
        return cnn_error_set(err, CNN_E_FORMAT, "header length is 0");
    if (n > CNN_ST_MAX_HEADER_BYTES)
        return cnn_error_set(err, CNN_E_FORMAT, "header length %llu exceeds the %u-byte limit",
                             (unsigned long long)n, CNN_ST_MAX_HEADER_BYTES);
    if (n > len - 8)
        return cnn_error_set(err, CNN_E_FORMAT,
                             "header length %llu runs past the end of the file (%zu bytes)",
                             (unsigned long long)n, len);

    cnn_status_t status = CNN_OK;
    cJSON *root = NULL;
    cnn_safetensors_t *st = calloc(1, sizeof *st);
    /* A NUL-terminated copy: cJSON may peek one byte past a string's end. */
    char *text = malloc((size_t)n + 1);
    if (!st || !text) {
        status = cnn_error_set(err, CNN_E_NOMEM, "out of memory reading a %llu-byte header",
                               (unsigned long long)n);
        goto fail;
    }
    memcpy(text, buf + 8, (size_t)n);
    text[n] = '\0';
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(text, (size_t)n, &end, false);
    if (!root) {
        status = cnn_error_set(err, CNN_E_FORMAT, "header is not valid JSON (at byte %td)",
                               end ? end - text : (ptrdiff_t)0);
        goto fail;
    }
    /* The spec pads the header with spaces; anything else after the JSON is an error. */
    for (const char *p = end; p < text + n; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            status = cnn_error_set(err, CNN_E_FORMAT, "header has data after the JSON (at byte %td)",
                                   p - text);
            goto fail;
        }
    }
    if (!cJSON_IsObject(root)) {
        status = cnn_error_set(err, CNN_E_FORMAT, "header is not a JSON object");
        goto fail;
    }
    status = load_tensors(st, root, buf + 8 + n, (uint64_t)(len - 8 - n), err);
    if (status != CNN_OK)
        goto fail;
    cJSON_Delete(root);
    free(text);
    *out = st;
    return CNN_OK;
fail:
    cJSON_Delete(root);
    free(text);
    cnn_safetensors_close(st);
    return status;
}

cnn_status_t cnn_safetensors_parse(const uint8_t *buf, size_t len, cnn_safetensors_t **out,
                                   cnn_error_t *err)
{
    if (!out || (!buf && len > 0))
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "safetensors: no buffer");
    return parse_buffer(buf ? buf : (const uint8_t *)"", len, out, err);
}

/* Messages are prefixed with `path`. The file must not be truncated while mapped. */
cnn_status_t cnn_safetensors_open(const char *path, cnn_safetensors_t **out, cnn_error_t *err)
{
    if (!path || !out)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "safetensors: no path");
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cnn_error_set(err, CNN_E_IO, "%s: cannot open: %s", path, strerror(errno));
    cnn_status_t status = CNN_OK;
    void *map = NULL;
    size_t size = 0;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        status = cnn_error_set(err, CNN_E_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(sb.st_mode)) {
        status = cnn_error_set(err, CNN_E_IO, "%s: not a regular file", path);
        goto done;
    }
    size = (size_t)sb.st_size;
    if (size < 8) {
        status = cnn_error_set(err, CNN_E_FORMAT,
                               "%s: file is %zu bytes, too short for the 8-byte header length", path,
                               size);
        goto done;
    }
    map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        map = NULL;
        status = cnn_error_set(err, CNN_E_IO, "%s: cannot map: %s", path, strerror(errno));
        goto done;
    }
    status = parse_buffer(map, size, out, err);
    if (status != CNN_OK) {
        cnn_error_prefix(err, "%s", path);
        goto done;
    }
    (*out)->map = map;
    (*out)->map_size = size;
    map = NULL;
done:
    if (map)
        munmap(map, size);
    close(fd);
    return status;
}

/* IEEE binary16 -> binary32, exact (subnormals, infinities and NaN payloads kept). */
static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0 && mant == 0) {
        bits = sign;
    } else if (exp == 0) {
        float sub = (float)mant * 0x1p-24f; /* exact: mant < 2^10 */
        memcpy(&bits, &sub, sizeof bits);
        bits |= sign;
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 112u) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Doubles outside float range become ±inf (a plain cast would be undefined). */
static float double_to_float(double d)
{
    if (d > FLT_MAX)
        return INFINITY;
    if (d < -FLT_MAX)
        return -INFINITY;
    return (float)d;
}

cnn_status_t cnn_dtype_to_f32(cnn_dtype_t dtype, const uint8_t *src, size_t numel, float *dst,
                              cnn_error_t *err)
{
    switch (dtype) {
    case CNN_DTYPE_F32:
        if (numel > 0)
            memcpy(dst, src, numel * sizeof *dst);
        return CNN_OK;
    case CNN_DTYPE_F16:
        for (size_t i = 0; i < numel; i++)
            dst[i] = half_to_float((uint16_t)(src[2 * i] | (src[2 * i + 1] << 8)));
        return CNN_OK;
    case CNN_DTYPE_BF16:
        for (size_t i = 0; i < numel; i++) {
            uint32_t bits = ((uint32_t)src[2 * i] | ((uint32_t)src[2 * i + 1] << 8)) << 16;
            memcpy(&dst[i], &bits, sizeof bits);
        }
        return CNN_OK;
    case CNN_DTYPE_F64:
        for (size_t i = 0; i < numel; i++) {
            double d;
            memcpy(&d, src + 8 * i, sizeof d);
            dst[i] = double_to_float(d);
        }
        return CNN_OK;
    default:
        return cnn_error_set(err, CNN_E_UNSUPPORTED, "dtype %s is not a float type",
                             cnn_dtype_name(dtype));
    }
}
