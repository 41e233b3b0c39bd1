/* File helpers for writing model directories (convert and the model writer). */
#ifndef TOOLS_MODEL_DIR_H
#define TOOLS_MODEL_DIR_H

#include "cnn/cnn.h"

/* Creates `dir` (mkdir -p), refusing a non-empty one unless `force`. */
cnn_status_t tools_dir_prepare(const char *dir, bool force, cnn_error_t *err);
/* Writes `len` bytes and a final newline to path via a temporary file and rename. */
cnn_status_t tools_write_text_file(const char *path, const char *data, size_t len, cnn_error_t *err);
/* Copies src to dst (via a temporary file); nothing to do when they are the same file. */
cnn_status_t tools_copy_file(const char *src, const char *dst, cnn_error_t *err);
/* Writes the weights file at `path`; `ctx` is the caller's. */
typedef cnn_status_t (*tools_weights_write_fn)(const char *path, void *ctx, cnn_error_t *err);

/* Writes dir/model.json (`json`) and dir/weights.safetensors (through
 * `write_weights`), then loads the directory back with cnn_model_load. On any
 * failure after the directory was accepted both files are removed, except a
 * weights file that is the same file as `preserve` (the input itself). */
cnn_status_t tools_model_dir_write(const char *dir, bool force, const char *json, tools_weights_write_fn write_weights,
                                   void *ctx, const char *preserve, cnn_error_t *err);

/* True when both paths name the same existing file. */
bool tools_same_file(const char *a, const char *b);
/* The directory's last path component, in buf. */
const char *tools_dir_basename(const char *dir, char *buf, size_t size);
/* Reads a labels file: one label per line; a final newline, CR and a UTF-8
 * BOM are ignored; empty lines are errors. *labels is a malloc'ed array of
 * malloc'ed strings (free with tools_labels_free). */
cnn_status_t tools_labels_read(const char *path, char ***labels, int *n, cnn_error_t *err);
void tools_labels_free(char **labels, int n);

#endif
