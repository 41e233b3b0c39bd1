/* The CUDA backend's own kernels, one output element at a time, written once
 * for both compilers: nvcc builds them into the kernels of cuda_kernels.cu
 * (each kernel is a grid-stride loop calling one of these), and plain C
 * builds them for the host, where the unit tests run whole plans through
 * them on the CPU (tests/unit/test_cuda_emulated.c). No CUDA dependency.
 *
 * Tensors are described by cnn_cu_kt_t: logical n, c, h, w, physical
 * channels cp and element strides; `nhwc` gives the memory order of the
 * output walk. Each element function computes physical element i of its
 * output (in memory order) and writes zero into padded channels (c >= c),
 * so padding stays finite. `f16` selects fp16 storage for activations (fp32
 * otherwise); per-channel parameters (scale, shift, slopes) are fp32. */
#ifndef CNN_CUDA_ELEM_H
#define CNN_CUDA_ELEM_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __CUDACC__
#include <cuda_fp16.h>
#define CNN_CU_HD static __host__ __device__ __forceinline__
#else
#include "cuda_pack.h"
#define CNN_CU_HD static inline
#endif

typedef struct cnn_cu_kt {
    int n, c, h, w, cp;
    long long sn, sc, sh, sw;
    int nhwc;
} cnn_cu_kt_t;

/* Activation codes (= cnn_act_t). */
enum { CNN_CU_ACT_NONE = 0, CNN_CU_ACT_RELU, CNN_CU_ACT_LEAKY_RELU, CNN_CU_ACT_ELU, CNN_CU_ACT_SIGMOID,
       CNN_CU_ACT_TANH, CNN_CU_ACT_CLIP };

#define CNN_CU_CONCAT_MAX 8
/* Concat along channels: inputs [0, count) start at output channels
 * offsets[i]; a launch writes output channels [offsets[0], offsets[count-1]
 * + s[count-1].c) and, with zero_tail, every channel >= total_c. */
typedef struct cnn_cu_concat_args {
    const void *src[CNN_CU_CONCAT_MAX];
    cnn_cu_kt_t s[CNN_CU_CONCAT_MAX];
    int offsets[CNN_CU_CONCAT_MAX];
    int count;
    int total_c;
    bool zero_tail;
} cnn_cu_concat_args_t;

typedef struct cnn_cu_pos {
    int n, c, h, w;
} cnn_cu_pos_t;

CNN_CU_HD float cnn_cu_ld(const void *p, long long i, bool f16)
{
#ifdef __CUDACC__
    return f16 ? __half2float(((const __half *)p)[i]) : ((const float *)p)[i];
#else
    return f16 ? cnn_cu_f16_value(((const uint16_t *)p)[i]) : ((const float *)p)[i];
#endif
}

CNN_CU_HD void cnn_cu_st(void *p, long long i, float v, bool f16)
{
#ifdef __CUDACC__
    if (f16)
        ((__half *)p)[i] = __float2half_rn(v);
    else
        ((float *)p)[i] = v;
#else
    if (f16)
        ((uint16_t *)p)[i] = cnn_cu_f16_bits(v);
    else
        ((float *)p)[i] = v;
#endif
}

CNN_CU_HD int cnn_cu_imin(int a, int b) { return a < b ? a : b; }
CNN_CU_HD int cnn_cu_imax(int a, int b) { return a > b ? a : b; }

/* Physical elements of a packed tensor (its output walk). */
CNN_CU_HD long long cnn_cu_total(cnn_cu_kt_t t)
{
    return (long long)t.n * t.cp * t.h * t.w;
}

/* Logical position of physical element i of packed tensor t. */
CNN_CU_HD cnn_cu_pos_t cnn_cu_pos(cnn_cu_kt_t t, long long i)
{
    cnn_cu_pos_t p;
    long long r;
    if (t.nhwc) {
        p.c = (int)(i % t.cp);
        r = i / t.cp;
        p.w = (int)(r % t.w);
        r /= t.w;
        p.h = (int)(r % t.h);
        p.n = (int)(r / t.h);
    } else {
        p.w = (int)(i % t.w);
        r = i / t.w;
        p.h = (int)(r % t.h);
        r /= t.h;
        p.c = (int)(r % t.cp);
        p.n = (int)(r / t.cp);
    }
    return p;
}

CNN_CU_HD long long cnn_cu_off(cnn_cu_kt_t t, int n, int c, int h, int w)
{
    return n * t.sn + c * t.sc + h * t.sh + w * t.sw;
}

CNN_CU_HD float cnn_cu_act(float x, int act, float a, float b)
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

/* dst = src (same logical shape), with a dtype change. */
CNN_CU_HD void cnn_cu_e_copy(long long i, const void *src, cnn_cu_kt_t s, bool sf16, void *dst, cnn_cu_kt_t d,
                             bool df16)
{
    cnn_cu_pos_t p = cnn_cu_pos(d, i);
    cnn_cu_st(dst, i, p.c < d.c ? cnn_cu_ld(src, cnn_cu_off(s, p.n, p.c, p.h, p.w), sf16) : 0.f, df16);
}

/* dst[n,c,y,x] = src[n,c,y-top,x-left] inside src, else 0. */
CNN_CU_HD void cnn_cu_e_zero_pad(long long i, const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int top,
                                 int left, bool f16)
{
    cnn_cu_pos_t p = cnn_cu_pos(d, i);
    int y = p.h - top, x = p.w - left;
    bool inside = p.c < d.c && y >= 0 && y < s.h && x >= 0 && x < s.w;
    cnn_cu_st(dst, i, inside ? cnn_cu_ld(src, cnn_cu_off(s, p.n, p.c, y, x), f16) : 0.f, f16);
}

/* dst = act(src). */
CNN_CU_HD void cnn_cu_e_act(long long i, const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int act, float a,
                            float b, bool f16)
{
    cnn_cu_pos_t p = cnn_cu_pos(d, i);
    float v = p.c < d.c ? cnn_cu_act(cnn_cu_ld(src, cnn_cu_off(s, p.n, p.c, p.h, p.w), f16), act, a, b) : 0.f;
    cnn_cu_st(dst, i, v, f16);
}

/* In place: y = act(y + bias[c] + res) (res may be NULL); bias in the activations' dtype. */
CNN_CU_HD void cnn_cu_e_bias_act(long long i, void *y, cnn_cu_kt_t t, const void *bias, const void *res,
                                 cnn_cu_kt_t r, int act, float a, float b, bool f16)
{
    cnn_cu_pos_t p = cnn_cu_pos(t, i);
    float v = 0.f;
    if (p.c < t.c) {
        v = cnn_cu_ld(y, i, f16) + cnn_cu_ld(bias, p.c, f16);
        if (res)
            v += cnn_cu_ld(res, cnn_cu_off(r, p.n, p.c, p.h, p.w), f16);
        v = cnn_cu_act(v, act, a, b);
    }
    cnn_cu_st(y, i, v, f16);
}

/* dst = act(x + y). */
CNN_CU_HD void cnn_cu_e_add(long long i, const void *x, cnn_cu_kt_t tx, const void *y, cnn_cu_kt_t ty, void *dst,
                            cnn_cu_kt_t d, int act, float a, float b, bool f16)
{
    cnn_cu_pos_t p = cnn_cu_pos(d, i);
    float v = 0.f;
    if (p.c < d.c)
        v = cnn_cu_act(cnn_cu_ld(x, cnn_cu_off(tx, p.n, p.c, p.h, p.w), f16) +
                           cnn_cu_ld(y, cnn_cu_off(ty, p.n, p.c, p.h, p.w), f16), act, a, b);
    cnn_cu_st(dst, i, v, f16);
}

/* dst = src * scale[c] + shift[c]. */
CNN_CU_HD void cnn_cu_e_affine(long long i, const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d,
                               const float *scale, const float *shift, bool f16)
{
    cnn_cu_pos_t p = cnn_cu_pos(d, i);
    float v = p.c < d.c ? cnn_cu_ld(src, cnn_cu_off(s, p.n, p.c, p.h, p.w), f16) * scale[p.c] + shift[p.c] : 0.f;
    cnn_cu_st(dst, i, v, f16);
}

/* dst = src > 0 ? src : src * slope (slopes[0] when num_slopes == 1, else slopes[c]). */
CNN_CU_HD void cnn_cu_e_prelu(long long i, const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d,
                              const float *slopes, int num_slopes, bool f16)
{
    cnn_cu_pos_t p = cnn_cu_pos(d, i);
    float v = 0.f;
    if (p.c < d.c) {
        v = cnn_cu_ld(src, cnn_cu_off(s, p.n, p.c, p.h, p.w), f16);
        if (v < 0.f)
            v *= slopes[num_slopes == 1 ? 0 : p.c];
    }
    cnn_cu_st(dst, i, v, f16);
}

/* Max or average pooling with the user's padding top, left, bottom, right
 * (without the extra area ceil_mode adds; the output size follows from d).
 * Average: divisor = window clipped to the input (include_pad false) or to
 * the input plus the user's padding (include_pad true: PyTorch's divisor). */
CNN_CU_HD void cnn_cu_e_pool(long long i, const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int kh, int kw,
                             int sh, int sw, int top, int left, int bottom, int right, bool is_max, bool include_pad,
                             bool f16)
{
    cnn_cu_pos_t p = cnn_cu_pos(d, i);
    float v = 0.f;
    if (p.c < d.c) {
        int y0 = p.h * sh - top, x0 = p.w * sw - left;
        int y1 = cnn_cu_imin(y0 + kh, s.h + bottom), x1 = cnn_cu_imin(x0 + kw, s.w + right);
        int ya = cnn_cu_imax(y0, 0), xa = cnn_cu_imax(x0, 0);
        int yb = cnn_cu_imin(y0 + kh, s.h), xb = cnn_cu_imin(x0 + kw, s.w);
        int count = include_pad ? (y1 - y0) * (x1 - x0) : (yb - ya) * (xb - xa);
        float acc = is_max ? -INFINITY : 0.f;
        for (int y = ya; y < yb; y++)
            for (int x = xa; x < xb; x++) {
                float e = cnn_cu_ld(src, cnn_cu_off(s, p.n, p.c, y, x), f16);
                acc = is_max ? fmaxf(acc, e) : acc + e;
            }
        if (is_max)
            v = ya < yb && xa < xb ? acc : 0.f;
        else
            v = count > 0 ? acc / (float)count : 0.f;
    }
    cnn_cu_st(dst, i, v, f16);
}

/* dst[n,c] = mean over h, w of src[n,c] (dst is n × c × 1 × 1). */
CNN_CU_HD void cnn_cu_e_global_avg(long long i, const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, bool f16)
{
    cnn_cu_pos_t p = cnn_cu_pos(d, i);
    float acc = 0.f;
    if (p.c < d.c) {
        for (int y = 0; y < s.h; y++)
            for (int x = 0; x < s.w; x++)
                acc += cnn_cu_ld(src, cnn_cu_off(s, p.n, p.c, y, x), f16);
        acc /= (float)(s.h * s.w);
    }
    cnn_cu_st(dst, i, acc, f16);
}

/* Softmax over channels at position j of n × h × w; writes all cp channels there. */
CNN_CU_HD void cnn_cu_e_softmax(long long j, const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, bool f16)
{
    int w = (int)(j % d.w), h = (int)((j / d.w) % d.h), n = (int)(j / ((long long)d.w * d.h));
    float m = -INFINITY, sum = 0.f;
    for (int c = 0; c < d.c; c++)
        m = fmaxf(m, cnn_cu_ld(src, cnn_cu_off(s, n, c, h, w), f16));
    for (int c = 0; c < d.c; c++)
        sum += expf(cnn_cu_ld(src, cnn_cu_off(s, n, c, h, w), f16) - m);
    for (int c = 0; c < d.cp; c++)
        cnn_cu_st(dst, cnn_cu_off(d, n, c, h, w),
                  c < d.c ? expf(cnn_cu_ld(src, cnn_cu_off(s, n, c, h, w), f16) - m) / sum : 0.f, f16);
}

/* Cross-channel LRN: y = x / (k + alpha/size * sum of x^2 over the odd size-window)^beta. */
CNN_CU_HD void cnn_cu_e_lrn(long long i, const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int size,
                            float alpha, float beta, float k, bool f16)
{
    cnn_cu_pos_t p = cnn_cu_pos(d, i);
    float v = 0.f;
    if (p.c < d.c) {
        int c0 = cnn_cu_imax(p.c - size / 2, 0), c1 = cnn_cu_imin(p.c + size / 2, d.c - 1);
        float sq = 0.f;
        for (int c = c0; c <= c1; c++) {
            float e = cnn_cu_ld(src, cnn_cu_off(s, p.n, c, p.h, p.w), f16);
            sq += e * e;
        }
        v = cnn_cu_ld(src, cnn_cu_off(s, p.n, p.c, p.h, p.w), f16) / powf(k + alpha / (float)size * sq, beta);
    }
    cnn_cu_st(dst, i, v, f16);
}

/* Maxout: dst[c] = max over k < pieces of src[c * pieces + k]. */
CNN_CU_HD void cnn_cu_e_maxout(long long i, const void *src, cnn_cu_kt_t s, void *dst, cnn_cu_kt_t d, int pieces,
                               bool f16)
{
    cnn_cu_pos_t p = cnn_cu_pos(d, i);
    float v = 0.f;
    if (p.c < d.c) {
        v = cnn_cu_ld(src, cnn_cu_off(s, p.n, p.c * pieces, p.h, p.w), f16);
        for (int k = 1; k < pieces; k++)
            v = fmaxf(v, cnn_cu_ld(src, cnn_cu_off(s, p.n, p.c * pieces + k, p.h, p.w), f16));
    }
    cnn_cu_st(dst, i, v, f16);
}

/* One output element of a concat launch (see cnn_cu_concat_args_t). */
CNN_CU_HD void cnn_cu_e_concat(long long i, const cnn_cu_concat_args_t *a, void *dst, cnn_cu_kt_t d, bool f16)
{
    cnn_cu_pos_t p = cnn_cu_pos(d, i);
    int lo = a->offsets[0], hi = a->offsets[a->count - 1] + a->s[a->count - 1].c;
    if (p.c >= a->total_c) {
        if (a->zero_tail)
            cnn_cu_st(dst, i, 0.f, f16);
        return;
    }
    if (p.c < lo || p.c >= hi)
        return;
    int k = 0;
    while (k + 1 < a->count && p.c >= a->offsets[k + 1])
        k++;
    cnn_cu_st(dst, i, cnn_cu_ld(a->src[k], cnn_cu_off(a->s[k], p.n, p.c - a->offsets[k], p.h, p.w), f16), f16);
}

#endif
