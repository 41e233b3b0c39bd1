/* Serializing answers to JSON. */
#include "reply_json.h"

#include "ranking.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *print_free(cJSON *o, size_t *len)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (s)
        *len = strlen(s);
    return s;
}

char *srv_reply_error(const char *message, size_t *len)
{
    cJSON *o = cJSON_CreateObject();
    if (o)
        cJSON_AddStringToObject(o, "error", message);
    return print_free(o, len);
}

/* Ranks image i of the request: prob (output_size) and its top k in idx. */
static bool rank_image(const srv_request_t *req, int i, int k, double *prob, int *idx)
{
    const srv_model_t *m = req->model;
    srv_rank_probabilities(req->output + (size_t)i * m->output_size, m->output_size,
                           m->info->output_is_probability, prob);
    return srv_rank_top_k(prob, m->output_size, k, idx);
}

static cJSON *timings(const srv_request_t *req)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddNumberToObject(t, "queue", req->queue_s * 1e3);
    cJSON_AddNumberToObject(t, "preprocess", req->preprocess_s * 1e3);
    cJSON_AddNumberToObject(t, "inference", req->inference_s * 1e3);
    cJSON_AddNumberToObject(t, "total", req->total_s * 1e3);
    return t;
}

char *srv_reply_classify(const srv_request_t *req, size_t *len)
{
    const srv_model_t *m = req->model;
    int k = req->top_k < (int)m->output_size ? req->top_k : (int)m->output_size;
    double *prob = malloc(m->output_size * sizeof *prob);
    int *idx = malloc((size_t)(k > 0 ? k : 1) * sizeof *idx);
    cJSON *o = prob && idx ? cJSON_CreateObject() : NULL;
    if (o) {
        cJSON_AddStringToObject(o, "model", m->name);
        cJSON *results = cJSON_AddArrayToObject(o, "results");
        for (int i = 0; i < req->n_images; i++) {
            if (!rank_image(req, i, k, prob, idx)) {
                cJSON_Delete(o);
                o = NULL;
                break;
            }
            const srv_image_t *img = &req->images.items[i];
            cJSON *r = cJSON_CreateObject();
            cJSON_AddNumberToObject(r, "index", i);
            if (img->filename[0])
                cJSON_AddStringToObject(r, "filename", img->filename);
            if (img->field[0])
                cJSON_AddStringToObject(r, "field", img->field);
            cJSON *preds = cJSON_AddArrayToObject(r, "predictions");
            for (int j = 0; j < k; j++) {
                int c = idx[j];
                cJSON *p = cJSON_CreateObject();
                if (m->info->labels)
                    cJSON_AddStringToObject(p, "label", m->info->labels[c]);
                else
                    cJSON_AddNullToObject(p, "label");
                cJSON_AddNumberToObject(p, "class", c);
                cJSON_AddNumberToObject(p, "probability", prob[c]);
                cJSON_AddItemToArray(preds, p);
            }
            cJSON_AddItemToArray(results, r);
        }
    }
    if (o) {
        cJSON_AddNumberToObject(o, "batch_size", req->batch_size);
        cJSON_AddItemToObject(o, "timings_ms", timings(req));
    }
    free(prob);
    free(idx);
    return print_free(o, len);
}

/* "0.981234:9:Ankle boot" (or without ":label" when the model has none). */
static cJSON *class_string(const srv_model_t *m, double prob, int c)
{
    char buf[320];
    if (m->info->labels)
        snprintf(buf, sizeof buf, "%.9g:%d:%.256s", prob, c, m->info->labels[c]);
    else
        snprintf(buf, sizeof buf, "%.9g:%d", prob, c);
    return cJSON_CreateString(buf);
}

char *srv_reply_kserve(const srv_request_t *req, size_t *len)
{
    const srv_model_t *m = req->model;
    int k = req->kserve.classification;
    double *prob = malloc(m->output_size * sizeof *prob);
    int *idx = malloc((size_t)(k > 0 ? k : 1) * sizeof *idx);
    cJSON *o = prob && idx ? cJSON_CreateObject() : NULL;
    if (o) {
        cJSON_AddStringToObject(o, "model_name", m->name);
        if (req->kserve.has_id)
            cJSON_AddStringToObject(o, "id", req->kserve.id);
        cJSON *out = cJSON_CreateObject();
        cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "outputs"), out);
        cJSON_AddStringToObject(out, "name", req->kserve.output_name[0] ? req->kserve.output_name : "output");
        int shape[2] = {req->n_images, k > 0 ? k : (int)m->output_size};
        cJSON_AddItemToObject(out, "shape", cJSON_CreateIntArray(shape, 2));
        cJSON_AddStringToObject(out, "datatype", k > 0 ? "BYTES" : "FP32");
        cJSON *data = cJSON_AddArrayToObject(out, "data");
        for (int i = 0; i < req->n_images; i++) {
            if (k == 0) {
                const float *row = req->output + (size_t)i * m->output_size;
                for (size_t c = 0; c < m->output_size; c++)
                    cJSON_AddItemToArray(data, cJSON_CreateNumber(row[c]));
                continue;
            }
            if (!rank_image(req, i, k, prob, idx)) {
                cJSON_Delete(o);
                o = NULL;
                break;
            }
            for (int j = 0; j < k; j++)
                cJSON_AddItemToArray(data, class_string(m, prob[idx[j]], idx[j]));
        }
    }
    free(prob);
    free(idx);
    return print_free(o, len);
}
