/* `cnnserve convert --onnx/--keras`: run an importer into a model writer,
 * apply the command line's preprocessing and labels, save the directory. */
#ifndef TOOLS_CONVERT_IMPORT_H
#define TOOLS_CONVERT_IMPORT_H

#include "model_writer.h"

/* Reads `path` into `w` (nodes + tensors); errors name the file's part at fault. */
typedef cnn_status_t (*tools_import_fn)(const char *path, tools_model_writer_t *w, cnn_error_t *err);

/* Preprocessing given on the command line; unset fields keep the defaults
 * (colour from the input's channels, pixels / 255, no mean/std). */
typedef struct tools_preprocess_flags {
    const char *color;  /* "grayscale", "rgb" or NULL */
    float scale;        /* 0: unset */
    int resize_shorter; /* < 0: unset */
    float mean[3], std[3];
    int num_mean, num_std; /* 0: unset; 1 broadcasts */
} tools_preprocess_flags_t;

typedef struct tools_import_opts {
    const char *format; /* "ONNX", "Keras HDF5": for messages */
    const char *path;
    const char *labels; /* labels file or NULL */
    tools_preprocess_flags_t pre;
    tools_save_opts_t save;
} tools_import_opts_t;

/* Imports, saves and prints a one-line summary; returns a CLI exit code
 * (errors printed as "cnnserve convert: <file>: message"). */
int tools_convert_import(tools_import_fn import, const tools_import_opts_t *o);

#endif
