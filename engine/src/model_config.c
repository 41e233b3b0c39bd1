/* model.json parsing and writing (see model_config.h). */
#include "model_config.h"

#include "status.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_MAX_NAME 128
#define CFG_MAX_IMAGE_SIDE 16384
#define CFG_MAX_CLASSES 1000000
#define CFG_MAX_BATCH 4096
#define CFG_MAX_QUEUE_DELAY_US 10000000

/* Rejects keys of `obj` not in the NULL-terminated `known`, and repeated keys.
 * `where` names the object in messages ("" for the top level). */
static cnn_status_t check_keys(const cJSON *obj, const char *where, const char *const *known,
                               cnn_error_t *err)
{
    unsigned seen = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, obj) {
        int k = 0;
        while (known[k] && strcmp(known[k], item->string) != 0)
            k++;
        if (!known[k])
            return cnn_error_set(err, CNN_E_FORMAT, "unknown key '%s%.100s'", where, item->string);
        if (seen & (1u << k))
            return cnn_error_set(err, CNN_E_FORMAT, "duplicate key '%s%.100s'", where, item->string);
        seen |= 1u << k;
    }
    return CNN_OK;
}

/* Reads an optional integer field in [lo, hi] into *out (unchanged when absent). */
static cnn_status_t get_int(const cJSON *obj, const char *key, const char *field, int lo, int hi,
                            int *out, cnn_error_t *err)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!item)
        return CNN_OK;
    double v = cJSON_IsNumber(item) ? item->valuedouble : NAN;
    if (!(v >= lo && v <= hi) || floor(v) != v)
        return cnn_error_set(err, CNN_E_FORMAT, "%s must be an integer in [%d, %d]", field, lo, hi);
    *out = (int)v;
    return CNN_OK;
}

/* Reads an optional string field into *out (a pointer into the JSON tree). */
static cnn_status_t get_string(const cJSON *obj, const char *key, const char *field,
                               const char **out, cnn_error_t *err)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!item)
        return CNN_OK;
    if (!cJSON_IsString(item))
        return cnn_error_set(err, CNN_E_FORMAT, "%s must be a string", field);
    *out = item->valuestring;
    return CNN_OK;
}

/* An optional object field: NULL when absent, error when not an object. */
static cnn_status_t get_object(const cJSON *root, const char *key, const char *const *known,
                               const cJSON **out, cnn_error_t *err)
{
    *out = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!*out)
        return CNN_OK;
    if (!cJSON_IsObject(*out))
        return cnn_error_set(err, CNN_E_FORMAT, "%s must be an object", key);
    char where[64];
    snprintf(where, sizeof where, "%s.", key);
    return check_keys(*out, where, known, err);
}

/* Model names appear in URLs: letters, digits, '.', '_', '-'. */
static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CFG_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static cnn_status_t unknown_arch(const char *name, cnn_error_t *err)
{
    char known[256] = "";
    size_t used = 0;
    for (const cnn_zoo_arch_t *const *a = cnn_zoo_list(); *a && used < sizeof known; a++) {
        int n = snprintf(known + used, sizeof known - used, "%s%s", used ? ", " : "", (*a)->name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return cnn_error_set(err, CNN_E_NOT_FOUND, "architecture.zoo: unknown architecture '%.100s' (known: %s)",
                         name, known);
}

/* Defaults for a graph-form network from its input node's "shape" ([C,H,W],
 * [C,H] or [F]); the graph loader validates the node fully later. */
static cnn_status_t graph_defaults(const cJSON *graph, cnn_zoo_arch_t *out, cnn_error_t *err)
{
    const cJSON *nodes = cJSON_IsObject(graph) ? cJSON_GetObjectItemCaseSensitive(graph, "nodes") : NULL;
    const cJSON *first = cJSON_IsArray(nodes) ? cJSON_GetArrayItem(nodes, 0) : NULL;
    const cJSON *shape = cJSON_IsObject(first) ? cJSON_GetObjectItemCaseSensitive(first, "shape") : NULL;
    int dims[3] = {1, 1, 1}, n = cJSON_IsArray(shape) ? cJSON_GetArraySize(shape) : 0;
    if (n < 1 || n > 3)
        return cnn_error_set(err, CNN_E_FORMAT,
                             "architecture.graph.nodes[0] must be the input node with a \"shape\" of 1 to 3 sizes");
    for (int i = 0; i < n; i++) {
        const cJSON *d = cJSON_GetArrayItem(shape, i);
        double v = cJSON_IsNumber(d) ? d->valuedouble : NAN;
        if (!(v >= 1 && v <= 16777216) || floor(v) != v)
            return cnn_error_set(err, CNN_E_FORMAT, "architecture.graph input shape[%d] must be a positive integer", i);
        dims[i] = (int)v;
    }
    *out = (cnn_zoo_arch_t){
        .name = "graph", .default_classes = 0,
        .in_channels = dims[0], .in_height = dims[1], .in_width = dims[2],
        .preprocess = {.color = dims[0] == 1 ? CNN_COLOR_GRAYSCALE : CNN_COLOR_RGB, .resize_shorter = 0,
                       .scale = 1.0f / 255.0f, .mean = {0.0f, 0.0f, 0.0f}, .std = {1.0f, 1.0f, 1.0f}},
    };
    return CNN_OK;
}

/* Reads "architecture": a zoo name with options, or a graph. *arch receives
 * the zoo entry (or `graph_arch`, filled from the graph's input node). */
static cnn_status_t parse_architecture(const cJSON *root, cnn_model_config_t *cfg, cnn_zoo_arch_t *graph_arch,
                                       const cnn_zoo_arch_t **arch, cnn_error_t *err)
{
    static const char *const keys[] = {"zoo", "num_classes", "width_divisor", "graph", NULL};
    const cJSON *a;
    cnn_status_t status = get_object(root, "architecture", keys, &a, err);
    if (status != CNN_OK)
        return status;
    const cJSON *graph = a ? cJSON_GetObjectItemCaseSensitive(a, "graph") : NULL;
    if (graph) {
        if (cJSON_GetArraySize(a) != 1)
            return cnn_error_set(err, CNN_E_FORMAT, "architecture.graph cannot be combined with zoo options");
        if ((status = graph_defaults(graph, graph_arch, err)) != CNN_OK)
            return status;
        cfg->arch = strdup("graph");
        cfg->graph = cJSON_Duplicate(graph, true);
        if (!cfg->arch || !cfg->graph)
            return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
        cfg->zoo.arch = cfg->arch;
        *arch = graph_arch;
        return CNN_OK;
    }
    const char *zoo = NULL;
    if (a && (status = get_string(a, "zoo", "architecture.zoo", &zoo, err)) != CNN_OK)
        return status;
    if (!zoo)
        return cnn_error_set(err, CNN_E_FORMAT,
                             "architecture needs \"zoo\" (e.g. {\"zoo\": \"lenet5\"}) or \"graph\"");
    *arch = cnn_zoo_find(zoo);
    if (!*arch)
        return unknown_arch(zoo, err);
    cfg->arch = strdup(zoo);
    if (!cfg->arch)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    cfg->zoo.arch = cfg->arch;
    cfg->zoo.num_classes = (*arch)->default_classes;
    cfg->zoo.width_divisor = 1;
    if ((status = get_int(a, "num_classes", "architecture.num_classes", 1, CFG_MAX_CLASSES,
                          &cfg->zoo.num_classes, err)) != CNN_OK)
        return status;
    return get_int(a, "width_divisor", "architecture.width_divisor", 1, 64, &cfg->zoo.width_divisor,
                   err);
}

static cnn_status_t parse_input(const cJSON *root, const cnn_zoo_arch_t *arch,
                                cnn_model_config_t *cfg, cnn_error_t *err)
{
    static const char *const keys[] = {"channels", "height", "width", NULL};
    cfg->zoo.in_channels = arch->in_channels;
    cfg->zoo.in_height = arch->in_height;
    cfg->zoo.in_width = arch->in_width;
    const cJSON *in;
    cnn_status_t status = get_object(root, "input", keys, &in, err);
    if (status != CNN_OK || !in)
        return status;
    if (cfg->graph)
        return cnn_error_set(err, CNN_E_FORMAT, "input: a graph's input node gives the input size; remove \"input\"");
    if ((status = get_int(in, "channels", "input.channels", 1, 3, &cfg->zoo.in_channels, err)) != CNN_OK ||
        (status = get_int(in, "height", "input.height", 1, CFG_MAX_IMAGE_SIDE, &cfg->zoo.in_height, err)) != CNN_OK)
        return status;
    return get_int(in, "width", "input.width", 1, CFG_MAX_IMAGE_SIDE, &cfg->zoo.in_width, err);
}

/* Reads "mean"/"std": 1 value (broadcast) or one per channel, finite (std non-zero). */
static cnn_status_t get_channel_values(const cJSON *pre, const char *key, int channels, bool nonzero,
                                       float out[3], cnn_error_t *err)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(pre, key);
    if (!arr)
        return CNN_OK;
    int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1;
    if (n != 1 && n != channels)
        return cnn_error_set(err, CNN_E_FORMAT, "preprocessing.%s must be an array of %s", key,
                             channels == 1 ? "1 number" : "1 or 3 numbers");
    float v[3];
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, arr) {
        double d = cJSON_IsNumber(item) ? item->valuedouble : NAN;
        if (!isfinite(d) || fabs(d) > 1e30 || (nonzero && d == 0.0))
            return cnn_error_set(err, CNN_E_FORMAT, "preprocessing.%s[%d] must be a finite%s number",
                                 key, i, nonzero ? ", non-zero" : "");
        v[i++] = (float)d;
    }
    for (int c = 0; c < 3; c++)
        out[c] = v[n == 1 ? 0 : (c < n ? c : n - 1)];
    return CNN_OK;
}

static cnn_status_t parse_preprocessing(const cJSON *root, const cnn_zoo_arch_t *arch,
                                        const cJSON *input, cnn_model_config_t *cfg, cnn_error_t *err)
{
    static const char *const keys[] = {"color", "resize_shorter", "scale", "mean", "std", NULL};
    cnn_preprocess_t *p = &cfg->preprocess;
    *p = arch->preprocess;
    int channels = cfg->zoo.in_channels;
    /* Input channels given without a color: the color follows the channels. */
    if (input && cJSON_GetObjectItemCaseSensitive(input, "channels"))
        p->color = channels == 1 ? CNN_COLOR_GRAYSCALE : CNN_COLOR_RGB;
    const cJSON *pre;
    cnn_status_t status = get_object(root, "preprocessing", keys, &pre, err);
    if (status != CNN_OK)
        return status;
    if (pre) {
        const char *color = NULL;
        if ((status = get_string(pre, "color", "preprocessing.color", &color, err)) != CNN_OK)
            return status;
        if (color && strcmp(color, "grayscale") == 0)
            p->color = CNN_COLOR_GRAYSCALE;
        else if (color && strcmp(color, "rgb") == 0)
            p->color = CNN_COLOR_RGB;
        else if (color)
            return cnn_error_set(err, CNN_E_FORMAT,
                                 "preprocessing.color must be \"grayscale\" or \"rgb\", not '%.32s'", color);
        if ((status = get_int(pre, "resize_shorter", "preprocessing.resize_shorter", 0,
                              CFG_MAX_IMAGE_SIDE, &p->resize_shorter, err)) != CNN_OK)
            return status;
        const cJSON *scale = cJSON_GetObjectItemCaseSensitive(pre, "scale");
        if (scale) {
            double d = cJSON_IsNumber(scale) ? scale->valuedouble : NAN;
            if (!(d > 0.0 && d <= 1e30))
                return cnn_error_set(err, CNN_E_FORMAT, "preprocessing.scale must be a positive number");
            p->scale = (float)d;
        }
        if ((status = get_channel_values(pre, "mean", channels, false, p->mean, err)) != CNN_OK ||
            (status = get_channel_values(pre, "std", channels, true, p->std, err)) != CNN_OK)
            return status;
    }
    int color_channels = p->color == CNN_COLOR_GRAYSCALE ? 1 : 3;
    bool takes_images = !cfg->graph || channels == 1 || channels == 3; /* else: .npy inputs only */
    if (takes_images && color_channels != channels)
        return cnn_error_set(err, CNN_E_FORMAT,
                             "preprocessing.color \"%s\" needs %d input channels, the input has %d",
                             p->color == CNN_COLOR_GRAYSCALE ? "grayscale" : "rgb", color_channels,
                             channels);
    return CNN_OK;
}

static cnn_status_t parse_labels(const cJSON *root, cnn_model_config_t *cfg, cnn_error_t *err)
{
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(root, "labels");
    if (!labels)
        return CNN_OK;
    if (!cJSON_IsArray(labels))
        return cnn_error_set(err, CNN_E_FORMAT, "labels must be an array of strings");
    int n = cJSON_GetArraySize(labels);
    if (!cfg->graph && n != cfg->zoo.num_classes) /* a graph's output size is checked once built */
        return cnn_error_set(err, CNN_E_FORMAT, "labels has %d entries but the model has %d classes",
                             n, cfg->zoo.num_classes);
    cfg->labels = calloc((size_t)n, sizeof *cfg->labels);
    if (!cfg->labels)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory reading labels");
    cfg->num_labels = n;
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, labels) {
        if (!cJSON_IsString(item))
            return cnn_error_set(err, CNN_E_FORMAT, "labels[%d] must be a string", i);
        cfg->labels[i] = strdup(item->valuestring);
        if (!cfg->labels[i])
            return cnn_error_set(err, CNN_E_NOMEM, "out of memory reading labels");
        i++;
    }
    return CNN_OK;
}

static cnn_status_t parse_batching(const cJSON *root, cnn_model_config_t *cfg, cnn_error_t *err)
{
    static const char *const keys[] = {"max_batch_size", "max_queue_delay_us", NULL};
    cfg->max_batch_size = 8;
    cfg->max_queue_delay_us = 2000;
    const cJSON *b;
    cnn_status_t status = get_object(root, "batching", keys, &b, err);
    if (status != CNN_OK || !b)
        return status;
    if ((status = get_int(b, "max_batch_size", "batching.max_batch_size", 1, CFG_MAX_BATCH,
                          &cfg->max_batch_size, err)) != CNN_OK)
        return status;
    return get_int(b, "max_queue_delay_us", "batching.max_queue_delay_us", 0, CFG_MAX_QUEUE_DELAY_US,
                   &cfg->max_queue_delay_us, err);
}

static cnn_status_t parse_precision(const cJSON *root, cnn_model_config_t *cfg, cnn_error_t *err)
{
    const char *name = "fp32";
    cnn_status_t status = get_string(root, "precision", "precision", &name, err);
    if (status == CNN_OK && !cnn_precision_parse(name, &cfg->precision))
        status = cnn_error_set(err, CNN_E_FORMAT, "precision must be fp32, bf16, tf32 or fp16, not '%.40s'", name);
    return status;
}

static cnn_status_t parse_name(const cJSON *root, const char *default_name, cnn_model_config_t *cfg,
                               cnn_error_t *err)
{
    const char *name = default_name ? default_name : cfg->arch;
    cnn_status_t status = get_string(root, "name", "name", &name, err);
    if (status != CNN_OK)
        return status;
    if (!valid_name(name))
        return cnn_error_set(err, CNN_E_FORMAT,
                             "name '%.140s' must be 1-%d letters, digits, '.', '_' or '-'", name,
                             CFG_MAX_NAME);
    cfg->name = strdup(name);
    return cfg->name ? CNN_OK : cnn_error_set(err, CNN_E_NOMEM, "out of memory");
}

cnn_status_t cnn_model_config_parse(const char *json, size_t len, const char *default_name,
                                    cnn_model_config_t *out, cnn_error_t *err)
{
    static const char *const keys[] = {"name", "input", "architecture", "preprocessing",
                                       "labels", "batching", "precision", NULL};
    memset(out, 0, sizeof *out);
    if (!json)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "no model config text");
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
    cnn_status_t status = CNN_OK;
    if (!root) {
        status = cnn_error_set(err, CNN_E_FORMAT, "not valid JSON (at byte %td)", end ? end - json : (ptrdiff_t)0);
        goto fail;
    }
    for (const char *p = end; p < json + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            status = cnn_error_set(err, CNN_E_FORMAT, "data after the JSON (at byte %td)", p - json);
            goto fail;
        }
    }
    if (!cJSON_IsObject(root)) {
        status = cnn_error_set(err, CNN_E_FORMAT, "top level must be a JSON object");
        goto fail;
    }
    const cnn_zoo_arch_t *arch = NULL;
    cnn_zoo_arch_t graph_arch;
    if ((status = check_keys(root, "", keys, err)) != CNN_OK ||
        (status = parse_architecture(root, out, &graph_arch, &arch, err)) != CNN_OK ||
        (status = parse_input(root, arch, out, err)) != CNN_OK ||
        (status = parse_preprocessing(root, arch, cJSON_GetObjectItemCaseSensitive(root, "input"), out,
                                      err)) != CNN_OK ||
        (status = parse_labels(root, out, err)) != CNN_OK ||
        (status = parse_batching(root, out, err)) != CNN_OK ||
        (status = parse_precision(root, out, err)) != CNN_OK ||
        (status = parse_name(root, default_name, out, err)) != CNN_OK)
        goto fail;
    cJSON_Delete(root);
    return CNN_OK;
fail:
    cJSON_Delete(root);
    cnn_model_config_free(out);
    return status;
}

/* Adds an array of the first n floats of v. Returns false on allocation failure. */
static bool add_floats(cJSON *obj, const char *key, const float *v, int n)
{
    cJSON *arr = cJSON_AddArrayToObject(obj, key);
    for (int i = 0; arr && i < n; i++) {
        if (!cJSON_AddItemToArray(arr, cJSON_CreateNumber(v[i])))
            return false;
    }
    return arr != NULL;
}

/* True when the n values are all equal, so one value says it all. */
static bool all_equal(const float *v, int n)
{
    for (int i = 1; i < n; i++) {
        if (v[i] != v[0])
            return false;
    }
    return true;
}

char *cnn_model_config_to_json(const cnn_model_config_t *cfg)
{
    if (!cfg || !cfg->arch)
        return NULL;
    const cnn_preprocess_t *p = &cfg->preprocess;
    int channels = cfg->zoo.in_channels == 1 ? 1 : 3;
    char *text = NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON *arch = cJSON_AddObjectToObject(root, "architecture");
    cJSON *input = cfg->graph ? cJSON_CreateObject() : cJSON_AddObjectToObject(root, "input");
    cJSON *pre = cJSON_AddObjectToObject(root, "preprocessing");
    cJSON *batch = cJSON_AddObjectToObject(root, "batching");
    bool ok = root && arch && input && pre && batch &&
              (!cfg->name || cJSON_AddStringToObject(root, "name", cfg->name)) &&
              (cfg->graph ? cJSON_AddItemToObject(arch, "graph", cJSON_Duplicate(cfg->graph, true))
                          : cJSON_AddStringToObject(arch, "zoo", cfg->arch) != NULL) &&
              (cfg->zoo.num_classes <= 0 ||
               cJSON_AddNumberToObject(arch, "num_classes", cfg->zoo.num_classes)) &&
              (cfg->zoo.width_divisor <= 1 ||
               cJSON_AddNumberToObject(arch, "width_divisor", cfg->zoo.width_divisor)) &&
              cJSON_AddNumberToObject(input, "channels", cfg->zoo.in_channels) &&
              cJSON_AddNumberToObject(input, "height", cfg->zoo.in_height) &&
              cJSON_AddNumberToObject(input, "width", cfg->zoo.in_width) &&
              cJSON_AddStringToObject(pre, "color", p->color == CNN_COLOR_GRAYSCALE ? "grayscale" : "rgb") &&
              cJSON_AddNumberToObject(pre, "resize_shorter", p->resize_shorter) &&
              cJSON_AddNumberToObject(pre, "scale", p->scale) &&
              add_floats(pre, "mean", p->mean, all_equal(p->mean, channels) ? 1 : channels) &&
              add_floats(pre, "std", p->std, all_equal(p->std, channels) ? 1 : channels) &&
              cJSON_AddNumberToObject(batch, "max_batch_size", cfg->max_batch_size) &&
              cJSON_AddNumberToObject(batch, "max_queue_delay_us", cfg->max_queue_delay_us) &&
              (cfg->precision == CNN_PRECISION_FP32 ||
               cJSON_AddStringToObject(root, "precision", cnn_precision_name(cfg->precision)));
    if (ok && cfg->labels) {
        cJSON *labels = cJSON_CreateStringArray((const char *const *)cfg->labels, cfg->num_labels);
        ok = labels && cJSON_AddItemToObject(root, "labels", labels);
        if (!ok)
            cJSON_Delete(labels);
    }
    if (ok)
        text = cJSON_Print(root);
    if (cfg->graph)
        cJSON_Delete(input);
    cJSON_Delete(root);
    return text;
}

void cnn_model_config_free(cnn_model_config_t *cfg)
{
    if (!cfg)
        return;
    for (int i = 0; i < cfg->num_labels && cfg->labels; i++)
        free(cfg->labels[i]);
    free(cfg->labels);
    free(cfg->name);
    free(cfg->arch);
    cJSON_Delete(cfg->graph);
    memset(cfg, 0, sizeof *cfg);
}
