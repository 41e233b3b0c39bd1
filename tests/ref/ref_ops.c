/* Naive reference kernels (see ref_ops.h). */
#include "ref_ops.h"

#include <math.h>

int ref_pool_out_size(int in, int k, int s, int pad_a, int pad_b, bool ceil_mode)
{
    long padded = (long)in + pad_a + pad_b;
    if (padded < k || s <= 0)
        return 0;
    long out = (padded - k + (ceil_mode ? s - 1 : 0)) / s + 1;
    if (ceil_mode && (out - 1) * s >= (long)in + pad_a)
        out--;
    return (int)out;
}

void ref_conv2d(const ref_conv_t *p, const float *in, ref_dims_t is, const float *w, const float *bias,
                float *out, ref_dims_t os, int batch)
{
    int icg = is.c / p->groups, ocg = p->out_channels / p->groups;
    for (int b = 0; b < batch; b++)
        for (int oc = 0; oc < os.c; oc++)
            for (int oy = 0; oy < os.h; oy++)
                for (int ox = 0; ox < os.w; ox++) {
                    int grp = oc / ocg;
                    double acc = bias ? bias[oc] : 0.0;
                    for (int ic = 0; ic < icg; ic++)
                        for (int ky = 0; ky < p->kh; ky++)
                            for (int kx = 0; kx < p->kw; kx++) {
                                int y = oy * p->sh - p->pad_top + ky * p->dh;
                                int x = ox * p->sw - p->pad_left + kx * p->dw;
                                if (y < 0 || y >= is.h || x < 0 || x >= is.w)
                                    continue;
                                int c = grp * icg + ic;
                                acc += (double)in[(((size_t)b * is.c + c) * is.h + y) * is.w + x] *
                                       w[(((size_t)oc * icg + ic) * p->kh + ky) * p->kw + kx];
                            }
                    out[(((size_t)b * os.c + oc) * os.h + oy) * os.w + ox] = (float)acc;
                }
}

void ref_pool2d(const ref_pool_t *p, const float *in, ref_dims_t is, float *out, ref_dims_t os, int batch)
{
    for (long bc = 0; bc < (long)batch * is.c; bc++)
        for (int oy = 0; oy < os.h; oy++)
            for (int ox = 0; ox < os.w; ox++) {
                int y0 = oy * p->sh - p->pad_top, x0 = ox * p->sw - p->pad_left;
                int y1 = y0 + p->kh < is.h + p->pad_bottom ? y0 + p->kh : is.h + p->pad_bottom;
                int x1 = x0 + p->kw < is.w + p->pad_right ? x0 + p->kw : is.w + p->pad_right;
                long pool_size = (long)(y1 - y0) * (x1 - x0);
                double sum = 0.0;
                float mx = -INFINITY;
                long cnt = 0;
                for (int y = y0 < 0 ? 0 : y0; y < (y1 < is.h ? y1 : is.h); y++)
                    for (int x = x0 < 0 ? 0 : x0; x < (x1 < is.w ? x1 : is.w); x++) {
                        float v = in[((size_t)bc * is.h + y) * is.w + x];
                        sum += v;
                        mx = v > mx ? v : mx;
                        cnt++;
                    }
                float r = p->max                 ? mx
                          : p->count_include_pad ? (float)(sum / (double)pool_size)
                                                 : (float)(sum / (double)cnt);
                out[((size_t)bc * os.h + oy) * os.w + ox] = r;
            }
}

void ref_global_avg_pool(const float *in, ref_dims_t is, float *out, int batch)
{
    long hw = (long)is.h * is.w;
    for (long bc = 0; bc < (long)batch * is.c; bc++) {
        double s = 0.0;
        for (long k = 0; k < hw; k++)
            s += in[bc * hw + k];
        out[bc] = (float)(s / (double)hw);
    }
}

void ref_dense(const float *in, int in_features, const float *w, const float *bias, int out_features, float *out,
               int batch)
{
    for (int b = 0; b < batch; b++)
        for (int j = 0; j < out_features; j++) {
            double acc = bias ? bias[j] : 0.0;
            for (int k = 0; k < in_features; k++)
                acc += (double)w[(size_t)j * in_features + k] * in[(size_t)b * in_features + k];
            out[(size_t)b * out_features + j] = (float)acc;
        }
}

void ref_lrn(int size, float alpha, float beta, float k, const float *in, ref_dims_t s, float *out, int batch)
{
    long hw = (long)s.h * s.w;
    for (int b = 0; b < batch; b++)
        for (int c = 0; c < s.c; c++)
            for (long i = 0; i < hw; i++) {
                double sq = 0.0;
                for (int j = c - size / 2; j <= c + (size - 1) / 2; j++)
                    if (j >= 0 && j < s.c) {
                        double v = in[((long)b * s.c + j) * hw + i];
                        sq += v * v;
                    }
                double div = pow((double)k + (double)alpha / size * sq, (double)beta);
                out[((long)b * s.c + c) * hw + i] = (float)(in[((long)b * s.c + c) * hw + i] / div);
            }
}

void ref_softmax_channels(const float *in, ref_dims_t s, float *out, int batch)
{
    long hw = (long)s.h * s.w;
    for (int b = 0; b < batch; b++)
        for (long i = 0; i < hw; i++) {
            const float *x = in + (long)b * s.c * hw + i;
            float *y = out + (long)b * s.c * hw + i;
            double mx = -INFINITY, sum = 0.0;
            for (int c = 0; c < s.c; c++)
                mx = fmax(mx, x[c * hw]);
            for (int c = 0; c < s.c; c++)
                sum += exp(x[c * hw] - mx);
            for (int c = 0; c < s.c; c++)
                y[c * hw] = (float)(exp(x[c * hw] - mx) / sum);
        }
}

void ref_batch_norm(const float *in, ref_dims_t s, const float *gamma, const float *beta, const float *mean,
                    const float *var, float eps, float *out, int batch)
{
    long hw = (long)s.h * s.w;
    for (int b = 0; b < batch; b++)
        for (int c = 0; c < s.c; c++) {
            double scale = gamma[c] / sqrt((double)var[c] + eps);
            for (long i = 0; i < hw; i++) {
                long k = ((long)b * s.c + c) * hw + i;
                out[k] = (float)((in[k] - (double)mean[c]) * scale + beta[c]);
            }
        }
}

void ref_prelu(const float *in, ref_dims_t s, const float *slopes, int num_slopes, float *out, int batch)
{
    long hw = (long)s.h * s.w;
    for (int b = 0; b < batch; b++)
        for (int c = 0; c < s.c; c++) {
            float slope = slopes[num_slopes == 1 ? 0 : c];
            for (long i = 0; i < hw; i++) {
                long k = ((long)b * s.c + c) * hw + i;
                out[k] = in[k] > 0 ? in[k] : slope * in[k];
            }
        }
}

void ref_maxout(const float *in, ref_dims_t os, int pieces, float *out, int batch)
{
    long hw = (long)os.h * os.w;
    for (int b = 0; b < batch; b++)
        for (int c = 0; c < os.c; c++)
            for (long i = 0; i < hw; i++) {
                float m = -INFINITY;
                for (int p = 0; p < pieces; p++)
                    m = fmaxf(m, in[(((long)b * os.c + c) * pieces + p) * hw + i]);
                out[((long)b * os.c + c) * hw + i] = m;
            }
}

void ref_zero_pad(const float *in, ref_dims_t is, int top, int left, float *out, ref_dims_t os, int batch)
{
    for (long bc = 0; bc < (long)batch * is.c; bc++) {
        for (long k = 0; k < (long)os.h * os.w; k++)
            out[bc * os.h * os.w + k] = 0.0f;
        for (int y = 0; y < is.h; y++)
            for (int x = 0; x < is.w; x++)
                out[(bc * os.h + y + top) * os.w + x + left] = in[(bc * is.h + y) * is.w + x];
    }
}
