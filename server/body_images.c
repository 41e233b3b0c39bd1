/* Classify request bodies by Content-Type. */
#include "body_images.h"

#include <string.h>

#include "images_json.h"
#include "multipart.h"

bool srv_body_parse_images(const char *content_type, size_t content_type_len, const uint8_t *body,
                           size_t len, const srv_body_limits_t *limits, srv_image_list_t *out,
                           srv_error_t *err)
{
    if (!content_type)
        return srv_error_set(err, 415, "the request has no Content-Type; supported: " SRV_BODY_SUPPORTED_TYPES);
    srv_header_value_t ct;
    if (!srv_header_value_parse("Content-Type", content_type, content_type_len, true, &ct, err))
        return false;
    if (strcmp(ct.main, "multipart/form-data") == 0)
        return srv_multipart_parse(srv_header_value_param(&ct, "boundary"), body, len, limits, out, err);
    if (strcmp(ct.main, "application/json") == 0)
        return srv_images_json_parse(body, len, limits, out, err);
    if (srv_image_media_type_known(ct.main))
        return srv_image_list_add(out, limits, body, len, ct.main, "the body", NULL, NULL, err);
    return srv_error_set(err, 415, "unsupported media type %s; supported: " SRV_BODY_SUPPORTED_TYPES,
                         ct.main);
}
