/* Classify request bodies: raw images, multipart/form-data, JSON base64,
 * each accepted case checked byte for byte against the image files, and
 * every refusal checked for its HTTP status. */
#include "test_support.h"

#include "body_images.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct file {
    uint8_t *b;
    size_t n;
} file_t;

static file_t png1, png2, png3, jpg, bmp;

static file_t load(const char *rel)
{
    file_t f;
    f.b = cnn_test_read_source_file(rel, &f.n);
    assert_non_null(f.b);
    return f;
}

static int setup(void **state)
{
    (void)state;
    png1 = load("models/lenet5-fashion/samples/0_ankle_boot.png");
    png2 = load("models/lenet5-fashion/samples/1_pullover.png");
    png3 = load("models/lenet5-fashion/samples/2_trouser.png");
    jpg = load("tests/data/images/tiny.jpg");
    bmp = load("tests/data/images/tiny.bmp");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(png1.b);
    free(png2.b);
    free(png3.b);
    free(jpg.b);
    free(bmp.b);
    return 0;
}

/* A growing byte buffer for building bodies. */
typedef struct buf {
    uint8_t *b;
    size_t n;
} buf_t;

static void put(buf_t *d, const void *p, size_t n)
{
    d->b = realloc(d->b, d->n + n + 1);
    assert_non_null(d->b);
    memcpy(d->b + d->n, p, n);
    d->n += n;
}

static void puts_(buf_t *d, const char *s)
{
    put(d, s, strlen(s));
}

static const srv_body_limits_t *limits(void)
{
    static srv_body_limits_t l;
    l = SRV_BODY_LIMITS_DEFAULT;
    return &l;
}

/* Parses with a C-string Content-Type; returns the status (0 = accepted). */
static int parse_with(const char *ct, const uint8_t *body, size_t len, const srv_body_limits_t *lim,
                      srv_image_list_t *out, srv_error_t *err)
{
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    bool ok = srv_body_parse_images(ct, ct ? strlen(ct) : 0, body, len, lim, out, err);
    if (!ok) {
        assert_int_not_equal(err->http_status, 0);
        assert_true(err->message[0] != '\0');
    }
    return ok ? 0 : err->http_status;
}

/* Expects refusal with `status`, and `needle` in the message when given. */
static void expect_status(const char *ct, const uint8_t *body, size_t len, const srv_body_limits_t *lim,
                          int status, const char *needle)
{
    srv_image_list_t list;
    srv_error_t err;
    int got = parse_with(ct, body, len, lim ? lim : limits(), &list, &err);
    if (got != status || (needle && !strstr(err.message, needle)))
        fail_msg("expected %d (%s), got %d: %s", status, needle ? needle : "", got, err.message);
    srv_image_list_free(&list);
}

/* --- raw bodies ---------------------------------------------------------- */

static void expect_raw(const char *ct, file_t f, cnn_image_format_t fmt)
{
    srv_image_list_t list;
    srv_error_t err;
    int st = parse_with(ct, f.b, f.n, limits(), &list, &err);
    if (st != 0)
        fail_msg("%s: %d %s", ct, st, err.message);
    assert_int_equal(list.count, 1);
    assert_ptr_equal(list.items[0].bytes, f.b); /* zero copy */
    assert_int_equal(list.items[0].len, f.n);
    assert_int_equal(list.items[0].format, fmt);
    assert_null(list.owned);
    srv_image_list_free(&list);
}

static void test_raw_images(void **state)
{
    (void)state;
    expect_raw("image/png", png1, CNN_IMAGE_FORMAT_PNG);
    expect_raw("image/jpeg", jpg, CNN_IMAGE_FORMAT_JPEG);
    expect_raw("image/bmp", bmp, CNN_IMAGE_FORMAT_BMP);
    expect_raw("image/x-ms-bmp", bmp, CNN_IMAGE_FORMAT_BMP);
    expect_raw("application/octet-stream", jpg, CNN_IMAGE_FORMAT_JPEG);
    expect_raw("IMAGE/PNG ; foo=\"bar baz\";", png2, CNN_IMAGE_FORMAT_PNG);
}

static void test_raw_refusals(void **state)
{
    (void)state;
    static const uint8_t text[] = "hello, world";
    expect_status("image/png", jpg.b, jpg.n, NULL, 415, "declared image/png but its bytes are image/jpeg");
    expect_status("image/jpeg", bmp.b, bmp.n, NULL, 415, "image/bmp");
    expect_status("application/octet-stream", text, sizeof text - 1, NULL, 415, "magic");
    expect_status("image/png", png1.b, 0, NULL, 400, "empty");
    expect_status(NULL, png1.b, png1.n, NULL, 415, "no Content-Type");
    expect_status("text/plain", png1.b, png1.n, NULL, 415, "multipart/form-data, application/json");
    expect_status("image/gif", png1.b, png1.n, NULL, 415, "unsupported media type image/gif");
    expect_status("image", png1.b, png1.n, NULL, 400, "malformed Content-Type");
    expect_status("image/png; charset", png1.b, png1.n, NULL, 400, "'='");
    expect_status("image/png; a=\"unterminated", png1.b, png1.n, NULL, 400, "unterminated");
    expect_status("image/png; a=1; A=2", png1.b, png1.n, NULL, 400, "twice");
    srv_body_limits_t small = {256, png1.n - 1};
    expect_status("image/png", png1.b, png1.n, &small, 413, "too large");

    srv_image_list_t list;
    srv_error_t err;
    memset(&list, 0, sizeof list);
    static const char ct_nul[] = "image/png\0x";
    assert_false(srv_body_parse_images(ct_nul, sizeof ct_nul - 1, png1.b, png1.n, limits(), &list, &err));
    assert_int_equal(err.http_status, 400);
    assert_non_null(strstr(err.message, "NUL"));
    srv_image_list_free(&list);
}

/* --- multipart ----------------------------------------------------------- */

typedef struct part {
    const char *headers; /* lines, each ending in CRLF */
    file_t data;
} part_t;

static buf_t multipart(const char *boundary, const char *preamble, const part_t *parts, int n,
                       const char *epilogue)
{
    buf_t d = {NULL, 0};
    puts_(&d, preamble);
    for (int i = 0; i < n; i++) {
        if (i > 0 || preamble[0])
            puts_(&d, "\r\n");
        puts_(&d, "--");
        puts_(&d, boundary);
        puts_(&d, "\r\n");
        puts_(&d, parts[i].headers);
        puts_(&d, "\r\n");
        put(&d, parts[i].data.b, parts[i].data.n);
    }
    puts_(&d, "\r\n--");
    puts_(&d, boundary);
    puts_(&d, "--");
    puts_(&d, epilogue);
    return d;
}

static void test_multipart_three_pngs(void **state)
{
    (void)state;
    const char *boundary = "----WebKitFormBoundary7MA4YWxk'()+_,-./:=? x";
    part_t parts[3] = {
        {"Content-Disposition: form-data; name=\"image\"; filename=\"boot.png\"\r\n"
         "Content-Type: image/png\r\n",
         png1},
        {"content-type: IMAGE/PNG\r\ncontent-disposition: form-data; name=\"image\"; filename=\"a \\\"q\\\".png\"\r\n"
         "X-Other: ignored\r\n",
         png2},
        {"Content-Disposition: form-data; name=image2\r\n", png3}, /* no type: the magic decides */
    };
    buf_t d = multipart(boundary, "This is the preamble.\r\n--not the boundary", parts, 3,
                        "\r\nepilogue\r\n--x--\r\n");
    char ct[160];
    snprintf(ct, sizeof ct, "Multipart/Form-Data; charset=utf-8; BOUNDARY=\"%s\"", boundary);
    srv_image_list_t list;
    srv_error_t err;
    int st = parse_with(ct, d.b, d.n, limits(), &list, &err);
    if (st != 0)
        fail_msg("%d %s", st, err.message);
    assert_int_equal(list.count, 3);
    const file_t *want[3] = {&png1, &png2, &png3};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(list.items[i].len, want[i]->n);
        assert_memory_equal(list.items[i].bytes, want[i]->b, want[i]->n);
        assert_true(list.items[i].bytes > d.b && list.items[i].bytes < d.b + d.n); /* a slice */
        assert_int_equal(list.items[i].format, CNN_IMAGE_FORMAT_PNG);
    }
    assert_string_equal(list.items[0].field, "image");
    assert_string_equal(list.items[0].filename, "boot.png");
    assert_string_equal(list.items[1].filename, "a \"q\".png");
    assert_string_equal(list.items[2].field, "image2");
    assert_string_equal(list.items[2].filename, "");
    assert_int_equal(list.total_bytes, png1.n + png2.n + png3.n);
    srv_image_list_free(&list);
    free(d.b);
}

static void test_multipart_mixed_formats_unquoted_boundary(void **state)
{
    (void)state;
    part_t parts[2] = {
        {"Content-Disposition: form-data; name=\"a\"\r\nContent-Type: image/jpeg\r\n", jpg},
        {"Content-Disposition: form-data; name=\"b\"\r\nContent-Type: application/octet-stream\r\n"
         "Content-Transfer-Encoding: binary\r\n",
         bmp},
    };
    buf_t d = multipart("xyz", "", parts, 2, "");
    srv_image_list_t list;
    srv_error_t err;
    int st = parse_with("multipart/form-data;boundary=xyz", d.b, d.n, limits(), &list, &err);
    if (st != 0)
        fail_msg("%d %s", st, err.message);
    assert_int_equal(list.count, 2);
    assert_int_equal(list.items[0].format, CNN_IMAGE_FORMAT_JPEG);
    assert_int_equal(list.items[1].format, CNN_IMAGE_FORMAT_BMP);
    assert_memory_equal(list.items[1].bytes, bmp.b, bmp.n);
    srv_image_list_free(&list);
    free(d.b);

    /* Transport padding after a delimiter is allowed. */
    buf_t e = {NULL, 0};
    puts_(&e, "--xyz  \t\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n");
    put(&e, png1.b, png1.n);
    puts_(&e, "\r\n--xyz--");
    st = parse_with("multipart/form-data; boundary=xyz", e.b, e.n, limits(), &list, &err);
    if (st != 0)
        fail_msg("%d %s", st, err.message);
    assert_int_equal(list.count, 1);
    assert_int_equal(list.items[0].len, png1.n);
    srv_image_list_free(&list);
    free(e.b);
}

/* A body of one part with `headers` and `data` under boundary "b". */
static buf_t one_part(const char *headers, file_t data)
{
    part_t p = {headers, data};
    return multipart("b", "", &p, 1, "");
}

static void expect_multipart(const char *ct, buf_t d, const srv_body_limits_t *lim, int status,
                             const char *needle)
{
    expect_status(ct, d.b, d.n, lim, status, needle);
    free(d.b);
}

static void test_multipart_boundary_refusals(void **state)
{
    (void)state;
    const char *h = "Content-Disposition: form-data; name=\"a\"\r\n";
    expect_multipart("multipart/form-data", one_part(h, png1), NULL, 400, "without a boundary");
    expect_multipart("multipart/form-data; boundary=\"\"", one_part(h, png1), NULL, 400, "empty");
    expect_multipart("multipart/form-data; boundary=\"a\"\"", one_part(h, png1), NULL, 400, "malformed");
    expect_multipart("multipart/form-data; boundary=a!b", one_part(h, png1), NULL, 400, "invalid character");
    expect_multipart("multipart/form-data; boundary=\"ab \"", one_part(h, png1), NULL, 400, "space");
    char ct[200];
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%071d", 0);
    expect_multipart(ct, one_part(h, png1), NULL, 400, "71 characters");
    expect_multipart("multipart/mixed; boundary=b", one_part(h, png1), NULL, 415, "multipart/mixed");

    /* NUL inside the boundary, quoted or not. */
    static const char nul1[] = "multipart/form-data; boundary=\"a\0b\"";
    static const char nul2[] = "multipart/form-data; boundary=a\0b";
    const char *cts[2] = {nul1, nul2};
    size_t lens[2] = {sizeof nul1 - 1, sizeof nul2 - 1};
    for (int i = 0; i < 2; i++) {
        srv_image_list_t list;
        srv_error_t err;
        memset(&list, 0, sizeof list);
        assert_false(srv_body_parse_images(cts[i], lens[i], png1.b, png1.n, limits(), &list, &err));
        assert_int_equal(err.http_status, 400);
        assert_non_null(strstr(err.message, "NUL"));
        srv_image_list_free(&list);
    }
}

static void test_multipart_structure_refusals(void **state)
{
    (void)state;
    const char *ct = "multipart/form-data; boundary=b";
    const char *h = "Content-Disposition: form-data; name=\"a\"\r\n";

    /* No closing delimiter: truncated body. */
    buf_t d = one_part(h, png1);
    d.n -= 5;
    expect_multipart(ct, d, NULL, 400, "no closing delimiter");

    /* No opening delimiter at all. */
    buf_t e = {NULL, 0};
    put(&e, png1.b, png1.n);
    expect_multipart(ct, e, NULL, 400, "no opening delimiter");

    /* LF-only line breaks. */
    buf_t f = {NULL, 0};
    puts_(&f, "--b\nContent-Disposition: form-data; name=\"a\"\n\n");
    put(&f, png1.b, png1.n);
    puts_(&f, "\n--b--\n");
    expect_multipart(ct, f, NULL, 400, "bare LF");
    buf_t g = {NULL, 0};
    puts_(&g, "preamble\n--b\r\n");
    expect_multipart(ct, g, NULL, 400, "bare LF");

    /* No parts. */
    buf_t z = {NULL, 0};
    puts_(&z, "--b--\r\n");
    expect_multipart(ct, z, NULL, 400, "no parts");

    /* Delimiter line followed by junk. */
    buf_t j = {NULL, 0};
    puts_(&j, "--bX\r\n");
    expect_multipart(ct, j, NULL, 400, "not ended by CRLF");

    /* Malformed part headers. */
    expect_multipart(ct, one_part("Content-Disposition form-data\r\n", png1), NULL, 400, "':'");
    expect_multipart(ct, one_part(": x\r\n", png1), NULL, 400, "':'");
    expect_multipart(ct, one_part("Content-Disposition: form-data;\r\n name=\"a\"\r\n", png1), NULL, 400,
                     "folded");
    expect_multipart(ct, one_part("Content-Type: image/png\r\n", png1), NULL, 400, "no Content-Disposition");
    expect_multipart(ct, one_part("Content-Disposition: attachment; name=\"a\"\r\n", png1), NULL, 400,
                     "not form-data");
    expect_multipart(ct, one_part("Content-Disposition: form-data; filename=\"x.png\"\r\n", png1), NULL, 400,
                     "no name");
    expect_multipart(ct, one_part("Content-Disposition: form-data; name=\"a\r\n", png1), NULL, 400,
                     "unterminated");
    expect_multipart(ct,
                     one_part("Content-Disposition: form-data; name=a\r\nContent-Disposition: form-data; "
                              "name=b\r\n",
                              png1),
                     NULL, 400, "twice");
    expect_multipart(ct, one_part("Content-Disposition: form-data; name=a\r\nContent-Type: image\r\n", png1),
                     NULL, 400, "malformed part 1 Content-Type");
    expect_multipart(ct, one_part("Content-Disposition: form-data; name=a\r\nBad Name: x\r\n", png1), NULL,
                     400, "white space");
    expect_multipart(ct,
                     one_part("Content-Disposition: form-data; name=a\r\nContent-Transfer-Encoding: base64\r\n",
                              png1),
                     NULL, 400, "base64");
    buf_t nh = {NULL, 0};
    puts_(&nh, "--b\r\nContent-Disposition: form-data; name=a");
    expect_multipart(ct, nh, NULL, 400, "headers not ended");
    char many[17 * 8 + 64] = "Content-Disposition: form-data; name=a\r\n";
    for (int i = 0; i < 16; i++)
        strcat(many, "X: y\r\n");
    expect_multipart(ct, one_part(many, png1), NULL, 400, "more than 16 header lines");
}

static void test_multipart_content_refusals(void **state)
{
    (void)state;
    const char *ct = "multipart/form-data; boundary=b";
    file_t text = {(uint8_t *)"top_k=3", 7};
    file_t empty = {(uint8_t *)"", 0};
    expect_multipart(ct, one_part("Content-Disposition: form-data; name=\"top_k\"\r\n", text), NULL, 415,
                     "magic");
    expect_multipart(ct,
                     one_part("Content-Disposition: form-data; name=\"a\"\r\nContent-Type: text/plain\r\n", png1),
                     NULL, 415, "unsupported media type text/plain");
    expect_multipart(ct,
                     one_part("Content-Disposition: form-data; name=\"a\"\r\nContent-Type: image/bmp\r\n", png1),
                     NULL, 415, "declared image/bmp");
    expect_multipart(ct, one_part("Content-Disposition: form-data; name=\"a\"\r\n", empty), NULL, 400,
                     "empty");

    part_t parts[3] = {{"Content-Disposition: form-data; name=a\r\n", png1},
                       {"Content-Disposition: form-data; name=a\r\n", png2},
                       {"Content-Disposition: form-data; name=a\r\n", png3}};
    srv_body_limits_t two = {2, 1u << 20};
    expect_multipart(ct, multipart("b", "", parts, 3, ""), &two, 413, "too many images");
    srv_body_limits_t bytes = {256, png1.n + png2.n + png3.n - 1};
    expect_multipart(ct, multipart("b", "", parts, 3, ""), &bytes, 413, "too large");
    srv_body_limits_t exact = {3, png1.n + png2.n + png3.n};
    buf_t d = multipart("b", "", parts, 3, "");
    srv_image_list_t list;
    srv_error_t err;
    assert_int_equal(parse_with(ct, d.b, d.n, &exact, &list, &err), 0);
    assert_int_equal(list.count, 3);
    srv_image_list_free(&list);
    free(d.b);
}

/* --- JSON base64 --------------------------------------------------------- */

/* Base64 of f: url-safe alphabet or not, with or without padding, a line
 * break every `wrap` characters (0: none). */
static void b64(buf_t *d, file_t f, bool url, bool pad, int wrap)
{
    const char *a = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                        : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int col = 0;
    for (size_t i = 0; i < f.n; i += 3) {
        uint32_t v = (uint32_t)f.b[i] << 16;
        size_t k = f.n - i < 3 ? f.n - i : 3;
        if (k > 1)
            v |= (uint32_t)f.b[i + 1] << 8;
        if (k > 2)
            v |= f.b[i + 2];
        for (size_t j = 0; j < 4; j++) {
            char c = j <= k ? a[(v >> (18 - 6 * j)) & 63] : '=';
            if (c == '=' && !pad)
                continue;
            put(d, &c, 1);
            if (wrap && ++col % wrap == 0)
                puts_(d, "\\r\\n");
        }
    }
}

static void test_json_images(void **state)
{
    (void)state;
    buf_t d = {NULL, 0};
    puts_(&d, " {\"images\": [\"");
    b64(&d, png1, false, true, 0);
    puts_(&d, "\", \"");
    b64(&d, jpg, false, true, 76);
    puts_(&d, "\", \"");
    b64(&d, bmp, true, false, 0);
    puts_(&d, "\", \"data:image/png;base64,");
    b64(&d, png2, false, true, 0);
    puts_(&d, "\", \"DATA:;BASE64,");
    b64(&d, png3, true, true, 10);
    puts_(&d, "\"]}\n");
    srv_image_list_t list;
    srv_error_t err;
    int st = parse_with("application/json; charset=utf-8", d.b, d.n, limits(), &list, &err);
    if (st != 0)
        fail_msg("%d %s", st, err.message);
    assert_int_equal(list.count, 5);
    const file_t *want[5] = {&png1, &jpg, &bmp, &png2, &png3};
    const cnn_image_format_t fmt[5] = {CNN_IMAGE_FORMAT_PNG, CNN_IMAGE_FORMAT_JPEG, CNN_IMAGE_FORMAT_BMP,
                                       CNN_IMAGE_FORMAT_PNG, CNN_IMAGE_FORMAT_PNG};
    assert_non_null(list.owned);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(list.items[i].len, want[i]->n);
        assert_memory_equal(list.items[i].bytes, want[i]->b, want[i]->n);
        assert_int_equal(list.items[i].format, fmt[i]);
    }
    srv_image_list_free(&list);
    free(d.b);
}

/* A JSON body whose images array is the text `inner`. */
static void expect_json(const char *text, const srv_body_limits_t *lim, int status, const char *needle)
{
    expect_status("application/json", (const uint8_t *)text, strlen(text), lim, status, needle);
}

static void test_json_refusals(void **state)
{
    (void)state;
    expect_json("{\"images\": [\"", NULL, 400, "invalid JSON");
    expect_json("", NULL, 400, "invalid JSON");
    expect_json("{\"images\": []} x", NULL, 400, "after the value");
    expect_json("[\"iVBORw0KGgo=\"]", NULL, 400, "must be an object");
    expect_json("{\"images\": [], \"top_k\": 3}", NULL, 400, "unknown key \"top_k\"");
    expect_json("{}", NULL, 400, "needs \"images\"");
    expect_json("{\"images\": \"iVBORw0KGgo=\"}", NULL, 400, "needs \"images\"");
    expect_json("{\"images\": []}", NULL, 400, "empty");
    expect_json("{\"images\": [\"\"], \"images\": [\"\"]}", NULL, 400, "twice");
    expect_json("{\"images\": [1]}", NULL, 400, "images[0] is not a string");
    expect_json("{\"images\": [\"iVBO*w0KGgo=\"]}", NULL, 400, "invalid base64 character 0x2a at offset 4");
    expect_json("{\"images\": [\"iVBORw0KGg=\"]}", NULL, 400, "padding");
    expect_json("{\"images\": [\"iVBORw0KGgo==\"]}", NULL, 400, "padding");
    expect_json("{\"images\": [\"iVBO=Rw0KGgo\"]}", NULL, 400, "after '=' padding");
    expect_json("{\"images\": [\"iVBORw0KG\"]}", NULL, 400, "truncated base64");
    expect_json("{\"images\": [\"iVB+Rw0KGg_=\"]}", NULL, 400, "mixes");
    expect_json("{\"images\": [\"\"]}", NULL, 400, "empty");
    expect_json("{\"images\": [\"aGVsbG8gd29ybGQ=\"]}", NULL, 415, "magic");
    expect_json("{\"images\": [\"data:image/jpeg;base64,iVBORw0KGgo=\"]}", NULL, 415, "declared image/jpeg");
    expect_json("{\"images\": [\"data:text/plain;base64,iVBORw0KGgo=\"]}", NULL, 415, "text/plain");
    expect_json("{\"images\": [\"data:image/png,iVBORw0KGgo=\"]}", NULL, 400, "base64");
    expect_json("{\"images\": [\"data:image/png;base64\"]}", NULL, 400, "','");
    srv_body_limits_t two = {2, 1u << 20};
    expect_json("{\"images\": [\"iVBORw0KGgo=\", \"iVBORw0KGgo=\", \"x\"]}", &two, 413, "too many images");
    srv_body_limits_t seven = {256, 7};
    expect_json("{\"images\": [\"iVBORw0KGgo=\"]}", &seven, 413, "too large"); /* 8 bytes */
    srv_body_limits_t eight = {256, 8};
    srv_image_list_t list;
    srv_error_t err;
    const char *ok = "{\"images\": [\"iVBORw0KGgo=\"]}"; /* just the PNG signature */
    assert_int_equal(parse_with("application/json", (const uint8_t *)ok, strlen(ok), &eight, &list, &err), 0);
    assert_int_equal(list.items[0].len, 8);
    assert_int_equal(list.items[0].format, CNN_IMAGE_FORMAT_PNG);
    srv_image_list_free(&list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_images),
        cmocka_unit_test(test_raw_refusals),
        cmocka_unit_test(test_multipart_three_pngs),
        cmocka_unit_test(test_multipart_mixed_formats_unquoted_boundary),
        cmocka_unit_test(test_multipart_boundary_refusals),
        cmocka_unit_test(test_multipart_structure_refusals),
        cmocka_unit_test(test_multipart_content_refusals),
        cmocka_unit_test(test_json_images),
        cmocka_unit_test(test_json_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
