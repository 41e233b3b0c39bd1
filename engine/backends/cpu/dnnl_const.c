/* Constant tensors (weights, biases, norm parameters) in primitive layouts. */
#include "dnnl_plan.h"

#include <stdlib.h>

/* Reorders `data` (layout src_md) into the fresh constant c; blocks until done. */
static cnn_status_t const_fill(cnn_cpu_build_t *b, cnn_cpu_const_t *c, const dnnl_memory_desc_t *src_md,
                               const float *data)
{
    dnnl_memory_t src = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    cnn_status_t st;
    dnnl_engine_t eng = b->s->engine;
    CNN_DNNL_TRY(b->err, dnnl_memory_create(&c->mem, &c->md, eng, c->data));
    CNN_DNNL_TRY(b->err, dnnl_memory_create(&src, src_md, eng, (void *)(uintptr_t)data)); /* only read */
    CNN_DNNL_TRY(b->err, dnnl_reorder_primitive_desc_create(&pd, src_md, eng, &c->md, eng, NULL));
    CNN_DNNL_TRY(b->err, dnnl_primitive_create(&prim, pd));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, c->mem}};
    CNN_DNNL_TRY(b->err, dnnl_primitive_execute(prim, b->s->stream, 2, args));
    CNN_DNNL_TRY(b->err, dnnl_stream_wait(b->s->stream));
done:
    if (prim)
        dnnl_primitive_destroy(prim);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (src)
        dnnl_memory_destroy(src);
    return st;
}

cnn_status_t cnn_cpu_const_get(cnn_cpu_build_t *b, int key, const dnnl_memory_desc_t *src_md, const float *data,
                               const dnnl_memory_desc_t *md, dnnl_memory_t *out)
{
    for (cnn_cpu_const_t *c = b->s->consts; c; c = c->next) {
        if (c->node == b->node && c->key == key && dnnl_memory_desc_equal(&c->md, md)) {
            *out = c->mem;
            return CNN_OK;
        }
    }
    cnn_cpu_const_t *c = calloc(1, sizeof *c);
    size_t size = dnnl_memory_desc_get_size(md);
    if (!c || !(c->data = aligned_alloc(64, ((size ? size : 1) + 63) / 64 * 64))) {
        free(c);
        return cnn_error_set(b->err, CNN_E_NOMEM, "out of memory for constants");
    }
    c->node = b->node;
    c->key = key;
    c->md = *md;
    cnn_status_t st = const_fill(b, c, src_md, data);
    if (st != CNN_OK) {
        cnn_cpu_consts_free(c);
        return st;
    }
    c->next = b->s->consts;
    b->s->consts = c;
    *out = c->mem;
    return CNN_OK;
}

void cnn_cpu_consts_free(cnn_cpu_const_t *c)
{
    while (c) {
        cnn_cpu_const_t *next = c->next;
        if (c->mem)
            dnnl_memory_destroy(c->mem);
        free(c->data);
        free(c);
        c = next;
    }
}
