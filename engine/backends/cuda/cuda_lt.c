/* cuBLASLt through dlopen (see cuda_lt.h). */
#include "cuda_lt.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t lt_once = PTHREAD_ONCE_INIT;
static cnn_cu_lt_api_t lt_api;
static const cnn_cu_lt_api_t *lt_loaded;
static char lt_problem[CNN_ERROR_MESSAGE_MAX];

static void lt_load(void)
{
    /* The soname through the usual search (LD_LIBRARY_PATH, the program's
     * run path), then the library CMake found at build time. */
    static const char *const paths[] = {"libcublasLt.so." CNN_CUBLASLT_SOVERSION, CNN_CUBLASLT_PATH};
    void *h = NULL;
    const char *why = "";
    for (size_t i = 0; i < sizeof paths / sizeof paths[0] && !h; i++)
        if (!(h = dlopen(paths[i], RTLD_NOW | RTLD_LOCAL)))
            why = dlerror();
    if (!h) {
        snprintf(lt_problem, sizeof lt_problem, "cannot load cuBLASLt (libcublasLt.so.%s): %s",
                 CNN_CUBLASLT_SOVERSION, why ? why : "");
        return;
    }
    static const struct { const char *name; size_t offset; } syms[] = {
        {"cublasLtCreate", offsetof(cnn_cu_lt_api_t, create)},
        {"cublasLtDestroy", offsetof(cnn_cu_lt_api_t, destroy)},
        {"cublasLtMatmul", offsetof(cnn_cu_lt_api_t, matmul)},
        {"cublasLtMatmulAlgoGetHeuristic", offsetof(cnn_cu_lt_api_t, heuristic)},
        {"cublasLtMatmulDescCreate", offsetof(cnn_cu_lt_api_t, desc_create)},
        {"cublasLtMatmulDescDestroy", offsetof(cnn_cu_lt_api_t, desc_destroy)},
        {"cublasLtMatmulDescSetAttribute", offsetof(cnn_cu_lt_api_t, desc_set)},
        {"cublasLtMatmulPreferenceCreate", offsetof(cnn_cu_lt_api_t, pref_create)},
        {"cublasLtMatmulPreferenceDestroy", offsetof(cnn_cu_lt_api_t, pref_destroy)},
        {"cublasLtMatmulPreferenceSetAttribute", offsetof(cnn_cu_lt_api_t, pref_set)},
        {"cublasLtMatrixLayoutCreate", offsetof(cnn_cu_lt_api_t, layout_create)},
        {"cublasLtMatrixLayoutDestroy", offsetof(cnn_cu_lt_api_t, layout_destroy)},
    };
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
        void *f = dlsym(h, syms[i].name);
        if (!f) {
            snprintf(lt_problem, sizeof lt_problem, "cuBLASLt has no %s", syms[i].name);
            return; /* the handle stays open: dlclose of CUDA libraries is not safe */
        }
        memcpy((char *)&lt_api + syms[i].offset, &f, sizeof f);
    }
    lt_loaded = &lt_api;
}

const cnn_cu_lt_api_t *cnn_cu_lt(cnn_error_t *err)
{
    pthread_once(&lt_once, lt_load);
    if (!lt_loaded)
        cnn_error_set(err, CNN_E_UNSUPPORTED, "%s", lt_problem);
    return lt_loaded;
}
