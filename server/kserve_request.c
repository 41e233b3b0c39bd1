/* KServe v2 JSON inference requests into a typed FP32 batch. */
#include "kserve_request.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_body.h"

void srv_kserve_request_free(srv_kserve_request_t *req)
{
    free(req->data);
    req->data = NULL;
    req->numel = 0;
}

/* Refuses keys of obj other than the NULL-terminated `allowed` (at most
 * 32), and keys given twice. */
static bool only_keys(const cJSON *obj, const char *const *allowed, const char *what, srv_error_t *err)
{
    uint32_t seen = 0;
    for (const cJSON *k = obj->child; k; k = k->next) {
        int i = 0;
        while (allowed[i] && strcmp(k->string, allowed[i]) != 0)
            i++;
        if (!allowed[i])
            return srv_error_set(err, 400, "unknown key \"%.64s\" in %s", k->string, what);
        if (seen & (1u << i))
            return srv_error_set(err, 400, "key \"%s\" given twice in %s", k->string, what);
        seen |= 1u << i;
    }
    return true;
}

/* An integer-valued JSON number in [min, max]. */
static bool json_int(const cJSON *v, double min, double max, long long *out)
{
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    if (!(d >= min && d <= max) || floor(d) != d)
        return false;
    *out = (long long)d;
    return true;
}

/* A string field copied into dst (cap bytes); absent is fine when !required. */
static bool json_string(const cJSON *obj, const char *key, bool required, char *dst, size_t cap,
                        const char *what, srv_error_t *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return required ? srv_error_set(err, 400, "%s has no \"%s\"", what, key) : true;
    if (!cJSON_IsString(v))
        return srv_error_set(err, 400, "%s.%s must be a string", what, key);
    if (strlen(v->valuestring) >= cap)
        return srv_error_set(err, 400, "%s.%s is longer than %zu bytes", what, key, cap - 1);
    memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
    return true;
}

/* Reads "classification" from a parameters object into *k (0 when absent),
 * refusing the binary data extension. */
static bool read_parameters(const cJSON *params, const srv_kserve_model_t *model, const char *what, int *k,
                            srv_error_t *err)
{
    *k = 0;
    if (!params)
        return true;
    if (!cJSON_IsObject(params))
        return srv_error_set(err, 400, "%s.parameters must be an object", what);
    if (cJSON_GetObjectItemCaseSensitive(params, "binary_data_size"))
        return srv_error_set(err, 400, "%s: the binary tensor data extension is not supported; send JSON data",
                             what);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(params, "classification");
    long long v;
    if (!c)
        return true;
    if (!json_int(c, 1, model->num_classes, &v))
        return srv_error_set(err, 400, "%s.parameters.classification must be an integer from 1 to %d",
                             what, model->num_classes);
    *k = (int)v;
    return true;
}

/* Sets req->classification to k, refusing a different earlier value. */
static bool merge_k(srv_kserve_request_t *req, int k, srv_error_t *err)
{
    if (k == 0)
        return true;
    if (req->classification != 0 && req->classification != k)
        return srv_error_set(err, 400, "classification given as both %d and %d", req->classification, k);
    req->classification = k;
    return true;
}

/* The shape [N, C, H, W] or [C, H, W]: sets req->batch and req->numel. */
static bool read_shape(const cJSON *shape, const srv_kserve_model_t *model, srv_kserve_request_t *req,
                       srv_error_t *err)
{
    long long dims[4];
    int n = 0;
    if (!cJSON_IsArray(shape))
        return srv_error_set(err, 400, "inputs[0].shape must be an array of integers");
    for (const cJSON *d = shape->child; d; d = d->next, n++)
        if (n == 4 || !json_int(d, 0, 1e15, &dims[n]))
            return srv_error_set(err, 400, "inputs[0].shape must be [N, C, H, W] or [C, H, W], non-negative "
                                           "integers");
    if (n < 3)
        return srv_error_set(err, 400, "inputs[0].shape must be [N, C, H, W] or [C, H, W]");
    long long batch = n == 4 ? dims[0] : 1;
    const long long *chw = dims + (n - 3);
    if (chw[0] != model->channels || chw[1] != model->height || chw[2] != model->width)
        return srv_error_set(err, 400, "inputs[0].shape has C, H, W = %lld, %lld, %lld; the model takes %d, %d, %d",
                             chw[0], chw[1], chw[2], model->channels, model->height, model->width);
    if (batch == 0)
        return srv_error_set(err, 400, "inputs[0].shape has a batch of 0");
    if (batch > model->max_batch)
        return srv_error_set(err, 413, "inputs[0].shape has a batch of %lld; the limit is %d", batch,
                             model->max_batch);
    req->batch = (int)batch;
    req->numel = (size_t)batch * (size_t)model->channels * (size_t)model->height * (size_t)model->width;
    return true;
}

/* Checks the numbers of `v` (a number or nested arrays) and counts them
 * in *at; with req->data, also writes them there (req->numel at most). */
static bool flatten(const cJSON *v, srv_kserve_request_t *req, size_t *at, srv_error_t *err)
{
    if (cJSON_IsArray(v)) {
        for (const cJSON *e = v->child; e; e = e->next)
            if (!flatten(e, req, at, err))
                return false;
        return true;
    }
    if (!cJSON_IsNumber(v))
        return srv_error_set(err, 400, "inputs[0].data: value %zu is not a number", *at);
    double d = v->valuedouble;
    if (!isfinite(d) || fabs(d) > FLT_MAX)
        return srv_error_set(err, 400, "inputs[0].data: value %zu is not a finite FP32 number", *at);
    if (req->data && *at < req->numel)
        req->data[*at] = (float)d;
    (*at)++;
    return true;
}

static bool read_input(const cJSON *inputs, const srv_kserve_model_t *model, srv_kserve_request_t *req,
                       srv_error_t *err)
{
    static const char *const keys[] = {"name", "shape", "datatype", "data", "parameters", NULL};
    if (!cJSON_IsArray(inputs) || cJSON_GetArraySize(inputs) != 1)
        return srv_error_set(err, 400, "\"inputs\" must be an array of exactly one input (the model has one)");
    const cJSON *in = inputs->child;
    char name[SRV_KSERVE_NAME_MAX], datatype[16];
    int k;
    if (!cJSON_IsObject(in))
        return srv_error_set(err, 400, "inputs[0] must be an object");
    if (!only_keys(in, keys, "inputs[0]", err) ||
        !json_string(in, "name", true, name, sizeof name, "inputs[0]", err) ||
        !json_string(in, "datatype", true, datatype, sizeof datatype, "inputs[0]", err) ||
        !read_parameters(cJSON_GetObjectItemCaseSensitive(in, "parameters"), model, "inputs[0]", &k, err))
        return false;
    if (model->input_name && strcmp(name, model->input_name) != 0)
        return srv_error_set(err, 400, "unknown input \"%s\"; the model's input is \"%s\"", name,
                             model->input_name);
    if (strcmp(datatype, "FP32") != 0)
        return srv_error_set(err, 400, "inputs[0].datatype is %s; only FP32 is supported", datatype);
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(in, "shape");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(in, "data");
    if (!shape)
        return srv_error_set(err, 400, "inputs[0] has no \"shape\"");
    if (!read_shape(shape, model, req, err))
        return false;
    if (!cJSON_IsArray(data))
        return srv_error_set(err, 400, "inputs[0].data must be an array of numbers");
    /* Count first: the shape alone must not make us allocate. */
    size_t count = 0;
    if (!flatten(data, req, &count, err))
        return false;
    if (count != req->numel)
        return srv_error_set(err, 400, "inputs[0].data has %zu values; the shape needs %zu", count, req->numel);
    req->data = malloc(req->numel * sizeof *req->data);
    if (!req->data)
        return srv_error_set(err, 500, "out of memory for %zu values", req->numel);
    count = 0;
    flatten(data, req, &count, err);
    return merge_k(req, k, err);
}

static bool read_outputs(const cJSON *outputs, const srv_kserve_model_t *model, srv_kserve_request_t *req,
                         srv_error_t *err)
{
    static const char *const keys[] = {"name", "parameters", NULL};
    if (!outputs)
        return true;
    if (!cJSON_IsArray(outputs) || cJSON_GetArraySize(outputs) > 1)
        return srv_error_set(err, 400, "\"outputs\" must be an array of at most one output (the model has one)");
    const cJSON *o = outputs->child;
    int k;
    if (!o)
        return true;
    if (!cJSON_IsObject(o))
        return srv_error_set(err, 400, "outputs[0] must be an object");
    if (!only_keys(o, keys, "outputs[0]", err) ||
        !json_string(o, "name", true, req->output_name, sizeof req->output_name, "outputs[0]", err) ||
        !read_parameters(cJSON_GetObjectItemCaseSensitive(o, "parameters"), model, "outputs[0]", &k, err))
        return false;
    if (model->output_name && strcmp(req->output_name, model->output_name) != 0)
        return srv_error_set(err, 400, "unknown output \"%s\"; the model's output is \"%s\"", req->output_name,
                             model->output_name);
    return merge_k(req, k, err);
}

bool srv_kserve_parse_request(const uint8_t *body, size_t len, const srv_kserve_model_t *model,
                              srv_kserve_request_t *out, srv_error_t *err)
{
    static const char *const keys[] = {"id", "parameters", "inputs", "outputs", NULL};
    memset(out, 0, sizeof *out);
    cJSON *root = srv_json_parse(body, len, err);
    if (!root)
        return false;
    int k = 0;
    bool ok = cJSON_IsObject(root) ? true : srv_error_set(err, 400, "the request must be a JSON object");
    ok = ok && only_keys(root, keys, "the request", err) &&
         json_string(root, "id", false, out->id, sizeof out->id, "the request", err) &&
         read_parameters(cJSON_GetObjectItemCaseSensitive(root, "parameters"), model, "the request", &k, err);
    if (ok && !cJSON_GetObjectItemCaseSensitive(root, "inputs"))
        ok = srv_error_set(err, 400, "the request has no \"inputs\"");
    ok = ok && merge_k(out, k, err) && read_input(cJSON_GetObjectItemCaseSensitive(root, "inputs"), model, out, err) &&
         read_outputs(cJSON_GetObjectItemCaseSensitive(root, "outputs"), model, out, err);
    out->has_id = ok && cJSON_GetObjectItemCaseSensitive(root, "id") != NULL;
    cJSON_Delete(root);
    if (!ok)
        srv_kserve_request_free(out);
    return ok;
}
