/* JSON image bodies: {"images": ["<base64>", ...]}. */
#ifndef SRV_IMAGES_JSON_H
#define SRV_IMAGES_JSON_H

#include "image_list.h"

/* Parses the object (its only key "images", a non-empty array of strings),
 * decodes every string (see base64.h; a "data:<type>;base64," prefix is
 * accepted and its type checked like a Content-Type) into one buffer the
 * list owns, and appends the images in order. Errors: invalid JSON, other
 * keys, wrong types, invalid base64 → 400; not an image → 415; more than
 * limits->max_images strings or decoded bytes over the limit → 413, before
 * anything is decoded. */
bool srv_images_json_parse(const uint8_t *body, size_t len, const srv_body_limits_t *limits,
                           srv_image_list_t *out, srv_error_t *err);

#endif
