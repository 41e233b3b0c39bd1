/* The body of a classify request (POST /classify, /v1/models/{m}/classify)
 * turned into a list of images, by its Content-Type:
 *   image/png, image/jpeg, image/bmp (or image/x-ms-bmp),
 *   application/octet-stream  one raw image, the magic bytes decide and
 *                             must agree with a declared image type;
 *   multipart/form-data       one image per part (multipart.h);
 *   application/json          {"images": ["<base64>", ...]} (images_json.h).
 * Media types and parameter names are case-insensitive (RFC 9110 §8.3.1). */
#ifndef SRV_BODY_IMAGES_H
#define SRV_BODY_IMAGES_H

#include "image_list.h"

/* The media types srv_body_parse_images accepts, for 415 messages. */
#define SRV_BODY_SUPPORTED_TYPES \
    "image/png, image/jpeg, image/bmp, application/octet-stream, multipart/form-data, application/json"

/* Parses a request body. content_type is the header's content_type_len
 * bytes (NULL when the request has none; NUL bytes in it are refused);
 * *out must be empty (zeroed) and is freed with srv_image_list_free whether
 * or not the call succeeds. Raw and multipart images are slices of body,
 * which must outlive the list. Errors: no or unsupported Content-Type → 415
 * listing the supported types; malformed Content-Type → 400; then the
 * errors of srv_image_list_add, srv_multipart_parse or
 * srv_images_json_parse. */
bool srv_body_parse_images(const char *content_type, size_t content_type_len, const uint8_t *body,
                           size_t len, const srv_body_limits_t *limits, srv_image_list_t *out,
                           srv_error_t *err);

#endif
