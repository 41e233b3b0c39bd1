/* One case of the graph fuzzer, shared by fuzz_graph (libFuzzer) and
 * graph_random (ctest): decision bytes → random valid graph-form model
 * (graph_gen.h) → model directory (graph_write.h) → cnn_model_load →
 * sessions at max batch 7 in fp32 (and bf16 where the CPU has it), runs at
 * batch 1, 2 and 7 with random feature-map fetches → outputs and fetched
 * layers against the reference interpreter (graph_ref.h).
 *
 * Any finding (a mismatch, a non-finite value, an engine error other than
 * CNN_E_NOMEM on a valid model) is printed to stderr with the model.json,
 * precision, batch and layer, and the process aborts.
 */
#ifndef CNN_GRAPH_CHECK_H
#define CNN_GRAPH_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "graph_spec.h"

/* What one case did (for graph_random's summary). */
typedef struct gc_stats {
    long cases, nodes, layers, runs, fetches, fetches_checked, bf16_runs;
    double worst_fp32, worst_bf16; /* largest max|diff| / max(max|ref|, floor) seen (tolerance: 1e-4, 0.25) */
    long ops[GS_OP_COUNT];         /* generated nodes per op */
    long fused_bn, fused_act, fused_add; /* layers with a folded batch norm, a fused activation, a residual add */
} gc_stats_t;

/* Runs one case from the decision bytes; adds to *stats when not NULL.
 * The model files go to a directory made once per process (under /dev/shm
 * when it exists) and removed at exit. Aborts on a finding. */
void gc_run_case(const uint8_t *data, size_t size, gc_stats_t *stats);

#endif
