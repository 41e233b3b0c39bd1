/* keras_h5.h's questions, answered live by libhdf5 (keras_h5_live.h) and
 * recorded, or replayed from a recorded log (keras_h5_log.h). */
#include "keras_h5_live.h"
#include "keras_h5_log.h"

#include "status.h"

#include <stdlib.h>
#include <string.h>

struct tools_h5 {
    tools_h5_live_t *live; /* NULL when replaying */
    tools_h5_log_t *log;   /* live: where answers are recorded, or NULL */
    const uint8_t *p, *end; /* replay: the next entry */
};

static const char *message(const cnn_error_t *err, cnn_status_t st)
{
    return st != CNN_OK && err ? err->message : "";
}

cnn_status_t tools_h5_open_memory(const void *data, size_t len, tools_h5_log_t *log, tools_h5_t **out,
                                  cnn_error_t *err)
{
    *out = NULL;
    tools_h5_t *f = calloc(1, sizeof *f);
    if (!f)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    cnn_status_t st = tools_h5_live_open_memory(data, len, &f->live, err);
    if (log) {
        tools_h5_answer_t a = {.op = TOOLS_H5_OP_OPEN, .status = st, .message = message(err, st)};
        tools_h5_log_put(log, &a, NULL);
    }
    if (st != CNN_OK) {
        free(f);
        return st;
    }
    f->log = log;
    *out = f;
    return CNN_OK;
}

/* Takes the next recorded answer, which must be for the same question. */
static cnn_status_t next_answer(tools_h5_t *f, int op, const char *key1, const char *key2, tools_h5_answer_t *a,
                                cnn_error_t *err)
{
    if (f->p >= f->end)
        return cnn_error_set(err, CNN_E_FORMAT, "HDF5 answer log ends early");
    cnn_status_t st = tools_h5_log_next(&f->p, f->end, a, err);
    if (st != CNN_OK)
        return st;
    if (a->op != op || strcmp(a->key1, key1) != 0 || strcmp(a->key2, key2) != 0)
        return cnn_error_set(err, CNN_E_FORMAT, "HDF5 answer log out of step at '%s'", key1);
    if (a->status != CNN_OK)
        return cnn_error_set(err, a->status, "%s", a->message);
    return CNN_OK;
}

cnn_status_t tools_h5_open_replay(const uint8_t *log, size_t len, tools_h5_t **out, cnn_error_t *err)
{
    *out = NULL;
    tools_h5_t *f = calloc(1, sizeof *f);
    if (!f)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    f->p = log;
    f->end = log + len;
    tools_h5_answer_t a;
    cnn_status_t st = next_answer(f, TOOLS_H5_OP_OPEN, "", "", &a, err);
    if (st != CNN_OK) {
        free(f);
        return st;
    }
    *out = f;
    return CNN_OK;
}

void tools_h5_close(tools_h5_t *f)
{
    if (f)
        tools_h5_live_close(f->live);
    free(f);
}

bool tools_h5_has_object(tools_h5_t *f, const char *obj)
{
    tools_h5_answer_t a = {.op = TOOLS_H5_OP_HAS, .key1 = obj, .key2 = ""};
    if (!f->live)
        return next_answer(f, TOOLS_H5_OP_HAS, obj, "", &a, NULL) == CNN_OK && a.yes;
    a.yes = tools_h5_live_has_object(f->live, obj);
    if (f->log)
        tools_h5_log_put(f->log, &a, NULL);
    return a.yes;
}

cnn_status_t tools_h5_read_string(tools_h5_t *f, const char *obj, const char *attr, char **out,
                                  cnn_error_t *err)
{
    tools_h5_answer_t a = {.op = TOOLS_H5_OP_STRING, .key1 = obj, .key2 = attr};
    cnn_status_t st;
    *out = NULL;
    if (!f->live) {
        if ((st = next_answer(f, TOOLS_H5_OP_STRING, obj, attr, &a, err)) == CNN_OK && !(*out = strdup(a.text)))
            st = cnn_error_set(err, CNN_E_NOMEM, "out of memory");
        return st;
    }
    st = tools_h5_live_read_string(f->live, obj, attr, out, err);
    if (f->log) {
        a.status = st;
        a.message = message(err, st);
        a.text = *out;
        tools_h5_log_put(f->log, &a, NULL);
    }
    return st;
}

static cnn_status_t replay_strings(const tools_h5_answer_t *a, char ***out, int *count, cnn_error_t *err)
{
    char **list = calloc((size_t)(a->count > 0 ? a->count : 1), sizeof *list);
    if (!list)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    const uint8_t *p = a->strings;
    for (int i = 0; i < a->count; i++) {
        if (!(list[i] = strdup(tools_h5_log_string(&p)))) {
            tools_h5_free_strings(list, i);
            return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
        }
    }
    *out = list;
    *count = a->count;
    return CNN_OK;
}

cnn_status_t tools_h5_read_strings(tools_h5_t *f, const char *obj, const char *attr, char ***out,
                                   int *count, cnn_error_t *err)
{
    tools_h5_answer_t a = {.op = TOOLS_H5_OP_STRINGS, .key1 = obj, .key2 = attr};
    cnn_status_t st;
    *out = NULL;
    *count = 0;
    if (!f->live) {
        if ((st = next_answer(f, TOOLS_H5_OP_STRINGS, obj, attr, &a, err)) == CNN_OK)
            st = replay_strings(&a, out, count, err);
        return st;
    }
    st = tools_h5_live_read_strings(f->live, obj, attr, out, count, err);
    if (f->log) {
        a.status = st;
        a.message = message(err, st);
        a.count = *count;
        tools_h5_log_put(f->log, &a, *out);
    }
    return st;
}

cnn_status_t tools_h5_read_floats(tools_h5_t *f, const char *path, int *ndim, int64_t *dims, float **data,
                                  cnn_error_t *err)
{
    tools_h5_answer_t a = {.op = TOOLS_H5_OP_FLOATS, .key1 = path, .key2 = ""};
    cnn_status_t st;
    *data = NULL;
    *ndim = 0;
    if (!f->live) {
        if ((st = next_answer(f, TOOLS_H5_OP_FLOATS, path, "", &a, err)) != CNN_OK)
            return st;
        if (!(*data = malloc((size_t)(a.numel > 0 ? a.numel : 1) * sizeof **data)))
            return cnn_error_set(err, CNN_E_NOMEM, "out of memory reading dataset '%s'", path);
        memcpy(*data, a.floats, (size_t)a.numel * sizeof **data);
        *ndim = a.ndim;
        memcpy(dims, a.dims, (size_t)a.ndim * sizeof *dims);
        return CNN_OK;
    }
    st = tools_h5_live_read_floats(f->live, path, ndim, dims, data, err);
    if (f->log) {
        a.status = st;
        a.message = message(err, st);
        a.ndim = *ndim;
        memcpy(a.dims, dims, (size_t)*ndim * sizeof *dims);
        a.numel = 1;
        for (int i = 0; i < *ndim; i++)
            a.numel *= dims[i];
        a.floats = (const uint8_t *)*data;
        tools_h5_log_put(f->log, &a, NULL);
    }
    return st;
}
