/* ONNX → cnnserve graph form. Reads an ONNX model (protobuf, parsed with
 * protobuf-c against the system's onnx.proto), folds the constant shape
 * arithmetic torch.onnx.export emits, maps every operator onto the engine's
 * graph ops and fills a model writer (weights-tools/model_writer.h) with the
 * nodes and fp32 weights. Nothing is written to disk here.
 *
 * One image input [N, C, H, W] becomes the input node [C, H, W]; [N, C, L]
 * becomes [C, L, 1] and [N, F] a flat [F]. Errors name the ONNX node (or
 * tensor) at fault; unsupported operators are reported all at once. */
#ifndef TOOLS_ONNX_IMPORT_H
#define TOOLS_ONNX_IMPORT_H

#include "cnn/cnn.h"
#include "model_writer.h"

#include <stddef.h>
#include <stdint.h>

/* Imports the ONNX file at `path`. External tensor data is read from files
 * inside the file's directory (see tools_onnx_import_buffer). */
cnn_status_t tools_onnx_import(const char *path, tools_model_writer_t *w, cnn_error_t *err);

/* Imports a serialized ModelProto held in memory. External data locations
 * are resolved relative to `base_dir` and must stay inside it: absolute
 * paths, ".." components and symbolic links are refused, and offset/length
 * are checked against the file's size. With base_dir NULL any external data
 * is refused. */
cnn_status_t tools_onnx_import_buffer(const uint8_t *buf, size_t len, const char *base_dir,
                                      tools_model_writer_t *w, cnn_error_t *err);

#endif
