/* libmicrohttpd glue: daemon, access handler phases, responses. */
#include "http_server.h"

#include "cors.h"
#include "http_routes.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes past --max-body-bytes read (and dropped) before a 413, at most. */
#define SRV_DISCARD_MAX ((size_t)64 * 1024 * 1024)

/* Adds the headers every response carries, queues `resp` now (HTTP
 * thread) and destroys it. */
static bool queue_now(srv_http_t *h, srv_request_t *req, int status, struct MHD_Response *resp)
{
    bool ok = MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") == MHD_YES;
    const char *cors = h->cfg->cors_origin;
    if (cors) {
        const char *origin = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Origin");
        const char *allow = srv_cors_allow_origin(cors, origin);
        if (strcmp(cors, "*") != 0)
            ok = ok && MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Origin") == MHD_YES;
        if (allow)
            ok = ok && MHD_add_response_header(resp, "Access-Control-Allow-Origin", allow) == MHD_YES &&
                 MHD_add_response_header(resp, "Access-Control-Expose-Headers", SRV_CORS_EXPOSE_HEADERS) ==
                     MHD_YES;
    }
    if (atomic_load(&h->state) == SRV_STATE_DRAINING)
        ok = ok && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") == MHD_YES;
    ok = ok && MHD_queue_response(req->conn, (unsigned int)status, resp) == MHD_YES;
    MHD_destroy_response(resp);
    req->http_status = status;
    req->phase = SRV_PHASE_DONE;
    return ok;
}

bool srv_http_queue(srv_http_t *h, srv_request_t *req, int status, struct MHD_Response *resp)
{
    if (req->defer_response) {
        req->prepared = resp;
        req->prepared_status = status;
        return true;
    }
    return queue_now(h, req, status, resp);
}

bool srv_http_respond(srv_http_t *h, srv_request_t *req, int status, char *body, size_t len,
                      const char *header, const char *value)
{
    const char *headers[2] = {header, value};
    return srv_http_respond_typed(h, req, status, body, len,
                                  status == 200 && req->route == SRV_ROUTE_METRICS ? "text/plain; version=0.0.4"
                                                                                  : "application/json",
                                  headers, header ? 1 : 0);
}

bool srv_http_respond_typed(srv_http_t *h, srv_request_t *req, int status, void *body, size_t len,
                            const char *type, const char *const *headers, int n_headers)
{
    struct MHD_Response *resp = body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
                                     : NULL;
    if (!resp) {
        free(body);
        return false;
    }
    bool ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) == MHD_YES;
    for (int i = 0; i < n_headers; i++)
        ok = ok && MHD_add_response_header(resp, headers[2 * i], headers[2 * i + 1]) == MHD_YES;
    if (!ok) {
        MHD_destroy_response(resp);
        return false;
    }
    return srv_http_queue(h, req, status, resp);
}

bool srv_http_queue_prepared(srv_http_t *h, srv_request_t *req)
{
    struct MHD_Response *resp = req->prepared;
    req->prepared = NULL;
    return queue_now(h, req, req->prepared_status, resp);
}

bool srv_http_error(srv_http_t *h, srv_request_t *req, int status, const char *header,
                    const char *value, const char *fmt, ...)
{
    srv_error_t err;
    char msg[sizeof err.message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    srv_error_set(&err, status, "%s", msg);
    size_t len = 0;
    char *body = srv_reply_error(err.message, &len);
    return srv_http_respond(h, req, status, body, len, header, value);
}

static enum MHD_Result result(bool ok)
{
    return ok ? MHD_YES : MHD_NO;
}

/* First call, headers read: a body declared over the limit is refused at
 * once (the connection is then closed); everything else is answered once
 * the whole request is in, which keeps the connection alive (libmicrohttpd
 * closes connections whose response is queued before the request is
 * complete). */
static bool on_headers(srv_http_t *h, srv_request_t *req)
{
    req->before_drain = atomic_load(&h->state) != SRV_STATE_DRAINING;
    const char *cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (end != cl && *end == '\0' && n > h->cfg->max_body_bytes)
            return srv_http_error(h, req, 413, NULL, NULL,
                                  "the body of %llu bytes is over the limit of %zu bytes", n,
                                  h->cfg->max_body_bytes);
    }
    req->phase = SRV_PHASE_BODY;
    return true;
}

bool srv_http_may_infer(srv_http_t *h, const srv_request_t *req)
{
    int state = atomic_load(&h->state);
    return state == SRV_STATE_READY || (state == SRV_STATE_DRAINING && req->before_drain);
}

/* A route's methods: OPTIONS too with --cors-origin. */
static const char *allowed_methods(const srv_http_t *h, const srv_route_t *route)
{
    if (!h->cfg->cors_origin)
        return srv_route_allow(route);
    return route->post ? "POST, OPTIONS" : "GET, HEAD, OPTIONS";
}

/* OPTIONS with --cors-origin: a CORS preflight, answered 204 for any
 * origin (srv_http_queue adds Access-Control-Allow-Origin only for the
 * allowed one, so a browser refuses the others). */
static bool preflight(srv_http_t *h, srv_request_t *req, const srv_route_t *route)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return false;
    const char *allow = allowed_methods(h, route);
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES ||
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", allow) != MHD_YES ||
        MHD_add_response_header(resp, "Access-Control-Allow-Headers", SRV_CORS_ALLOW_HEADERS) != MHD_YES ||
        MHD_add_response_header(resp, "Access-Control-Max-Age", SRV_CORS_MAX_AGE) != MHD_YES) {
        MHD_destroy_response(resp);
        return false;
    }
    return srv_http_queue(h, req, 204, resp);
}

/* The whole request is in: route, method, then the route's handler. */
static bool on_request(srv_http_t *h, srv_request_t *req, const char *url, const char *method)
{
    srv_route_t route;
    srv_route_match(url, &route);
    req->route = route.id;
    if (route.id == SRV_ROUTE_NONE)
        return srv_http_error(h, req, 404, NULL, NULL, "no such path: %s", url);
    if (h->cfg->cors_origin && strcmp(method, "OPTIONS") == 0)
        return preflight(h, req, &route);
    bool is_post = strcmp(method, "POST") == 0;
    bool is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (route.post ? !is_post : !is_get) {
        const char *allow = allowed_methods(h, &route);
        return srv_http_error(h, req, 405, MHD_HTTP_HEADER_ALLOW, allow,
                              "method %s is not allowed on %s (allowed: %s)", method, url, allow);
    }
    if (req->body_too_large)
        return srv_http_error(h, req, 413, NULL, NULL, "the body is over the limit of %zu bytes",
                              h->cfg->max_body_bytes);
    if (!route.post)
        return srv_http_get(h, req, &route);
    if (!srv_http_may_infer(h, req))
        return srv_http_error(h, req, 503, MHD_HTTP_HEADER_RETRY_AFTER, "1", "%s",
                              atomic_load(&h->state) == SRV_STATE_LOADING ? "models are loading"
                                                                         : "the server is shutting down");
    return srv_http_post(h, req, &route);
}

/* Appends a piece of body. Past the limit the body is dropped and the rest
 * only counted, to answer 413 once the client has sent it all
 * (libmicrohttpd 0.9.75 cannot queue a response in the middle of an
 * upload); a client sending more than SRV_DISCARD_MAX beyond the limit is
 * disconnected instead (false). */
static bool on_upload(srv_http_t *h, srv_request_t *req, const char *data, size_t n)
{
    size_t max = h->cfg->max_body_bytes;
    if (req->body_too_large) {
        req->discarded += n;
        return req->discarded <= SRV_DISCARD_MAX;
    }
    if (n > max - req->body_len) {
        req->body_too_large = true;
        req->discarded = req->body_len + n;
        free(req->body);
        req->body = NULL;
        req->body_len = req->body_cap = 0;
        return true;
    }
    if (req->body_len + n > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap : 4096;
        while (cap < req->body_len + n)
            cap = cap > max / 2 ? max : cap * 2;
        uint8_t *grown = realloc(req->body, cap);
        if (!grown)
            return false;
        req->body = grown;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, n);
    req->body_len += n;
    return true;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    (void)version;
    srv_http_t *h = cls;
    srv_request_t *req = *con_cls;
    if (!req) {
        req = srv_request_create(conn);
        if (!req)
            return MHD_NO;
        atomic_fetch_add(&h->live, 1);
        *con_cls = req;
        return result(on_headers(h, req));
    }
    switch (req->phase) {
    case SRV_PHASE_BODY:
        if (*upload_data_size) {
            bool ok = on_upload(h, req, upload_data, *upload_data_size);
            *upload_data_size = 0;
            return result(ok);
        }
        return result(on_request(h, req, url, method));
    case SRV_PHASE_WAIT:
        return result(srv_http_send_answer(h, req));
    default:
        *upload_data_size = 0;
        return MHD_YES;
    }
}

/* New connections are refused (closed at once) while draining. The
 * listening socket stays open: with libmicrohttpd 0.9.75,
 * MHD_quiesce_daemon stalls the connections already open (a keep-alive
 * client's next request is not read until the daemon stops), which would
 * keep their requests from being answered. */
static enum MHD_Result accept_cb(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)addr;
    (void)addrlen;
    srv_http_t *h = cls;
    return atomic_load(&h->state) == SRV_STATE_DRAINING ? MHD_NO : MHD_YES;
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    srv_http_t *h = cls;
    srv_request_t *req = *con_cls;
    if (!req)
        return;
    *con_cls = NULL;
    /* A response was sent: if the scheduler answered the request, it wrote
     * the answer part before the resume that led to the response (only the
     * scheduler sets req->status, to 200 once every image has run). */
    bool sent = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
    bool ran = sent && req->http_status == 200 && req->status == 200;
    srv_request_stats_t st = {
        .route = srv_route_name(req->route),
        .model = req->model ? req->model->index : -1,
        .status = sent ? req->http_status : 0,
        .total_s = srv_now() - req->t_arrival,
        .ran = ran,
        .preprocessed = ran && req->kind == SRV_REQUEST_CLASSIFY,
        .queue_s = req->queue_s,
        .preprocess_s = req->preprocess_s,
        .inference_s = req->inference_s,
    };
    srv_metrics_request(&st);
    srv_request_release(req);
    atomic_fetch_sub(&h->live, 1);
}

bool srv_http_start(srv_http_t *h, const srv_config_t *cfg, char *msg, size_t msg_size)
{
    memset(h, 0, sizeof *h);
    h->cfg = cfg;
    atomic_init(&h->state, SRV_STATE_LOADING);
    atomic_init(&h->live, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
    if (inet_pton(AF_INET, cfg->host, &addr.sin_addr) != 1) {
        snprintf(msg, msg_size, "--host %s is not an IPv4 address", cfg->host);
        return false;
    }
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME |
                         MHD_USE_ERROR_LOG;
    struct MHD_OptionItem opts[8];
    int n = 0;
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &addr};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, cfg->connection_limit, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout_s, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed_cb, h};
    if (cfg->per_ip_limit > 0)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->per_ip_limit, NULL};
    if (cfg->http_threads > 1)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, cfg->http_threads, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    h->daemon = MHD_start_daemon(flags, (uint16_t)cfg->port, accept_cb, h, access_cb, h,
                                 MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!h->daemon) {
        snprintf(msg, msg_size, "cannot listen on %s:%d", cfg->host, cfg->port);
        return false;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : cfg->port;
    return true;
}

void srv_http_set_ready(srv_http_t *h, srv_model_repo_t *repo, srv_scheduler_t *sched, uv_loop_t *loop)
{
    h->repo = repo;
    h->sched = sched;
    h->loop = loop;
    atomic_store(&h->state, SRV_STATE_READY);
}

void srv_http_drain(srv_http_t *h)
{
    atomic_store(&h->state, SRV_STATE_DRAINING);
}

int srv_http_live(const srv_http_t *h)
{
    return atomic_load(&h->live);
}

void srv_http_stop(srv_http_t *h)
{
    if (h->daemon)
        MHD_stop_daemon(h->daemon);
    h->daemon = NULL;
}

/* libuv pool: the feature-map reply, kept in req->prepared. */
static void build_reply_cb(uv_work_t *work)
{
    srv_request_t *req = work->data;
    srv_http_t *h = req->reply_ctx;
    req->defer_response = true;
    if (!srv_http_send_answer(h, req) && req->prepared) {
        MHD_destroy_response(req->prepared);
        req->prepared = NULL;
    }
    req->defer_response = false;
}

static void reply_built_cb(uv_work_t *work, int status)
{
    (void)status;
    srv_request_t *req = work->data;
    MHD_resume_connection(req->conn);
    srv_request_release(req);
}

void srv_http_resume(void *ctx, srv_request_t *req)
{
    srv_http_t *h = ctx;
    if (req->fmaps && req->status == 200) {
        srv_request_retain(req);
        req->reply_work.data = req;
        req->reply_ctx = h;
        if (uv_queue_work(h->loop, &req->reply_work, build_reply_cb, reply_built_cb) == 0)
            return;
        srv_request_release(req); /* not queued: built on the HTTP thread instead */
    }
    MHD_resume_connection(req->conn);
}
