/* Naive reference kernels shared by the unit tests (test_ops_cpu) and the
 * graph fuzzer (tests/fuzz/graph_ref.c): plain C loops over plain NCHW fp32
 * arrays, accumulating in double. They know nothing of the engine: each
 * takes its parameters as plain values, with PyTorch's semantics.
 */
#ifndef CNN_REF_OPS_H
#define CNN_REF_OPS_H

#include <stdbool.h>
#include <stddef.h>

/* Per-image shape of a tensor: C×H×W (a flat vector of F values is F×1×1). */
typedef struct ref_dims {
    int c, h, w;
} ref_dims_t;

typedef struct ref_conv {
    int out_channels, kh, kw, sh, sw, dh, dw, groups;
    int pad_top, pad_left; /* the far side needs no padding value: out-of-range taps read zero */
} ref_conv_t;

typedef struct ref_pool {
    bool max; /* else average */
    int kh, kw, sh, sw;
    int pad_top, pad_left, pad_bottom, pad_right; /* as the user wrote them (no ceil_mode extra) */
    bool count_include_pad;
} ref_pool_t;

/* PyTorch's pooling output length along one axis (pooling_output_shape_pad_lr,
 * dilation 1): floor or ceil of (in + pad_a + pad_b - k) / s, plus one; with
 * ceil_mode the last window must start inside the input or the leading
 * padding. Returns 0 when the window does not fit. */
int ref_pool_out_size(int in, int k, int s, int pad_a, int pad_b, bool ceil_mode);

/* Convolution with groups, dilation and zero padding; out is os (caller-computed).
 * w is [out, in/groups, kh, kw]; bias may be NULL. */
void ref_conv2d(const ref_conv_t *p, const float *in, ref_dims_t is, const float *w, const float *bias,
                float *out, ref_dims_t os, int batch);

/* Max or average pooling into os (caller-computed). Max: over the window's
 * real pixels. Average: sum of real pixels divided by the real-pixel count
 * (count_include_pad false) or by the window clipped to the user-padded
 * input [-pad_top, h + pad_bottom) × [-pad_left, w + pad_right), which is
 * PyTorch's divisor (it excludes the extra area ceil_mode adds). */
void ref_pool2d(const ref_pool_t *p, const float *in, ref_dims_t is, float *out, ref_dims_t os, int batch);

/* Mean over H×W per channel: out is batch × c. */
void ref_global_avg_pool(const float *in, ref_dims_t is, float *out, int batch);

/* out[b][j] = bias[j] + sum_k w[j][k] in[b][k]; w is [out_features, in_features], bias may be NULL. */
void ref_dense(const float *in, int in_features, const float *w, const float *bias, int out_features, float *out,
               int batch);

/* PyTorch LocalResponseNorm across channels (any size): x / (k + alpha/size ·
 * sum of squares over channels [c - size/2, c + (size-1)/2])^beta. */
void ref_lrn(int size, float alpha, float beta, float k, const float *in, ref_dims_t s, float *out, int batch);

/* Softmax over the c channels at each of the h×w positions. */
void ref_softmax_channels(const float *in, ref_dims_t s, float *out, int batch);

/* Batch norm with running statistics, one (gamma, beta, mean, var) per channel. */
void ref_batch_norm(const float *in, ref_dims_t s, const float *gamma, const float *beta, const float *mean,
                    const float *var, float eps, float *out, int batch);

/* PReLU: x > 0 ? x : slope·x, with one slope (num_slopes 1) or one per channel. */
void ref_prelu(const float *in, ref_dims_t s, const float *slopes, int num_slopes, float *out, int batch);

/* Maxout: output channel c is the max of input channels c·pieces ... c·pieces + pieces - 1;
 * `os` is the output shape (os.c = input channels / pieces). */
void ref_maxout(const float *in, ref_dims_t os, int pieces, float *out, int batch);

/* Zero padding by [top, left, bottom, right] into os = is grown by the pads. */
void ref_zero_pad(const float *in, ref_dims_t is, int top, int left, float *out, ref_dims_t os, int batch);

#endif
