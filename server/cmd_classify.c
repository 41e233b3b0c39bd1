/* `cnnserve classify MODEL_DIR INPUT...`: top-k predictions for images or .npy arrays. */
#define _GNU_SOURCE /* getopt_long, open_memstream */
#include "cli.h"
#include "npy.h"
#include "ranking.h"

#include "cnn/preprocess.h"
#include "status.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char *const CMD = "classify";

static const char usage[] =
    "Usage: cnnserve classify MODEL_DIR INPUT... [options]\n"
    "\n"
    "Classifies each INPUT: a PNG, JPEG or BMP image (preprocessed as model.json\n"
    "says) or a .npy float32 array of shape N×C×H×W or C×H×W matching the model's\n"
    "input (already preprocessed).\n"
    "\n"
    "Options:\n"
    "  --top-k K              labels shown per input (default 5)\n"
    "  --json                 print one JSON document instead of text\n"
    "  --logits               also print the raw output vector\n"
    "  --precision P          fp32 (default), bf16 (CPU), tf32 or fp16 (CUDA)\n"
    "  --device D             cpu (default), cuda or cuda:N; without a usable GPU,\n"
    "                         cuda is an error\n"
    "  --threads N            CPU threads (default: library default)\n"
    "  --batch B              inputs run together (default: the model's max batch)\n"
    "  -h, --help             show this help\n";

typedef struct classify_opts {
    const char *model_dir;
    char **inputs;
    int num_inputs;
    int top_k;
    bool json, logits;
    cnn_precision_t precision;
    cnn_device_kind_t device;
    int device_index;
    int threads, batch;
} classify_opts_t;

/* Walks the inputs one image at a time; a .npy file may hold several. */
typedef struct input_cursor {
    const classify_opts_t *opts;
    const cnn_model_info_t *info;
    int next_file;
    uint8_t *buf; /* current .npy file */
    srv_npy_t npy;
    size_t npy_images, npy_next;
    const char *npy_path;
} input_cursor_t;

/* Where each item of a batch came from. */
typedef struct item_origin {
    const char *path;
    int index;  /* image index inside the file */
    bool multi; /* the file holds several images */
} item_origin_t;

static int parse_args(int argc, char **argv, classify_opts_t *o)
{
    static const struct option longopts[] = {
        {"top-k", required_argument, NULL, 'k'}, {"json", no_argument, NULL, 'j'},
        {"logits", no_argument, NULL, 'l'},      {"precision", required_argument, NULL, 'p'},
        {"threads", required_argument, NULL, 't'}, {"batch", required_argument, NULL, 'b'},
        {"device", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->top_k = 5;
    o->precision = CNN_PRECISION_FP32;
    cli_getopt_reset();
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (!cli_parse_int(optarg, 1, 1 << 20, &o->top_k))
                return cli_usage_error(CMD, "--top-k needs a positive integer, not '%s'", optarg);
            break;
        case 'j': o->json = true; break;
        case 'l': o->logits = true; break;
        case 'p':
            if (!cli_parse_precision(optarg, &o->precision))
                return cli_usage_error(CMD, "--precision must be fp32, bf16, tf32 or fp16, not '%s'", optarg);
            break;
        case 'd':
            if (!cli_parse_device(optarg, &o->device, &o->device_index))
                return cli_usage_error(CMD, "--device must be cpu, cuda or cuda:N, not '%s'", optarg);
            break;
        case 't':
            if (!cli_parse_int(optarg, 1, 4096, &o->threads))
                return cli_usage_error(CMD, "--threads needs a positive integer, not '%s'", optarg);
            break;
        case 'b':
            if (!cli_parse_int(optarg, 1, 65536, &o->batch))
                return cli_usage_error(CMD, "--batch needs a positive integer, not '%s'", optarg);
            break;
        case 'h': fputs(usage, stdout); return -1;
        default: return cli_bad_option(CMD, c, argv);
        }
    }
    if (argc - optind < 2)
        return cli_usage_error(CMD, "needs a model directory and at least one input");
    o->model_dir = argv[optind];
    o->inputs = argv + optind + 1;
    o->num_inputs = argc - optind - 1;
    return CLI_EXIT_OK;
}

/* Checks a .npy array against the model input; *images = N. */
static cnn_status_t check_npy_shape(const srv_npy_t *a, const cnn_model_info_t *info, size_t *images,
                                    cnn_error_t *err)
{
    const int64_t *d = a->dims;
    int64_t n = 1;
    if (a->ndim == 4)
        n = *d++;
    else if (a->ndim != 3)
        return cnn_error_set(err, CNN_E_SHAPE, "array has %d dimensions; need N×C×H×W or C×H×W",
                             a->ndim);
    if (d[0] != info->input_channels || d[1] != info->input_height || d[2] != info->input_width)
        return cnn_error_set(err, CNN_E_SHAPE,
                             "array images are %lld×%lld×%lld; the model takes %d×%d×%d",
                             (long long)d[0], (long long)d[1], (long long)d[2], info->input_channels,
                             info->input_height, info->input_width);
    if (n == 0)
        return cnn_error_set(err, CNN_E_SHAPE, "array holds no images (N = 0)");
    *images = (size_t)n;
    return CNN_OK;
}

/* Fills dst with the next image. Returns 1 with *origin set, 0 at the end,
 * or -1 with err naming the file. */
static int cursor_next(input_cursor_t *cur, float *dst, item_origin_t *origin, cnn_error_t *err)
{
    size_t image_floats = (size_t)cur->info->input_channels * (size_t)cur->info->input_height *
                          (size_t)cur->info->input_width;
    while (cur->npy_next >= cur->npy_images) {
        free(cur->buf);
        cur->buf = NULL;
        cur->npy_images = cur->npy_next = 0;
        if (cur->next_file >= cur->opts->num_inputs)
            return 0;
        const char *path = cur->opts->inputs[cur->next_file++];
        uint8_t *data;
        size_t len;
        if (cli_read_file(path, &data, &len, err) != CNN_OK)
            return -1;
        if (!srv_npy_is_npy(data, len)) {
            cnn_status_t st = cnn_image_preprocess(data, len, cur->info, dst, err);
            free(data);
            if (st != CNN_OK) {
                cnn_error_prefix(err, "%s", path);
                return -1;
            }
            *origin = (item_origin_t){path, 0, false};
            return 1;
        }
        cur->buf = data;
        cur->npy_path = path;
        if (srv_npy_parse(data, len, &cur->npy, err) != CNN_OK ||
            check_npy_shape(&cur->npy, cur->info, &cur->npy_images, err) != CNN_OK) {
            cnn_error_prefix(err, "%s", path);
            return -1;
        }
    }
    srv_npy_copy(&cur->npy, cur->npy_next * image_floats, image_floats, dst);
    *origin = (item_origin_t){cur->npy_path, (int)cur->npy_next, cur->npy_images > 1};
    cur->npy_next++;
    return 1;
}

static void print_text(FILE *f, const item_origin_t *origin, const cnn_model_info_t *info,
                       const float *out, size_t n, const double *prob, const int *idx, int k, bool logits)
{
    if (origin->multi)
        fprintf(f, "%s[%d]\n", origin->path, origin->index);
    else
        fprintf(f, "%s\n", origin->path);
    for (int j = 0; j < k; j++) {
        int c = idx[j];
        char fallback[32];
        snprintf(fallback, sizeof fallback, "class %d", c);
        const char *label = info->labels ? info->labels[c] : fallback;
        fprintf(f, "  %2d. %-24s %.4f  (class %d)\n", j + 1, label, prob[c], c);
    }
    if (logits) {
        fputs("  logits:", f);
        for (size_t i = 0; i < n; i++)
            fprintf(f, " %.9g", out[i]);
        fputc('\n', f);
    }
}

static void print_json_item(FILE *f, bool first, const item_origin_t *origin,
                            const cnn_model_info_t *info, const float *out, size_t n,
                            const double *prob, const int *idx, int k, bool logits)
{
    fputs(first ? "\n    {\"input\": " : ",\n    {\"input\": ", f);
    cli_json_string(f, origin->path);
    fprintf(f, ", \"index\": %d, \"top_k\": [", origin->index);
    for (int j = 0; j < k; j++) {
        int c = idx[j];
        fputs(j ? ", {\"label\": " : "{\"label\": ", f);
        if (info->labels)
            cli_json_string(f, info->labels[c]);
        else
            fputs("null", f);
        fprintf(f, ", \"class\": %d, \"probability\": ", c);
        cli_json_float(f, prob[c]);
        fputc('}', f);
    }
    fputc(']', f);
    if (logits) {
        fputs(", \"logits\": [", f);
        for (size_t i = 0; i < n; i++) {
            if (i)
                fputs(", ", f);
            cli_json_float(f, out[i]);
        }
        fputc(']', f);
    }
    fputc('}', f);
}

/* Runs every input through the session in batches, writing results to f. */
static int classify_all(const classify_opts_t *o, cnn_model_t *model, cnn_session_t *session,
                        int batch, FILE *f)
{
    const cnn_model_info_t *info = cnn_model_get_info(model);
    size_t image_floats = (size_t)info->input_channels * (size_t)info->input_height *
                          (size_t)info->input_width;
    size_t n_out = cnn_model_output_size(model);
    int k = o->top_k < (int)n_out ? o->top_k : (int)n_out;
    float *in = malloc((size_t)batch * image_floats * sizeof(float));
    float *out = malloc((size_t)batch * n_out * sizeof(float));
    double *prob = malloc(n_out * sizeof(double));
    int *idx = malloc((size_t)k * sizeof(int));
    item_origin_t *origins = malloc((size_t)batch * sizeof *origins);
    input_cursor_t cur = {.opts = o, .info = info};
    int rc = CLI_EXIT_OK, printed = 0;
    cnn_error_t err;
    if (!in || !out || !prob || !idx || !origins) {
        rc = cli_fail(CMD, "out of memory for a batch of %d", batch);
        goto done;
    }
    if (o->json) {
        fputs("{\n  \"model\": ", f);
        cli_json_string(f, info->name);
        fputs(",\n  \"results\": [", f);
    }
    for (;;) {
        int filled = 0, got = 1;
        while (filled < batch && (got = cursor_next(&cur, in + (size_t)filled * image_floats,
                                                    &origins[filled], &err)) == 1) {
            filled++;
        }
        if (got < 0) {
            rc = cli_fail(CMD, "%s", err.message);
            goto done;
        }
        if (filled == 0)
            break;
        if (cnn_session_run(session, in, filled, out, &err) != CNN_OK) {
            rc = cli_fail(CMD, "inference failed: %s", err.message);
            goto done;
        }
        for (int i = 0; i < filled; i++) {
            const float *row = out + (size_t)i * n_out;
            srv_rank_probabilities(row, n_out, info->output_is_probability, prob);
            if (!srv_rank_top_k(prob, n_out, k, idx)) {
                rc = cli_fail(CMD, "out of memory");
                goto done;
            }
            if (o->json)
                print_json_item(f, printed == 0, &origins[i], info, row, n_out, prob, idx, k, o->logits);
            else
                print_text(f, &origins[i], info, row, n_out, prob, idx, k, o->logits);
            printed++;
        }
        if (got == 0)
            break;
    }
    if (o->json)
        fputs("\n  ]\n}\n", f);
done:
    free(cur.buf);
    free(in);
    free(out);
    free(prob);
    free(idx);
    free(origins);
    return rc;
}

int cli_cmd_classify(int argc, char **argv)
{
    classify_opts_t o;
    int rc = parse_args(argc, argv, &o);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    cnn_error_t err;
    cnn_model_t *model = NULL;
    cnn_session_t *session = NULL;
    char *json_text = NULL;
    size_t json_len = 0;
    FILE *json_buf = NULL;
    if (cnn_model_load(o.model_dir, &model, &err) != CNN_OK)
        return cli_fail(CMD, "cannot load model %s: %s", o.model_dir, err.message);
    const cnn_model_info_t *info = cnn_model_get_info(model);
    int batch = o.batch > 0 ? o.batch : (info->max_batch_size > 0 ? info->max_batch_size : 1);
    cnn_session_options_t so;
    cnn_session_options_init(&so);
    so.precision = o.precision;
    so.device = o.device;
    so.device_index = o.device_index;
    so.max_batch = batch;
    so.num_threads = o.threads;
    if (cnn_session_create(model, &so, &session, &err) != CNN_OK) {
        char dev[32];
        rc = cli_fail(CMD, "cannot create a %s session on %s: %s", cli_precision_name(o.precision),
                      cli_device_name(o.device, o.device_index, dev, sizeof dev), err.message);
        goto done;
    }
    /* JSON is buffered so that a failure midway prints no partial document. */
    if (o.json && !(json_buf = open_memstream(&json_text, &json_len))) {
        rc = cli_fail(CMD, "out of memory");
        goto done;
    }
    rc = classify_all(&o, model, session, batch, json_buf ? json_buf : stdout);
    if (json_buf) {
        fclose(json_buf);
        if (rc == CLI_EXIT_OK)
            fwrite(json_text, 1, json_len, stdout);
    }
    if (rc == CLI_EXIT_OK && fflush(stdout) != 0)
        rc = cli_fail(CMD, "cannot write the results");
done:
    free(json_text);
    cnn_session_free(session);
    cnn_model_free(model);
    return rc;
}
