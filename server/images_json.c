/* {"images": [base64, ...]} bodies. */
#include "images_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "json_body.h"

/* One images[] string: its base64 text and the type a data: URL declares. */
typedef struct b64_item {
    const char *text;
    size_t len;
    char declared[128]; /* "" when none */
} b64_item_t;

/* Splits an optional "data:[<media type>];base64," prefix off item->text. */
static bool strip_data_url(b64_item_t *item, const char *what, srv_error_t *err)
{
    if (item->len < 5 || strncasecmp(item->text, "data:", 5) != 0)
        return true;
    const char *comma = memchr(item->text, ',', item->len);
    if (!comma)
        return srv_error_set(err, 400, "%s: data: URL without a ','", what);
    const char *meta = item->text + 5;
    size_t mlen = (size_t)(comma - meta);
    if (mlen < 7 || strncasecmp(comma - 7, ";base64", 7) != 0)
        return srv_error_set(err, 400, "%s: data: URL is not ;base64 encoded", what);
    mlen -= 7;
    if (mlen > 0) {
        srv_header_value_t type;
        char hdr[64];
        snprintf(hdr, sizeof hdr, "%s data: URL", what);
        if (!srv_header_value_parse(hdr, meta, mlen, true, &type, err))
            return false;
        snprintf(item->declared, sizeof item->declared, "%s", type.main);
    }
    item->len -= (size_t)(comma + 1 - item->text);
    item->text = comma + 1;
    return true;
}

/* Checks the document's shape and fills items[]; n is the array's size. */
static bool collect(const cJSON *root, const srv_body_limits_t *limits, b64_item_t **items, size_t *n,
                    size_t *total, srv_error_t *err)
{
    if (!cJSON_IsObject(root))
        return srv_error_set(err, 400, "the JSON body must be an object {\"images\": [...]}");
    const cJSON *images = NULL;
    for (const cJSON *k = root->child; k; k = k->next) {
        if (strcmp(k->string, "images") != 0)
            return srv_error_set(err, 400, "unknown key \"%s\" in the JSON body; expected only \"images\"",
                                 k->string);
        if (images)
            return srv_error_set(err, 400, "\"images\" given twice in the JSON body");
        images = k;
    }
    if (!images || !cJSON_IsArray(images))
        return srv_error_set(err, 400, "the JSON body needs \"images\": an array of base64 strings");
    size_t count = (size_t)cJSON_GetArraySize(images);
    if (count == 0)
        return srv_error_set(err, 400, "\"images\" is empty");
    if (!srv_image_list_check_limits(limits, count, 0, err))
        return false;
    *items = calloc(count, sizeof **items);
    if (!*items)
        return srv_error_set(err, 500, "out of memory");
    *n = count;
    *total = 0;
    size_t i = 0;
    for (const cJSON *e = images->child; e; e = e->next, i++) {
        char what[32];
        snprintf(what, sizeof what, "images[%zu]", i);
        if (!cJSON_IsString(e))
            return srv_error_set(err, 400, "%s is not a string", what);
        b64_item_t *it = &(*items)[i];
        it->text = e->valuestring;
        it->len = strlen(e->valuestring);
        size_t dec;
        if (!strip_data_url(it, what, err) || !srv_base64_decode(it->text, it->len, NULL, &dec, what, err))
            return false;
        *total = dec > SIZE_MAX - *total ? SIZE_MAX : *total + dec;
        if (!srv_image_list_check_limits(limits, count, *total, err))
            return false;
    }
    return true;
}

bool srv_images_json_parse(const uint8_t *body, size_t len, const srv_body_limits_t *limits,
                           srv_image_list_t *out, srv_error_t *err)
{
    cJSON *root = srv_json_parse(body, len, err);
    if (!root)
        return false;
    b64_item_t *items = NULL;
    size_t n = 0, total = 0;
    bool ok = collect(root, limits, &items, &n, &total, err);
    if (ok && !(out->owned = malloc(total ? total : 1)))
        ok = srv_error_set(err, 500, "out of memory for %zu decoded bytes", total);
    for (size_t i = 0, at = 0; ok && i < n; i++) {
        char what[32];
        size_t dec = 0;
        snprintf(what, sizeof what, "images[%zu]", i);
        ok = srv_base64_decode(items[i].text, items[i].len, out->owned + at, &dec, what, err) &&
             srv_image_list_add(out, limits, out->owned + at, dec,
                                items[i].declared[0] ? items[i].declared : NULL, what, NULL, NULL, err);
        at += dec;
    }
    free(items);
    cJSON_Delete(root);
    return ok;
}
