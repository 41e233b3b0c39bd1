/* model_config JSON → the layer graph of a Keras model (keras_internal.h).
 *
 * Sequential: {"class_name": "Sequential", "config": [layer, ...]} (Keras
 * 2.2) or {"config": {"name", "layers": [layer, ...]}}; each layer takes the
 * previous one's output, the first carries "batch_input_shape" unless it is
 * an InputLayer. Functional ("Model", "Functional"): {"config": {"layers":
 * [{"name", "class_name", "config", "inbound_nodes": [[[name, node, tensor,
 * kwargs], ...]]}], "input_layers": [[name, 0, 0]], "output_layers": [...]}}. */
#include "keras_internal.h"

#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KERAS_MAX_LAYERS 20000

void tools_keras_model_free(tools_keras_model_t *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->num_layers; i++)
        free(m->layers[i].inputs);
    free(m->layers);
    free(m->input_name);
    cJSON_Delete(m->json);
    memset(m, 0, sizeof *m);
}

static int find_layer(const tools_keras_layer_t *layers, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(layers[i].name, name) == 0)
            return i;
    return -1;
}

/* Fills cls, name and config of one entry of a "layers" list. */
static cnn_status_t parse_layer_head(const cJSON *j, int index, tools_keras_layer_t *l, cnn_error_t *err)
{
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(j, "class_name");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(j, "config");
    if (!cJSON_IsString(cls) || !cJSON_IsObject(cfg))
        return cnn_error_set(err, CNN_E_FORMAT, "model_config: layer %d has no class_name or config", index);
    /* Functional layers carry their name next to the config, Sequential ones inside it. */
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
    if (!cJSON_IsString(name))
        name = cJSON_GetObjectItemCaseSensitive(cfg, "name");
    if (!cJSON_IsString(name) || name->valuestring[0] == '\0')
        return cnn_error_set(err, CNN_E_FORMAT, "model_config: layer %d (%s) has no name", index,
                             cls->valuestring);
    l->cls = cls->valuestring;
    l->name = name->valuestring;
    l->config = cfg;
    return CNN_OK;
}

static cnn_status_t check_unique(const tools_keras_layer_t *layers, int n, cnn_error_t *err)
{
    for (int i = 1; i < n; i++)
        if (find_layer(layers, i, layers[i].name) >= 0)
            return cnn_error_set(err, CNN_E_FORMAT, "model_config: two layers are named '%s'", layers[i].name);
    return CNN_OK;
}

static cnn_status_t parse_sequential(const cJSON *cfg, tools_keras_model_t *m, cnn_error_t *err)
{
    const cJSON *list = cJSON_IsArray(cfg) ? cfg : cJSON_GetObjectItemCaseSensitive(cfg, "layers");
    int n = cJSON_GetArraySize(list);
    if (!cJSON_IsArray(list) || n == 0 || n > KERAS_MAX_LAYERS)
        return cnn_error_set(err, CNN_E_FORMAT, "model_config: Sequential model without a usable layer list");
    const cJSON *first = list->child;
    const cJSON *first_cls = cJSON_GetObjectItemCaseSensitive(first, "class_name");
    bool has_input = cJSON_IsString(first_cls) && strcmp(first_cls->valuestring, "InputLayer") == 0;
    int total = n + (has_input ? 0 : 1);
    if (!(m->layers = calloc((size_t)total, sizeof *m->layers)))
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    m->num_layers = total;
    int k = 0;
    if (!has_input) {
        /* The input is described by the first layer's batch_input_shape. */
        tools_keras_layer_t tmp;
        cnn_status_t st = parse_layer_head(first, 0, &tmp, err);
        if (st != CNN_OK)
            return st;
        m->layers[0] = (tools_keras_layer_t){.cls = "InputLayer", .config = tmp.config};
        k = 1;
    }
    int index = 0;
    for (const cJSON *j = list->child; j; j = j->next, k++, index++) {
        cnn_status_t st = parse_layer_head(j, index, &m->layers[k], err);
        if (st != CNN_OK)
            return st;
        if (k > 0) {
            if (!(m->layers[k].inputs = malloc(sizeof(int))))
                return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
            m->layers[k].inputs[0] = k - 1;
            m->layers[k].num_inputs = 1;
        }
    }
    if (!has_input) {
        /* A name no layer uses. */
        const char *base = "input";
        size_t len = strlen(base) + 16;
        if (!(m->input_name = malloc(len)))
            return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
        snprintf(m->input_name, len, "%s", base);
        for (int i = 1; find_layer(m->layers + 1, total - 1, m->input_name) >= 0; i++)
            snprintf(m->input_name, len, "%s_%d", base, i);
        m->layers[0].name = m->input_name;
    }
    m->output = total - 1;
    m->num_outputs = 1;
    return check_unique(m->layers, total, err);
}

/* Parses a reference [layer_name, node_index, tensor_index, ...] into the
 * index of a layer among layers[0..n). */
static cnn_status_t parse_ref(const cJSON *ref, const tools_keras_layer_t *layers, int n, const char *where,
                              int *out, cnn_error_t *err)
{
    const cJSON *name = cJSON_GetArrayItem(ref, 0);
    const cJSON *node = cJSON_GetArrayItem(ref, 1);
    const cJSON *tensor = cJSON_GetArrayItem(ref, 2);
    if (!cJSON_IsArray(ref) || !cJSON_IsString(name) || !cJSON_IsNumber(node) || !cJSON_IsNumber(tensor))
        return cnn_error_set(err, CNN_E_FORMAT, "model_config: %s: malformed layer reference", where);
    int i = find_layer(layers, n, name->valuestring);
    if (i < 0)
        return cnn_error_set(err, CNN_E_FORMAT, "model_config: %s: unknown layer '%s'", where, name->valuestring);
    if (node->valuedouble != 0 || tensor->valuedouble != 0)
        return cnn_error_set(err, CNN_E_UNSUPPORTED,
                             "model_config: %s uses call %g, output %g of layer '%s' (shared layers and layers "
                             "with several outputs are not supported)",
                             where, node->valuedouble, tensor->valuedouble, name->valuestring);
    *out = i;
    return CNN_OK;
}

/* "input_layers"/"output_layers": a list of references, or (tf.keras >= 2.4,
 * one tensor) a single reference. Returns the count; *last = the last one. */
static cnn_status_t parse_io(const cJSON *cfg, const char *key, const tools_keras_layer_t *layers, int n,
                             int *count, int *last, cnn_error_t *err)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (!cJSON_IsArray(list) || !list->child)
        return cnn_error_set(err, CNN_E_FORMAT, "model_config: missing %s", key);
    if (cJSON_IsString(list->child)) {
        *count = 1;
        return parse_ref(list, layers, n, key, last, err);
    }
    *count = 0;
    for (const cJSON *r = list->child; r; r = r->next, (*count)++) {
        cnn_status_t st = parse_ref(r, layers, n, key, last, err);
        if (st != CNN_OK)
            return st;
    }
    return CNN_OK;
}

static cnn_status_t parse_inbound(tools_keras_layer_t *l, const cJSON *j, const tools_keras_layer_t *layers, int n,
                                  cnn_error_t *err)
{
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(j, "inbound_nodes");
    int calls = cJSON_GetArraySize(nodes);
    if (nodes && !cJSON_IsArray(nodes))
        return cnn_error_set(err, CNN_E_FORMAT, "model_config: layer '%s': malformed inbound_nodes", l->name);
    if (calls > 1)
        return cnn_error_set(err, CNN_E_UNSUPPORTED,
                             "model_config: layer '%s' is called %d times (shared layers are not supported)",
                             l->name, calls);
    if (calls == 0)
        return CNN_OK;
    const cJSON *refs = nodes->child;
    int count = cJSON_GetArraySize(refs);
    if (!cJSON_IsArray(refs) || count == 0 || count > KERAS_MAX_LAYERS)
        return cnn_error_set(err, CNN_E_FORMAT, "model_config: layer '%s': malformed inbound_nodes", l->name);
    if (!(l->inputs = malloc((size_t)count * sizeof *l->inputs)))
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    char where[300];
    snprintf(where, sizeof where, "layer '%s'", l->name);
    for (const cJSON *r = refs->child; r; r = r->next) {
        cnn_status_t st = parse_ref(r, layers, n, where, &l->inputs[l->num_inputs], err);
        if (st != CNN_OK)
            return st;
        l->num_inputs++;
    }
    return CNN_OK;
}

/* Reorders `m->layers` topologically, keeping only those the output needs,
 * with the input first. Layers keep their config order where they can. */
static cnn_status_t order_layers(tools_keras_model_t *m, int input, cnn_error_t *err)
{
    int n = m->num_layers;
    bool *needed = calloc((size_t)n, sizeof *needed);
    int *stack = malloc((size_t)n * sizeof *stack), *new_index = malloc((size_t)n * sizeof *new_index);
    tools_keras_layer_t *sorted = calloc((size_t)n, sizeof *sorted);
    cnn_status_t st = CNN_OK;
    if (!needed || !stack || !new_index || !sorted) {
        st = cnn_error_set(err, CNN_E_NOMEM, "out of memory");
        goto done;
    }
    int top = 0;
    needed[m->output] = true;
    stack[top++] = m->output;
    while (top > 0) {
        const tools_keras_layer_t *l = &m->layers[stack[--top]];
        for (int k = 0; k < l->num_inputs; k++)
            if (!needed[l->inputs[k]]) {
                needed[l->inputs[k]] = true;
                stack[top++] = l->inputs[k];
            }
    }
    if (!needed[input]) {
        st = cnn_error_set(err, CNN_E_FORMAT, "model_config: the output '%s' does not depend on the input '%s'",
                           m->layers[m->output].name, m->layers[input].name);
        goto done;
    }
    for (int i = 0; i < n; i++)
        new_index[i] = -1;
    int placed = 0;
    for (bool progress = true; progress;) {
        progress = false;
        for (int i = 0; i < n; i++) {
            tools_keras_layer_t *l = &m->layers[i];
            if (!needed[i] || new_index[i] >= 0 || (i == input) != (placed == 0))
                continue;
            bool ready = true;
            for (int k = 0; k < l->num_inputs && ready; k++)
                ready = new_index[l->inputs[k]] >= 0;
            if (!ready)
                continue;
            if (i != input && l->num_inputs == 0) {
                st = cnn_error_set(err, CNN_E_FORMAT, "model_config: layer '%s' has no inputs", l->name);
                goto done;
            }
            for (int k = 0; k < l->num_inputs; k++)
                l->inputs[k] = new_index[l->inputs[k]];
            new_index[i] = placed;
            sorted[placed++] = *l;
            progress = true;
        }
    }
    int wanted = 0;
    for (int i = 0; i < n; i++)
        wanted += needed[i];
    if (placed != wanted) {
        st = cnn_error_set(err, CNN_E_FORMAT, "model_config: the layers form a cycle");
        goto done;
    }
    /* Layers left out keep their own input arrays, freed here. */
    for (int i = 0; i < n; i++)
        if (new_index[i] < 0)
            free(m->layers[i].inputs);
    free(m->layers);
    m->layers = sorted;
    sorted = NULL;
    m->num_layers = placed;
    m->output = new_index[m->output];
done:
    free(sorted);
    free(new_index);
    free(stack);
    free(needed);
    return st;
}

static cnn_status_t parse_functional(const cJSON *cfg, tools_keras_model_t *m, cnn_error_t *err)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(cfg, "layers");
    int n = cJSON_GetArraySize(list);
    if (!cJSON_IsArray(list) || n == 0 || n > KERAS_MAX_LAYERS)
        return cnn_error_set(err, CNN_E_FORMAT, "model_config: functional model without a usable layer list");
    if (!(m->layers = calloc((size_t)n, sizeof *m->layers)))
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    m->num_layers = n;
    int i = 0;
    cnn_status_t st = CNN_OK;
    for (const cJSON *j = list->child; j && st == CNN_OK; j = j->next, i++)
        st = parse_layer_head(j, i, &m->layers[i], err);
    if (st == CNN_OK)
        st = check_unique(m->layers, n, err);
    i = 0;
    for (const cJSON *j = list->child; j && st == CNN_OK; j = j->next, i++)
        st = parse_inbound(&m->layers[i], j, m->layers, n, err);
    int num_inputs = 0, input = -1;
    if (st == CNN_OK)
        st = parse_io(cfg, "input_layers", m->layers, n, &num_inputs, &input, err);
    if (st == CNN_OK && num_inputs != 1)
        st = cnn_error_set(err, CNN_E_UNSUPPORTED, "model_config: the model has %d inputs (cnnserve needs one)",
                           num_inputs);
    if (st == CNN_OK && m->layers[input].num_inputs != 0)
        st = cnn_error_set(err, CNN_E_FORMAT, "model_config: the input layer '%s' has inputs itself",
                           m->layers[input].name);
    if (st == CNN_OK)
        st = parse_io(cfg, "output_layers", m->layers, n, &m->num_outputs, &m->output, err);
    if (st == CNN_OK)
        st = order_layers(m, input, err);
    return st;
}

cnn_status_t tools_keras_model_parse(const char *text, tools_keras_model_t *m, cnn_error_t *err)
{
    memset(m, 0, sizeof *m);
    if (!(m->json = cJSON_Parse(text)))
        return cnn_error_set(err, CNN_E_FORMAT, "model_config is not valid JSON");
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(m->json, "class_name");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(m->json, "config");
    cnn_status_t st;
    if (!cJSON_IsString(cls) || !cfg)
        st = cnn_error_set(err, CNN_E_FORMAT, "model_config has no class_name or config");
    else if (strcmp(cls->valuestring, "Sequential") == 0)
        st = parse_sequential(cfg, m, err);
    else if (strcmp(cls->valuestring, "Model") == 0 || strcmp(cls->valuestring, "Functional") == 0)
        st = parse_functional(cfg, m, err);
    else
        st = cnn_error_set(err, CNN_E_UNSUPPORTED, "model_config: unsupported model class '%s'",
                           cls->valuestring);
    if (st != CNN_OK)
        tools_keras_model_free(m);
    return st;
}
