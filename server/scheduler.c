/* The scheduler's loop: inbox, preprocessing jobs, per-model batchers,
 * timeouts and completions (see scheduler.h). Everything below runs on the
 * loop thread except srv_scheduler_admit, srv_scheduler_submit,
 * batch_done_cb (worker thread) and prep_work_cb (thread pool). Small
 * requests are preprocessed on the loop thread itself (prepare_inline). */
#include "scheduler.h"

#include "metrics.h"
#include "request_prep.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Batches a model may have at the worker: one running, one ready. */
#define SRV_BATCHES_IN_FLIGHT 2
/* Retry delay after a batch could not be allocated. */
#define SRV_BATCH_RETRY_MS 10
/* Requests small enough to preprocess on the loop thread (prepare_inline):
 * a few tens of microseconds each, CIFAR/MNIST-sized images. */
#define SRV_INLINE_MAX_IMAGES 4
#define SRV_INLINE_MAX_BYTES (64 * 1024)
#define SRV_INLINE_MAX_PIXELS (64 * 64)

typedef struct model_queue {
    srv_scheduler_t *sched;
    srv_model_t *model;
    srv_request_t *head, *tail; /* requests with images not yet in a batch */
    int pending_images;
    int in_flight;
    uv_timer_t timer; /* max_queue_delay_us of the oldest */
} model_queue_t;

struct srv_scheduler {
    uv_loop_t *loop;
    const srv_config_t *cfg;
    srv_model_repo_t *repo;
    srv_answer_cb answer;
    void *answer_ctx;
    srv_worker_t worker;
    bool worker_started;

    pthread_mutex_t mu; /* guards the two lists below */
    srv_request_t *inbox_head, *inbox_tail;
    srv_batch_t *done_head, *done_tail;
    uv_async_t wake;

    atomic_int admitted;
    srv_request_t *thead, *ttail; /* unanswered requests in admission order */
    uv_timer_t timeout_timer;
    model_queue_t *queues; /* one per model */
    int handles_open;
};

static void dispatch(model_queue_t *q);
static void timeout_cb(uv_timer_t *t);

/* ---- answering --------------------------------------------------------- */

static void timeout_list_remove(srv_scheduler_t *s, srv_request_t *req)
{
    if (req->tprev)
        req->tprev->tnext = req->tnext;
    else if (s->thead == req)
        s->thead = req->tnext;
    if (req->tnext)
        req->tnext->tprev = req->tprev;
    else if (s->ttail == req)
        s->ttail = req->tprev;
    req->tprev = req->tnext = NULL;
}

static void model_queue_remove(model_queue_t *q, srv_request_t *req)
{
    srv_request_t **p = &q->head, *prev = NULL;
    while (*p && *p != req) {
        prev = *p;
        p = &(*p)->bnext;
    }
    if (!*p)
        return;
    *p = req->bnext;
    if (q->tail == req)
        q->tail = prev;
    req->bnext = NULL;
    req->in_queue = false;
    q->pending_images -= req->n_images - req->next_image;
}

/* Drops the scheduler's reference once the request is answered and no job
 * or batch points at it. Called last by each event handler that touched the
 * request (the HTTP side may have released its reference as soon as the
 * answer resumed the connection, so this may free it). */
static void release_if_idle(srv_request_t *req)
{
    if (req->answered && req->pending_ops == 0)
        srv_request_release(req);
}

/* Answers a request (once): status 200, or an error with err's status.
 * The caller then calls release_if_idle. */
static void answer(srv_scheduler_t *s, srv_request_t *req, const srv_error_t *err)
{
    if (req->answered)
        return;
    req->answered = true;
    timeout_list_remove(s, req);
    if (req->in_queue)
        model_queue_remove(&s->queues[req->model->index], req);
    if (err) {
        req->status = err->http_status;
        req->error = *err;
    } else {
        req->status = 200;
    }
    req->total_s = srv_now() - req->t_admit;
    atomic_fetch_sub(&s->admitted, 1);
    srv_metrics_queue(req->model->index, -1);
    s->answer(s->answer_ctx, req);
}

static void answer_error(srv_scheduler_t *s, srv_request_t *req, int status, const char *msg)
{
    srv_error_t err;
    srv_error_set(&err, status, "%s", msg);
    answer(s, req, &err);
}

/* ---- timeouts ---------------------------------------------------------- */

static void arm_timeout(srv_scheduler_t *s)
{
    if (!s->thead) {
        uv_timer_stop(&s->timeout_timer);
        return;
    }
    double left = s->thead->t_admit + s->cfg->timeout_ms * 1e-3 - srv_now();
    uint64_t ms = left > 0 ? (uint64_t)ceil(left * 1e3) : 0;
    uv_timer_start(&s->timeout_timer, timeout_cb, ms, 0);
}

static void timeout_cb(uv_timer_t *t)
{
    srv_scheduler_t *s = t->data;
    double now = srv_now(), limit = s->cfg->timeout_ms * 1e-3;
    while (s->thead && now - s->thead->t_admit >= limit) {
        char msg[96];
        snprintf(msg, sizeof msg, "no answer within %d ms", s->cfg->timeout_ms);
        srv_request_t *req = s->thead;
        answer_error(s, req, 504, msg);
        release_if_idle(req);
    }
    arm_timeout(s);
}

/* ---- batching ---------------------------------------------------------- */

static void enqueue(srv_scheduler_t *s, srv_request_t *req)
{
    model_queue_t *q = &s->queues[req->model->index];
    req->t_ready = srv_now();
    req->bnext = NULL;
    req->in_queue = true;
    if (q->tail)
        q->tail->bnext = req;
    else
        q->head = req;
    q->tail = req;
    q->pending_images += req->n_images;
    dispatch(q);
}

/* Feature-map copies the first n waiting images ask for. */
static size_t count_fetches(const model_queue_t *q, int n)
{
    size_t count = 0;
    const srv_request_t *req = q->head;
    int i = req ? req->next_image : 0;
    for (int k = 0; k < n && req; k++) {
        if (req->fmaps)
            count += (size_t)req->fmaps->n_layers;
        if (++i == req->n_images) {
            req = req->bnext;
            i = req ? req->next_image : 0;
        }
    }
    return count;
}

/* Moves the first n waiting images into one batch for the worker; false
 * when out of memory (nothing moved). Answers nothing, so no request is
 * released under its caller. The batch's feature-map copies are the union
 * of what its images' requests ask: each image gets the layers of its own
 * request, written straight into that request's fmap_data, and plain
 * classify images in the same batch cost nothing more. */
static bool send_batch(model_queue_t *q, int n)
{
    srv_scheduler_t *s = q->sched;
    srv_model_t *m = q->model;
    srv_batch_t *b = srv_batch_create(m, n, count_fetches(q, n));
    if (!b)
        return false;
    size_t in_floats = m->image_floats;
    while (b->n < n) {
        srv_request_t *req = q->head;
        int i = req->next_image++;
        memcpy(b->input + (size_t)b->n * in_floats, req->input + (size_t)i * in_floats,
               in_floats * sizeof(float));
        if (req->fmaps) {
            const srv_fmap_spec_t *fs = req->fmaps;
            float *block = req->fmap_data + (size_t)i * fs->image_floats;
            for (int l = 0; l < fs->n_layers; l++)
                b->fetches[b->n_fetches++] = (cnn_fetch_t){fs->layers[l].index, b->n, 1,
                                                           block + fs->layers[l].offset};
        }
        b->items[b->n++] = (srv_batch_item_t){req, i};
        req->pending_ops++;
        if (req->next_image == req->n_images) {
            q->head = req->bnext;
            if (!q->head)
                q->tail = NULL;
            req->bnext = NULL;
            req->in_queue = false;
        }
    }
    q->pending_images -= n;
    q->in_flight++;
    srv_worker_push(&s->worker, b);
    return true;
}

static void delay_cb(uv_timer_t *t)
{
    dispatch(t->data);
}

/* Sends what is due: full batches (up to SRV_BATCHES_IN_FLIGHT at the
 * worker), then a partial one once the oldest image has waited the model's
 * delay and none of the model's batches is at the worker: a partial batch
 * queued behind a running one could not grow while it waits, so it keeps
 * filling here until that batch completes (which dispatches again). Arms
 * the timer otherwise (or to retry after an allocation failure; requests
 * that keep waiting time out). */
static void dispatch(model_queue_t *q)
{
    int max = q->model->max_batch_size;
    double delay = q->model->max_queue_delay_us * 1e-6;
    while (q->pending_images > 0 && q->in_flight < SRV_BATCHES_IN_FLIGHT) {
        if (q->pending_images < max) {
            if (q->in_flight > 0)
                return;
            double waited = srv_now() - q->head->t_ready;
            if (waited < delay) {
                uv_timer_start(&q->timer, delay_cb, (uint64_t)ceil((delay - waited) * 1e3), 0);
                return;
            }
        }
        if (!send_batch(q, q->pending_images < max ? q->pending_images : max)) {
            uv_timer_start(&q->timer, delay_cb, SRV_BATCH_RETRY_MS, 0);
            return;
        }
    }
}

/* Worker thread: hands a finished batch back to the loop. */
static void batch_done_cb(void *ctx, srv_batch_t *b)
{
    srv_scheduler_t *s = ctx;
    pthread_mutex_lock(&s->mu);
    if (s->done_tail)
        s->done_tail->next = b;
    else
        s->done_head = b;
    s->done_tail = b;
    pthread_mutex_unlock(&s->mu);
    uv_async_send(&s->wake);
}

static void complete_batch(srv_scheduler_t *s, srv_batch_t *b)
{
    srv_model_t *m = b->model;
    model_queue_t *q = &s->queues[m->index];
    q->in_flight--;
    double run_s = b->t_end - b->t_start;
    srv_metrics_batch(m->index, b->n, run_s);
    for (int k = 0; k < b->n; k++) {
        srv_request_t *req = b->items[k].req;
        int i = b->items[k].image;
        req->pending_ops--;
        if (!req->answered) {
            bool first_in_batch = k == 0 || b->items[k - 1].req != req;
            if (first_in_batch) {
                if (b->n > req->batch_size)
                    req->batch_size = b->n;
                if (i == 0)
                    req->queue_s = b->t_start - req->t_ready;
                req->inference_s += run_s;
            }
            if (b->status != CNN_OK) {
                char msg[sizeof b->err.message + 32];
                snprintf(msg, sizeof msg, "inference failed: %s", b->err.message);
                answer_error(s, req, 500, msg);
            } else {
                memcpy(req->output + (size_t)i * m->output_size, b->output + (size_t)k * m->output_size,
                       m->output_size * sizeof(float));
                if (++req->images_done == req->n_images)
                    answer(s, req, NULL);
            }
        }
        release_if_idle(req);
    }
    srv_batch_free(b);
    dispatch(q);
}

/* ---- preprocessing ----------------------------------------------------- */

static void prep_work_cb(uv_work_t *w)
{
    srv_request_t *req = w->data;
    srv_request_preprocess(req, req->prep_max_pixels);
}

/* Preprocessing of req is over (canceled: the job never ran): queues it
 * for a batch or answers its error. The caller then calls release_if_idle. */
static void prepared(srv_scheduler_t *s, srv_request_t *req, bool canceled)
{
    if (req->answered)
        return;
    req->preprocess_s = req->prep_s;
    if (canceled)
        answer_error(s, req, 503, "the server is shutting down");
    else if (req->prep_failed)
        answer(s, req, &req->prep_error);
    else
        enqueue(s, req);
}

static void prep_after_cb(uv_work_t *w, int status)
{
    srv_request_t *req = w->data;
    req->pending_ops--;
    prepared(req->sched, req, status == UV_ECANCELED);
    release_if_idle(req);
}

/* Preprocesses a small request on the loop thread, sparing the two thread
 * hand-offs of a pool job (most of the cost of a 28x28 image): at most
 * SRV_INLINE_MAX_IMAGES images in at most SRV_INLINE_MAX_BYTES, each
 * decoded only if its header says at most SRV_INLINE_MAX_PIXELS pixels, so
 * the loop never stalls on a big or bomb-like image. False when the
 * request must go to the pool (nothing of it kept); true when it is
 * prepared (queued or answered, and the caller calls release_if_idle). */
static bool prepare_inline(srv_scheduler_t *s, srv_request_t *req)
{
    if (req->n_images > SRV_INLINE_MAX_IMAGES)
        return false;
    size_t bytes = 0;
    for (int i = 0; i < req->n_images; i++)
        bytes += req->images.items[i].len;
    if (bytes > SRV_INLINE_MAX_BYTES)
        return false;
    uint64_t cfg_max = s->cfg->max_pixels;
    bool cfg_binds = cfg_max != 0 && cfg_max <= SRV_INLINE_MAX_PIXELS;
    srv_request_preprocess(req, cfg_binds ? cfg_max : SRV_INLINE_MAX_PIXELS);
    if (req->prep_failed && req->prep_error.http_status == 413 && !cfg_binds) {
        free(req->input);
        free(req->output);
        free(req->fmap_data);
        req->input = req->output = req->fmap_data = NULL;
        req->prep_failed = false;
        return false;
    }
    prepared(s, req, false);
    return true;
}

/* ---- inbox ------------------------------------------------------------- */

static void start_request(srv_scheduler_t *s, srv_request_t *req)
{
    req->tprev = s->ttail;
    req->tnext = NULL;
    if (s->ttail)
        s->ttail->tnext = req;
    else
        s->thead = req;
    s->ttail = req;
    if (s->thead == req)
        arm_timeout(s);
    if (req->kind == SRV_REQUEST_KSERVE) {
        req->input = req->kserve.data;
        if (!srv_request_alloc_output(req)) {
            answer_error(s, req, 500, "out of memory");
            release_if_idle(req);
        } else {
            enqueue(s, req);
        }
        return;
    }
    if (prepare_inline(s, req)) {
        release_if_idle(req);
        return;
    }
    req->work.data = req;
    req->sched = s;
    req->prep_max_pixels = s->cfg->max_pixels;
    req->pending_ops++;
    if (uv_queue_work(s->loop, &req->work, prep_work_cb, prep_after_cb) != 0) {
        req->pending_ops--;
        answer_error(s, req, 500, "cannot queue preprocessing");
        release_if_idle(req);
    }
}

static void wake_cb(uv_async_t *h)
{
    srv_scheduler_t *s = h->data;
    pthread_mutex_lock(&s->mu);
    srv_request_t *reqs = s->inbox_head;
    srv_batch_t *done = s->done_head;
    s->inbox_head = s->inbox_tail = NULL;
    s->done_head = s->done_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    while (done) {
        srv_batch_t *next = done->next;
        complete_batch(s, done);
        done = next;
    }
    while (reqs) {
        srv_request_t *next = reqs->inext;
        reqs->inext = NULL;
        start_request(s, reqs);
        reqs = next;
    }
}

/* ---- public ------------------------------------------------------------ */

bool srv_scheduler_admit(srv_scheduler_t *s)
{
    if (atomic_fetch_add(&s->admitted, 1) >= s->cfg->queue_size) {
        atomic_fetch_sub(&s->admitted, 1);
        return false;
    }
    return true;
}

void srv_scheduler_submit(srv_scheduler_t *s, srv_request_t *req)
{
    srv_request_retain(req);
    srv_metrics_queue(req->model->index, 1);
    req->t_admit = srv_now();
    req->inext = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->inbox_tail)
        s->inbox_tail->inext = req;
    else
        s->inbox_head = req;
    s->inbox_tail = req;
    pthread_mutex_unlock(&s->mu);
    uv_async_send(&s->wake);
}

int srv_scheduler_pending(const srv_scheduler_t *s)
{
    return atomic_load(&s->admitted);
}

srv_scheduler_t *srv_scheduler_create(uv_loop_t *loop, const srv_config_t *cfg, srv_model_repo_t *repo,
                                      srv_answer_cb answer_fn, void *answer_ctx, char *msg,
                                      size_t msg_size)
{
    srv_scheduler_t *s = calloc(1, sizeof *s);
    if (!s || !(s->queues = calloc((size_t)repo->count, sizeof *s->queues))) {
        free(s);
        snprintf(msg, msg_size, "out of memory");
        return NULL;
    }
    s->loop = loop;
    s->cfg = cfg;
    s->repo = repo;
    s->answer = answer_fn;
    s->answer_ctx = answer_ctx;
    atomic_init(&s->admitted, 0);
    pthread_mutex_init(&s->mu, NULL);
    uv_async_init(loop, &s->wake, wake_cb);
    s->wake.data = s;
    uv_timer_init(loop, &s->timeout_timer);
    s->timeout_timer.data = s;
    for (int i = 0; i < repo->count; i++) {
        model_queue_t *q = &s->queues[i];
        q->sched = s;
        q->model = &repo->models[i];
        uv_timer_init(loop, &q->timer);
        q->timer.data = q;
    }
    s->handles_open = 1;
    s->worker_started = srv_worker_start(&s->worker, batch_done_cb, s);
    if (!s->worker_started) {
        snprintf(msg, msg_size, "cannot start the inference worker thread");
        srv_scheduler_close(s);
        uv_run(loop, UV_RUN_DEFAULT);
        srv_scheduler_free(s);
        return NULL;
    }
    return s;
}

void srv_scheduler_close(srv_scheduler_t *s)
{
    if (s->worker_started) {
        srv_worker_stop(&s->worker);
        s->worker_started = false;
    }
    /* Batches of requests answered early (timeouts) may have finished
     * after the last wake-up: their references are dropped here. */
    wake_cb(&s->wake);
    if (!s->handles_open)
        return;
    s->handles_open = 0;
    uv_close((uv_handle_t *)&s->wake, NULL);
    uv_close((uv_handle_t *)&s->timeout_timer, NULL);
    for (int i = 0; i < s->repo->count; i++)
        uv_close((uv_handle_t *)&s->queues[i].timer, NULL);
}

void srv_scheduler_free(srv_scheduler_t *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s->queues);
    free(s);
}
