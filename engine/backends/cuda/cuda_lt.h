/* cuBLASLt, loaded on first use. Linking libcublasLt (540 MB) costs every
 * process about 0.7 s at start-up, CPU-only runs included, so the backend
 * dlopen()s it when the first CUDA session is created and calls it through
 * this table. */
#ifndef CNN_CUDA_LT_H
#define CNN_CUDA_LT_H

#include <cublasLt.h>

#include "status.h"

typedef struct cnn_cu_lt_api {
    __typeof__(&cublasLtCreate) create;
    __typeof__(&cublasLtDestroy) destroy;
    __typeof__(&cublasLtMatmul) matmul;
    __typeof__(&cublasLtMatmulAlgoGetHeuristic) heuristic;
    __typeof__(&cublasLtMatmulDescCreate) desc_create;
    __typeof__(&cublasLtMatmulDescDestroy) desc_destroy;
    __typeof__(&cublasLtMatmulDescSetAttribute) desc_set;
    __typeof__(&cublasLtMatmulPreferenceCreate) pref_create;
    __typeof__(&cublasLtMatmulPreferenceDestroy) pref_destroy;
    __typeof__(&cublasLtMatmulPreferenceSetAttribute) pref_set;
    __typeof__(&cublasLtMatrixLayoutCreate) layout_create;
    __typeof__(&cublasLtMatrixLayoutDestroy) layout_destroy;
} cnn_cu_lt_api_t;

/* The loaded table (once per process, thread-safe), or NULL with err set
 * (CNN_E_UNSUPPORTED: the library or one of its functions is missing). */
const cnn_cu_lt_api_t *cnn_cu_lt(cnn_error_t *err);

#endif
