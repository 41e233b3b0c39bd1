/* The ONNX operators the importer understands (default domain), with the
 * attributes each mapping reads; anything else is reported as unsupported. */
#include "onnx_internal.h"

#include <string.h>

static const tools_onnx_op_t ops[] = {
    /* folded when their inputs are constant (see onnx_fold.c) */
    {"Constant", tools_onnx_map_constant, "value value_float value_floats value_int value_ints"},
    {"Shape", tools_onnx_map_shape, "start end"},
    {"Gather", tools_onnx_map_gather, "axis"},
    {"Unsqueeze", tools_onnx_map_unsqueeze, "axes"},
    {"Squeeze", tools_onnx_map_squeeze, "axes"},
    {"Cast", tools_onnx_map_cast, "to"},
    {"ConstantOfShape", tools_onnx_map_constant_of_shape, "value"},
    {"Slice", tools_onnx_map_slice, "axes ends starts"},
    {"Transpose", tools_onnx_map_transpose, "perm"},
    /* mapped onto engine nodes */
    {"Conv", tools_onnx_map_conv, "auto_pad dilations group kernel_shape pads strides"},
    {"MaxPool", tools_onnx_map_max_pool, "auto_pad ceil_mode dilations kernel_shape pads storage_order strides"},
    {"AveragePool", tools_onnx_map_avg_pool, "auto_pad ceil_mode count_include_pad kernel_shape pads strides"},
    {"GlobalAveragePool", tools_onnx_map_global_avg_pool, ""},
    {"Pad", tools_onnx_map_pad, "mode pads paddings value"},
    {"Gemm", tools_onnx_map_gemm, "alpha beta broadcast transA transB"},
    {"MatMul", tools_onnx_map_matmul, ""},
    {"BatchNormalization", tools_onnx_map_batch_norm, "consumed_inputs epsilon is_test momentum spatial training_mode"},
    {"Add", tools_onnx_map_add, "consumed_inputs"},
    {"PRelu", tools_onnx_map_prelu, "consumed_inputs"},
    {"Relu", tools_onnx_map_relu, "consumed_inputs"},
    {"Sigmoid", tools_onnx_map_sigmoid, "consumed_inputs"},
    {"Tanh", tools_onnx_map_tanh, "consumed_inputs"},
    {"LeakyRelu", tools_onnx_map_leaky_relu, "alpha consumed_inputs"},
    {"Elu", tools_onnx_map_elu, "alpha consumed_inputs"},
    {"Clip", tools_onnx_map_clip, "consumed_inputs max min"},
    {"Softmax", tools_onnx_map_softmax, "axis"},
    {"LRN", tools_onnx_map_lrn, "alpha beta bias size"},
    {"Dropout", tools_onnx_map_dropout, "is_test ratio seed"},
    {"Identity", tools_onnx_map_identity, ""},
    {"Concat", tools_onnx_map_concat, "axis"},
    {"Flatten", tools_onnx_map_flatten, "axis"},
    {"Reshape", tools_onnx_map_reshape, "allowzero shape"},
};

const tools_onnx_op_t *tools_onnx_op_find(const char *type)
{
    for (size_t i = 0; type && i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(ops[i].type, type) == 0)
            return &ops[i];
    return NULL;
}
