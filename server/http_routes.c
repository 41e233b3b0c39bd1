/* Route handlers: health, model metadata, classify and KServe v2 infer. */
#include "http_routes.h"

#include "fmap_query.h"
#include "metrics.h"
#include "query.h"
#include "reply_fmaps.h"

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

/* Admits the parsed request, suspends its connection and hands it over;
 * or 503 with Retry-After when the queue is full. */
static bool submit(srv_http_t *h, srv_request_t *req)
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

/* Parses the body's images into req (as /classify); false after answering
 * the error. */
static bool parse_images(srv_http_t *h, srv_request_t *req, bool *answered_ok)
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

typedef struct fmap_query_ctx {
    srv_fmap_query_t q;
    srv_error_t err;
    bool failed;
} fmap_query_ctx_t;

static enum MHD_Result fmap_pair_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    fmap_query_ctx_t *c = cls;
    if (!c->failed && !srv_fmap_query_set(&c->q, key, value, &c->err))
        c->failed = true;
    return c->failed ? MHD_NO : MHD_YES;
}

/* 400 {"error": msg} for a message longer than srv_error_t holds. */
static bool error_long(srv_http_t *h, srv_request_t *req, int status, const char *msg)
{
    size_t len = 0;
    char *body = srv_reply_error(msg, &len);
    return srv_http_respond(h, req, status, body, len, NULL, NULL);
}

/* POST featuremaps: query → spec (layers resolved), images, limits, submit. */
static bool featuremaps(srv_http_t *h, srv_request_t *req, const srv_model_t *m)
{
    fmap_query_ctx_t *qc = calloc(1, sizeof *qc);
    if (!qc)
        return srv_http_error(h, req, 500, NULL, NULL, "out of memory");
    srv_fmap_query_init(&qc->q);
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, fmap_pair_cb, qc);
    if (!qc->failed && !srv_fmap_query_finish(&qc->q, (int)m->output_size, &qc->err))
        qc->failed = true;
    char *names_msg = NULL;
    srv_fmap_spec_t *spec = qc->failed ? NULL : malloc(sizeof *spec);
    if (!qc->failed && !spec)
        qc->failed = !srv_error_set(&qc->err, 500, "out of memory");
    if (!qc->failed && !srv_fmap_spec_build(&qc->q, m->model, spec, &names_msg, &qc->err))
        qc->failed = true;
    int top_k = qc->q.base.top_k;
    srv_error_t err = qc->err;
    bool failed = qc->failed;
    srv_fmap_query_free(&qc->q);
    free(qc);
    if (failed) {
        free(spec);
        bool ok = names_msg ? error_long(h, req, err.http_status, names_msg)
                            : srv_http_error(h, req, err.http_status, NULL, NULL, "%s", err.message);
        free(names_msg);
        return ok;
    }
    req->fmaps = spec; /* owned by the request from here */
    req->top_k = top_k;
    bool ok = true;
    if (!parse_images(h, req, &ok))
        return ok;
    if (spec->format == SRV_FMAP_PNG && req->n_images > 1)
        return srv_http_error(h, req, 400, NULL, NULL,
                              "format=png draws one image (got %d); use format=json for several", req->n_images);
    if (spec->format == SRV_FMAP_JSON) {
        size_t least = srv_fmap_min_bytes(spec, req->n_images);
        if (least > h->cfg->max_response_bytes)
            return srv_http_error(h, req, 413, NULL, NULL,
                                  "the response would be at least %zu bytes, over the limit of %zu bytes "
                                  "(--max-response-bytes); ask for fewer layers or channels, or encoding=base64",
                                  least, h->cfg->max_response_bytes);
    }
    return submit(h, req);
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
    const char *ct = NULL;
    size_t ct_len = 0;
    if (MHD_lookup_connection_value_n(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE,
                                      strlen(MHD_HTTP_HEADER_CONTENT_TYPE), &ct, &ct_len) != MHD_YES)
        ct = NULL;
    srv_body_limits_t limits = {(size_t)h->cfg->max_images, h->cfg->max_body_bytes};
    srv_error_t err;
    if (!srv_body_parse_images(ct, ct_len, req->body, req->body_len, &limits, &req->images, &err))
        return srv_http_error(h, req, err.http_status, NULL, NULL, "%s", err.message);
    req->kind = SRV_REQUEST_CLASSIFY;
    req->top_k = qc.q.top_k;
    req->n_images = (int)req->images.count;
    return submit(h, req);
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
    return submit(h, req);
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
        return featuremaps(h, req, m);
    return classify(h, req, m);
}

/* A featuremaps answer: JSON within --max-response-bytes (else 413 with its
 * size), or the PNG with its layout headers. */
static bool send_featuremaps(srv_http_t *h, srv_request_t *req)
{
    size_t len = 0, max = h->cfg->max_response_bytes;
    if (req->fmaps->format == SRV_FMAP_PNG) {
        srv_png_grid_t g;
        char *preds = NULL;
        uint8_t *png = srv_reply_featuremaps_png(req, &len, &g, &preds);
        if (!png)
            return srv_http_error(h, req, 500, NULL, NULL, "out of memory for the reply");
        if (len > max) {
            free(png);
            free(preds);
            return srv_http_error(h, req, 413, NULL, NULL,
                                  "the response would be %zu bytes, over the limit of %zu bytes "
                                  "(--max-response-bytes)", len, max);
        }
        const srv_fmap_layer_t *l = &req->fmaps->layers[0];
        size_t cap = (size_t)l->n_channels * 8 + 1;
        char tile[48], grid[48], *channels = malloc(cap);
        if (!channels) {
            free(png);
            free(preds);
            return srv_http_error(h, req, 500, NULL, NULL, "out of memory for the reply");
        }
        size_t at = 0;
        channels[0] = '\0';
        for (int k = 0; k < l->n_channels && at < cap; k++)
            at += (size_t)snprintf(channels + at, cap - at, "%s%d", k ? "," : "", srv_fmap_channel(req->fmaps, k));
        snprintf(tile, sizeof tile, "%dx%d", g.tile_w, g.tile_h);
        snprintf(grid, sizeof grid, "%dx%d", g.cols, g.rows);
        const char *hdr[] = {"X-Predictions", preds, "X-Tile-Size", tile, "X-Grid", grid, "X-Channels", channels};
        bool ok = srv_http_respond_typed(h, req, 200, png, len, "image/png", hdr, g.cols ? 4 : 1);
        free(preds);
        free(channels);
        return ok;
    }
    size_t would_be = 0;
    char *body = srv_reply_featuremaps(req, max, &len, &would_be);
    if (!body && would_be)
        return srv_http_error(h, req, 413, NULL, NULL,
                              "the response would be %zu bytes, over the limit of %zu bytes (--max-response-bytes); "
                              "ask for fewer layers or channels, or encoding=base64", would_be, max);
    if (!body)
        return srv_http_error(h, req, 500, NULL, NULL, "out of memory for the reply");
    return srv_http_respond(h, req, 200, body, len, NULL, NULL);
}

bool srv_http_send_answer(srv_http_t *h, srv_request_t *req)
{
    if (req->status != 200)
        return srv_http_error(h, req, req->status, req->status == 503 ? MHD_HTTP_HEADER_RETRY_AFTER : NULL,
                              req->status == 503 ? "1" : NULL, "%s", req->error.message);
    if (req->fmaps)
        return send_featuremaps(h, req);
    size_t len = 0;
    char *body = req->kind == SRV_REQUEST_KSERVE ? srv_reply_kserve(req, &len) : srv_reply_classify(req, &len);
    if (!body)
        return srv_http_error(h, req, 500, NULL, NULL, "out of memory for the reply");
    return srv_http_respond(h, req, 200, body, len, NULL, NULL);
}
