/* KServe v2 / Open Inference Protocol inference requests
 * (POST /v2/models/{m}/infer), JSON form, for single-input image models:
 *   {"id"?: string,
 *    "parameters"?: {"classification"?: k, ...},
 *    "inputs": [{"name": string, "shape": [N, C, H, W] or [C, H, W],
 *                "datatype": "FP32", "data": [numbers, flat or nested],
 *                "parameters"?: {...}}],
 *    "outputs"?: [{"name": string, "parameters"?: {"classification"?: k, ...}}]}
 * data is read in row-major order whatever its nesting; only its count must
 * match the shape. k (the classification extension) may be given at the top
 * level or on the one requested output; both must then agree. Unknown keys
 * in the request, input and output objects are refused; unknown parameters
 * are ignored, except "binary_data_size" (the binary tensor extension, not
 * supported). */
#ifndef SRV_KSERVE_REQUEST_H
#define SRV_KSERVE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "http_error.h"

#define SRV_KSERVE_ID_MAX 256 /* longest id plus its NUL */
#define SRV_KSERVE_NAME_MAX 128

/* What the request is checked against. */
typedef struct srv_kserve_model {
    const char *input_name;  /* NULL accepts any input name */
    const char *output_name; /* NULL accepts any output name */
    int channels, height, width;
    int num_classes;
    int max_batch; /* most images (N) in one request */
} srv_kserve_model_t;

typedef struct srv_kserve_request {
    char id[SRV_KSERVE_ID_MAX];             /* "" when absent */
    bool has_id;
    char output_name[SRV_KSERVE_NAME_MAX];  /* the requested output, "" when none named */
    int batch;                              /* N; 1 for a [C, H, W] shape */
    int classification;                     /* k; 0 = return the raw output tensor */
    float *data;                            /* batch × C × H × W values, malloc'ed */
    size_t numel;
} srv_kserve_request_t;

/* Parses body[0..len) into *out. Errors: invalid JSON, missing or mistyped
 * fields, unknown keys, datatype other than FP32, not exactly one input or
 * more than one output, names other than the model's, shape not [N,]C,H,W
 * of the model's C, H, W, N = 0, data count other than the shape's product,
 * values that are not numbers or not finite in FP32, classification not an
 * integer in 1..num_classes → 400 naming the field; N above max_batch → 413;
 * out of memory → 500. On error *out holds nothing to free. */
bool srv_kserve_parse_request(const uint8_t *body, size_t len, const srv_kserve_model_t *model,
                              srv_kserve_request_t *out, srv_error_t *err);

/* Frees the tensor; safe on a zeroed or failed request. */
void srv_kserve_request_free(srv_kserve_request_t *req);

#endif
