/* Errors of the HTTP layer: every parser of request input reports the HTTP
 * status the server must answer with (400, 413, 415, ...) and a message for
 * the client, sent as {"error": message}. */
#ifndef SRV_HTTP_ERROR_H
#define SRV_HTTP_ERROR_H

#include <stdbool.h>

typedef struct srv_error {
    int http_status;
    char message[256];
} srv_error_t;

/* Fills *err (when err is not NULL) with the status and a printf-style
 * message, truncated to fit, bytes outside printable ASCII replaced by '?'
 * (messages quote client input). Returns false, so a parser can end with
 * `return srv_error_set(err, 400, "...")`. */
bool srv_error_set(srv_error_t *err, int http_status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
