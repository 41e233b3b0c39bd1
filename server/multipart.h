/* multipart/form-data bodies (RFC 7578 over RFC 2046 §5.1.1) whose parts are
 * all images. Line breaks must be CRLF as the RFCs require: a body with
 * bare-LF delimiters is refused (400) with a message that says so. */
#ifndef SRV_MULTIPART_H
#define SRV_MULTIPART_H

#include "image_list.h"

/* Checks a boundary parameter: 1 to 70 characters of RFC 2046's bchars,
 * not ending in a space. 400 otherwise (NULL: no boundary parameter). */
bool srv_multipart_check_boundary(const char *boundary, srv_error_t *err);

/* Appends every part of `body` to *out, in order, as slices of body.
 * Grammar: optional preamble, "--boundary" at the start of the body or after
 * a CRLF, parts separated by CRLF "--boundary" transport-padding CRLF, and
 * a closing CRLF "--boundary--" followed by an ignored epilogue. Each part:
 * header lines ended by an empty line, then the image bytes.
 * Part headers: Content-Disposition: form-data; name="..." (required, with
 * an optional filename), Content-Type (optional; image/png, image/jpeg,
 * image/bmp or application/octet-stream; absent means the magic decides),
 * Content-Transfer-Encoding (only 7bit, 8bit or binary); other headers are
 * ignored. Errors: no opening or closing delimiter, malformed delimiter
 * lines or part headers, no parts → 400; parts that are not images → 415;
 * limits → 413 (srv_image_list_add). On error *out may hold the parts
 * before the bad one; the caller frees it. */
bool srv_multipart_parse(const char *boundary, const uint8_t *body, size_t len,
                         const srv_body_limits_t *limits, srv_image_list_t *out, srv_error_t *err);

#endif
