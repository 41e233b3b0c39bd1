/* Reference-counted requests. */
#include "request.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <time.h>

srv_request_t *srv_request_create(struct MHD_Connection *conn)
{
    srv_request_t *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    atomic_init(&req->refs, 1);
    req->conn = conn;
    req->t_arrival = srv_now();
    return req;
}

void srv_request_retain(srv_request_t *req)
{
    atomic_fetch_add_explicit(&req->refs, 1, memory_order_relaxed);
}

void srv_request_release(srv_request_t *req)
{
    if (!req || atomic_fetch_sub_explicit(&req->refs, 1, memory_order_acq_rel) != 1)
        return;
    srv_image_list_free(&req->images);
    srv_kserve_request_free(&req->kserve);
    if (req->kind == SRV_REQUEST_CLASSIFY)
        free(req->input);
    free(req->output);
    free(req->fmap_data);
    if (req->fmaps)
        srv_fmap_spec_free(req->fmaps);
    free(req->fmaps);
    free(req->body);
    if (req->prepared) /* built, but the client left before it was sent */
        MHD_destroy_response(req->prepared);
    free(req);
}

double srv_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
