/* ONNX import driver (see onnx_import.h): parse the ModelProto, refuse
 * unsupported operators all at once, define initializers and the one image
 * input, map the nodes in order, and name the graph output. */
#include "onnx_import.h"

#include "onnx_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FILE_BYTES ((size_t)2 << 30) /* protobuf's own limit */

static bool default_domain(const char *d)
{
    return !d || !*d || strcmp(d, "ai.onnx") == 0;
}

/* Collects every node whose operator has no mapping into one message:
 * "unsupported ONNX operators: Foo (2 nodes), com.x.Bar (1 node)". */
static cnn_status_t check_operators(tools_onnx_ctx_t *c)
{
    const Onnx__GraphProto *g = c->graph;
    tools_onnx_table_t seen = {0};
    char msg[CNN_ERROR_MESSAGE_MAX - 64];
    size_t len = 0, kinds = 0;
    cnn_status_t st = CNN_OK;
    /* First pass counts per operator; the second prints in order of first appearance. */
    for (int pass = 0; pass < 2 && st == CNN_OK; pass++) {
        for (size_t i = 0; i < g->n_node && st == CNN_OK; i++) {
            const Onnx__NodeProto *n = g->node[i];
            const char *op = n->op_type ? n->op_type : "";
            if (default_domain(n->domain) && tools_onnx_op_find(op))
                continue;
            char key[200];
            snprintf(key, sizeof key, "%.80s%s%.100s", default_domain(n->domain) ? "" : n->domain,
                     default_domain(n->domain) ? "" : ".", *op ? op : "(no op_type)");
            bool found;
            uintptr_t count = (uintptr_t)tools_onnx_table_get(&seen, key, &found);
            if (pass == 0) {
                kinds += !found;
                st = tools_onnx_table_put(&seen, key, (void *)(count + 1), c->err);
            } else if (count) {
                if (len < sizeof msg)
                    len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s (%zu node%s)", len ? ", " : "", key,
                                            (size_t)count, count == 1 ? "" : "s");
                st = tools_onnx_table_put(&seen, key, (void *)0, c->err);
            }
        }
    }
    tools_onnx_table_free(&seen);
    if (st != CNN_OK || kinds == 0)
        return st;
    return cnn_error_set(c->err, CNN_E_UNSUPPORTED, "unsupported ONNX operator%s: %s", kinds == 1 ? "" : "s", msg);
}

/* Counts the consumers of every tensor name (node inputs, graph outputs). */
static cnn_status_t count_uses(tools_onnx_ctx_t *c)
{
    const Onnx__GraphProto *g = c->graph;
    for (size_t i = 0; i < g->n_node; i++) {
        for (size_t k = 0; k < g->node[i]->n_input; k++) {
            const char *name = g->node[i]->input[k];
            uintptr_t n = (uintptr_t)tools_onnx_table_get(&c->uses, name, NULL);
            cnn_status_t st = *name ? tools_onnx_table_put(&c->uses, name, (void *)(n + 1), c->err) : CNN_OK;
            if (st != CNN_OK)
                return st;
        }
    }
    for (size_t i = 0; i < g->n_output; i++) {
        const char *name = g->output[i]->name ? g->output[i]->name : "";
        cnn_status_t st = tools_onnx_table_put(&c->uses, name, (void *)1, c->err);
        if (st != CNN_OK)
            return st;
    }
    return CNN_OK;
}

static cnn_status_t define_initializers(tools_onnx_ctx_t *c)
{
    const Onnx__GraphProto *g = c->graph;
    if (g->n_sparse_initializer)
        return cnn_error_set(c->err, CNN_E_UNSUPPORTED, "sparse initializers are not supported");
    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *tp = g->initializer[i];
        if (!tp->name || !*tp->name)
            return cnn_error_set(c->err, CNN_E_FORMAT, "initializer #%zu has no name", i);
        tools_onnx_value_t *v = calloc(1, sizeof *v);
        if (!v)
            return cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
        v->is_const = true;
        cnn_status_t st = tools_onnx_tensor_read(tp, c->base_dir, tp->name, &v->t, c->err);
        if (st != CNN_OK) {
            free(v);
            cnn_error_prefix(c->err, "initializer");
            return st;
        }
        if ((st = tools_onnx_define(c, tp->name, v)) != CNN_OK)
            return st;
    }
    return CNN_OK;
}

/* ONNX dims of a graph input or output (dims[0] may be anything: the batch).
 * Returns the rank, or -1 when it has no tensor shape. */
static int value_dims(const Onnx__ValueInfoProto *vi, int64_t dims[4], int32_t *elem_type)
{
    const Onnx__TypeProto *t = vi->type;
    if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type || !t->tensor_type->shape)
        return -1;
    const Onnx__TensorShapeProto *s = t->tensor_type->shape;
    *elem_type = t->tensor_type->has_elem_type ? t->tensor_type->elem_type : 0;
    if (s->n_dim > 4)
        return (int)(s->n_dim > 64 ? 64 : s->n_dim);
    for (size_t k = 0; k < s->n_dim; k++) {
        const Onnx__TensorShapeProto__Dimension *d = s->dim[k];
        dims[k] = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ? d->dim_value : -1;
    }
    dims[0] = TOOLS_ONNX_BATCH;
    return (int)s->n_dim;
}

/* The one graph input that is not an initializer becomes the input node. */
static cnn_status_t define_input(tools_onnx_ctx_t *c)
{
    const Onnx__GraphProto *g = c->graph;
    const Onnx__ValueInfoProto *in = NULL;
    size_t count = 0;
    for (size_t i = 0; i < g->n_input; i++) {
        const char *name = g->input[i]->name ? g->input[i]->name : "";
        if (tools_onnx_table_get(&c->values, name, NULL))
            continue;
        if (!*name)
            return cnn_error_set(c->err, CNN_E_FORMAT, "graph input #%zu has no name", i);
        in = in ? in : g->input[i];
        count++;
    }
    if (count != 1)
        return cnn_error_set(c->err, CNN_E_UNSUPPORTED,
                             "the graph has %zu inputs besides its initializers; cnnserve models take exactly one%s%s",
                             count, count ? ", here: " : "", count ? in->name : "");
    int64_t dims[4];
    int32_t elem = 0;
    int rank = value_dims(in, dims, &elem);
    char a[160];
    if (rank < 1 || rank > 4)
        return cnn_error_set(c->err, CNN_E_UNSUPPORTED,
                             "graph input '%.100s' must be a tensor [N, C, H, W], [N, C, L], [N, F] or [N]; it has %s",
                             in->name, rank < 0 ? "no shape" : "more axes");
    if (elem != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return cnn_error_set(c->err, CNN_E_UNSUPPORTED, "graph input '%.100s' must be float32 (has type %d)", in->name,
                             (int)elem);
    for (int k = 1; k < rank; k++)
        if (dims[k] < 1 || dims[k] > 16777216)
            return cnn_error_set(c->err, CNN_E_UNSUPPORTED, "graph input '%.100s' %s needs fixed, positive sizes after the batch axis",
                                 in->name, tools_onnx_dims_str(dims, rank, a, sizeof a));
    const Onnx__TensorShapeProto__Dimension *batch = in->type->tensor_type->shape->dim[0];
    if (batch->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && batch->dim_value >= 1)
        c->static_batch = batch->dim_value;
    int shape[3] = {1, 1, 1};
    for (int k = 1; k < rank; k++)
        shape[k - 1] = (int)dims[k];
    if ((double)shape[0] * shape[1] * shape[2] > (double)TOOLS_ONNX_MAX_ACTIVATION)
        return cnn_error_set(c->err, CNN_E_UNSUPPORTED, "graph input '%.100s' %s is too large (at most %zu values per image)",
                             in->name, tools_onnx_dims_str(dims, rank, a, sizeof a), TOOLS_ONNX_MAX_ACTIVATION);
    char name[160];
    snprintf(name, sizeof name, "%s", "input");
    cnn_status_t st = tools_onnx_table_put(&c->names, name, (void *)1, c->err);
    if (st != CNN_OK)
        return st;
    int id = cnn_graph_add_input(c->g, name, shape[0], shape[1], shape[2]);
    if (id < 0)
        return cnn_error_set(c->err, CNN_E_SHAPE, "graph input '%.100s': %s", in->name, c->g->err.message);
    c->g->nodes[id].flat = rank <= 2;
    cJSON *o = tools_onnx_emit(c, id);
    if (!o || !tools_onnx_json_ints(o, "shape", shape, rank <= 2 ? 1 : rank - 1))
        return cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
    tools_onnx_value_t *v = calloc(1, sizeof *v);
    if (!v)
        return cnn_error_set(c->err, CNN_E_NOMEM, "out of memory");
    v->node = id;
    v->rank = rank;
    return tools_onnx_define(c, in->name, v);
}

static cnn_status_t map_nodes(tools_onnx_ctx_t *c)
{
    for (size_t i = 0; i < c->graph->n_node; i++) {
        c->node = c->graph->node[i];
        c->node_index = i;
        const tools_onnx_op_t *op = tools_onnx_op_find(c->node->op_type);
        cnn_status_t st = tools_onnx_attrs_known(c, op->attrs);
        if (st == CNN_OK)
            st = op->map(c);
        if (st != CNN_OK)
            return st;
    }
    c->node = NULL;
    return CNN_OK;
}

/* The graph output: a computed tensor whose shape matches its declaration. */
static cnn_status_t set_output(tools_onnx_ctx_t *c)
{
    const Onnx__GraphProto *g = c->graph;
    if (g->n_output != 1)
        return cnn_error_set(c->err, CNN_E_UNSUPPORTED, "the graph has %zu outputs; cnnserve models have exactly one",
                             g->n_output);
    const char *name = g->output[0]->name ? g->output[0]->name : "";
    tools_onnx_value_t *v = tools_onnx_table_get(&c->values, name, NULL);
    if (!v)
        return cnn_error_set(c->err, CNN_E_FORMAT, "graph output '%.100s' is not computed by any node", name);
    if (v->is_const)
        return cnn_error_set(c->err, CNN_E_UNSUPPORTED, "graph output '%.100s' is a constant", name);
    int64_t have[4], want[4];
    int32_t elem;
    int rank = tools_onnx_runtime_dims(c, v, have), declared = value_dims(g->output[0], want, &elem);
    bool differs = declared >= 0 && declared != rank;
    for (int k = 1; !differs && k < declared; k++)
        differs = want[k] > 0 && want[k] != have[k];
    char a[160], b[160];
    if (differs)
        return cnn_error_set(c->err, CNN_E_SHAPE, "graph output '%.100s' is declared %s but computes %s", name,
                             declared > 4 ? "with more than 4 axes" : tools_onnx_dims_str(want, declared, a, sizeof a),
                             tools_onnx_dims_str(have, rank, b, sizeof b));
    int id = v->node;
    if (id == 0) { /* the graph passes its input through: give the output a node of its own */
        char node_name[160];
        cnn_status_t st = tools_onnx_node_name(c, "output", node_name, sizeof node_name);
        if (st != CNN_OK)
            return st;
        id = cnn_graph_add_unary(c->g, node_name, CNN_OP_DROPOUT, 0);
        if (id < 0)
            return cnn_error_set(c->err, (cnn_status_t)id, "%s", c->g->err.message);
        if (!tools_onnx_emit(c, id))
            return c->err->status;
    }
    return tools_writer_set_output(c->w, c->g->nodes[id].name, c->err);
}

static cnn_status_t import_model(tools_onnx_ctx_t *c, const Onnx__ModelProto *m)
{
    bool has_opset = false;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        if (default_domain(m->opset_import[i]->domain)) {
            c->opset = m->opset_import[i]->has_version ? m->opset_import[i]->version : 1;
            has_opset = true;
        }
    }
    if (!m->graph)
        return cnn_error_set(c->err, CNN_E_FORMAT, "not an ONNX model: no graph");
    if (!has_opset)
        return cnn_error_set(c->err, CNN_E_FORMAT, "the model imports no opset of the default ONNX domain");
    c->graph = m->graph;
    if (c->graph->n_node > TOOLS_ONNX_MAX_NODES)
        return cnn_error_set(c->err, CNN_E_UNSUPPORTED, "the graph has %zu nodes (at most %d supported)",
                             c->graph->n_node, TOOLS_ONNX_MAX_NODES);
    cnn_status_t st;
    if ((st = check_operators(c)) != CNN_OK || (st = count_uses(c)) != CNN_OK ||
        (st = define_initializers(c)) != CNN_OK || (st = define_input(c)) != CNN_OK ||
        (st = map_nodes(c)) != CNN_OK)
        return st;
    return set_output(c);
}

cnn_status_t tools_onnx_import_buffer(const uint8_t *buf, size_t len, const char *base_dir,
                                      tools_model_writer_t *w, cnn_error_t *err)
{
    cnn_error_t local;
    tools_onnx_ctx_t c = {.base_dir = base_dir, .w = w, .err = err ? err : &local};
    cnn_error_clear(c.err);
    Onnx__ModelProto *m = NULL;
    cnn_status_t st = tools_onnx_check_wire(buf, len, c.err);
    if (st == CNN_OK && !(m = onnx__model_proto__unpack(NULL, len, buf)))
        st = cnn_error_set(c.err, CNN_E_FORMAT, "not an ONNX model: the protobuf data is malformed or truncated");
    if (st == CNN_OK && !(c.g = cnn_graph_new()))
        st = cnn_error_set(c.err, CNN_E_NOMEM, "out of memory");
    if (st == CNN_OK)
        st = import_model(&c, m);
    for (size_t i = 0; i < c.num_owned; i++) {
        tools_onnx_tensor_free(&c.owned[i]->t);
        free(c.owned[i]);
    }
    free(c.owned);
    tools_onnx_table_free(&c.values);
    tools_onnx_table_free(&c.names);
    tools_onnx_table_free(&c.uses);
    cnn_graph_free(c.g);
    if (m)
        onnx__model_proto__free_unpacked(m, NULL);
    return st;
}

cnn_status_t tools_onnx_import(const char *path, tools_model_writer_t *w, cnn_error_t *err)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        cnn_status_t st = cnn_error_set(err, CNN_E_IO, "cannot read %s: %s", path,
                                        f ? "not a regular file" : strerror(errno));
        if (f)
            fclose(f);
        return st;
    }
    if ((uint64_t)sb.st_size > MAX_FILE_BYTES) {
        fclose(f);
        return cnn_error_set(err, CNN_E_UNSUPPORTED, "%s is over 2 GiB; ONNX keeps such weights as external data", path);
    }
    size_t len = (size_t)sb.st_size;
    uint8_t *buf = malloc(len ? len : 1);
    cnn_status_t st = CNN_OK;
    if (!buf)
        st = cnn_error_set(err, CNN_E_NOMEM, "out of memory reading %s", path);
    else if (fread(buf, 1, len, f) != len)
        st = cnn_error_set(err, CNN_E_IO, "cannot read %s", path);
    fclose(f);
    if (st != CNN_OK) {
        free(buf);
        return st;
    }
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    st = tools_onnx_import_buffer(buf, len, dir, w, err);
    free(buf);
    return st;
}
