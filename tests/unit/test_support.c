#define _POSIX_C_SOURCE 200809L
#include "test_support.h"

#include <stdbool.h>

#include "cnn/cnn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cnn_test_main(int argc, char **argv, const char *name, const struct CMUnitTest *tests, size_t num_tests,
                  const struct CMUnitTest *bf16_tests, size_t num_bf16_tests)
{
    bool bf16 = argc == 2 && strcmp(argv[1], "--bf16") == 0;
    if (argc > 1 && !bf16) {
        fprintf(stderr, "usage: %s [--bf16]\n", argv[0]);
        return 2;
    }
    if (!bf16)
        return _cmocka_run_group_tests(name, tests, num_tests, NULL, NULL);
    cnn_error_t err;
    if (cnn_precision_check(CNN_DEVICE_CPU, CNN_PRECISION_BF16, &err) != CNN_OK) {
        printf("skipped: no AVX512_BF16/AMX (%s)\n", err.message);
        return CNN_TEST_SKIP;
    }
    char group[128];
    snprintf(group, sizeof group, "%s (bf16)", name);
    return _cmocka_run_group_tests(group, bf16_tests, num_bf16_tests, NULL, NULL);
}

void cnn_test_fill_uniform(float *dst, size_t n, float lo, float hi, uint32_t seed)
{
    uint32_t x = seed ? seed : 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        dst[i] = lo + (hi - lo) * (float)(x >> 8) / (float)(1u << 24);
    }
}

char *cnn_test_make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/cnntest-XXXXXX", base ? base : "/tmp");
    char *dir = mkdtemp(tmpl);
    return dir ? strdup(dir) : NULL;
}

void cnn_test_remove_tree(const char *path)
{
    char cmd[600];
    if (!path || strlen(path) > 500 || strstr(path, "cnntest-") == NULL)
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", path);
}

int cnn_test_write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t written = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && written == len) ? 0 : -1;
}

uint8_t *cnn_test_read_source_file(const char *relpath, size_t *len)
{
    const char *root = getenv("CNN_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root ? root : ".", relpath);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL &&
        fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        *len = (size_t)n;
    return buf;
}

uint8_t *cnn_test_safetensors_raw(const char *header, const void *data, size_t data_len, size_t *len)
{
    size_t n = strlen(header);
    uint8_t *buf = malloc(8 + n + data_len + 1);
    if (!buf)
        return NULL;
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, header, n);
    if (data_len > 0)
        memcpy(buf + 8 + n, data, data_len);
    *len = 8 + n + data_len;
    return buf;
}

uint8_t *cnn_test_safetensors_build(const cnn_test_tensor_t *tensors, int n, size_t *len)
{
    size_t header_cap = 72, data_len = 0;
    for (int i = 0; i < n; i++) {
        header_cap += strlen(tensors[i].name) + 160;
        data_len += tensors[i].nbytes;
    }
    char *header = malloc(header_cap);
    uint8_t *data = malloc(data_len + 1);
    uint8_t *out = NULL;
    if (!header || !data)
        goto done;
    size_t used = (size_t)snprintf(header, header_cap, "{\"__metadata__\":{\"format\":\"pt\"}");
    size_t offset = 0;
    for (int i = 0; i < n; i++) {
        const cnn_test_tensor_t *t = &tensors[i];
        used += (size_t)snprintf(header + used, header_cap - used, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[",
                                 t->name, t->dtype);
        for (int d = 0; d < t->ndim; d++)
            used += (size_t)snprintf(header + used, header_cap - used, "%s%lld", d ? "," : "",
                                     (long long)t->dims[d]);
        used += (size_t)snprintf(header + used, header_cap - used, "],\"data_offsets\":[%zu,%zu]}",
                                 offset, offset + t->nbytes);
        if (t->nbytes > 0)
            memcpy(data + offset, t->data, t->nbytes);
        offset += t->nbytes;
    }
    used += (size_t)snprintf(header + used, header_cap - used, "}");
    while ((8 + used) % 8 != 0 && used + 1 < header_cap) /* pad like the reference writer */
        header[used++] = ' ';
    header[used] = '\0';
    out = cnn_test_safetensors_raw(header, data, data_len, len);
done:
    free(header);
    free(data);
    return out;
}

int cnn_test_write_safetensors(const char *dir, const char *name, const cnn_test_tensor_t *tensors, int n)
{
    size_t len = 0;
    uint8_t *buf = cnn_test_safetensors_build(tensors, n, &len);
    int rc = buf ? cnn_test_write_file(dir, name, buf, len) : -1;
    free(buf);
    return rc;
}

/* LeNet-5 written node by node with the zoo's names. */
const char *const CNN_TEST_LENET5_GRAPH =
    "{\"nodes\": ["
    " {\"name\": \"input\", \"op\": \"input\", \"shape\": [1, 28, 28]},"
    " {\"name\": \"features.0\", \"op\": \"conv2d\", \"out_channels\": 6, \"kernel\": [5, 5]},"
    " {\"name\": \"features.1\", \"op\": \"max_pool\", \"kernel\": 2},"
    " {\"name\": \"features.2\", \"op\": \"relu\"},"
    " {\"name\": \"features.3\", \"op\": \"conv2d\", \"out_channels\": 16, \"kernel\": 5, \"stride\": [1, 1]},"
    " {\"name\": \"features.4\", \"op\": \"max_pool\", \"kernel\": [2, 2], \"stride\": [2, 2]},"
    " {\"name\": \"features.5\", \"op\": \"relu\", \"inputs\": [\"features.4\"]},"
    " {\"name\": \"features.6\", \"op\": \"conv2d\", \"out_channels\": 120, \"kernel\": 1, \"bias\": true},"
    " {\"name\": \"flatten\", \"op\": \"flatten\"},"
    " {\"name\": \"classifier.0\", \"op\": \"dense\", \"out_features\": 84},"
    " {\"name\": \"classifier.1\", \"op\": \"sigmoid\"},"
    " {\"name\": \"classifier.2\", \"op\": \"dense\", \"out_features\": 10},"
    " {\"name\": \"classifier.3\", \"op\": \"softmax\"}]}";

const cnn_test_weight_t CNN_TEST_LENET5_WEIGHTS[CNN_TEST_LENET5_WEIGHT_COUNT] = {
    {"features.0.weight", 4, {6, 1, 5, 5}},    {"features.0.bias", 1, {6}},
    {"features.3.weight", 4, {16, 6, 5, 5}},   {"features.3.bias", 1, {16}},
    {"features.6.weight", 4, {120, 16, 1, 1}}, {"features.6.bias", 1, {120}},
    {"classifier.0.weight", 2, {84, 1920}},    {"classifier.0.bias", 1, {84}},
    {"classifier.2.weight", 2, {10, 84}},      {"classifier.2.bias", 1, {10}},
};
