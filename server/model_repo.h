/* The models a server answers for: every model directory under one
 * repository directory, loaded once at start and read-only afterwards
 * (sessions aside, which belong to the inference worker). */
#ifndef SRV_MODEL_REPO_H
#define SRV_MODEL_REPO_H

#include "cnn/cnn.h"
#include "serve_config.h"

#include <stddef.h>

typedef struct srv_model {
    char *name; /* model.json's name (the URL segment) */
    char *dir;
    cnn_model_t *model;
    const cnn_model_info_t *info;
    size_t image_floats; /* C×H×W */
    size_t output_size;  /* floats per image out */
    int max_batch_size;  /* the batcher's and the session's */
    int max_queue_delay_us;
    cnn_precision_t precision;           /* what the session runs in */
    cnn_precision_t requested_precision; /* what the flags or model.json asked for */
    cnn_device_kind_t device;            /* where the session runs */
    int device_index;
    cnn_session_t *session; /* used by the inference worker thread only */
    char *meta_json;     /* GET /v1/models/{m} body */
    char *meta_v2_json;  /* GET /v2/models/{m} body */
    char *layers_json;   /* GET /v1/models/{m}/layers body */
    int index;
} srv_model_t;

typedef struct srv_model_repo {
    srv_model_t *models; /* in the order of their directory names */
    int count;
    int default_index;
    char *list_json;     /* GET /v1/models body */
} srv_model_repo_t;

/* Loads every subdirectory of cfg->models_dir that holds a model.json (others
 * are ignored), with the batching and precision overrides of cfg, and makes
 * one session per model on cfg's device (cfg->engine_threads). A precision the
 * device cannot run, and a model the GPU cannot run, fall back (to fp32, to the
 * CPU) with a line on stderr. A model directory that fails to
 * load is logged to stderr and skipped, so one broken model does not take the
 * others down; two models with the same name: the second is skipped.
 * Fails (false, msg filled) when the directory cannot be read, when no model
 * loads, or when cfg->default_model names no loaded model. On failure *repo
 * holds nothing. */
bool srv_model_repo_load(const srv_config_t *cfg, srv_model_repo_t *repo, char *msg, size_t msg_size);

void srv_model_repo_free(srv_model_repo_t *repo);

/* The model called name[0..len), or NULL. */
const srv_model_t *srv_model_repo_find(const srv_model_repo_t *repo, const char *name, size_t len);

/* Builds m->meta_json, m->meta_v2_json and m->layers_json, and repo->list_json; false when
 * out of memory. Called by srv_model_repo_load. */
bool srv_model_meta_build(srv_model_t *m);
bool srv_model_list_build(srv_model_repo_t *repo);

#endif
