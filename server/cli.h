/* The `cnnserve` command line: subcommands and the small helpers they share. */
#ifndef SRV_CLI_H
#define SRV_CLI_H

#include "cnn/cnn.h"

#include <stdio.h>

enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILURE = 1, /* runtime failure: bad file, engine error */
    CLI_EXIT_USAGE = 2,   /* bad command line */
};

/* Subcommands. argv[0] is the subcommand's name; each returns an exit code. */
int cli_cmd_convert(int argc, char **argv);
int cli_cmd_classify(int argc, char **argv);
int cli_cmd_inspect(int argc, char **argv);
int cli_cmd_bench(int argc, char **argv);
int cli_cmd_serve(int argc, char **argv);
int cli_cmd_healthcheck(int argc, char **argv);
int cli_cmd_version(int argc, char **argv);

/* Prints "cnnserve CMD: message" and a --help hint to stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "cnnserve CMD: message" to stderr; returns CLI_EXIT_FAILURE. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports getopt_long's '?' or ':' result (unknown option, missing value)
 * for the option at argv[optind - 1]; returns CLI_EXIT_USAGE. */
int cli_bad_option(const char *cmd, int c, char **argv);
/* Prepares getopt_long for a fresh scan of a subcommand's argv. */
void cli_getopt_reset(void);

/* Parses a whole decimal int in [min, max]. */
bool cli_parse_int(const char *s, int min, int max, int *out);
/* Parses "1,8,32" (ints in [min, max], at most `cap` of them) into out[]; *n = count. */
bool cli_parse_int_list(const char *s, int min, int max, int *out, int cap, int *n);
/* "cpu", "cuda" (device 0) or "cuda:N". */
bool cli_parse_device(const char *s, cnn_device_kind_t *kind, int *index);
/* "cpu" or "cuda:N". */
const char *cli_device_name(cnn_device_kind_t kind, int index, char *buf, size_t size);
/* "fp32" / "bf16" / "tf32" / "fp16". */
bool cli_parse_precision(const char *s, cnn_precision_t *out);
/* Parses "fp32,bf16" into out[] (at most `cap`); *n = count. */
bool cli_parse_precision_list(const char *s, cnn_precision_t *out, int cap, int *n);
const char *cli_precision_name(cnn_precision_t p);

/* Reads a whole file into a malloc'ed buffer (one NUL byte past len).
 * CNN_E_IO with a message naming the file on failure. */
cnn_status_t cli_read_file(const char *path, uint8_t **data, size_t *len, cnn_error_t *err);

/* Writes `s` as a quoted, escaped JSON string. */
void cli_json_string(FILE *f, const char *s);
/* Writes a float with full precision (%.9g), or null when not finite. */
void cli_json_float(FILE *f, double v);
/* Formats 1234567 as "1,234,567" into buf. */
const char *cli_format_count(int64_t v, char *buf, size_t size);

#endif
