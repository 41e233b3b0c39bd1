/* Integrity checks stb_image does not make, run on untrusted bytes before
 * they reach the decoder. Each returns false when the file must be refused. */
#ifndef CNN_IMAGE_CHECK_H
#define CNN_IMAGE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cnn/preprocess.h"

/* False when an uncompressed BMP's pixel array does not fit in the buffer
 * (stb_image would silently pad it with zeros). */
bool cnn_bmp_is_complete(const uint8_t *b, size_t len);

/* False unless every PNG chunk lies inside the buffer with a correct CRC, up
 * to a complete IEND (stb_image checks neither). */
bool cnn_png_is_intact(const uint8_t *b, size_t len);

/* False when a JPEG defines a Huffman table with more than 256 codes.
 * stb_image 2.27 (Debian 12) writes past its 257-entry size table on such a
 * DHT segment (fixed upstream in 2.28), so every DHT the decoder could reach
 * — before the first scan and between scans — is checked here first. */
bool cnn_jpeg_tables_are_sane(const uint8_t *b, size_t len);

/* The width and height a PNG (IHDR), BMP (info header) or JPEG (first SOF
 * segment) header claims, read without stb_image, which refuses huge sizes
 * as corrupt: a size limit can then be told apart from a broken file.
 * A PNG's IHDR counts only with a correct CRC.
 * False when the header is too short or has no size where expected. */
bool cnn_image_header_size(const uint8_t *b, size_t len, cnn_image_format_t fmt, uint32_t *w, uint32_t *h);

#endif
