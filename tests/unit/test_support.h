/* Helpers shared by the CMocka unit tests. */
#ifndef CNN_TEST_SUPPORT_H
#define CNN_TEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* Deterministic uniform floats in [lo, hi) from a xorshift seed. */
void cnn_test_fill_uniform(float *dst, size_t n, float lo, float hi, uint32_t seed);

/* Creates a fresh empty temporary directory; returns a malloc'ed path. */
char *cnn_test_make_tmpdir(void);
/* Removes a directory tree created by cnn_test_make_tmpdir. */
void cnn_test_remove_tree(const char *path);
/* Writes `len` bytes to dir/name; returns 0 on success. */
int cnn_test_write_file(const char *dir, const char *name, const void *data, size_t len);

#endif
