/* cnnserve engine — public API.
 *
 * A model is a directory (model.json + weights.safetensors). Load it once with
 * cnn_model_load(), then create one or more sessions (device, precision, max
 * batch) and run batches of preprocessed NCHW float32 images through them.
 *
 * Every function that can fail returns a cnn_status_t and, when `err` is not
 * NULL, fills it with a human-readable message. Nothing here aborts or exits on
 * bad input.
 */
#ifndef CNN_CNN_H
#define CNN_CNN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cnn_status {
    CNN_OK = 0,
    CNN_E_INVALID_ARGUMENT = -1, /* caller passed something unusable */
    CNN_E_IO = -2,               /* file could not be opened/read/mapped */
    CNN_E_FORMAT = -3,           /* a file is malformed */
    CNN_E_SHAPE = -4,            /* tensor shapes do not fit together */
    CNN_E_UNSUPPORTED = -5,      /* valid, but not implemented here */
    CNN_E_NOMEM = -6,            /* allocation failed */
    CNN_E_BACKEND = -7,          /* the compute library reported a failure */
    CNN_E_NOT_FOUND = -8,        /* named thing (tensor, layer, arch) unknown */
    CNN_E_TOO_LARGE = -9,        /* input over a size limit (e.g. image pixels) */
} cnn_status_t;

#define CNN_ERROR_MESSAGE_MAX 512

typedef struct cnn_error {
    cnn_status_t status;
    char message[CNN_ERROR_MESSAGE_MAX];
} cnn_error_t;

/* Short constant name of a status ("invalid argument", ...). */
const char *cnn_status_strerror(cnn_status_t status);

typedef enum cnn_precision {
    CNN_PRECISION_FP32 = 0, /* fp32 arithmetic (on CUDA: TF32 tensor cores off) */
    CNN_PRECISION_BF16,     /* CPU: bf16 where oneDNN has it */
    CNN_PRECISION_TF32,     /* CUDA: fp32 storage, TF32 tensor-core math */
    CNN_PRECISION_FP16,     /* CUDA: fp16 storage (NHWC), fp32 accumulation */
} cnn_precision_t;

/* "fp32", "bf16", "tf32", "fp16". */
const char *cnn_precision_name(cnn_precision_t precision);
/* Parses one of those names into *out; false (and *out unchanged) otherwise. */
bool cnn_precision_parse(const char *name, cnn_precision_t *out);

typedef enum cnn_device_kind {
    CNN_DEVICE_CPU = 0,
    CNN_DEVICE_CUDA,
} cnn_device_kind_t;

typedef struct cnn_model cnn_model_t;
typedef struct cnn_session cnn_session_t;

/* How raw images become the network's input tensor (from model.json). */
typedef enum cnn_color_mode {
    CNN_COLOR_GRAYSCALE = 0,
    CNN_COLOR_RGB,
} cnn_color_mode_t;

typedef struct cnn_preprocess {
    cnn_color_mode_t color;
    int resize_shorter; /* 0: resize straight to input size */
    float scale;        /* applied to 0..255 pixels first */
    float mean[3];
    float std[3];
} cnn_preprocess_t;

typedef struct cnn_model_info {
    const char *name;
    const char *architecture; /* zoo name */
    int input_channels, input_height, input_width;
    int num_classes;
    const char *const *labels; /* num_classes entries, may be NULL */
    bool output_is_probability; /* graph ends in softmax */
    cnn_preprocess_t preprocess;
    int max_batch_size;
    int max_queue_delay_us;
    cnn_precision_t precision; /* model.json's "precision" (default fp32); a server may override it */
} cnn_model_info_t;

/* One layer of the (rewritten) graph, as shown by `cnnserve inspect`. */
typedef struct cnn_layer_info {
    const char *name;
    const char *op;        /* "conv2d", "relu", ... */
    const char *fused;     /* e.g. "bn+relu", "" when nothing is fused */
    int c, h, w;           /* per-image output shape */
    bool flat;             /* output is a vector of c values (h = w = 1) */
    int64_t params;        /* parameters the weights file holds for this layer and the layers fused into it */
    int64_t macs;          /* multiply-adds per image */
} cnn_layer_info_t;

/* Loads a model directory: parses model.json, builds the graph, maps and
 * validates weights.safetensors, binds every tensor, and applies load-time
 * rewrites (BN folding, dropout removal, activation fusion).
 * Returns CNN_OK and *out on success; on error *out is NULL. */
cnn_status_t cnn_model_load(const char *dir, cnn_model_t **out, cnn_error_t *err);
void cnn_model_free(cnn_model_t *model);

const cnn_model_info_t *cnn_model_get_info(const cnn_model_t *model);
/* Number of floats one image's output occupies (num_classes for classifiers). */
size_t cnn_model_output_size(const cnn_model_t *model);
size_t cnn_model_layer_count(const cnn_model_t *model);
/* Fills *info for layer `index` (0 <= index < layer_count); strings are owned by the model. */
cnn_status_t cnn_model_get_layer(const cnn_model_t *model, size_t index, cnn_layer_info_t *info);
/* Peak bytes of the fp32 activation arena the planner lays out for `batch` images. */
size_t cnn_model_peak_activation_bytes(const cnn_model_t *model, int batch);
/* Index of the layer called `name` (as cnn_model_get_layer lists them) in *index.
 * CNN_E_NOT_FOUND for any other name, including the name of a node a load-time
 * rewrite fused into another layer (the message then names that layer). */
cnn_status_t cnn_model_find_layer(const cnn_model_t *model, const char *name, size_t *index,
                                  cnn_error_t *err);

typedef struct cnn_session_options {
    cnn_device_kind_t device;
    int device_index;
    cnn_precision_t precision;
    int max_batch;   /* largest batch cnn_session_run accepts; <= 0: model default */
    int num_threads; /* CPU threads; <= 0: library default */
} cnn_session_options_t;

void cnn_session_options_init(cnn_session_options_t *opts);

/* CNN_OK when `device` can run `precision` on this machine; otherwise
 * CNN_E_UNSUPPORTED with a message saying why (e.g. bf16 on a CPU without
 * AVX-512). cnn_session_create makes the same check. */
cnn_status_t cnn_precision_check(cnn_device_kind_t device, cnn_precision_t precision, cnn_error_t *err);

/* CNN_OK when `device` number `index` exists and can run sessions on this
 * machine; otherwise CNN_E_UNSUPPORTED (backend not built, no driver, no GPU)
 * or CNN_E_INVALID_ARGUMENT (index out of range) with a message saying why.
 * The CPU (index 0) is always available. */
cnn_status_t cnn_device_check(cnn_device_kind_t device, int index, cnn_error_t *err);

/* Creates a session on a device. Compiled kernels/primitives are made lazily
 * per batch size on first run and cached for the session's lifetime.
 * A session may be used by one thread at a time. */
cnn_status_t cnn_session_create(cnn_model_t *model, const cnn_session_options_t *opts,
                                cnn_session_t **out, cnn_error_t *err);
void cnn_session_free(cnn_session_t *session);

/* Runs `batch` images. `input` holds batch×C×H×W floats (preprocessed, NCHW);
 * `output` receives batch×cnn_model_output_size() floats. */
cnn_status_t cnn_session_run(cnn_session_t *session, const float *input, int batch,
                             float *output, cnn_error_t *err);

/* Feature maps: one layer's output for some images of a run, copied out of
 * the same forward pass that computes the output.
 *
 * What a layer returns is its tensor after everything a load-time rewrite
 * fused into it (cnn_layer_info_t.fused): a conv with "relu" fused returns
 * the post-ReLU tensor (what a PyTorch forward hook on the nn.ReLU module
 * after the conv sees), a conv with "bn" returns the post-batch-norm tensor,
 * "bn+add+relu" the block's output after the residual addition and its ReLU,
 * a dense with "+sigmoid" the sigmoid's output. Fused-away nodes are not
 * layers (cnn_model_find_layer refuses their names). */
typedef struct cnn_fetch {
    size_t layer; /* index as in cnn_model_get_layer */
    int image;    /* first image of the batch to copy */
    int count;    /* images to copy: image + count <= batch */
    float *data;  /* count × c × h × w floats, plain NCHW fp32 (flat layers: count × c) */
} cnn_fetch_t;

/* Runs `batch` images as cnn_session_run and also fills every fetches[i].data
 * with layer fetches[i].layer of images [image, image + count). Each copy is
 * taken right after the step that produces the layer, before any later step
 * may reuse its memory, so no activation is kept alive longer than in a plain
 * run: the plan (cached per batch size) and the activation arena are those of
 * a plain run, whatever layers are asked for, and the only extra memory is
 * the caller's arrays. Each copy is a reorder from the layer's internal
 * layout into plain fp32 of just those images, made per call (oneDNN's
 * primitive cache keeps repeated ones cheap). At bf16 precision the copies
 * are converted to fp32.
 * num_fetches may be 0 (then fetches may be NULL): exactly cnn_session_run. */
cnn_status_t cnn_session_run_fetch(cnn_session_t *session, const float *input, int batch, float *output,
                                   const cnn_fetch_t *fetches, size_t num_fetches, cnn_error_t *err);

/* What computes one layer in a session's plan for a batch size. */
typedef struct cnn_layer_impl {
    char impl[64]; /* the backend's implementation name: oneDNN's ("brg:avx512_core_bf16",
                      "jit:avx2", "gemm:jit", ...), "loop" for the engine's own kernels,
                      "" for a layer that needs no step (a flatten or dropout aliases its input) */
    char dtype[8]; /* data type it computes in: "f32", "bf16", "f16" ("" with impl "") */
} cnn_layer_impl_t;

/* Fills *out for layer `layer` (as cnn_model_get_layer) in the plan for `batch`
 * images, building that plan first if no run has yet (as the first run would).
 * CNN_E_UNSUPPORTED when the session's backend cannot tell. */
cnn_status_t cnn_session_layer_impl(cnn_session_t *session, int batch, size_t layer, cnn_layer_impl_t *out,
                                    cnn_error_t *err);

/* The instruction set the CPU backend dispatches to on this machine, as oneDNN
 * names it ("avx2", "avx512_core", "avx512_core_bf16", "avx512_core_amx", ...),
 * after any ONEDNN_MAX_CPU_ISA limit, and oneDNN's version ("2.6.3"). */
const char *cnn_cpu_isa(void);
const char *cnn_cpu_library_version(void);

#ifdef __cplusplus
}
#endif

#endif
