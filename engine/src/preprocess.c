/* Image preprocessing: decode (stb_image), colour conversion, bilinear resize,
 * centre crop and normalization into a model's NCHW input. */
#include "cnn/preprocess.h"

#include "image_check.h"
#include "status.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>

/* A planar float image: c planes of h×w values in 0..255. */
typedef struct planar {
    int c, h, w;
    float *data;
} planar_t;

cnn_image_format_t cnn_image_sniff(const uint8_t *bytes, size_t len)
{
    static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (!bytes)
        return CNN_IMAGE_FORMAT_UNKNOWN;
    if (len >= 8 && memcmp(bytes, png_magic, 8) == 0)
        return CNN_IMAGE_FORMAT_PNG;
    if (len >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff)
        return CNN_IMAGE_FORMAT_JPEG;
    if (len >= 2 && bytes[0] == 'B' && bytes[1] == 'M')
        return CNN_IMAGE_FORMAT_BMP;
    return CNN_IMAGE_FORMAT_UNKNOWN;
}

static const char *format_name(cnn_image_format_t f)
{
    switch (f) {
    case CNN_IMAGE_FORMAT_PNG: return "PNG";
    case CNN_IMAGE_FORMAT_JPEG: return "JPEG";
    case CNN_IMAGE_FORMAT_BMP: return "BMP";
    case CNN_IMAGE_FORMAT_UNKNOWN: break;
    }
    return "unknown";
}

/* Decodes to planar floats in the model's colour mode. */
static cnn_status_t decode(const uint8_t *bytes, size_t len, cnn_color_mode_t color,
                           uint64_t max_pixels, planar_t *out, cnn_error_t *err)
{
    cnn_image_format_t fmt = cnn_image_sniff(bytes, len);
    if (fmt == CNN_IMAGE_FORMAT_UNKNOWN)
        return cnn_error_set(err, CNN_E_FORMAT, "unrecognized image format (expected PNG, JPEG or BMP)");
    if (len > INT_MAX)
        return cnn_error_set(err, CNN_E_TOO_LARGE, "image of %zu bytes is too large", len);
    if (fmt == CNN_IMAGE_FORMAT_JPEG && !cnn_jpeg_tables_are_sane(bytes, len))
        return cnn_error_set(err, CNN_E_FORMAT, "corrupt JPEG image (Huffman table with more than 256 codes)");
    uint32_t hw = 0, hh = 0;
    if (cnn_image_header_size(bytes, len, fmt, &hw, &hh) && (uint64_t)hw * (uint64_t)hh > max_pixels)
        return cnn_error_set(err, CNN_E_TOO_LARGE, "image is %ux%u, more than the limit of %llu pixels",
                             hw, hh, (unsigned long long)max_pixels);
    int w = 0, h = 0, comp = 0;
    if (!stbi_info_from_memory(bytes, (int)len, &w, &h, &comp) || w <= 0 || h <= 0)
        return cnn_error_set(err, CNN_E_FORMAT, "corrupt %s header", format_name(fmt));
    if ((uint64_t)w * (uint64_t)h > max_pixels)
        return cnn_error_set(err, CNN_E_TOO_LARGE,
                             "image is %dx%d, more than the limit of %llu pixels", w, h,
                             (unsigned long long)max_pixels);
    if (fmt == CNN_IMAGE_FORMAT_BMP && !cnn_bmp_is_complete(bytes, len))
        return cnn_error_set(err, CNN_E_FORMAT, "truncated BMP image");
    if (fmt == CNN_IMAGE_FORMAT_PNG && !cnn_png_is_intact(bytes, len))
        return cnn_error_set(err, CNN_E_FORMAT, "truncated or corrupt PNG image (bad chunk or CRC)");

    int dw = 0, dh = 0, dc = 0;
    uint8_t *rgb = stbi_load_from_memory(bytes, (int)len, &dw, &dh, &dc, 3);
    if (!rgb)
        return cnn_error_set(err, CNN_E_FORMAT, "corrupt or truncated %s image", format_name(fmt));
    cnn_status_t st = CNN_OK;
    if (dw != w || dh != h) {
        st = cnn_error_set(err, CNN_E_FORMAT, "%s size changed while decoding", format_name(fmt));
        goto done;
    }
    out->c = color == CNN_COLOR_GRAYSCALE ? 1 : 3;
    out->h = h;
    out->w = w;
    size_t plane = (size_t)w * (size_t)h;
    out->data = malloc(plane * (size_t)out->c * sizeof(float));
    if (!out->data) {
        st = cnn_error_set(err, CNN_E_NOMEM, "out of memory for a %dx%d image", w, h);
        goto done;
    }
    for (size_t i = 0; i < plane; i++) {
        const uint8_t *px = rgb + 3 * i;
        if (color == CNN_COLOR_GRAYSCALE) {
            /* PIL's convert("L"): ITU-R 601-2 luma in 16-bit fixed point. */
            uint32_t l = (px[0] * 19595u + px[1] * 38470u + px[2] * 7471u + 0x8000u) >> 16;
            out->data[i] = (float)l;
        } else {
            for (int c = 0; c < 3; c++)
                out->data[(size_t)c * plane + i] = (float)px[c];
        }
    }
done:
    stbi_image_free(rgb);
    return st;
}

/* Source coordinate and weight of output index i for bilinear resizing from
 * `in` to `out` samples with half-pixel centres (align_corners=False). */
static void bilinear_tap(int i, int in, int out, int *i0, int *i1, float *frac)
{
    float scale = (float)in / (float)out;
    float src = ((float)i + 0.5f) * scale - 0.5f;
    if (src < 0.0f)
        src = 0.0f;
    int lo = (int)src;
    if (lo > in - 1)
        lo = in - 1;
    *i0 = lo;
    *i1 = lo < in - 1 ? lo + 1 : lo;
    *frac = src - (float)lo;
}

/* Resizes src to oh×ow (same channel count) into dst->data (malloc'ed). */
static cnn_status_t resize_bilinear(const planar_t *src, int oh, int ow, planar_t *dst,
                                    cnn_error_t *err)
{
    dst->c = src->c;
    dst->h = oh;
    dst->w = ow;
    dst->data = malloc((size_t)oh * (size_t)ow * (size_t)src->c * sizeof(float));
    int *x0 = malloc((size_t)ow * sizeof(int));
    int *x1 = malloc((size_t)ow * sizeof(int));
    float *fx = malloc((size_t)ow * sizeof(float));
    cnn_status_t st = CNN_OK;
    if (!dst->data || !x0 || !x1 || !fx) {
        free(dst->data);
        dst->data = NULL;
        st = cnn_error_set(err, CNN_E_NOMEM, "out of memory resizing to %dx%d", ow, oh);
        goto done;
    }
    for (int x = 0; x < ow; x++)
        bilinear_tap(x, src->w, ow, &x0[x], &x1[x], &fx[x]);
    for (int c = 0; c < src->c; c++) {
        const float *in = src->data + (size_t)c * src->h * src->w;
        float *o = dst->data + (size_t)c * oh * ow;
        for (int y = 0; y < oh; y++) {
            int y0, y1;
            float fy;
            bilinear_tap(y, src->h, oh, &y0, &y1, &fy);
            const float *r0 = in + (size_t)y0 * src->w;
            const float *r1 = in + (size_t)y1 * src->w;
            for (int x = 0; x < ow; x++) {
                float top = r0[x0[x]] + fx[x] * (r0[x1[x]] - r0[x0[x]]);
                float bot = r1[x0[x]] + fx[x] * (r1[x1[x]] - r1[x0[x]]);
                o[(size_t)y * ow + x] = top + fy * (bot - top);
            }
        }
    }
done:
    free(x0);
    free(x1);
    free(fx);
    return st;
}

/* torchvision's Resize(int): the shorter side becomes `size`, the longer one
 * size * long / short truncated. */
static void shorter_side_size(int h, int w, int size, int *oh, int *ow)
{
    if (w <= h) {
        *ow = size;
        *oh = (int)((double)size * h / w);
    } else {
        *oh = size;
        *ow = (int)((double)size * w / h);
    }
    if (*oh < 1)
        *oh = 1;
    if (*ow < 1)
        *ow = 1;
}

/* First source row/column of a centre crop of `crop` from `size` samples,
 * as torchvision's center_crop: round-half-even of the margin / 2, or, when
 * the image is smaller, minus the left/top padding. */
static int crop_offset(int size, int crop)
{
    if (size >= crop)
        return (int)nearbyint((size - crop) / 2.0);
    return -((crop - size) / 2);
}

/* Crops (zero-padding outside) to the model's input size and normalizes. */
static void crop_normalize(const planar_t *img, const cnn_model_info_t *info, float *out)
{
    const cnn_preprocess_t *p = &info->preprocess;
    int oh = info->input_height, ow = info->input_width;
    int top = crop_offset(img->h, oh), left = crop_offset(img->w, ow);
    for (int c = 0; c < img->c; c++) {
        const float *plane = img->data + (size_t)c * img->h * img->w;
        float mean = p->mean[c], inv_std = 1.0f / p->std[c];
        for (int y = 0; y < oh; y++) {
            int sy = y + top;
            for (int x = 0; x < ow; x++) {
                int sx = x + left;
                float v = 0.0f;
                if (sy >= 0 && sy < img->h && sx >= 0 && sx < img->w)
                    v = plane[(size_t)sy * img->w + sx];
                out[((size_t)c * oh + y) * ow + x] = (v * p->scale - mean) * inv_std;
            }
        }
    }
}

static cnn_status_t check_info(const cnn_model_info_t *info, cnn_error_t *err)
{
    const cnn_preprocess_t *p = &info->preprocess;
    int want = p->color == CNN_COLOR_GRAYSCALE ? 1 : 3;
    if (p->color != CNN_COLOR_GRAYSCALE && p->color != CNN_COLOR_RGB)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "unknown colour mode %d", (int)p->color);
    if (info->input_channels != want)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT,
                             "model takes %d input channels but its colour mode gives %d",
                             info->input_channels, want);
    if (info->input_height <= 0 || info->input_width <= 0 || p->resize_shorter < 0)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "model input size %dx%d is unusable",
                             info->input_width, info->input_height);
    for (int c = 0; c < want; c++)
        if (!(p->std[c] != 0.0f))
            return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "preprocessing std[%d] is zero", c);
    return CNN_OK;
}

cnn_status_t cnn_image_preprocess(const uint8_t *bytes, size_t len, const cnn_model_info_t *info,
                                  float *out_chw, cnn_error_t *err)
{
    return cnn_image_preprocess_limited(bytes, len, info, CNN_IMAGE_MAX_PIXELS, out_chw, err);
}

cnn_status_t cnn_image_preprocess_limited(const uint8_t *bytes, size_t len, const cnn_model_info_t *info,
                                          uint64_t max_pixels, float *out_chw, cnn_error_t *err)
{
    if (!bytes || !info || !out_chw)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "cnn_image_preprocess: NULL argument");
    cnn_status_t st = check_info(info, err);
    if (st != CNN_OK)
        return st;
    planar_t img = {0}, resized = {0};
    st = decode(bytes, len, info->preprocess.color, max_pixels ? max_pixels : CNN_IMAGE_MAX_PIXELS,
                &img, err);
    if (st != CNN_OK)
        goto done;
    int rh = info->input_height, rw = info->input_width;
    if (info->preprocess.resize_shorter > 0)
        shorter_side_size(img.h, img.w, info->preprocess.resize_shorter, &rh, &rw);
    const planar_t *final = &img;
    if (rh != img.h || rw != img.w) {
        st = resize_bilinear(&img, rh, rw, &resized, err);
        if (st != CNN_OK)
            goto done;
        final = &resized;
    }
    crop_normalize(final, info, out_chw);
done:
    free(img.data);
    free(resized.data);
    return st;
}
