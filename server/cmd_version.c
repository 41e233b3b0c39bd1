/* `cnnserve version`: the program's version and what this machine can run. */
#define _GNU_SOURCE /* getopt_long */
#include "cli.h"
#include "cli_kernels.h"

#include <getopt.h>

static const char *const CMD = "version";

static const char usage[] =
    "Usage: cnnserve version [--json]\n"
    "\n"
    "Prints cnnserve's version, the CPU backend's library, the instruction set it\n"
    "dispatches to (ONEDNN_MAX_CPU_ISA can lower it) and the precisions it runs here,\n"
    "and whether a CUDA device is usable.\n"
    "\n"
    "Options:\n"
    "  --json       print JSON instead of text\n"
    "  -h, --help   show this help\n";

int cli_cmd_version(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false;
    int c;
    cli_getopt_reset();
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'h': fputs(usage, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(CMD, c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    cnn_error_t bf16_err, cuda_err;
    bool bf16 = cnn_precision_check(CNN_DEVICE_CPU, CNN_PRECISION_BF16, &bf16_err) == CNN_OK;
    bool cuda = cnn_device_check(CNN_DEVICE_CUDA, 0, &cuda_err) == CNN_OK;
    if (json) {
        printf("{\"version\": \"%s\", \"cpu\": {\"library\": \"oneDNN %s\", \"isa\": \"%s\", "
               "\"precisions\": [\"fp32\"%s]",
               CNN_VERSION, cnn_cpu_library_version(), cnn_cpu_isa(), bf16 ? ", \"bf16\"" : "");
        if (!bf16) {
            fputs(", \"bf16_unavailable\": ", stdout);
            cli_json_string(stdout, bf16_err.message);
        }
        printf("}, \"cuda\": {\"usable\": %s", cuda ? "true" : "false");
        if (!cuda) {
            fputs(", \"reason\": ", stdout);
            cli_json_string(stdout, cuda_err.message);
        }
        fputs("}}\n", stdout);
    } else {
        char cpu[160];
        cli_cpu_describe(cpu, sizeof cpu);
        printf("cnnserve %s\ncpu: %s\ncuda: %s\n", CNN_VERSION, cpu, cuda ? "usable" : cuda_err.message);
    }
    return fflush(stdout) == 0 ? CLI_EXIT_OK : cli_fail(CMD, "cannot write the output");
}
