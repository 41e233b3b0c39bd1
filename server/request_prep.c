/* Preprocessing a classify request's images. */
#include "request_prep.h"

#include "cnn/preprocess.h"

#include <stdio.h>
#include <stdlib.h>

bool srv_request_alloc_output(srv_request_t *req)
{
    req->output = malloc((size_t)req->n_images * req->model->output_size * sizeof(float));
    if (req->output && req->fmaps)
        req->fmap_data = malloc((size_t)req->n_images * req->fmaps->image_floats * sizeof(float));
    return req->output != NULL && (!req->fmaps || req->fmap_data);
}

/* "image 2" or "image 2 (cat.png)" for messages. */
static void name_image(const srv_image_t *img, int i, char *buf, size_t size)
{
    if (img->filename[0])
        snprintf(buf, size, "image %d (%s)", i, img->filename);
    else
        snprintf(buf, size, "image %d", i);
}

void srv_request_preprocess(srv_request_t *req, uint64_t max_pixels)
{
    const srv_model_t *m = req->model;
    double t0 = srv_now();
    req->input = malloc((size_t)req->n_images * m->image_floats * sizeof(float));
    if (!req->input || !srv_request_alloc_output(req)) {
        req->prep_failed = !srv_error_set(&req->prep_error, 500, "out of memory for %d images",
                                          req->n_images);
        return;
    }
    for (int i = 0; i < req->n_images; i++) {
        const srv_image_t *img = &req->images.items[i];
        cnn_error_t err;
        cnn_status_t st = cnn_image_preprocess_limited(img->bytes, img->len, m->info, max_pixels,
                                                       req->input + (size_t)i * m->image_floats, &err);
        if (st != CNN_OK) {
            char what[SRV_HEADER_VALUE_MAX + 32];
            name_image(img, i, what, sizeof what);
            int status = st == CNN_E_TOO_LARGE ? 413 : st == CNN_E_NOMEM ? 500 : 400;
            req->prep_failed = !srv_error_set(&req->prep_error, status, "%s: %s", what, err.message);
            break;
        }
    }
    req->prep_s = srv_now() - t0;
}
