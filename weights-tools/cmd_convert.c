/* `cnnserve convert`: a zoo architecture + torchvision-named safetensors
 * weights → a model directory (model.json + weights.safetensors). */
#define _GNU_SOURCE /* getopt_long */
#include "cli.h"

#include "model_config.h"
#include "model_dir.h"
#include "safetensors.h"
#include "status.h"
#include "weights.h"
#include "zoo.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const CMD = "convert";

static const char usage[] =
    "Usage: cnnserve convert --arch NAME --weights FILE.safetensors --out DIR [options]\n"
    "\n"
    "Builds the zoo architecture NAME, checks that the weights (torchvision state_dict\n"
    "names) fit it exactly, and writes DIR/model.json and DIR/weights.safetensors.\n"
    "\n"
    "Options:\n"
    "  --arch NAME           zoo architecture (see --list)\n"
    "  --num-classes N       output classes (default: the architecture's)\n"
    "  --width-divisor D     divide channel counts by D (default 1)\n"
    "  --labels FILE         class labels, one per line\n"
    "  --name NAME           model name (default: DIR's last component)\n"
    "  --weights FILE        safetensors file with the weights\n"
    "  --out DIR             model directory to write\n"
    "  --force               write into DIR even if it is not empty\n"
    "  --list                list the zoo architectures and exit\n"
    "  -h, --help            show this help\n";

typedef struct convert_opts {
    const char *arch, *labels, *name, *weights, *out;
    int num_classes, width_divisor;
    bool force;
} convert_opts_t;

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
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
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
        case 'o': o->out = optarg; break;
        case 'f': o->force = true; break;
        case 'L': list_archs(); return -1;
        case 'h': fputs(usage, stdout); return -1;
        default: return cli_bad_option(CMD, c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!o->arch || !o->weights || !o->out)
        return cli_usage_error(CMD, "--arch, --weights and --out are required");
    if (!cnn_zoo_find(o->arch)) {
        list_archs();
        return cli_usage_error(CMD, "unknown architecture '%s' (known ones are listed above)", o->arch);
    }
    return CLI_EXIT_OK;
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

/* Writes the directory and loads it back; removes what it wrote on failure. */
static cnn_status_t write_model_dir(const convert_opts_t *o, const cnn_model_config_t *cfg,
                                    cnn_error_t *err)
{
    char json_path[4096], weights_path[4096];
    snprintf(json_path, sizeof json_path, "%s/model.json", o->out);
    snprintf(weights_path, sizeof weights_path, "%s/weights.safetensors", o->out);
    char *json = cnn_model_config_to_json(cfg);
    if (!json)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory serializing model.json");
    cnn_status_t st = tools_dir_prepare(o->out, o->force, err);
    if (st != CNN_OK) {
        free(json);
        return st;
    }
    st = tools_write_text_file(json_path, json, strlen(json), err);
    free(json);
    if (st == CNN_OK)
        st = tools_copy_file(o->weights, weights_path, err);
    cnn_model_t *model = NULL;
    if (st == CNN_OK && (st = cnn_model_load(o->out, &model, err)) != CNN_OK)
        cnn_error_prefix(err, "the written model does not load");
    cnn_model_free(model);
    if (st != CNN_OK) {
        unlink(json_path);
        if (!tools_same_file(o->weights, weights_path))
            unlink(weights_path);
    }
    return st;
}

int cli_cmd_convert(int argc, char **argv)
{
    convert_opts_t o;
    int rc = parse_args(argc, argv, &o);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
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
