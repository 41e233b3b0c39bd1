// The CUDA backend's own kernels (see cuda_kernels.h): each is a grid-stride
// loop over the physical elements of its output, in the output's memory order
// (so stores are coalesced), applying one element function of cuda_elem.h;
// the same functions run on the CPU in the unit tests.
#include "cuda_kernels.h"

namespace {

const int kThreads = 256;

unsigned blocks_for(long long n)
{
    long long b = (n + kThreads - 1) / kThreads;
    if (b < 1)
        b = 1;
    return (unsigned)(b > (1ll << 20) ? (1ll << 20) : b); // the grid-stride loop covers the rest
}

#define GRID_LOOP(i, count) for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (count); \
                                 i += (long long)gridDim.x * blockDim.x)

__global__ void k_copy(const void *src, cnn_cu_kt_t s, bool sf16, void *dst, cnn_cu_kt_t d, bool df16)
{
    GRID_LOOP(i, cnn_cu_total(d)) cnn_cu_e_copy(i, src, s, sf16, dst, d, df16);
}

__global__ void k_zero_pad(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int top, int left, bool f16)
{
    GRID_LOOP(i, cnn_cu_total(d)) cnn_cu_e_zero_pad(i, src, s, dst, d, top, left, f16);
}

__global__ void k_act(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int act, float a, float b, bool f16)
{
    GRID_LOOP(i, cnn_cu_total(d)) cnn_cu_e_act(i, src, s, dst, d, act, a, b, f16);
}

__global__ void k_bias_act(void *y, cnn_cu_kt_t t, const void *bias, const void *res, cnn_cu_kt_t r, int act,
                           float a, float b, bool f16)
{
    GRID_LOOP(i, cnn_cu_total(t)) cnn_cu_e_bias_act(i, y, t, bias, res, r, act, a, b, f16);
}

__global__ void k_add(const void *x, cnn_cu_kt_t tx, const void *y, cnn_cu_kt_t ty, void *dst, cnn_cu_kt_t d,
                      int act, float a, float b, bool f16)
{
    GRID_LOOP(i, cnn_cu_total(d)) cnn_cu_e_add(i, x, tx, y, ty, dst, d, act, a, b, f16);
}

__global__ void k_affine(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, const float *scale,
                         const float *shift, bool f16)
{
    GRID_LOOP(i, cnn_cu_total(d)) cnn_cu_e_affine(i, src, s, dst, d, scale, shift, f16);
}

__global__ void k_prelu(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, const float *slopes, int num,
                        bool f16)
{
    GRID_LOOP(i, cnn_cu_total(d)) cnn_cu_e_prelu(i, src, s, dst, d, slopes, num, f16);
}

__global__ void k_pool(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int kh, int kw, int sh, int sw,
                       int top, int left, int bottom, int right, bool is_max, bool include_pad, bool f16)
{
    GRID_LOOP(i, cnn_cu_total(d))
    cnn_cu_e_pool(i, src, s, dst, d, kh, kw, sh, sw, top, left, bottom, right, is_max, include_pad, f16);
}

__global__ void k_global_avg(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, bool f16)
{
    GRID_LOOP(i, cnn_cu_total(d)) cnn_cu_e_global_avg(i, src, s, dst, d, f16);
}

__global__ void k_softmax(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, bool f16)
{
    GRID_LOOP(j, (long long)d.n * d.h * d.w) cnn_cu_e_softmax(j, src, s, dst, d, f16);
}

__global__ void k_lrn(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int size, float alpha, float beta,
                      float k, bool f16)
{
    GRID_LOOP(i, cnn_cu_total(d)) cnn_cu_e_lrn(i, src, s, dst, d, size, alpha, beta, k, f16);
}

__global__ void k_maxout(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int pieces, bool f16)
{
    GRID_LOOP(i, cnn_cu_total(d)) cnn_cu_e_maxout(i, src, s, dst, d, pieces, f16);
}

__global__ void k_concat(cnn_cu_concat_args_t a, void *dst, cnn_cu_kt_t d, bool f16)
{
    GRID_LOOP(i, cnn_cu_total(d)) cnn_cu_e_concat(i, &a, dst, d, f16);
}

long long total_host(const cnn_cu_kt_t &t)
{
    return (long long)t.n * t.cp * t.h * t.w;
}

} // namespace

#define LAUNCH(kernel, count, ...)                                                  \
    do {                                                                            \
        kernel<<<blocks_for(count), kThreads, 0, stream>>>(__VA_ARGS__);            \
        return cudaGetLastError();                                                  \
    } while (0)

extern "C" cudaError_t cnn_cu_k_copy(const void *src, cnn_cu_kt_t s, bool src_f16, void *dst, cnn_cu_kt_t d,
                                     bool dst_f16, cudaStream_t stream)
{
    LAUNCH(k_copy, total_host(d), src, s, src_f16, dst, d, dst_f16);
}

extern "C" cudaError_t cnn_cu_k_zero_pad(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int top, int left,
                                         bool f16, cudaStream_t stream)
{
    LAUNCH(k_zero_pad, total_host(d), src, s, dst, d, top, left, f16);
}

extern "C" cudaError_t cnn_cu_k_act(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int act, float alpha,
                                    float beta, bool f16, cudaStream_t stream)
{
    LAUNCH(k_act, total_host(d), src, s, dst, d, act, alpha, beta, f16);
}

extern "C" cudaError_t cnn_cu_k_bias_act(void *y, cnn_cu_kt_t t, const void *bias, const void *res, cnn_cu_kt_t r,
                                         int act, float alpha, float beta, bool f16, cudaStream_t stream)
{
    LAUNCH(k_bias_act, total_host(t), y, t, bias, res, r, act, alpha, beta, f16);
}

extern "C" cudaError_t cnn_cu_k_add(const void *a, cnn_cu_kt_t ta, const void *b, cnn_cu_kt_t tb, void *dst,
                                    cnn_cu_kt_t d, int act, float alpha, float beta, bool f16, cudaStream_t stream)
{
    LAUNCH(k_add, total_host(d), a, ta, b, tb, dst, d, act, alpha, beta, f16);
}

extern "C" cudaError_t cnn_cu_k_affine(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, const float *scale,
                                       const float *shift, bool f16, cudaStream_t stream)
{
    LAUNCH(k_affine, total_host(d), src, s, dst, d, scale, shift, f16);
}

extern "C" cudaError_t cnn_cu_k_prelu(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, const float *slopes,
                                      int num_slopes, bool f16, cudaStream_t stream)
{
    LAUNCH(k_prelu, total_host(d), src, s, dst, d, slopes, num_slopes, f16);
}

extern "C" cudaError_t cnn_cu_k_pool(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int kh, int kw, int sh,
                                     int sw, int top, int left, int bottom, int right, bool is_max,
                                     bool include_pad, bool f16, cudaStream_t stream)
{
    LAUNCH(k_pool, total_host(d), src, s, dst, d, kh, kw, sh, sw, top, left, bottom, right, is_max, include_pad, f16);
}

extern "C" cudaError_t cnn_cu_k_global_avg(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, bool f16,
                                           cudaStream_t stream)
{
    LAUNCH(k_global_avg, total_host(d), src, s, dst, d, f16);
}

extern "C" cudaError_t cnn_cu_k_softmax(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, bool f16,
                                        cudaStream_t stream)
{
    LAUNCH(k_softmax, (long long)d.n * d.h * d.w, src, s, dst, d, f16);
}

extern "C" cudaError_t cnn_cu_k_lrn(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int size, float alpha,
                                    float beta, float k, bool f16, cudaStream_t stream)
{
    LAUNCH(k_lrn, total_host(d), src, s, dst, d, size, alpha, beta, k, f16);
}

extern "C" cudaError_t cnn_cu_k_maxout(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int pieces, bool f16,
                                       cudaStream_t stream)
{
    LAUNCH(k_maxout, total_host(d), src, s, dst, d, pieces, f16);
}

extern "C" cudaError_t cnn_cu_k_concat(const cnn_cu_concat_args_t *a, void *dst, cnn_cu_kt_t d, bool f16,
                                       cudaStream_t stream)
{
    if (a->count < 1 || a->count > CNN_CU_CONCAT_MAX)
        return cudaErrorInvalidValue;
    LAUNCH(k_concat, total_host(d), *a, dst, d, f16);
}
