/* libFuzzer target: the input bytes are the decisions of a generator of
 * random valid graph-form models (graph_gen.h); each model is written as a
 * model directory, loaded with cnn_model_load (JSON parser, weight binding,
 * BN folding, activation and residual-add fusion) and run on the CPU backend
 * at batch 1, 2 and 7 with random feature-map fetches, in fp32 and (where
 * the CPU has it) bf16, against a naive reference interpreter of the
 * unrewritten model (graph_check.h). A finding prints the model.json and
 * aborts. Seeds: tests/fuzz/seeds/graph/. */
#include <stddef.h>
#include <stdint.h>

#include "graph_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gc_run_case(data, size, NULL);
    return 0;
}
