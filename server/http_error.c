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
    /* Messages quote client bytes; keep them printable ASCII for JSON. */
    for (char *c = err->message; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
            *c = '?';
    return false;
}
