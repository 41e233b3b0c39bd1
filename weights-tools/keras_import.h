/* Keras HDF5 import: a file written by Keras 2 / tf.keras `model.save` (or
 * ModelCheckpoint) → graph-form nodes and fp32 tensors in a model writer.
 *
 * Reads the root attribute `model_config` (a Sequential or functional model,
 * channels_last) and the weights under `model_weights/<layer>/<weight name>`.
 * Kernels are converted to the engine's layouts (HWIO → OIHW, Dense [in, out]
 * → [out, in], the rows of a Dense after Flatten permuted from HWC to CHW
 * order). A model with several outputs keeps its last one (e.g. GoogLeNet's
 * auxiliary classifiers are dropped). */
#ifndef TOOLS_KERAS_IMPORT_H
#define TOOLS_KERAS_IMPORT_H

#include "model_writer.h"

#include <stddef.h>
#include <stdint.h>

/* Imports the file at `path` into `w`. libhdf5 reads the file in a child
 * process (keras_child.c), whose answers are then replayed here: a crash or
 * an endless loop of libhdf5 on a malformed file becomes an error, not the
 * end of the caller. Errors name the layer, weight or HDF5 object at fault
 * (the caller adds the file's name): CNN_E_IO (unreadable), CNN_E_FORMAT
 * (malformed), CNN_E_UNSUPPORTED (layers or options the engine lacks, all
 * listed), CNN_E_SHAPE (weights that do not fit the layer). */
cnn_status_t tools_keras_import(const char *path, tools_model_writer_t *w, cnn_error_t *err);

/* The same from a log of libhdf5's answers (keras_h5.h), without libhdf5;
 * tests/fuzz/fuzz_hdf5.c imports in-process from a file image through
 * keras_internal.h. */
cnn_status_t tools_keras_import_replay(const uint8_t *log, size_t len, tools_model_writer_t *w, cnn_error_t *err);

#endif
