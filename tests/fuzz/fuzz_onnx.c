/* libFuzzer target: the ONNX importer (wire pre-check, protobuf-c parsing,
 * constant folding, operator mapping into a model writer) on arbitrary bytes,
 * with external data refused (base_dir NULL). */
#include <stddef.h>
#include <stdint.h>

#include "onnx_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tools_model_writer_t *w = tools_writer_new();
    if (!w)
        return 0;
    cnn_error_t err;
    (void)tools_onnx_import_buffer(data, size, NULL, w, &err);
    tools_writer_free(w);
    return 0;
}
