/* Zoo: named architectures built into a graph with torchvision weight names. */
#ifndef CNN_ZOO_H
#define CNN_ZOO_H

#include "graph.h"

typedef struct cnn_zoo_options {
    const char *arch;  /* "lenet5", "resnet50", ... */
    int num_classes;   /* <= 0: the architecture's default */
    int width_divisor; /* <= 1: full width; channel counts are divided by it */
    /* Input size; <= 0: the architecture's default. */
    int in_channels, in_height, in_width;
} cnn_zoo_options_t;

typedef struct cnn_zoo_arch {
    const char *name;
    int default_classes;
    int in_channels, in_height, in_width;
    cnn_preprocess_t preprocess;      /* torchvision's / the seed's defaults */
    const char *const *ignored_prefixes; /* weights the network carries but inference does not use */
    /* Appends the network to g (which must be empty). Returns the output node id or a negative status (g->err). */
    int (*build)(cnn_graph_t *g, const cnn_zoo_options_t *o);
} cnn_zoo_arch_t;

/* Architecture by name, or NULL. */
const cnn_zoo_arch_t *cnn_zoo_find(const char *name);
/* NULL-terminated list of every architecture. */
const cnn_zoo_arch_t *const *cnn_zoo_list(void);

/* Builds `o->arch` into a new graph (defaults filled in). On error returns
 * CNN_E_NOT_FOUND (unknown arch, message lists the known ones) or the builder's error. */
cnn_status_t cnn_zoo_build(const cnn_zoo_options_t *o, cnn_graph_t **out, cnn_error_t *err);

#endif
