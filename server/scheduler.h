/* The scheduler: one libuv loop thread between the HTTP threads and the
 * inference worker.
 *
 *   HTTP thread ──srv_scheduler_submit──▶ inbox (mutex) + uv_async_send
 *   loop thread: drains the whole inbox per wake-up; classify requests are
 *     decoded and preprocessed on libuv's thread pool (uv_queue_work), KServe
 *     tensors go straight on; per model, a batcher sends a batch to the
 *     worker when max_batch_size images wait or the oldest has waited
 *     max_queue_delay_us (a uv_timer), keeping at most two batches per model
 *     at the worker so that images pile up into bigger batches under load;
 *   worker thread ──done──▶ completion list (mutex) + uv_async_send;
 *   loop thread: copies each image's output into its request; a request
 *     whose images are all done, that failed, or that passed --timeout-ms
 *     (504) is answered through the answer callback (which resumes its
 *     connection).
 * A request may span several batches (more images than max_batch_size).
 * Results of batches whose requests were already answered (timed out) are
 * dropped. */
#ifndef SRV_SCHEDULER_H
#define SRV_SCHEDULER_H

#include "infer_worker.h"
#include "model_repo.h"
#include "request.h"
#include "serve_config.h"

#include <uv.h>

typedef struct srv_scheduler srv_scheduler_t;

/* Called on the loop thread once per submitted request, after its answer
 * (req->status, req->error, outputs) is written. */
typedef void (*srv_answer_cb)(void *ctx, srv_request_t *req);

/* Creates the scheduler's handles on `loop` and starts the worker; the repo
 * must stay loaded until srv_scheduler_free. NULL on failure (msg filled). */
srv_scheduler_t *srv_scheduler_create(uv_loop_t *loop, const srv_config_t *cfg, srv_model_repo_t *repo,
                                      srv_answer_cb answer, void *answer_ctx, char *msg, size_t msg_size);

/* Reserves a place in the bounded queue (any thread): false when
 * --queue-size requests are already admitted and unanswered (the caller
 * answers 503). A reservation must be followed by srv_scheduler_submit. */
bool srv_scheduler_admit(srv_scheduler_t *s);

/* Hands an admitted request over (any thread; takes a reference). The
 * request's connection must already be suspended. */
void srv_scheduler_submit(srv_scheduler_t *s, srv_request_t *req);

/* Requests admitted and not yet answered. */
int srv_scheduler_pending(const srv_scheduler_t *s);

/* Stops the worker and closes the loop's handles (loop thread, once nothing
 * is pending); uv_run then returns once they are closed. */
void srv_scheduler_close(srv_scheduler_t *s);

/* Frees the scheduler after its loop has run to the end. */
void srv_scheduler_free(srv_scheduler_t *s);

#endif
