/* Response bodies built from answered requests (on the HTTP thread that
 * sends them, so the loop thread and the worker never serialize). Each
 * returns a malloc'ed NUL-terminated string of *len bytes, or NULL when out
 * of memory. */
#ifndef SRV_REPLY_JSON_H
#define SRV_REPLY_JSON_H

#include "json_writer.h"
#include "request.h"

/* {"error": message} */
char *srv_reply_error(const char *message, size_t *len);

/* POST /classify: {"model", "results": [{"index", "filename"?, "field"?,
 * "predictions": [{"label", "class", "probability"}]}], "batch_size",
 * "timings_ms": {"queue", "preprocess", "inference", "total"}}.
 * Probabilities are the output itself for models ending in softmax, else
 * its softmax (as `cnnserve classify`); predictions are the top_k largest. */
char *srv_reply_classify(const srv_request_t *req, size_t *len);

/* POST /v2/models/{m}/infer: {"model_name", "id"?, "outputs": [{"name",
 * "shape", "datatype", "data"}]}: with the classification extension (k > 0)
 * BYTES strings "probability:class:label" of the k best classes per image
 * (shape [N, k]), probabilities as in srv_reply_classify; else the raw FP32
 * output (shape [N, num_classes]). */
char *srv_reply_kserve(const srv_request_t *req, size_t *len);

/* Pieces shared by the /classify and /featuremaps replies. */
/* prob (output_size) and the top k classes of image i in idx; false when out of memory. */
bool srv_reply_rank(const srv_request_t *req, int i, int k, double *prob, int *idx);
/* [{"label", "class", "probability"}...] of the ranked classes. */
void srv_reply_predictions(srv_json_writer_t *w, const srv_model_t *m, int k, const double *prob, const int *idx);
/* ",{" (or "{" for image 0) "index", "filename"?, "field"?, "predictions": the
 * start of image i's result object, left open. */
void srv_reply_image_head(srv_json_writer_t *w, const srv_request_t *req, int i, int k, const double *prob,
                          const int *idx);
/* Closes "results" and writes "batch_size", "timings_ms" and the final "}". */
void srv_reply_tail(srv_json_writer_t *w, const srv_request_t *req);

#endif
