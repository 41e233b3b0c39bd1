/* multipart/form-data splitting into image parts. */
#include "multipart.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_BOUNDARY 70
#define MAX_PART_HEADERS 16

bool srv_multipart_check_boundary(const char *boundary, srv_error_t *err)
{
    if (!boundary)
        return srv_error_set(err, 400, "multipart/form-data without a boundary parameter");
    size_t n = strlen(boundary);
    if (n == 0)
        return srv_error_set(err, 400, "multipart boundary is empty");
    if (n > MAX_BOUNDARY)
        return srv_error_set(err, 400, "multipart boundary is %zu characters long; the limit is %d", n,
                             MAX_BOUNDARY);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)boundary[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c != 0 && strchr("'()+_,-./:=? ", c) != NULL);
        if (!ok)
            return srv_error_set(err, 400, "multipart boundary has an invalid character 0x%02x", c);
    }
    if (boundary[n - 1] == ' ')
        return srv_error_set(err, 400, "multipart boundary ends in a space");
    return true;
}

/* Offset of the first `needle` in hay[from..len), or len when absent. */
static size_t find(const uint8_t *hay, size_t len, size_t from, const uint8_t *needle, size_t nlen)
{
    while (from < len && len - from >= nlen) {
        const uint8_t *p = memchr(hay + from, needle[0], len - from - nlen + 1);
        if (!p)
            break;
        size_t at = (size_t)(p - hay);
        if (memcmp(p, needle, nlen) == 0)
            return at;
        from = at + 1;
    }
    return len;
}

typedef struct parser {
    const uint8_t *b;
    size_t len, pos;
    uint8_t delim[4 + MAX_BOUNDARY]; /* CRLF "--" boundary */
    size_t dlen;
    const srv_body_limits_t *limits;
    srv_image_list_t *out;
    srv_error_t *err;
} parser_t;

/* The delimiter search failed: say so, pointing at bare LF line breaks
 * when the body has the delimiter with LF only. */
static bool no_delimiter(const parser_t *p, const char *which)
{
    if (find(p->b, p->len, p->pos, p->delim + 1, p->dlen - 1) < p->len)
        return srv_error_set(p->err, 400,
                             "multipart body has no %s delimiter with CRLF line breaks (bare LF is "
                             "not accepted)",
                             which);
    return srv_error_set(p->err, 400, "multipart body has no %s delimiter \"--%.*s\"", which,
                         (int)(p->dlen - 4), (const char *)p->delim + 4);
}

/* The headers of one part that matter. */
typedef struct part_headers {
    srv_header_value_t disposition, type;
    bool has_disposition, has_type;
} part_headers_t;

/* One part header line [s, s+n) into *h; 400 on bad syntax. */
static bool header_line(const parser_t *p, size_t part, const char *s, size_t n, part_headers_t *h)
{
    char what[64];
    if (s[0] == ' ' || s[0] == '\t')
        return srv_error_set(p->err, 400, "multipart part %zu: folded header lines are not accepted", part);
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n')
            return srv_error_set(p->err, 400, "multipart part %zu: header line has a control byte 0x%02x",
                                 part, (unsigned char)s[i]);
    const char *colon = memchr(s, ':', n);
    if (!colon || colon == s)
        return srv_error_set(p->err, 400, "multipart part %zu: header line without a name and ':'", part);
    size_t nlen = (size_t)(colon - s);
    const char *v = colon + 1;
    size_t vlen = n - nlen - 1;
    if (nlen == 19 && strncasecmp(s, "content-disposition", 19) == 0) {
        if (h->has_disposition)
            return srv_error_set(p->err, 400, "multipart part %zu: Content-Disposition given twice", part);
        h->has_disposition = true;
        snprintf(what, sizeof what, "part %zu Content-Disposition", part);
        return srv_header_value_parse(what, v, vlen, false, &h->disposition, p->err);
    }
    if (nlen == 12 && strncasecmp(s, "content-type", 12) == 0) {
        if (h->has_type)
            return srv_error_set(p->err, 400, "multipart part %zu: Content-Type given twice", part);
        h->has_type = true;
        snprintf(what, sizeof what, "part %zu Content-Type", part);
        return srv_header_value_parse(what, v, vlen, true, &h->type, p->err);
    }
    if (nlen == 25 && strncasecmp(s, "content-transfer-encoding", 25) == 0) {
        srv_header_value_t cte;
        snprintf(what, sizeof what, "part %zu Content-Transfer-Encoding", part);
        if (!srv_header_value_parse(what, v, vlen, false, &cte, p->err))
            return false;
        if (strcmp(cte.main, "binary") != 0 && strcmp(cte.main, "8bit") != 0 && strcmp(cte.main, "7bit") != 0)
            return srv_error_set(p->err, 400,
                                 "multipart part %zu: Content-Transfer-Encoding %s is not supported "
                                 "(send the image bytes as they are)",
                                 part, cte.main);
    }
    for (size_t i = 0; i < nlen; i++)
        if (s[i] == ' ' || s[i] == '\t')
            return srv_error_set(p->err, 400, "multipart part %zu: white space in a header name", part);
    return true;
}

/* Parses the part starting at p->pos (just after its delimiter line) and
 * leaves p->pos on the next delimiter's first byte past CRLF "--boundary". */
static bool parse_part(parser_t *p, size_t part)
{
    part_headers_t h;
    memset(&h, 0, sizeof h);
    for (int lines = 0;; lines++) {
        size_t eol = find(p->b, p->len, p->pos, (const uint8_t *)"\r\n", 2);
        if (eol == p->len)
            return srv_error_set(p->err, 400, "multipart part %zu: headers not ended by an empty CRLF line",
                                 part);
        if (eol == p->pos) {
            p->pos += 2;
            break;
        }
        if (lines == MAX_PART_HEADERS)
            return srv_error_set(p->err, 400, "multipart part %zu: more than %d header lines", part,
                                 MAX_PART_HEADERS);
        if (!header_line(p, part, (const char *)p->b + p->pos, eol - p->pos, &h))
            return false;
        p->pos = eol + 2;
    }
    if (!h.has_disposition)
        return srv_error_set(p->err, 400, "multipart part %zu has no Content-Disposition header", part);
    if (strcmp(h.disposition.main, "form-data") != 0)
        return srv_error_set(p->err, 400, "multipart part %zu: Content-Disposition is %s, not form-data",
                             part, h.disposition.main);
    const char *field = srv_header_value_param(&h.disposition, "name");
    if (!field)
        return srv_error_set(p->err, 400, "multipart part %zu: Content-Disposition has no name parameter",
                             part);
    size_t start = p->pos;
    size_t end = find(p->b, p->len, start, p->delim, p->dlen);
    if (end == p->len)
        return no_delimiter(p, "closing");
    char what[SRV_HEADER_VALUE_MAX + 32];
    snprintf(what, sizeof what, "multipart part %zu (\"%s\")", part, field);
    if (!srv_image_list_add(p->out, p->limits, p->b + start, end - start, h.has_type ? h.type.main : NULL,
                            what, field, srv_header_value_param(&h.disposition, "filename"), p->err))
        return false;
    p->pos = end + p->dlen;
    return true;
}

bool srv_multipart_parse(const char *boundary, const uint8_t *body, size_t len,
                         const srv_body_limits_t *limits, srv_image_list_t *out, srv_error_t *err)
{
    if (!srv_multipart_check_boundary(boundary, err))
        return false;
    parser_t p = {.b = body, .len = body ? len : 0, .limits = limits, .out = out, .err = err};
    p.dlen = 4 + strlen(boundary);
    memcpy(p.delim, "\r\n--", 4);
    memcpy(p.delim + 4, boundary, p.dlen - 4);
    /* The first delimiter may open the body without a CRLF before it. */
    if (p.len >= p.dlen - 2 && memcmp(p.b, p.delim + 2, p.dlen - 2) == 0) {
        p.pos = p.dlen - 2;
    } else {
        size_t at = find(p.b, p.len, 0, p.delim, p.dlen);
        if (at == p.len)
            return no_delimiter(&p, "opening");
        p.pos = at + p.dlen;
    }
    for (size_t part = 1;; part++) {
        if (p.len - p.pos >= 2 && memcmp(p.b + p.pos, "--", 2) == 0) {
            if (part == 1)
                return srv_error_set(err, 400, "multipart body has no parts");
            return true; /* close delimiter; the epilogue is ignored */
        }
        while (p.pos < p.len && (p.b[p.pos] == ' ' || p.b[p.pos] == '\t'))
            p.pos++;
        if (p.len - p.pos < 2 || memcmp(p.b + p.pos, "\r\n", 2) != 0)
            return srv_error_set(err, 400, "multipart delimiter line before part %zu is not ended by CRLF "
                                 "(bare LF is not accepted)",
                                 part);
        p.pos += 2;
        if (!parse_part(&p, part))
            return false;
    }
}
