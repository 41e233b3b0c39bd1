/* libFuzzer target: the .npy header parser used by `cnnserve classify`. */
#include <stddef.h>
#include <stdint.h>

#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    srv_npy_t a;
    cnn_error_t err;
    float first[4];
    if (srv_npy_is_npy(data, size) && srv_npy_parse(data, size, &a, &err) == CNN_OK && a.numel > 0)
        srv_npy_copy(&a, 0, a.numel < 4 ? a.numel : 4, first);
    return 0;
}
