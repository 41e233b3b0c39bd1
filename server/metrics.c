/* Metrics registry and rendering (see metrics.h): one slot per model with
 * its own mutex, plus a static slot for requests without a model. */
#define _GNU_SOURCE /* open_memstream */
#include "metrics.h"

#include "array_grow.h"
#include "proc_stats.h"
#include "prom_text.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seconds: sub-millisecond LeNet runs up to the 30 s default timeout. */
static const double DURATION_BOUNDS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                         0.25,   0.5,   1,      2.5,   5,    10,    30};
static const double BATCH_BOUNDS[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
#define N_BOUNDS(a) ((int)(sizeof(a) / sizeof(a)[0]))
#define HIST_SLOTS (N_BOUNDS(DURATION_BOUNDS) + 1)

/* Request counter entries per slot at most (routes × statuses is far less). */
#define MAX_REQUEST_SERIES 1024

enum { H_REQUEST, H_QUEUE, H_PREPROCESS, H_INFERENCE, H_BATCH_SIZE, H_BATCH_RUN, H_COUNT };

static const struct {
    const char *name, *help;
    const double *bounds;
    int n_bounds;
} HIST_DEFS[H_COUNT] = {
    {"cnnserve_request_duration_seconds", "Time from a request's headers to its completion.",
     DURATION_BOUNDS, N_BOUNDS(DURATION_BOUNDS)},
    {"cnnserve_queue_duration_seconds", "Time a preprocessed request waited for its first batch.",
     DURATION_BOUNDS, N_BOUNDS(DURATION_BOUNDS)},
    {"cnnserve_preprocess_duration_seconds", "Time spent decoding and preprocessing a request's images.",
     DURATION_BOUNDS, N_BOUNDS(DURATION_BOUNDS)},
    {"cnnserve_inference_duration_seconds", "Engine time of the batches a request's images ran in.",
     DURATION_BOUNDS, N_BOUNDS(DURATION_BOUNDS)},
    {"cnnserve_batch_size", "Images per engine run.", BATCH_BOUNDS, N_BOUNDS(BATCH_BOUNDS)},
    {"cnnserve_batch_duration_seconds", "Engine time per batch.", DURATION_BOUNDS,
     N_BOUNDS(DURATION_BOUNDS)},
};

typedef struct hist {
    uint64_t counts[HIST_SLOTS]; /* per bucket, not cumulative; [n_bounds]: above the last */
    double sum;
} hist_t;

typedef struct req_series {
    const char *route;
    int code;
    uint64_t n;
} req_series_t;

typedef struct slot {
    pthread_mutex_t mu; /* guards reqs and hists */
    char *label;        /* `model="<escaped>"`, or "" for the model-less slot */
    req_series_t *reqs;
    int n_reqs, cap_reqs;
    hist_t hists[H_COUNT];
    atomic_int queue_depth;
} slot_t;

/* Copy of a slot's numbers, taken under its mutex. */
typedef struct snapshot {
    const char *label;
    req_series_t *reqs;
    int n_reqs;
    hist_t hists[H_COUNT];
    int queue_depth;
} snapshot_t;

static slot_t no_model = {.mu = PTHREAD_MUTEX_INITIALIZER, .label = ""};
static slot_t *models;
static atomic_int n_models; /* published (release) once models[] is set up */
static double start_time;

static void slot_init(slot_t *s, char *label)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->label = label;
    atomic_init(&s->queue_depth, 0);
}

static void slot_clear(slot_t *s)
{
    free(s->reqs);
    s->reqs = NULL;
    s->n_reqs = s->cap_reqs = 0;
    memset(s->hists, 0, sizeof s->hists);
    atomic_store(&s->queue_depth, 0);
}

static void slot_free(slot_t *s)
{
    slot_clear(s);
    free(s->label);
    pthread_mutex_destroy(&s->mu);
}

void srv_metrics_shutdown(void)
{
    int n = atomic_load(&n_models);
    atomic_store(&n_models, 0);
    for (int i = 0; i < n; i++)
        slot_free(&models[i]);
    free(models);
    models = NULL;
    pthread_mutex_lock(&no_model.mu);
    slot_clear(&no_model);
    pthread_mutex_unlock(&no_model.mu);
}

/* `model="<escaped name>"`, malloc'ed. */
static char *model_label(const char *name)
{
    char *esc = srv_prom_escape_label(name);
    if (!esc)
        return NULL;
    size_t n = strlen(esc) + sizeof "model=\"\"";
    char *label = malloc(n);
    if (label)
        snprintf(label, n, "model=\"%s\"", esc);
    free(esc);
    return label;
}

bool srv_metrics_init(const char *const *model_names, int count)
{
    int old = atomic_load(&n_models);
    atomic_store(&n_models, 0);
    for (int i = 0; i < old; i++)
        slot_free(&models[i]);
    free(models);
    models = count > 0 ? calloc((size_t)count, sizeof *models) : NULL;
    if (count > 0 && !models)
        return false;
    for (int i = 0; i < count; i++) {
        char *label = model_label(model_names[i]);
        if (!label) {
            for (int j = 0; j < i; j++)
                slot_free(&models[j]);
            free(models);
            models = NULL;
            return false;
        }
        slot_init(&models[i], label);
    }
    if (!srv_proc_start_time(&start_time)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        start_time = (double)ts.tv_sec + ts.tv_nsec * 1e-9;
    }
    atomic_store_explicit(&n_models, count, memory_order_release);
    return true;
}

/* The slot of a model index, or NULL when it is not registered. */
static slot_t *model_slot(int model)
{
    return model >= 0 && model < atomic_load_explicit(&n_models, memory_order_acquire) ? &models[model]
                                                                                         : NULL;
}

static void observe(hist_t *h, int which, double v)
{
    int n = HIST_DEFS[which].n_bounds, i = 0;
    while (i < n && v > HIST_DEFS[which].bounds[i])
        i++;
    h->counts[i]++;
    h->sum += v;
}

/* Adds one to (route, code) in s; called with s->mu held. A failed
 * allocation (or the series cap) drops the count. */
static void count_request(slot_t *s, const char *route, int code)
{
    for (int i = 0; i < s->n_reqs; i++)
        if (s->reqs[i].code == code && strcmp(s->reqs[i].route, route) == 0) {
            s->reqs[i].n++;
            return;
        }
    if (s->n_reqs == MAX_REQUEST_SERIES)
        return;
    req_series_t *grown = cnn_array_grow(s->reqs, &s->cap_reqs, s->n_reqs, sizeof *grown);
    if (!grown)
        return;
    s->reqs = grown;
    s->reqs[s->n_reqs++] = (req_series_t){route, code, 1};
}

void srv_metrics_request(const srv_request_stats_t *st)
{
    slot_t *m = model_slot(st->model);
    slot_t *s = m ? m : &no_model;
    pthread_mutex_lock(&s->mu);
    count_request(s, st->route, st->status);
    if (m) {
        observe(&m->hists[H_REQUEST], H_REQUEST, st->total_s);
        if (st->ran) {
            observe(&m->hists[H_QUEUE], H_QUEUE, st->queue_s);
            observe(&m->hists[H_INFERENCE], H_INFERENCE, st->inference_s);
        }
        if (st->preprocessed)
            observe(&m->hists[H_PREPROCESS], H_PREPROCESS, st->preprocess_s);
    }
    pthread_mutex_unlock(&s->mu);
}

void srv_metrics_batch(int model, int batch_size, double run_s)
{
    slot_t *m = model_slot(model);
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    observe(&m->hists[H_BATCH_SIZE], H_BATCH_SIZE, batch_size);
    observe(&m->hists[H_BATCH_RUN], H_BATCH_RUN, run_s);
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_queue(int model, int delta)
{
    slot_t *m = model_slot(model);
    if (m)
        atomic_fetch_add(&m->queue_depth, delta);
}

/* ---- rendering --------------------------------------------------------- */

static int series_cmp(const void *a, const void *b)
{
    const req_series_t *x = a, *y = b;
    int c = strcmp(x->route, y->route);
    return c ? c : (x->code > y->code) - (x->code < y->code);
}

/* false when out of memory. */
static bool take_snapshot(slot_t *s, snapshot_t *out)
{
    out->label = s->label;
    pthread_mutex_lock(&s->mu);
    out->n_reqs = s->n_reqs;
    out->reqs = s->n_reqs ? malloc((size_t)s->n_reqs * sizeof *out->reqs) : NULL;
    if (out->reqs)
        memcpy(out->reqs, s->reqs, (size_t)s->n_reqs * sizeof *out->reqs);
    memcpy(out->hists, s->hists, sizeof out->hists);
    pthread_mutex_unlock(&s->mu);
    out->queue_depth = atomic_load(&s->queue_depth);
    if (out->n_reqs && !out->reqs)
        return false;
    if (out->n_reqs)
        qsort(out->reqs, (size_t)out->n_reqs, sizeof *out->reqs, series_cmp);
    return true;
}

static void render_requests(FILE *f, const snapshot_t *snaps, int n)
{
    srv_prom_header(f, "cnnserve_requests_total", "counter",
                    "HTTP requests by model, route and status code (client_gone: no response sent).");
    for (int i = 0; i < n; i++)
        for (int j = 0; j < snaps[i].n_reqs; j++) {
            const req_series_t *r = &snaps[i].reqs[j];
            fprintf(f, "cnnserve_requests_total{%s%sroute=\"", snaps[i].label, snaps[i].label[0] ? "," : "");
            srv_prom_write_label(f, r->route);
            if (r->code)
                fprintf(f, "\",code=\"%d\"} %llu\n", r->code, (unsigned long long)r->n);
            else
                fprintf(f, "\",code=\"client_gone\"} %llu\n", (unsigned long long)r->n);
        }
}

static void render_process(FILE *f)
{
    uint64_t rss, vsize;
    if (srv_proc_memory(&rss, &vsize)) {
        srv_prom_header(f, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        fprintf(f, "process_resident_memory_bytes %llu\n", (unsigned long long)rss);
        srv_prom_header(f, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
        fprintf(f, "process_virtual_memory_bytes %llu\n", (unsigned long long)vsize);
    }
    srv_prom_header(f, "process_cpu_seconds_total", "counter", "Total user and system CPU time in seconds.");
    fputs("process_cpu_seconds_total ", f);
    srv_prom_number(f, srv_proc_cpu_seconds());
    fputc('\n', f);
    srv_prom_header(f, "process_start_time_seconds", "gauge",
                    "Start time of the process since the Unix epoch in seconds.");
    fputs("process_start_time_seconds ", f);
    srv_prom_number(f, start_time);
    fputc('\n', f);
}

static void render(FILE *f, const snapshot_t *snaps, int n, const srv_metrics_gauges_t *g)
{
    /* snaps[0] is the model-less slot, snaps[1..n) the models. */
    render_requests(f, snaps, n);
    for (int h = 0; h < H_COUNT; h++) {
        srv_prom_header(f, HIST_DEFS[h].name, "histogram", HIST_DEFS[h].help);
        for (int i = 1; i < n; i++)
            srv_prom_histogram(f, HIST_DEFS[h].name, snaps[i].label, HIST_DEFS[h].bounds,
                               HIST_DEFS[h].n_bounds, snaps[i].hists[h].counts, snaps[i].hists[h].sum);
    }
    srv_prom_header(f, "cnnserve_queue_depth", "gauge", "Requests admitted and not yet answered, by model.");
    for (int i = 1; i < n; i++)
        fprintf(f, "cnnserve_queue_depth{%s} %d\n", snaps[i].label, snaps[i].queue_depth);
    srv_prom_header(f, "cnnserve_in_flight_requests", "gauge",
                    "HTTP requests started and not yet complete, this one included.");
    fprintf(f, "cnnserve_in_flight_requests %d\n", g->in_flight);
    render_process(f);
}

char *srv_metrics_render(const srv_metrics_gauges_t *g, size_t *len)
{
    int n = 1 + atomic_load_explicit(&n_models, memory_order_acquire);
    snapshot_t *snaps = calloc((size_t)n, sizeof *snaps);
    if (!snaps)
        return NULL;
    bool ok = take_snapshot(&no_model, &snaps[0]);
    for (int i = 1; i < n && ok; i++)
        ok = take_snapshot(&models[i - 1], &snaps[i]);
    char *text = NULL;
    FILE *f = ok ? open_memstream(&text, len) : NULL;
    if (f) {
        render(f, snaps, n, g);
        if (fclose(f) != 0) {
            free(text);
            text = NULL;
        }
    }
    for (int i = 0; i < n; i++)
        free(snaps[i].reqs);
    free(snaps);
    return text;
}
