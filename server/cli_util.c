/* Helpers shared by the cnnserve subcommands: messages, option values, files, JSON. */
#define _GNU_SOURCE /* getopt_long */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

static void vreport(const char *cmd, const char *fmt, va_list ap)
{
    fprintf(stderr, "cnnserve %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'cnnserve %s --help'.\n", cmd);
    return CLI_EXIT_USAGE;
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, fmt, ap);
    va_end(ap);
    return CLI_EXIT_FAILURE;
}

int cli_bad_option(const char *cmd, int c, char **argv)
{
    const char *opt = optind > 0 ? argv[optind - 1] : "?";
    if (c == ':')
        return cli_usage_error(cmd, "option '%s' needs a value", opt);
    if (optopt && strncmp(opt, "--", 2) != 0)
        return cli_usage_error(cmd, "unknown option '-%c'", optopt);
    return cli_usage_error(cmd, "unknown option '%s'", opt);
}

void cli_getopt_reset(void)
{
    optind = 0; /* glibc: 0 re-initializes the scanner */
    opterr = 0; /* we print our own messages */
}

bool cli_parse_int(const char *s, int min, int max, int *out)
{
    if (!s || !*s)
        return false;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = (int)v;
    return true;
}

#define CLI_LIST_ITEM_MAX 32

/* Splits a comma-separated list into at most `cap` non-empty items of fewer
 * than CLI_LIST_ITEM_MAX characters; false when the list breaks those rules. */
static bool split_list(const char *s, char (*items)[CLI_LIST_ITEM_MAX], int cap, int *n)
{
    *n = 0;
    if (!s || !*s)
        return false;
    for (const char *p = s;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || len >= CLI_LIST_ITEM_MAX || *n >= cap)
            return false;
        memcpy(items[*n], p, len);
        items[(*n)++][len] = '\0';
        if (!comma)
            return true;
        p = comma + 1;
    }
}

bool cli_parse_int_list(const char *s, int min, int max, int *out, int cap, int *n)
{
    char (*items)[CLI_LIST_ITEM_MAX] = malloc((size_t)(cap > 0 ? cap : 1) * sizeof *items);
    bool ok = items && split_list(s, items, cap, n);
    for (int i = 0; ok && i < *n; i++)
        ok = cli_parse_int(items[i], min, max, &out[i]);
    free(items);
    return ok;
}

bool cli_parse_device(const char *s, cnn_device_kind_t *kind, int *index)
{
    if (strcmp(s, "cpu") == 0) {
        *kind = CNN_DEVICE_CPU;
        *index = 0;
        return true;
    }
    if (strncmp(s, "cuda", 4) != 0)
        return false;
    *kind = CNN_DEVICE_CUDA;
    *index = 0;
    if (s[4] == '\0')
        return true;
    return s[4] == ':' && cli_parse_int(s + 5, 0, 1023, index);
}

const char *cli_device_name(cnn_device_kind_t kind, int index, char *buf, size_t size)
{
    if (kind == CNN_DEVICE_CPU)
        snprintf(buf, size, "cpu");
    else
        snprintf(buf, size, "cuda:%d", index);
    return buf;
}

bool cli_parse_precision(const char *s, cnn_precision_t *out)
{
    return cnn_precision_parse(s, out);
}

bool cli_parse_precision_list(const char *s, cnn_precision_t *out, int cap, int *n)
{
    char (*items)[CLI_LIST_ITEM_MAX] = malloc((size_t)(cap > 0 ? cap : 1) * sizeof *items);
    bool ok = items && split_list(s, items, cap, n);
    for (int i = 0; ok && i < *n; i++)
        ok = cli_parse_precision(items[i], &out[i]);
    free(items);
    return ok;
}

const char *cli_precision_name(cnn_precision_t p)
{
    return cnn_precision_name(p);
}

cnn_status_t cli_read_file(const char *path, uint8_t **data, size_t *len, cnn_error_t *err)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return cnn_error_set(err, CNN_E_IO, "%s: %s", path, strerror(errno));
    cnn_status_t st = CNN_OK;
    uint8_t *buf = NULL;
    size_t used = 0, cap = 0;
    for (;;) {
        if (used == cap) {
            size_t grown = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(buf, grown + 1);
            if (!nb) {
                st = cnn_error_set(err, CNN_E_NOMEM, "%s: out of memory reading the file", path);
                goto done;
            }
            buf = nb;
            cap = grown;
        }
        size_t got = fread(buf + used, 1, cap - used, f);
        used += got;
        if (got == 0) {
            if (ferror(f))
                st = cnn_error_set(err, CNN_E_IO, "%s: read error", path);
            break;
        }
    }
done:
    fclose(f);
    if (st != CNN_OK) {
        free(buf);
        return st;
    }
    buf[used] = '\0';
    *data = buf;
    *len = used;
    return CNN_OK;
}

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

void cli_json_float(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("null", f);
}

const char *cli_format_count(int64_t v, char *buf, size_t size)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
    size_t o = 0;
    if (v < 0 && o + 1 < size)
        buf[o++] = '-';
    for (int i = 0; i < n && o + 1 < size; i++) {
        if (i > 0 && (n - i) % 3 == 0 && o + 1 < size)
            buf[o++] = ',';
        if (o + 1 < size)
            buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}
