#include "dnnl_util.h"

#include <stdio.h>
#include <string.h>

static const char *dnnl_status_name(dnnl_status_t s)
{
    switch (s) {
    case dnnl_success: return "success";
    case dnnl_out_of_memory: return "out of memory";
    case dnnl_invalid_arguments: return "invalid arguments";
    case dnnl_unimplemented: return "unimplemented";
    case dnnl_iterator_ends: return "iterator ends";
    case dnnl_runtime_error: return "runtime error";
    case dnnl_not_required: return "not required";
    }
    return "unknown status";
}

cnn_status_t cnn_dnnl_check(cnn_error_t *err, dnnl_status_t s, const char *call)
{
    if (s == dnnl_success)
        return CNN_OK;
    cnn_status_t mapped = s == dnnl_out_of_memory ? CNN_E_NOMEM : CNN_E_BACKEND;
    return cnn_error_set(err, mapped, "oneDNN call %s failed: %s (%d)", call, dnnl_status_name(s), (int)s);
}

static dnnl_format_tag_t plain_tag(int ndims)
{
    switch (ndims) {
    case 1: return dnnl_a;
    case 2: return dnnl_ab;
    case 3: return dnnl_abc;
    case 4: return dnnl_abcd;
    case 5: return dnnl_abcde;
    default: return dnnl_format_tag_undef;
    }
}

dnnl_memory_desc_t cnn_dnnl_md_plain(int ndims, const dnnl_dim_t *dims, dnnl_data_type_t dt)
{
    dnnl_memory_desc_t md;
    memset(&md, 0, sizeof md);
    dnnl_memory_desc_init_by_tag(&md, ndims, dims, dt, plain_tag(ndims));
    return md;
}

dnnl_memory_desc_t cnn_dnnl_md_any(int ndims, const dnnl_dim_t *dims, dnnl_data_type_t dt)
{
    dnnl_memory_desc_t md;
    memset(&md, 0, sizeof md);
    dnnl_memory_desc_init_by_tag(&md, ndims, dims, dt, dnnl_format_tag_any);
    return md;
}

dnnl_memory_desc_t cnn_dnnl_md_with_type(const dnnl_memory_desc_t *md, dnnl_data_type_t dt)
{
    dnnl_memory_desc_t out = *md;
    out.data_type = dt;
    return out;
}

void cnn_dnnl_act_alg(cnn_act_t act, float alpha, float beta, dnnl_alg_kind_t *alg, float *alg_alpha,
                      float *alg_beta)
{
    *alg_alpha = 0.0f;
    *alg_beta = 0.0f;
    switch (act) {
    case CNN_ACT_CLIP: *alg = dnnl_eltwise_clip_v2; *alg_alpha = alpha; *alg_beta = beta; break;
    case CNN_ACT_LEAKY_RELU: *alg = dnnl_eltwise_relu; *alg_alpha = alpha; break;
    case CNN_ACT_ELU: *alg = dnnl_eltwise_elu; *alg_alpha = alpha; break;
    case CNN_ACT_SIGMOID: *alg = dnnl_eltwise_logistic; break;
    case CNN_ACT_TANH: *alg = dnnl_eltwise_tanh; break;
    case CNN_ACT_RELU:
    case CNN_ACT_NONE:
    default: *alg = dnnl_eltwise_relu; break;
    }
}

const char *cnn_dnnl_cpu_isa_name(void)
{
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "unknown";
    }
}

bool cnn_dnnl_cpu_has_bf16(void)
{
    unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(), bf16 = (unsigned)dnnl_cpu_isa_avx512_core_bf16;
    return (isa & bf16) == bf16;
}

const char *cnn_dnnl_type_name(dnnl_data_type_t dt)
{
    switch (dt) {
    case dnnl_f32: return "f32";
    case dnnl_bf16: return "bf16";
    case dnnl_f16: return "f16";
    case dnnl_s8: return "s8";
    case dnnl_u8: return "u8";
    case dnnl_s32: return "s32";
    default: return "?";
    }
}

const char *cnn_cpu_isa(void)
{
    return cnn_dnnl_cpu_isa_name();
}

const char *cnn_cpu_library_version(void)
{
    static char version[32];
    const dnnl_version_t *v = dnnl_version();
    snprintf(version, sizeof version, "%d.%d.%d", v->major, v->minor, v->patch);
    return version;
}
