/* The "graph" form of model.json's architecture: a network written out node
 * by node, for models that are not zoo architectures (imported from ONNX or
 * Keras, or trained by weights-tools/train_fashion.py).
 *
 * "architecture": {"graph": {
 *     "nodes": [
 *       {"name": "input", "op": "input", "shape": [1, 28, 28]},
 *       {"name": "conv1", "op": "conv2d", "inputs": ["input"], "out_channels": 6,
 *        "kernel": [5, 5], "stride": [1, 1], "dilation": [1, 1], "groups": 1,
 *        "pads": [2, 2, 2, 2], "bias": true},
 *       {"name": "relu1", "op": "relu", "inputs": ["conv1"]},
 *       ...
 *     ],
 *     "output": "fc3"}}
 *
 * Nodes are listed in topological order; "inputs" name earlier nodes (default:
 * the previous node). "output" defaults to the last node. Exactly one "input"
 * node, first; its "shape" is [C, H, W], [C, H] (W = 1) or [F] (a flat vector).
 * Weights are "<name>.weight", "<name>.bias" etc. exactly as the graph
 * builders in graph.h declare them. "pads" are [top, left, bottom, right].
 *
 * Ops and their keys (defaults in brackets):
 *   conv2d       out_channels, kernel [kh,kw], stride [1,1], dilation [1,1], groups [1],
 *                pads [0,0,0,0] or padding "same" (TensorFlow SAME), bias [true]
 *   dense        out_features, bias [true]            (weight [out, in], in = C*H*W in CHW order)
 *   max_pool, avg_pool
 *                kernel, stride [= kernel], pads [0,0,0,0] or padding "same",
 *                ceil_mode [false], count_include_pad [false]
 *   global_avg_pool, relu, sigmoid, tanh, softmax (over channels), dropout, flatten
 *   leaky_relu   alpha [0.01]        elu    alpha [1.0]
 *   clip         min, max (either may be omitted: no bound)
 *   prelu        num_slopes [1]      (weight [num_slopes])
 *   lrn          size, alpha [1e-4], beta [0.75], k [1.0]  (PyTorch LocalResponseNorm)
 *   batch_norm   eps [1e-5]          (weight, bias, running_mean, running_var)
 *   concat       inputs (>= 1, along channels)
 *   add          inputs (2)
 *   zero_pad     pads
 *   maxout       pieces
 * Unknown ops and unknown keys are errors that name the node.
 */
#ifndef CNN_GRAPH_JSON_H
#define CNN_GRAPH_JSON_H

#include "graph.h"

#include <cjson/cJSON.h>

/* Builds the graph described by `spec` (the object under "graph"). On error
 * returns a negative status with a message naming the node and key. */
cnn_status_t cnn_graph_from_json(const cJSON *spec, cnn_graph_t **out, cnn_error_t *err);

#endif
