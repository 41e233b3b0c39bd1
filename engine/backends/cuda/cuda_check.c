/* CUDA, cuDNN and cuBLASLt status → cnn_status_t (see cuda_check.h). */
#include "cuda_check.h"

/* The call text without its arguments: "cudaMalloc(&p, n)" → "cudaMalloc". */
static int call_name_len(const char *what)
{
    int n = 0;
    while (what[n] && what[n] != '(')
        n++;
    return n;
}

cnn_status_t cnn_cu_check_rt(cudaError_t e, const char *what, cnn_error_t *err)
{
    if (e == cudaSuccess)
        return CNN_OK;
    cnn_status_t st = CNN_E_BACKEND;
    if (e == cudaErrorMemoryAllocation)
        st = CNN_E_NOMEM;
    else if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver)
        st = CNN_E_UNSUPPORTED;
    return cnn_error_set(err, st, "%.*s failed: %s (%s)", call_name_len(what), what, cudaGetErrorString(e),
                         cudaGetErrorName(e));
}

cnn_status_t cnn_cu_check_dnn(cudnnStatus_t s, const char *what, cnn_error_t *err)
{
    if (s == CUDNN_STATUS_SUCCESS)
        return CNN_OK;
    cnn_status_t st = CNN_E_BACKEND;
    if (s == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED || s == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED)
        st = CNN_E_NOMEM;
    else if ((int)s / 1000 == CUDNN_STATUS_NOT_SUPPORTED / 1000) /* 3xxx: not supported, with a reason */
        st = CNN_E_UNSUPPORTED;
    return cnn_error_set(err, st, "%.*s failed: %s", call_name_len(what), what, cudnnGetErrorString(s));
}

static const char *lt_status_name(cublasStatus_t s)
{
    switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "invalid value";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "architecture mismatch";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "execution failed";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "internal error";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "not supported";
    default: return "error";
    }
}

cnn_status_t cnn_cu_check_lt(cublasStatus_t s, const char *what, cnn_error_t *err)
{
    if (s == CUBLAS_STATUS_SUCCESS)
        return CNN_OK;
    cnn_status_t st = CNN_E_BACKEND;
    if (s == CUBLAS_STATUS_ALLOC_FAILED)
        st = CNN_E_NOMEM;
    else if (s == CUBLAS_STATUS_NOT_SUPPORTED)
        st = CNN_E_UNSUPPORTED;
    return cnn_error_set(err, st, "%.*s failed: %s (cuBLAS status %d)", call_name_len(what), what,
                         lt_status_name(s), (int)s);
}
