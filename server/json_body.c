/* Length-bounded JSON parsing with trailing-garbage rejection. */
#include "json_body.h"

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

cJSON *srv_json_parse(const uint8_t *body, size_t len, srv_error_t *err)
{
    const char *text = (const char *)body;
    const char *end = NULL;
    if (!body || len == 0) {
        srv_error_set(err, 400, "invalid JSON: empty body");
        return NULL;
    }
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
    if (!root) {
        srv_error_set(err, 400, "invalid JSON at offset %zu", at);
        return NULL;
    }
    while (at < len && is_ws(text[at]))
        at++;
    if (at < len) {
        cJSON_Delete(root);
        srv_error_set(err, 400, "invalid JSON: unexpected data after the value at offset %zu", at);
        return NULL;
    }
    return root;
}
