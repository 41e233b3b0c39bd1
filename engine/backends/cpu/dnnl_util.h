/* Small helpers shared by the oneDNN CPU backend: status mapping and memory
 * descriptor construction. */
#ifndef CNN_DNNL_UTIL_H
#define CNN_DNNL_UTIL_H

#include <oneapi/dnnl/dnnl.h>

#include "graph.h"
#include "status.h"

/* Maps a oneDNN status to CNN_OK, or to CNN_E_BACKEND with a message naming
 * the failed call (`call`) and the oneDNN status. */
cnn_status_t cnn_dnnl_check(cnn_error_t *err, dnnl_status_t s, const char *call);

#define CNN_DNNL_CHECK(err, call) cnn_dnnl_check((err), (call), #call)

/* Runs a oneDNN call; on failure sets `st` (a cnn_status_t in scope) and
 * jumps to the function's `done` label. */
#define CNN_DNNL_TRY(err, call)                          \
    do {                                                 \
        st = cnn_dnnl_check((err), (call), #call);       \
        if (st != CNN_OK)                                \
            goto done;                                   \
    } while (0)

/* Plain (row-major) descriptor: nc for 2 dims, nchw for 4, goihw for 5, a for 1. */
dnnl_memory_desc_t cnn_dnnl_md_plain(int ndims, const dnnl_dim_t *dims, dnnl_data_type_t dt);
/* Descriptor with format `any`, letting the primitive choose the layout. */
dnnl_memory_desc_t cnn_dnnl_md_any(int ndims, const dnnl_dim_t *dims, dnnl_data_type_t dt);
/* Same layout with another data type (valid for all blocked/plain layouts). */
dnnl_memory_desc_t cnn_dnnl_md_with_type(const dnnl_memory_desc_t *md, dnnl_data_type_t dt);

/* oneDNN eltwise algorithm and alpha for a fused activation. */
void cnn_dnnl_act_alg(cnn_act_t act, float alpha, float beta, dnnl_alg_kind_t *alg, float *alg_alpha,
                      float *alg_beta);

/* "f32", "bf16", "f16", "s8", "u8", "s32", or "?" for other types. */
const char *cnn_dnnl_type_name(dnnl_data_type_t dt);

/* Name of the instruction set oneDNN dispatches to on this CPU ("avx2", ...). */
const char *cnn_dnnl_cpu_isa_name(void);
/* True when this CPU computes bf16 natively (AVX512_BF16 or AMX, as oneDNN
 * dispatches after any ONEDNN_MAX_CPU_ISA limit). Plain AVX-512 only emulates
 * bf16, slower than fp32, so it does not count. */
bool cnn_dnnl_cpu_has_bf16(void);

#endif
