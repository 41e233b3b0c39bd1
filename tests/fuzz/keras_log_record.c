/* Seeds for fuzz_keras_log: writes the log of HDF5 answers that importing
 * a Keras file records (see weights-tools/keras_h5_log.h).
 *   keras_log_record FILE.h5 OUT.log */
#include <stdio.h>
#include <stdlib.h>

#include "keras_internal.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: keras_log_record FILE.h5 OUT.log\n");
        return 2;
    }
    uint8_t *log = NULL;
    size_t len = 0;
    cnn_error_t err;
    if (tools_keras_record_isolated(argv[1], &log, &len, &err) != CNN_OK) {
        fprintf(stderr, "keras_log_record: %s: %s\n", argv[1], err.message);
        return 1;
    }
    FILE *f = fopen(argv[2], "wb");
    int ok = f && fwrite(log, 1, len, f) == len;
    ok = f && fclose(f) == 0 && ok;
    free(log);
    if (!ok) {
        fprintf(stderr, "keras_log_record: cannot write %s\n", argv[2]);
        return 1;
    }
    return 0;
}
