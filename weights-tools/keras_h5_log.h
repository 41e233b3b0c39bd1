/* A log of the answers an HDF5 file gave (keras_h5.h): recorded while a
 * file is read through libhdf5, replayed later without it. `cnnserve
 * convert --keras` reads the file through libhdf5 in a child process that
 * sends the log back, so a libhdf5 crash or endless loop on a malformed
 * file cannot take the command down (see keras_import.c).
 *
 * An entry: op (u8), key1, key2 (strings), status (i32), message (string),
 * then the op's answer when the status is CNN_OK: HAS: u8; STRING: string;
 * STRINGS: u32 count, count strings; FLOATS: u32 ndim, ndim i64 dims, u64
 * count, count f32. A string is a u32 length, the bytes and a NUL. Numbers
 * are in the machine's byte order (the log never leaves the machine). */
#ifndef TOOLS_KERAS_H5_LOG_H
#define TOOLS_KERAS_H5_LOG_H

#include "keras_h5.h"

enum { TOOLS_H5_OP_OPEN = 1, TOOLS_H5_OP_HAS, TOOLS_H5_OP_STRING, TOOLS_H5_OP_STRINGS, TOOLS_H5_OP_FLOATS };

/* One entry; strings point into the log (NUL-terminated). */
typedef struct tools_h5_answer {
    int op;
    const char *key1, *key2;
    cnn_status_t status;
    const char *message;
    bool yes;                  /* HAS */
    const char *text;          /* STRING */
    int count;                 /* STRINGS: count strings packed at `strings` */
    const uint8_t *strings;
    int ndim;                  /* FLOATS */
    int64_t dims[TOOLS_H5_MAX_DIMS];
    int64_t numel;
    const uint8_t *floats;     /* numel f32, possibly unaligned */
} tools_h5_answer_t;

/* Appends an entry (the payload fields its op uses). Out of memory marks
 * the log as failed (tools_h5_log_bytes then returns NULL). */
void tools_h5_log_put(tools_h5_log_t *log, const tools_h5_answer_t *a, char *const *strings);

/* Parses the entry at *p (< end) into *a and advances *p. CNN_E_FORMAT when
 * the bytes are not a well-formed entry. */
cnn_status_t tools_h5_log_next(const uint8_t **p, const uint8_t *end, tools_h5_answer_t *a, cnn_error_t *err);

/* The next string of a STRINGS answer's packed list (advances *p). */
const char *tools_h5_log_string(const uint8_t **p);

#endif
