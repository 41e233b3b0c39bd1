/* Cross-origin resource sharing (--cors-origin): which origin may call the
 * API from a browser. The HTTP glue (http_server.c) adds the headers. */
#ifndef SRV_CORS_H
#define SRV_CORS_H

#include <stdbool.h>
#include <stddef.h>

/* Preflight answers: methods come from the route, these are fixed. */
#define SRV_CORS_ALLOW_HEADERS "Content-Type"
#define SRV_CORS_MAX_AGE "600"
/* Response headers a cross-origin page may read besides the safelisted ones. */
#define SRV_CORS_EXPOSE_HEADERS "Retry-After, X-Tile-Size, X-Grid, X-Channels, X-Predictions"

/* Whether `origin` may be given to --cors-origin: "*" (any origin), or a
 * serialized origin as browsers send it: http:// or https://, a host
 * (letters, digits, '-', '.', or a bracketed IPv6 address), an optional
 * :port, and nothing after (no path, no trailing '/'). On false, `msg`
 * says why. */
bool srv_cors_origin_valid(const char *origin, char *msg, size_t msg_size);

/* The Access-Control-Allow-Origin value for a request whose Origin header
 * is `request_origin` (NULL: none) when --cors-origin is `allowed` (NULL:
 * off): "*" for "*", `allowed` when the request's origin equals it
 * (scheme and host compared case-insensitively), else NULL (no header). */
const char *srv_cors_allow_origin(const char *allowed, const char *request_origin);

#endif
