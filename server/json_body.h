/* JSON request bodies: one JSON value, nothing after it but white space. */
#ifndef SRV_JSON_BODY_H
#define SRV_JSON_BODY_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "http_error.h"

/* Parses body[0..len) (not NUL-terminated); NULL and 400 "invalid JSON at
 * offset N" on error (cJSON reports running out of memory as a parse error
 * too). Free the result with cJSON_Delete. */
cJSON *srv_json_parse(const uint8_t *body, size_t len, srv_error_t *err);

#endif
