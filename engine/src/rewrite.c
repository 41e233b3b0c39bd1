#include "rewrite.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

/* consumers[i] = number of executed reads of node i's value (the graph output counts as one). */
static void count_consumers(const cnn_graph_t *g, int *consumers)
{
    memset(consumers, 0, (size_t)g->num_nodes * sizeof *consumers);
    for (int i = 0; i < g->num_nodes; i++) {
        const cnn_node_t *n = &g->nodes[i];
        if (n->fused_into >= 0)
            continue;
        for (int k = 0; k < n->num_inputs; k++)
            consumers[cnn_graph_resolve(g, n->inputs[k])]++;
        if (n->residual_input >= 0)
            consumers[cnn_graph_resolve(g, n->residual_input)]++;
    }
    if (g->output >= 0)
        consumers[cnn_graph_resolve(g, g->output)]++;
}

static void describe_fusion(cnn_node_t *host, const char *what)
{
    size_t len = strlen(host->fused_desc);
    if (len + strlen(what) + 2 > sizeof host->fused_desc)
        return;
    if (len)
        strcat(host->fused_desc, "+");
    strcat(host->fused_desc, what);
}

static int64_t weight_numel(const cnn_weight_t *w)
{
    int64_t n = 1;
    for (int d = 0; d < w->ndim; d++)
        n *= w->dims[d];
    return n;
}

/* Gives `w` a private, writable copy of its data (if it still points into the file). */
static cnn_status_t weight_make_owned(cnn_weight_t *w)
{
    if (w->owned)
        return CNN_OK;
    size_t n = (size_t)weight_numel(w);
    w->owned = malloc((n ? n : 1) * sizeof(float));
    if (!w->owned)
        return CNN_E_NOMEM;
    memcpy(w->owned, w->data, n * sizeof(float));
    w->data = w->owned;
    return CNN_OK;
}

/* Folds batch norm `bn` into the conv or dense layer `conv` (weights with
 * the output channel first): w' = w·s, b' = (b − mean)·s + beta,
 * s = gamma/sqrt(var+eps). */
static cnn_status_t fold_batch_norm(cnn_node_t *conv, const cnn_node_t *bn, cnn_error_t *err)
{
    bool is_conv = conv->op == CNN_OP_CONV2D;
    int oc = is_conv ? conv->p.conv.out_channels : conv->p.dense.out_features;
    cnn_weight_t *w = conv->w[CNN_W_WEIGHT];
    if (weight_make_owned(w) != CNN_OK)
        return cnn_error_set(err, CNN_E_NOMEM, "layer '%s': out of memory folding batch norm", conv->name);
    if (!conv->w[CNN_W_BIAS]) {
        cnn_weight_t *b = calloc(1, sizeof *b);
        if (b) {
            b->name = strdup(bn->w[CNN_W_BIAS]->name);
            b->owned = calloc((size_t)oc, sizeof(float));
        }
        if (!b || !b->name || !b->owned) {
            if (b) {
                free(b->name);
                free(b->owned);
            }
            free(b);
            return cnn_error_set(err, CNN_E_NOMEM, "layer '%s': out of memory folding batch norm", conv->name);
        }
        b->ndim = 1;
        b->dims[0] = oc;
        b->data = b->owned;
        conv->w[CNN_W_BIAS] = b;
        if (is_conv)
            conv->p.conv.has_bias = true;
        else
            conv->p.dense.has_bias = true;
    } else if (weight_make_owned(conv->w[CNN_W_BIAS]) != CNN_OK) {
        return cnn_error_set(err, CNN_E_NOMEM, "layer '%s': out of memory folding batch norm", conv->name);
    }
    const float *gamma = bn->w[CNN_W_WEIGHT]->data, *beta = bn->w[CNN_W_BIAS]->data;
    const float *mean = bn->w[CNN_W_MEAN]->data, *var = bn->w[CNN_W_VAR]->data;
    float *kernel = w->owned, *bias = conv->w[CNN_W_BIAS]->owned;
    size_t per_out = (size_t)(weight_numel(w) / oc);
    for (int o = 0; o < oc; o++) {
        double s = (double)gamma[o] / sqrt((double)var[o] + (double)bn->p.bn.eps);
        for (size_t k = 0; k < per_out; k++)
            kernel[(size_t)o * per_out + k] = (float)(kernel[(size_t)o * per_out + k] * s);
        bias[o] = (float)(((double)bias[o] - mean[o]) * s + beta[o]);
    }
    return CNN_OK;
}

static bool weights_bound(const cnn_node_t *n)
{
    for (int s = 0; s < CNN_W_SLOTS; s++)
        if (n->w[s] && !n->w[s]->data)
            return false;
    return true;
}

static cnn_act_t act_of(const cnn_node_t *n)
{
    switch (n->op) {
    case CNN_OP_RELU: return CNN_ACT_RELU;
    case CNN_OP_LEAKY_RELU: return CNN_ACT_LEAKY_RELU;
    case CNN_OP_ELU: return CNN_ACT_ELU;
    case CNN_OP_SIGMOID: return CNN_ACT_SIGMOID;
    case CNN_OP_TANH: return CNN_ACT_TANH;
    case CNN_OP_CLIP: return CNN_ACT_CLIP;
    default: return CNN_ACT_NONE;
    }
}

static cnn_status_t rewrite_batch_norms(cnn_graph_t *g, int *consumers, cnn_error_t *err)
{
    for (int i = 0; i < g->num_nodes; i++) {
        cnn_node_t *bn = &g->nodes[i];
        if (bn->op != CNN_OP_BATCH_NORM || bn->fused_into >= 0)
            continue;
        int src = cnn_graph_resolve(g, bn->inputs[0]);
        cnn_node_t *conv = &g->nodes[src];
        if ((conv->op != CNN_OP_CONV2D && conv->op != CNN_OP_DENSE) || consumers[src] != 1 ||
            conv->post_act != CNN_ACT_NONE ||
            conv->residual_input >= 0 || !weights_bound(conv) || !weights_bound(bn))
            continue;
        cnn_status_t st = fold_batch_norm(conv, bn, err);
        if (st != CNN_OK)
            return st;
        bn->fused_into = src;
        describe_fusion(conv, "bn");
        count_consumers(g, consumers);
    }
    return CNN_OK;
}

static void rewrite_activations(cnn_graph_t *g, int *consumers)
{
    for (int i = 0; i < g->num_nodes; i++) {
        cnn_node_t *a = &g->nodes[i];
        cnn_act_t act = act_of(a);
        if (act == CNN_ACT_NONE || a->fused_into >= 0)
            continue;
        int src = cnn_graph_resolve(g, a->inputs[0]);
        cnn_node_t *host = &g->nodes[src];
        bool can_host = host->op == CNN_OP_CONV2D || host->op == CNN_OP_DENSE || host->op == CNN_OP_ADD;
        if (!can_host || consumers[src] != 1 || host->post_act != CNN_ACT_NONE)
            continue;
        host->post_act = act;
        host->post_act_alpha = a->p.act.alpha;
        host->post_act_beta = a->p.act.beta;
        a->fused_into = src;
        describe_fusion(host, cnn_op_name(a->op));
        count_consumers(g, consumers);
    }
}

/* Makes an add whose input is a conv (used only by the add) that conv's residual sum. */
static void rewrite_residual_adds(cnn_graph_t *g, int *consumers)
{
    for (int i = 0; i < g->num_nodes; i++) {
        cnn_node_t *add = &g->nodes[i];
        if (add->op != CNN_OP_ADD || add->fused_into >= 0)
            continue;
        int in[2] = {cnn_graph_resolve(g, add->inputs[0]), cnn_graph_resolve(g, add->inputs[1])};
        for (int k = 0; k < 2; k++) {
            int c = in[k], other = in[1 - k];
            cnn_node_t *conv = &g->nodes[c];
            if (conv->op != CNN_OP_CONV2D || consumers[c] != 1 || conv->post_act != CNN_ACT_NONE ||
                conv->residual_input >= 0 || other >= c)
                continue;
            conv->residual_input = other;
            conv->post_act = add->post_act;
            conv->post_act_alpha = add->post_act_alpha;
            conv->post_act_beta = add->post_act_beta;
            add->fused_into = c;
            describe_fusion(conv, "add");
            if (add->post_act != CNN_ACT_NONE)
                describe_fusion(conv, add->fused_desc[0] ? add->fused_desc : "act");
            count_consumers(g, consumers);
            break;
        }
    }
}

cnn_status_t cnn_graph_rewrite(cnn_graph_t *g, cnn_error_t *err)
{
    int *consumers = malloc((size_t)(g->num_nodes > 0 ? g->num_nodes : 1) * sizeof *consumers);
    if (!consumers)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory rewriting graph");
    for (int i = 0; i < g->num_nodes; i++)
        if (g->nodes[i].op == CNN_OP_DROPOUT && g->nodes[i].fused_into < 0)
            g->nodes[i].fused_into = cnn_graph_resolve(g, g->nodes[i].inputs[0]);
    count_consumers(g, consumers);
    cnn_status_t st = rewrite_batch_norms(g, consumers, err);
    if (st == CNN_OK) {
        rewrite_activations(g, consumers);
        rewrite_residual_adds(g, consumers);
    }
    free(consumers);
    return st;
}
