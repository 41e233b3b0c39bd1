/* Pieces of the Prometheus text exposition format (version 0.0.4): family
 * headers, escaped label values, numbers, histogram series. Everything is
 * written to a stdio stream; the caller checks the stream for errors. */
#ifndef SRV_PROM_TEXT_H
#define SRV_PROM_TEXT_H

#include <stdint.h>
#include <stdio.h>

/* `value` with backslash, double quote and line feed escaped (\\, \", \n),
 * ready to sit between the quotes of a label; malloc'ed, NULL when out of
 * memory. */
char *srv_prom_escape_label(const char *value);

/* Writes `value` escaped as srv_prom_escape_label does. */
void srv_prom_write_label(FILE *f, const char *value);

/* The "# HELP" (backslash and line feed escaped) and "# TYPE" lines of a
 * family; type is "counter", "gauge", "histogram", ... */
void srv_prom_header(FILE *f, const char *name, const char *type, const char *help);

/* A sample value or `le` bound: the shortest decimal that reads back as the
 * same double, "+Inf", "-Inf" or "NaN". */
void srv_prom_number(FILE *f, double v);

/* One histogram series: name_bucket{labels,le="b"} for each bound and
 * "+Inf" (cumulative), then name_sum and name_count. `labels` is the
 * series' label list without braces ("" for none), already escaped;
 * counts[i] is the number of observations in (bounds[i-1], bounds[i]],
 * counts[n_bounds] those above the last bound. */
void srv_prom_histogram(FILE *f, const char *name, const char *labels, const double *bounds, int n_bounds,
                        const uint64_t *counts, double sum);

#endif
