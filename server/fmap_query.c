/* Typed query parameters for feature-map requests. */
#include "fmap_query.h"

#include <stdlib.h>
#include <string.h>

enum { SEEN_LAYERS = 1, SEEN_CHANNELS = 2, SEEN_FORMAT = 4, SEEN_ENCODING = 8, SEEN_HYPERCOLUMN = 16 };

void srv_fmap_query_init(srv_fmap_query_t *q)
{
    memset(q, 0, sizeof *q);
    srv_query_init(&q->base);
    q->format = SRV_FMAP_JSON;
}

void srv_fmap_query_free(srv_fmap_query_t *q)
{
    free(q->layers);
    q->layers = NULL;
}

/* A decimal number of digits only, at most SRV_CHANNEL_MAX; advances *s. */
static bool parse_channel(const char **s, int *out)
{
    const char *p = *s;
    long v = 0;
    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v > SRV_CHANNEL_MAX)
            return false;
    }
    *out = (int)v;
    *s = p;
    return true;
}

bool srv_channel_ranges_parse(const char *text, srv_channel_range_t *out, int max, int *n, srv_error_t *err)
{
    *n = 0;
    if (!text || !*text)
        return srv_error_set(err, 400, "channels must be a list such as 0-15,32, got an empty value");
    const char *s = text;
    for (;;) {
        int lo, hi;
        if (!parse_channel(&s, &lo))
            return srv_error_set(err, 400, "channels: expected a channel number (0 to %d) at offset %d of \"%.64s\"",
                                 SRV_CHANNEL_MAX, (int)(s - text), text);
        hi = lo;
        if (*s == '-') {
            s++;
            if (!parse_channel(&s, &hi))
                return srv_error_set(err, 400, "channels: expected a channel number (0 to %d) at offset %d of \"%.64s\"",
                                     SRV_CHANNEL_MAX, (int)(s - text), text);
            if (hi < lo)
                return srv_error_set(err, 400, "channels: range %d-%d runs backwards", lo, hi);
        }
        if (*n >= max)
            return srv_error_set(err, 400, "channels: more than %d items", max);
        out[(*n)++] = (srv_channel_range_t){lo, hi};
        if (*s == '\0')
            return true;
        if (*s != ',')
            return srv_error_set(err, 400, "channels: unexpected '%c' at offset %d of \"%.64s\"", *s,
                                 (int)(s - text), text);
        s++;
    }
}

bool srv_layer_list_split(char *text, const char **names, int max, int *n, srv_error_t *err)
{
    *n = 0;
    char *s = text;
    for (;;) {
        char *comma = strchr(s, ',');
        if (comma)
            *comma = '\0';
        if (!*s)
            return srv_error_set(err, 400, "layers: empty layer name in the list");
        if (*n >= max)
            return srv_error_set(err, 400, "layers: more than %d names", max);
        names[(*n)++] = s;
        if (!comma)
            return true;
        s = comma + 1;
    }
}

/* Marks key bit as seen; false (400) when it was already. */
static bool once(srv_fmap_query_t *q, unsigned bit, const char *key, srv_error_t *err)
{
    if (q->seen & bit)
        return srv_error_set(err, 400, "query parameter %s given twice", key);
    q->seen |= bit;
    return true;
}

static bool set_flag(const char *key, const char *value, bool *out, srv_error_t *err)
{
    if (value && (strcmp(value, "1") == 0 || strcmp(value, "true") == 0))
        *out = true;
    else if (value && (strcmp(value, "0") == 0 || strcmp(value, "false") == 0))
        *out = false;
    else
        return srv_error_set(err, 400, "%s must be 1 or 0, got \"%.64s\"", key, value ? value : "");
    return true;
}

bool srv_fmap_query_set(srv_fmap_query_t *q, const char *key, const char *value, srv_error_t *err)
{
    if (!key)
        key = "";
    if (strcmp(key, "top_k") == 0)
        return srv_query_set(&q->base, key, value, err);
    if (strcmp(key, "layers") == 0) {
        if (!once(q, SEEN_LAYERS, key, err))
            return false;
        if (!value || !*value)
            return srv_error_set(err, 400, "layers must name at least one layer, or be all");
        if (strlen(value) > SRV_FMAP_LAYERS_TEXT_MAX)
            return srv_error_set(err, 400, "layers: the list is over %d bytes", SRV_FMAP_LAYERS_TEXT_MAX);
        q->all_layers = strcmp(value, "all") == 0;
        if (!q->all_layers && !(q->layers = strdup(value)))
            return srv_error_set(err, 500, "out of memory");
        return true;
    }
    if (strcmp(key, "channels") == 0)
        return once(q, SEEN_CHANNELS, key, err) &&
               srv_channel_ranges_parse(value, q->ranges, SRV_CHANNEL_RANGES_MAX, &q->n_ranges, err);
    if (strcmp(key, "format") == 0) {
        if (!once(q, SEEN_FORMAT, key, err))
            return false;
        if (value && strcmp(value, "json") == 0)
            q->format = SRV_FMAP_JSON;
        else if (value && strcmp(value, "png") == 0)
            q->format = SRV_FMAP_PNG;
        else
            return srv_error_set(err, 400, "format must be json or png, got \"%.64s\"", value ? value : "");
        return true;
    }
    if (strcmp(key, "encoding") == 0) {
        if (!once(q, SEEN_ENCODING, key, err))
            return false;
        if (value && strcmp(value, "array") == 0)
            q->base64 = false;
        else if (value && strcmp(value, "base64") == 0)
            q->base64 = true;
        else
            return srv_error_set(err, 400, "encoding must be array or base64, got \"%.64s\"", value ? value : "");
        return true;
    }
    if (strcmp(key, "hypercolumn") == 0)
        return once(q, SEEN_HYPERCOLUMN, key, err) && set_flag(key, value, &q->hypercolumn, err);
    return srv_error_set(err, 400,
                         "unknown query parameter \"%.64s\"; known: layers, channels, format, encoding, "
                         "hypercolumn, top_k", key);
}

bool srv_fmap_query_finish(srv_fmap_query_t *q, int num_classes, srv_error_t *err)
{
    if (!(q->seen & SEEN_LAYERS))
        return srv_error_set(err, 400, "query parameter layers is required (comma-separated names, or all; "
                             "GET /v1/models/{model}/layers lists them)");
    return srv_query_finish(&q->base, num_classes, err);
}
