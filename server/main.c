/* cnnserve: one program, several subcommands. */
#include "cli.h"

#include <string.h>

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} cli_command_t;

static const cli_command_t commands[] = {
    {"classify", cli_cmd_classify, "classify images or .npy arrays with a model"},
    {"inspect", cli_cmd_inspect, "show a model's layers, shapes, parameters and cost"},
    {"bench", cli_cmd_bench, "time a model's inference at given batch sizes and precisions"},
    {"convert", cli_cmd_convert, "make a model directory from a zoo architecture and weights"},
    {"serve", cli_cmd_serve, "serve the models over HTTP (the default with no arguments)"},
    {"healthcheck", cli_cmd_healthcheck, "GET a URL, exit 0 on status 200 (container health checks)"},
    {"version", cli_cmd_version, "show the version, the CPU's instruction set and precisions, CUDA"},
};
#define NUM_COMMANDS (sizeof commands / sizeof commands[0])

static void print_usage(FILE *f)
{
    fputs("Usage: cnnserve COMMAND [ARGS...]   (no COMMAND: serve with the defaults)\n\nCommands:\n", f);
    for (size_t i = 0; i < NUM_COMMANDS; i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fputs("  help        show this help, or 'help COMMAND' for a command's options\n\n"
          "Exit status: 0 success, 1 runtime failure, 2 usage error.\n",
          f);
}

static const cli_command_t *find_command(const char *name)
{
    for (size_t i = 0; i < NUM_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        char serve[] = "serve";
        char *serve_argv[] = {serve, NULL};
        return cli_cmd_serve(1, serve_argv);
    }
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        if (argc < 3) {
            print_usage(stdout);
            return CLI_EXIT_OK;
        }
        const cli_command_t *cmd = find_command(argv[2]);
        if (!cmd) {
            fprintf(stderr, "cnnserve: unknown command '%s'\n", argv[2]);
            return CLI_EXIT_USAGE;
        }
        char help[] = "--help";
        char *sub_argv[] = {argv[2], help, NULL};
        return cmd->run(2, sub_argv);
    }
    const cli_command_t *cmd = find_command(name);
    if (!cmd) {
        fprintf(stderr, "cnnserve: unknown command '%s'\n", name);
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    return cmd->run(argc - 1, argv + 1);
}
