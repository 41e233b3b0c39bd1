/* Integrity checks stb_image does not make, run on untrusted bytes before
 * they reach the decoder. Each returns false when the file must be refused. */
#ifndef CNN_IMAGE_CHECK_H
#define CNN_IMAGE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
