/* Loading a model repository directory. */
#include "model_repo.h"

#include "array_grow.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Subdirectories of dir holding a model.json, sorted; NULL on error. */
static char **list_model_dirs(const char *dir, int *count, char *msg, size_t msg_size)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(msg, msg_size, "cannot open the model repository %s", dir);
        return NULL;
    }
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + sizeof "/model.json" + 1;
        char *path = malloc(len);
        if (!path)
            break;
        snprintf(path, len, "%s/%s/model.json", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        char **grown = cnn_array_grow(names, &cap, n, sizeof *names);
        if (!grown) {
            free(path);
            break;
        }
        names = grown;
        path[strlen(path) - strlen("/model.json")] = '\0';
        names[n++] = path;
    }
    closedir(d);
    if (n > 1)
        qsort(names, (size_t)n, sizeof *names, compare_names);
    *count = n;
    if (!names)
        names = calloc(1, sizeof *names);
    return names;
}

static void model_free(srv_model_t *m)
{
    cnn_session_free(m->session);
    cnn_model_free(m->model);
    free(m->name);
    free(m->dir);
    free(m->meta_json);
    free(m->meta_v2_json);
    free(m->layers_json);
}

/* Loads one directory into *m; false (logged) when it cannot serve. */
/* Multiply-adds per image under which a model runs on one engine thread by
 * default. */
#define SRV_SMALL_MODEL_MACS 100000000LL

/* Engine threads for a model: --threads when given; else one thread for
 * small models, whose layers are too short for a thread team to pay off:
 * under load every layer's barrier waits for team threads that the HTTP
 * and preprocessing threads have preempted (LeNet-5 through HTTP at
 * concurrency 64 on 2 busy cores: 186 requests/s with 2 threads, 6200 with
 * 1); the library default (every core) for the others. */
static int model_threads(const srv_config_t *cfg, const cnn_model_t *model)
{
    if (cfg->engine_threads > 0)
        return cfg->engine_threads;
    int64_t macs = 0;
    size_t n = cnn_model_layer_count(model);
    for (size_t i = 0; i < n; i++) {
        cnn_layer_info_t l;
        if (cnn_model_get_layer(model, i, &l) == CNN_OK)
            macs += l.macs;
    }
    return macs < SRV_SMALL_MODEL_MACS ? 1 : 0;
}

/* The precision model `name` runs in on `so`'s device: `want` when the device
 * can run it, else fp32 with a line on stderr saying why. */
static cnn_precision_t precision_usable(const char *name, const cnn_session_options_t *so, cnn_precision_t want)
{
    cnn_error_t err;
    if (cnn_precision_check(so->device, want, &err) == CNN_OK)
        return want;
    char dev[32];
    snprintf(dev, sizeof dev, so->device == CNN_DEVICE_CPU ? "the CPU" : "cuda:%d", so->device_index);
    fprintf(stderr, "cnnserve serve: model %s: %s precision is not available on %s (%s); serving it in fp32\n",
            name, cnn_precision_name(want), dev, err.message);
    return CNN_PRECISION_FP32;
}

/* A model the GPU cannot run (an unsupported layer, too little memory) is
 * served on the CPU rather than not at all; stderr says so. */
static cnn_status_t session_create(srv_model_t *m, cnn_session_options_t *so, const char *dir, cnn_error_t *err)
{
    cnn_status_t st = cnn_session_create(m->model, so, &m->session, err);
    if (st == CNN_OK || so->device == CNN_DEVICE_CPU)
        return st;
    fprintf(stderr, "cnnserve serve: model %s cannot run on cuda:%d (%s); serving it on the CPU\n", dir,
            so->device_index, err->message);
    so->device = CNN_DEVICE_CPU;
    so->device_index = 0;
    so->precision = precision_usable(m->name, so, m->requested_precision);
    return cnn_session_create(m->model, so, &m->session, err);
}

static bool model_load(const char *dir, const srv_config_t *cfg, srv_model_t *m)
{
    cnn_error_t err;
    memset(m, 0, sizeof *m);
    if (cnn_model_load(dir, &m->model, &err) != CNN_OK) {
        fprintf(stderr, "cnnserve serve: skipping model %s: %s\n", dir, err.message);
        return false;
    }
    m->info = cnn_model_get_info(m->model);
    m->name = strdup(m->info->name ? m->info->name : "");
    m->dir = strdup(dir);
    m->image_floats = (size_t)m->info->input_channels * (size_t)m->info->input_height *
                      (size_t)m->info->input_width;
    m->output_size = cnn_model_output_size(m->model);
    m->max_batch_size = cfg->max_batch_size > 0 ? cfg->max_batch_size
                        : m->info->max_batch_size > 0 ? m->info->max_batch_size : 1;
    m->max_queue_delay_us = cfg->max_queue_delay_us >= 0 ? cfg->max_queue_delay_us
                                                         : m->info->max_queue_delay_us;
    cnn_session_options_t so;
    cnn_session_options_init(&so);
    so.max_batch = m->max_batch_size;
    so.num_threads = model_threads(cfg, m->model);
    so.device = cfg->device;
    so.device_index = cfg->device_index;
    if (!m->name || !m->dir || m->name[0] == '\0') {
        fprintf(stderr, "cnnserve serve: skipping model %s: no name\n", dir);
        model_free(m);
        return false;
    }
    m->requested_precision = srv_config_precision_for(cfg, m->name, m->info->precision);
    so.precision = precision_usable(m->name, &so, m->requested_precision);
    if (session_create(m, &so, dir, &err) != CNN_OK) {
        fprintf(stderr, "cnnserve serve: skipping model %s: cannot create a session: %s\n", dir,
                err.message);
        model_free(m);
        return false;
    }
    m->precision = so.precision;
    m->device = so.device;
    m->device_index = so.device_index;
    if (!srv_model_meta_build(m)) {
        fprintf(stderr, "cnnserve serve: skipping model %s: out of memory\n", dir);
        model_free(m);
        return false;
    }
    return true;
}

/* Warns about each --precision MODEL=P that names no loaded model. */
static void warn_unused_overrides(const srv_config_t *cfg, const srv_model_repo_t *repo)
{
    for (int i = 0; i < cfg->num_precision_overrides; i++) {
        const srv_precision_override_t *o = &cfg->precision_overrides[i];
        if (!srv_model_repo_find(repo, o->model, o->model_len))
            fprintf(stderr, "cnnserve serve: --precision %.*s=%s: no model of that name is loaded\n",
                    (int)o->model_len, o->model, cnn_precision_name(o->precision));
    }
}

bool srv_model_repo_load(const srv_config_t *cfg, srv_model_repo_t *repo, char *msg, size_t msg_size)
{
    memset(repo, 0, sizeof *repo);
    int n = 0;
    char **dirs = list_model_dirs(cfg->models_dir, &n, msg, msg_size);
    if (!dirs)
        return false;
    repo->models = calloc((size_t)(n ? n : 1), sizeof *repo->models);
    for (int i = 0; repo->models && i < n; i++) {
        srv_model_t *m = &repo->models[repo->count];
        if (!model_load(dirs[i], cfg, m))
            continue;
        if (srv_model_repo_find(repo, m->name, strlen(m->name))) {
            fprintf(stderr, "cnnserve serve: skipping model %s: the name %s is taken\n", dirs[i], m->name);
            model_free(m);
            continue;
        }
        m->index = repo->count++;
        fprintf(stderr, "cnnserve serve: loaded model %s from %s (batch %d, delay %d us, %s)\n", m->name,
                m->dir, m->max_batch_size, m->max_queue_delay_us, cnn_precision_name(m->precision));
    }
    for (int i = 0; i < n; i++)
        free(dirs[i]);
    free(dirs);
    if (repo->count == 0) {
        snprintf(msg, msg_size, "no model loaded from %s", cfg->models_dir);
        srv_model_repo_free(repo);
        return false;
    }
    warn_unused_overrides(cfg, repo);
    const char *want = cfg->default_model ? cfg->default_model : "lenet5-fashion";
    const srv_model_t *def = srv_model_repo_find(repo, want, strlen(want));
    if (!def && cfg->default_model) {
        snprintf(msg, msg_size, "--default-model %s: no such model in %s", cfg->default_model,
                 cfg->models_dir);
        srv_model_repo_free(repo);
        return false;
    }
    repo->default_index = def ? def->index : 0;
    if (!srv_model_list_build(repo)) {
        snprintf(msg, msg_size, "out of memory");
        srv_model_repo_free(repo);
        return false;
    }
    return true;
}

void srv_model_repo_free(srv_model_repo_t *repo)
{
    for (int i = 0; repo->models && i < repo->count; i++)
        model_free(&repo->models[i]);
    free(repo->models);
    free(repo->list_json);
    memset(repo, 0, sizeof *repo);
}

const srv_model_t *srv_model_repo_find(const srv_model_repo_t *repo, const char *name, size_t len)
{
    for (int i = 0; i < repo->count; i++) {
        const srv_model_t *m = &repo->models[i];
        if (strlen(m->name) == len && memcmp(m->name, name, len) == 0)
            return m;
    }
    return NULL;
}
