/* One graph fuzzer case: generate, write, load, run, compare (see graph_check.h).
 *
 * Tolerances (per tensor: an output, or one fetched layer of some images):
 * - fp32: max|got - ref| <= 1e-4 · max(max|ref|, 0.1). The reference
 *   accumulates in double; the engine's fp32 error is that of a few roundings
 *   of values the size of the network's activations, which are near 1 here
 *   (inputs in [-1, 1], weights that keep the size). A tensor whose values
 *   are all small (a conv whose terms of size ~1 cancel to ~0.01, a softmax
 *   over many channels, a sigmoid far out) still carries the rounding of
 *   those terms, so it is judged against the floor 0.1 (an absolute error of
 *   1e-5) instead of its own size. Measured over 4,800 random models: the
 *   largest error is 2.2e-6 of max(max|ref|, 0.1); it would be 1.2e-5 of
 *   max(max|ref|, 0.01) (a conv+relu whose values cancel to 0.016).
 * - bf16: every value finite, and max|got - ref| <= 0.25 · max(max|ref|, 1):
 *   bf16 keeps 8 bits of mantissa, so each layer adds about 0.4 % of its
 *   inputs' size (activations near 1, hence the floor); this loose bound only
 *   catches results that are wrong rather than imprecise (a wrong layout, a
 *   missing op, garbage). Measured: at most 0.015.
 */
#include "graph_check.h"

#include "graph_gen.h"
#include "graph_ref.h"
#include "graph_write.h"

#include "cnn/cnn.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BATCH 7
#define MAX_FETCHES 4
#ifndef FP32_REL /* overridable for experiments (-DFP32_REL=...) */
#define FP32_REL 1e-4
#endif
#define FP32_FLOOR 1e-1
#ifndef BF16_REL
#define BF16_REL 0.25
#endif
#define BF16_FLOOR 1.0

/* ---------- scratch directory ---------- */

static char *scratch_dir;

static void scratch_remove(void)
{
    if (!scratch_dir)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/model.json", scratch_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/weights.safetensors", scratch_dir);
    unlink(path);
    rmdir(scratch_dir);
    free(scratch_dir);
    scratch_dir = NULL;
}

/* The process's model directory, made on first use (aborts when it cannot be). */
static const char *scratch_get(void)
{
    if (scratch_dir)
        return scratch_dir;
    const char *base = getenv("TMPDIR");
    if (access("/dev/shm", W_OK) == 0)
        base = "/dev/shm";
    else if (!base || !*base)
        base = "/tmp";
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/cnn-fuzz-graph.XXXXXX", base);
    if (!mkdtemp(tmpl) || !(scratch_dir = strdup(tmpl))) {
        perror("fuzz_graph: cannot make a scratch directory");
        abort();
    }
    atexit(scratch_remove);
    return scratch_dir;
}

/* ---------- reporting ---------- */

typedef struct gc_case {
    const gs_spec_t *spec;
    const char *json;
    const char *precision; /* "" before sessions */
    int batch;             /* 0 before runs */
} gc_case_t;

static void finding(const gc_case_t *c, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

static void finding(const gc_case_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "\n==== graph fuzz FINDING: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nprecision %s, batch %d (max batch %d); model files in %s\nmodel.json:\n%s\n",
            c->precision[0] ? c->precision : "-", c->batch, MAX_BATCH, scratch_dir ? scratch_dir : "-",
            c->json ? c->json : "(not written)");
    abort();
}

/* An engine failure: a finding unless it ran out of memory (returns then). */
static void check_status(const gc_case_t *c, cnn_status_t st, const cnn_error_t *err, const char *what)
{
    if (st != CNN_OK && st != CNN_E_NOMEM)
        finding(c, "%s failed on a valid model: %s (%s)", what, err->message, cnn_status_strerror(st));
}

/* ---------- comparison ---------- */

typedef struct diff {
    double max_diff, max_ref;
    size_t worst;       /* index of max_diff */
    size_t nonfinite;   /* index of the first non-finite value got, or SIZE_MAX */
    bool ref_finite;
} diff_t;

static diff_t compare(const float *got, const float *want, size_t n)
{
    diff_t d = {.nonfinite = SIZE_MAX, .ref_finite = true};
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(want[i]))
            d.ref_finite = false;
        if (!isfinite(got[i]) && d.nonfinite == SIZE_MAX)
            d.nonfinite = i;
        double e = fabs((double)got[i] - want[i]);
        if (e > d.max_diff || (isnan(e) && !isnan(d.max_diff))) {
            d.max_diff = e;
            d.worst = i;
        }
        if (fabs((double)want[i]) > d.max_ref)
            d.max_ref = fabs((double)want[i]);
    }
    return d;
}

/* The largest error seen relative to its tensor's scale, per precision (for gc_stats_t). */
static double worst_seen[2];

/* Checks n values against the reference (with want NULL: only that they are
 * finite); on a failure returns false with the reason in msg. */
static bool tensor_ok(bool bf16, const float *got, const float *want, size_t n, char *msg, size_t msg_size)
{
    for (size_t i = 0; !want && i < n; i++)
        if (!isfinite(got[i])) {
            snprintf(msg, msg_size, "value %zu is %g (not finite)", i, got[i]);
            return false;
        }
    if (!want)
        return true;
    diff_t d = compare(got, want, n);
    if (!d.ref_finite)
        return true; /* the reference overflowed: nothing to hold the engine to */
    if (d.nonfinite != SIZE_MAX) {
        snprintf(msg, msg_size, "value %zu is %g (not finite; reference %g)", d.nonfinite, got[d.nonfinite],
                 want[d.nonfinite]);
        return false;
    }
    double scale = bf16 ? fmax(d.max_ref, BF16_FLOOR) : fmax(d.max_ref, FP32_FLOOR);
    double tol = (bf16 ? BF16_REL : FP32_REL) * scale;
    if (d.max_diff / scale > worst_seen[bf16])
        worst_seen[bf16] = d.max_diff / scale;
    if (d.max_diff > tol) {
        snprintf(msg, msg_size, "max |diff| %.9g > tolerance %.9g (max |ref| %.9g) at value %zu of %zu: got %.9g, "
                 "want %.9g", d.max_diff, tol, d.max_ref, d.worst, n, got[d.worst], want[d.worst]);
        return false;
    }
    return true;
}

/* ---------- layers → spec nodes ---------- */

static gs_op_t token_op(const char *tok, size_t len)
{
    if (len == 2 && strncmp(tok, "bn", 2) == 0)
        return GS_BATCH_NORM;
    for (int op = 0; op < GS_OP_COUNT; op++) {
        const char *name = gs_op_name((gs_op_t)op);
        if (strlen(name) == len && strncmp(tok, name, len) == 0)
            return (gs_op_t)op;
    }
    return GS_OP_COUNT;
}

/* Whether spec node v carries the value of node `tail`: v is tail, or a
 * dropout (a fused-away identity) of it. */
static bool aliases(const gs_spec_t *s, const bool *is_layer, int v, int tail)
{
    while (v != tail && s->nodes[v].op == GS_DROPOUT && !is_layer[v])
        v = s->nodes[v].inputs[0];
    return v == tail;
}

/* The spec node whose value layer `node` returns, following its fusion list
 * `fused` ("bn+add+relu"): each entry is the one fused-away node (not a
 * layer) of that op reading the previous one's value. Returns -1 when an
 * entry matches several nodes (ambiguous); a finding when it matches none. */
static int layer_value(const gc_case_t *c, const bool *is_layer, int node, const char *fused)
{
    const gs_spec_t *s = c->spec;
    int tail = node;
    for (const char *p = fused; *p;) {
        size_t len = strcspn(p, "+");
        gs_op_t op = token_op(p, len);
        int found = -1, count = 0;
        for (int j = tail + 1; j < s->num_nodes; j++) {
            const gs_node_t *n = &s->nodes[j];
            if (is_layer[j] || n->op != op)
                continue;
            bool reads = false;
            for (int k = 0; k < n->num_inputs; k++)
                reads = reads || aliases(s, is_layer, n->inputs[k], tail);
            if (reads)
                found = j, count++;
        }
        if (count == 0)
            finding(c, "layer '%s' lists '%s' as fused, but no fused-away '%.*s' reads its value", s->nodes[node].name,
                    fused, (int)len, p);
        if (count > 1)
            return -1;
        tail = found;
        p += len + (p[len] == '+');
    }
    return tail;
}

/* Maps every layer of m to the spec node whose value it returns (-1: ambiguous). */
static void map_layers(const gc_case_t *c, const cnn_model_t *m, int *value_of)
{
    const gs_spec_t *s = c->spec;
    size_t nl = cnn_model_layer_count(m);
    bool is_layer[GS_MAX_NODES] = {false};
    int node_of[GS_MAX_NODES];
    for (size_t i = 0; i < nl; i++) {
        cnn_layer_info_t info;
        if (cnn_model_get_layer(m, i, &info) != CNN_OK)
            finding(c, "cnn_model_get_layer(%zu) failed with %zu layers", i, nl);
        int id = -1;
        for (int j = 0; j < s->num_nodes && id < 0; j++)
            if (strcmp(s->nodes[j].name, info.name) == 0)
                id = j;
        if (id < 0 || is_layer[id])
            finding(c, "layer %zu '%s' is no node of the model, or listed twice", i, info.name);
        is_layer[id] = true;
        node_of[i] = id;
    }
    for (int j = 1; j < s->num_nodes; j++) { /* cnn_model_find_layer knows the layers, and only them */
        size_t index = SIZE_MAX;
        cnn_error_t err = {0};
        cnn_status_t st = cnn_model_find_layer(m, s->nodes[j].name, &index, &err);
        if (is_layer[j] ? st != CNN_OK || index >= nl || node_of[index] != j : st != CNN_E_NOT_FOUND)
            finding(c, "cnn_model_find_layer('%s') gave %s, index %zu (%s), for a node that is %sa layer",
                    s->nodes[j].name, cnn_status_strerror(st), index, err.message, is_layer[j] ? "" : "not ");
    }
    for (size_t i = 0; i < nl; i++) {
        cnn_layer_info_t info;
        cnn_model_get_layer(m, i, &info);
        int v = layer_value(c, is_layer, node_of[i], info.fused);
        value_of[i] = v;
        size_t numel = (size_t)info.c * info.h * info.w;
        if (v >= 0 && numel != gs_numel(&s->nodes[v]))
            finding(c, "layer '%s' has %d×%d×%d values, its node '%s' %d×%d×%d", info.name, info.c, info.h, info.w,
                    s->nodes[v].name, s->nodes[v].c, s->nodes[v].h, s->nodes[v].w);
    }
}

/* ---------- runs ---------- */

static float *nan_array(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; p && i < n; i++)
        p[i] = NAN;
    return p;
}

/* "'name' (op+fused)" of layer i, into buf. */
static const char *layer_label(const cnn_model_t *m, size_t i, char *buf, size_t size)
{
    cnn_layer_info_t info;
    cnn_model_get_layer(m, i, &info);
    snprintf(buf, size, "layer '%s' (%s%s%s)", info.name, info.op, info.fused[0] ? "+" : "", info.fused);
    return buf;
}

/* After a wrong output: runs the batch again fetching every layer of every
 * image and writes to msg the first layer, in graph order, that is off the
 * reference (where the error starts), or that none is. */
static void diagnose(const gc_case_t *c, cnn_session_t *sess, const cnn_model_t *m, const int *value_of,
                     const float *input, float *const *ref, bool bf16, char *msg, size_t msg_size)
{
    const gs_spec_t *s = c->spec;
    size_t nl = cnn_model_layer_count(m), out_n = gs_numel(&s->nodes[s->output]);
    cnn_fetch_t *f = calloc(nl ? nl : 1, sizeof *f);
    float *out = nan_array((size_t)c->batch * out_n);
    snprintf(msg, msg_size, "no memory to diagnose");
    for (size_t i = 0; f && i < nl; i++) {
        cnn_layer_info_t info;
        cnn_model_get_layer(m, i, &info);
        f[i] = (cnn_fetch_t){.layer = i, .image = 0, .count = c->batch,
                             .data = nan_array((size_t)c->batch * info.c * info.h * info.w)};
        if (!f[i].data)
            goto done;
    }
    cnn_error_t err = {0};
    if (!f || !out || cnn_session_run_fetch(sess, input, c->batch, out, f, nl, &err) != CNN_OK) {
        snprintf(msg, msg_size, "the diagnostic run failed: %s", err.message);
        goto done;
    }
    snprintf(msg, msg_size, "every layer matches the reference");
    for (size_t i = 0; i < nl; i++) {
        cnn_layer_info_t info;
        cnn_model_get_layer(m, i, &info);
        int v = value_of[i];
        char why[400], label[200];
        size_t n = (size_t)c->batch * info.c * info.h * info.w;
        if (getenv("GRAPH_FUZZ_VERBOSE") && v >= 0) { /* every layer, and the values off (triage) */
            diff_t d = compare(f[i].data, ref[v], n);
            fprintf(stderr, "%s: max |diff| %g, max |ref| %g\n", layer_label(m, i, label, sizeof label), d.max_diff,
                    d.max_ref);
            for (size_t k = 0; k < n; k++)
                if (fabs((double)f[i].data[k] - ref[v][k]) > FP32_REL * fmax(d.max_ref, FP32_FLOOR))
                    fprintf(stderr, "  [%zu] got %.9g want %.9g\n", k, f[i].data[k], ref[v][k]);
        }
        if (!tensor_ok(bf16, f[i].data, v >= 0 ? ref[v] : NULL, n, why, sizeof why)) {
            snprintf(msg, msg_size, "the first layer off the reference is %s (node '%s'): %s",
                     layer_label(m, i, label, sizeof label), v >= 0 ? s->nodes[v].name : "?", why);
            if (!getenv("GRAPH_FUZZ_VERBOSE"))
                break;
        }
    }
done:
    for (size_t i = 0; f && i < nl; i++)
        free(f[i].data);
    free(f);
    free(out);
}

/* One run at `batch` with up to MAX_FETCHES random fetches, checked. */
static void run_batch(gc_case_t *c, cnn_session_t *sess, const cnn_model_t *m, const int *value_of,
                      const float *input, float *const *ref, bool bf16, uint64_t *rng, gc_stats_t *stats)
{
    const gs_spec_t *s = c->spec;
    size_t out_n = gs_numel(&s->nodes[s->output]), nl = cnn_model_layer_count(m);
    int batch = c->batch;
    cnn_fetch_t f[MAX_FETCHES];
    size_t fn[MAX_FETCHES];
    int nf = nl ? 1 + (int)(gg_rand(rng) % MAX_FETCHES) : 0;
    float *out = nan_array((size_t)batch * out_n), *out2 = nan_array((size_t)batch * out_n);
    bool ok = out && out2;
    for (int i = 0; i < nf; i++) {
        cnn_layer_info_t info;
        /* A layer by the name of a random node (a fused-away one names none: then by index). */
        const char *name = s->nodes[gg_rand(rng) % (uint64_t)s->num_nodes].name;
        if (cnn_model_find_layer(m, name, &f[i].layer, NULL) != CNN_OK)
            f[i].layer = (size_t)(gg_rand(rng) % nl);
        cnn_model_get_layer(m, f[i].layer, &info);
        f[i].image = (int)(gg_rand(rng) % (uint64_t)batch);
        f[i].count = 1 + (int)(gg_rand(rng) % (uint64_t)(batch - f[i].image));
        fn[i] = (size_t)info.c * info.h * info.w;
        f[i].data = nan_array((size_t)f[i].count * fn[i]);
        ok = ok && f[i].data;
    }
    cnn_error_t err = {0};
    cnn_status_t st = ok ? cnn_session_run_fetch(sess, input, batch, out, f, (size_t)nf, &err) : CNN_E_NOMEM;
    check_status(c, st, &err, "cnn_session_run_fetch");
    if (st == CNN_OK) {
        char why[400], where[1024], label[200];
        stats->runs++;
        stats->bf16_runs += bf16;
        if (!tensor_ok(bf16, out, ref[s->output], (size_t)batch * out_n, why, sizeof why)) {
            diagnose(c, sess, m, value_of, input, ref, bf16, where, sizeof where);
            finding(c, "output (node '%s'): %s\n%s", s->nodes[s->output].name, why, where);
        }
        for (int i = 0; i < nf; i++) {
            int v = value_of[f[i].layer];
            const float *want = v >= 0 ? ref[v] + (size_t)f[i].image * fn[i] : NULL;
            if (!tensor_ok(bf16, f[i].data, want, (size_t)f[i].count * fn[i], why, sizeof why)) {
                diagnose(c, sess, m, value_of, input, ref, bf16, where, sizeof where);
                finding(c, "fetched %s images %d..%d (node '%s'): %s\n%s", layer_label(m, f[i].layer, label,
                        sizeof label), f[i].image, f[i].image + f[i].count - 1, v >= 0 ? s->nodes[v].name : "?",
                        why, where);
            }
            stats->fetches++;
            stats->fetches_checked += v >= 0;
        }
        /* A plain run gives the same output, bit for bit: fetching changes nothing. */
        st = cnn_session_run(sess, input, batch, out2, &err);
        check_status(c, st, &err, "cnn_session_run");
        if (st == CNN_OK && memcmp(out, out2, (size_t)batch * out_n * sizeof *out) != 0)
            finding(c, "cnn_session_run's output differs from cnn_session_run_fetch's (%d fetches)", nf);
    }
    for (int i = 0; i < nf; i++)
        free(f[i].data);
    free(out);
    free(out2);
}

/* The runs of one precision: a session at max batch 7, batches 1, 2, 7. */
static void run_precision(gc_case_t *c, cnn_model_t *m, const int *value_of, const float *input, float *const *ref,
                          cnn_precision_t precision, uint64_t *rng, gc_stats_t *stats)
{
    static const int batches[] = {1, 2, MAX_BATCH};
    c->precision = cnn_precision_name(precision);
    c->batch = 0;
    cnn_session_options_t o;
    cnn_session_options_init(&o);
    o.precision = precision;
    o.max_batch = MAX_BATCH;
    cnn_session_t *sess = NULL;
    cnn_error_t err = {0};
    cnn_status_t st = cnn_session_create(m, &o, &sess, &err);
    check_status(c, st, &err, "cnn_session_create");
    if (st != CNN_OK)
        return;
    for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++) {
        c->batch = batches[i];
        run_batch(c, sess, m, value_of, input, ref, precision == CNN_PRECISION_BF16, rng, stats);
    }
    cnn_session_free(sess);
}

static bool bf16_available(void)
{
    static int avail = -1;
    if (avail < 0)
        avail = cnn_precision_check(CNN_DEVICE_CPU, CNN_PRECISION_BF16, NULL) == CNN_OK;
    return avail == 1;
}

void gc_run_case(const uint8_t *data, size_t size, gc_stats_t *stats)
{
    gc_stats_t dummy = {0};
    if (!stats)
        stats = &dummy;
    const char *dir = scratch_get();
    gg_reader_t r = {.data = data, .size = size, .pos = 0};
    gs_spec_t *spec = malloc(sizeof *spec);
    if (!spec || gg_generate(&r, spec) != 0) {
        free(spec);
        return;
    }
    gc_case_t c = {.spec = spec, .precision = ""};
    const gs_node_t *in = &spec->nodes[0], *out = &spec->nodes[spec->output];
    size_t in_n = gs_numel(in);
    uint64_t rng = spec->seed * 0x9E3779B97F4A7C15ull + r.pos;
    float *input = malloc((size_t)MAX_BATCH * in_n * sizeof *input);
    float **ref = NULL;
    char *json = gw_model_json(spec);
    cnn_model_t *m = NULL;
    int value_of[GS_MAX_NODES];
    if (!input || !json)
        goto done;
    for (size_t i = 0; i < (size_t)MAX_BATCH * in_n; i++)
        input[i] = gg_uniform(&rng, -1.0f, 1.0f);
    c.json = json;
    if (!(ref = gr_eval(spec, input, MAX_BATCH)))
        goto done;
    if (gw_write_model(dir, spec, json) != 0) {
        perror("fuzz_graph: cannot write the model files");
        abort();
    }
    cnn_error_t err = {0};
    cnn_status_t st = cnn_model_load(dir, &m, &err);
    check_status(&c, st, &err, "cnn_model_load");
    if (st != CNN_OK)
        goto done;
    const cnn_model_info_t *info = cnn_model_get_info(m);
    if (cnn_model_output_size(m) != gs_numel(out) || info->input_channels != in->c || info->input_height != in->h ||
        info->input_width != in->w)
        finding(&c, "model info: input %d×%d×%d, output size %zu; the model has %d×%d×%d and %zu",
                info->input_channels, info->input_height, info->input_width, cnn_model_output_size(m), in->c, in->h,
                in->w, gs_numel(out));
    map_layers(&c, m, value_of);
    run_precision(&c, m, value_of, input, ref, CNN_PRECISION_FP32, &rng, stats);
    if (bf16_available())
        run_precision(&c, m, value_of, input, ref, CNN_PRECISION_BF16, &rng, stats);
    stats->cases++;
    stats->worst_fp32 = worst_seen[0];
    stats->worst_bf16 = worst_seen[1];
    stats->nodes += spec->num_nodes;
    stats->layers += (long)cnn_model_layer_count(m);
    for (int i = 0; i < spec->num_nodes; i++)
        stats->ops[spec->nodes[i].op]++;
    for (size_t i = 0; i < cnn_model_layer_count(m); i++) {
        cnn_layer_info_t li;
        cnn_model_get_layer(m, i, &li);
        stats->fused_bn += strstr(li.fused, "bn") != NULL;
        stats->fused_add += strstr(li.fused, "add") != NULL;
        stats->fused_act += li.fused[0] && strcmp(li.fused, "bn") != 0 && strcmp(li.fused, "add") != 0 &&
                            strcmp(li.fused, "bn+add") != 0;
    }
done:
    cnn_model_free(m);
    gr_free(spec, ref);
    free(json);
    free(input);
    gs_spec_free(spec);
    free(spec);
}
