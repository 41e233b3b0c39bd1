/* Recording and parsing the HDF5 answer log (keras_h5_log.h). */
#include "keras_h5_log.h"

#include "status.h"

#include <stdlib.h>
#include <string.h>

struct tools_h5_log {
    uint8_t *data;
    size_t len, cap;
    bool failed;
};

tools_h5_log_t *tools_h5_log_new(void)
{
    return calloc(1, sizeof(tools_h5_log_t));
}

void tools_h5_log_free(tools_h5_log_t *log)
{
    if (log)
        free(log->data);
    free(log);
}

const uint8_t *tools_h5_log_bytes(const tools_h5_log_t *log, size_t *len)
{
    *len = log->failed ? 0 : log->len;
    return log->failed ? NULL : log->data;
}

static void put(tools_h5_log_t *log, const void *p, size_t n)
{
    if (log->failed)
        return;
    if (n > log->cap - log->len) {
        size_t cap = log->cap ? log->cap : 4096;
        while (cap - log->len < n && cap <= SIZE_MAX / 2)
            cap *= 2;
        uint8_t *grown = cap - log->len >= n ? realloc(log->data, cap) : NULL;
        if (!grown) {
            log->failed = true;
            return;
        }
        log->data = grown;
        log->cap = cap;
    }
    memcpy(log->data + log->len, p, n);
    log->len += n;
}

static void put_u32(tools_h5_log_t *log, uint32_t v)
{
    put(log, &v, sizeof v);
}

static void put_string(tools_h5_log_t *log, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > UINT32_MAX - 1) {
        log->failed = true;
        return;
    }
    put_u32(log, (uint32_t)n);
    put(log, s ? s : "", n + 1);
}

void tools_h5_log_put(tools_h5_log_t *log, const tools_h5_answer_t *a, char *const *strings)
{
    uint8_t op = (uint8_t)a->op;
    int32_t status = a->status;
    put(log, &op, 1);
    put_string(log, a->key1);
    put_string(log, a->key2);
    put(log, &status, sizeof status);
    put_string(log, a->message);
    if (a->status != CNN_OK)
        return;
    switch (a->op) {
    case TOOLS_H5_OP_HAS: {
        uint8_t yes = a->yes;
        put(log, &yes, 1);
        break;
    }
    case TOOLS_H5_OP_STRING: put_string(log, a->text); break;
    case TOOLS_H5_OP_STRINGS:
        put_u32(log, (uint32_t)a->count);
        for (int i = 0; i < a->count; i++)
            put_string(log, strings[i]);
        break;
    case TOOLS_H5_OP_FLOATS: {
        put_u32(log, (uint32_t)a->ndim);
        put(log, a->dims, (size_t)a->ndim * sizeof a->dims[0]);
        uint64_t n = (uint64_t)a->numel;
        put(log, &n, sizeof n);
        put(log, a->floats, (size_t)a->numel * sizeof(float));
        break;
    }
    default: break;
    }
}

/* --- parsing: every read is bounds-checked against `end` --- */

typedef struct cursor {
    const uint8_t *p, *end;
    bool bad;
} cursor_t;

static const uint8_t *take(cursor_t *c, size_t n)
{
    if (c->bad || n > (size_t)(c->end - c->p)) {
        c->bad = true;
        return NULL;
    }
    const uint8_t *at = c->p;
    c->p += n;
    return at;
}

static uint64_t take_uint(cursor_t *c, size_t size)
{
    const uint8_t *at = take(c, size);
    uint64_t v = 0;
    uint32_t v32 = 0;
    uint8_t v8 = 0;
    if (!at)
        return 0;
    if (size == 8)
        memcpy(&v, at, 8);
    else if (size == 4)
        memcpy(&v32, at, 4), v = v32;
    else
        memcpy(&v8, at, 1), v = v8;
    return v;
}

static const char *take_string(cursor_t *c)
{
    uint64_t n = take_uint(c, 4);
    const uint8_t *s = take(c, (size_t)n + 1);
    if (!s || s[n] != '\0' || memchr(s, '\0', (size_t)n)) {
        c->bad = true;
        return NULL;
    }
    return (const char *)s;
}

const char *tools_h5_log_string(const uint8_t **p)
{
    uint32_t n;
    memcpy(&n, *p, 4);
    const char *s = (const char *)*p + 4;
    *p += 4 + (size_t)n + 1;
    return s;
}

cnn_status_t tools_h5_log_next(const uint8_t **p, const uint8_t *end, tools_h5_answer_t *a, cnn_error_t *err)
{
    cursor_t c = {*p, end, false};
    memset(a, 0, sizeof *a);
    a->op = (int)take_uint(&c, 1);
    a->key1 = take_string(&c);
    a->key2 = take_string(&c);
    int32_t status = (int32_t)take_uint(&c, 4);
    a->status = status;
    a->message = take_string(&c);
    if (!c.bad && status == CNN_OK) {
        switch (a->op) {
        case TOOLS_H5_OP_OPEN: break;
        case TOOLS_H5_OP_HAS: a->yes = take_uint(&c, 1) != 0; break;
        case TOOLS_H5_OP_STRING: a->text = take_string(&c); break;
        case TOOLS_H5_OP_STRINGS: {
            uint64_t n = take_uint(&c, 4);
            a->strings = c.p;
            c.bad = c.bad || n > 1000000;
            for (uint64_t i = 0; i < n && !c.bad; i++)
                take_string(&c);
            a->count = (int)n;
            break;
        }
        case TOOLS_H5_OP_FLOATS: {
            uint64_t ndim = take_uint(&c, 4);
            c.bad = c.bad || ndim > TOOLS_H5_MAX_DIMS;
            const uint8_t *dims = take(&c, (size_t)ndim * 8);
            if (dims)
                memcpy(a->dims, dims, (size_t)ndim * 8);
            a->ndim = (int)ndim;
            uint64_t n = take_uint(&c, 8), expect = 1;
            for (int i = 0; i < a->ndim && !c.bad; i++) {
                c.bad = a->dims[i] < 0 || a->dims[i] > ((int64_t)1 << 40) ||
                        (a->dims[i] && expect > (((uint64_t)1 << 40) / (uint64_t)a->dims[i]));
                expect *= (uint64_t)a->dims[i];
            }
            c.bad = c.bad || n != expect;
            a->numel = (int64_t)n;
            a->floats = c.bad ? NULL : take(&c, (size_t)n * sizeof(float));
            break;
        }
        default: c.bad = true; break;
        }
    } else if (!c.bad && (status >= 0 || status < CNN_E_NOT_FOUND)) {
        c.bad = true; /* a failure carries one of cnn_status_t's negative values */
    }
    if (c.bad)
        return cnn_error_set(err, CNN_E_FORMAT, "malformed HDF5 answer log");
    *p = c.p;
    return CNN_OK;
}
