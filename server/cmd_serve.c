/* `cnnserve serve [options]` (and `cnnserve` with no arguments): the HTTP
 * inference server. */
#define _GNU_SOURCE /* getopt_long */
#include "cli.h"
#include "cors.h"
#include "server.h"

#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const CMD = "serve";

static const char usage[] =
    "Usage: cnnserve serve [options]      (cnnserve with no arguments: serve with the defaults)\n"
    "\n"
    "Serves every model directory of a model repository over HTTP: POST /classify,\n"
    "/v1/models/{m}/classify, GET /v1/models[/{m}], /health/live, /health/ready, /metrics,\n"
    "KServe v2 (/v2/health/*, /v2/models/{m}[/ready|/infer]) and a dashboard page at GET /\n"
    "(open http://HOST:PORT/ in a browser). Stops on SIGTERM or SIGINT once every request\n"
    "already received is answered.\n"
    "\n"
    "Options:\n"
    "  --models DIR             model repository (default: ./models if it exists, else the\n"
    "                           models/ directory of the source tree the binary was built in,\n"
    "                           BIN/../../models, or BIN/../share/cnnserve/models)\n"
    "  --host ADDR              IPv4 address to listen on (default 127.0.0.1; 0.0.0.0 for all)\n"
    "  --port N                 TCP port (default 8080; 0 picks a free one, printed on stderr)\n"
    "  --default-model NAME     model of POST /classify (default lenet5-fashion if loaded,\n"
    "                           else the first model by directory name)\n"
    "  --max-batch-size N       images per engine run (default: each model.json's)\n"
    "  --max-queue-delay-us N   longest wait of the oldest image for a fuller batch\n"
    "                           (default: each model.json's; rounded up to milliseconds)\n"
    "  --queue-size N           requests admitted and not yet answered before 503 (default 1024)\n"
    "  --timeout-ms N           answer 504 when a request takes longer (default 30000)\n"
    "  --max-body-bytes N       largest request body, 413 above (default 16777216)\n"
    "  --max-response-bytes N   largest feature-map reply, 413 above (default 67108864)\n"
    "  --max-pixels N           largest image (width x height) decoded, 413 above (default 16000000)\n"
    "  --max-images N           images in one request, 413 above (default 64)\n"
    "  --connection-limit N     open connections (default 512)\n"
    "  --per-ip-limit N         open connections per client address (default 0: no limit)\n"
    "  --connection-timeout S   close connections idle this many seconds (default 30)\n"
    "  --threads N              engine CPU threads (default: 1 for models under 100 M\n"
    "                           multiply-adds per image, else every core)\n"
    "  --http-threads N         HTTP polling threads (default 2)\n"
    "  --cors-origin ORIGIN     let web pages of ORIGIN (scheme://host[:port], e.g.\n"
    "                           http://localhost:3000) call the API from a browser, or * for\n"
    "                           any origin; answers CORS preflights (default: off, OPTIONS 405)\n"
    "  --device D               cpu (default), cuda or cuda:N; without a usable GPU the\n"
    "                           server says so on stderr and serves on the CPU\n"
    "  --precision [MODEL=]P    fp32, bf16 (CPU), tf32 or fp16 (CUDA) for every model, or with\n"
    "                           MODEL= for that model (repeatable; MODEL=P wins over P, which\n"
    "                           wins over model.json's \"precision\", default fp32). A model whose\n"
    "                           precision the device cannot run is served in fp32 (stderr says why)\n"
    "  -h, --help               show this help\n";

enum {
    OPT_MODELS = 256, OPT_HOST, OPT_PORT, OPT_DEFAULT_MODEL, OPT_MAX_BATCH, OPT_DELAY, OPT_QUEUE,
    OPT_TIMEOUT, OPT_BODY, OPT_PIXELS, OPT_IMAGES, OPT_CONN_LIMIT, OPT_PER_IP, OPT_CONN_TIMEOUT,
    OPT_THREADS, OPT_HTTP_THREADS, OPT_RESPONSE, OPT_CORS_ORIGIN, OPT_DEVICE, OPT_PRECISION,
};

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The default model repository (see the usage text), in `buf`; NULL if none. */
static const char *find_models_dir(char *buf, size_t size)
{
    if (is_dir("models")) {
        snprintf(buf, size, "models");
        return buf;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    const char *bin = dirname(exe);
    static const char *const rel[] = {"../../models", "../share/cnnserve/models", "models"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        snprintf(buf, size, "%s/%s", bin, rel[i]);
        if (is_dir(buf))
            return buf;
    }
    return NULL;
}

typedef struct int_opt {
    int id;
    const char *name;
    int min, max;
    int *dst;
} int_opt_t;

/* --precision P (every model) or MODEL=P (one model); false when malformed. */
static bool parse_precision(const char *arg, srv_config_t *cfg)
{
    const char *eq = strchr(arg, '=');
    if (!eq)
        return (cfg->precision_given = cli_parse_precision(arg, &cfg->precision));
    cnn_precision_t p;
    if (eq == arg || !cli_parse_precision(eq + 1, &p) || cfg->num_precision_overrides == SRV_MAX_PRECISION_OVERRIDES)
        return false;
    cfg->precision_overrides[cfg->num_precision_overrides++] =
        (srv_precision_override_t){.model = arg, .model_len = (size_t)(eq - arg), .precision = p};
    return true;
}

static int parse_args(int argc, char **argv, srv_config_t *cfg)
{
    static const struct option longopts[] = {
        {"models", required_argument, NULL, OPT_MODELS},
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"default-model", required_argument, NULL, OPT_DEFAULT_MODEL},
        {"max-batch-size", required_argument, NULL, OPT_MAX_BATCH},
        {"max-queue-delay-us", required_argument, NULL, OPT_DELAY},
        {"queue-size", required_argument, NULL, OPT_QUEUE},
        {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
        {"max-body-bytes", required_argument, NULL, OPT_BODY},
        {"max-response-bytes", required_argument, NULL, OPT_RESPONSE},
        {"max-pixels", required_argument, NULL, OPT_PIXELS},
        {"max-images", required_argument, NULL, OPT_IMAGES},
        {"connection-limit", required_argument, NULL, OPT_CONN_LIMIT},
        {"per-ip-limit", required_argument, NULL, OPT_PER_IP},
        {"connection-timeout", required_argument, NULL, OPT_CONN_TIMEOUT},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"http-threads", required_argument, NULL, OPT_HTTP_THREADS},
        {"cors-origin", required_argument, NULL, OPT_CORS_ORIGIN},
        {"device", required_argument, NULL, OPT_DEVICE},
        {"precision", required_argument, NULL, OPT_PRECISION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int body = (int)cfg->max_body_bytes, pixels = (int)cfg->max_pixels, response = (int)cfg->max_response_bytes;
    const int_opt_t ints[] = {
        {OPT_PORT, "--port", 0, 65535, &cfg->port},
        {OPT_MAX_BATCH, "--max-batch-size", 1, 65536, &cfg->max_batch_size},
        {OPT_DELAY, "--max-queue-delay-us", 0, 60 * 1000 * 1000, &cfg->max_queue_delay_us},
        {OPT_QUEUE, "--queue-size", 1, 1 << 20, &cfg->queue_size},
        {OPT_TIMEOUT, "--timeout-ms", 1, 24 * 3600 * 1000, &cfg->timeout_ms},
        {OPT_BODY, "--max-body-bytes", 1, INT_MAX, &body},
        {OPT_RESPONSE, "--max-response-bytes", 1, INT_MAX, &response},
        {OPT_PIXELS, "--max-pixels", 1, INT_MAX, &pixels},
        {OPT_IMAGES, "--max-images", 1, 65536, &cfg->max_images},
        {OPT_CONN_LIMIT, "--connection-limit", 1, 1 << 20, &cfg->connection_limit},
        {OPT_PER_IP, "--per-ip-limit", 0, 1 << 20, &cfg->per_ip_limit},
        {OPT_CONN_TIMEOUT, "--connection-timeout", 1, 24 * 3600, &cfg->connection_timeout_s},
        {OPT_THREADS, "--threads", 1, 4096, &cfg->engine_threads},
        {OPT_HTTP_THREADS, "--http-threads", 1, 256, &cfg->http_threads},
    };
    cli_getopt_reset();
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        const int_opt_t *io = NULL;
        for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
            if (ints[i].id == c)
                io = &ints[i];
        if (io) {
            if (!cli_parse_int(optarg, io->min, io->max, io->dst))
                return cli_usage_error(CMD, "%s needs an integer in %d..%d, not '%s'", io->name, io->min,
                                       io->max, optarg);
            continue;
        }
        switch (c) {
        case OPT_MODELS: cfg->models_dir = optarg; break;
        case OPT_HOST: cfg->host = optarg; break;
        case OPT_DEFAULT_MODEL: cfg->default_model = optarg; break;
        case OPT_CORS_ORIGIN: {
            char msg[256];
            if (!srv_cors_origin_valid(optarg, msg, sizeof msg))
                return cli_usage_error(CMD, "--cors-origin: %s", msg);
            cfg->cors_origin = optarg;
            break;
        }
        case OPT_DEVICE:
            if (!cli_parse_device(optarg, &cfg->device, &cfg->device_index))
                return cli_usage_error(CMD, "--device must be cpu, cuda or cuda:N, not '%s'", optarg);
            break;
        case OPT_PRECISION:
            if (!parse_precision(optarg, cfg))
                return cli_usage_error(CMD, "--precision needs [MODEL=]P with P fp32, bf16, tf32 or fp16 "
                                       "(at most %d MODEL=P), not '%s'", SRV_MAX_PRECISION_OVERRIDES, optarg);
            break;
        case 'h': fputs(usage, stdout); return -1;
        default: return cli_bad_option(CMD, c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    cfg->max_body_bytes = (size_t)body;
    cfg->max_response_bytes = (size_t)response;
    cfg->max_pixels = (uint64_t)pixels;
    return CLI_EXIT_OK;
}

/* An unusable CUDA device is not fatal for a server: it says why on stderr
 * and serves on the CPU (a model whose precision the CPU cannot run, such as
 * fp16, then runs in fp32: see the model repository). */
static void device_fallback(srv_config_t *cfg)
{
    cnn_error_t err;
    if (cfg->device == CNN_DEVICE_CPU || cnn_device_check(cfg->device, cfg->device_index, &err) == CNN_OK)
        return;
    char dev[32];
    fprintf(stderr, "cnnserve serve: device %s is not usable (%s); serving on the CPU\n",
            cli_device_name(cfg->device, cfg->device_index, dev, sizeof dev), err.message);
    cfg->device = CNN_DEVICE_CPU;
    cfg->device_index = 0;
}

int cli_cmd_serve(int argc, char **argv)
{
    srv_config_t cfg;
    srv_config_init(&cfg);
    int rc = parse_args(argc, argv, &cfg);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    char models[PATH_MAX];
    if (!cfg.models_dir && !(cfg.models_dir = find_models_dir(models, sizeof models)))
        return cli_fail(CMD, "no model repository found (./models, or next to the binary); give --models DIR");
    device_fallback(&cfg);
    return srv_server_run(&cfg) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
}
