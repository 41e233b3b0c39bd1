/* `cnnserve convert`: a zoo architecture + torchvision-named safetensors
 * weights, or an imported ONNX / Keras file → a model directory (model.json +
 * weights.safetensors). */
#define _GNU_SOURCE /* getopt_long */
#include "cli.h"
#include "convert_import.h"
#include "keras_import.h"

#include "model_config.h"
#include "model_dir.h"
#include "onnx_import.h"
#include "safetensors.h"
#include "status.h"
#include "weights.h"
#include "zoo.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char *const CMD = "convert";

static const char usage[] =
    "Usage: cnnserve convert --arch NAME --weights FILE.safetensors --out DIR [options]\n"
    "       cnnserve convert --onnx FILE.onnx --out DIR [options]\n"
    "       cnnserve convert --keras FILE.h5 --out DIR [options]\n"
    "\n"
    "Builds the zoo architecture NAME, checks that the weights (torchvision state_dict\n"
    "names) fit it exactly, and writes DIR/model.json and DIR/weights.safetensors.\n"
    "With --onnx or --keras, imports that model (one image input, one output) instead.\n"
    "\n"
    "Options:\n"
    "  --arch NAME           zoo architecture (see --list)\n"
    "  --num-classes N       output classes (default: the architecture's)\n"
    "  --width-divisor D     divide channel counts by D (default 1)\n"
    "  --labels FILE         class labels, one per line\n"
    "  --name NAME           model name (default: DIR's last component)\n"
    "  --weights FILE        safetensors file with the weights\n"
    "  --onnx FILE           ONNX model to import (external data next to it)\n"
    "  --keras FILE.h5       import a Keras 2 / tf.keras model.save file instead\n"
    "  --out DIR             model directory to write\n"
    "  --force               write into DIR even if it is not empty\n"
    "  --list                list the zoo architectures and exit\n"
    "  -h, --help            show this help\n"
    "\n"
    "Preprocessing written to model.json (default: the zoo architecture's; for\n"
    "imported models the colour follows the input channels, pixels / 255):\n"
    "  --color grayscale|rgb\n"
    "  --scale S             multiply pixel values (0-255) by S\n"
    "  --mean M[,M,M]        subtract per channel after scaling\n"
    "  --std S[,S,S]         then divide per channel\n"
    "  --resize-shorter N    resize the shorter side to N, then centre-crop (0: resize to the input)\n";

typedef struct convert_opts {
    const char *arch, *labels, *name, *weights, *out, *onnx, *keras;
    int num_classes, width_divisor;
    bool force;
    tools_preprocess_flags_t pre;
} convert_opts_t;

/* Parses "a" or "a,b,c" (finite floats, non-zero when `nonzero`) into out[]. */
static bool parse_channel_floats(const char *s, bool nonzero, float out[3], int *n)
{
    *n = 0;
    const char *p = s;
    while (*n < 3) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || !(v > -1e30 && v < 1e30) || (nonzero && v == 0.0))
            return false;
        out[(*n)++] = (float)v;
        if (*end == '\0')
            return *n == 1 || *n == 3;
        if (*end != ',')
            return false;
        p = end + 1;
    }
    return false;
}

/* Handles a preprocessing option; returns CLI_EXIT_OK or a usage error. */
static int parse_preprocess_option(int c, const char *arg, tools_preprocess_flags_t *f)
{
    switch (c) {
    case 'C':
        if (strcmp(arg, "grayscale") != 0 && strcmp(arg, "rgb") != 0)
            return cli_usage_error(CMD, "--color must be grayscale or rgb, not '%s'", arg);
        f->color = arg;
        break;
    case 'S': {
        char *end;
        double v = strtod(arg, &end);
        if (*arg == '\0' || *end != '\0' || !(v > 0.0 && v < 1e30))
            return cli_usage_error(CMD, "--scale needs a positive number, not '%s'", arg);
        f->scale = (float)v;
        break;
    }
    case 'M':
        if (!parse_channel_floats(arg, false, f->mean, &f->num_mean))
            return cli_usage_error(CMD, "--mean needs 1 or 3 comma-separated numbers, not '%s'", arg);
        break;
    case 'D':
        if (!parse_channel_floats(arg, true, f->std, &f->num_std))
            return cli_usage_error(CMD, "--std needs 1 or 3 comma-separated non-zero numbers, not '%s'", arg);
        break;
    case 'R':
        if (!cli_parse_int(arg, 0, 16384, &f->resize_shorter))
            return cli_usage_error(CMD, "--resize-shorter needs an integer in [0, 16384], not '%s'", arg);
        break;
    }
    return CLI_EXIT_OK;
}

static void list_archs(void)
{
    printf("%-14s %8s  %s\n", "architecture", "classes", "input");
    for (const cnn_zoo_arch_t *const *a = cnn_zoo_list(); *a; a++)
        printf("%-14s %8d  %dx%dx%d\n", (*a)->name, (*a)->default_classes, (*a)->in_channels,
               (*a)->in_height, (*a)->in_width);
}

/* Returns CLI_EXIT_OK to go on, -1 when help/list was printed, or a usage error. */
static int parse_args(int argc, char **argv, convert_opts_t *o)
{
    static const struct option longopts[] = {
        {"arch", required_argument, NULL, 'a'},   {"num-classes", required_argument, NULL, 'n'},
        {"width-divisor", required_argument, NULL, 'd'}, {"labels", required_argument, NULL, 'l'},
        {"name", required_argument, NULL, 'N'},   {"weights", required_argument, NULL, 'w'},
        {"out", required_argument, NULL, 'o'},    {"force", no_argument, NULL, 'f'},
        {"list", no_argument, NULL, 'L'},         {"help", no_argument, NULL, 'h'},
        {"onnx", required_argument, NULL, 'x'},
        {"color", required_argument, NULL, 'C'},  {"scale", required_argument, NULL, 'S'},
        {"mean", required_argument, NULL, 'M'},   {"std", required_argument, NULL, 'D'},
        {"resize-shorter", required_argument, NULL, 'R'}, {"keras", required_argument, NULL, 'K'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->pre.resize_shorter = -1;
    cli_getopt_reset();
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'a': o->arch = optarg; break;
        case 'n':
            if (!cli_parse_int(optarg, 1, 1 << 20, &o->num_classes))
                return cli_usage_error(CMD, "--num-classes needs a positive integer, not '%s'", optarg);
            break;
        case 'd':
            if (!cli_parse_int(optarg, 1, 4096, &o->width_divisor))
                return cli_usage_error(CMD, "--width-divisor needs a positive integer, not '%s'", optarg);
            break;
        case 'l': o->labels = optarg; break;
        case 'N': o->name = optarg; break;
        case 'w': o->weights = optarg; break;
        case 'x': o->onnx = optarg; break;
        case 'K': o->keras = optarg; break;
        case 'o': o->out = optarg; break;
        case 'f': o->force = true; break;
        case 'L': list_archs(); return -1;
        case 'h': fputs(usage, stdout); return -1;
        case 'C': case 'S': case 'M': case 'D': case 'R': {
            int rc = parse_preprocess_option(c, optarg, &o->pre);
            if (rc != CLI_EXIT_OK)
                return rc;
            break;
        }
        default: return cli_bad_option(CMD, c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (o->keras || o->onnx) {
        if (o->keras && o->onnx)
            return cli_usage_error(CMD, "give --onnx or --keras, not both");
        if (o->arch || o->weights || o->num_classes || o->width_divisor)
            return cli_usage_error(CMD, "--%s takes no --arch, --weights, --num-classes or --width-divisor",
                                   o->onnx ? "onnx" : "keras");
        if (!o->out)
            return cli_usage_error(CMD, "--out is required");
        return CLI_EXIT_OK;
    }
    if (!o->arch || !o->weights || !o->out)
        return cli_usage_error(CMD, "--arch, --weights and --out are required");
    if (!cnn_zoo_find(o->arch)) {
        list_archs();
        return cli_usage_error(CMD, "unknown architecture '%s' (known ones are listed above)", o->arch);
    }
    return CLI_EXIT_OK;
}

/* Adds a "preprocessing" object with the options given on the command line. */
static cnn_status_t add_preprocessing(cJSON *root, const tools_preprocess_flags_t *f, cnn_error_t *err)
{
    if (!f->color && f->scale <= 0.0f && f->resize_shorter < 0 && !f->num_mean && !f->num_std)
        return CNN_OK;
    cJSON *pre = cJSON_AddObjectToObject(root, "preprocessing");
    bool ok = pre && (!f->color || cJSON_AddStringToObject(pre, "color", f->color)) &&
              (f->scale <= 0.0f || cJSON_AddNumberToObject(pre, "scale", f->scale)) &&
              (f->resize_shorter < 0 || cJSON_AddNumberToObject(pre, "resize_shorter", f->resize_shorter)) &&
              (!f->num_mean || cJSON_AddItemToObject(pre, "mean", cJSON_CreateFloatArray(f->mean, f->num_mean))) &&
              (!f->num_std || cJSON_AddItemToObject(pre, "std", cJSON_CreateFloatArray(f->std, f->num_std)));
    return ok ? CNN_OK : cnn_error_set(err, CNN_E_NOMEM, "out of memory");
}

/* Builds the model.json contents through the config parser, so that every
 * default comes from the one place that reads model.json. */
static cnn_status_t make_config(const convert_opts_t *o, cnn_model_config_t *cfg, cnn_error_t *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arch = cJSON_AddObjectToObject(root, "architecture");
    char *text = NULL;
    cnn_status_t st = CNN_OK;
    if (!root || !arch || !cJSON_AddStringToObject(arch, "zoo", o->arch) ||
        (o->num_classes && !cJSON_AddNumberToObject(arch, "num_classes", o->num_classes)) ||
        (o->width_divisor && !cJSON_AddNumberToObject(arch, "width_divisor", o->width_divisor)) ||
        (o->name && !cJSON_AddStringToObject(root, "name", o->name))) {
        st = cnn_error_set(err, CNN_E_NOMEM, "out of memory");
        goto done;
    }
    if ((st = add_preprocessing(root, &o->pre, err)) != CNN_OK)
        goto done;
    if (o->labels) {
        char **labels = NULL;
        int n = 0;
        if ((st = tools_labels_read(o->labels, &labels, &n, err)) != CNN_OK)
            goto done;
        cJSON *arr = cJSON_CreateStringArray((const char *const *)labels, n);
        tools_labels_free(labels, n);
        if (!cJSON_AddItemToObject(root, "labels", arr)) {
            cJSON_Delete(arr);
            st = cnn_error_set(err, CNN_E_NOMEM, "out of memory");
            goto done;
        }
    }
    text = cJSON_PrintUnformatted(root);
    if (!text) {
        st = cnn_error_set(err, CNN_E_NOMEM, "out of memory");
        goto done;
    }
    char base[256];
    st = cnn_model_config_parse(text, strlen(text), tools_dir_basename(o->out, base, sizeof base), cfg, err);
done:
    free(text);
    cJSON_Delete(root);
    return st;
}

/* Builds the graph and binds the weights to it: fails when any tensor is
 * missing, misshapen or extra. *params = parameter count. */
static cnn_status_t check_weights(const convert_opts_t *o, const cnn_model_config_t *cfg,
                                  int64_t *params, cnn_error_t *err)
{
    cnn_graph_t *g = NULL;
    cnn_safetensors_t *st = NULL;
    cnn_status_t s = cnn_zoo_build(&cfg->zoo, &g, err);
    if (s != CNN_OK)
        goto done;
    if ((s = cnn_safetensors_open(o->weights, &st, err)) != CNN_OK)
        goto done;
    if ((s = cnn_graph_bind_weights(g, st, cnn_zoo_find(cfg->arch)->ignored_prefixes, err)) != CNN_OK) {
        cnn_error_prefix(err, "%s does not fit %s", o->weights, cfg->arch);
        goto done;
    }
    *params = 0;
    for (int i = 0; i < g->num_nodes; i++)
        *params += cnn_node_params(&g->nodes[i]);
done:
    cnn_safetensors_close(st);
    cnn_graph_free(g);
    return s;
}

/* tools_weights_write_fn: copies the --weights file (already checked to fit). */
static cnn_status_t copy_weights(const char *path, void *ctx, cnn_error_t *err)
{
    return tools_copy_file(ctx, path, err);
}

/* Writes the directory and loads it back; removes what it wrote on failure. */
static cnn_status_t write_model_dir(const convert_opts_t *o, const cnn_model_config_t *cfg, cnn_error_t *err)
{
    char *json = cnn_model_config_to_json(cfg);
    if (!json)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory serializing model.json");
    cnn_status_t st = tools_model_dir_write(o->out, o->force, json, copy_weights, (void *)o->weights, o->weights, err);
    free(json);
    return st;
}

int cli_cmd_convert(int argc, char **argv)
{
    convert_opts_t o;
    int rc = parse_args(argc, argv, &o);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    if (o.onnx) {
        tools_import_opts_t io = {.format = "ONNX", .path = o.onnx, .labels = o.labels, .pre = o.pre,
                                  .save = {.out_dir = o.out, .name = o.name, .force = o.force}};
        return tools_convert_import(tools_onnx_import, &io);
    }
    if (o.keras) {
        tools_import_opts_t io = {.format = "Keras HDF5", .path = o.keras, .labels = o.labels, .pre = o.pre,
                                  .save = {.out_dir = o.out, .name = o.name, .force = o.force}};
        return tools_convert_import(tools_keras_import, &io);
    }
    cnn_model_config_t cfg;
    cnn_error_t err;
    if (make_config(&o, &cfg, &err) != CNN_OK)
        return cli_fail(CMD, "%s", err.message);
    int64_t params = 0;
    if (check_weights(&o, &cfg, &params, &err) != CNN_OK || write_model_dir(&o, &cfg, &err) != CNN_OK) {
        rc = cli_fail(CMD, "%s", err.message);
    } else {
        char count[32];
        printf("wrote %s: %s '%s', %d classes, input %dx%dx%d, %s parameters\n", o.out, cfg.arch,
               cfg.name, cfg.zoo.num_classes, cfg.zoo.in_channels, cfg.zoo.in_height, cfg.zoo.in_width,
               cli_format_count(params, count, sizeof count));
    }
    cnn_model_config_free(&cfg);
    return rc;
}
