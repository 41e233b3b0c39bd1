/* libFuzzer target: model.json parsing and re-serialization on arbitrary text;
 * a graph-form architecture is also built into a graph and planned. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "graph_json.h"
#include "model_config.h"
#include "planner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cnn_model_config_t cfg;
    cnn_error_t err;
    if (cnn_model_config_parse((const char *)data, size, "fuzz", &cfg, &err) == CNN_OK) {
        free(cnn_model_config_to_json(&cfg));
        cnn_graph_t *g = NULL;
        if (cfg.graph && cnn_graph_from_json(cfg.graph, &g, &err) == CNN_OK) {
            (void)cnn_graph_peak_activation_bytes(g, 4);
            cnn_graph_free(g);
        }
        cnn_model_config_free(&cfg);
    }
    return 0;
}
