/* `cnnserve convert`: a zoo architecture + torchvision-named safetensors
 * weights → a model directory (model.json + weights.safetensors). */
#define _GNU_SOURCE /* getopt_long */
#include "cli.h"

#include "model_config.h"
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

/* Adds the labels file (one label per line; a final newline, CR and a
 * UTF-8 BOM are ignored; empty lines are errors) as a JSON array. */
static cnn_status_t add_labels(cJSON *root, const char *path, cnn_error_t *err)
{
    uint8_t *data;
    size_t len;
    cnn_status_t st = cli_read_file(path, &data, &len, err);
    if (st != CNN_OK)
        return st;
    cJSON *arr = cJSON_AddArrayToObject(root, "labels");
    char *p = (char *)data, *end = p + len;
    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3;
    for (int line = 1; arr && p < end; line++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        if (stop > p && stop[-1] == '\r')
            stop--;
        *stop = '\0';
        if (*p == '\0') {
            st = cnn_error_set(err, CNN_E_FORMAT, "%s: line %d is empty", path, line);
            break;
        }
        if (!cJSON_AddItemToArray(arr, cJSON_CreateString(p))) {
            st = cnn_error_set(err, CNN_E_NOMEM, "out of memory");
            break;
        }
        p = nl ? nl + 1 : end;
    }
    if (!arr && st == CNN_OK)
        st = cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    free(data);
    return st;
}

/* The directory's last path component, in buf. */
static const char *dir_basename(const char *dir, char *buf, size_t size)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    snprintf(buf, size, "%.*s", (int)(len - start), dir + start);
    return buf;
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
    if (o->labels && (st = add_labels(root, o->labels, err)) != CNN_OK)
        goto done;
    text = cJSON_PrintUnformatted(root);
    if (!text) {
        st = cnn_error_set(err, CNN_E_NOMEM, "out of memory");
        goto done;
    }
    char base[256];
    st = cnn_model_config_parse(text, strlen(text), dir_basename(o->out, base, sizeof base), cfg, err);
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

/* mkdir -p */
static cnn_status_t make_dirs(const char *dir, cnn_error_t *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "path too long: %s", dir);
    for (char *p = path + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(path, 0755) != 0 && errno != EEXIST)
                return cnn_error_set(err, CNN_E_IO, "cannot create %s: %s", path, strerror(errno));
            *p = saved;
            if (saved == '\0')
                break;
        }
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return cnn_error_set(err, CNN_E_IO, "%s is not a directory", dir);
    return CNN_OK;
}

/* Creates `dir`, refusing a non-empty one unless `force`. */
static cnn_status_t prepare_dir(const char *dir, bool force, cnn_error_t *err)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        bool empty = true;
        while ((e = readdir(d)) != NULL)
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                empty = false;
        closedir(d);
        if (!empty && !force)
            return cnn_error_set(err, CNN_E_INVALID_ARGUMENT,
                                 "%s is not empty (use --force to write into it)", dir);
        return CNN_OK;
    }
    if (errno != ENOENT)
        return cnn_error_set(err, CNN_E_IO, "cannot open %s: %s", dir, strerror(errno));
    return make_dirs(dir, err);
}

/* Writes `len` bytes and a final newline to path via a temporary file and rename. */
static cnn_status_t write_text_file(const char *path, const char *data, size_t len, cnn_error_t *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return cnn_error_set(err, CNN_E_IO, "cannot write %s: %s", tmp, strerror(errno));
    bool ok = fwrite(data, 1, len, f) == len && fputc('\n', f) != EOF;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return cnn_error_set(err, CNN_E_IO, "cannot write %s", path);
    }
    return CNN_OK;
}

/* Copies src to dst (via a temporary file); nothing to do when they are the same file. */
static cnn_status_t copy_file(const char *src, const char *dst, cnn_error_t *err)
{
    struct stat a, b;
    if (stat(src, &a) == 0 && stat(dst, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return CNN_OK;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", dst);
    FILE *in = fopen(src, "rb");
    if (!in)
        return cnn_error_set(err, CNN_E_IO, "cannot read %s: %s", src, strerror(errno));
    FILE *out = fopen(tmp, "wb");
    if (!out) {
        fclose(in);
        return cnn_error_set(err, CNN_E_IO, "cannot write %s: %s", tmp, strerror(errno));
    }
    static char buf[1 << 20];
    bool ok = true;
    size_t got;
    while (ok && (got = fread(buf, 1, sizeof buf, in)) > 0)
        ok = fwrite(buf, 1, got, out) == got;
    ok = ok && !ferror(in);
    fclose(in);
    ok = (fclose(out) == 0) && ok;
    if (!ok || rename(tmp, dst) != 0) {
        unlink(tmp);
        return cnn_error_set(err, CNN_E_IO, "cannot copy %s to %s", src, dst);
    }
    return CNN_OK;
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
    cnn_status_t st = prepare_dir(o->out, o->force, err);
    if (st != CNN_OK) {
        free(json);
        return st;
    }
    st = write_text_file(json_path, json, strlen(json), err);
    free(json);
    if (st == CNN_OK)
        st = copy_file(o->weights, weights_path, err);
    cnn_model_t *model = NULL;
    if (st == CNN_OK && (st = cnn_model_load(o->out, &model, err)) != CNN_OK)
        cnn_error_prefix(err, "the written model does not load");
    cnn_model_free(model);
    if (st != CNN_OK) {
        unlink(json_path);
        struct stat a, b;
        bool same = stat(o->weights, &a) == 0 && stat(weights_path, &b) == 0 &&
                    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
        if (!same)
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
