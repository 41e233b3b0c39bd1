/* Defaults of `cnnserve serve`. */
#include "serve_config.h"

#include <string.h>

void srv_config_init(srv_config_t *cfg)
{
    *cfg = (srv_config_t){
        .models_dir = NULL,
        .host = "127.0.0.1",
        .port = 8080,
        .default_model = NULL,
        .max_batch_size = 0,
        .max_queue_delay_us = -1,
        .queue_size = 1024,
        .timeout_ms = 30000,
        .max_body_bytes = 16u * 1024u * 1024u,
        .max_response_bytes = 64u * 1024u * 1024u,
        .max_pixels = 16u * 1000u * 1000u,
        .max_images = 64,
        .connection_limit = 512,
        .per_ip_limit = 0,
        .connection_timeout_s = 30,
        .engine_threads = 0,
        .http_threads = 2,
        .cors_origin = NULL,
        .device = CNN_DEVICE_CPU,
        .device_index = 0,
        .precision_given = false,
        .precision = CNN_PRECISION_FP32,
        .num_precision_overrides = 0,
    };
}

cnn_precision_t srv_config_precision_for(const srv_config_t *cfg, const char *name, cnn_precision_t model_default)
{
    size_t len = strlen(name);
    for (int i = cfg->num_precision_overrides - 1; i >= 0; i--) {
        const srv_precision_override_t *o = &cfg->precision_overrides[i];
        if (o->model_len == len && memcmp(o->model, name, len) == 0)
            return o->precision;
    }
    return cfg->precision_given ? cfg->precision : model_default;
}
