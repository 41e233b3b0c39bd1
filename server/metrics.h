/* Server metrics: the HTTP side reports each finished request, the
 * scheduler each batch and each change of a model's queue; GET /metrics
 * renders them in the Prometheus text exposition format, version 0.0.4.
 *
 * Families (all durations in seconds):
 *   cnnserve_requests_total{model,route,code}       counter (model absent for
 *                                                   requests without one; code
 *                                                   "client_gone" when the client
 *                                                   left before the response)
 *   cnnserve_request_duration_seconds{model}        histogram, arrival to response sent
 *   cnnserve_queue_duration_seconds{model}          histogram, preprocessed to batch start
 *   cnnserve_preprocess_duration_seconds{model}     histogram, decode + preprocess (classify)
 *   cnnserve_inference_duration_seconds{model}      histogram, engine time of the request's batches
 *   cnnserve_batch_size{model}                      histogram, images per engine run
 *   cnnserve_batch_duration_seconds{model}          histogram, engine time per batch
 *   cnnserve_queue_depth{model}                     gauge, requests admitted and unanswered
 *   cnnserve_in_flight_requests                     gauge, HTTP requests started and not complete
 *   process_resident_memory_bytes, process_virtual_memory_bytes, process_cpu_seconds_total,
 *   process_start_time_seconds                      the standard process metrics
 *
 * Thread-safety: every hook may be called from any thread once
 * srv_metrics_init has returned; each model has its own mutex (held for a
 * few increments), gauges are atomics, and rendering copies one model's
 * numbers at a time under its mutex. srv_metrics_init and
 * srv_metrics_shutdown must not run concurrently with anything else. */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include <stdbool.h>
#include <stddef.h>

/* Registers the models (index i is models[i]; names are copied) and records
 * the process start time. Replaces an earlier registry. Until it is called,
 * hooks that name a model are ignored and model-less requests still count.
 * false when out of memory (the registry is then empty). */
bool srv_metrics_init(const char *const *model_names, int count);

/* Frees the registry (all counts drop to zero). */
void srv_metrics_shutdown(void);

/* One finished HTTP request. */
typedef struct srv_request_stats {
    const char *route;  /* route's short name; must outlive the process (a literal) */
    int model;          /* index given to srv_metrics_init; -1: no model */
    int status;         /* HTTP status sent; 0: the client went away first */
    double total_s;     /* arrival of the headers to completion */
    bool ran;           /* its images went through the engine: queue_s, inference_s */
    bool preprocessed;  /* its images were decoded and preprocessed: preprocess_s */
    double queue_s, preprocess_s, inference_s;
} srv_request_stats_t;

void srv_metrics_request(const srv_request_stats_t *st);

/* One batch the inference worker ran: its size and engine time. */
void srv_metrics_batch(int model, int batch_size, double run_s);

/* A model's queue depth changes by delta (+1 admitted, -1 answered). */
void srv_metrics_queue(int model, int delta);

/* Gauges the caller owns, read when rendering. */
typedef struct srv_metrics_gauges {
    int in_flight; /* HTTP requests started and not complete (this one included) */
} srv_metrics_gauges_t;

/* The whole exposition as a malloc'ed string of *len bytes, ending in a
 * newline; NULL when out of memory. */
char *srv_metrics_render(const srv_metrics_gauges_t *g, size_t *len);

#endif
