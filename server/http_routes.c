/* Route handlers: health, model metadata, classify and KServe v2 infer
 * (feature maps: http_fmaps.c). */
#include "http_routes.h"

#include "metrics.h"
#include "query.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool respond_copy(srv_http_t *h, srv_request_t *req, int status, const char *text)
{
    char *body = strdup(text);
    return srv_http_respond(h, req, status, body, body ? strlen(body) : 0, NULL, NULL);
}

static const char *not_ready_reason(int state)
{
    return state == SRV_STATE_LOADING ? "models are loading" : "the server is shutting down";
}

/* The route's model, or NULL after answering 404 (or 503 before the models
 * are loaded). */
static const srv_model_t *route_model(srv_http_t *h, srv_request_t *req, const srv_route_t *route,
                                      bool *answered_ok)
{
    int state = atomic_load(&h->state);
    if (state == SRV_STATE_LOADING) {
        *answered_ok = srv_http_error(h, req, 503, MHD_HTTP_HEADER_RETRY_AFTER, "1", "%s",
                                      not_ready_reason(state));
        return NULL;
    }
    const srv_model_repo_t *repo = h->repo;
    if (!route->model)
        return &repo->models[repo->default_index];
    const srv_model_t *m = srv_model_repo_find(repo, route->model, route->model_len);
    if (!m)
        *answered_ok = srv_http_error(h, req, 404, NULL, NULL, "unknown model '%.*s'",
                                      (int)(route->model_len > 128 ? 128 : route->model_len),
                                      route->model);
    return m;
}

static bool health(srv_http_t *h, srv_request_t *req, bool v2, bool ready_probe)
{
    int state = atomic_load(&h->state);
    if (ready_probe && state != SRV_STATE_READY)
        return srv_http_error(h, req, 503, NULL, NULL, "%s", not_ready_reason(state));
    if (v2)
        return respond_copy(h, req, 200, ready_probe ? "{\"ready\":true}" : "{\"live\":true}");
    return respond_copy(h, req, 200, ready_probe ? "{\"status\":\"ready\"}" : "{\"status\":\"live\"}");
}

static bool metrics(srv_http_t *h, srv_request_t *req)
{
    srv_metrics_gauges_t g = {.in_flight = srv_http_live(h)};
    size_t len = 0;
    char *text = srv_metrics_render(&g, &len);
    return srv_http_respond(h, req, 200, text, len, NULL, NULL);
}

bool srv_http_get(srv_http_t *h, srv_request_t *req, const srv_route_t *route)
{
    bool ok = true;
    const srv_model_t *m;
    switch (route->id) {
    case SRV_ROUTE_LIVE: return health(h, req, false, false);
    case SRV_ROUTE_READY: return health(h, req, false, true);
    case SRV_ROUTE_V2_LIVE: return health(h, req, true, false);
    case SRV_ROUTE_V2_READY: return health(h, req, true, true);
    case SRV_ROUTE_METRICS: return metrics(h, req);
    case SRV_ROUTE_DASHBOARD:
    case SRV_ROUTE_DASHBOARD_FILE: return srv_http_dashboard(h, req, route);
    case SRV_ROUTE_V2_SERVER:
        return respond_copy(h, req, 200,
                            "{\"name\":\"cnnserve\",\"version\":\"0.1.0\",\"extensions\":[\"classification\"]}");
    case SRV_ROUTE_MODELS:
        if (atomic_load(&h->state) == SRV_STATE_LOADING)
            return srv_http_error(h, req, 503, MHD_HTTP_HEADER_RETRY_AFTER, "1", "models are loading");
        return respond_copy(h, req, 200, h->repo->list_json);
    case SRV_ROUTE_MODEL:
    case SRV_ROUTE_V2_MODEL:
        if (!(m = route_model(h, req, route, &ok)))
            return ok;
        req->model = m;
        return respond_copy(h, req, 200, route->id == SRV_ROUTE_MODEL ? m->meta_json : m->meta_v2_json);
    case SRV_ROUTE_LAYERS:
        if (!(m = route_model(h, req, route, &ok)))
            return ok;
        req->model = m;
        return respond_copy(h, req, 200, m->layers_json);
    case SRV_ROUTE_V2_MODEL_READY: {
        if (!(m = route_model(h, req, route, &ok)))
            return ok;
        req->model = m;
        int state = atomic_load(&h->state);
        if (state != SRV_STATE_READY)
            return srv_http_error(h, req, 503, NULL, NULL, "%s", not_ready_reason(state));
        cJSON *o = cJSON_CreateObject();
        if (o) {
            cJSON_AddStringToObject(o, "name", m->name);
            cJSON_AddBoolToObject(o, "ready", true);
        }
        char *body = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        return srv_http_respond(h, req, 200, body, body ? strlen(body) : 0, NULL, NULL);
    }
    default:
        return srv_http_error(h, req, 404, NULL, NULL, "no such path");
    }
}

typedef struct query_ctx {
    srv_query_t q;
    srv_error_t err;
    bool failed;
} query_ctx_t;

static enum MHD_Result query_pair_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    query_ctx_t *c = cls;
    if (!c->failed && !srv_query_set(&c->q, key, value, &c->err))
        c->failed = true;
    return c->failed ? MHD_NO : MHD_YES;
}

bool srv_http_submit(srv_http_t *h, srv_request_t *req)
{
    if (!srv_http_may_infer(h, req))
        return srv_http_error(h, req, 503, MHD_HTTP_HEADER_RETRY_AFTER, "1", "the server is shutting down");
    if (!srv_scheduler_admit(h->sched))
        return srv_http_error(h, req, 503, MHD_HTTP_HEADER_RETRY_AFTER, "1",
                              "the request queue is full (%d requests)", h->cfg->queue_size);
    req->phase = SRV_PHASE_WAIT;
    MHD_suspend_connection(req->conn);
    srv_scheduler_submit(h->sched, req);
    return true;
}

bool srv_http_parse_images(srv_http_t *h, srv_request_t *req, bool *answered_ok)
{
    const char *ct = NULL;
    size_t ct_len = 0;
    if (MHD_lookup_connection_value_n(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE,
                                      strlen(MHD_HTTP_HEADER_CONTENT_TYPE), &ct, &ct_len) != MHD_YES)
        ct = NULL;
    srv_body_limits_t limits = {(size_t)h->cfg->max_images, h->cfg->max_body_bytes};
    srv_error_t err;
    if (!srv_body_parse_images(ct, ct_len, req->body, req->body_len, &limits, &req->images, &err)) {
        *answered_ok = srv_http_error(h, req, err.http_status, NULL, NULL, "%s", err.message);
        return false;
    }
    req->kind = SRV_REQUEST_CLASSIFY;
    req->n_images = (int)req->images.count;
    return true;
}

static bool classify(srv_http_t *h, srv_request_t *req, const srv_model_t *m)
{
    query_ctx_t qc = {.failed = false};
    srv_query_init(&qc.q);
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_pair_cb, &qc);
    if (!qc.failed && !srv_query_finish(&qc.q, (int)m->output_size, &qc.err))
        qc.failed = true;
    if (qc.failed)
        return srv_http_error(h, req, qc.err.http_status, NULL, NULL, "%s", qc.err.message);
    bool ok = true;
    if (!srv_http_parse_images(h, req, &ok))
        return ok;
    req->top_k = qc.q.top_k;
    return srv_http_submit(h, req);
}

static bool kserve_infer(srv_http_t *h, srv_request_t *req, const srv_model_t *m)
{
    srv_kserve_model_t spec = {
        .input_name = "input",
        .output_name = "output",
        .channels = m->info->input_channels,
        .height = m->info->input_height,
        .width = m->info->input_width,
        .num_classes = (int)m->output_size,
        .max_batch = h->cfg->max_images,
    };
    srv_error_t err;
    if (!srv_kserve_parse_request(req->body, req->body_len, &spec, &req->kserve, &err))
        return srv_http_error(h, req, err.http_status, NULL, NULL, "%s", err.message);
    req->kind = SRV_REQUEST_KSERVE;
    req->n_images = req->kserve.batch;
    return srv_http_submit(h, req);
}

bool srv_http_post(srv_http_t *h, srv_request_t *req, const srv_route_t *route)
{
    bool ok = true;
    const srv_model_t *m = route_model(h, req, route, &ok);
    if (!m)
        return ok;
    req->model = m;
    if (route->id == SRV_ROUTE_V2_INFER)
        return kserve_infer(h, req, m);
    if (route->id == SRV_ROUTE_FEATUREMAPS)
        return srv_http_featuremaps(h, req, m);
    return classify(h, req, m);
}

bool srv_http_send_answer(srv_http_t *h, srv_request_t *req)
{
    if (req->prepared)
        return srv_http_queue_prepared(h, req);
    if (req->status != 200)
        return srv_http_error(h, req, req->status, req->status == 503 ? MHD_HTTP_HEADER_RETRY_AFTER : NULL,
                              req->status == 503 ? "1" : NULL, "%s", req->error.message);
    if (req->fmaps)
        return srv_http_send_featuremaps(h, req);
    size_t len = 0;
    char *body = req->kind == SRV_REQUEST_KSERVE ? srv_reply_kserve(req, &len) : srv_reply_classify(req, &len);
    if (!body)
        return srv_http_error(h, req, 500, NULL, NULL, "out of memory for the reply");
    return srv_http_respond(h, req, 200, body, len, NULL, NULL);
}
