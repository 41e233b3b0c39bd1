/* Minimal metrics: request counts by status class and batch counts, kept in
 * atomics. The hooks of metrics.h are where fuller metrics (per model,
 * histograms) plug in. */
#define _GNU_SOURCE /* open_memstream */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_ullong requests_by_class[6]; /* 0: client gone, 1xx..5xx */
static atomic_ullong batches, batch_images;

void srv_metrics_request(const srv_request_stats_t *st)
{
    int cls = st->status / 100;
    if (cls < 0 || cls > 5)
        cls = 0;
    atomic_fetch_add(&requests_by_class[cls], 1);
}

void srv_metrics_batch(const char *model, int batch_size, double run_s)
{
    (void)model;
    (void)run_s;
    atomic_fetch_add(&batches, 1);
    atomic_fetch_add(&batch_images, (unsigned long long)batch_size);
}

char *srv_metrics_render(const srv_metrics_gauges_t *g, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f)
        return NULL;
    static const char *const codes[6] = {"client_gone", "1xx", "2xx", "3xx", "4xx", "5xx"};
    fputs("# HELP cnnserve_requests_total HTTP requests by status class.\n"
          "# TYPE cnnserve_requests_total counter\n", f);
    for (int i = 0; i < 6; i++)
        fprintf(f, "cnnserve_requests_total{code=\"%s\"} %llu\n", codes[i],
                (unsigned long long)atomic_load(&requests_by_class[i]));
    fprintf(f, "# HELP cnnserve_batches_total Batches run by the inference worker.\n"
               "# TYPE cnnserve_batches_total counter\ncnnserve_batches_total %llu\n",
            (unsigned long long)atomic_load(&batches));
    fprintf(f, "# HELP cnnserve_batch_images_total Images in those batches.\n"
               "# TYPE cnnserve_batch_images_total counter\ncnnserve_batch_images_total %llu\n",
            (unsigned long long)atomic_load(&batch_images));
    fprintf(f, "# HELP cnnserve_queue_depth Requests admitted and not yet answered.\n"
               "# TYPE cnnserve_queue_depth gauge\ncnnserve_queue_depth %d\n", g->queue_depth);
    fprintf(f, "# HELP cnnserve_in_flight_requests HTTP requests being served.\n"
               "# TYPE cnnserve_in_flight_requests gauge\ncnnserve_in_flight_requests %d\n",
            g->in_flight);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
