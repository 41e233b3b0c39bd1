/* Base64 text to bytes (RFC 4648): the standard alphabet (§4, "+/") or the
 * URL-safe one (§5, "-_"), not mixed in one text; "=" padding optional but,
 * when present, exactly right and only at the end; spaces, tabs, CR and LF
 * ignored anywhere; non-zero trailing bits tolerated. */
#ifndef SRV_BASE64_H
#define SRV_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "http_error.h"

/* Validates s[0..len) and decodes it into dst, setting *out_len to the
 * decoded size. With dst NULL it only validates and measures; otherwise dst
 * must hold that many bytes. 400 naming `what` and the offset. */
bool srv_base64_decode(const char *s, size_t len, uint8_t *dst, size_t *out_len, const char *what,
                       srv_error_t *err);

/* Characters srv_base64_encode writes for n bytes (with "=" padding). */
size_t srv_base64_encoded_len(size_t n);

/* Encodes src[0..n) into dst (srv_base64_encoded_len(n) characters, no NUL),
 * standard alphabet with padding. */
void srv_base64_encode(const uint8_t *src, size_t n, char *dst);

#endif
