/* Kernels for ops oneDNN has no primitive for, on plain fp32 NCHW arrays. */
#include "dnnl_plan.h"

#include <float.h>
#include <string.h>

void cnn_cpu_loop_maxout(const cnn_cpu_loop_t *l, const float *in, float *out)
{
    int pieces = l->node->p.maxout.pieces;
    long planes = (long)l->batch * l->out.c;
    long spatial = (long)l->out.h * l->out.w;
#pragma omp parallel for
    for (long p = 0; p < planes; p++) {
        /* Output channel c of image n reads input channels c*pieces ... */
        const float *src = in + p * pieces * spatial;
        float *dst = out + p * spatial;
        for (long s = 0; s < spatial; s++) {
            float m = src[s];
            for (int k = 1; k < pieces; k++)
                m = src[k * spatial + s] > m ? src[k * spatial + s] : m;
            dst[s] = m;
        }
    }
}

void cnn_cpu_loop_zero_pad(const cnn_cpu_loop_t *l, const float *in, float *out)
{
    const cnn_pad_t *pad = &l->node->p.zero_pad;
    long planes = (long)l->batch * l->in.c;
    int ih = l->in.h, iw = l->in.w, oh = l->out.h, ow = l->out.w;
#pragma omp parallel for
    for (long p = 0; p < planes; p++) {
        float *dst = out + p * oh * ow;
        const float *src = in + p * ih * iw;
        memset(dst, 0, (size_t)oh * (size_t)ow * sizeof *dst);
        for (int y = 0; y < ih; y++)
            memcpy(dst + (long)(y + pad->top) * ow + pad->left, src + (long)y * iw, (size_t)iw * sizeof *dst);
    }
}

void cnn_cpu_loop_avg_pool(const cnn_cpu_loop_t *l, const float *in, float *out)
{
    const cnn_pool_params_t *pp = &l->node->p.pool;
    long planes = (long)l->batch * l->in.c;
    int ih = l->in.h, iw = l->in.w, oh = l->out.h, ow = l->out.w;
    /* The window is clipped to the user's padding: ceil_mode's extra bottom
     * rows and right columns are not counted. */
    int pt = pp->pad.top, pl = pp->pad.left;
    int pb = pp->pad.bottom - pp->extra_h, pr = pp->pad.right - pp->extra_w;
#pragma omp parallel for
    for (long p = 0; p < planes; p++) {
        const float *src = in + p * ih * iw;
        float *dst = out + p * oh * ow;
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                int y0 = oy * pp->sh - pt, x0 = ox * pp->sw - pl;
                int y1 = y0 + pp->kh < ih + pb ? y0 + pp->kh : ih + pb;
                int x1 = x0 + pp->kw < iw + pr ? x0 + pp->kw : iw + pr;
                int count = (y1 - y0) * (x1 - x0);
                y0 = y0 > 0 ? y0 : 0;
                x0 = x0 > 0 ? x0 : 0;
                y1 = y1 < ih ? y1 : ih;
                x1 = x1 < iw ? x1 : iw;
                float sum = 0.0f;
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++)
                        sum += src[y * iw + x];
                dst[oy * ow + ox] = count > 0 ? sum / (float)count : 0.0f;
            }
        }
    }
}
