/* The CUDA backend's own kernels (cuda_kernels.cu), for what cuDNN and
 * cuBLASLt do not do. Every launcher enqueues one grid-stride kernel on
 * `stream` that applies one element function of cuda_elem.h (where the
 * semantics are documented) to every element of its output, and returns the
 * launch's cudaError_t. */
#ifndef CNN_CUDA_KERNELS_H
#define CNN_CUDA_KERNELS_H

#include <cuda_runtime_api.h>
#include <stdbool.h>

#include "cuda_elem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* dst = src (same logical shape) with a dtype change: src_f16/dst_f16 each
 * say fp16 or fp32. Used for input staging, output staging and flattening. */
cudaError_t cnn_cu_k_copy(const void *src, cnn_cu_kt_t s, bool src_f16, void *dst, cnn_cu_kt_t d, bool dst_f16,
                          cudaStream_t stream);
/* dst[n,c,y,x] = src[n,c,y-top,x-left] inside src, else 0. */
cudaError_t cnn_cu_k_zero_pad(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int top, int left, bool f16,
                              cudaStream_t stream);
/* dst = act(src). */
cudaError_t cnn_cu_k_act(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int act, float alpha, float beta,
                         bool f16, cudaStream_t stream);
/* In place on y: y = act(y + bias[c] + res) (res may be NULL); bias has the activations' dtype. */
cudaError_t cnn_cu_k_bias_act(void *y, cnn_cu_kt_t t, const void *bias, const void *res, cnn_cu_kt_t r, int act,
                              float alpha, float beta, bool f16, cudaStream_t stream);
/* dst = act(a + b). */
cudaError_t cnn_cu_k_add(const void *a, cnn_cu_kt_t ta, const void *b, cnn_cu_kt_t tb, void *dst, cnn_cu_kt_t d,
                         int act, float alpha, float beta, bool f16, cudaStream_t stream);
/* dst = src * scale[c] + shift[c]. */
cudaError_t cnn_cu_k_affine(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, const float *scale,
                            const float *shift, bool f16, cudaStream_t stream);
/* dst = src > 0 ? src : src * slope (slopes[0] when num_slopes == 1, else slopes[c]). */
cudaError_t cnn_cu_k_prelu(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, const float *slopes,
                           int num_slopes, bool f16, cudaStream_t stream);
/* Max or average pooling with explicit top/left padding (bottom/right follow
 * from the output size). Average: divisor = window clipped to the input
 * (include_pad false) or to the input plus the top/left padding mirrored
 * (include_pad true: PyTorch's ceil_mode divisor). */
cudaError_t cnn_cu_k_pool(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int kh, int kw, int sh, int sw,
                          int top, int left, int bottom, int right, bool is_max, bool include_pad, bool f16,
                          cudaStream_t stream);
/* dst[n,c] = mean over h, w of src[n,c]. */
cudaError_t cnn_cu_k_global_avg(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, bool f16,
                                cudaStream_t stream);
/* Softmax over channels at every (n, h, w). */
cudaError_t cnn_cu_k_softmax(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, bool f16, cudaStream_t stream);
/* Cross-channel LRN: y = x / (k + alpha/size * sum of x^2 over the size-window)^beta (odd size). */
cudaError_t cnn_cu_k_lrn(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int size, float alpha, float beta,
                         float k, bool f16, cudaStream_t stream);
/* Maxout: dst[c] = max over k < pieces of src[c * pieces + k]. */
cudaError_t cnn_cu_k_maxout(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int pieces, bool f16,
                            cudaStream_t stream);

/* Concat: one launch per CNN_CU_CONCAT_MAX inputs (see cnn_cu_concat_args_t). */
cudaError_t cnn_cu_k_concat(const cnn_cu_concat_args_t *a, void *dst, cnn_cu_kt_t d, bool f16, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
