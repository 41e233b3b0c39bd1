/* safetensors reader: round trips, dtype conversion, and every malformed-file case. */
#include "test_support.h"

#include "safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses `header` + `data_len` zero bytes; expects CNN_E_FORMAT and a message containing `needle`. */
static void expect_bad(const char *header, size_t data_len, const char *needle)
{
    uint8_t *zeros = calloc(data_len + 1, 1);
    size_t len = 0;
    uint8_t *buf = cnn_test_safetensors_raw(header, zeros, data_len, &len);
    assert_non_null(buf);
    cnn_safetensors_t *st = (cnn_safetensors_t *)buf; /* must be reset to NULL */
    cnn_error_t err = {0};
    assert_int_equal(cnn_safetensors_parse(buf, len, &st, &err), CNN_E_FORMAT);
    assert_null(st);
    if (!strstr(err.message, needle))
        fail_msg("message '%s' lacks '%s'", err.message, needle);
    free(buf);
    free(zeros);
}

static void test_round_trip_f32(void **state)
{
    (void)state;
    float w[6] = {1.5f, -2.0f, 0.0f, 3.25f, 1e-3f, -7.0f};
    float b[2] = {0.5f, -0.5f};
    cnn_test_tensor_t t[] = {
        {"layer.weight", "F32", 2, {2, 3}, w, sizeof w},
        {"layer.bias", "F32", 1, {2}, b, sizeof b},
    };
    char *dir = cnn_test_make_tmpdir();
    assert_non_null(dir);
    assert_int_equal(cnn_test_write_safetensors(dir, "w.safetensors", t, 2), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/w.safetensors", dir);

    cnn_safetensors_t *st = NULL;
    cnn_error_t err = {0};
    assert_int_equal(cnn_safetensors_open(path, &st, &err), CNN_OK);
    assert_non_null(st->map);
    assert_int_equal(st->num_tensors, 2);
    assert_string_equal(st->tensors[0].name, "layer.weight"); /* sorted by offset */
    const cnn_st_tensor_t *tw = cnn_safetensors_find(st, "layer.weight");
    const cnn_st_tensor_t *tb = cnn_safetensors_find(st, "layer.bias");
    assert_non_null(tw);
    assert_non_null(tb);
    assert_null(cnn_safetensors_find(st, "layer"));
    assert_int_equal(tw->dtype, CNN_DTYPE_F32);
    assert_int_equal(tw->ndim, 2);
    assert_int_equal(tw->dims[0], 2);
    assert_int_equal(tw->dims[1], 3);
    assert_int_equal(tw->nbytes, sizeof w);
    assert_memory_equal(tw->data, w, sizeof w);
    assert_memory_equal(tb->data, b, sizeof b);
    float out[6];
    assert_int_equal(cnn_dtype_to_f32(tw->dtype, tw->data, 6, out, &err), CNN_OK);
    assert_memory_equal(out, w, sizeof w);
    cnn_safetensors_close(st);
    cnn_test_remove_tree(dir);
    free(dir);
}

static void test_half_and_bfloat_conversion(void **state)
{
    (void)state;
    /* F16: 1.0, -2.0, 65504 (max), smallest subnormal 2^-24, largest subnormal, +inf, -0.0, nan */
    const uint16_t h[] = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x7c00, 0x8000, 0x7e00};
    /* BF16: 1.0, -3.0, 0.15625, +inf */
    const uint16_t bf[] = {0x3f80, 0xc040, 0x3e20, 0x7f80};
    const double d[] = {0.1, -1e300, 42.0};
    cnn_test_tensor_t t[] = {
        {"h", "F16", 1, {8}, h, sizeof h},
        {"bf", "BF16", 2, {2, 2}, bf, sizeof bf},
        {"d", "F64", 1, {3}, d, sizeof d},
        {"empty", "F32", 2, {0, 4}, NULL, 0},
        {"scalar", "F32", 0, {0}, (const float[]){9.0f}, 4},
    };
    size_t len = 0;
    uint8_t *buf = cnn_test_safetensors_build(t, 5, &len);
    cnn_safetensors_t *st = NULL;
    cnn_error_t err = {0};
    assert_int_equal(cnn_safetensors_parse(buf, len, &st, &err), CNN_OK);
    assert_null(st->map);
    assert_int_equal(st->num_tensors, 5);

    float out[8];
    const cnn_st_tensor_t *th = cnn_safetensors_find(st, "h");
    assert_int_equal(cnn_dtype_to_f32(th->dtype, th->data, 8, out, &err), CNN_OK);
    assert_true(out[0] == 1.0f);
    assert_true(out[1] == -2.0f);
    assert_true(out[2] == 65504.0f);
    assert_true(out[3] == ldexpf(1.0f, -24));
    assert_true(out[4] == 1023.0f * ldexpf(1.0f, -24));
    assert_true(isinf(out[5]) && out[5] > 0);
    assert_true(out[6] == 0.0f && signbit(out[6]));
    assert_true(isnan(out[7]));

    const cnn_st_tensor_t *tb = cnn_safetensors_find(st, "bf");
    assert_int_equal(cnn_dtype_to_f32(tb->dtype, tb->data, 4, out, &err), CNN_OK);
    assert_true(out[0] == 1.0f);
    assert_true(out[1] == -3.0f);
    assert_true(out[2] == 0.15625f);
    assert_true(isinf(out[3]));

    const cnn_st_tensor_t *td = cnn_safetensors_find(st, "d");
    assert_int_equal(cnn_dtype_to_f32(td->dtype, td->data, 3, out, &err), CNN_OK);
    assert_true(out[0] == 0.1f);
    assert_true(isinf(out[1]) && out[1] < 0);
    assert_true(out[2] == 42.0f);

    const cnn_st_tensor_t *te = cnn_safetensors_find(st, "empty");
    assert_int_equal(te->nbytes, 0);
    assert_int_equal(te->ndim, 2);
    const cnn_st_tensor_t *ts = cnn_safetensors_find(st, "scalar");
    assert_int_equal(ts->ndim, 0);
    assert_int_equal(ts->nbytes, 4);

    assert_int_equal(cnn_dtype_to_f32(CNN_DTYPE_I64, td->data, 1, out, &err), CNN_E_UNSUPPORTED);
    assert_non_null(strstr(err.message, "I64"));
    cnn_safetensors_close(st);
    free(buf);
}

static void test_dtype_table(void **state)
{
    (void)state;
    assert_string_equal(cnn_dtype_name(CNN_DTYPE_BF16), "BF16");
    assert_int_equal(cnn_dtype_size(CNN_DTYPE_F64), 8);
    assert_int_equal(cnn_dtype_size(CNN_DTYPE_BOOL), 1);
    assert_true(cnn_dtype_is_float(CNN_DTYPE_F16));
    assert_false(cnn_dtype_is_float(CNN_DTYPE_I32));
    char dims[32];
    cnn_dims_format((const int64_t[]){6, 1, 5, 5}, 4, dims, sizeof dims);
    assert_string_equal(dims, "[6,1,5,5]");
    cnn_dims_format(NULL, 0, dims, sizeof dims);
    assert_string_equal(dims, "[]");
}

static void test_empty_header_object_and_padding(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *buf = cnn_test_safetensors_raw("{}      ", NULL, 0, &len);
    cnn_safetensors_t *st = NULL;
    assert_int_equal(cnn_safetensors_parse(buf, len, &st, NULL), CNN_OK);
    assert_int_equal(st->num_tensors, 0);
    cnn_safetensors_close(st);
    free(buf);
}

static void test_truncated_file(void **state)
{
    (void)state;
    const uint8_t four[4] = {1, 0, 0, 0};
    cnn_safetensors_t *st = NULL;
    cnn_error_t err = {0};
    assert_int_equal(cnn_safetensors_parse(four, sizeof four, &st, &err), CNN_E_FORMAT);
    assert_non_null(strstr(err.message, "too short"));
    assert_int_equal(cnn_safetensors_parse(NULL, 0, &st, &err), CNN_E_FORMAT);

    /* A valid file cut off inside its data. */
    float w[4] = {1, 2, 3, 4};
    cnn_test_tensor_t t = {"w", "F32", 1, {4}, w, sizeof w};
    size_t len = 0;
    uint8_t *buf = cnn_test_safetensors_build(&t, 1, &len);
    assert_int_equal(cnn_safetensors_parse(buf, len - 3, &st, &err), CNN_E_FORMAT);
    assert_null(st);
    assert_non_null(strstr(err.message, "tensor 'w'"));
    assert_non_null(strstr(err.message, "past the"));
    /* ... and inside its header. */
    assert_int_equal(cnn_safetensors_parse(buf, 20, &st, &err), CNN_E_FORMAT);
    assert_non_null(strstr(err.message, "header length"));
    free(buf);
}

static void test_header_length_limits(void **state)
{
    (void)state;
    uint8_t buf[64] = {0};
    cnn_safetensors_t *st = NULL;
    cnn_error_t err = {0};
    assert_int_equal(cnn_safetensors_parse(buf, sizeof buf, &st, &err), CNN_E_FORMAT);
    assert_non_null(strstr(err.message, "header length is 0"));

    buf[0] = 100; /* 100 > 56 bytes left */
    assert_int_equal(cnn_safetensors_parse(buf, sizeof buf, &st, &err), CNN_E_FORMAT);
    assert_non_null(strstr(err.message, "runs past the end"));

    memset(buf, 0xff, 8); /* 2^64 - 1 */
    assert_int_equal(cnn_safetensors_parse(buf, sizeof buf, &st, &err), CNN_E_FORMAT);
    assert_non_null(strstr(err.message, "exceeds"));
    memset(buf, 0, 8);
    buf[0] = 0x01, buf[1] = 0xe1, buf[2] = 0xf5, buf[3] = 0x05; /* 100000001 */
    assert_int_equal(cnn_safetensors_parse(buf, sizeof buf, &st, &err), CNN_E_FORMAT);
    assert_non_null(strstr(err.message, "exceeds"));
    assert_null(st);
}

static void test_bad_json(void **state)
{
    (void)state;
    expect_bad("not json", 0, "not valid JSON");
    expect_bad("{\"a\":", 0, "not valid JSON");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}} x", 4, "after the JSON");
    expect_bad("[1,2]", 0, "not a JSON object");
    expect_bad("{\"a\":\"\\", 0, "not valid JSON"); /* ends in a backslash */
    expect_bad("{\"a\":[]}", 0, "tensor 'a': entry is not an object");
    expect_bad("{\"__metadata__\":{\"k\":1}}", 0, "\"__metadata__\" value 'k'");
    expect_bad("{\"__metadata__\":[]}", 0, "\"__metadata__\" is not an object");
}

static void test_bad_fields(void **state)
{
    (void)state;
    expect_bad("{\"x\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'x': missing \"dtype\"");
    expect_bad("{\"x\":{\"dtype\":\"Q8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
               "tensor 'x': unknown dtype 'Q8'");
    expect_bad("{\"x\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "tensor 'x': \"dtype\"");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "tensor 'x': missing \"shape\"");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
               "tensor 'x': \"shape\"[0] is not a non-negative integer");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[1,2.5],\"data_offsets\":[0,4]}}", 4,
               "tensor 'x': \"shape\"[1]");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4,
               "tensor 'x': \"shape\"[0]");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
               "tensor 'x': \"shape\" has more than 8 dims");
    expect_bad("{\"x\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8,
               "tensor 'x': \"shape\" size overflows");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,4]}}", 4, "tensor 'x'");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor 'x': missing \"data_offsets\"");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4,
               "tensor 'x': \"data_offsets\" is not");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4,
               "tensor 'x': \"data_offsets\" end 0 is before begin 4");
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4,
               "tensor 'x': \"data_offsets\" is not");
}

static void test_size_mismatch(void **state)
{
    (void)state;
    expect_bad("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20,
               "tensor 'x': \"data_offsets\" span 20 bytes but shape [2,3] of F32 needs 24");
    expect_bad("{\"x\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
               "tensor 'x': \"data_offsets\" span 8 bytes but shape [2] of F16 needs 4");
}

static void test_layout_errors(void **state)
{
    (void)state;
    /* overlapping */
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
               12, "tensor 'b': \"data_offsets\" begin 4 overlaps tensor 'a' ending at 8");
    /* identical spans */
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
               4, "overlaps tensor 'a'");
    /* gap */
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
               12, "tensor 'b': gap of 4 bytes");
    /* gap at the start */
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
               "tensor 'a': gap of 4 bytes");
    /* trailing bytes */
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 6,
               "2 trailing bytes");
    expect_bad("{}", 1, "1 trailing bytes");
    /* end beyond the data section */
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4,
               "tensor 'a': \"data_offsets\" end 8 is past the 4-byte data section");
}

static void test_duplicate_names(void **state)
{
    (void)state;
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
               8, "duplicate tensor name 'a'");
    expect_bad("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate tensor name '__metadata__'");
}

static void test_zero_length_tensors(void **state)
{
    (void)state;
    const char *header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                         "\"z\":{\"dtype\":\"I64\",\"shape\":[0],\"data_offsets\":[4,4]},"
                         "\"y\":{\"dtype\":\"U8\",\"shape\":[3,0],\"data_offsets\":[0,0]},"
                         "\"b\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[4,6]}}";
    uint8_t data[6] = {0};
    size_t len = 0;
    uint8_t *buf = cnn_test_safetensors_raw(header, data, sizeof data, &len);
    cnn_safetensors_t *st = NULL;
    cnn_error_t err = {0};
    assert_int_equal(cnn_safetensors_parse(buf, len, &st, &err), CNN_OK);
    assert_int_equal(st->num_tensors, 4);
    assert_string_equal(st->tensors[0].name, "y");
    assert_string_equal(st->tensors[3].name, "b");
    assert_ptr_equal(cnn_safetensors_find(st, "b")->data, buf + len - 2);
    cnn_safetensors_close(st);
    free(buf);
}

static void test_open_errors(void **state)
{
    (void)state;
    cnn_safetensors_t *st = NULL;
    cnn_error_t err = {0};
    assert_int_equal(cnn_safetensors_open("/nonexistent/w.safetensors", &st, &err), CNN_E_IO);
    assert_non_null(strstr(err.message, "/nonexistent/w.safetensors"));
    char *dir = cnn_test_make_tmpdir();
    assert_int_equal(cnn_safetensors_open(dir, &st, &err), CNN_E_IO); /* a directory */
    assert_int_equal(cnn_test_write_file(dir, "empty", "", 0), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/empty", dir);
    assert_int_equal(cnn_safetensors_open(path, &st, &err), CNN_E_FORMAT);
    assert_non_null(strstr(err.message, path));
    assert_non_null(strstr(err.message, "too short"));
    /* Errors inside the file are prefixed with its path too. */
    size_t len = 0;
    uint8_t *buf = cnn_test_safetensors_raw("{\"x\":{\"dtype\":\"Q8\",\"shape\":[],\"data_offsets\":[0,1]}}",
                                            "\0", 1, &len);
    assert_int_equal(cnn_test_write_file(dir, "bad", buf, len), 0);
    snprintf(path, sizeof path, "%s/bad", dir);
    assert_int_equal(cnn_safetensors_open(path, &st, &err), CNN_E_FORMAT);
    assert_null(st);
    assert_non_null(strstr(err.message, path));
    assert_non_null(strstr(err.message, "unknown dtype 'Q8'"));
    free(buf);
    cnn_test_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_f32),
        cmocka_unit_test(test_half_and_bfloat_conversion),
        cmocka_unit_test(test_dtype_table),
        cmocka_unit_test(test_empty_header_object_and_padding),
        cmocka_unit_test(test_truncated_file),
        cmocka_unit_test(test_header_length_limits),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_bad_fields),
        cmocka_unit_test(test_size_mismatch),
        cmocka_unit_test(test_layout_errors),
        cmocka_unit_test(test_duplicate_names),
        cmocka_unit_test(test_zero_length_tensors),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
