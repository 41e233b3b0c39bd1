/* Loads the CUDA backend module (libcnn_cuda.so) on first use: the module
 * this build made (its path is compiled in), else one next to the running
 * program, or the file named by CNN_CUDA_MODULE. Processes that never ask
 * for a CUDA device never load it, nor the CUDA libraries it links. */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "status.h"

static pthread_once_t module_once = PTHREAD_ONCE_INIT;
static const cnn_backend_i *module_backend;
static char module_problem[CNN_ERROR_MESSAGE_MAX];

/* Tries to load `path`; on failure appends dlerror() to module_problem. */
static bool try_load(const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        size_t used = strlen(module_problem);
        snprintf(module_problem + used, sizeof module_problem - used, "%s%s", used ? "; " : "", dlerror());
        return false;
    }
    const cnn_backend_i *be = dlsym(h, "cnn_backend_cuda");
    if (!be) {
        snprintf(module_problem, sizeof module_problem, "%s has no cnn_backend_cuda", path);
        return false; /* stays loaded: unloading CUDA libraries is not safe */
    }
    module_backend = be;
    return true;
}

static void module_load(void)
{
    const char *env = getenv("CNN_CUDA_MODULE");
    if (env && *env) {
        try_load(env);
        return;
    }
    if (try_load(CNN_CUDA_MODULE_PATH))
        return;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash || (size_t)(slash - exe) + sizeof "/libcnn_cuda.so" > sizeof exe)
        return;
    strcpy(slash, "/libcnn_cuda.so");
    try_load(exe);
}

const cnn_backend_i *cnn_cuda_backend(cnn_error_t *err)
{
    pthread_once(&module_once, module_load);
    if (!module_backend)
        cnn_error_set(err, CNN_E_UNSUPPORTED, "the CUDA backend module could not be loaded: %s", module_problem);
    return module_backend;
}
