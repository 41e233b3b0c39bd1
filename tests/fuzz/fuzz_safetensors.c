/* libFuzzer target: the safetensors header/offset validator on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cnn_safetensors_t *st = NULL;
    cnn_error_t err;
    if (cnn_safetensors_parse(data, size, &st, &err) == CNN_OK) {
        for (int i = 0; i < st->num_tensors; i++)
            (void)cnn_safetensors_find(st, st->tensors[i].name);
        cnn_safetensors_close(st);
    }
    return 0;
}
