/* cnnserve engine — turning encoded images into a model's input tensor.
 *
 * Decodes PNG, JPEG or BMP bytes from memory, converts to the model's colour
 * mode, resizes and crops to the input size, and normalizes, following
 * model.json's "preprocessing" block (cnn_model_info_t.preprocess).
 */
#ifndef CNN_PREPROCESS_H
#define CNN_PREPROCESS_H

#include "cnn/cnn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest image (width × height) cnn_image_preprocess decodes; larger ones
 * are refused from their header alone, before any pixel memory is
 * allocated. cnn_image_preprocess_limited takes another limit. */
#define CNN_IMAGE_MAX_PIXELS (40u * 1000u * 1000u)

typedef enum cnn_image_format {
    CNN_IMAGE_FORMAT_UNKNOWN = 0,
    CNN_IMAGE_FORMAT_PNG,
    CNN_IMAGE_FORMAT_JPEG,
    CNN_IMAGE_FORMAT_BMP,
} cnn_image_format_t;

/* Format of `bytes` judged by its magic number alone. */
cnn_image_format_t cnn_image_sniff(const uint8_t *bytes, size_t len);

/* Decodes one image and writes C×H×W floats (the model's input_channels,
 * input_height, input_width) to out_chw:
 *   1. colour: grayscale uses ITU-R 601 luma rounded to 8 bits as PIL's
 *      convert("L") does; RGB drops any alpha channel;
 *   2. resize, bilinear with half-pixel centres (torchvision's
 *      antialias=False): with resize_shorter > 0 the shorter side becomes
 *      resize_shorter (longer side scaled and truncated, as torchvision's
 *      Resize(int)), then a centre crop (zero padding if smaller) to H×W;
 *      with resize_shorter == 0 straight to H×W;
 *   3. x * scale, then (x - mean[c]) / std[c].
 * Errors: CNN_E_FORMAT (unknown magic, corrupt or truncated data),
 * CNN_E_TOO_LARGE (more than CNN_IMAGE_MAX_PIXELS pixels by the header, or
 * more than INT_MAX bytes), CNN_E_INVALID_ARGUMENT (NULL or unusable info),
 * CNN_E_NOMEM. */
cnn_status_t cnn_image_preprocess(const uint8_t *bytes, size_t len, const cnn_model_info_t *info,
                                  float *out_chw, cnn_error_t *err);

/* cnn_image_preprocess with the pixel limit max_pixels (0: the default
 * CNN_IMAGE_MAX_PIXELS), as a server's --max-pixels sets it. */
cnn_status_t cnn_image_preprocess_limited(const uint8_t *bytes, size_t len, const cnn_model_info_t *info,
                                          uint64_t max_pixels, float *out_chw, cnn_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
