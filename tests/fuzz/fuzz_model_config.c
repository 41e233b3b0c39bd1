/* libFuzzer target: model.json parsing and re-serialization on arbitrary text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "model_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cnn_model_config_t cfg;
    cnn_error_t err;
    if (cnn_model_config_parse((const char *)data, size, "fuzz", &cfg, &err) == CNN_OK) {
        free(cnn_model_config_to_json(&cfg));
        cnn_model_config_free(&cfg);
    }
    return 0;
}
