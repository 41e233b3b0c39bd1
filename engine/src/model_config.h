/* model.json: what a model directory says about itself.
 *
 * {
 *   "name": "lenet5-fashion",
 *   "architecture": {"zoo": "lenet5", "num_classes": 10, "width_divisor": 1},
 *   "input": {"channels": 1, "height": 28, "width": 28},
 *   "preprocessing": {"color": "grayscale", "resize_shorter": 0,
 *                     "scale": 0.00392156862745098, "mean": [0.0], "std": [1.0]},
 *   "labels": ["T-shirt/top", ...],
 *   "batching": {"max_batch_size": 8, "max_queue_delay_us": 2000},
 *   "precision": "fp32"
 * }
 * "architecture" is either a zoo architecture ("zoo" + options) or a whole
 * network in the graph form ({"graph": {...}}, see graph_json.h). Everything
 * else defaults from the zoo architecture, or for a graph from its input node
 * (pixels / 255, grayscale for 1 channel, RGB for 3). "precision" (fp32,
 * bf16 on the CPU, tf32 or fp16 on CUDA; default fp32) is what a server runs
 * the model in unless told otherwise. Unknown keys are
 * rejected so typos do not pass silently.
 */
#ifndef CNN_MODEL_CONFIG_H
#define CNN_MODEL_CONFIG_H

#include "zoo.h"

#include <cjson/cJSON.h>

typedef struct cnn_model_config {
    char *name;
    char *arch;            /* zoo name, or "graph" */
    cnn_zoo_options_t zoo; /* zoo.arch points at `arch`; for a graph only the input size is set */
    cJSON *graph;          /* the graph form (owned), NULL for a zoo architecture */
    cnn_preprocess_t preprocess;
    char **labels; /* num_labels entries or NULL */
    int num_labels;
    int max_batch_size;
    int max_queue_delay_us;
    cnn_precision_t precision;
} cnn_model_config_t;

/* Parses model.json text. `default_name` (the directory name) is used when
 * "name" is absent. Messages name the offending field. */
cnn_status_t cnn_model_config_parse(const char *json, size_t len, const char *default_name,
                                    cnn_model_config_t *out, cnn_error_t *err);
/* Serializes a config to pretty JSON (malloc'ed, NUL-terminated) or NULL. */
char *cnn_model_config_to_json(const cnn_model_config_t *cfg);
void cnn_model_config_free(cnn_model_config_t *cfg);

#endif
