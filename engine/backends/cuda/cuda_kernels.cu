// The CUDA backend's own kernels (see cuda_kernels.h). Every kernel is a
// grid-stride loop over the physical elements of its output, in the output's
// memory order (so stores are coalesced), and computes in fp32.
#include <cuda_fp16.h>
#include <math.h>

#include "cuda_kernels.h"

namespace {

const int kThreads = 256;

__device__ __forceinline__ float ld(const float *p, long long i) { return p[i]; }
__device__ __forceinline__ float ld(const __half *p, long long i) { return __half2float(p[i]); }
__device__ __forceinline__ void st(float *p, long long i, float v) { p[i] = v; }
__device__ __forceinline__ void st(__half *p, long long i, float v) { p[i] = __float2half_rn(v); }

struct Pos {
    int n, c, h, w;
};

// Logical position of physical element i of a packed tensor t.
__device__ __forceinline__ Pos pos_of(const cnn_cu_kt_t &t, long long i)
{
    Pos p;
    if (t.nhwc) {
        p.c = (int)(i % t.cp);
        long long r = i / t.cp;
        p.w = (int)(r % t.w);
        r /= t.w;
        p.h = (int)(r % t.h);
        p.n = (int)(r / t.h);
    } else {
        p.w = (int)(i % t.w);
        long long r = i / t.w;
        p.h = (int)(r % t.h);
        r /= t.h;
        p.c = (int)(r % t.cp);
        p.n = (int)(r / t.cp);
    }
    return p;
}

__device__ __forceinline__ long long off(const cnn_cu_kt_t &t, int n, int c, int h, int w)
{
    return n * t.sn + c * t.sc + h * t.sh + w * t.sw;
}

__device__ __forceinline__ long long total(const cnn_cu_kt_t &t)
{
    return (long long)t.n * t.cp * t.h * t.w;
}

__device__ __forceinline__ float act_apply(float x, int act, float a, float b)
{
    switch (act) {
    case CNN_CU_ACT_RELU: return x > 0.f ? x : 0.f;
    case CNN_CU_ACT_LEAKY_RELU: return x > 0.f ? x : x * a;
    case CNN_CU_ACT_ELU: return x > 0.f ? x : a * expm1f(x);
    case CNN_CU_ACT_SIGMOID: return 1.f / (1.f + expf(-x));
    case CNN_CU_ACT_TANH: return tanhf(x);
    case CNN_CU_ACT_CLIP: return fminf(fmaxf(x, a), b);
    default: return x;
    }
}

#define GRID_LOOP(i, t) for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (t); \
                             i += (long long)gridDim.x * blockDim.x)

template <typename TS, typename TD>
__global__ void k_copy(const TS *src, cnn_cu_kt_t s, TD *dst, cnn_cu_kt_t d)
{
    GRID_LOOP(i, total(d)) {
        Pos p = pos_of(d, i);
        st(dst, i, p.c < d.c ? ld(src, off(s, p.n, p.c, p.h, p.w)) : 0.f);
    }
}

template <typename T>
__global__ void k_zero_pad(const T *src, cnn_cu_kt_t s, T *dst, cnn_cu_kt_t d, int top, int left)
{
    GRID_LOOP(i, total(d)) {
        Pos p = pos_of(d, i);
        int y = p.h - top, x = p.w - left;
        bool inside = p.c < d.c && y >= 0 && y < s.h && x >= 0 && x < s.w;
        st(dst, i, inside ? ld(src, off(s, p.n, p.c, y, x)) : 0.f);
    }
}

template <typename T>
__global__ void k_act(const T *src, cnn_cu_kt_t s, T *dst, cnn_cu_kt_t d, int act, float a, float b)
{
    GRID_LOOP(i, total(d)) {
        Pos p = pos_of(d, i);
        st(dst, i, p.c < d.c ? act_apply(ld(src, off(s, p.n, p.c, p.h, p.w)), act, a, b) : 0.f);
    }
}

template <typename T>
__global__ void k_bias_act(T *y, cnn_cu_kt_t t, const T *bias, const T *res, cnn_cu_kt_t r, int act, float a, float b)
{
    GRID_LOOP(i, total(t)) {
        Pos p = pos_of(t, i);
        float v = 0.f;
        if (p.c < t.c) {
            v = ld(y, i) + ld(bias, p.c);
            if (res)
                v += ld(res, off(r, p.n, p.c, p.h, p.w));
            v = act_apply(v, act, a, b);
        }
        st(y, i, v);
    }
}

template <typename T>
__global__ void k_add(const T *x, cnn_cu_kt_t tx, const T *y, cnn_cu_kt_t ty, T *dst, cnn_cu_kt_t d, int act, float a,
                      float b)
{
    GRID_LOOP(i, total(d)) {
        Pos p = pos_of(d, i);
        float v = 0.f;
        if (p.c < d.c)
            v = act_apply(ld(x, off(tx, p.n, p.c, p.h, p.w)) + ld(y, off(ty, p.n, p.c, p.h, p.w)), act, a, b);
        st(dst, i, v);
    }
}

template <typename T>
__global__ void k_affine(const T *src, cnn_cu_kt_t s, T *dst, cnn_cu_kt_t d, const float *scale, const float *shift)
{
    GRID_LOOP(i, total(d)) {
        Pos p = pos_of(d, i);
        float v = p.c < d.c ? ld(src, off(s, p.n, p.c, p.h, p.w)) * scale[p.c] + shift[p.c] : 0.f;
        st(dst, i, v);
    }
}

template <typename T>
__global__ void k_prelu(const T *src, cnn_cu_kt_t s, T *dst, cnn_cu_kt_t d, const float *slopes, int num_slopes)
{
    GRID_LOOP(i, total(d)) {
        Pos p = pos_of(d, i);
        float v = 0.f;
        if (p.c < d.c) {
            v = ld(src, off(s, p.n, p.c, p.h, p.w));
            if (v < 0.f)
                v *= slopes[num_slopes == 1 ? 0 : p.c];
        }
        st(dst, i, v);
    }
}

template <typename T>
__global__ void k_pool(const T *src, cnn_cu_kt_t s, T *dst, cnn_cu_kt_t d, int kh, int kw, int sh, int sw, int top,
                       int left, bool is_max, bool include_pad)
{
    GRID_LOOP(i, total(d)) {
        Pos p = pos_of(d, i);
        float v = 0.f;
        if (p.c < d.c) {
            int y0 = p.h * sh - top, x0 = p.w * sw - left;
            int y1 = min(y0 + kh, s.h + top), x1 = min(x0 + kw, s.w + left);
            int count = (y1 - y0) * (x1 - x0);
            int ya = max(y0, 0), xa = max(x0, 0), yb = min(y0 + kh, s.h), xb = min(x0 + kw, s.w);
            if (!include_pad)
                count = (yb - ya) * (xb - xa);
            float acc = is_max ? -INFINITY : 0.f;
            for (int y = ya; y < yb; y++)
                for (int x = xa; x < xb; x++) {
                    float e = ld(src, off(s, p.n, p.c, y, x));
                    acc = is_max ? fmaxf(acc, e) : acc + e;
                }
            if (is_max)
                v = (ya < yb && xa < xb) ? acc : 0.f;
            else
                v = count > 0 ? acc / (float)count : 0.f;
        }
        st(dst, i, v);
    }
}

template <typename T>
__global__ void k_global_avg(const T *src, cnn_cu_kt_t s, T *dst, cnn_cu_kt_t d)
{
    GRID_LOOP(i, total(d)) {
        Pos p = pos_of(d, i); // d is n × c × 1 × 1
        float acc = 0.f;
        if (p.c < d.c) {
            for (int y = 0; y < s.h; y++)
                for (int x = 0; x < s.w; x++)
                    acc += ld(src, off(s, p.n, p.c, y, x));
            acc /= (float)(s.h * s.w);
        }
        st(dst, i, acc);
    }
}

// One thread per (n, h, w) position; writes all cp channels of it.
template <typename T>
__global__ void k_softmax(const T *src, cnn_cu_kt_t s, T *dst, cnn_cu_kt_t d)
{
    GRID_LOOP(i, (long long)d.n * d.h * d.w) {
        int w = (int)(i % d.w), h = (int)((i / d.w) % d.h), n = (int)(i / ((long long)d.w * d.h));
        float m = -INFINITY, sum = 0.f;
        for (int c = 0; c < d.c; c++)
            m = fmaxf(m, ld(src, off(s, n, c, h, w)));
        for (int c = 0; c < d.c; c++)
            sum += expf(ld(src, off(s, n, c, h, w)) - m);
        for (int c = 0; c < d.cp; c++)
            st(dst, off(d, n, c, h, w), c < d.c ? expf(ld(src, off(s, n, c, h, w)) - m) / sum : 0.f);
    }
}

template <typename T>
__global__ void k_lrn(const T *src, cnn_cu_kt_t s, T *dst, cnn_cu_kt_t d, int size, float alpha, float beta, float k)
{
    GRID_LOOP(i, total(d)) {
        Pos p = pos_of(d, i);
        float v = 0.f;
        if (p.c < d.c) {
            int c0 = max(p.c - size / 2, 0), c1 = min(p.c + size / 2, d.c - 1);
            float sq = 0.f;
            for (int c = c0; c <= c1; c++) {
                float e = ld(src, off(s, p.n, c, p.h, p.w));
                sq += e * e;
            }
            v = ld(src, off(s, p.n, p.c, p.h, p.w)) / powf(k + alpha / (float)size * sq, beta);
        }
        st(dst, i, v);
    }
}

template <typename T>
__global__ void k_maxout(const T *src, cnn_cu_kt_t s, T *dst, cnn_cu_kt_t d, int pieces)
{
    GRID_LOOP(i, total(d)) {
        Pos p = pos_of(d, i);
        float v = 0.f;
        if (p.c < d.c) {
            v = ld(src, off(s, p.n, p.c * pieces, p.h, p.w));
            for (int k = 1; k < pieces; k++)
                v = fmaxf(v, ld(src, off(s, p.n, p.c * pieces + k, p.h, p.w)));
        }
        st(dst, i, v);
    }
}

template <typename T>
__global__ void k_concat(cnn_cu_concat_args_t a, T *dst, cnn_cu_kt_t d)
{
    int lo = a.offsets[0], hi = a.offsets[a.count - 1] + a.s[a.count - 1].c;
    GRID_LOOP(i, total(d)) {
        Pos p = pos_of(d, i);
        if (p.c >= a.total_c) {
            if (a.zero_tail)
                st(dst, i, 0.f);
            continue;
        }
        if (p.c < lo || p.c >= hi)
            continue;
        int k = 0;
        while (k + 1 < a.count && p.c >= a.offsets[k + 1])
            k++;
        const T *src = static_cast<const T *>(a.src[k]);
        st(dst, i, ld(src, off(a.s[k], p.n, p.c - a.offsets[k], p.h, p.w)));
    }
}

unsigned blocks_for(long long n)
{
    long long b = (n + kThreads - 1) / kThreads;
    if (b < 1)
        b = 1;
    return (unsigned)(b > (1ll << 20) ? (1ll << 20) : b); // grid-stride loops cover the rest
}

long long total_host(const cnn_cu_kt_t &t)
{
    return (long long)t.n * t.cp * t.h * t.w;
}

} // namespace

#define HP(T, p) static_cast<T>(p)

extern "C" cudaError_t cnn_cu_k_copy(const void *src, cnn_cu_kt_t s, bool src_f16, void *dst, cnn_cu_kt_t d,
                                     bool dst_f16, cudaStream_t stream)
{
    unsigned g = blocks_for(total_host(d));
    if (src_f16 && dst_f16)
        k_copy<<<g, kThreads, 0, stream>>>(HP(const __half *, src), s, HP(__half *, dst), d);
    else if (src_f16)
        k_copy<<<g, kThreads, 0, stream>>>(HP(const __half *, src), s, HP(float *, dst), d);
    else if (dst_f16)
        k_copy<<<g, kThreads, 0, stream>>>(HP(const float *, src), s, HP(__half *, dst), d);
    else
        k_copy<<<g, kThreads, 0, stream>>>(HP(const float *, src), s, HP(float *, dst), d);
    return cudaGetLastError();
}

template <typename T>
static cudaError_t zero_pad_t(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int top, int left,
                              cudaStream_t stream)
{
    k_zero_pad<T><<<blocks_for(total_host(d)), kThreads, 0, stream>>>((const T *)src, s, (T *)dst, d, top, left);
    return cudaGetLastError();
}

extern "C" cudaError_t cnn_cu_k_zero_pad(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int top, int left,
                                         bool f16, cudaStream_t stream)
{
    return f16 ? zero_pad_t<__half>(src, s, dst, d, top, left, stream)
               : zero_pad_t<float>(src, s, dst, d, top, left, stream);
}

template <typename T>
static cudaError_t act_t(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int act, float a, float b,
                         cudaStream_t stream)
{
    k_act<T><<<blocks_for(total_host(d)), kThreads, 0, stream>>>((const T *)src, s, (T *)dst, d, act, a, b);
    return cudaGetLastError();
}

extern "C" cudaError_t cnn_cu_k_act(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int act, float alpha,
                                    float beta, bool f16, cudaStream_t stream)
{
    return f16 ? act_t<__half>(src, s, dst, d, act, alpha, beta, stream)
               : act_t<float>(src, s, dst, d, act, alpha, beta, stream);
}

template <typename T>
static cudaError_t bias_act_t(void *y, cnn_cu_kt_t t, const void *bias, const void *res, cnn_cu_kt_t r, int act,
                              float a, float b, cudaStream_t stream)
{
    k_bias_act<T><<<blocks_for(total_host(t)), kThreads, 0, stream>>>((T *)y, t, (const T *)bias, (const T *)res, r,
                                                                       act, a, b);
    return cudaGetLastError();
}

extern "C" cudaError_t cnn_cu_k_bias_act(void *y, cnn_cu_kt_t t, const void *bias, const void *res, cnn_cu_kt_t r,
                                         int act, float alpha, float beta, bool f16, cudaStream_t stream)
{
    return f16 ? bias_act_t<__half>(y, t, bias, res, r, act, alpha, beta, stream)
               : bias_act_t<float>(y, t, bias, res, r, act, alpha, beta, stream);
}

template <typename T>
static cudaError_t add_t(const void *a, cnn_cu_kt_t ta, const void *b, cnn_cu_kt_t tb, void *dst, cnn_cu_kt_t d,
                         int act, float alpha, float beta, cudaStream_t stream)
{
    k_add<T><<<blocks_for(total_host(d)), kThreads, 0, stream>>>((const T *)a, ta, (const T *)b, tb, (T *)dst, d, act,
                                                                  alpha, beta);
    return cudaGetLastError();
}

extern "C" cudaError_t cnn_cu_k_add(const void *a, cnn_cu_kt_t ta, const void *b, cnn_cu_kt_t tb, void *dst,
                                    cnn_cu_kt_t d, int act, float alpha, float beta, bool f16, cudaStream_t stream)
{
    return f16 ? add_t<__half>(a, ta, b, tb, dst, d, act, alpha, beta, stream)
               : add_t<float>(a, ta, b, tb, dst, d, act, alpha, beta, stream);
}

template <typename T>
static cudaError_t affine_t(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, const float *scale,
                            const float *shift, cudaStream_t stream)
{
    k_affine<T><<<blocks_for(total_host(d)), kThreads, 0, stream>>>((const T *)src, s, (T *)dst, d, scale, shift);
    return cudaGetLastError();
}

extern "C" cudaError_t cnn_cu_k_affine(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, const float *scale,
                                       const float *shift, bool f16, cudaStream_t stream)
{
    return f16 ? affine_t<__half>(src, s, dst, d, scale, shift, stream)
               : affine_t<float>(src, s, dst, d, scale, shift, stream);
}

template <typename T>
static cudaError_t prelu_t(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, const float *slopes, int num,
                           cudaStream_t stream)
{
    k_prelu<T><<<blocks_for(total_host(d)), kThreads, 0, stream>>>((const T *)src, s, (T *)dst, d, slopes, num);
    return cudaGetLastError();
}

extern "C" cudaError_t cnn_cu_k_prelu(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, const float *slopes,
                                      int num_slopes, bool f16, cudaStream_t stream)
{
    return f16 ? prelu_t<__half>(src, s, dst, d, slopes, num_slopes, stream)
               : prelu_t<float>(src, s, dst, d, slopes, num_slopes, stream);
}

template <typename T>
static cudaError_t pool_t(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int kh, int kw, int sh, int sw,
                          int top, int left, bool is_max, bool include_pad, cudaStream_t stream)
{
    k_pool<T><<<blocks_for(total_host(d)), kThreads, 0, stream>>>((const T *)src, s, (T *)dst, d, kh, kw, sh, sw, top,
                                                                   left, is_max, include_pad);
    return cudaGetLastError();
}

extern "C" cudaError_t cnn_cu_k_pool(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int kh, int kw, int sh,
                                     int sw, int top, int left, bool is_max, bool include_pad, bool f16,
                                     cudaStream_t stream)
{
    return f16 ? pool_t<__half>(src, s, dst, d, kh, kw, sh, sw, top, left, is_max, include_pad, stream)
               : pool_t<float>(src, s, dst, d, kh, kw, sh, sw, top, left, is_max, include_pad, stream);
}

template <typename T>
static cudaError_t global_avg_t(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, cudaStream_t stream)
{
    k_global_avg<T><<<blocks_for(total_host(d)), kThreads, 0, stream>>>((const T *)src, s, (T *)dst, d);
    return cudaGetLastError();
}

extern "C" cudaError_t cnn_cu_k_global_avg(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, bool f16,
                                           cudaStream_t stream)
{
    return f16 ? global_avg_t<__half>(src, s, dst, d, stream) : global_avg_t<float>(src, s, dst, d, stream);
}

template <typename T>
static cudaError_t softmax_t(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, cudaStream_t stream)
{
    k_softmax<T><<<blocks_for((long long)d.n * d.h * d.w), kThreads, 0, stream>>>((const T *)src, s, (T *)dst, d);
    return cudaGetLastError();
}

extern "C" cudaError_t cnn_cu_k_softmax(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, bool f16,
                                        cudaStream_t stream)
{
    return f16 ? softmax_t<__half>(src, s, dst, d, stream) : softmax_t<float>(src, s, dst, d, stream);
}

template <typename T>
static cudaError_t lrn_t(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int size, float alpha, float beta,
                         float k, cudaStream_t stream)
{
    k_lrn<T><<<blocks_for(total_host(d)), kThreads, 0, stream>>>((const T *)src, s, (T *)dst, d, size, alpha, beta, k);
    return cudaGetLastError();
}

extern "C" cudaError_t cnn_cu_k_lrn(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int size, float alpha,
                                    float beta, float k, bool f16, cudaStream_t stream)
{
    return f16 ? lrn_t<__half>(src, s, dst, d, size, alpha, beta, k, stream)
               : lrn_t<float>(src, s, dst, d, size, alpha, beta, k, stream);
}

template <typename T>
static cudaError_t maxout_t(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int pieces, cudaStream_t stream)
{
    k_maxout<T><<<blocks_for(total_host(d)), kThreads, 0, stream>>>((const T *)src, s, (T *)dst, d, pieces);
    return cudaGetLastError();
}

extern "C" cudaError_t cnn_cu_k_maxout(const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int pieces, bool f16,
                                       cudaStream_t stream)
{
    return f16 ? maxout_t<__half>(src, s, dst, d, pieces, stream) : maxout_t<float>(src, s, dst, d, pieces, stream);
}

extern "C" cudaError_t cnn_cu_k_concat(const cnn_cu_concat_args_t *a, void *dst, cnn_cu_kt_t d, bool f16,
                                       cudaStream_t stream)
{
    if (a->count < 1 || a->count > CNN_CU_CONCAT_MAX)
        return cudaErrorInvalidValue;
    unsigned g = blocks_for(total_host(d));
    if (f16)
        k_concat<__half><<<g, kThreads, 0, stream>>>(*a, (__half *)dst, d);
    else
        k_concat<float><<<g, kThreads, 0, stream>>>(*a, (float *)dst, d);
    return cudaGetLastError();
}
