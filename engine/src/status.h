/* Error helpers shared by the engine: fill a cnn_error_t and return its status. */
#ifndef CNN_STATUS_H
#define CNN_STATUS_H

#include "cnn/cnn.h"

#if defined(__GNUC__)
#define CNN_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CNN_PRINTF(fmt, args)
#endif

/* Sets err (if not NULL) to `status` and a printf-formatted message; returns status. */
cnn_status_t cnn_error_set(cnn_error_t *err, cnn_status_t status, const char *fmt, ...) CNN_PRINTF(3, 4);

/* Prepends "context: " to an existing message (e.g. the file or layer name). */
void cnn_error_prefix(cnn_error_t *err, const char *fmt, ...) CNN_PRINTF(2, 3);

/* Clears err to CNN_OK with an empty message. */
void cnn_error_clear(cnn_error_t *err);

#endif
