/* safetensors writer (see safetensors_write.h). */
#include "safetensors_write.h"

#include "status.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DATA_ALIGN 64

static size_t numel(const tools_tensor_t *t)
{
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= (size_t)t->dims[d];
    return n;
}

/* The JSON header (malloc'ed, unpadded) or NULL on out of memory. */
static char *make_header(const tools_tensor_t *tensors, int n)
{
    cJSON *root = cJSON_CreateObject();
    bool ok = root != NULL;
    size_t offset = 0;
    for (int i = 0; ok && i < n; i++) {
        const tools_tensor_t *t = &tensors[i];
        size_t bytes = numel(t) * sizeof(float);
        cJSON *entry = cJSON_AddObjectToObject(root, t->name);
        cJSON *shape = entry ? cJSON_AddArrayToObject(entry, "shape") : NULL;
        cJSON *offsets = entry ? cJSON_AddArrayToObject(entry, "data_offsets") : NULL;
        ok = entry && shape && offsets && cJSON_AddStringToObject(entry, "dtype", "F32");
        for (int d = 0; ok && d < t->ndim; d++)
            ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->dims[d]));
        ok = ok && cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)offset)) &&
             cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)(offset + bytes)));
        offset += bytes;
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

cnn_status_t tools_safetensors_write(const char *path, const tools_tensor_t *tensors, int n, cnn_error_t *err)
{
    char *header = make_header(tensors, n);
    if (!header)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory writing %s", path);
    size_t len = strlen(header);
    size_t padded = (8 + len + DATA_ALIGN - 1) / DATA_ALIGN * DATA_ALIGN - 8;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(header);
        return cnn_error_set(err, CNN_E_IO, "cannot write %s: %s", tmp, strerror(errno));
    }
    uint8_t size_le[8];
    for (int i = 0; i < 8; i++)
        size_le[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    bool ok = fwrite(size_le, 1, 8, f) == 8 && fwrite(header, 1, len, f) == len;
    for (size_t i = len; ok && i < padded; i++)
        ok = fputc(' ', f) != EOF;
    for (int i = 0; ok && i < n; i++) {
        size_t count = numel(&tensors[i]);
        ok = fwrite(tensors[i].data, sizeof(float), count, f) == count; /* little-endian host */
    }
    ok = (fclose(f) == 0) && ok;
    free(header);
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return cnn_error_set(err, CNN_E_IO, "cannot write %s", path);
    }
    return CNN_OK;
}
