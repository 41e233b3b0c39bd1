/* .npy reader: header validation and float32 access. */
#include "npy.h"

#include "status.h"

#include <string.h>

static const uint8_t npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

bool srv_npy_is_npy(const uint8_t *buf, size_t len)
{
    return buf && len >= sizeof npy_magic && memcmp(buf, npy_magic, sizeof npy_magic) == 0;
}

/* A cursor over the header's Python-literal dict. */
typedef struct lexer {
    const char *p, *end;
} lexer_t;

static void skip_space(lexer_t *lx)
{
    while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\n' || *lx->p == '\r'))
        lx->p++;
}

static bool accept(lexer_t *lx, char c)
{
    skip_space(lx);
    if (lx->p < lx->end && *lx->p == c) {
        lx->p++;
        return true;
    }
    return false;
}

/* A quoted string (no escapes) into buf. */
static bool read_string(lexer_t *lx, char *buf, size_t size)
{
    skip_space(lx);
    if (lx->p >= lx->end || (*lx->p != '\'' && *lx->p != '"'))
        return false;
    char quote = *lx->p++;
    size_t n = 0;
    while (lx->p < lx->end && *lx->p != quote) {
        if (*lx->p == '\\' || n + 1 >= size)
            return false;
        buf[n++] = *lx->p++;
    }
    if (lx->p >= lx->end)
        return false;
    lx->p++;
    buf[n] = '\0';
    return true;
}

static bool accept_word(lexer_t *lx, const char *word)
{
    skip_space(lx);
    size_t n = strlen(word);
    if ((size_t)(lx->end - lx->p) >= n && memcmp(lx->p, word, n) == 0) {
        lx->p += n;
        return true;
    }
    return false;
}

/* A tuple of non-negative ints: "()", "(3,)", "(1, 2, 3)". */
static cnn_status_t read_shape(lexer_t *lx, srv_npy_t *out, cnn_error_t *err)
{
    if (!accept(lx, '('))
        return cnn_error_set(err, CNN_E_FORMAT, ".npy header: 'shape' must be a tuple");
    out->ndim = 0;
    for (;;) {
        if (accept(lx, ')'))
            return CNN_OK;
        skip_space(lx);
        if (lx->p >= lx->end || *lx->p < '0' || *lx->p > '9')
            return cnn_error_set(err, CNN_E_FORMAT, ".npy header: bad 'shape' tuple");
        if (out->ndim == SRV_NPY_MAX_DIMS)
            return cnn_error_set(err, CNN_E_UNSUPPORTED, ".npy header: more than %d dimensions",
                                 SRV_NPY_MAX_DIMS);
        int64_t v = 0;
        while (lx->p < lx->end && *lx->p >= '0' && *lx->p <= '9') {
            if (v > (INT64_C(1) << 40))
                return cnn_error_set(err, CNN_E_FORMAT, ".npy header: dimension too large");
            v = v * 10 + (*lx->p++ - '0');
        }
        out->dims[out->ndim++] = v;
        if (accept(lx, ')'))
            return CNN_OK;
        if (!accept(lx, ','))
            return cnn_error_set(err, CNN_E_FORMAT, ".npy header: bad 'shape' tuple");
    }
}

/* Parses the header dict; each of the three keys exactly once. */
static cnn_status_t parse_dict(lexer_t *lx, srv_npy_t *out, cnn_error_t *err)
{
    bool seen_descr = false, seen_order = false, seen_shape = false;
    if (!accept(lx, '{'))
        return cnn_error_set(err, CNN_E_FORMAT, ".npy header is not a dict");
    while (!accept(lx, '}')) {
        char key[32], descr[16];
        if (!read_string(lx, key, sizeof key) || !accept(lx, ':'))
            return cnn_error_set(err, CNN_E_FORMAT, ".npy header: malformed dict");
        cnn_status_t st;
        if (strcmp(key, "descr") == 0 && !seen_descr) {
            seen_descr = true;
            if (!read_string(lx, descr, sizeof descr))
                return cnn_error_set(err, CNN_E_FORMAT, ".npy header: 'descr' must be a string");
            if (strcmp(descr, "<f4") != 0)
                return cnn_error_set(err, CNN_E_UNSUPPORTED,
                                     ".npy dtype '%s' is not supported (need little-endian float32, '<f4')",
                                     descr);
        } else if (strcmp(key, "fortran_order") == 0 && !seen_order) {
            seen_order = true;
            if (accept_word(lx, "True"))
                return cnn_error_set(err, CNN_E_UNSUPPORTED, ".npy array is in Fortran order (need C order)");
            if (!accept_word(lx, "False"))
                return cnn_error_set(err, CNN_E_FORMAT, ".npy header: 'fortran_order' must be True or False");
        } else if (strcmp(key, "shape") == 0 && !seen_shape) {
            seen_shape = true;
            if ((st = read_shape(lx, out, err)) != CNN_OK)
                return st;
        } else {
            return cnn_error_set(err, CNN_E_FORMAT, ".npy header: unexpected or repeated key '%s'", key);
        }
        if (!accept(lx, ',')) {
            if (!accept(lx, '}'))
                return cnn_error_set(err, CNN_E_FORMAT, ".npy header: malformed dict");
            break;
        }
    }
    if (!seen_descr || !seen_order || !seen_shape)
        return cnn_error_set(err, CNN_E_FORMAT, ".npy header lacks '%s'",
                             !seen_descr ? "descr" : !seen_order ? "fortran_order" : "shape");
    skip_space(lx);
    if (lx->p != lx->end)
        return cnn_error_set(err, CNN_E_FORMAT, ".npy header: data after the dict");
    return CNN_OK;
}

cnn_status_t srv_npy_parse(const uint8_t *buf, size_t len, srv_npy_t *out, cnn_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (!srv_npy_is_npy(buf, len))
        return cnn_error_set(err, CNN_E_FORMAT, "not a .npy file (bad magic)");
    if (len < 10)
        return cnn_error_set(err, CNN_E_FORMAT, "truncated .npy header");
    uint8_t major = buf[6], minor = buf[7];
    if (major < 1 || major > 3 || minor != 0)
        return cnn_error_set(err, CNN_E_UNSUPPORTED, ".npy format version %u.%u is not supported",
                             major, minor);
    size_t prefix = major == 1 ? 10 : 12;
    if (len < prefix)
        return cnn_error_set(err, CNN_E_FORMAT, "truncated .npy header");
    size_t header_len = major == 1 ? (size_t)(buf[8] | buf[9] << 8)
                                   : (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 |
                                         (size_t)buf[11] << 24;
    if (header_len > len - prefix)
        return cnn_error_set(err, CNN_E_FORMAT, "truncated .npy header (%zu bytes announced)", header_len);
    lexer_t lx = {(const char *)buf + prefix, (const char *)buf + prefix + header_len};
    cnn_status_t st = parse_dict(&lx, out, err);
    if (st != CNN_OK)
        return st;
    size_t numel = 1;
    for (int i = 0; i < out->ndim; i++) {
        if (out->dims[i] != 0 && numel > SIZE_MAX / 4 / (size_t)out->dims[i])
            return cnn_error_set(err, CNN_E_FORMAT, ".npy shape is too large");
        numel *= (size_t)out->dims[i];
    }
    size_t data_len = len - prefix - header_len;
    if (data_len != numel * 4)
        return cnn_error_set(err, CNN_E_FORMAT, ".npy data is %zu bytes, shape needs %zu", data_len,
                             numel * 4);
    out->numel = numel;
    out->data = buf + prefix + header_len;
    return CNN_OK;
}

void srv_npy_copy(const srv_npy_t *a, size_t start, size_t count, float *dst)
{
    const uint8_t *p = a->data + start * 4;
    for (size_t i = 0; i < count; i++, p += 4) {
        uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        memcpy(&dst[i], &bits, sizeof bits);
    }
}
