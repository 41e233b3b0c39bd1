/* libFuzzer target: /featuremaps query text. The input is split like a
 * query string ("k=v&k=v", no percent-decoding: libmicrohttpd has done that)
 * and fed pair by pair to srv_fmap_query_set, then srv_fmap_query_finish;
 * the whole input is also parsed as a channel range list and a layer list.
 * Accepted results are checked for their invariants. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmap_query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const srv_error_t *err)
{
    if (err->http_status < 400 || err->http_status > 599 || err->message[0] == '\0')
        __builtin_trap();
}

static void check_ranges(const srv_channel_range_t *r, int n)
{
    for (int i = 0; i < n; i++)
        if (r[i].lo < 0 || r[i].lo > r[i].hi || r[i].hi > SRV_CHANNEL_MAX)
            __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    srv_error_t err;

    static srv_channel_range_t ranges[SRV_CHANNEL_RANGES_MAX];
    int n = 0;
    if (srv_channel_ranges_parse(text, ranges, SRV_CHANNEL_RANGES_MAX, &n, &err))
        check_ranges(ranges, n);
    else
        check_error(&err);

    char *copy = strdup(text);
    const char **names = copy ? malloc((strlen(copy) / 2 + 1) * sizeof *names) : NULL;
    if (names) {
        if (srv_layer_list_split(copy, names, (int)(strlen(text) / 2 + 1), &n, &err)) {
            for (int i = 0; i < n; i++)
                if (!names[i][0] || strchr(names[i], ','))
                    __builtin_trap();
        } else {
            check_error(&err);
        }
    }
    free(names);
    free(copy);

    srv_fmap_query_t *q = malloc(sizeof *q);
    if (q) {
        srv_fmap_query_init(q);
        bool ok = true;
        for (char *pair = text, *next; ok && pair; pair = next) {
            next = strchr(pair, '&');
            if (next)
                *next++ = '\0';
            char *eq = strchr(pair, '=');
            if (eq)
                *eq++ = '\0';
            ok = srv_fmap_query_set(q, pair, eq, &err);
        }
        if (ok)
            ok = srv_fmap_query_finish(q, 10, &err);
        if (ok) {
            check_ranges(q->ranges, q->n_ranges);
            if (q->base.top_k < 1 || q->base.top_k > 10 || (!q->all_layers && !q->layers))
                __builtin_trap();
        } else {
            check_error(&err);
        }
        srv_fmap_query_free(q);
        free(q);
    }
    free(text);
    return 0;
}
