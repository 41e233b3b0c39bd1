/* libFuzzer target: the Keras importer replaying arbitrary bytes as a log of
 * HDF5 answers (weights-tools/keras_h5_log.h) — the log parser and all of
 * the conversion (model_config, layers, weights) without libhdf5. Seeds:
 * logs recorded from Keras files by keras_log_record. */
#include <stddef.h>
#include <stdint.h>

#include "keras_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tools_model_writer_t *w = tools_writer_new();
    if (!w)
        return 0;
    cnn_error_t err;
    (void)tools_keras_import_replay(data, size, w, &err);
    tools_writer_free(w);
    return 0;
}
