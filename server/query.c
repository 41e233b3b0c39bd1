/* Typed query parameters for classify requests. */
#include "query.h"

#include <string.h>

#define TOP_K_MAX 1000000

void srv_query_init(srv_query_t *q)
{
    q->top_k = SRV_QUERY_TOP_K_DEFAULT;
    q->top_k_set = false;
}

/* A positive decimal integer up to max, digits only. */
static bool parse_count(const char *s, int max, int *out)
{
    long v = 0;
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (*s - '0');
        if (v > max)
            return false;
    }
    *out = (int)v;
    return v >= 1;
}

bool srv_query_set(srv_query_t *q, const char *key, const char *value, srv_error_t *err)
{
    if (!key || strcmp(key, "top_k") != 0)
        return srv_error_set(err, 400, "unknown query parameter \"%.64s\"; known: top_k", key ? key : "");
    if (q->top_k_set)
        return srv_error_set(err, 400, "query parameter top_k given twice");
    int k;
    if (!parse_count(value, TOP_K_MAX, &k))
        return srv_error_set(err, 400, "top_k must be a positive integer, got \"%.64s\"", value ? value : "");
    q->top_k = k;
    q->top_k_set = true;
    return true;
}

bool srv_query_finish(srv_query_t *q, int num_classes, srv_error_t *err)
{
    if (q->top_k <= num_classes)
        return true;
    if (q->top_k_set)
        return srv_error_set(err, 400, "top_k must be between 1 and %d (the model's classes), got %d",
                             num_classes, q->top_k);
    q->top_k = num_classes;
    return true;
}
