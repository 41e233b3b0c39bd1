#include "planner.h"

#include <stdlib.h>

void cnn_graph_liveness(const cnn_graph_t *g, const bool *pinned, int *first, int *last)
{
    int end = g->num_nodes;
    for (int i = 0; i < g->num_nodes; i++) {
        bool executed = g->nodes[i].fused_into < 0;
        first[i] = executed ? i : -1;
        last[i] = executed ? i : -1;
    }
    for (int i = 0; i < g->num_nodes; i++) {
        const cnn_node_t *n = &g->nodes[i];
        if (n->fused_into >= 0)
            continue;
        for (int k = 0; k < n->num_inputs; k++) {
            int src = cnn_graph_resolve(g, n->inputs[k]);
            if (last[src] < i)
                last[src] = i;
        }
        if (n->residual_input >= 0) {
            int src = cnn_graph_resolve(g, n->residual_input);
            if (last[src] < i)
                last[src] = i;
        }
    }
    if (g->output >= 0)
        last[cnn_graph_resolve(g, g->output)] = end;
    if (pinned)
        for (int i = 0; i < g->num_nodes; i++)
            if (pinned[i])
                last[cnn_graph_resolve(g, i)] = end;
}

typedef struct placed {
    size_t offset, size;
} placed_t;

typedef struct sized {
    size_t size;
    int index;
} sized_t;

static int by_size_desc(const void *a, const void *b)
{
    const sized_t *sa = a, *sb = b;
    if (sa->size != sb->size)
        return sa->size < sb->size ? 1 : -1;
    return sa->index - sb->index;
}

static int by_offset(const void *a, const void *b)
{
    const placed_t *pa = a, *pb = b;
    return (pa->offset > pb->offset) - (pa->offset < pb->offset);
}

static size_t align_up(size_t v, size_t a)
{
    return (v + a - 1) / a * a;
}

cnn_status_t cnn_plan_arena(int n, const size_t *sizes, const int *first, const int *last,
                            size_t alignment, size_t *offsets, size_t *total)
{
    if (alignment == 0)
        alignment = 1;
    sized_t *order = malloc((size_t)(n > 0 ? n : 1) * sizeof *order);
    placed_t *busy = malloc((size_t)(n > 0 ? n : 1) * sizeof *busy);
    bool *done = calloc((size_t)(n > 0 ? n : 1), sizeof *done);
    if (!order || !busy || !done) {
        free(order);
        free(busy);
        free(done);
        return CNN_E_NOMEM;
    }
    for (int i = 0; i < n; i++)
        order[i] = (sized_t){sizes[i], i};
    qsort(order, (size_t)n, sizeof *order, by_size_desc);

    size_t arena = 0;
    for (int oi = 0; oi < n; oi++) {
        int t = order[oi].index;
        offsets[t] = 0;
        if (first[t] < 0 || sizes[t] == 0)
            continue;
        /* Tensors already placed whose live range overlaps t's. */
        int nb = 0;
        for (int j = 0; j < n; j++)
            if (done[j] && first[j] <= last[t] && first[t] <= last[j])
                busy[nb++] = (placed_t){offsets[j], align_up(sizes[j], alignment)};
        qsort(busy, (size_t)nb, sizeof *busy, by_offset);
        size_t want = align_up(sizes[t], alignment), at = 0;
        for (int b = 0; b < nb; b++) {
            if (busy[b].offset >= at + want)
                break;
            if (busy[b].offset + busy[b].size > at)
                at = busy[b].offset + busy[b].size;
        }
        offsets[t] = at;
        done[t] = true;
        if (at + want > arena)
            arena = at + want;
    }
    free(order);
    free(busy);
    free(done);
    *total = arena;
    return CNN_OK;
}

size_t cnn_graph_peak_activation_bytes(const cnn_graph_t *g, int batch)
{
    int n = g->num_nodes;
    size_t *sizes = malloc((size_t)(n > 0 ? n : 1) * sizeof *sizes);
    size_t *offsets = malloc((size_t)(n > 0 ? n : 1) * sizeof *offsets);
    int *first = malloc((size_t)(n > 0 ? n : 1) * sizeof *first);
    int *last = malloc((size_t)(n > 0 ? n : 1) * sizeof *last);
    size_t total = 0;
    if (sizes && offsets && first && last) {
        cnn_graph_liveness(g, NULL, first, last);
        for (int i = 0; i < n; i++) {
            sizes[i] = cnn_node_numel(&g->nodes[i]) * sizeof(float) * (size_t)(batch > 0 ? batch : 1);
        }
        if (cnn_plan_arena(n, sizes, first, last, 64, offsets, &total) != CNN_OK)
            total = 0;
    }
    free(sizes);
    free(offsets);
    free(first);
    free(last);
    return total;
}
