/* libFuzzer target: the Keras HDF5 importer on arbitrary bytes as an HDF5
 * file image, with libhdf5 in this process. Every answer libhdf5 gives is
 * recorded, and the recording is replayed into a second import, which must
 * end the same way: `cnnserve convert --keras` relies on that replay (it
 * runs libhdf5 in a child process; weights-tools/keras_child.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keras_import.h"
#include "keras_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tools_model_writer_t *live = tools_writer_new(), *replayed = tools_writer_new();
    tools_h5_log_t *log = tools_h5_log_new();
    if (!live || !replayed || !log)
        abort();
    tools_h5_t *h5 = NULL;
    cnn_error_t err = {0}, err2 = {0};
    cnn_status_t st = tools_h5_open_memory(data, size, log, &h5, &err);
    if (st == CNN_OK)
        st = tools_keras_import_h5(h5, live, &err);
    tools_h5_close(h5);
    size_t len;
    const uint8_t *bytes = tools_h5_log_bytes(log, &len);
    if (bytes) {
        cnn_status_t st2 = tools_keras_import_replay(bytes, len, replayed, &err2);
        if (st2 != st || (st != CNN_OK && strcmp(err.message, err2.message) != 0) ||
            tools_writer_node_count(live) != tools_writer_node_count(replayed) ||
            tools_writer_tensor_count(live) != tools_writer_tensor_count(replayed)) {
            fprintf(stderr, "replay differs: live %d '%s', replay %d '%s'\n", st, err.message, st2, err2.message);
            abort();
        }
    }
    tools_h5_log_free(log);
    tools_writer_free(replayed);
    tools_writer_free(live);
    return 0;
}
