/* cuBLASLt is dlopen()ed by the CUDA backend on first use: the library the
 * build found loads (no GPU needed) and has every function the backend
 * calls. Skipped when the CUDA backend is not built. */
#include "test_support.h"

#ifdef CNN_HAVE_CUDA
#include "cuda_lt.h"
#endif

static void test_lt_loads(void **state)
{
    (void)state;
#ifdef CNN_HAVE_CUDA
    cnn_error_t err = {0};
    const cnn_cu_lt_api_t *lt = cnn_cu_lt(&err);
    if (!lt)
        print_error("%s\n", err.message);
    assert_non_null(lt);
    const void *const fns[] = {(const void *)lt->create, (const void *)lt->destroy, (const void *)lt->matmul,
                               (const void *)lt->heuristic, (const void *)lt->desc_create,
                               (const void *)lt->desc_destroy, (const void *)lt->desc_set,
                               (const void *)lt->pref_create, (const void *)lt->pref_destroy,
                               (const void *)lt->pref_set, (const void *)lt->layout_create,
                               (const void *)lt->layout_destroy};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        assert_non_null(fns[i]);
    assert_ptr_equal(cnn_cu_lt(&err), lt); /* loaded once */
    /* A layout needs no device: the library really works here. */
    cublasLtMatrixLayout_t layout = NULL;
    assert_int_equal(lt->layout_create(&layout, CUDA_R_32F, 4, 3, 4), CUBLAS_STATUS_SUCCESS);
    assert_int_equal(lt->layout_destroy(layout), CUBLAS_STATUS_SUCCESS);
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lt_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
