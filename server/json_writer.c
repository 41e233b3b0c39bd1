/* Writing JSON text into a growable buffer (see json_writer.h). */
#include "json_writer.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for n more bytes and the NUL; false (and failed) when out of memory. */
static bool reserve(srv_json_writer_t *w, size_t n)
{
    if (!w->count_only && w->limit && w->len + n > w->limit) {
        free(w->buf);
        w->buf = NULL;
        w->cap = 0;
        w->count_only = true;
    }
    if (w->failed || w->count_only)
        return false;
    if (w->len + n + 1 <= w->cap)
        return true;
    size_t cap = w->cap ? w->cap : 512;
    while (cap < w->len + n + 1)
        cap *= 2;
    char *p = realloc(w->buf, cap);
    if (!p) {
        w->failed = true;
        return false;
    }
    w->buf = p;
    w->cap = cap;
    return true;
}

static void append(srv_json_writer_t *w, const char *text, size_t n)
{
    if (!reserve(w, n)) {
        if (w->count_only)
            w->len += n;
        return;
    }
    memcpy(w->buf + w->len, text, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

void srv_jw_raw(srv_json_writer_t *w, const char *text)
{
    append(w, text, strlen(text));
}

void srv_jw_string(srv_json_writer_t *w, const char *s)
{
    append(w, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        const char *e = NULL;
        switch (*p) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        default:
            if (*p < 32) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                e = esc;
            }
        }
        if (e)
            srv_jw_raw(w, e);
        else
            append(w, (const char *)p, 1);
    }
    append(w, "\"", 1);
}

void srv_jw_number(srv_json_writer_t *w, double d)
{
    char buf[32];
    if (isnan(d) || isinf(d)) {
        snprintf(buf, sizeof buf, "null");
    } else {
        snprintf(buf, sizeof buf, "%1.15g", d);
        double back = strtod(buf, NULL);
        double max = fabs(back) > fabs(d) ? fabs(back) : fabs(d);
        if (!(fabs(back - d) <= max * DBL_EPSILON))
            snprintf(buf, sizeof buf, "%1.17g", d);
    }
    srv_jw_raw(w, buf);
}

char *srv_jw_extend(srv_json_writer_t *w, size_t n)
{
    if (!reserve(w, n)) {
        if (w->count_only)
            w->len += n;
        return NULL;
    }
    char *at = w->buf + w->len;
    w->len += n;
    w->buf[w->len] = '\0';
    return at;
}

void srv_jw_float(srv_json_writer_t *w, float f)
{
    if (f == 0.0f) {
        append(w, signbit(f) ? "-0" : "0", signbit(f) ? 2 : 1);
        return;
    }
    if (isnan(f) || isinf(f)) {
        append(w, "null", 4);
        return;
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%.9g", (double)f);
    append(w, buf, (size_t)n);
}

char *srv_jw_finish(srv_json_writer_t *w, size_t *len)
{
    if (!reserve(w, 0)) {
        free(w->buf);
        w->buf = NULL;
        return NULL;
    }
    if (len)
        *len = w->len;
    return w->buf;
}
