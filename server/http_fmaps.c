/* POST /featuremaps and /v1/models/{m}/featuremaps: the query resolved
 * against the model, the limits checked before the run, and the answer
 * (JSON within --max-response-bytes, or a PNG with its layout headers). */
#include "http_routes.h"

#include "fmap_query.h"
#include "reply_fmaps.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

bool srv_http_featuremaps(srv_http_t *h, srv_request_t *req, const srv_model_t *m)
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
    if (!srv_http_parse_images(h, req, &ok))
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
    return srv_http_submit(h, req);
}

bool srv_http_send_featuremaps(srv_http_t *h, srv_request_t *req)
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
