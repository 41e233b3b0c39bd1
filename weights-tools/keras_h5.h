/* Read-only access to the parts of an HDF5 file that a Keras model file
 * uses: string attributes (fixed- or variable-length, scalar or 1-D) and
 * numeric datasets read as fp32.
 *
 * A file is opened either live, from a file image in memory through libhdf5
 * (keras_h5.c: the core driver over the caller's buffer, no copies; HDF5's
 * error printing off; external links, external storage and virtual datasets,
 * which would read other files, refused), optionally recording every answer
 * into a log; or as a replay of such a log, which answers the same
 * questions asked in the same order without libhdf5 (keras_h5_session.c).
 * Messages name the HDF5 object; the caller adds the file's name. */
#ifndef TOOLS_KERAS_H5_H
#define TOOLS_KERAS_H5_H

#include "cnn/cnn.h"

#include <stddef.h>
#include <stdint.h>

typedef struct tools_h5 tools_h5_t;
typedef struct tools_h5_log tools_h5_log_t;

tools_h5_log_t *tools_h5_log_new(void);
void tools_h5_log_free(tools_h5_log_t *log);
/* The recorded bytes (owned by the log); NULL when recording ran out of memory. */
const uint8_t *tools_h5_log_bytes(const tools_h5_log_t *log, size_t *len);

/* Opens the HDF5 file image data[0..len) (which must stay valid and unchanged
 * until tools_h5_close); with `log`, records the open and every later
 * answer into it. CNN_E_FORMAT when the bytes are not a readable HDF5 file. */
cnn_status_t tools_h5_open_memory(const void *data, size_t len, tools_h5_log_t *log, tools_h5_t **out,
                                  cnn_error_t *err);
/* Opens a replay of a recorded log (which must outlive the handle): gives
 * the recorded open's result. A question other than the next recorded one
 * fails with CNN_E_FORMAT. */
cnn_status_t tools_h5_open_replay(const uint8_t *log, size_t len, tools_h5_t **out, cnn_error_t *err);
void tools_h5_close(tools_h5_t *f);

/* True when the object at `obj` ("/" for the root group) exists. */
bool tools_h5_has_object(tools_h5_t *f, const char *obj);

/* Reads the string attribute `attr` of object `obj` into a malloc'ed,
 * NUL-terminated string. CNN_E_NOT_FOUND when the attribute is absent. */
cnn_status_t tools_h5_read_string(tools_h5_t *f, const char *obj, const char *attr, char **out,
                                  cnn_error_t *err);

/* Reads a string-list attribute into a malloc'ed array of malloc'ed strings
 * (free with tools_h5_free_strings). An empty attribute of any type is an
 * empty list. Keras splits lists too big for one attribute into `attr0`,
 * `attr1`, ...: those are joined. CNN_E_NOT_FOUND when absent. */
cnn_status_t tools_h5_read_strings(tools_h5_t *f, const char *obj, const char *attr, char ***out,
                                   int *count, cnn_error_t *err);
void tools_h5_free_strings(char **list, int count);

#define TOOLS_H5_MAX_DIMS 4

/* Reads the numeric dataset at `path` as fp32 into a malloc'ed buffer;
 * *ndim (<= TOOLS_H5_MAX_DIMS) and dims[] receive its shape. Fails when the
 * dataset is missing, not numeric, or holds less data than its shape says. */
cnn_status_t tools_h5_read_floats(tools_h5_t *f, const char *path, int *ndim, int64_t *dims, float **data,
                                  cnn_error_t *err);

#endif
