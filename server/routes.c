/* URL routing. */
#include "routes.h"

#include <string.h>

typedef struct pattern {
    const char *prefix; /* literal before {m}, or the whole path */
    const char *suffix; /* literal after {m}; NULL: no {m} */
    srv_route_id_t id;
    bool post;
    const char *name;
} pattern_t;

static const pattern_t patterns[] = {
    {"/classify", NULL, SRV_ROUTE_CLASSIFY, true, "classify"},
    {"/v1/models", NULL, SRV_ROUTE_MODELS, false, "models"},
    {"/v1/models/", "", SRV_ROUTE_MODEL, false, "model"},
    {"/v1/models/", "/classify", SRV_ROUTE_CLASSIFY, true, "classify"},
    {"/health/live", NULL, SRV_ROUTE_LIVE, false, "health"},
    {"/health/ready", NULL, SRV_ROUTE_READY, false, "health"},
    {"/v2", NULL, SRV_ROUTE_V2_SERVER, false, "v2_server"},
    {"/v2/health/live", NULL, SRV_ROUTE_V2_LIVE, false, "health"},
    {"/v2/health/ready", NULL, SRV_ROUTE_V2_READY, false, "health"},
    {"/v2/models/", "", SRV_ROUTE_V2_MODEL, false, "v2_model"},
    {"/v2/models/", "/ready", SRV_ROUTE_V2_MODEL_READY, false, "v2_model_ready"},
    {"/v2/models/", "/infer", SRV_ROUTE_V2_INFER, true, "kserve_infer"},
    {"/metrics", NULL, SRV_ROUTE_METRICS, false, "metrics"},
    {"/featuremaps", NULL, SRV_ROUTE_FEATUREMAPS, true, "featuremaps"},
    {"/v1/models/", "/featuremaps", SRV_ROUTE_FEATUREMAPS, true, "featuremaps"},
    {"/v1/models/", "/layers", SRV_ROUTE_LAYERS, false, "layers"},
    {"/", NULL, SRV_ROUTE_DASHBOARD, false, "dashboard"},
    {"/dashboard/", "", SRV_ROUTE_DASHBOARD_FILE, false, "dashboard_file"},
};

static bool match_one(const pattern_t *p, const char *path, srv_route_t *out)
{
    size_t plen = strlen(p->prefix), len = strlen(path);
    if (!p->suffix) {
        if (strcmp(path, p->prefix) != 0)
            return false;
        *out = (srv_route_t){p->id, NULL, 0, p->post, p->name};
        return true;
    }
    size_t slen = strlen(p->suffix);
    if (len <= plen + slen || strncmp(path, p->prefix, plen) != 0 ||
        strcmp(path + len - slen, p->suffix) != 0)
        return false;
    const char *model = path + plen;
    size_t model_len = len - plen - slen;
    if (memchr(model, '/', model_len))
        return false;
    *out = (srv_route_t){p->id, model, model_len, p->post, p->name};
    return true;
}

bool srv_route_match(const char *path, srv_route_t *out)
{
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++)
        if (match_one(&patterns[i], path, out))
            return true;
    *out = (srv_route_t){SRV_ROUTE_NONE, NULL, 0, false, "unknown"};
    return false;
}

const char *srv_route_allow(const srv_route_t *r)
{
    return r->post ? "POST" : "GET, HEAD";
}

const char *srv_route_name(int id)
{
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++)
        if ((int)patterns[i].id == id)
            return patterns[i].name;
    return "unknown";
}
