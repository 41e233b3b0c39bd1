/* The libhdf5 implementation behind keras_h5.h: the same questions, asked
 * of a file image through HDF5's core driver. keras_h5_session.c records
 * its answers or replays them. */
#ifndef TOOLS_KERAS_H5_LIVE_H
#define TOOLS_KERAS_H5_LIVE_H

#include "keras_h5.h"

typedef struct tools_h5_live tools_h5_live_t;

/* Refuses global heap collections that would make libhdf5 1.10 loop or copy
 * out of bounds (keras_h5_check.c). `superblock`: offset of the signature. */
cnn_status_t tools_h5_check_global_heaps(const uint8_t *data, size_t len, size_t superblock, cnn_error_t *err);

/* Opens a file image (after the check above). */
cnn_status_t tools_h5_live_open_memory(const void *data, size_t len, tools_h5_live_t **out, cnn_error_t *err);
void tools_h5_live_close(tools_h5_live_t *f);
bool tools_h5_live_has_object(tools_h5_live_t *f, const char *obj);
cnn_status_t tools_h5_live_read_string(tools_h5_live_t *f, const char *obj, const char *attr, char **out,
                                       cnn_error_t *err);
cnn_status_t tools_h5_live_read_strings(tools_h5_live_t *f, const char *obj, const char *attr, char ***out,
                                        int *count, cnn_error_t *err);
cnn_status_t tools_h5_live_read_floats(tools_h5_live_t *f, const char *path, int *ndim, int64_t *dims,
                                       float **data, cnn_error_t *err);

#endif
