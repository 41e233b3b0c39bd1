/* Decoding and preprocessing the images of a classify request into its
 * input tensor (on libuv's thread pool, one request per job, or on the
 * loop thread for small requests). */
#ifndef SRV_REQUEST_PREP_H
#define SRV_REQUEST_PREP_H

#include "request.h"

/* Allocates req->input and req->output and preprocesses every image of
 * req->images with the model's preprocessing, refusing images over
 * max_pixels from their header. On failure sets req->prep_failed and
 * req->prep_error: 413 for an image over the pixel limit, 400 for a corrupt
 * or truncated one, 500 when out of memory; the message names the image.
 * Writes only input, output, prep_failed, prep_error and prep_s, which no
 * other thread reads until the job is over. */
void srv_request_preprocess(srv_request_t *req, uint64_t max_pixels);

/* Allocates req->output for a request whose input is already a tensor;
 * false when out of memory. */
bool srv_request_alloc_output(srv_request_t *req);

#endif
