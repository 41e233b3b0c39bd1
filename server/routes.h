/* The server's URL space: a path becomes a route id plus, for per-model
 * routes, the model name segment. Methods are checked by the caller
 * against the route's `allow`. */
#ifndef SRV_ROUTES_H
#define SRV_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

typedef enum srv_route_id {
    SRV_ROUTE_NONE = 0,       /* unknown path: 404 */
    SRV_ROUTE_CLASSIFY,       /* POST /classify, /v1/models/{m}/classify */
    SRV_ROUTE_MODELS,         /* GET /v1/models */
    SRV_ROUTE_MODEL,          /* GET /v1/models/{m} */
    SRV_ROUTE_LIVE,           /* GET /health/live */
    SRV_ROUTE_READY,          /* GET /health/ready */
    SRV_ROUTE_V2_SERVER,      /* GET /v2 */
    SRV_ROUTE_V2_LIVE,        /* GET /v2/health/live */
    SRV_ROUTE_V2_READY,       /* GET /v2/health/ready */
    SRV_ROUTE_V2_MODEL,       /* GET /v2/models/{m} */
    SRV_ROUTE_V2_MODEL_READY, /* GET /v2/models/{m}/ready */
    SRV_ROUTE_V2_INFER,       /* POST /v2/models/{m}/infer */
    SRV_ROUTE_METRICS,        /* GET /metrics */
    SRV_ROUTE_FEATUREMAPS,    /* POST /featuremaps, /v1/models/{m}/featuremaps */
    SRV_ROUTE_LAYERS,         /* GET /v1/models/{m}/layers */
    SRV_ROUTE_DASHBOARD,      /* GET / (the dashboard page) */
    SRV_ROUTE_DASHBOARD_FILE, /* GET /dashboard/{file} (its scripts and styles) */
} srv_route_id_t;

typedef struct srv_route {
    srv_route_id_t id;
    const char *model;  /* the {m} segment in the path, else NULL (default model); the
                         * file name for DASHBOARD_FILE */
    size_t model_len;
    bool post;          /* POST route (else GET and HEAD) */
    const char *name;   /* short name for logs and metrics */
} srv_route_t;

/* Matches a decoded URL path (no query). A {m} segment is one non-empty
 * path segment. Returns false (id NONE) for unknown paths. */
bool srv_route_match(const char *path, srv_route_t *out);

/* A route id's short name, for metrics and logs ("unknown" for NONE). */
const char *srv_route_name(int id);

/* The Allow header value of a route. */
const char *srv_route_allow(const srv_route_t *r);

#endif
