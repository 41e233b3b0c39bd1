/* `cnnserve bench MODEL_DIR`: inference time per (precision, batch) on random input. */
#define _GNU_SOURCE /* getopt_long, clock_gettime */
#include "cli.h"
#include "cli_kernels.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const CMD = "bench";

#define MAX_CONFIGS 16
#define MAX_KERNEL_KINDS 8

static const char usage[] =
    "Usage: cnnserve bench MODEL_DIR [options]\n"
    "\n"
    "For each precision and batch size: random input, warm-up runs, then timed runs.\n"
    "Prints median, 10th and 90th percentile milliseconds per batch and images/s.\n"
    "\n"
    "Options:\n"
    "  --batch LIST       comma-separated batch sizes (default 1,8)\n"
    "  --precision LIST   comma-separated precisions: fp32, bf16 (CPU), tf32, fp16 (CUDA)\n"
    "                     (default fp32,bf16 on the CPU, fp32,tf32,fp16 on CUDA)\n"
    "  --device D         cpu (default), cuda or cuda:N\n"
    "  --iters N          timed runs per configuration (default 20)\n"
    "  --warmup N         untimed runs first, at least (default 10)\n"
    "  --warmup-ms MS     and at least this long (default 500): the first runs after a\n"
    "                     plan is built are slower (oneDNN's kernels, caches, clocks)\n"
    "  --threads N        CPU threads (default: library default)\n"
    "  --json             print JSON instead of a table\n"
    "  -h, --help         show this help\n";

typedef struct bench_opts {
    const char *model_dir;
    int batches[MAX_CONFIGS], num_batches;
    cnn_precision_t precisions[MAX_CONFIGS];
    int num_precisions;
    bool precisions_given;
    cnn_device_kind_t device;
    int device_index;
    int iters, warmup, warmup_ms, threads;
    bool json;
} bench_opts_t;

typedef struct bench_result {
    cnn_precision_t precision;
    int batch;
    double median_ms, p10_ms, p90_ms, images_per_s;
    cli_kernel_count_t kernels[MAX_KERNEL_KINDS]; /* the convolutions' kernels */
    int num_kernels;                              /* -1: the backend cannot tell */
    char error[CNN_ERROR_MESSAGE_MAX]; /* empty when the run succeeded */
} bench_result_t;

static int parse_args(int argc, char **argv, bench_opts_t *o)
{
    static const struct option longopts[] = {
        {"batch", required_argument, NULL, 'b'}, {"precision", required_argument, NULL, 'p'},
        {"iters", required_argument, NULL, 'i'}, {"warmup", required_argument, NULL, 'w'},
        {"warmup-ms", required_argument, NULL, 'W'},
        {"threads", required_argument, NULL, 't'}, {"json", no_argument, NULL, 'j'},
        {"device", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->batches[0] = 1;
    o->batches[1] = 8;
    o->num_batches = 2;
    o->precisions[0] = CNN_PRECISION_FP32;
    o->precisions[1] = CNN_PRECISION_BF16;
    o->num_precisions = 2;
    o->iters = 20;
    o->warmup = 10;
    o->warmup_ms = 500;
    cli_getopt_reset();
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            if (!cli_parse_int_list(optarg, 1, 4096, o->batches, MAX_CONFIGS, &o->num_batches))
                return cli_usage_error(CMD, "--batch needs a list of positive integers, not '%s'", optarg);
            break;
        case 'p':
            if (!cli_parse_precision_list(optarg, o->precisions, MAX_CONFIGS, &o->num_precisions))
                return cli_usage_error(CMD, "--precision needs a list of fp32/bf16/tf32/fp16, not '%s'", optarg);
            o->precisions_given = true;
            break;
        case 'd':
            if (!cli_parse_device(optarg, &o->device, &o->device_index))
                return cli_usage_error(CMD, "--device must be cpu, cuda or cuda:N, not '%s'", optarg);
            break;
        case 'i':
            if (!cli_parse_int(optarg, 1, 1000000, &o->iters))
                return cli_usage_error(CMD, "--iters needs a positive integer, not '%s'", optarg);
            break;
        case 'w':
            if (!cli_parse_int(optarg, 0, 1000000, &o->warmup))
                return cli_usage_error(CMD, "--warmup needs a non-negative integer, not '%s'", optarg);
            break;
        case 'W':
            if (!cli_parse_int(optarg, 0, 3600 * 1000, &o->warmup_ms))
                return cli_usage_error(CMD, "--warmup-ms needs a non-negative integer, not '%s'", optarg);
            break;
        case 't':
            if (!cli_parse_int(optarg, 1, 4096, &o->threads))
                return cli_usage_error(CMD, "--threads needs a positive integer, not '%s'", optarg);
            break;
        case 'j': o->json = true; break;
        case 'h': fputs(usage, stdout); return -1;
        default: return cli_bad_option(CMD, c, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage_error(CMD, "needs exactly one model directory");
    if (o->device == CNN_DEVICE_CUDA && !o->precisions_given) {
        o->precisions[0] = CNN_PRECISION_FP32;
        o->precisions[1] = CNN_PRECISION_TF32;
        o->precisions[2] = CNN_PRECISION_FP16;
        o->num_precisions = 3;
    }
    o->model_dir = argv[optind];
    return CLI_EXIT_OK;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* q-th quantile (0..1) of sorted v[n], interpolating between ranks. */
static double quantile(const double *v, int n, double q)
{
    double pos = q * (n - 1);
    int lo = (int)pos;
    if (lo >= n - 1)
        return v[n - 1];
    return v[lo] + (pos - lo) * (v[lo + 1] - v[lo]);
}

static void fill_random(float *x, size_t n)
{
    uint32_t s = 0x9e3779b9u;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        x[i] = (float)(s >> 8) / (float)(1u << 23) - 1.0f; /* [-1, 1) */
    }
}

/* Times one batch size on a session; fills r (r->error on failure). */
static void bench_one(const bench_opts_t *o, cnn_session_t *s, const float *in, float *out,
                      double *times, bench_result_t *r)
{
    cnn_error_t err;
    bool tty = isatty(STDERR_FILENO);
    const char *prec = cli_precision_name(r->precision);
    /* Warm-up: at least o->warmup runs and at least o->warmup_ms. */
    double warm_until = now_ms() + o->warmup_ms;
    int warm = 0, timed = 0;
    while (timed < o->iters) {
        bool warming = warm < o->warmup || now_ms() < warm_until;
        double t0 = now_ms();
        if (cnn_session_run(s, in, r->batch, out, &err) != CNN_OK) {
            snprintf(r->error, sizeof r->error, "%s", err.message);
            if (tty)
                fputc('\n', stderr);
            return;
        }
        double dt = now_ms() - t0;
        if (warming)
            warm++;
        else
            times[timed++] = dt;
        if (tty)
            fprintf(stderr, "\rbench %s batch %d: %s %d (%.2f ms)   ", prec, r->batch,
                    warming ? "warm-up run" : "timed run", warming ? warm : timed, dt);
    }
    qsort(times, (size_t)o->iters, sizeof *times, compare_double);
    r->median_ms = quantile(times, o->iters, 0.5);
    r->p10_ms = quantile(times, o->iters, 0.1);
    r->p90_ms = quantile(times, o->iters, 0.9);
    r->images_per_s = r->median_ms > 0 ? r->batch * 1000.0 / r->median_ms : 0.0;
    fprintf(stderr, "%sbench %s batch %d: median %.3f ms, %.1f images/s\n", tty ? "\r" : "", prec,
            r->batch, r->median_ms, r->images_per_s);
}

/* Runs every batch size for one precision; results go to r[0..num_batches). */
static void bench_precision(const bench_opts_t *o, cnn_model_t *model, cnn_precision_t prec,
                            bench_result_t *r)
{
    const cnn_model_info_t *info = cnn_model_get_info(model);
    int max_batch = 1;
    for (int b = 0; b < o->num_batches; b++) {
        r[b] = (bench_result_t){.precision = prec, .batch = o->batches[b]};
        max_batch = o->batches[b] > max_batch ? o->batches[b] : max_batch;
    }
    size_t image = (size_t)info->input_channels * info->input_height * info->input_width;
    float *in = malloc((size_t)max_batch * image * sizeof(float));
    float *out = malloc((size_t)max_batch * cnn_model_output_size(model) * sizeof(float));
    double *times = malloc((size_t)o->iters * sizeof(double));
    cnn_session_t *s = NULL;
    cnn_error_t err;
    cnn_session_options_t so;
    cnn_session_options_init(&so);
    so.precision = prec;
    so.device = o->device;
    so.device_index = o->device_index;
    so.max_batch = max_batch;
    so.num_threads = o->threads;
    const char *problem = NULL;
    if (!in || !out || !times)
        problem = "out of memory";
    else if (cnn_session_create(model, &so, &s, &err) != CNN_OK)
        problem = err.message;
    if (problem) {
        for (int b = 0; b < o->num_batches; b++)
            snprintf(r[b].error, sizeof r[b].error, "%s", problem);
        fprintf(stderr, "bench %s: %s\n", cli_precision_name(prec), problem);
        goto done;
    }
    fill_random(in, (size_t)max_batch * image);
    for (int b = 0; b < o->num_batches; b++) {
        bench_one(o, s, in, out, times, &r[b]);
        r[b].num_kernels = cli_conv_kernels(s, model, r[b].batch, r[b].kernels, MAX_KERNEL_KINDS);
        if (r[b].error[0])
            fprintf(stderr, "bench %s batch %d: %s\n", cli_precision_name(prec), r[b].batch, r[b].error);
    }
done:
    cnn_session_free(s);
    free(in);
    free(out);
    free(times);
}

/* "brg:avx512_core_bf16 bf16 x20, jit:avx512_core f32 x1" */
static void print_kernels(const bench_result_t *r)
{
    if (r->num_kernels < 0) {
        fputs("n/a", stdout);
        return;
    }
    for (int k = 0; k < r->num_kernels; k++)
        printf("%s%s x%d", k ? ", " : "", r->kernels[k].name, r->kernels[k].count);
    if (r->num_kernels == 0)
        fputs("none", stdout);
}

static void print_table(const bench_opts_t *o, const bench_result_t *r, int n, const char *name)
{
    char dev[32], cpu[160];
    cli_cpu_describe(cpu, sizeof cpu);
    printf("model %s on %s, %d timed runs after >= %d warm-up runs and >= %d ms, threads %s\n", name,
           cli_device_name(o->device, o->device_index, dev, sizeof dev), o->iters, o->warmup, o->warmup_ms,
           o->threads ? "as given" : "library default");
    printf("CPU: %s\n\n", cpu);
    printf("| precision | batch | median ms | p10 ms | p90 ms | images/s |\n");
    printf("|-----------|------:|----------:|-------:|-------:|---------:|\n");
    for (int i = 0; i < n; i++) {
        if (r[i].error[0])
            printf("| %-9s | %5d | failed: %s |\n", cli_precision_name(r[i].precision), r[i].batch, r[i].error);
        else
            printf("| %-9s | %5d | %9.3f | %6.3f | %6.3f | %8.1f |\n", cli_precision_name(r[i].precision),
                   r[i].batch, r[i].median_ms, r[i].p10_ms, r[i].p90_ms, r[i].images_per_s);
    }
    if (o->device != CNN_DEVICE_CPU)
        return;
    printf("\nConvolution kernels (oneDNN implementation, data type x layers):\n");
    for (int i = 0; i < n; i++) {
        if (r[i].error[0])
            continue;
        printf("  %s batch %d: ", cli_precision_name(r[i].precision), r[i].batch);
        print_kernels(&r[i]);
        putchar('\n');
    }
}

static void print_json(const bench_opts_t *o, const bench_result_t *r, int n, const char *name)
{
    char dev[32];
    fputs("{\n  \"model\": ", stdout);
    cli_json_string(stdout, name);
    printf(",\n  \"device\": \"%s\"", cli_device_name(o->device, o->device_index, dev, sizeof dev));
    printf(",\n  \"cpu_library\": \"oneDNN %s\",\n  \"cpu_isa\": \"%s\"", cnn_cpu_library_version(),
           cnn_cpu_isa());
    printf(",\n  \"threads\": %d,\n  \"iters\": %d,\n  \"warmup\": %d,\n  \"warmup_ms\": %d,\n  \"results\": [",
           o->threads, o->iters, o->warmup, o->warmup_ms);
    for (int i = 0; i < n; i++) {
        printf("%s\n    {\"precision\": \"%s\", \"batch\": %d, ", i ? "," : "",
               cli_precision_name(r[i].precision), r[i].batch);
        if (r[i].error[0]) {
            fputs("\"error\": ", stdout);
            cli_json_string(stdout, r[i].error);
        } else {
            printf("\"median_ms\": %.6f, \"p10_ms\": %.6f, \"p90_ms\": %.6f, \"images_per_s\": %.3f",
                   r[i].median_ms, r[i].p10_ms, r[i].p90_ms, r[i].images_per_s);
            fputs(", \"conv_kernels\": ", stdout);
            if (r[i].num_kernels < 0)
                fputs("null", stdout);
            for (int k = 0; k < r[i].num_kernels; k++) {
                fputs(k ? ", " : "{", stdout);
                cli_json_string(stdout, r[i].kernels[k].name);
                printf(": %d", r[i].kernels[k].count);
            }
            if (r[i].num_kernels == 0)
                fputs("{}", stdout);
            else if (r[i].num_kernels > 0)
                fputc('}', stdout);
        }
        putchar('}');
    }
    fputs("\n  ]\n}\n", stdout);
}

int cli_cmd_bench(int argc, char **argv)
{
    bench_opts_t o;
    int rc = parse_args(argc, argv, &o);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    cnn_model_t *model = NULL;
    cnn_error_t err;
    if (cnn_model_load(o.model_dir, &model, &err) != CNN_OK)
        return cli_fail(CMD, "cannot load model %s: %s", o.model_dir, err.message);
    int n = o.num_precisions * o.num_batches;
    bench_result_t *r = calloc((size_t)n, sizeof *r);
    if (!r) {
        cnn_model_free(model);
        return cli_fail(CMD, "out of memory");
    }
    for (int p = 0; p < o.num_precisions; p++)
        bench_precision(&o, model, o.precisions[p], r + p * o.num_batches);
    const char *name = cnn_model_get_info(model)->name;
    if (o.json)
        print_json(&o, r, n, name);
    else
        print_table(&o, r, n, name);
    for (int i = 0; i < n; i++)
        if (r[i].error[0])
            rc = CLI_EXIT_FAILURE;
    free(r);
    cnn_model_free(model);
    if (fflush(stdout) != 0)
        rc = cli_fail(CMD, "cannot write the results");
    return rc;
}
