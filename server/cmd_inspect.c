/* `cnnserve inspect MODEL_DIR`: a per-layer table, like Keras' model.summary(). */
#define _GNU_SOURCE /* getopt_long */
#include "cli.h"
#include "cli_kernels.h"

#include <getopt.h>
#include <string.h>

static const char *const CMD = "inspect";

static const char usage[] =
    "Usage: cnnserve inspect MODEL_DIR [options]\n"
    "\n"
    "Prints every layer of the loaded (rewritten) graph: name, operation with what\n"
    "was fused into it, output shape, parameters, multiply-adds per image and the CPU\n"
    "kernel that computes it at the batch size and precision (oneDNN's implementation\n"
    "name and data type, e.g. brg:avx512_core_bf16 bf16), then totals and the peak\n"
    "activation memory for a batch. The first line names the instruction set oneDNN\n"
    "dispatches to on this CPU.\n"
    "\n"
    "Options:\n"
    "  --batch N        batch size for the kernels and the activation memory (default 1)\n"
    "  --precision P    fp32 (default) or bf16: the kernels of a session in P\n"
    "  --threads N      CPU threads of that session (default: library default)\n"
    "  -h, --help       show this help\n";

/* "1.23 G" style figure for large counts. */
static const char *format_short(double v, char *buf, size_t size)
{
    static const char *const units[] = {"", " K", " M", " G", " T"};
    int u = 0;
    while (v >= 1000.0 && u < 4) {
        v /= 1000.0;
        u++;
    }
    snprintf(buf, size, u ? "%.2f%s" : "%.0f%s", v, units[u]);
    return buf;
}

/* The kernel column of layer i: "impl dtype", "-" (no step of its own), or
 * "n/a" without a session. */
static const char *kernel_of(cnn_session_t *s, int batch, size_t i, char *buf, size_t size)
{
    cnn_layer_impl_t li;
    if (!s || cnn_session_layer_impl(s, batch, i, &li, NULL) != CNN_OK)
        snprintf(buf, size, "n/a");
    else if (!li.impl[0])
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%s %s", li.impl, li.dtype);
    return buf;
}

static void print_table(const cnn_model_t *model, cnn_session_t *s, int batch)
{
    const cnn_model_info_t *info = cnn_model_get_info(model);
    size_t n = cnn_model_layer_count(model);
    int name_w = 5, op_w = 2;
    for (size_t i = 0; i < n; i++) {
        cnn_layer_info_t l;
        if (cnn_model_get_layer(model, i, &l) != CNN_OK)
            continue;
        int nw = (int)strlen(l.name), ow = (int)strlen(l.op) + (l.fused && *l.fused ? (int)strlen(l.fused) + 4 : 0);
        name_w = nw > name_w ? nw : name_w;
        op_w = ow > op_w ? ow : op_w;
    }
    char cpu[160];
    cli_cpu_describe(cpu, sizeof cpu);
    printf("Model: %s (%s), input %dx%dx%d, %d classes\n", info->name, info->architecture,
           info->input_channels, info->input_height, info->input_width, info->num_classes);
    printf("CPU: %s\n\n", cpu);
    int width = printf("%-*s  %-*s  %-16s  %13s  %15s  %s\n", name_w, "Layer", op_w, "Op", "Output shape",
                       "Params", "MACs", "Kernel") - 1;
    for (int i = 0; i < width; i++)
        putchar('=');
    putchar('\n');
    int64_t total_params = 0, total_macs = 0;
    for (size_t i = 0; i < n; i++) {
        cnn_layer_info_t l;
        if (cnn_model_get_layer(model, i, &l) != CNN_OK)
            continue;
        char op[160], shape[48], params[32], macs[32], kernel[96];
        if (l.fused && *l.fused)
            snprintf(op, sizeof op, "%s (+%s)", l.op, l.fused);
        else
            snprintf(op, sizeof op, "%s", l.op);
        if (l.flat)
            snprintf(shape, sizeof shape, "(%d)", l.c);
        else
            snprintf(shape, sizeof shape, "(%d, %d, %d)", l.c, l.h, l.w);
        printf("%-*s  %-*s  %-16s  %13s  %15s  %s\n", name_w, l.name, op_w, op, shape,
               cli_format_count(l.params, params, sizeof params), cli_format_count(l.macs, macs, sizeof macs),
               kernel_of(s, batch, i, kernel, sizeof kernel));
        total_params += l.params;
        total_macs += l.macs;
    }
    for (int i = 0; i < width; i++)
        putchar('=');
    putchar('\n');
    char a[32], b[32], c[32];
    size_t peak = cnn_model_peak_activation_bytes(model, batch);
    printf("Layers: %zu\n", n);
    printf("Total params: %s (%s, %.2f MiB as fp32)\n", cli_format_count(total_params, a, sizeof a),
           format_short((double)total_params, b, sizeof b), (double)total_params * 4.0 / (1 << 20));
    printf("Multiply-adds per image: %s (%s)\n", cli_format_count(total_macs, a, sizeof a),
           format_short((double)total_macs, b, sizeof b));
    printf("Peak activation memory, batch %d: %s bytes (%.2f MiB)\n", batch,
           cli_format_count((int64_t)peak, c, sizeof c), (double)peak / (1 << 20));
}

int cli_cmd_inspect(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"batch", required_argument, NULL, 'b'},
        {"precision", required_argument, NULL, 'p'},
        {"threads", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int batch = 1, threads = 0, c;
    cnn_precision_t precision = CNN_PRECISION_FP32;
    cli_getopt_reset();
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            if (!cli_parse_int(optarg, 1, 65536, &batch))
                return cli_usage_error(CMD, "--batch needs a positive integer, not '%s'", optarg);
            break;
        case 'p':
            if (!cli_parse_precision(optarg, &precision) ||
                (precision != CNN_PRECISION_FP32 && precision != CNN_PRECISION_BF16))
                return cli_usage_error(CMD, "--precision must be fp32 or bf16, not '%s'", optarg);
            break;
        case 't':
            if (!cli_parse_int(optarg, 1, 4096, &threads))
                return cli_usage_error(CMD, "--threads needs a positive integer, not '%s'", optarg);
            break;
        case 'h': fputs(usage, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(CMD, c, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error(CMD, "needs exactly one model directory");
    cnn_model_t *model = NULL;
    cnn_error_t err;
    if (cnn_model_load(argv[optind], &model, &err) != CNN_OK)
        return cli_fail(CMD, "cannot load model %s: %s", argv[optind], err.message);
    cnn_session_options_t so;
    cnn_session_options_init(&so);
    so.precision = precision;
    so.max_batch = batch;
    so.num_threads = threads;
    cnn_session_t *s = NULL;
    if (cnn_session_create(model, &so, &s, &err) != CNN_OK)
        fprintf(stderr, "cnnserve inspect: no %s CPU session, so no kernels to show: %s\n",
                cli_precision_name(precision), err.message);
    print_table(model, s, batch);
    cnn_session_free(s);
    cnn_model_free(model);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : cli_fail(CMD, "cannot write the table");
}
