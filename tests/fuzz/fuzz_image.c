/* libFuzzer target: image sniffing, decoding and preprocessing on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "cnn/preprocess.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static float out[3 * 32 * 32];
    cnn_model_info_t info = {
        .input_channels = 3, .input_height = 32, .input_width = 32,
        .preprocess = {.color = CNN_COLOR_RGB, .resize_shorter = 36, .scale = 1.0f / 255.0f,
                       .mean = {0.5f, 0.5f, 0.5f}, .std = {0.25f, 0.25f, 0.25f}},
    };
    cnn_error_t err;
    (void)cnn_image_sniff(data, size);
    (void)cnn_image_preprocess(data, size, &info, out, &err);
    return 0;
}
