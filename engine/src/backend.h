/* Backend interface: a table of function pointers each device fills in with
 * designated initializers. Graph code only talks to backends through this.
 * Optional slots may be NULL. */
#ifndef CNN_BACKEND_H
#define CNN_BACKEND_H

#include "graph.h"

typedef struct cnn_backend_session cnn_backend_session_t;

/* A feature-map copy for the backend: graph node `node` (executed, not
 * fused away), images [image, image + count), plain fp32 into data. */
typedef struct cnn_backend_fetch {
    int node;
    int image, count;
    float *data;
} cnn_backend_fetch_t;

typedef struct cnn_backend_i {
    const char *name;
    cnn_device_kind_t device;

    /* True when the backend can execute node `n` (after rewrites) at `precision`. */
    bool (*supports_op)(const cnn_graph_t *g, const cnn_node_t *n, cnn_precision_t precision);

    /* Optional: CNN_OK when this machine can run `precision`, else
     * CNN_E_UNSUPPORTED with the reason. NULL: every precision is available. */
    cnn_status_t (*check_precision)(cnn_precision_t precision, cnn_error_t *err);

    /* Optional: CNN_OK when device `index` of this kind can run sessions here,
     * else a status with the reason. NULL: only index 0 exists, always. */
    cnn_status_t (*device_check)(int index, cnn_error_t *err);

    /* Prepares to run the rewritten graph `g` (weights bound) with `opts`.
     * `g` outlives the session. Primitives for a batch size may be created lazily. */
    cnn_status_t (*session_create)(const cnn_graph_t *g, const cnn_session_options_t *opts,
                                   cnn_backend_session_t **out, cnn_error_t *err);

    /* input: batch×C×H×W fp32 NCHW; output: batch×numel(graph output) fp32;
     * fetches (sorted by node, validated by the caller; n may be 0) are
     * copied out as soon as their node's value is computed. */
    cnn_status_t (*session_run)(cnn_backend_session_t *s, const float *input, int batch,
                                float *output, const cnn_backend_fetch_t *fetches, int num_fetches,
                                cnn_error_t *err);

    /* Optional: what computes node `node` (executed, not fused away) in the
     * plan for `batch` images, building that plan if needed. */
    cnn_status_t (*layer_impl)(cnn_backend_session_t *s, int batch, int node, cnn_layer_impl_t *out,
                               cnn_error_t *err);

    void (*session_free)(cnn_backend_session_t *s);
} cnn_backend_i;

extern const cnn_backend_i cnn_backend_cpu;
#ifdef CNN_HAVE_CUDA
/* The CUDA backend's table, from its module (libcnn_cuda.so) loaded on the
 * first call (engine/backends/cuda/loader/cuda_module.c), or NULL with err
 * set when the module cannot be loaded. */
const cnn_backend_i *cnn_cuda_backend(cnn_error_t *err);
#endif

#endif
