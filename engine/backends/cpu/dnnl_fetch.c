/* Feature-map copies: a reorder from a value's internal layout (blocked,
 * bf16, ...) into the caller's plain fp32 array, for some images of the
 * batch, run between two plan steps. */
#include "dnnl_plan.h"

#include <stdlib.h>
#include <string.h>

/* Reorders src_md over `src` into dst_md over `dst` on the session stream
 * and waits for it. */
static cnn_status_t reorder_now(cnn_backend_session_t *s, const dnnl_memory_desc_t *src_md, void *src,
                                const dnnl_memory_desc_t *dst_md, void *dst, cnn_error_t *err)
{
    cnn_status_t st;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_memory_t from = NULL, to = NULL;
    CNN_DNNL_TRY(err, dnnl_reorder_primitive_desc_create(&pd, src_md, s->engine, dst_md, s->engine, NULL));
    CNN_DNNL_TRY(err, dnnl_primitive_create(&prim, pd));
    CNN_DNNL_TRY(err, dnnl_memory_create(&from, src_md, s->engine, src));
    CNN_DNNL_TRY(err, dnnl_memory_create(&to, dst_md, s->engine, dst));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    CNN_DNNL_TRY(err, dnnl_primitive_execute(prim, s->stream, 2, args));
    CNN_DNNL_TRY(err, dnnl_stream_wait(s->stream));
done:
    if (from)
        dnnl_memory_destroy(from);
    if (to)
        dnnl_memory_destroy(to);
    if (prim)
        dnnl_primitive_destroy(prim);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    return st;
}

cnn_status_t cnn_cpu_fetch_copy(cnn_backend_session_t *s, cnn_cpu_plan_t *p, const cnn_backend_fetch_t *f,
                                cnn_error_t *err)
{
    int v = p->node_view[f->node];
    if (v < 0)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "node %d has no value to copy", f->node);
    const dnnl_memory_desc_t *md = &p->views[v].md;
    void *base = NULL;
    cnn_status_t st = CNN_DNNL_CHECK(err, dnnl_memory_get_data_handle(p->views[v].mem, &base));
    if (st != CNN_OK)
        return st;
    dnnl_dim_t dims[DNNL_MAX_NDIMS], offsets[DNNL_MAX_NDIMS] = {0};
    memcpy(dims, md->dims, sizeof dims);
    dims[0] = f->count;
    offsets[0] = f->image;
    dnnl_memory_desc_t sub, dst = cnn_dnnl_md_plain(md->ndims, dims, dnnl_f32);
    if (dnnl_memory_desc_init_submemory(&sub, md, dims, offsets) == dnnl_success)
        return reorder_now(s, &sub, base, &dst, f->data, err);
    /* A layout that blocks the batch dimension: the whole batch, then a slice. */
    dnnl_memory_desc_t all = cnn_dnnl_md_plain(md->ndims, md->dims, dnnl_f32);
    size_t per_image = dnnl_memory_desc_get_size(&dst) / (size_t)f->count;
    float *tmp = malloc(dnnl_memory_desc_get_size(&all));
    if (!tmp)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory copying a feature map");
    st = reorder_now(s, md, base, &all, tmp, err);
    if (st == CNN_OK)
        memcpy(f->data, (char *)tmp + (size_t)f->image * per_image, per_image * (size_t)f->count);
    free(tmp);
    return st;
}
