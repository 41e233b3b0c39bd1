/* Weights uploaded once per (graph, device, storage format) and shared by
 * every session using them: a reference-counted list under a mutex. fp32 and
 * tf32 sessions share one fp32 image; fp16 sessions share the fp16 one. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_session.h"

static pthread_mutex_t weights_lock = PTHREAD_MUTEX_INITIALIZER;
static cnn_cu_weights_t *weights_list;

/* Packs and uploads g's constants; the caller holds weights_lock. */
static cnn_status_t upload(cnn_cu_weights_t *w, size_t guard_bytes, cnn_error_t *err)
{
    cnn_status_t st = CNN_OK;
    void *host = NULL;
    if (w->layout_info.total == 0)
        return CNN_OK;
    if (!(host = malloc(w->layout_info.total)))
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory packing %zu bytes of weights", w->layout_info.total);
    cnn_cu_wlayout_pack(w->g, &w->layout_info, host);
    CNN_CU_TRY(err, cudaMalloc((void **)&w->dev, w->layout_info.total + guard_bytes));
    CNN_CU_TRY(err, cudaMemcpy(w->dev, host, w->layout_info.total, cudaMemcpyHostToDevice));
    if (guard_bytes)
        CNN_CU_TRY(err, cudaMemset(w->dev + w->layout_info.total, 0xA5, guard_bytes));
    w->guard = guard_bytes;
done:
    free(host);
    return st;
}

cnn_status_t cnn_cu_weights_acquire(const cnn_graph_t *g, int device, const cnn_cu_format_t *fmt, size_t guard_bytes,
                                    cnn_cu_weights_t **out, cnn_error_t *err)
{
    cnn_status_t st = CNN_OK;
    *out = NULL;
    pthread_mutex_lock(&weights_lock);
    for (cnn_cu_weights_t *w = weights_list; w; w = w->next)
        if (w->g == g && w->device == device && w->dtype == fmt->dtype && w->layout == fmt->layout) {
            w->refs++;
            *out = w;
            goto unlock;
        }
    cnn_cu_weights_t *w = calloc(1, sizeof *w);
    if (!w) {
        st = cnn_error_set(err, CNN_E_NOMEM, "out of memory");
        goto unlock;
    }
    *w = (cnn_cu_weights_t){.g = g, .device = device, .dtype = fmt->dtype, .layout = fmt->layout, .refs = 1};
    if ((st = cnn_cu_wlayout_build(g, fmt, &w->layout_info, err)) == CNN_OK)
        st = upload(w, guard_bytes, err);
    if (st != CNN_OK) {
        if (w->dev)
            cudaFree(w->dev);
        cnn_cu_wlayout_free(&w->layout_info);
        free(w);
        goto unlock;
    }
    w->next = weights_list;
    weights_list = w;
    *out = w;
unlock:
    pthread_mutex_unlock(&weights_lock);
    return st;
}

void cnn_cu_weights_release(cnn_cu_weights_t *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&weights_lock);
    if (--w->refs == 0) {
        for (cnn_cu_weights_t **p = &weights_list; *p; p = &(*p)->next)
            if (*p == w) {
                *p = w->next;
                break;
            }
        int prev = -1;
        cudaGetDevice(&prev);
        cudaSetDevice(w->device);
        cudaFree(w->dev);
        if (prev >= 0)
            cudaSetDevice(prev);
        cnn_cu_wlayout_free(&w->layout_info);
        free(w);
    }
    pthread_mutex_unlock(&weights_lock);
}
