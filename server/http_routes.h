/* Internal to the HTTP front end: the route handlers (http_routes.c) and the
 * response helpers they share with the access handler (http_server.c).
 * Each returns false when libmicrohttpd refused the response (the
 * connection is then closed). */
#ifndef SRV_HTTP_ROUTES_H
#define SRV_HTTP_ROUTES_H

#include "http_server.h"
#include "reply_json.h"
#include "routes.h"

/* Phases of a request on its HTTP thread (srv_request_t.phase). */
enum {
    SRV_PHASE_NEW = 0, /* headers read */
    SRV_PHASE_BODY,    /* reading the body of a POST */
    SRV_PHASE_WAIT,    /* suspended, with the scheduler */
    SRV_PHASE_DONE,    /* response queued */
};

struct MHD_Response;

/* Adds the headers every response carries (X-Content-Type-Options, the
 * CORS headers with --cors-origin, "Connection: close" while draining),
 * queues `resp` with `status` and destroys it (always); with
 * req->defer_response set (a reply built off the HTTP thread), keeps it in
 * req->prepared instead, and srv_http_queue_prepared does that later. */
bool srv_http_queue(srv_http_t *h, srv_request_t *req, int status, struct MHD_Response *resp);

/* Queues `body` (malloc'ed, taken over; NULL = out of memory) as a JSON
 * response (Prometheus text on /metrics) with one optional extra header;
 * adds "Connection: close" while draining. */
bool srv_http_respond(srv_http_t *h, srv_request_t *req, int status, char *body, size_t len,
                      const char *header, const char *value);

/* Queues {"error": message} with the status and one optional header. */
bool srv_http_error(srv_http_t *h, srv_request_t *req, int status, const char *header,
                    const char *value, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* True when an inference request may be submitted: models loaded, and not
 * draining unless its headers arrived before the drain began. */
bool srv_http_may_infer(srv_http_t *h, const srv_request_t *req);

/* GET routes, answered at once. */
bool srv_http_get(srv_http_t *h, srv_request_t *req, const srv_route_t *route);

/* GET / and /dashboard/{file}: the embedded dashboard files (http_dashboard.c). */
bool srv_http_dashboard(srv_http_t *h, srv_request_t *req, const srv_route_t *route);

/* POST routes once the body is in: parse, then suspend and submit, or an error. */
bool srv_http_post(srv_http_t *h, srv_request_t *req, const srv_route_t *route);

/* Parses the body's images into req (a classify-kind request, as /classify);
 * false after answering the error (*answered_ok: whether that response was queued). */
bool srv_http_parse_images(srv_http_t *h, srv_request_t *req, bool *answered_ok);

/* Admits the parsed request, suspends its connection and hands it over;
 * or 503 with Retry-After when the queue is full. */
bool srv_http_submit(srv_http_t *h, srv_request_t *req);

/* http_fmaps.c: POST featuremaps (query → layers and channels resolved
 * against m, images, limits, submit) and its answer once resumed. */
bool srv_http_featuremaps(srv_http_t *h, srv_request_t *req, const srv_model_t *m);
bool srv_http_send_featuremaps(srv_http_t *h, srv_request_t *req);

/* A resumed request: its answer. */
bool srv_http_send_answer(srv_http_t *h, srv_request_t *req);

#endif
