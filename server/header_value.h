/* Header values of the form `main-value *( OWS ";" OWS [ name=value ] )`, as
 * Content-Type (RFC 9110 §8.3.1, main value "type/subtype") and
 * Content-Disposition (RFC 6266, main value a token) use them. The main value
 * and parameter names are case-insensitive and come out lowercased; parameter
 * values (token or quoted-string, quoted-pairs unescaped) keep their case. */
#ifndef SRV_HEADER_VALUE_H
#define SRV_HEADER_VALUE_H

#include <stdbool.h>
#include <stddef.h>

#include "http_error.h"

#define SRV_HEADER_MAX_PARAMS 8
#define SRV_HEADER_VALUE_MAX 256 /* longest parameter value plus its NUL */

typedef struct srv_header_param {
    char name[32];
    char value[SRV_HEADER_VALUE_MAX];
} srv_header_param_t;

typedef struct srv_header_value {
    char main[128]; /* "image/png", "form-data" */
    int nparams;
    srv_header_param_t params[SRV_HEADER_MAX_PARAMS];
} srv_header_value_t;

/* Parses the `len` bytes at s (NUL bytes are data, and invalid). With
 * media_type the main value must be `type/subtype`, otherwise one token.
 * `what` names the header in messages. Errors (400): bad characters,
 * missing `=`, unterminated quoted-string, a parameter given twice, more
 * than SRV_HEADER_MAX_PARAMS parameters, names or values too long. */
bool srv_header_value_parse(const char *what, const char *s, size_t len, bool media_type,
                            srv_header_value_t *out, srv_error_t *err);

/* The value of parameter `name` (lowercase), or NULL when absent. */
const char *srv_header_value_param(const srv_header_value_t *v, const char *name);

#endif
