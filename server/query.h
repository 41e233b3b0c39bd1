/* The query parameters of POST /classify and /v1/models/{m}/classify, fed
 * one decoded key/value pair at a time as libmicrohttpd's
 * MHD_get_connection_values(..., MHD_GET_ARGUMENT_KIND, ...) yields them.
 * Known keys: top_k. Any other key, a repeated key or a bad value → 400. */
#ifndef SRV_QUERY_H
#define SRV_QUERY_H

#include <stdbool.h>

#include "http_error.h"

#define SRV_QUERY_TOP_K_DEFAULT 5

typedef struct srv_query {
    int top_k;      /* predictions per image */
    bool top_k_set; /* given by the client (else the default) */
} srv_query_t;

/* Defaults: top_k = SRV_QUERY_TOP_K_DEFAULT, nothing set. */
void srv_query_init(srv_query_t *q);

/* Applies one pair. value is NULL for a key without '=' (MHD passes NULL).
 * top_k: decimal digits only, 1 to 1000000 here; the model's bound is
 * checked by srv_query_finish. */
bool srv_query_set(srv_query_t *q, const char *key, const char *value, srv_error_t *err);

/* Checks the parameters against the model once all pairs are in: a given
 * top_k above num_classes → 400; the default is lowered to num_classes
 * for models with fewer classes. */
bool srv_query_finish(srv_query_t *q, int num_classes, srv_error_t *err);

#endif
