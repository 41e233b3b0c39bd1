/* The inference worker thread. */
#include "infer_worker.h"

#include <stdlib.h>

srv_batch_t *srv_batch_create(srv_model_t *model, int n, size_t max_fetches)
{
    srv_batch_t *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->model = model;
    b->items = calloc((size_t)n, sizeof *b->items);
    b->input = malloc((size_t)n * model->image_floats * sizeof(float));
    b->output = malloc((size_t)n * model->output_size * sizeof(float));
    b->fetches = max_fetches ? malloc(max_fetches * sizeof *b->fetches) : NULL;
    if (!b->items || !b->input || !b->output || (max_fetches && !b->fetches)) {
        srv_batch_free(b);
        return NULL;
    }
    return b;
}

void srv_batch_free(srv_batch_t *b)
{
    if (!b)
        return;
    free(b->items);
    free(b->input);
    free(b->output);
    free(b->fetches);
    free(b);
}

static void *worker_main(void *arg)
{
    srv_worker_t *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        srv_batch_t *b = w->head;
        if (!b)
            break;
        w->head = b->next;
        if (!w->head)
            w->tail = NULL;
        pthread_mutex_unlock(&w->mu);
        b->next = NULL;
        b->t_start = srv_now();
        b->status = cnn_session_run_fetch(b->model->session, b->input, b->n, b->output, b->fetches,
                                          b->n_fetches, &b->err);
        b->t_end = srv_now();
        w->done(w->ctx, b);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

bool srv_worker_start(srv_worker_t *w, srv_batch_done_cb done, void *ctx)
{
    w->head = w->tail = NULL;
    w->stopping = false;
    w->done = done;
    w->ctx = ctx;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->started = pthread_create(&w->thread, NULL, worker_main, w) == 0;
    if (!w->started) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
    }
    return w->started;
}

void srv_worker_push(srv_worker_t *w, srv_batch_t *b)
{
    b->next = NULL;
    pthread_mutex_lock(&w->mu);
    if (w->tail)
        w->tail->next = b;
    else
        w->head = b;
    w->tail = b;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void srv_worker_stop(srv_worker_t *w)
{
    if (!w->started)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    w->started = false;
}
