/* The inference worker: one thread per device (here: the CPU) that owns the
 * models' engine sessions and runs the batches the scheduler hands it, one
 * at a time, in order. Finished batches go to a callback on the worker
 * thread (the scheduler's completion list). */
#ifndef SRV_INFER_WORKER_H
#define SRV_INFER_WORKER_H

#include "model_repo.h"
#include "request.h"

#include <pthread.h>

/* One image of a batch: which request and which of its images. */
typedef struct srv_batch_item {
    srv_request_t *req;
    int image;
} srv_batch_item_t;

typedef struct srv_batch srv_batch_t;
struct srv_batch {
    srv_batch_t *next;
    srv_model_t *model;
    int n;
    srv_batch_item_t *items;
    float *input;  /* n × model->image_floats */
    float *output; /* n × model->output_size */
    cnn_fetch_t *fetches; /* feature maps to copy out, into the requests' fmap_data */
    size_t n_fetches;
    double t_start, t_end; /* on the worker */
    cnn_status_t status;
    cnn_error_t err;
};

/* A batch with room for n images and max_fetches feature-map copies;
 * NULL when out of memory. */
srv_batch_t *srv_batch_create(srv_model_t *model, int n, size_t max_fetches);
void srv_batch_free(srv_batch_t *b);

typedef void (*srv_batch_done_cb)(void *ctx, srv_batch_t *batch);

typedef struct srv_worker {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    srv_batch_t *head, *tail;
    bool stopping, started;
    srv_batch_done_cb done;
    void *ctx;
} srv_worker_t;

/* Starts the thread; false on failure. */
bool srv_worker_start(srv_worker_t *w, srv_batch_done_cb done, void *ctx);

/* Queues a batch (any thread); the worker runs it and passes it to `done`. */
void srv_worker_push(srv_worker_t *w, srv_batch_t *b);

/* Runs what is queued, then joins the thread. */
void srv_worker_stop(srv_worker_t *w);

#endif
