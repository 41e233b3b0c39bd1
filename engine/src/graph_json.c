/* The graph form of model.json → a graph (see graph_json.h). */
#include "graph_json.h"

#include "status.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GJ_MAX_SIDE 16777216 /* largest kernel, stride, pad or tensor side accepted */
#define GJ_MAX_INPUTS 1024

/* What a node handler sees: the node's JSON, its resolved inputs, the graph. */
typedef struct gj_node {
    cnn_graph_t *g;
    const cJSON *obj;
    const char *name;
    int index; /* position in "nodes", for messages */
    int inputs[GJ_MAX_INPUTS];
    int num_inputs;
    bool reported; /* err already describes the failure */
    cnn_error_t *err;
} gj_node_t;

typedef int (*gj_build_fn)(gj_node_t *n);

typedef struct gj_op {
    const char *name;
    int min_inputs, max_inputs;
    const char *const *keys; /* op-specific keys, NULL-terminated */
    gj_build_fn build;
} gj_op_t;

static int node_error(gj_node_t *n, cnn_status_t status, const char *fmt, const char *key)
{
    char what[160];
    snprintf(what, sizeof what, fmt, key);
    n->reported = true;
    return cnn_error_set(n->err, status, "graph node %d '%.100s': %s", n->index, n->name, what);
}

/* Optional integer key in [lo, hi]; *out keeps its default when absent. */
static int get_int(gj_node_t *n, const char *key, int lo, int hi, int *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(n->obj, key);
    if (!item)
        return 0;
    double v = cJSON_IsNumber(item) ? item->valuedouble : NAN;
    if (!(v >= lo && v <= hi) || floor(v) != v)
        return node_error(n, CNN_E_FORMAT, "'%s' must be an integer in range", key);
    *out = (int)v;
    return 0;
}

/* Optional [a, b] pair of integers in [lo, hi] (a single integer means [v, v]). */
static int get_pair(gj_node_t *n, const char *key, int lo, int out[2])
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(n->obj, key);
    if (!item)
        return 0;
    if (cJSON_IsArray(item) && cJSON_GetArraySize(item) != 2)
        return node_error(n, CNN_E_FORMAT, "'%s' must be an integer or a list of 2", key);
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_IsArray(item) ? cJSON_GetArrayItem(item, i) : item;
        double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        if (!(d >= lo && d <= GJ_MAX_SIDE) || floor(d) != d)
            return node_error(n, CNN_E_FORMAT, "'%s' must hold integers in range", key);
        out[i] = (int)d;
    }
    return 0;
}

static int get_float(gj_node_t *n, const char *key, float *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(n->obj, key);
    if (!item)
        return 0;
    double v = cJSON_IsNumber(item) ? item->valuedouble : NAN;
    if (!isfinite(v) || fabs(v) > FLT_MAX)
        return node_error(n, CNN_E_FORMAT, "'%s' must be a finite number", key);
    *out = (float)v;
    return 0;
}

static int get_bool(gj_node_t *n, const char *key, bool *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(n->obj, key);
    if (!item)
        return 0;
    if (!cJSON_IsBool(item))
        return node_error(n, CNN_E_FORMAT, "'%s' must be true or false", key);
    *out = cJSON_IsTrue(item);
    return 0;
}

/* "pads": [top, left, bottom, right] or "padding": "same" / "valid". *same
 * is set for "same" (the caller computes the pads from the input size). */
static int get_padding(gj_node_t *n, cnn_pad_t *pad, bool *same)
{
    *pad = (cnn_pad_t){0, 0, 0, 0};
    *same = false;
    const cJSON *pads = cJSON_GetObjectItemCaseSensitive(n->obj, "pads");
    const cJSON *padding = cJSON_GetObjectItemCaseSensitive(n->obj, "padding");
    if (pads && padding)
        return node_error(n, CNN_E_FORMAT, "give either 'pads' or '%s', not both", "padding");
    if (padding) {
        const char *s = cJSON_GetStringValue(padding);
        if (!s || (strcmp(s, "same") != 0 && strcmp(s, "valid") != 0))
            return node_error(n, CNN_E_FORMAT, "'%s' must be \"same\" or \"valid\"", "padding");
        *same = strcmp(s, "same") == 0;
        return 0;
    }
    if (!pads)
        return 0;
    int v[4];
    if (!cJSON_IsArray(pads) || cJSON_GetArraySize(pads) != 4)
        return node_error(n, CNN_E_FORMAT, "'%s' must be [top, left, bottom, right]", "pads");
    for (int i = 0; i < 4; i++) {
        const cJSON *p = cJSON_GetArrayItem(pads, i);
        double d = cJSON_IsNumber(p) ? p->valuedouble : NAN;
        if (!(d >= 0 && d <= GJ_MAX_SIDE) || floor(d) != d)
            return node_error(n, CNN_E_FORMAT, "'%s' must hold non-negative integers", "pads");
        v[i] = (int)d;
    }
    *pad = (cnn_pad_t){.top = v[0], .left = v[1], .bottom = v[2], .right = v[3]};
    return 0;
}

/* --- op handlers: each returns the new node id or a negative status --- */

static int build_input(gj_node_t *n)
{
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(n->obj, "shape");
    int rank = cJSON_IsArray(shape) ? cJSON_GetArraySize(shape) : 0;
    if (rank < 1 || rank > 3)
        return node_error(n, CNN_E_FORMAT, "'%s' must be [C, H, W], [C, H] or [F]", "shape");
    int d[3] = {1, 1, 1};
    for (int i = 0; i < rank; i++) {
        const cJSON *v = cJSON_GetArrayItem(shape, i);
        double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        if (!(x >= 1 && x <= GJ_MAX_SIDE) || floor(x) != x)
            return node_error(n, CNN_E_FORMAT, "'%s' must hold positive integers", "shape");
        d[i] = (int)x;
    }
    if ((double)d[0] * d[1] * d[2] > (double)GJ_MAX_SIDE * 16)
        return node_error(n, CNN_E_SHAPE, "'%s' is too large", "shape");
    int id = cnn_graph_add_input(n->g, n->name, d[0], d[1], d[2]);
    if (id >= 0 && rank == 1)
        n->g->nodes[id].flat = true;
    return id;
}

static int build_conv2d(gj_node_t *n)
{
    cnn_conv_params_t p = {.kh = 0, .kw = 0, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .groups = 1, .has_bias = true};
    int kernel[2] = {0, 0}, stride[2] = {1, 1}, dilation[2] = {1, 1};
    bool same;
    int rc;
    if ((rc = get_int(n, "out_channels", 1, GJ_MAX_SIDE, &p.out_channels)) || (rc = get_pair(n, "kernel", 1, kernel)) ||
        (rc = get_pair(n, "stride", 1, stride)) || (rc = get_pair(n, "dilation", 1, dilation)) ||
        (rc = get_int(n, "groups", 1, GJ_MAX_SIDE, &p.groups)) || (rc = get_bool(n, "bias", &p.has_bias)) ||
        (rc = get_padding(n, &p.pad, &same)))
        return rc;
    if (p.out_channels <= 0 || kernel[0] <= 0)
        return node_error(n, CNN_E_FORMAT, "conv2d needs 'out_channels' and '%s'", "kernel");
    p.kh = kernel[0], p.kw = kernel[1], p.sh = stride[0], p.sw = stride[1], p.dh = dilation[0], p.dw = dilation[1];
    if (same) {
        cnn_shape_t in = n->g->nodes[n->inputs[0]].out;
        p.pad = cnn_same_padding(in.h, in.w, p.kh, p.kw, p.sh, p.sw, p.dh, p.dw);
    }
    return cnn_graph_add_conv2d(n->g, n->name, n->inputs[0], &p);
}

static int build_dense(gj_node_t *n)
{
    int out = 0;
    bool bias = true;
    int rc;
    if ((rc = get_int(n, "out_features", 1, GJ_MAX_SIDE, &out)) || (rc = get_bool(n, "bias", &bias)))
        return rc;
    if (out <= 0)
        return node_error(n, CNN_E_FORMAT, "dense needs '%s'", "out_features");
    return cnn_graph_add_dense(n->g, n->name, n->inputs[0], out, bias);
}

static int build_pool(gj_node_t *n, cnn_op_t op)
{
    int kernel[2] = {0, 0}, stride[2] = {0, 0};
    cnn_pool_params_t p = {0};
    bool same;
    int rc;
    if ((rc = get_pair(n, "kernel", 1, kernel)) || (rc = get_pair(n, "stride", 1, stride)) ||
        (rc = get_bool(n, "ceil_mode", &p.ceil_mode)) ||
        (rc = get_bool(n, "count_include_pad", &p.count_include_pad)) || (rc = get_padding(n, &p.pad, &same)))
        return rc;
    if (kernel[0] <= 0)
        return node_error(n, CNN_E_FORMAT, "pooling needs '%s'", "kernel");
    p.kh = kernel[0], p.kw = kernel[1];
    p.sh = stride[0] ? stride[0] : kernel[0];
    p.sw = stride[1] ? stride[1] : kernel[1];
    if (same) {
        cnn_shape_t in = n->g->nodes[n->inputs[0]].out;
        p.pad = cnn_same_padding(in.h, in.w, p.kh, p.kw, p.sh, p.sw, 1, 1);
    }
    return cnn_graph_add_pool(n->g, n->name, op, n->inputs[0], &p);
}

static int build_max_pool(gj_node_t *n)
{
    return build_pool(n, CNN_OP_MAX_POOL);
}

static int build_avg_pool(gj_node_t *n)
{
    return build_pool(n, CNN_OP_AVG_POOL);
}

static int build_global_avg_pool(gj_node_t *n)
{
    return cnn_graph_add_global_avg_pool(n->g, n->name, n->inputs[0]);
}

/* relu, sigmoid, tanh, softmax, dropout, flatten: the op is looked up again by name. */
static int build_unary(gj_node_t *n)
{
    static const struct { const char *name; cnn_op_t op; } ops[] = {
        {"relu", CNN_OP_RELU}, {"sigmoid", CNN_OP_SIGMOID}, {"tanh", CNN_OP_TANH},
        {"softmax", CNN_OP_SOFTMAX}, {"dropout", CNN_OP_DROPOUT}, {"flatten", CNN_OP_FLATTEN},
    };
    const char *op = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n->obj, "op"));
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(op, ops[i].name) == 0)
            return cnn_graph_add_unary(n->g, n->name, ops[i].op, n->inputs[0]);
    return node_error(n, CNN_E_FORMAT, "'%s' is not a unary op", op);
}

static int build_leaky_relu(gj_node_t *n)
{
    float alpha = 0.01f;
    int rc = get_float(n, "alpha", &alpha);
    return rc ? rc : cnn_graph_add_activation_alpha(n->g, n->name, CNN_OP_LEAKY_RELU, n->inputs[0], alpha);
}

static int build_elu(gj_node_t *n)
{
    float alpha = 1.0f;
    int rc = get_float(n, "alpha", &alpha);
    return rc ? rc : cnn_graph_add_activation_alpha(n->g, n->name, CNN_OP_ELU, n->inputs[0], alpha);
}

static int build_clip(gj_node_t *n)
{
    float lo = -FLT_MAX, hi = FLT_MAX;
    int rc;
    if ((rc = get_float(n, "min", &lo)) || (rc = get_float(n, "max", &hi)))
        return rc;
    return cnn_graph_add_clip(n->g, n->name, n->inputs[0], lo, hi);
}

static int build_prelu(gj_node_t *n)
{
    int slopes = 1;
    int rc = get_int(n, "num_slopes", 1, GJ_MAX_SIDE, &slopes);
    return rc ? rc : cnn_graph_add_prelu(n->g, n->name, n->inputs[0], slopes);
}

static int build_lrn(gj_node_t *n)
{
    cnn_lrn_params_t p = {.size = 0, .alpha = 1e-4f, .beta = 0.75f, .k = 1.0f};
    int rc;
    if ((rc = get_int(n, "size", 1, 4096, &p.size)) || (rc = get_float(n, "alpha", &p.alpha)) ||
        (rc = get_float(n, "beta", &p.beta)) || (rc = get_float(n, "k", &p.k)))
        return rc;
    if (p.size <= 0)
        return node_error(n, CNN_E_FORMAT, "lrn needs '%s'", "size");
    return cnn_graph_add_lrn(n->g, n->name, n->inputs[0], &p);
}

static int build_batch_norm(gj_node_t *n)
{
    float eps = 1e-5f;
    int rc = get_float(n, "eps", &eps);
    return rc ? rc : cnn_graph_add_batch_norm(n->g, n->name, n->inputs[0], eps);
}

static int build_concat(gj_node_t *n)
{
    return cnn_graph_add_concat(n->g, n->name, n->inputs, n->num_inputs);
}

static int build_add(gj_node_t *n)
{
    return cnn_graph_add_add(n->g, n->name, n->inputs[0], n->inputs[1]);
}

static int build_zero_pad(gj_node_t *n)
{
    cnn_pad_t pad;
    bool same;
    int rc = get_padding(n, &pad, &same);
    if (rc)
        return rc;
    if (same)
        return node_error(n, CNN_E_FORMAT, "zero_pad takes '%s', not padding \"same\"", "pads");
    return cnn_graph_add_zero_pad(n->g, n->name, n->inputs[0], pad);
}

static int build_maxout(gj_node_t *n)
{
    int pieces = 0;
    int rc = get_int(n, "pieces", 1, GJ_MAX_SIDE, &pieces);
    if (rc)
        return rc;
    if (pieces <= 0)
        return node_error(n, CNN_E_FORMAT, "maxout needs '%s'", "pieces");
    return cnn_graph_add_maxout(n->g, n->name, n->inputs[0], pieces);
}

static const char *const no_keys[] = {NULL};
static const char *const conv_keys[] = {"out_channels", "kernel", "stride", "dilation", "groups", "pads",
                                        "padding", "bias", NULL};
static const char *const pool_keys[] = {"kernel", "stride", "pads", "padding", "ceil_mode", "count_include_pad",
                                        NULL};

static const gj_op_t ops[] = {
    {"input", 0, 0, (const char *const[]){"shape", NULL}, build_input},
    {"conv2d", 1, 1, conv_keys, build_conv2d},
    {"dense", 1, 1, (const char *const[]){"out_features", "bias", NULL}, build_dense},
    {"max_pool", 1, 1, pool_keys, build_max_pool},
    {"avg_pool", 1, 1, pool_keys, build_avg_pool},
    {"global_avg_pool", 1, 1, no_keys, build_global_avg_pool},
    {"relu", 1, 1, no_keys, build_unary},
    {"sigmoid", 1, 1, no_keys, build_unary},
    {"tanh", 1, 1, no_keys, build_unary},
    {"softmax", 1, 1, no_keys, build_unary},
    {"dropout", 1, 1, no_keys, build_unary},
    {"flatten", 1, 1, no_keys, build_unary},
    {"leaky_relu", 1, 1, (const char *const[]){"alpha", NULL}, build_leaky_relu},
    {"elu", 1, 1, (const char *const[]){"alpha", NULL}, build_elu},
    {"clip", 1, 1, (const char *const[]){"min", "max", NULL}, build_clip},
    {"prelu", 1, 1, (const char *const[]){"num_slopes", NULL}, build_prelu},
    {"lrn", 1, 1, (const char *const[]){"size", "alpha", "beta", "k", NULL}, build_lrn},
    {"batch_norm", 1, 1, (const char *const[]){"eps", NULL}, build_batch_norm},
    {"concat", 1, GJ_MAX_INPUTS, no_keys, build_concat},
    {"add", 2, 2, no_keys, build_add},
    {"zero_pad", 1, 1, (const char *const[]){"pads", NULL}, build_zero_pad},
    {"maxout", 1, 1, (const char *const[]){"pieces", NULL}, build_maxout},
};

static const gj_op_t *find_op(const char *name)
{
    for (size_t i = 0; name && i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(ops[i].name, name) == 0)
            return &ops[i];
    return NULL;
}

/* Rejects keys other than name/op/inputs and the op's own. */
static int check_node_keys(gj_node_t *n, const gj_op_t *op)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, n->obj) {
        const char *k = item->string;
        bool known = strcmp(k, "name") == 0 || strcmp(k, "op") == 0 || strcmp(k, "inputs") == 0;
        for (const char *const *p = op->keys; !known && *p; p++)
            known = strcmp(k, *p) == 0;
        if (!known)
            return node_error(n, CNN_E_FORMAT, "unknown key '%.60s'", k);
    }
    return 0;
}

/* Resolves "inputs" (names of earlier nodes; default: the previous node). */
static int resolve_inputs(gj_node_t *n, const gj_op_t *op)
{
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(n->obj, "inputs");
    n->num_inputs = 0;
    if (!inputs) {
        if (op->min_inputs > 0 && n->g->num_nodes > 0)
            n->inputs[n->num_inputs++] = n->g->num_nodes - 1;
    } else {
        if (!cJSON_IsArray(inputs))
            return node_error(n, CNN_E_FORMAT, "'%s' must be a list of node names", "inputs");
        const cJSON *item;
        cJSON_ArrayForEach(item, inputs) {
            const char *s = cJSON_GetStringValue(item);
            int id = s ? cnn_graph_find(n->g, s) : -1;
            if (id < 0)
                return node_error(n, CNN_E_FORMAT, "input '%.100s' is not an earlier node", s ? s : "(not a string)");
            if (n->num_inputs == GJ_MAX_INPUTS)
                return node_error(n, CNN_E_FORMAT, "too many %s", "inputs");
            n->inputs[n->num_inputs++] = id;
        }
    }
    if (n->num_inputs < op->min_inputs || n->num_inputs > op->max_inputs)
        return node_error(n, CNN_E_FORMAT, "wrong number of inputs for op '%s'", op->name);
    return 0;
}

static int build_node(gj_node_t *n)
{
    n->reported = true; /* until the handler runs, every failure below is reported here */
    if (!cJSON_IsObject(n->obj))
        return cnn_error_set(n->err, CNN_E_FORMAT, "graph node %d must be an object", n->index);
    n->name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n->obj, "name"));
    if (!n->name || !*n->name || strlen(n->name) > 200)
        return cnn_error_set(n->err, CNN_E_FORMAT, "graph node %d needs a \"name\" of 1-200 characters", n->index);
    const char *op_name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n->obj, "op"));
    const gj_op_t *op = find_op(op_name);
    if (!op)
        return node_error(n, CNN_E_UNSUPPORTED, "unknown op '%.60s'", op_name ? op_name : "(none)");
    if ((n->index == 0) != (strcmp(op->name, "input") == 0))
        return node_error(n, CNN_E_FORMAT, "the first node, and only it, must be op '%s'", "input");
    if (cnn_graph_find(n->g, n->name) >= 0)
        return node_error(n, CNN_E_FORMAT, "name used by an earlier node%s", "");
    int rc;
    if ((rc = check_node_keys(n, op)) || (rc = resolve_inputs(n, op)))
        return rc;
    n->reported = false;
    int id = op->build(n);
    if (id < 0 && !n->reported) /* a graph builder failed: its message is in g->err */
        return cnn_error_set(n->err, (cnn_status_t)id, "graph node %d: %s", n->index, n->g->err.message);
    return id;
}

cnn_status_t cnn_graph_from_json(const cJSON *spec, cnn_graph_t **out, cnn_error_t *err)
{
    *out = NULL;
    const cJSON *nodes = cJSON_IsObject(spec) ? cJSON_GetObjectItemCaseSensitive(spec, "nodes") : NULL;
    if (!cJSON_IsArray(nodes) || cJSON_GetArraySize(nodes) < 2)
        return cnn_error_set(err, CNN_E_FORMAT, "graph needs \"nodes\": a list starting with the input node");
    const cJSON *item;
    cJSON_ArrayForEach(item, spec) {
        if (strcmp(item->string, "nodes") != 0 && strcmp(item->string, "output") != 0)
            return cnn_error_set(err, CNN_E_FORMAT, "graph: unknown key '%.60s'", item->string);
    }
    cnn_graph_t *g = cnn_graph_new();
    gj_node_t *n = calloc(1, sizeof *n);
    cnn_status_t st = CNN_OK;
    if (!g || !n) {
        st = cnn_error_set(err, CNN_E_NOMEM, "out of memory building graph");
        goto done;
    }
    n->g = g;
    n->err = err;
    int index = 0, id = -1;
    cJSON_ArrayForEach(item, nodes) {
        n->obj = item;
        n->index = index++;
        n->name = NULL;
        n->reported = false;
        if ((id = build_node(n)) < 0) {
            st = (cnn_status_t)id;
            goto done;
        }
    }
    g->output = id;
    const cJSON *output = cJSON_GetObjectItemCaseSensitive(spec, "output");
    if (output) {
        const char *s = cJSON_GetStringValue(output);
        g->output = s ? cnn_graph_find(g, s) : -1;
        if (g->output < 0) {
            st = cnn_error_set(err, CNN_E_FORMAT, "graph output '%.100s' names no node", s ? s : "(not a string)");
            goto done;
        }
    }
    *out = g;
    g = NULL;
done:
    free(n);
    cnn_graph_free(g);
    return st;
}
