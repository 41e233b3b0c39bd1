/* What the engine runs on this machine, for inspect, bench and version: the
 * CPU's instruction set and precisions, and which kernels a session chose. */
#include "cli_kernels.h"

#include <string.h>

void cli_cpu_describe(char *buf, size_t size)
{
    bool bf16 = cnn_precision_check(CNN_DEVICE_CPU, CNN_PRECISION_BF16, NULL) == CNN_OK;
    snprintf(buf, size, "oneDNN %s, ISA %s, precisions fp32%s", cnn_cpu_library_version(), cnn_cpu_isa(),
             bf16 ? " bf16" : " (bf16: no AVX512_BF16/AMX)");
}

int cli_conv_kernels(cnn_session_t *s, const cnn_model_t *m, int batch, cli_kernel_count_t *out, int cap)
{
    int n = 0;
    size_t layers = cnn_model_layer_count(m);
    for (size_t i = 0; i < layers; i++) {
        cnn_layer_info_t l;
        cnn_layer_impl_t li;
        if (cnn_model_get_layer(m, i, &l) != CNN_OK || strcmp(l.op, "conv2d") != 0)
            continue;
        if (cnn_session_layer_impl(s, batch, i, &li, NULL) != CNN_OK)
            return -1;
        char name[sizeof out->name];
        snprintf(name, sizeof name, "%s %s", li.impl, li.dtype);
        int k = 0;
        while (k < n && strcmp(out[k].name, name) != 0)
            k++;
        if (k == n) {
            if (n == cap)
                continue;
            snprintf(out[n].name, sizeof out[n].name, "%s", name);
            out[n++].count = 0;
        }
        out[k].count++;
    }
    return n;
}
