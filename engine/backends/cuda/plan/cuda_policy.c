/* Algorithm cache, graph capture policy and workspace bound (see cuda_policy.h). */
#include "cuda_policy.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "status.h"

void cnn_cu_conv_key_make(const cnn_cu_plan_t *p, const cnn_graph_t *g, const cnn_cu_step_t *s,
                          cnn_cu_conv_key_t *key)
{
    const cnn_node_t *n = &g->nodes[s->node];
    const cnn_conv_params_t *c = &n->p.conv;
    const cnn_cu_tensor_t *in = s->aux.buf >= 0 ? &s->aux : &p->values[s->in];
    memset(key, 0, sizeof *key); /* keys are compared bytewise */
    key->n = in->n;
    key->c = in->cp;
    key->h = in->h;
    key->w = in->w;
    key->k = p->values[s->node].cp;
    key->r = c->kh;
    key->s = c->kw;
    key->pad_h = s->aux.buf >= 0 ? 0 : c->pad.top;
    key->pad_w = s->aux.buf >= 0 ? 0 : c->pad.left;
    key->stride_h = c->sh;
    key->stride_w = c->sw;
    key->dil_h = c->dh;
    key->dil_w = c->dw;
    key->groups = c->groups;
    key->dtype = (int32_t)p->fmt.dtype;
    key->layout = (int32_t)p->fmt.layout;
    key->math = (int32_t)p->fmt.math;
    key->fused = s->conv_fused;
}

uint64_t cnn_cu_conv_key_hash(const cnn_cu_conv_key_t *key)
{
    const unsigned char *b = (const unsigned char *)key;
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < sizeof *key; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

bool cnn_cu_conv_key_equal(const cnn_cu_conv_key_t *a, const cnn_cu_conv_key_t *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

void cnn_cu_algo_cache_init(cnn_cu_algo_cache_t *c)
{
    memset(c, 0, sizeof *c);
}

void cnn_cu_algo_cache_free(cnn_cu_algo_cache_t *c)
{
    free(c->keys);
    free(c->vals);
    free(c->used);
    memset(c, 0, sizeof *c);
}

/* Slot holding key, or the empty slot where it would go (cap > 0). */
static size_t find_slot(const cnn_cu_algo_cache_t *c, const cnn_cu_conv_key_t *key)
{
    size_t i = (size_t)(cnn_cu_conv_key_hash(key) & (c->cap - 1));
    while (c->used[i] && !cnn_cu_conv_key_equal(&c->keys[i], key))
        i = (i + 1) & (c->cap - 1);
    return i;
}

bool cnn_cu_algo_cache_get(const cnn_cu_algo_cache_t *c, const cnn_cu_conv_key_t *key, cnn_cu_algo_t *out)
{
    if (c->cap == 0)
        return false;
    size_t i = find_slot(c, key);
    if (!c->used[i])
        return false;
    *out = c->vals[i];
    return true;
}

/* Rehashes into a table of `cap` slots (a power of two). */
static cnn_status_t grow(cnn_cu_algo_cache_t *c, size_t cap)
{
    cnn_cu_algo_cache_t n = {.cap = cap};
    n.keys = calloc(cap, sizeof *n.keys);
    n.vals = calloc(cap, sizeof *n.vals);
    n.used = calloc(cap, sizeof *n.used);
    if (!n.keys || !n.vals || !n.used) {
        cnn_cu_algo_cache_free(&n);
        return CNN_E_NOMEM;
    }
    for (size_t i = 0; i < c->cap; i++) {
        if (!c->used[i])
            continue;
        size_t j = find_slot(&n, &c->keys[i]);
        n.keys[j] = c->keys[i];
        n.vals[j] = c->vals[i];
        n.used[j] = true;
        n.count++;
    }
    cnn_cu_algo_cache_free(c);
    *c = n;
    return CNN_OK;
}

cnn_status_t cnn_cu_algo_cache_put(cnn_cu_algo_cache_t *c, const cnn_cu_conv_key_t *key, const cnn_cu_algo_t *val)
{
    if ((c->count + 1) * 2 > c->cap) {
        cnn_status_t st = grow(c, c->cap ? c->cap * 2 : 64);
        if (st != CNN_OK)
            return st;
    }
    size_t i = find_slot(c, key);
    if (!c->used[i]) {
        c->used[i] = true;
        c->keys[i] = *key;
        c->count++;
    }
    c->vals[i] = *val;
    return CNN_OK;
}

cnn_cu_run_mode_t cnn_cu_run_mode(int eager_runs, bool have_graph, bool capture_failed, bool graphs_enabled)
{
    if (!graphs_enabled || capture_failed || eager_runs < 1)
        return CNN_CU_RUN_EAGER;
    return have_graph ? CNN_CU_RUN_REPLAY : CNN_CU_RUN_CAPTURE;
}

bool cnn_cu_env_flag(const char *value, bool def)
{
    if (!value || !*value)
        return def;
    static const char *const off[] = {"0", "off", "false", "no"};
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++)
        if (strcasecmp(value, off[i]) == 0)
            return false;
    return true;
}

size_t cnn_cu_workspace_limit(size_t free_bytes, size_t arena_bytes, const char *env_mb)
{
    size_t limit = (size_t)512 << 20;
    if (env_mb && *env_mb) {
        char *end = NULL;
        unsigned long long mb = strtoull(env_mb, &end, 10);
        if (end && *end == '\0' && env_mb[0] != '-' && mb <= ((size_t)1 << 24))
            limit = (size_t)mb << 20;
    }
    size_t spare = free_bytes > arena_bytes ? (free_bytes - arena_bytes) / 4 : 0;
    return limit < spare ? limit : spare;
}
