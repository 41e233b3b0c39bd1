/* Byte-driven generator of random valid graph-form models (see graph_gen.h).
 *
 * A model is grown block by block from the input: single ops, conv blocks
 * (conv [+ batch_norm] [+ activation] [+ dropout], the load-time fusion
 * patterns), poolings, dense blocks, flatten, inception-like concats of 2-3
 * branches that keep H and W, and residual blocks (a branch added to an
 * identity or projection shortcut, optionally followed by an activation).
 * Blocks nest inside branches up to a small depth. Every choice keeps the
 * model valid: kernels fit the padded input, groups divide both channel
 * counts, pool padding stays under the kernel, concat inputs share H and W,
 * add inputs share the whole shape.
 */
#include "graph_gen.h"

#include "graph_gen_ops.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 2 /* nesting of concat/residual blocks */

static const char *const op_names[GS_OP_COUNT] = {
    [GS_INPUT] = "input", [GS_CONV2D] = "conv2d", [GS_DENSE] = "dense", [GS_MAX_POOL] = "max_pool",
    [GS_AVG_POOL] = "avg_pool", [GS_GLOBAL_AVG_POOL] = "global_avg_pool", [GS_RELU] = "relu",
    [GS_LEAKY_RELU] = "leaky_relu", [GS_PRELU] = "prelu", [GS_ELU] = "elu", [GS_SIGMOID] = "sigmoid",
    [GS_TANH] = "tanh", [GS_SOFTMAX] = "softmax", [GS_LRN] = "lrn", [GS_BATCH_NORM] = "batch_norm",
    [GS_DROPOUT] = "dropout", [GS_CONCAT] = "concat", [GS_ADD] = "add", [GS_FLATTEN] = "flatten",
    [GS_ZERO_PAD] = "zero_pad", [GS_MAXOUT] = "maxout", [GS_CLIP] = "clip",
};

const char *gs_op_name(gs_op_t op)
{
    return (op >= 0 && op < GS_OP_COUNT) ? op_names[op] : "unknown";
}

void gs_spec_free(gs_spec_t *s)
{
    for (int i = 0; i < s->num_nodes; i++)
        for (int k = 0; k < GS_W_SLOTS; k++) {
            free(s->nodes[i].wt[k].data);
            s->nodes[i].wt[k].data = NULL;
        }
    s->num_nodes = 0;
}

/* ---------- decisions and random numbers ---------- */

uint8_t gg_byte(gg_reader_t *r)
{
    return r->pos < r->size ? r->data[r->pos++] : 0;
}

int gg_int(gg_reader_t *r, int lo, int hi)
{
    if (hi <= lo)
        return lo;
    unsigned range = (unsigned)(hi - lo) + 1u;
    unsigned v = gg_byte(r);
    if (range > 256)
        v = v << 8 | gg_byte(r);
    return lo + (int)(v % range);
}

bool gg_chance(gg_reader_t *r, int percent)
{
    return (int)(gg_byte(r) % 100) >= 100 - percent;
}

uint64_t gg_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float gg_uniform(uint64_t *state, float lo, float hi)
{
    double u = (double)(gg_rand(state) >> 11) / 9007199254740992.0; /* [0, 1) */
    return (float)(lo + (hi - lo) * u);
}

static int min_int(int a, int b)
{
    return a < b ? a : b;
}

/* ---------- blocks ---------- */

static int gen_block(gen_t *g, int x, int flags, int cap, int depth);

/* An optional dropout after x (the rewrites make it an identity). */
static int maybe_dropout(gen_t *g, int x, int percent)
{
    if (!gg_chance(g->r, percent))
        return x;
    int id = gg_same_shape_node(g, GS_DROPOUT, x);
    return id < 0 ? x : id;
}

/* x [+ batch_norm (bn_percent % of the time)] [+ activation (act_percent %)]
 * [+ dropout]: what the rewrites fuse into a conv or dense x. */
static int fusable_tail(gen_t *g, int x, int bn_percent, int act_percent)
{
    if (gg_chance(g->r, bn_percent))
        x = gg_batch_norm(g, x);
    if (gg_chance(g->r, act_percent))
        x = gg_activation(g, x);
    return maybe_dropout(g, x, 10);
}

/* conv [+ batch_norm] [+ activation] [+ dropout]: what the rewrites fuse. */
static int gen_conv_block(gen_t *g, int x, int flags, int cap)
{
    const gs_node_t in = g->s->nodes[x];
    if ((flags & KEEP_C) && in.c > GG_MAX_CHANNELS)
        return gg_unary(g, x, flags);
    int oc = (flags & KEEP_C) ? in.c : gg_int(g->r, 1, min_int(GG_MAX_CHANNELS, cap));
    return fusable_tail(g, gg_conv(g, x, oc, flags & KEEP_HW), 40, 60);
}

/* dense [+ batch_norm] [+ activation] [+ dropout]; the caller checks that a dense may go here. */
static int gen_dense_block(gen_t *g, int x, int flags, int cap)
{
    const gs_node_t in = g->s->nodes[x];
    int out;
    if (flags & KEEP_C) {
        if (in.c > MAX_SQUARE_DENSE)
            return gg_unary(g, x, flags);
        out = in.c;
    } else {
        out = gg_int(g->r, 1, min_int(GG_MAX_CHANNELS, cap));
    }
    return fusable_tail(g, gg_dense(g, x, out), 30, 50);
}

/* 2-3 branches from x that keep H and W (a conv or pooling first, or x
 * itself), at most `cap` channels together, concatenated [+ activation]. */
static int gen_concat_block(gen_t *g, int x, int cap, int depth)
{
    gg_reader_t *r = g->r;
    int k = gg_int(r, 2, 3);
    int br[GS_MAX_INPUTS], n = 0, used = 0;
    int total = min_int(cap, GG_MAX_CHANNELS);
    const gs_node_t in = g->s->nodes[x];
    bool one = in.h == 1 && in.w == 1;
    for (int i = 0; i < k; i++) {
        int avail = total - used - (k - 1 - i);
        if (avail < 1)
            break;
        int kind = gg_int(r, 0, 3), b;
        if (kind == 3 && in.c <= avail) {
            b = x;
        } else if (kind == 2 && in.c <= avail && !one) {
            b = gg_pool(g, x, gg_chance(r, 50) ? GS_AVG_POOL : GS_MAX_POOL, true);
        } else if (kind == 1 && one) {
            b = gg_dense(g, x, gg_int(r, 1, avail));
        } else {
            b = gg_conv(g, x, gg_int(r, 1, avail), true);
            if (gg_chance(r, 50))
                b = gg_activation(g, b);
        }
        int more = g->s->nodes[b].c <= avail ? gg_int(r, 0, 2) : 0;
        for (int j = 0; j < more; j++)
            b = gen_block(g, b, KEEP_HW, avail, depth + 1);
        br[n++] = b;
        used += g->s->nodes[b].c;
    }
    if (n == 0)
        return x;
    if (n == 2 && gg_chance(r, 5))
        br[1] = br[0], used = 2 * g->s->nodes[br[0]].c; /* the same tensor twice */
    int id = gg_node_new(g, GS_CONCAT, br, n, used, in.h, in.w);
    if (id < 0)
        return br[n - 1];
    return gg_chance(r, 30) ? gg_activation(g, id) : id;
}

static bool same_shape(const gs_node_t *a, const gs_node_t *b)
{
    return a->c == b->c && a->h == b->h && a->w == b->w;
}

/* A residual block: a branch added to an identity shortcut, or to a 1×1
 * projection (same size, or stride 2 with a 3×3/2 branch), in either order,
 * [+ activation]. */
static int gen_residual_block(gen_t *g, int x, int flags, int cap, int depth)
{
    gg_reader_t *r = g->r;
    const gs_node_t in = g->s->nodes[x];
    int kind = gg_int(r, 0, 2); /* 0 identity, 1 projection, 2 strided projection */
    if ((flags & KEEP_C) || in.c > GG_MAX_CHANNELS)
        kind = 0;
    if (kind == 2 && (flags & KEEP_HW))
        kind = 1;
    int main_branch = x, shortcut = x;
    if (kind > 0) {
        int oc = gg_int(r, 1, min_int(GG_MAX_CHANNELS, cap));
        if (kind == 1) {
            main_branch = gg_conv(g, x, oc, true);
        } else {
            conv_args_t a = {.out = oc, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .dh = 1, .dw = 1, .groups = 1,
                             .pad = {1, 1, 1, 1}, .bias = !gg_chance(r, 50)};
            main_branch = gg_conv_node(g, x, &a);
        }
        if (gg_chance(r, 50))
            main_branch = gg_batch_norm(g, main_branch);
        if (gg_chance(r, 70))
            main_branch = gg_activation(g, main_branch);
    }
    int steps = gg_int(r, kind > 0 ? 0 : 1, 2);
    for (int i = 0; i < steps; i++)
        main_branch = gen_block(g, main_branch, KEEP_HW | KEEP_C, cap, depth + 1);
    if (kind == 1) {
        shortcut = gg_conv(g, x, g->s->nodes[main_branch].c, true);
    } else if (kind == 2) {
        conv_args_t a = {.out = g->s->nodes[main_branch].c, .kh = 1, .kw = 1, .sh = 2, .sw = 2, .dh = 1, .dw = 1,
                         .groups = 1, .bias = !gg_chance(r, 50)};
        shortcut = gg_conv_node(g, x, &a);
    }
    if (kind > 0 && gg_chance(r, 50))
        shortcut = gg_batch_norm(g, shortcut);
    if (!same_shape(&g->s->nodes[main_branch], &g->s->nodes[shortcut]))
        return main_branch; /* the spec filled up half way */
    int in2[2] = {main_branch, shortcut};
    if (gg_chance(r, 35))
        in2[0] = shortcut, in2[1] = main_branch;
    const gs_node_t *m = &g->s->nodes[main_branch];
    int id = gg_node_new(g, GS_ADD, in2, 2, m->c, m->h, m->w);
    if (id < 0)
        return main_branch;
    return gg_chance(r, 60) ? gg_activation(g, id) : id;
}

/* One block from x whose output keeps what `flags` asks, with at most `cap`
 * channels (x has at most cap); nests concat/residual blocks to MAX_DEPTH. */
static int gen_block(gen_t *g, int x, int flags, int cap, int depth)
{
    gg_reader_t *r = g->r;
    const gs_node_t in = g->s->nodes[x];
    bool one = in.h == 1 && in.w == 1;
    int kind = gg_int(r, 0, 8);
    switch (kind) {
    case 0:
    default:
        return gg_unary(g, x, flags);
    case 1:
    case 2:
        return gen_conv_block(g, x, flags, cap);
    case 3:
        if (flags & KEEP_HW)
            return one ? gg_unary(g, x, flags) : gg_pool(g, x, gg_chance(r, 50) ? GS_AVG_POOL : GS_MAX_POOL, true);
        if (gg_chance(r, 15)) {
            int id = gg_node_new(g, GS_GLOBAL_AVG_POOL, &x, 1, in.c, 1, 1);
            return id < 0 ? x : id;
        }
        return gg_pool(g, x, gg_chance(r, 50) ? GS_AVG_POOL : GS_MAX_POOL, false);
    case 4:
        if (depth < MAX_DEPTH && !(flags & KEEP_C))
            return gen_concat_block(g, x, cap, depth);
        return gg_unary(g, x, flags);
    case 5:
        if (depth < MAX_DEPTH)
            return gen_residual_block(g, x, flags, cap, depth);
        return gen_conv_block(g, x, flags, cap);
    case 6:
        if (!(flags & KEEP_HW) || one)
            return gen_dense_block(g, x, flags, cap);
        return gen_conv_block(g, x, flags, cap);
    case 7:
        if (one || (flags == 0 && gs_numel(&in) <= (size_t)cap)) {
            int id = gg_node_new(g, GS_FLATTEN, &x, 1, (int)gs_numel(&in), 1, 1);
            return id < 0 ? x : id;
        }
        return gg_unary(g, x, flags);
    case 8:
        return gen_conv_block(g, x, flags, cap);
    }
}

int gg_generate(gg_reader_t *r, gs_spec_t *spec)
{
    memset(spec, 0, sizeof *spec);
    uint64_t seed = gg_byte(r);
    seed |= (uint64_t)gg_byte(r) << 8;
    gen_t g = {.r = r, .s = spec, .rng = seed * 0x2545F4914F6CDD1Dull + 1};
    spec->seed = seed;
    g.name_style = gg_int(r, 0, 4);
    g.target = gg_int(r, 2, GG_TARGET_NODES);
    spec->input_rank = gg_chance(r, 15) ? gg_int(r, 1, 2) : 3;
    int c = gg_int(r, 1, 4), h = gg_int(r, 1, GG_MAX_SIDE), w = gg_int(r, 1, GG_MAX_SIDE);
    if (spec->input_rank == 2)
        w = 1;
    if (spec->input_rank == 1)
        c = gg_int(r, 1, 64), h = w = 1;
    int x = gg_node_new(&g, GS_INPUT, NULL, 0, c, h, w);
    const int free_cap = 1 << 20;
    for (int guard = 0; spec->num_nodes < g.target && spec->num_nodes < GS_MAX_NODES && guard < 200; guard++)
        x = gen_block(&g, x, 0, free_cap, 0);
    if (spec->num_nodes + 4 <= GS_MAX_NODES && gg_chance(r, 40)) {
        const gs_node_t last = spec->nodes[x];
        if (last.h > 1 || last.w > 1) {
            int id = gg_chance(r, 50) ? gg_node_new(&g, GS_GLOBAL_AVG_POOL, &x, 1, last.c, 1, 1)
                                      : gg_node_new(&g, GS_FLATTEN, &x, 1, (int)gs_numel(&last), 1, 1);
            x = id < 0 ? x : id;
        }
        x = gg_dense(&g, x, gg_int(r, 1, 10));
        if (gg_chance(r, 50)) {
            int id = gg_same_shape_node(&g, GS_SOFTMAX, x);
            x = id < 0 ? x : id;
        }
    }
    spec->output = spec->num_nodes - 1;
    if (spec->num_nodes > 2 && gg_chance(r, 5))
        spec->output = gg_int(r, 1, spec->num_nodes - 1); /* later nodes are dead */
    if (g.oom) {
        gs_spec_free(spec);
        return -1;
    }
    return 0;
}
