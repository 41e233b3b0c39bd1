/* .npy reader: accepted headers, strict rejection of everything else. */
#include "test_support.h"

#include "npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Builds a .npy file: version major.0, header dict text padded to 64 bytes
 * with '\n', then `data_bytes` bytes of little-endian float data 0, 1, 2... */
static uint8_t *make_npy(int major, const char *dict, size_t data_bytes, size_t *len)
{
    size_t prefix = major == 1 ? 10 : 12;
    size_t header = strlen(dict) + 1;
    header = (prefix + header + 63) / 64 * 64 - prefix;
    *len = prefix + header + data_bytes;
    uint8_t *b = calloc(1, *len);
    assert_non_null(b);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (uint8_t)major;
    b[7] = 0;
    for (size_t i = 0; i < prefix - 8; i++)
        b[8 + i] = (uint8_t)(header >> (8 * i));
    memset(b + prefix, ' ', header);
    memcpy(b + prefix, dict, strlen(dict));
    b[prefix + header - 1] = '\n';
    for (size_t i = 0; i + 4 <= data_bytes; i += 4) {
        float v = (float)(i / 4);
        uint32_t bits;
        memcpy(&bits, &v, 4);
        for (int k = 0; k < 4; k++)
            b[prefix + header + i + (size_t)k] = (uint8_t)(bits >> (8 * k));
    }
    return b;
}

static cnn_status_t parse_dict(int major, const char *dict, size_t data_bytes, srv_npy_t *a,
                               cnn_error_t *err)
{
    size_t len;
    uint8_t *b = make_npy(major, dict, data_bytes, &len);
    cnn_status_t st = srv_npy_parse(b, len, a, err);
    free(b);
    return st;
}

static void test_valid_v1(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 2, 3), }", 48, &len);
    srv_npy_t a;
    cnn_error_t err;
    assert_true(srv_npy_is_npy(b, len));
    assert_int_equal(srv_npy_parse(b, len, &a, &err), CNN_OK);
    assert_int_equal(a.ndim, 4);
    assert_int_equal(a.dims[0], 2);
    assert_int_equal(a.dims[3], 3);
    assert_int_equal(a.numel, 12);
    float out[5];
    srv_npy_copy(&a, 7, 5, out);
    for (int i = 0; i < 5; i++)
        assert_float_equal(out[i], (float)(7 + i), 0.0f);
    free(b);
}

static void test_valid_variants(void **state)
{
    (void)state;
    srv_npy_t a;
    cnn_error_t err;
    /* Version 2 and 3 headers, key order, no trailing comma, 1-tuple, scalar. */
    assert_int_equal(parse_dict(2, "{'shape': (3,), 'fortran_order': False, 'descr': '<f4'}", 12, &a, &err), CNN_OK);
    assert_int_equal(a.ndim, 1);
    assert_int_equal(parse_dict(3, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": ()}", 4, &a, &err), CNN_OK);
    assert_int_equal(a.ndim, 0);
    assert_int_equal(a.numel, 1);
    assert_int_equal(parse_dict(1, "{'descr':'<f4','fortran_order':False,'shape':(0, 3)}", 0, &a, &err), CNN_OK);
    assert_int_equal(a.numel, 0);
}

static void expect_reject(const char *dict, size_t data_bytes, cnn_status_t want, const char *needle)
{
    srv_npy_t a;
    cnn_error_t err;
    cnn_status_t st = parse_dict(1, dict, data_bytes, &a, &err);
    if (st != want || (needle && !strstr(err.message, needle)))
        fail_msg("%s: status %d, message '%s'", dict, (int)st, err.message);
}

static void test_rejects_header(void **state)
{
    (void)state;
    expect_reject("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16, CNN_E_UNSUPPORTED, "<f8");
    expect_reject("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, CNN_E_UNSUPPORTED, ">f4");
    expect_reject("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", 8, CNN_E_UNSUPPORTED, "Fortran");
    expect_reject("{'descr': '<f4', 'shape': (2,), }", 8, CNN_E_FORMAT, "fortran_order");
    expect_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 8, CNN_E_FORMAT, "'x'");
    expect_reject("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8, CNN_E_FORMAT, "repeated");
    expect_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", 8, CNN_E_FORMAT, "shape");
    expect_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (2,,), }", 8, CNN_E_FORMAT, "shape");
    expect_reject("{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", 8, CNN_E_FORMAT, "tuple");
    expect_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (2,) } x", 8, CNN_E_FORMAT, "after");
    expect_reject("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,) }", 8, CNN_E_FORMAT, "fortran_order");
    expect_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1)}", 4, CNN_E_UNSUPPORTED, "dimensions");
    expect_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999, 99999999999)}", 4,
                  CNN_E_FORMAT, NULL);
    expect_reject("['descr']", 0, CNN_E_FORMAT, "dict");
}

static void test_rejects_size(void **state)
{
    (void)state;
    expect_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20, CNN_E_FORMAT, "24");
    expect_reject("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 28, CNN_E_FORMAT, "24");
}

static void test_rejects_framing(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = make_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8, &len);
    srv_npy_t a;
    cnn_error_t err;
    for (size_t cut = 1; cut < len; cut++)
        assert_int_not_equal(srv_npy_parse(b, len - cut, &a, &err), CNN_OK);
    b[6] = 4; /* version 4.0 */
    assert_int_equal(srv_npy_parse(b, len, &a, &err), CNN_E_UNSUPPORTED);
    b[6] = 1;
    b[0] = 'x';
    assert_false(srv_npy_is_npy(b, len));
    assert_int_equal(srv_npy_parse(b, len, &a, &err), CNN_E_FORMAT);
    b[0] = 0x93;
    b[8] = 0xff; /* header length beyond the file */
    b[9] = 0xff;
    assert_int_equal(srv_npy_parse(b, len, &a, &err), CNN_E_FORMAT);
    assert_int_equal(srv_npy_parse(b, 3, &a, &err), CNN_E_FORMAT);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_v1),
        cmocka_unit_test(test_valid_variants),
        cmocka_unit_test(test_rejects_header),
        cmocka_unit_test(test_rejects_size),
        cmocka_unit_test(test_rejects_framing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
