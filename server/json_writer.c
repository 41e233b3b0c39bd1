/* Writing JSON text into a growable buffer (see json_writer.h). */
#include "json_writer.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
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

/* Powers of ten 1e-46 .. 1e54 (float32 values and the scale to nine digits). */
static const double pow10_table[] = {
    1e-46, 1e-45, 1e-44, 1e-43, 1e-42, 1e-41, 1e-40, 1e-39, 1e-38, 1e-37, 1e-36, 1e-35, 1e-34, 1e-33,
    1e-32, 1e-31, 1e-30, 1e-29, 1e-28, 1e-27, 1e-26, 1e-25, 1e-24, 1e-23, 1e-22, 1e-21, 1e-20, 1e-19,
    1e-18, 1e-17, 1e-16, 1e-15, 1e-14, 1e-13, 1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4,
    1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
    1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30,
    1e31, 1e32, 1e33, 1e34, 1e35, 1e36, 1e37, 1e38, 1e39, 1e40, 1e41, 1e42, 1e43, 1e44, 1e45, 1e46,
    1e47, 1e48, 1e49, 1e50, 1e51, 1e52, 1e53, 1e54
};
#define POW10(k) pow10_table[(k) + 46]

/* Nine significant digits of a finite non-zero float, correctly rounded but
 * for the last digit at worst (the scaled double is off by ~1e-16): any
 * nine-digit decimal within 1.5e-8 relative of f reads back as f, whose
 * neighbours are at least 5.9e-8 away. Fixed notation for exponents -5..8,
 * else d.ddde±x; no trailing zeros. Several times faster than snprintf. */
static size_t format_float9(float f, char *out)
{
    char *p = out;
    double d = f;
    if (d < 0) {
        *p++ = '-';
        d = -d;
    }
    int e2;
    frexp(d, &e2);
    int e = (int)floor((e2 - 1) * 0.30102999566398120);
    if (e < -46)
        e = -46;
    while (e < 38 && d >= POW10(e + 1))
        e++;
    while (e > -46 && d < POW10(e))
        e--;
    uint64_t m = (uint64_t)(d * POW10(8 - e) + 0.5);
    if (m >= 1000000000u) {
        m = (m + 5) / 10;
        e++;
    }
    char dig[9];
    for (int i = 8; i >= 0; i--) {
        dig[i] = (char)('0' + m % 10);
        m /= 10;
    }
    int nd = 9;
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    if (e >= 0 && e < 9) {
        for (int i = 0; i <= e; i++)
            *p++ = i < nd ? dig[i] : '0';
        if (nd > e + 1) {
            *p++ = '.';
            for (int i = e + 1; i < nd; i++)
                *p++ = dig[i];
        }
    } else if (e < 0 && e >= -5) {
        *p++ = '0';
        *p++ = '.';
        for (int i = 1; i < -e; i++)
            *p++ = '0';
        for (int i = 0; i < nd; i++)
            *p++ = dig[i];
    } else {
        *p++ = dig[0];
        if (nd > 1) {
            *p++ = '.';
            for (int i = 1; i < nd; i++)
                *p++ = dig[i];
        }
        *p++ = 'e';
        if (e < 0) {
            *p++ = '-';
            e = -e;
        }
        if (e >= 10)
            *p++ = (char)('0' + e / 10);
        *p++ = (char)('0' + e % 10);
    }
    return (size_t)(p - out);
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
    append(w, buf, format_float9(f, buf));
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
