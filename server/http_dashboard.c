/* GET / and /dashboard/{file}: the embedded dashboard files, with the
 * page's Content-Security-Policy. */
#include "dashboard.h"
#include "http_routes.h"

#include <microhttpd.h>
#include <string.h>

bool srv_http_dashboard(srv_http_t *h, srv_request_t *req, const srv_route_t *route)
{
    bool page = route->id == SRV_ROUTE_DASHBOARD;
    const char *name = page ? "index.html" : route->model;
    size_t len = page ? strlen(name) : route->model_len;
    const srv_asset_t *a = srv_dashboard_find(name, len);
    if (!a)
        return srv_http_error(h, req, 404, NULL, NULL, "no such dashboard file: %.*s",
                              (int)(len > 128 ? 128 : len), name);
    /* libmicrohttpd only reads a persistent buffer. */
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(a->size, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return false;
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, a->content_type) != MHD_YES ||
        MHD_add_response_header(resp, "Content-Security-Policy", SRV_DASHBOARD_CSP) != MHD_YES ||
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache") != MHD_YES ||
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer") != MHD_YES) {
        MHD_destroy_response(resp);
        return false;
    }
    return srv_http_queue(h, req, 200, resp);
}
