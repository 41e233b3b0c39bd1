/* Metrics hooks: the server reports each finished request and each batch
 * here; /metrics renders what was collected in Prometheus text format.
 * Thread-safe (called from HTTP threads and the loop thread). */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include <stddef.h>

/* One finished HTTP request. model is NULL for routes without one; status 0
 * means the client went away before a response was sent. Durations are in
 * seconds (queue/preprocess/inference 0 for requests that did not run). */
typedef struct srv_request_stats {
    const char *route; /* "classify", "kserve_infer", "models", "health", ... */
    const char *model;
    int status;
    double total_s, queue_s, preprocess_s, inference_s;
    int images;
} srv_request_stats_t;

void srv_metrics_request(const srv_request_stats_t *st);

/* One batch the inference worker ran: its size and run time. */
void srv_metrics_batch(const char *model, int batch_size, double run_s);

/* Gauges read when rendering: requests admitted and unanswered, HTTP
 * requests alive. */
typedef struct srv_metrics_gauges {
    int queue_depth;
    int in_flight;
} srv_metrics_gauges_t;

/* Renders the Prometheus text exposition into a malloc'ed string (*len
 * bytes); NULL when out of memory. */
char *srv_metrics_render(const srv_metrics_gauges_t *g, size_t *len);

#endif
