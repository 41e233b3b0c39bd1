/* One HTTP request while the server holds it: created by the HTTP thread
 * that reads it (libmicrohttpd's per-request context), and, for inference
 * requests, handed to the scheduler's loop thread and back.
 *
 * Ownership: `refs` counts owners. The HTTP side holds one from creation
 * until libmicrohttpd reports the request complete (response sent, or the
 * client gone); the scheduler holds one from srv_scheduler_submit until it
 * has answered and no preprocessing job or batch still points at the
 * request. The last srv_request_release frees it, so neither side can free
 * memory the other still uses, whichever finishes first.
 *
 * Fields are written in phases, each by one thread: the HTTP thread fills
 * the input part before submitting; the loop thread alone touches the
 * scheduling part afterwards and writes the answer part before resuming the
 * connection (libmicrohttpd's resume orders those writes before the HTTP
 * thread reads the answer). */
#ifndef SRV_REQUEST_H
#define SRV_REQUEST_H

#include "body_images.h"
#include "fmap_spec.h"
#include "http_error.h"
#include "kserve_request.h"
#include "model_repo.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <uv.h>

struct MHD_Connection;

typedef enum srv_request_kind {
    SRV_REQUEST_CLASSIFY = 0, /* images to decode and preprocess */
    SRV_REQUEST_KSERVE,       /* an already preprocessed FP32 tensor */
} srv_request_kind_t;

typedef struct srv_request srv_request_t;

struct srv_request {
    atomic_int refs;

    /* HTTP side (the thread serving the connection). */
    struct MHD_Connection *conn;
    int route;              /* srv_route_id_t */
    int phase;              /* srv_http phase */
    uint8_t *body;
    size_t body_len, body_cap;
    bool body_too_large;    /* over --max-body-bytes: body dropped, */
    size_t discarded;       /* bytes counted since */
    double t_arrival;       /* monotonic seconds at the first header */
    int http_status;        /* status of the response sent, for metrics */
    bool before_drain;      /* headers read before draining began: served */

    /* Input, filled before srv_scheduler_submit, then read-only. */
    srv_request_kind_t kind;
    const srv_model_t *model;
    srv_image_list_t images;      /* classify: slices of body */
    srv_kserve_request_t kserve;  /* kserve: the tensor (becomes `input`) */
    int top_k;                    /* classify: predictions per image */
    srv_fmap_spec_t *fmaps;       /* featuremaps: layers to copy out (owned); NULL for classify */
    int n_images;
    double t_admit;

    /* Scheduling (loop thread, and the one job working on it). */
    float *input;            /* n_images × model->image_floats */
    float *output;           /* n_images × model->output_size */
    float *fmap_data;        /* featuremaps: n_images × fmaps->image_floats, written by the
                              * worker while a batch holding the image runs */
    int next_image;          /* first image not yet put in a batch */
    int images_done;
    int pending_ops;         /* preprocessing jobs and batches pointing here */
    bool answered;
    srv_error_t prep_error;  /* set by the preprocessing job */
    bool prep_failed;
    double prep_s;           /* its duration */
    double t_ready;          /* preprocessed, waiting for a batch */
    double preprocess_s, queue_s, inference_s;
    int batch_size;          /* largest batch its images ran in */
    srv_request_t *tprev, *tnext; /* admission order, for timeouts */
    srv_request_t *bnext;         /* the model's batching queue */
    srv_request_t *inext;         /* the scheduler's inbox */
    bool in_queue;                /* in the model's batching queue */
    uv_work_t work;
    /* A reply too big to build on an HTTP thread (feature maps) is built on
     * libuv's pool after the answer and before the resume: while
     * `defer_response` is set, srv_http_respond_typed stores the response
     * here instead of queueing it, and the HTTP thread queues it after. */
    uv_work_t reply_work;
    bool defer_response;
    void *reply_ctx;             /* the srv_http_t, for the pool job */
    struct MHD_Response *prepared;
    int prepared_status;
    struct srv_scheduler *sched;  /* for the preprocessing job's callbacks */
    uint64_t prep_max_pixels;

    /* The answer, written by the loop thread before the resume. */
    int status;              /* 200, or the error status */
    srv_error_t error;       /* when status != 200 */
    double total_s;
};

/* A zeroed request with refs = 1 (the HTTP side's); NULL when out of memory. */
srv_request_t *srv_request_create(struct MHD_Connection *conn);

/* Takes one more reference. */
void srv_request_retain(srv_request_t *req);

/* Drops a reference; the last one frees the request and what it owns. */
void srv_request_release(srv_request_t *req);

/* Monotonic clock in seconds. */
double srv_now(void);

#endif
