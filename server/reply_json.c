/* Serializing answers to JSON. */
#include "reply_json.h"

#include "json_writer.h"
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

/* "key":number, with its leading comma unless first. */
static void member_number(srv_json_writer_t *w, const char *key, double v, bool first)
{
    srv_jw_raw(w, first ? "\"" : ",\"");
    srv_jw_raw(w, key);
    srv_jw_raw(w, "\":");
    srv_jw_number(w, v);
}

void srv_reply_image_head(srv_json_writer_t *w, const srv_request_t *req, int i, int k, const double *prob,
                          const int *idx)
{
    const srv_model_t *m = req->model;
    const srv_image_t *img = &req->images.items[i];
    srv_jw_raw(w, i ? ",{" : "{");
    member_number(w, "index", i, true);
    if (img->filename[0]) {
        srv_jw_raw(w, ",\"filename\":");
        srv_jw_string(w, img->filename);
    }
    if (img->field[0]) {
        srv_jw_raw(w, ",\"field\":");
        srv_jw_string(w, img->field);
    }
    srv_jw_raw(w, ",\"predictions\":");
    srv_reply_predictions(w, m, k, prob, idx);
}

void srv_reply_predictions(srv_json_writer_t *w, const srv_model_t *m, int k, const double *prob, const int *idx)
{
    srv_jw_raw(w, "[");
    for (int j = 0; j < k; j++) {
        int c = idx[j];
        srv_jw_raw(w, j ? ",{\"label\":" : "{\"label\":");
        if (m->info->labels)
            srv_jw_string(w, m->info->labels[c]);
        else
            srv_jw_raw(w, "null");
        member_number(w, "class", c, false);
        member_number(w, "probability", prob[c], false);
        srv_jw_raw(w, "}");
    }
    srv_jw_raw(w, "]");
}

void srv_reply_tail(srv_json_writer_t *w, const srv_request_t *req)
{
    srv_jw_raw(w, "]");
    member_number(w, "batch_size", req->batch_size, false);
    srv_jw_raw(w, ",\"timings_ms\":{");
    member_number(w, "queue", req->queue_s * 1e3, true);
    member_number(w, "preprocess", req->preprocess_s * 1e3, false);
    member_number(w, "inference", req->inference_s * 1e3, false);
    member_number(w, "total", req->total_s * 1e3, false);
    srv_jw_raw(w, "}}");
}

bool srv_reply_rank(const srv_request_t *req, int i, int k, double *prob, int *idx)
{
    return rank_image(req, i, k, prob, idx);
}

/* Written with json_writer rather than a cJSON tree: the same text, at a
 * fraction of the cost on the /classify hot path. */
char *srv_reply_classify(const srv_request_t *req, size_t *len)
{
    const srv_model_t *m = req->model;
    int k = req->top_k < (int)m->output_size ? req->top_k : (int)m->output_size;
    double *prob = malloc(m->output_size * sizeof *prob);
    int *idx = malloc((size_t)(k > 0 ? k : 1) * sizeof *idx);
    srv_json_writer_t w = {0};
    bool ok = prob && idx;
    if (ok) {
        srv_jw_raw(&w, "{\"model\":");
        srv_jw_string(&w, m->name);
        srv_jw_raw(&w, ",\"results\":[");
    }
    for (int i = 0; ok && i < req->n_images; i++) {
        if (!rank_image(req, i, k, prob, idx)) {
            ok = false;
            break;
        }
        srv_reply_image_head(&w, req, i, k, prob, idx);
        srv_jw_raw(&w, "}");
    }
    if (ok)
        srv_reply_tail(&w, req);
    free(prob);
    free(idx);
    if (!ok) {
        free(w.buf);
        return NULL;
    }
    return srv_jw_finish(&w, len);
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
