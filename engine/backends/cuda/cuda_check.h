/* Error values from the CUDA runtime, cuDNN and cuBLASLt: every call goes
 * through one of the TRY macros, which turns a failure into a cnn_status_t
 * with a message naming the call (out of memory → CNN_E_NOMEM, no device or
 * driver → CNN_E_UNSUPPORTED, anything else, a lost device or a failed launch
 * included, → CNN_E_BACKEND) and jumps to the function's `done:` label with
 * `st` set. Nothing here aborts. */
#ifndef CNN_CUDA_CHECK_H
#define CNN_CUDA_CHECK_H

#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "status.h"

cnn_status_t cnn_cu_check_rt(cudaError_t e, const char *what, cnn_error_t *err);
cnn_status_t cnn_cu_check_dnn(cudnnStatus_t s, const char *what, cnn_error_t *err);
cnn_status_t cnn_cu_check_lt(cublasStatus_t s, const char *what, cnn_error_t *err);

#define CNN_CU_TRY(err, call)                                                   \
    do {                                                                        \
        if ((st = cnn_cu_check_rt((call), #call, (err))) != CNN_OK)             \
            goto done;                                                          \
    } while (0)
#define CNN_DNN_TRY(err, call)                                                  \
    do {                                                                        \
        if ((st = cnn_cu_check_dnn((call), #call, (err))) != CNN_OK)            \
            goto done;                                                          \
    } while (0)
#define CNN_LT_TRY(err, call)                                                   \
    do {                                                                        \
        if ((st = cnn_cu_check_lt((call), #call, (err))) != CNN_OK)             \
            goto done;                                                          \
    } while (0)

#endif
