/* The HTTP front end (libmicrohttpd, internal polling threads with
 * suspend/resume): routes requests, reads bodies within --max-body-bytes,
 * answers what needs no model at once, parses inference requests into
 * typed requests, suspends their connections and hands them to the
 * scheduler; the scheduler's answer resumes the connection and the HTTP
 * thread serializes the reply. */
#ifndef SRV_HTTP_SERVER_H
#define SRV_HTTP_SERVER_H

#include "model_repo.h"
#include "request.h"
#include "scheduler.h"
#include "serve_config.h"

#include <stdatomic.h>

typedef enum srv_server_state {
    SRV_STATE_LOADING = 0, /* listening, models not loaded: ready → 503 */
    SRV_STATE_READY,
    SRV_STATE_DRAINING,    /* shutting down: ready → 503, new inference → 503 */
} srv_server_state_t;

typedef struct srv_http {
    const srv_config_t *cfg;
    struct MHD_Daemon *daemon;
    int port;                /* the bound port */
    atomic_int state;        /* srv_server_state_t */
    srv_model_repo_t *repo;  /* published before state turns READY */
    srv_scheduler_t *sched;
    uv_loop_t *loop;         /* the scheduler's loop, for building big replies off the HTTP threads */
    atomic_int live;         /* requests libmicrohttpd has not completed */
} srv_http_t;

/* Starts listening on cfg->host:cfg->port in state LOADING. false on
 * failure (msg filled). */
bool srv_http_start(srv_http_t *h, const srv_config_t *cfg, char *msg, size_t msg_size);

/* Publishes the loaded models and the scheduler (running on `loop`); state
 * turns READY. */
void srv_http_set_ready(srv_http_t *h, srv_model_repo_t *repo, srv_scheduler_t *sched, uv_loop_t *loop);

/* State DRAINING: new connections are closed as soon as they are accepted,
 * requests that start on open connections get 503 with "Connection:
 * close"; requests whose headers had arrived are served. */
void srv_http_drain(srv_http_t *h);

/* Requests that have started and not completed (response sent or client
 * gone). */
int srv_http_live(const srv_http_t *h);

/* Stops the daemon (no connection may be suspended). */
void srv_http_stop(srv_http_t *h);

/* Queues a response of `len` bytes of `body` (malloc'ed; freed here in every
 * case) with Content-Type `type` and the extra headers headers[0..2n) (name,
 * value pairs); with req->defer_response set, keeps it in req->prepared
 * for srv_http_queue_prepared instead. */
bool srv_http_respond_typed(srv_http_t *h, srv_request_t *req, int status, void *body, size_t len,
                            const char *type, const char *const *headers, int n_headers);

/* Queues the response built ahead in req->prepared (HTTP thread). */
bool srv_http_queue_prepared(srv_http_t *h, srv_request_t *req);

/* The scheduler's answer callback (loop thread): resumes the request's
 * connection; for a feature-map answer, once its reply is built on libuv's
 * thread pool. */
void srv_http_resume(void *ctx, srv_request_t *req);

#endif
