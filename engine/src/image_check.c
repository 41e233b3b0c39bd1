#include "image_check.h"

#include <stdlib.h>
#include <string.h>

static uint32_t read_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t read_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* stb_image pads a short uncompressed BMP with zeros instead of failing, so
 * check that the pixel array the header describes fits in the buffer.
 * Returns false when the file is truncated. */
bool cnn_bmp_is_complete(const uint8_t *b, size_t len)
{
    if (len < 26)
        return false;
    uint64_t offset = read_le32(b + 10);
    uint32_t dib = read_le32(b + 14);
    int64_t w, h;
    unsigned bpp;
    uint32_t compression = 0;
    if (dib == 12) {
        w = read_le16(b + 18);
        h = read_le16(b + 20);
        bpp = read_le16(b + 24);
    } else {
        if (len < 34)
            return false;
        w = (int32_t)read_le32(b + 18);
        h = (int32_t)read_le32(b + 22);
        bpp = read_le16(b + 28);
        compression = read_le32(b + 30);
    }
    if (compression != 0 && compression != 3 && compression != 6)
        return true; /* compressed: the decoder itself checks */
    uint64_t row = ((uint64_t)bpp * (uint64_t)llabs(w) + 31) / 32 * 4;
    return offset + row * (uint64_t)llabs(h) <= len;
}

static uint32_t read_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* CRC-32 (ISO 3309, as PNG uses) of the bytes [p, p + n), four bits per
 * step: nibble[i] is the reflected polynomial 0xedb88320 applied to i for
 * four bit steps (a quarter of the bitwise loop's work). */
static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    static const uint32_t nibble[16] = {
        0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u,
        0x4db26158u, 0x5005713cu, 0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
        0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu,
    };
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ nibble[crc & 15u];
        crc = (crc >> 4) ^ nibble[crc & 15u];
    }
    return crc ^ 0xffffffffu;
}

/* stb_image checks neither chunk CRCs nor that IEND is present, so walk the
 * chunks: each inside the buffer with a correct CRC, up to a complete IEND.
 * Returns false when the file is truncated or corrupt. */
bool cnn_png_is_intact(const uint8_t *b, size_t len)
{
    size_t pos = 8;
    while (len - pos >= 12) {
        uint32_t n = read_be32(b + pos);
        if (n > len - pos - 12)
            return false;
        if (crc32_png(b + pos + 4, 4 + (size_t)n) != read_be32(b + pos + 8 + n))
            return false;
        if (memcmp(b + pos + 4, "IEND", 4) == 0)
            return true;
        pos += 12 + (size_t)n;
    }
    return false;
}

static size_t read_be16(const uint8_t *p)
{
    return (size_t)p[0] << 8 | p[1];
}

/* Mirrors stb_image's DHT loop over the segment at `p` with payload length
 * `payload` (which stb does not bound-check: it reads whole tables while any
 * length is left, and bytes past the buffer read as 0). True when every table
 * it would build has at most 256 codes. */
static bool dht_is_sane(const uint8_t *b, size_t len, size_t p, long payload)
{
    while (payload > 0) {
        size_t codes = 0;
        for (size_t i = 1; i <= 16; i++)
            codes += p + i < len ? b[p + i] : 0;
        if (codes > 256)
            return false;
        p += 17 + codes;
        payload -= (long)(17 + codes);
    }
    return true;
}

/* Index just past the entropy-coded data starting at `pos`: the next 0xFF
 * that starts a marker (not a stuffed 0xFF00, a fill byte or a restart). */
static size_t skip_entropy_data(const uint8_t *b, size_t len, size_t pos)
{
    while (pos + 1 < len) {
        uint8_t m = b[pos + 1];
        if (b[pos] == 0xff && m != 0x00 && m != 0xff && !(m >= 0xd0 && m <= 0xd7))
            return pos;
        pos++;
    }
    return len;
}

bool cnn_jpeg_tables_are_sane(const uint8_t *b, size_t len)
{
    size_t pos = 2; /* after SOI */
    while (pos < len) {
        if (b[pos] != 0xff) { /* stb_image skips junk between markers byte by byte */
            pos++;
            continue;
        }
        while (pos < len && b[pos] == 0xff) /* fill bytes */
            pos++;
        if (pos >= len)
            return true;
        uint8_t m = b[pos++];
        if (m == 0xd9) /* EOI */
            return true;
        if (m == 0x00 || m == 0x01 || m == 0xd8 || (m >= 0xd0 && m <= 0xd7)) /* no length field */
            continue;
        if (pos + 2 > len)
            return true;
        size_t seg = read_be16(b + pos);
        if (m == 0xc4 && !dht_is_sane(b, len, pos + 2, (long)seg - 2))
            return false;
        if (seg < 2)
            return true; /* the decoder skips to the end of the buffer */
        pos += seg;
        if (m == 0xda) /* SOS: entropy-coded data follows */
            pos = skip_entropy_data(b, len, pos);
    }
    return true;
}

/* First SOF segment of a JPEG: height and width. */
static bool jpeg_sof_size(const uint8_t *b, size_t len, uint32_t *w, uint32_t *h)
{
    size_t pos = 2;
    while (pos + 4 <= len) {
        if (b[pos] != 0xff) {
            pos++;
            continue;
        }
        uint8_t m = b[pos + 1];
        if (m == 0xff || m == 0x00 || m == 0x01 || m == 0xd8 || (m >= 0xd0 && m <= 0xd7)) {
            pos++;
            continue;
        }
        size_t seg = read_be16(b + pos + 2);
        bool sof = m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
        if (sof) {
            if (pos + 9 > len)
                return false;
            *h = (uint32_t)read_be16(b + pos + 5);
            *w = (uint32_t)read_be16(b + pos + 7);
            return true;
        }
        if (m == 0xd9 || m == 0xda || seg < 2)
            return false;
        pos += 2 + seg;
    }
    return false;
}

bool cnn_image_header_size(const uint8_t *b, size_t len, cnn_image_format_t fmt, uint32_t *w, uint32_t *h)
{
    switch (fmt) {
    case CNN_IMAGE_FORMAT_PNG:
        /* Trusted only with a correct CRC, so a flipped bit reads as corrupt. */
        if (len < 33 || memcmp(b + 12, "IHDR", 4) != 0 || read_be32(b + 8) != 13 ||
            crc32_png(b + 12, 17) != read_be32(b + 29))
            return false;
        *w = read_be32(b + 16);
        *h = read_be32(b + 20);
        return true;
    case CNN_IMAGE_FORMAT_BMP: {
        if (len < 26)
            return false;
        uint32_t hsize = read_le32(b + 14);
        if (hsize == 12) {
            *w = read_le16(b + 18);
            *h = read_le16(b + 20);
            return true;
        }
        int32_t sw = (int32_t)read_le32(b + 18), sh = (int32_t)read_le32(b + 22);
        *w = sw < 0 ? 0u - (uint32_t)sw : (uint32_t)sw;
        *h = sh < 0 ? 0u - (uint32_t)sh : (uint32_t)sh;
        return true;
    }
    case CNN_IMAGE_FORMAT_JPEG: return jpeg_sof_size(b, len, w, h);
    case CNN_IMAGE_FORMAT_UNKNOWN: break;
    }
    return false;
}
