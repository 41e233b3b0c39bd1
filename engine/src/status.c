#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *cnn_status_strerror(cnn_status_t status)
{
    switch (status) {
    case CNN_OK: return "ok";
    case CNN_E_INVALID_ARGUMENT: return "invalid argument";
    case CNN_E_IO: return "i/o error";
    case CNN_E_FORMAT: return "malformed file";
    case CNN_E_SHAPE: return "shape mismatch";
    case CNN_E_UNSUPPORTED: return "unsupported";
    case CNN_E_NOMEM: return "out of memory";
    case CNN_E_BACKEND: return "backend failure";
    case CNN_E_NOT_FOUND: return "not found";
    case CNN_E_TOO_LARGE: return "too large";
    }
    return "unknown status";
}

cnn_status_t cnn_error_set(cnn_error_t *err, cnn_status_t status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->status = status;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

void cnn_error_prefix(cnn_error_t *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[CNN_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char joined[CNN_ERROR_MESSAGE_MAX];
    size_t used = strlen(prefix);
    memcpy(joined, prefix, used + 1);
    if (used + 2 < sizeof joined) {
        memcpy(joined + used, ": ", 2);
        used += 2;
        size_t rest = strlen(err->message);
        if (rest > sizeof joined - used - 1)
            rest = sizeof joined - used - 1;
        memcpy(joined + used, err->message, rest);
        joined[used + rest] = '\0';
    }
    memcpy(err->message, joined, sizeof joined);
}

void cnn_error_clear(cnn_error_t *err)
{
    if (err) {
        err->status = CNN_OK;
        err->message[0] = '\0';
    }
}
