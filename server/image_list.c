/* The request's image list: type checks by magic bytes and limits. */
#include "image_list.h"

#include "array_grow.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void srv_image_list_free(srv_image_list_t *list)
{
    free(list->items);
    free(list->owned);
    memset(list, 0, sizeof *list);
}

static const char *format_type(cnn_image_format_t f)
{
    switch (f) {
    case CNN_IMAGE_FORMAT_PNG: return "image/png";
    case CNN_IMAGE_FORMAT_JPEG: return "image/jpeg";
    case CNN_IMAGE_FORMAT_BMP: return "image/bmp";
    default: return "unknown";
    }
}

/* The format a declared media type promises: UNKNOWN for "any image"
 * (no type, application/octet-stream); false for unsupported types. */
static bool declared_format(const char *declared, cnn_image_format_t *out)
{
    *out = CNN_IMAGE_FORMAT_UNKNOWN;
    if (!declared || strcmp(declared, "application/octet-stream") == 0)
        return true;
    if (strcmp(declared, "image/png") == 0)
        *out = CNN_IMAGE_FORMAT_PNG;
    else if (strcmp(declared, "image/jpeg") == 0)
        *out = CNN_IMAGE_FORMAT_JPEG;
    else if (strcmp(declared, "image/bmp") == 0 || strcmp(declared, "image/x-ms-bmp") == 0)
        *out = CNN_IMAGE_FORMAT_BMP;
    else
        return false;
    return true;
}

bool srv_image_media_type_known(const char *media_type)
{
    cnn_image_format_t f;
    return media_type && declared_format(media_type, &f);
}

bool srv_image_list_check_limits(const srv_body_limits_t *limits, size_t images, size_t bytes,
                                 srv_error_t *err)
{
    if (images > limits->max_images)
        return srv_error_set(err, 413, "too many images in one request: the limit is %zu",
                             limits->max_images);
    if (bytes > limits->max_total_bytes)
        return srv_error_set(err, 413, "images too large: %zu bytes in all, the limit is %zu", bytes,
                             limits->max_total_bytes);
    return true;
}

bool srv_image_list_add(srv_image_list_t *list, const srv_body_limits_t *limits, const uint8_t *bytes,
                        size_t len, const char *declared, const char *what, const char *field,
                        const char *filename, srv_error_t *err)
{
    cnn_image_format_t want;
    if (!declared_format(declared, &want))
        return srv_error_set(err, 415,
                             "%s has unsupported media type %s; supported: image/png, image/jpeg, "
                             "image/bmp, application/octet-stream",
                             what, declared);
    if (len == 0)
        return srv_error_set(err, 400, "%s is empty", what);
    cnn_image_format_t got = cnn_image_sniff(bytes, len);
    if (got == CNN_IMAGE_FORMAT_UNKNOWN)
        return srv_error_set(err, 415, "%s is not a PNG, JPEG or BMP image (unknown magic bytes)", what);
    if (want != CNN_IMAGE_FORMAT_UNKNOWN && want != got)
        return srv_error_set(err, 415, "%s is declared %s but its bytes are %s", what, declared,
                             format_type(got));
    size_t total = len > SIZE_MAX - list->total_bytes ? SIZE_MAX : list->total_bytes + len;
    if (!srv_image_list_check_limits(limits, list->count + 1, total, err))
        return false;
    srv_image_t *items = cnn_array_grow_size(list->items, &list->cap, list->count, sizeof *items);
    if (!items)
        return srv_error_set(err, 500, "out of memory for %zu images", list->count + 1);
    list->items = items;
    srv_image_t *im = &list->items[list->count++];
    im->bytes = bytes;
    im->len = len;
    im->format = got;
    snprintf(im->field, sizeof im->field, "%s", field ? field : "");
    snprintf(im->filename, sizeof im->filename, "%s", filename ? filename : "");
    list->total_bytes += len;
    return true;
}
