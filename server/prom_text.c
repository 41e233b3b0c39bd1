/* Prometheus text format pieces (see prom_text.h). */
#include "prom_text.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

char *srv_prom_escape_label(const char *value)
{
    size_t n = 0;
    for (const char *p = value; *p; p++)
        n += (*p == '\\' || *p == '"' || *p == '\n') ? 2 : 1;
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"' || *p == '\n') {
            *o++ = '\\';
            *o++ = *p == '\n' ? 'n' : *p;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

void srv_prom_write_label(FILE *f, const char *value)
{
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"' || *p == '\n') {
            fputc('\\', f);
            fputc(*p == '\n' ? 'n' : *p, f);
        } else {
            fputc(*p, f);
        }
    }
}

void srv_prom_header(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s ", name);
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            fputs("\\\\", f);
        else if (*p == '\n')
            fputs("\\n", f);
        else
            fputc(*p, f);
    }
    fprintf(f, "\n# TYPE %s %s\n", name, type);
}

void srv_prom_number(FILE *f, double v)
{
    if (isnan(v)) {
        fputs("NaN", f);
        return;
    }
    if (isinf(v)) {
        fputs(v > 0 ? "+Inf" : "-Inf", f);
        return;
    }
    char buf[40];
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, f);
}

void srv_prom_histogram(FILE *f, const char *name, const char *labels, const double *bounds, int n_bounds,
                        const uint64_t *counts, double sum)
{
    const char *sep = labels[0] ? "," : "";
    uint64_t cumulative = 0;
    for (int i = 0; i <= n_bounds; i++) {
        cumulative += counts[i];
        fprintf(f, "%s_bucket{%s%sle=\"", name, labels, sep);
        srv_prom_number(f, i < n_bounds ? bounds[i] : INFINITY);
        fprintf(f, "\"} %llu\n", (unsigned long long)cumulative);
    }
    fprintf(f, labels[0] ? "%s_sum{%s} " : "%s_sum%s ", name, labels);
    srv_prom_number(f, sum);
    fprintf(f, labels[0] ? "\n%s_count{%s} %llu\n" : "\n%s_count%s %llu\n", name, labels,
            (unsigned long long)cumulative);
}
