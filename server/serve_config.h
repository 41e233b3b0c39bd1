/* The settings of `cnnserve serve`, from its command line. */
#ifndef SRV_SERVE_CONFIG_H
#define SRV_SERVE_CONFIG_H

#include "cnn/cnn.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --precision MODEL=P: model `model[0..model_len)` runs in `precision`. */
typedef struct srv_precision_override {
    const char *model;
    size_t model_len;
    cnn_precision_t precision;
} srv_precision_override_t;

#define SRV_MAX_PRECISION_OVERRIDES 64

typedef struct srv_config {
    const char *models_dir;    /* model repository: one model directory per subdirectory */
    const char *host;          /* "127.0.0.1" or "0.0.0.0" (any IPv4 address) */
    int port;
    const char *default_model; /* NULL: lenet5-fashion if loaded, else the first by name */
    int max_batch_size;        /* 0: each model's model.json value */
    int max_queue_delay_us;    /* -1: each model's model.json value */
    int queue_size;            /* requests admitted and not yet answered, all models */
    int timeout_ms;            /* admission to answer; then 504 */
    size_t max_body_bytes;
    size_t max_response_bytes; /* feature-map replies; 413 above */
    uint64_t max_pixels;       /* per decoded image, from its header */
    int max_images;            /* images in one request */
    int connection_limit;      /* open connections, all clients */
    int per_ip_limit;          /* open connections per client address; 0: no limit */
    int connection_timeout_s;  /* idle connection closed after this */
    int engine_threads;        /* CPU threads of the inference worker; 0: library default */
    int http_threads;          /* libmicrohttpd polling threads */
    const char *cors_origin;   /* --cors-origin: "*" or one origin; NULL: no CORS headers */
    cnn_device_kind_t device;  /* where models run (CPU if the CUDA device is unusable) */
    int device_index;
    bool precision_given;      /* --precision P: every model runs in P (else its model.json's) */
    cnn_precision_t precision;
    srv_precision_override_t precision_overrides[SRV_MAX_PRECISION_OVERRIDES]; /* --precision MODEL=P */
    int num_precision_overrides;
} srv_config_t;

/* The defaults `cnnserve serve` documents (models_dir NULL: found by the caller). */
void srv_config_init(srv_config_t *cfg);

/* The precision model `name` is asked to run in: its --precision NAME=P, else
 * --precision P, else `model_default` (its model.json's). */
cnn_precision_t srv_config_precision_for(const srv_config_t *cfg, const char *name, cnn_precision_t model_default);

#endif
