/* Parser for parameterised header values (Content-Type, Content-Disposition). */
#include "header_value.h"

#include <string.h>

/* tchar of RFC 9110 §5.6.2. */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

typedef struct cursor {
    const char *what;
    const unsigned char *s;
    size_t len, pos;
    srv_error_t *err;
} cursor_t;

static bool bad_char(cursor_t *c, const char *expected)
{
    if (c->pos >= c->len)
        return srv_error_set(c->err, 400, "malformed %s header: %s expected at end", c->what, expected);
    unsigned char ch = c->s[c->pos];
    if (ch == 0)
        return srv_error_set(c->err, 400, "malformed %s header: NUL byte at offset %zu", c->what, c->pos);
    return srv_error_set(c->err, 400, "malformed %s header: %s expected at offset %zu, found 0x%02x",
                         c->what, expected, c->pos, ch);
}

static void skip_ows(cursor_t *c)
{
    while (c->pos < c->len && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t'))
        c->pos++;
}

/* Appends a token, lowercased, to dst (size cap, current length *n). */
static bool read_token(cursor_t *c, char *dst, size_t cap, size_t *n, const char *expected)
{
    size_t start = c->pos;
    while (c->pos < c->len && is_tchar(c->s[c->pos])) {
        if (*n + 1 >= cap)
            return srv_error_set(c->err, 400, "malformed %s header: %s longer than %zu bytes", c->what,
                                 expected, cap - 1);
        dst[(*n)++] = (char)lower(c->s[c->pos++]);
    }
    dst[*n] = '\0';
    return c->pos > start ? true : bad_char(c, expected);
}

/* A parameter value: token (case kept) or quoted-string (unescaped). */
static bool read_value(cursor_t *c, char *dst, const char *name)
{
    size_t n = 0;
    bool quoted = c->pos < c->len && c->s[c->pos] == '"';
    if (!quoted) {
        while (c->pos < c->len && is_tchar(c->s[c->pos])) {
            if (n + 1 >= SRV_HEADER_VALUE_MAX)
                goto too_long;
            dst[n++] = (char)c->s[c->pos++];
        }
        dst[n] = '\0';
        return n > 0 ? true : bad_char(c, "parameter value");
    }
    c->pos++;
    for (;;) {
        if (c->pos >= c->len)
            return srv_error_set(c->err, 400, "malformed %s header: unterminated quoted string", c->what);
        unsigned char ch = c->s[c->pos];
        if (ch == '"')
            break;
        if (ch == '\\') {
            c->pos++;
            if (c->pos >= c->len)
                return srv_error_set(c->err, 400, "malformed %s header: unterminated quoted string",
                                     c->what);
            ch = c->s[c->pos];
        }
        /* qdtext / quoted-pair: HTAB, SP, VCHAR, obs-text; no controls. */
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return bad_char(c, "quoted-string character");
        if (n + 1 >= SRV_HEADER_VALUE_MAX)
            goto too_long;
        dst[n++] = (char)ch;
        c->pos++;
    }
    c->pos++;
    dst[n] = '\0';
    return true;
too_long:
    return srv_error_set(c->err, 400, "malformed %s header: parameter %s longer than %d bytes", c->what,
                         name, SRV_HEADER_VALUE_MAX - 1);
}

bool srv_header_value_parse(const char *what, const char *s, size_t len, bool media_type,
                            srv_header_value_t *out, srv_error_t *err)
{
    cursor_t c = {what, (const unsigned char *)s, s ? len : 0, 0, err};
    memset(out, 0, sizeof *out);
    skip_ows(&c);
    size_t n = 0;
    if (!read_token(&c, out->main, sizeof out->main, &n, media_type ? "media type" : "value"))
        return false;
    if (media_type) {
        if (c.pos >= c.len || c.s[c.pos] != '/')
            return bad_char(&c, "'/'");
        c.pos++;
        out->main[n++] = '/';
        if (!read_token(&c, out->main, sizeof out->main, &n, "media subtype"))
            return false;
    }
    for (;;) {
        skip_ows(&c);
        if (c.pos == c.len)
            return true;
        if (c.s[c.pos] != ';')
            return bad_char(&c, "';'");
        c.pos++;
        skip_ows(&c);
        if (c.pos == c.len || c.s[c.pos] == ';')
            continue; /* empty parameter, allowed by RFC 9110 */
        if (out->nparams == SRV_HEADER_MAX_PARAMS)
            return srv_error_set(err, 400, "malformed %s header: more than %d parameters", what,
                                 SRV_HEADER_MAX_PARAMS);
        srv_header_param_t *p = &out->params[out->nparams];
        size_t pn = 0;
        if (!read_token(&c, p->name, sizeof p->name, &pn, "parameter name"))
            return false;
        if (c.pos >= c.len || c.s[c.pos] != '=')
            return bad_char(&c, "'='");
        c.pos++;
        if (!read_value(&c, p->value, p->name))
            return false;
        if (srv_header_value_param(out, p->name))
            return srv_error_set(err, 400, "malformed %s header: parameter %s given twice", what, p->name);
        out->nparams++;
    }
}

const char *srv_header_value_param(const srv_header_value_t *v, const char *name)
{
    for (int i = 0; i < v->nparams; i++)
        if (strcmp(v->params[i].name, name) == 0)
            return v->params[i].value;
    return NULL;
}
