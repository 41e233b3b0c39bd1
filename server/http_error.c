/* The HTTP layer's error setter. */
#include "http_error.h"

#include <stdarg.h>
#include <stdio.h>

bool srv_error_set(srv_error_t *err, int http_status, const char *fmt, ...)
{
    if (!err)
        return false;
    err->http_status = http_status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return false;
}
