/* Shared pieces of the ONNX importer (weights-tools/onnx_*.c): constant
 * tensors, the name → value table, the import context and the per-operator
 * mapping functions. Not a public interface. */
#ifndef TOOLS_ONNX_INTERNAL_H
#define TOOLS_ONNX_INTERNAL_H

#include "graph.h"
#include "model_writer.h"
#include "onnx.pb-c.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOOLS_ONNX_MAX_DIMS 8
/* Stands for the (run-time) batch size inside folded shape tensors. */
#define TOOLS_ONNX_BATCH INT64_MIN
/* Limits that keep hostile files from costing unbounded time or memory. */
#define TOOLS_ONNX_MAX_NODES 20000
#define TOOLS_ONNX_MAX_NUMEL ((size_t)1 << 31)
/* Largest computed tensor per image (values), and most channels a
 * per-channel constant (PRelu slopes, Add) may have. */
#define TOOLS_ONNX_MAX_ACTIVATION ((size_t)1 << 26)
#define TOOLS_ONNX_MAX_CHANNELS (1 << 20)
/* Memory all folded constants together may take: real models fold shapes
 * and pads (and maybe transpose a weight); this stops files that ask for
 * gigabytes through ConstantOfShape, Gather or long chains of folds. */
#define TOOLS_ONNX_MAX_FOLD_BYTES ((size_t)512 << 20)

/* A constant tensor: fp32 values, or int64 values (shapes, indices, pads). */
typedef struct tools_onnx_tensor {
    int ndim;
    int64_t dims[TOOLS_ONNX_MAX_DIMS];
    size_t numel;
    bool is_int;
    float *f;   /* numel values when !is_int */
    int64_t *i; /* numel values when is_int */
    bool borrowed; /* f / i belong to another tensor that outlives this one */
} tools_onnx_tensor_t;

/* onnx_wire.c */
/* Checks the protobuf framing of a ModelProto and that messages nest at most
 * a bounded depth, so that protobuf-c's recursive unpacking is safe. */
cnn_status_t tools_onnx_check_wire(const uint8_t *buf, size_t len, cnn_error_t *err);

/* onnx_tensor.c */
/* Decodes a TensorProto (typed fields, raw_data or external data under
 * base_dir) into *out: floating types become fp32, integer and bool types
 * int64. `what` names the tensor in messages. */
cnn_status_t tools_onnx_tensor_read(const Onnx__TensorProto *tp, const char *base_dir, const char *what,
                                    tools_onnx_tensor_t *out, cnn_error_t *err);
/* Element count of `dims`, refused above `limit`. */
cnn_status_t tools_onnx_numel(int ndim, const int64_t *dims, size_t limit, size_t *numel, cnn_error_t *err);
/* Allocates a zeroed tensor of the given shape (ndim 0: a scalar). */
cnn_status_t tools_onnx_tensor_alloc(tools_onnx_tensor_t *t, bool is_int, int ndim, const int64_t *dims,
                                     cnn_error_t *err);
void tools_onnx_tensor_free(tools_onnx_tensor_t *t);
/* Element i as a double (int64 values converted). */
double tools_onnx_tensor_at(const tools_onnx_tensor_t *t, size_t i);

/* onnx_external.c */
/* Reads `size` bytes of external tensor data into a malloc'ed *out: file
 * `location` (relative, inside base_dir, no "..", no symlinks) at `offset`;
 * `length` (when has_length) must equal size. Allocates only once the file
 * is known to hold the bytes. */
cnn_status_t tools_onnx_external_read(const char *base_dir, const char *location, uint64_t offset,
                                      bool has_length, uint64_t length, size_t size, void **out,
                                      cnn_error_t *err);

/* onnx_table.c: string-keyed hash table of borrowed pointers. */
typedef struct tools_onnx_table {
    char **keys;
    void **vals;
    size_t cap, count;
} tools_onnx_table_t;

/* Inserts or replaces key → val (key copied). */
cnn_status_t tools_onnx_table_put(tools_onnx_table_t *t, const char *key, void *val, cnn_error_t *err);
/* The value for key, or NULL. *found (optional) says whether the key exists. */
void *tools_onnx_table_get(const tools_onnx_table_t *t, const char *key, bool *found);
void tools_onnx_table_free(tools_onnx_table_t *t);

/* What an ONNX tensor name stands for during the import. */
typedef struct tools_onnx_value {
    bool is_const;
    tools_onnx_tensor_t t; /* is_const */
    int node;              /* else: the engine node (id in ctx->g) holding it */
    int rank;              /* else: ONNX rank with the batch axis: 1 [N], 2 [N,F],
                              3 [N,C,L] (engine C,L,1) or 4 [N,C,H,W] */
} tools_onnx_value_t;

typedef struct tools_onnx_ctx {
    const Onnx__GraphProto *graph;
    int64_t opset;             /* of the default domain */
    int64_t static_batch;      /* the input's declared batch size, 0 when symbolic; a
                                  literal of this size in front of a Reshape target
                                  stands for the batch */
    const char *base_dir;      /* for external data; NULL refuses it */
    tools_model_writer_t *w;
    cnn_graph_t *g;            /* the same network built with the engine's builders:
                                  shapes, parameter checks, weight shapes */
    tools_onnx_table_t values; /* ONNX name → tools_onnx_value_t (borrowed from `owned`) */
    tools_onnx_table_t names;  /* engine node names in use */
    tools_onnx_table_t uses;   /* ONNX name → number of consuming node inputs (as uintptr_t) */
    size_t fold_bytes;         /* allocated by constant folding so far */
    tools_onnx_value_t **owned;
    size_t num_owned, cap_owned;
    const Onnx__NodeProto *node; /* node being mapped, for messages */
    size_t node_index;
    cnn_error_t *err;
} tools_onnx_ctx_t;

/* onnx_values.c */
/* Sets c->err to `status` and a message prefixed with the current node. */
cnn_status_t tools_onnx_fail(tools_onnx_ctx_t *c, cnn_status_t status, const char *fmt, ...) CNN_PRINTF(3, 4);
/* Prefixes the message already in c->err with the current node. */
void tools_onnx_prefix_node(tools_onnx_ctx_t *c);
/* Input i of the current node: NULL (and CNN_OK) when absent or "" (an
 * omitted optional input); an error when named but not yet defined. */
cnn_status_t tools_onnx_in(tools_onnx_ctx_t *c, size_t i, tools_onnx_value_t **out);
/* Input i, which must exist and be computed at run time. */
cnn_status_t tools_onnx_in_runtime(tools_onnx_ctx_t *c, size_t i, tools_onnx_value_t **out);
/* Input i, which must be a constant (NULL when absent and !required). */
cnn_status_t tools_onnx_in_const(tools_onnx_ctx_t *c, size_t i, bool required, tools_onnx_value_t **out);
/* Defines output i of the current node as engine node `node` with ONNX rank `rank`. */
cnn_status_t tools_onnx_out_runtime(tools_onnx_ctx_t *c, size_t i, int node, int rank);
/* Defines output i as a constant; takes ownership of *t (also on error). */
cnn_status_t tools_onnx_out_const(tools_onnx_ctx_t *c, size_t i, tools_onnx_tensor_t *t);
/* Defines output i as another name for `v`. */
cnn_status_t tools_onnx_out_alias(tools_onnx_ctx_t *c, size_t i, tools_onnx_value_t *v);
/* Defines `name` (a graph input or initializer); takes ownership of v. */
cnn_status_t tools_onnx_define(tools_onnx_ctx_t *c, const char *name, tools_onnx_value_t *v);
/* Checks that outputs from index `first` on are unused (nothing consumes
 * them and they are not graph outputs). */
cnn_status_t tools_onnx_outputs_unused(tools_onnx_ctx_t *c, size_t first, const char *what);
/* ONNX dims of a run-time value (dims[0] = TOOLS_ONNX_BATCH); returns the rank. */
int tools_onnx_runtime_dims(const tools_onnx_ctx_t *c, const tools_onnx_value_t *v, int64_t dims[4]);
/* "[N, 3, 224, 224]" into buf (N for TOOLS_ONNX_BATCH); returns buf. */
const char *tools_onnx_dims_str(const int64_t *dims, int n, char *buf, size_t size);

/* onnx_emit.c */
/* A fresh, unique engine node name for the current node (+ `suffix` if not NULL). */
cnn_status_t tools_onnx_node_name(tools_onnx_ctx_t *c, const char *suffix, char *buf, size_t size);
/* Checks a builder result `id`; on failure moves the builder's message into c->err. */
cnn_status_t tools_onnx_built(tools_onnx_ctx_t *c, int id);
/* Adds the writer node mirroring engine node `id` (its op name and inputs);
 * NULL (c->err set) on failure. */
cJSON *tools_onnx_emit(tools_onnx_ctx_t *c, int id);
/* Adds the tensor of weight slot `slot` of engine node `id` from `n` floats;
 * `what` names their ONNX source for the error when the count is wrong. */
cnn_status_t tools_onnx_weight(tools_onnx_ctx_t *c, int id, int slot, const float *data, size_t n,
                               const char *what);
/* Adds an int array under key; false on out of memory. */
bool tools_onnx_json_ints(cJSON *obj, const char *key, const int *v, int n);

/* onnx_attr.c: attributes of the current node. */
const Onnx__AttributeProto *tools_onnx_attr(const tools_onnx_ctx_t *c, const char *name);
cnn_status_t tools_onnx_attr_int(tools_onnx_ctx_t *c, const char *name, int64_t def, int64_t *out);
cnn_status_t tools_onnx_attr_float(tools_onnx_ctx_t *c, const char *name, float def, float *out);
/* *vals = NULL, *n = 0 when absent. */
cnn_status_t tools_onnx_attr_ints(tools_onnx_ctx_t *c, const char *name, const int64_t **vals, size_t *n);
cnn_status_t tools_onnx_attr_string(tools_onnx_ctx_t *c, const char *name, const char *def, char *buf,
                                    size_t size);
/* Checks that every attribute is one of the space-separated `known` names. */
cnn_status_t tools_onnx_attrs_known(tools_onnx_ctx_t *c, const char *known);

/* Operator mapping. Each maps c->node (attributes already checked) onto
 * engine nodes or folded constants. */
typedef cnn_status_t (*tools_onnx_map_fn)(tools_onnx_ctx_t *c);
typedef struct tools_onnx_op {
    const char *type;
    tools_onnx_map_fn map;
    const char *attrs; /* accepted attribute names, space-separated */
} tools_onnx_op_t;
/* The operator table entry for a default-domain op type, or NULL. */
const tools_onnx_op_t *tools_onnx_op_find(const char *type);

/* onnx_fold.c */
/* Allocates a folded constant, within TOOLS_ONNX_MAX_FOLD_BYTES in all. */
cnn_status_t tools_onnx_fold_alloc(tools_onnx_ctx_t *c, tools_onnx_tensor_t *t, bool is_int, int ndim,
                                   const int64_t *dims);
cnn_status_t tools_onnx_map_constant(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_shape(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_gather(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_unsqueeze(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_squeeze(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_cast(tools_onnx_ctx_t *c);
/* Concat and Reshape of constants (their run-time forms are in onnx_ops_shape.c). */
cnn_status_t tools_onnx_fold_concat(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_fold_reshape(tools_onnx_ctx_t *c, const tools_onnx_value_t *data,
                                     const tools_onnx_tensor_t *shape, bool allowzero);
/* Resolves a Reshape target against `in` dims (0 copies, -1 infers);
 * *out_n = its length. Errors name the node. */
cnn_status_t tools_onnx_reshape_target(tools_onnx_ctx_t *c, const int64_t *in, int in_n,
                                       const tools_onnx_tensor_t *shape, bool allowzero, int64_t *out,
                                       int *out_n);

/* onnx_fold_nd.c */
cnn_status_t tools_onnx_map_constant_of_shape(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_slice(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_transpose(tools_onnx_ctx_t *c);

/* onnx_ops_conv.c */
cnn_status_t tools_onnx_map_conv(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_max_pool(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_avg_pool(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_global_avg_pool(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_pad(tools_onnx_ctx_t *c);

/* onnx_ops_dense.c */
cnn_status_t tools_onnx_map_gemm(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_matmul(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_batch_norm(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_add(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_prelu(tools_onnx_ctx_t *c);
/* Constant `t` broadcast (numpy rules) against a run-time value with ONNX
 * dims xdims[0..rank): true when its values vary along the channel axis
 * (axis 1) only, with the C per-channel values in out (C = xdims[1], or 1
 * for rank 1). Scalars, [C,1,1], [1,C,1,1] and [C] on [N,C] all qualify. */
bool tools_onnx_per_channel(const tools_onnx_tensor_t *t, const int64_t *xdims, int rank, float *out);

/* onnx_ops_act.c */
cnn_status_t tools_onnx_map_relu(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_sigmoid(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_tanh(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_leaky_relu(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_elu(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_clip(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_softmax(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_lrn(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_dropout(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_identity(tools_onnx_ctx_t *c);

/* onnx_ops_shape.c */
/* Output 0 := run-time value v seen with ONNX dims `dims` (n of them, dims[0]
 * the batch): another name for v when the engine's [C,H,W] is unchanged, a
 * flatten node when dims is [N, F]; anything else is unsupported. */
cnn_status_t tools_onnx_runtime_reshape(tools_onnx_ctx_t *c, tools_onnx_value_t *v, const int64_t *dims, int n);
cnn_status_t tools_onnx_map_concat(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_flatten(tools_onnx_ctx_t *c);
cnn_status_t tools_onnx_map_reshape(tools_onnx_ctx_t *c);

#endif
