/* Writing JSON text into a growable buffer, for replies on the hot path
 * (cJSON builds a tree and prints each number twice). Numbers and strings
 * come out byte for byte as cJSON_PrintUnformatted writes them, so a reply
 * reads the same whichever wrote it. */
#ifndef SRV_JSON_WRITER_H
#define SRV_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct srv_json_writer {
    char *buf; /* NUL-terminated, malloc'ed */
    size_t len, cap;
    bool failed; /* out of memory: every later write is a no-op */
    bool count_only; /* measure: len grows, nothing is stored (buf stays NULL) */
    size_t limit;    /* > 0: once the text would pass it, buf is freed and the
                      * writer turns count_only (len still gives the full size) */
} srv_json_writer_t;

/* Room for n more bytes at the end: returns where to write them and counts
 * them in len; NULL when out of memory or count_only (len still counts). */
char *srv_jw_extend(srv_json_writer_t *w, size_t n);
/* Appends a float32 value with at most 9 significant digits (reads back as
 * the same float; trailing zeros dropped, exponent form outside 1e-5..1e9),
 * "0" for zeros, "null" for NaN and infinities. */
void srv_jw_float(srv_json_writer_t *w, float f);

/* Appends text as is. */
void srv_jw_raw(srv_json_writer_t *w, const char *text);
/* Appends s as a JSON string (quoted, escaped like cJSON). */
void srv_jw_string(srv_json_writer_t *w, const char *s);
/* Appends d as cJSON prints a number: "null" for NaN and infinities, else
 * %1.15g, or %1.17g when that does not read back as d (within DBL_EPSILON,
 * as cJSON compares); integers thus print as integers, -0 as "-0". */
void srv_jw_number(srv_json_writer_t *w, double d);
/* The text (caller frees) and, when len is not NULL, its length; NULL when out of memory. */
char *srv_jw_finish(srv_json_writer_t *w, size_t *len);

#endif
