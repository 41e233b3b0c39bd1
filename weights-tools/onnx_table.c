/* A string-keyed open-addressing hash table (FNV-1a, linear probing) for the
 * importer's name lookups, so that graphs with many nodes stay linear. */
#include "onnx_internal.h"

#include <stdlib.h>
#include <string.h>

static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return (size_t)h;
}

/* Index of key's slot, or of the empty slot where it would go. */
static size_t slot_of(const tools_onnx_table_t *t, const char *key)
{
    size_t mask = t->cap - 1, i = hash(key) & mask;
    while (t->keys[i] && strcmp(t->keys[i], key) != 0)
        i = (i + 1) & mask;
    return i;
}

static cnn_status_t grow(tools_onnx_table_t *t, cnn_error_t *err)
{
    size_t cap = t->cap ? t->cap * 2 : 64;
    tools_onnx_table_t n = {calloc(cap, sizeof(char *)), calloc(cap, sizeof(void *)), cap, t->count};
    if (!n.keys || !n.vals) {
        free(n.keys);
        free(n.vals);
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->keys[i])
            continue;
        size_t j = slot_of(&n, t->keys[i]);
        n.keys[j] = t->keys[i];
        n.vals[j] = t->vals[i];
    }
    free(t->keys);
    free(t->vals);
    *t = n;
    return CNN_OK;
}

cnn_status_t tools_onnx_table_put(tools_onnx_table_t *t, const char *key, void *val, cnn_error_t *err)
{
    if ((t->count + 1) * 2 > t->cap) {
        cnn_status_t st = grow(t, err);
        if (st != CNN_OK)
            return st;
    }
    size_t i = slot_of(t, key);
    if (!t->keys[i]) {
        t->keys[i] = strdup(key);
        if (!t->keys[i])
            return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
        t->count++;
    }
    t->vals[i] = val;
    return CNN_OK;
}

void *tools_onnx_table_get(const tools_onnx_table_t *t, const char *key, bool *found)
{
    size_t i = t->cap ? slot_of(t, key) : 0;
    bool hit = t->cap && t->keys[i];
    if (found)
        *found = hit;
    return hit ? t->vals[i] : NULL;
}

void tools_onnx_table_free(tools_onnx_table_t *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->keys[i]);
    free(t->keys);
    free(t->vals);
    memset(t, 0, sizeof *t);
}
