/* Image preprocessing: decoding, colour conversion, resize, crop, normalize,
 * and rejection of corrupt, truncated and oversized images. */
#include "test_support.h"

#include "cnn/preprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* A 16×16 JPEG of the flat colour (200, 100, 50), written by PIL at quality 95.
 * (stb_image_write's JPEG encoder shifts signed ints in ways UBSan rejects.) */
static const uint8_t flat_jpeg[] = {
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xff, 0xdb, 0x00, 0x43, 0x00, 0x02, 0x01, 0x01, 0x01, 0x01, 0x01, 0x02,
    0x01, 0x01, 0x01, 0x02, 0x02, 0x02, 0x02, 0x02, 0x04, 0x03, 0x02, 0x02, 0x02, 0x02, 0x05, 0x04,
    0x04, 0x03, 0x04, 0x06, 0x05, 0x06, 0x06, 0x06, 0x05, 0x06, 0x06, 0x06, 0x07, 0x09, 0x08, 0x06,
    0x07, 0x09, 0x07, 0x06, 0x06, 0x08, 0x0b, 0x08, 0x09, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x06, 0x08,
    0x0b, 0x0c, 0x0b, 0x0a, 0x0c, 0x09, 0x0a, 0x0a, 0x0a, 0xff, 0xdb, 0x00, 0x43, 0x01, 0x02, 0x02,
    0x02, 0x02, 0x02, 0x02, 0x05, 0x03, 0x03, 0x05, 0x0a, 0x07, 0x06, 0x07, 0x0a, 0x0a, 0x0a, 0x0a,
    0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a,
    0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a,
    0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0xff, 0xc0,
    0x00, 0x11, 0x08, 0x00, 0x10, 0x00, 0x10, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11,
    0x01, 0xff, 0xc4, 0x00, 0x1f, 0x00, 0x00, 0x01, 0x05, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
    0x0a, 0x0b, 0xff, 0xc4, 0x00, 0xb5, 0x10, 0x00, 0x02, 0x01, 0x03, 0x03, 0x02, 0x04, 0x03, 0x05,
    0x05, 0x04, 0x04, 0x00, 0x00, 0x01, 0x7d, 0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21,
    0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23,
    0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17,
    0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a,
    0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a,
    0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
    0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
    0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
    0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5,
    0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1,
    0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xff, 0xc4, 0x00, 0x1f, 0x01, 0x00, 0x03,
    0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0xff, 0xc4, 0x00, 0xb5, 0x11, 0x00,
    0x02, 0x01, 0x02, 0x04, 0x04, 0x03, 0x04, 0x07, 0x05, 0x04, 0x04, 0x00, 0x01, 0x02, 0x77, 0x00,
    0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13,
    0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15,
    0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26, 0x27,
    0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88,
    0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
    0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4,
    0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9,
    0xfa, 0xff, 0xda, 0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3f, 0x00, 0xcf,
    0xa2, 0x8a, 0x2b, 0xf9, 0x5c, 0xfe, 0xd8, 0x3f, 0xff, 0xd9,
};

/* An encoded image in memory. */
typedef struct blob {
    uint8_t *data;
    size_t len;
} blob_t;

static void blob_append(void *ctx, void *data, int size)
{
    blob_t *b = ctx;
    uint8_t *grown = realloc(b->data, b->len + (size_t)size);
    assert_non_null(grown);
    memcpy(grown + b->len, data, (size_t)size);
    b->data = grown;
    b->len += (size_t)size;
}

/* Encodes w×h pixels of `comp` channels (row-major, interleaved) as PNG or BMP. */
static blob_t encode(char kind, int w, int h, int comp, const uint8_t *pixels)
{
    blob_t b = {0};
    int ok = 0;
    switch (kind) {
    case 'p': ok = stbi_write_png_to_func(blob_append, &b, w, h, comp, pixels, w * comp); break;
    case 'b': ok = stbi_write_bmp_to_func(blob_append, &b, w, h, comp, pixels); break;
    default: break;
    }
    assert_true(ok);
    return b;
}

static cnn_model_info_t make_info(cnn_color_mode_t color, int h, int w, int resize_shorter)
{
    cnn_model_info_t info;
    memset(&info, 0, sizeof info);
    info.input_channels = color == CNN_COLOR_GRAYSCALE ? 1 : 3;
    info.input_height = h;
    info.input_width = w;
    info.preprocess.color = color;
    info.preprocess.resize_shorter = resize_shorter;
    info.preprocess.scale = 1.0f;
    for (int c = 0; c < 3; c++) {
        info.preprocess.mean[c] = 0.0f;
        info.preprocess.std[c] = 1.0f;
    }
    return info;
}

static cnn_status_t run(const blob_t *b, const cnn_model_info_t *info, float *out, cnn_error_t *err)
{
    return cnn_image_preprocess(b->data, b->len, info, out, err);
}

static void test_sniff(void **state)
{
    (void)state;
    const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    const uint8_t jpg[3] = {0xff, 0xd8, 0xff};
    const uint8_t bmp[2] = {'B', 'M'};
    const uint8_t gif[6] = {'G', 'I', 'F', '8', '9', 'a'};
    assert_int_equal(cnn_image_sniff(png, sizeof png), CNN_IMAGE_FORMAT_PNG);
    assert_int_equal(cnn_image_sniff(jpg, sizeof jpg), CNN_IMAGE_FORMAT_JPEG);
    assert_int_equal(cnn_image_sniff(bmp, sizeof bmp), CNN_IMAGE_FORMAT_BMP);
    assert_int_equal(cnn_image_sniff(gif, sizeof gif), CNN_IMAGE_FORMAT_UNKNOWN);
    assert_int_equal(cnn_image_sniff(png, 4), CNN_IMAGE_FORMAT_UNKNOWN);
    assert_int_equal(cnn_image_sniff(NULL, 0), CNN_IMAGE_FORMAT_UNKNOWN);
}

/* Grayscale uses PIL's rounded ITU-R 601 luma; identity size keeps pixels. */
static void test_grayscale_luma(void **state)
{
    (void)state;
    const uint8_t px[2 * 2 * 3] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 77};
    cnn_model_info_t info = make_info(CNN_COLOR_GRAYSCALE, 2, 2, 0);
    float out[4];
    cnn_error_t err;
    for (const char *k = "pb"; *k; k++) {
        blob_t b = encode(*k, 2, 2, 3, px);
        assert_int_equal(run(&b, &info, out, &err), CNN_OK);
        for (int i = 0; i < 4; i++) {
            const uint8_t *p = px + 3 * i;
            unsigned l = (p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 0x8000u) >> 16;
            assert_float_equal(out[i], (float)l, 0.0f);
        }
        free(b.data);
    }
    assert_float_equal(out[0], 76.0f, 0.0f); /* pure red */
}

/* RGB goes planar, alpha is dropped, scale/mean/std apply per channel. */
static void test_rgb_normalize(void **state)
{
    (void)state;
    const uint8_t px[1 * 2 * 4] = {255, 128, 0, 7, 51, 102, 204, 255};
    cnn_model_info_t info = make_info(CNN_COLOR_RGB, 1, 2, 0);
    info.preprocess.scale = 1.0f / 255.0f;
    const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    memcpy(info.preprocess.mean, mean, sizeof mean);
    memcpy(info.preprocess.std, std, sizeof std);
    blob_t b = encode('p', 2, 1, 4, px);
    float out[6];
    cnn_error_t err;
    assert_int_equal(run(&b, &info, out, &err), CNN_OK);
    for (int c = 0; c < 3; c++)
        for (int x = 0; x < 2; x++) {
            float want = ((float)px[4 * x + c] / 255.0f - mean[c]) / std[c];
            assert_float_equal(out[c * 2 + x], want, 1e-5f);
        }
    free(b.data);
}

/* 4×4 → 2×2 bilinear with half-pixel centres averages each 2×2 block. */
static void test_resize_down(void **state)
{
    (void)state;
    uint8_t px[16];
    for (int i = 0; i < 16; i++)
        px[i] = (uint8_t)(i * 13);
    cnn_model_info_t info = make_info(CNN_COLOR_GRAYSCALE, 2, 2, 0);
    blob_t b = encode('p', 4, 4, 1, px);
    float out[4];
    cnn_error_t err;
    assert_int_equal(run(&b, &info, out, &err), CNN_OK);
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 2; x++) {
            int i = 2 * y * 4 + 2 * x;
            float avg = (px[i] + px[i + 1] + px[i + 4] + px[i + 5]) / 4.0f;
            assert_float_equal(out[y * 2 + x], avg, 1e-4f);
        }
    free(b.data);
}

/* 2 → 4 samples: edges clamp, inner samples interpolate at 1/4 and 3/4. */
static void test_resize_up(void **state)
{
    (void)state;
    const uint8_t px[2] = {100, 200};
    cnn_model_info_t info = make_info(CNN_COLOR_GRAYSCALE, 1, 4, 0);
    blob_t b = encode('b', 2, 1, 1, px);
    float out[4];
    cnn_error_t err;
    assert_int_equal(run(&b, &info, out, &err), CNN_OK);
    assert_float_equal(out[0], 100.0f, 1e-4f);
    assert_float_equal(out[1], 125.0f, 1e-4f);
    assert_float_equal(out[2], 175.0f, 1e-4f);
    assert_float_equal(out[3], 200.0f, 1e-4f);
    free(b.data);
}

/* 8 wide × 4 high, shorter side → 2 gives 4×2; centre crop 2×2 starts at column 1. */
static void test_resize_shorter_crop(void **state)
{
    (void)state;
    uint8_t px[32];
    for (int i = 0; i < 32; i++)
        px[i] = (uint8_t)(i * 7 + 3);
    cnn_model_info_t info = make_info(CNN_COLOR_GRAYSCALE, 2, 2, 2);
    blob_t b = encode('p', 8, 4, 1, px);
    float out[4];
    cnn_error_t err;
    assert_int_equal(run(&b, &info, out, &err), CNN_OK);
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 2; x++) {
            int i = 2 * y * 8 + 2 * (x + 1);
            float avg = (px[i] + px[i + 1] + px[i + 8] + px[i + 9]) / 4.0f;
            assert_float_equal(out[y * 2 + x], avg, 1e-4f);
        }
    free(b.data);
}

/* A crop larger than the resized image pads with zero before normalizing. */
static void test_crop_pads(void **state)
{
    (void)state;
    const uint8_t px[4] = {10, 20, 30, 40};
    cnn_model_info_t info = make_info(CNN_COLOR_GRAYSCALE, 4, 4, 2);
    info.preprocess.mean[0] = 1.0f;
    blob_t b = encode('p', 2, 2, 1, px);
    float out[16];
    cnn_error_t err;
    assert_int_equal(run(&b, &info, out, &err), CNN_OK);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) {
            bool inside = y >= 1 && y < 3 && x >= 1 && x < 3;
            float want = inside ? px[(y - 1) * 2 + (x - 1)] - 1.0f : -1.0f;
            assert_float_equal(out[y * 4 + x], want, 0.0f);
        }
    free(b.data);
}

/* JPEG decodes (lossy: a flat colour survives within a few levels). */
static void test_jpeg(void **state)
{
    (void)state;
    cnn_model_info_t info = make_info(CNN_COLOR_RGB, 8, 8, 0);
    float out[3 * 64];
    cnn_error_t err;
    assert_int_equal(cnn_image_preprocess(flat_jpeg, sizeof flat_jpeg, &info, out, &err), CNN_OK);
    for (int i = 0; i < 64; i++) {
        assert_float_equal(out[i], 200.0f, 4.0f);
        assert_float_equal(out[64 + i], 100.0f, 4.0f);
        assert_float_equal(out[128 + i], 50.0f, 4.0f);
    }
}

/* A DHT segment declaring more than 256 codes: stb_image 2.27 would write past
 * its Huffman size table (found by fuzz_image). Refused before decoding: the
 * fuzzer's reproducers and a table spliced into a valid JPEG. */
static void test_jpeg_oversized_huffman_table(void **state)
{
    (void)state;
    static const uint8_t reproducer[] = {
        0xff, 0xd8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xc4, 0xff, 0xff, 0x00, 0x79, 0xff, 0xff, 0xff, 0xff, 0xff, 0xdf, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xfd, 0xff, 0xff, 0xff, 0xff, 0x2d, 0xff, 0x00, 0xff};
    cnn_model_info_t info = make_info(CNN_COLOR_RGB, 8, 8, 0);
    float out[3 * 64];
    cnn_error_t err;
    assert_int_equal(cnn_image_preprocess(reproducer, sizeof reproducer, &info, out, &err), CNN_E_FORMAT);
    assert_non_null(strstr(err.message, "Huffman"));
    /* second reproducer: junk bytes between markers (which stb_image skips) hide the DHT */
    static const uint8_t behind_junk[] = {
        0xff, 0xd8, 0xff, 0xe3, 0x00, 0x06, 0xc2, 0x1e, 0xec, 0x00, 0x06, 0xc2, 0xd8, 0xff, 0xe3, 0x00,
        0x06, 0xc2, 0x1e, 0xec, 0x00, 0x06, 0xc2, 0x1e, 0xec, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x57, 0x8e, 0x0b, 0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0x27, 0x27, 0xff,
        0xff, 0xff, 0xff, 0xc4, 0xff, 0xd8, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x27, 0xfd};
    assert_int_equal(cnn_image_preprocess(behind_junk, sizeof behind_junk, &info, out, &err), CNN_E_FORMAT);
    assert_non_null(strstr(err.message, "Huffman"));

    /* valid JPEG with an extra DHT (16 counts of 17 = 272 codes) right after SOI */
    uint8_t dht[4 + 17] = {0xff, 0xc4, 0x00, 19, 0x00};
    for (int i = 5; i < 21; i++)
        dht[i] = 17;
    size_t n = sizeof flat_jpeg + sizeof dht;
    uint8_t *spliced = malloc(n);
    assert_non_null(spliced);
    memcpy(spliced, flat_jpeg, 2);
    memcpy(spliced + 2, dht, sizeof dht);
    memcpy(spliced + 2 + sizeof dht, flat_jpeg + 2, sizeof flat_jpeg - 2);
    assert_int_equal(cnn_image_preprocess(spliced, n, &info, out, &err), CNN_E_FORMAT);
    assert_non_null(strstr(err.message, "Huffman"));
    free(spliced);
}

static void test_unknown_and_empty(void **state)
{
    (void)state;
    cnn_model_info_t info = make_info(CNN_COLOR_GRAYSCALE, 2, 2, 0);
    float out[4];
    cnn_error_t err;
    const uint8_t gif[16] = "GIF89a\x02\0\x02\0\0\0\0\0\0";
    assert_int_equal(cnn_image_preprocess(gif, sizeof gif, &info, out, &err), CNN_E_FORMAT);
    assert_non_null(strstr(err.message, "unrecognized"));
    assert_int_equal(cnn_image_preprocess(gif, 0, &info, out, &err), CNN_E_FORMAT);
    assert_int_equal(cnn_image_preprocess(NULL, 4, &info, out, &err), CNN_E_INVALID_ARGUMENT);
    assert_int_equal(cnn_image_preprocess(gif, sizeof gif, NULL, out, &err), CNN_E_INVALID_ARGUMENT);
}

/* Every strict prefix of a valid file is rejected, for each format. */
static void test_truncated(void **state)
{
    (void)state;
    uint8_t px[12 * 10 * 3];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 31 + 5);
    cnn_model_info_t info = make_info(CNN_COLOR_RGB, 10, 12, 0);
    float out[3 * 120];
    for (const char *k = "pbj"; *k; k++) {
        blob_t b = {(uint8_t *)flat_jpeg, sizeof flat_jpeg};
        if (*k != 'j')
            b = encode(*k, 12, 10, 3, px);
        cnn_error_t err;
        assert_int_equal(run(&b, &info, out, &err), CNN_OK);
        bool failed = false;
        size_t cut = 1;
        for (; cut < b.len && !failed; cut++)
            failed = cnn_image_preprocess(b.data, b.len - cut, &info, out, &err) != CNN_E_FORMAT;
        if (*k != 'j')
            free(b.data);
        if (failed)
            fail_msg("format %c: prefix of %zu bytes accepted", *k, b.len - cut + 1);
    }
}

/* A flipped byte anywhere in a PNG's chunks fails its CRC. */
static void test_corrupt_png(void **state)
{
    (void)state;
    uint8_t px[8 * 8];
    for (int i = 0; i < 64; i++)
        px[i] = (uint8_t)(i * 3);
    cnn_model_info_t info = make_info(CNN_COLOR_GRAYSCALE, 8, 8, 0);
    blob_t b = encode('p', 8, 8, 1, px);
    float out[64];
    cnn_error_t err;
    for (size_t i = 8; i < b.len; i++) {
        b.data[i] ^= 0x10;
        cnn_status_t st = run(&b, &info, out, &err);
        b.data[i] ^= 0x10;
        if (st != CNN_E_FORMAT) {
            free(b.data);
            fail_msg("flipped byte %zu: status %d", i, (int)st);
        }
    }
    free(b.data);
}

/* A header claiming 100000×100000 pixels is refused before decoding. */
static void test_too_many_pixels(void **state)
{
    (void)state;
    uint8_t bmp[54] = {'B', 'M'};
    const uint32_t fields[][2] = {{2, 54}, {10, 54}, {14, 40}, {18, 100000}, {22, 100000}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        for (int k = 0; k < 4; k++)
            bmp[fields[i][0] + k] = (uint8_t)(fields[i][1] >> (8 * k));
    bmp[26] = 1;  /* planes */
    bmp[28] = 24; /* bits per pixel */
    cnn_model_info_t info = make_info(CNN_COLOR_RGB, 2, 2, 0);
    float out[12];
    cnn_error_t err;
    assert_int_equal(cnn_image_preprocess(bmp, sizeof bmp, &info, out, &err), CNN_E_TOO_LARGE);
    assert_non_null(strstr(err.message, "limit"));
    /* A caller's limit: 2×2 passes at 4 pixels, fails at 3. */
    uint8_t small[70] = {'B', 'M'};
    const uint32_t small_fields[][2] = {{2, 70}, {10, 54}, {14, 40}, {18, 2}, {22, 2}};
    for (size_t i = 0; i < sizeof small_fields / sizeof small_fields[0]; i++)
        for (int k = 0; k < 4; k++)
            small[small_fields[i][0] + k] = (uint8_t)(small_fields[i][1] >> (8 * k));
    small[26] = 1;
    small[28] = 24;
    assert_int_equal(cnn_image_preprocess_limited(small, sizeof small, &info, 4, out, &err), CNN_OK);
    assert_int_equal(cnn_image_preprocess_limited(small, sizeof small, &info, 3, out, &err),
                     CNN_E_TOO_LARGE);
    assert_non_null(strstr(err.message, "3 pixels"));
    /* A PNG header claiming 65535×65535 (which stb_image itself calls
     * corrupt) is over the limit, not broken. */
    uint8_t png[33] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                       0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff, 8, 0, 0, 0, 0};
    uint32_t crc = 0xffffffffu; /* PNG's CRC-32 of the chunk type and data */
    for (int i = 12; i < 29; i++) {
        crc ^= png[i];
        for (int bit = 0; bit < 8; bit++)
            crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
    }
    crc ^= 0xffffffffu;
    for (int k = 0; k < 4; k++)
        png[29 + k] = (uint8_t)(crc >> (24 - 8 * k));
    assert_int_equal(cnn_image_preprocess(png, sizeof png, &info, out, &err), CNN_E_TOO_LARGE);
    assert_non_null(strstr(err.message, "65535x65535"));
}

static void test_bad_info(void **state)
{
    (void)state;
    const uint8_t px[4] = {1, 2, 3, 4};
    blob_t b = encode('p', 2, 2, 1, px);
    float out[12];
    cnn_error_t err;
    cnn_model_info_t info = make_info(CNN_COLOR_RGB, 2, 2, 0);
    info.input_channels = 1;
    assert_int_equal(run(&b, &info, out, &err), CNN_E_INVALID_ARGUMENT);
    info = make_info(CNN_COLOR_GRAYSCALE, 2, 2, 0);
    info.preprocess.std[0] = 0.0f;
    assert_int_equal(run(&b, &info, out, &err), CNN_E_INVALID_ARGUMENT);
    free(b.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_grayscale_luma),
        cmocka_unit_test(test_rgb_normalize),
        cmocka_unit_test(test_resize_down),
        cmocka_unit_test(test_resize_up),
        cmocka_unit_test(test_resize_shorter_crop),
        cmocka_unit_test(test_crop_pads),
        cmocka_unit_test(test_jpeg),
        cmocka_unit_test(test_jpeg_oversized_huffman_table),
        cmocka_unit_test(test_unknown_and_empty),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_corrupt_png),
        cmocka_unit_test(test_too_many_pixels),
        cmocka_unit_test(test_bad_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
