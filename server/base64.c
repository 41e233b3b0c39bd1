/* Base64 decoding, standard and URL-safe alphabets. */
#include "base64.h"

enum { ALPHA_NONE, ALPHA_STD, ALPHA_URL };

/* The sextet of c, or -1; *alpha notes which alphabet c belongs to. */
static int sextet(unsigned char c, int *alpha)
{
    *alpha = ALPHA_NONE;
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '/') {
        *alpha = ALPHA_STD;
        return c == '+' ? 62 : 63;
    }
    if (c == '-' || c == '_') {
        *alpha = ALPHA_URL;
        return c == '-' ? 62 : 63;
    }
    return -1;
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool srv_base64_decode(const char *s, size_t len, uint8_t *dst, size_t *out_len, const char *what,
                       srv_error_t *err)
{
    int alphabet = ALPHA_NONE;
    size_t sextets = 0, pad = 0, n = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_space(c))
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        int alpha, v = sextet(c, &alpha);
        if (v < 0)
            return srv_error_set(err, 400, "%s: invalid base64 character 0x%02x at offset %zu", what, c, i);
        if (pad)
            return srv_error_set(err, 400, "%s: base64 data after '=' padding at offset %zu", what, i);
        if (alpha != ALPHA_NONE) {
            if (alphabet != ALPHA_NONE && alphabet != alpha)
                return srv_error_set(err, 400, "%s: mixes the base64 and base64url alphabets at offset %zu",
                                     what, i);
            alphabet = alpha;
        }
        acc = (acc << 6) | (uint32_t)v;
        if (++sextets % 4 == 0) {
            if (dst) {
                dst[n] = (uint8_t)(acc >> 16);
                dst[n + 1] = (uint8_t)(acc >> 8);
                dst[n + 2] = (uint8_t)acc;
            }
            n += 3;
            acc = 0;
        }
    }
    size_t rest = sextets % 4;
    if (rest == 1)
        return srv_error_set(err, 400, "%s: truncated base64 (%zu characters)", what, sextets);
    if (pad && (rest == 0 || rest + pad != 4))
        return srv_error_set(err, 400, "%s: wrong base64 padding", what);
    if (rest == 2) {
        if (dst)
            dst[n] = (uint8_t)(acc >> 4);
        n += 1;
    } else if (rest == 3) {
        if (dst) {
            dst[n] = (uint8_t)(acc >> 10);
            dst[n + 1] = (uint8_t)(acc >> 2);
        }
        n += 2;
    }
    *out_len = n;
    return true;
}

size_t srv_base64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

void srv_base64_encode(const uint8_t *src, size_t n, char *dst)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
        *dst++ = alphabet[v >> 18];
        *dst++ = alphabet[(v >> 12) & 63];
        *dst++ = alphabet[(v >> 6) & 63];
        *dst++ = alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)src[i] << 16 | (i + 1 < n ? (uint32_t)src[i + 1] << 8 : 0);
        *dst++ = alphabet[v >> 18];
        *dst++ = alphabet[(v >> 12) & 63];
        *dst++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        *dst++ = '=';
    }
}
