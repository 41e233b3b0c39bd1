/* The CPU's capabilities and the kernels a session chose, as the command line shows them. */
#ifndef SRV_CLI_KERNELS_H
#define SRV_CLI_KERNELS_H

#include "cnn/cnn.h"

#include <stdio.h>

/* "oneDNN 2.6.3, ISA avx512_core_bf16, precisions fp32 bf16" into buf. */
void cli_cpu_describe(char *buf, size_t size);

/* One convolution kernel ("brg:avx512_core_bf16 bf16": implementation and
 * data type) and how many of the model's convolutions use it. */
typedef struct cli_kernel_count {
    char name[80];
    int count;
} cli_kernel_count_t;

/* Counts the kernels of the model's convolutions in the session's plan for
 * `batch` (building it if needed), in order of first use, at most `cap` kinds.
 * Returns the number of kinds, or -1 when the session cannot tell. */
int cli_conv_kernels(cnn_session_t *s, const cnn_model_t *m, int batch, cli_kernel_count_t *out, int cap);

#endif
