/* The images of one classify request, as the body parsers produce them:
 * slices into the request body (raw and multipart bodies) or into one
 * decoded buffer the list owns (base64 in JSON), each checked to be a PNG,
 * JPEG or BMP by its magic bytes, within the request's limits. */
#ifndef SRV_IMAGE_LIST_H
#define SRV_IMAGE_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "cnn/preprocess.h"
#include "header_value.h"
#include "http_error.h"

typedef struct srv_body_limits {
    size_t max_images;      /* images in one request */
    size_t max_total_bytes; /* their encoded (after any base64) bytes together */
} srv_body_limits_t;

#define SRV_BODY_LIMITS_DEFAULT ((srv_body_limits_t){256, 64u * 1024u * 1024u})

typedef struct srv_image {
    const uint8_t *bytes;
    size_t len;
    cnn_image_format_t format;
    char field[SRV_HEADER_VALUE_MAX];    /* multipart form field name, else "" */
    char filename[SRV_HEADER_VALUE_MAX]; /* multipart filename, else "" */
} srv_image_t;

typedef struct srv_image_list {
    srv_image_t *items;
    size_t count, cap;
    size_t total_bytes;
    uint8_t *owned; /* decoded bytes the items may point into, or NULL */
} srv_image_list_t;

/* Frees what the list owns and empties it; the body it points into is the
 * caller's. Safe on a zeroed list. */
void srv_image_list_free(srv_image_list_t *list);

/* Appends bytes[0..len) (not copied) after checking it:
 *  - `declared` (a lowercased media type, or NULL) must be one of image/png,
 *    image/jpeg, image/bmp (or image/x-ms-bmp), application/octet-stream,
 *    else 415;
 *  - empty → 400; unknown magic → 415; magic disagreeing with a declared
 *    image type → 415;
 *  - more than limits->max_images images, or more than
 *    limits->max_total_bytes bytes in all → 413; out of memory → 500.
 * `what` names the image in messages ("the body", "part 2", "images[0]").
 * field and filename may be NULL. */
bool srv_image_list_add(srv_image_list_t *list, const srv_body_limits_t *limits, const uint8_t *bytes,
                        size_t len, const char *declared, const char *what, const char *field,
                        const char *filename, srv_error_t *err);

/* True for the media types an image may be declared as (see
 * srv_image_list_add); `media_type` lowercased, without parameters. */
bool srv_image_media_type_known(const char *media_type);

/* The 413 check srv_image_list_add applies, for parsers that want to
 * refuse before decoding anything: `images` images of `bytes` bytes in all. */
bool srv_image_list_check_limits(const srv_body_limits_t *limits, size_t images, size_t bytes,
                                 srv_error_t *err);

#endif
