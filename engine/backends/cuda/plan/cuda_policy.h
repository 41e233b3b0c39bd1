/* Run-time decisions of the CUDA backend that need no GPU to test: the
 * convolution algorithm cache, CUDA graph capture and the workspace bound. */
#ifndef CNN_CUDA_POLICY_H
#define CNN_CUDA_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cuda_plan.h"

/* Everything cuDNN's choice of a forward-convolution algorithm depends on.
 * Two convolutions with equal keys (other layers, other sessions of the
 * same device) share the benchmarked choice. */
typedef struct cnn_cu_conv_key {
    int32_t n, c, h, w;       /* input tensor (physical channels) */
    int32_t k, r, s;          /* output channels (physical), filter size */
    int32_t pad_h, pad_w, stride_h, stride_w, dil_h, dil_w, groups;
    int32_t dtype, layout, math;
    int32_t fused;            /* bias+activation API (restricts algorithms) */
} cnn_cu_conv_key_t;

/* The key of conv step s of plan p (node n of graph g). */
void cnn_cu_conv_key_make(const cnn_cu_plan_t *p, const cnn_graph_t *g, const cnn_cu_step_t *s,
                          cnn_cu_conv_key_t *key);
uint64_t cnn_cu_conv_key_hash(const cnn_cu_conv_key_t *key);
bool cnn_cu_conv_key_equal(const cnn_cu_conv_key_t *a, const cnn_cu_conv_key_t *b);

typedef struct cnn_cu_algo {
    int algo;          /* cudnnConvolutionFwdAlgo_t */
    size_t workspace;  /* bytes it needs */
} cnn_cu_algo_t;

/* Open-addressing hash map key → algo; grows by doubling. Not thread-safe:
 * the device code guards a shared cache with its own mutex. */
typedef struct cnn_cu_algo_cache {
    cnn_cu_conv_key_t *keys;
    cnn_cu_algo_t *vals;
    bool *used;
    size_t cap, count;
} cnn_cu_algo_cache_t;

void cnn_cu_algo_cache_init(cnn_cu_algo_cache_t *c);
void cnn_cu_algo_cache_free(cnn_cu_algo_cache_t *c);
/* True and *out when key is cached. */
bool cnn_cu_algo_cache_get(const cnn_cu_algo_cache_t *c, const cnn_cu_conv_key_t *key, cnn_cu_algo_t *out);
/* Inserts or replaces; CNN_E_NOMEM when growing fails (the cache is unchanged). */
cnn_status_t cnn_cu_algo_cache_put(cnn_cu_algo_cache_t *c, const cnn_cu_conv_key_t *key, const cnn_cu_algo_t *val);

typedef enum cnn_cu_run_mode {
    CNN_CU_RUN_EAGER = 0, /* launch every step on the stream */
    CNN_CU_RUN_CAPTURE,   /* launch under stream capture, instantiate, then replay */
    CNN_CU_RUN_REPLAY,    /* launch the instantiated graph */
} cnn_cu_run_mode_t;

/* How to run a batch size that has run `eager_runs` times eagerly: the first
 * run is eager (it benchmarks algorithms and warms cuBLASLt), the second is
 * captured into a CUDA graph, later ones replay it; always eager when graphs
 * are disabled or a capture of this batch size failed. */
cnn_cu_run_mode_t cnn_cu_run_mode(int eager_runs, bool have_graph, bool capture_failed, bool graphs_enabled);

/* Boolean environment setting: NULL or "" → def; "0", "off", "false", "no" → false; anything else → true. */
bool cnn_cu_env_flag(const char *value, bool def);

/* Workspace bound for convolution algorithms: CNN_CUDA_WORKSPACE_MB (value
 * `env_mb`, NULL when unset) when it is a whole number, else 512 MiB; never
 * more than a quarter of the device memory still free after the arena. */
size_t cnn_cu_workspace_limit(size_t free_bytes, size_t arena_bytes, const char *env_mb);

#endif
