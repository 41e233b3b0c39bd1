/* Helpers shared by the CMocka unit tests. */
#ifndef CNN_TEST_SUPPORT_H
#define CNN_TEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* ctest's "skipped" (SKIP_RETURN_CODE of the unit.*_bf16 tests). */
#define CNN_TEST_SKIP 77

/* A test file's main: runs `tests`; with the single argument "--bf16" runs
 * `bf16_tests` instead, unless this CPU cannot run bf16: then it prints
 * "skipped: no AVX512_BF16/AMX" with the engine's reason and returns
 * CNN_TEST_SKIP, so ctest reports the bf16 tests as skipped, never passed. */
int cnn_test_main(int argc, char **argv, const char *name, const struct CMUnitTest *tests, size_t num_tests,
                  const struct CMUnitTest *bf16_tests, size_t num_bf16_tests);

/* Deterministic uniform floats in [lo, hi) from a xorshift seed. */
void cnn_test_fill_uniform(float *dst, size_t n, float lo, float hi, uint32_t seed);

/* Creates a fresh empty temporary directory; returns a malloc'ed path. */
char *cnn_test_make_tmpdir(void);
/* Removes a directory tree created by cnn_test_make_tmpdir. */
void cnn_test_remove_tree(const char *path);
/* Writes `len` bytes to dir/name; returns 0 on success. */
int cnn_test_write_file(const char *dir, const char *name, const void *data, size_t len);

/* Reads $CNN_SOURCE_DIR/relpath whole; malloc'ed bytes, or NULL. */
uint8_t *cnn_test_read_source_file(const char *relpath, size_t *len);

/* One tensor for cnn_test_safetensors_build: `nbytes` bytes of `data` (may be NULL when 0). */
typedef struct cnn_test_tensor {
    const char *name;
    const char *dtype; /* "F32", "F16", ... written as is */
    int ndim;
    int64_t dims[4];
    const void *data;
    size_t nbytes;
} cnn_test_tensor_t;

/* A safetensors image: 8-byte LE length of `header`, the header, then `data_len` bytes of data.
 * Returns a malloc'ed buffer and its length in *len. */
uint8_t *cnn_test_safetensors_raw(const char *header, const void *data, size_t data_len, size_t *len);
/* A well-formed safetensors image of `n` tensors laid out in order. Returns malloc'ed bytes. */
uint8_t *cnn_test_safetensors_build(const cnn_test_tensor_t *tensors, int n, size_t *len);
/* Writes cnn_test_safetensors_build's image to dir/name; returns 0 on success. */
int cnn_test_write_safetensors(const char *dir, const char *name, const cnn_test_tensor_t *tensors, int n);

/* LeNet-5 in model.json's graph form, with the zoo's node (and so weight) names. */
extern const char *const CNN_TEST_LENET5_GRAPH;

/* The zoo LeNet-5's weight tensors: name, rank and shape. */
typedef struct cnn_test_weight {
    const char *name;
    int ndim;
    int64_t dims[4];
} cnn_test_weight_t;
#define CNN_TEST_LENET5_WEIGHT_COUNT 10
extern const cnn_test_weight_t CNN_TEST_LENET5_WEIGHTS[CNN_TEST_LENET5_WEIGHT_COUNT];

#endif
