/* The libhdf5 side of the Keras importer's HDF5 access (keras_h5_live.h). */
#include "keras_h5_live.h"

#include "status.h"

#include <hdf5.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bounds on what one attribute or dataset may make us allocate. Data
 * stored without filters is further bounded by the file's size. */
#define H5_MAX_STRING_BYTES ((size_t)64 << 20)
#define H5_MAX_STRINGS 1000000
#define H5_MAX_FLOATS ((int64_t)1 << 28)

/* The caller's file image, handed to HDF5's core driver without copies. */
typedef struct h5_image {
    const void *data;
    size_t len;
} h5_image_t;

struct tools_h5_live {
    hid_t file;
    hid_t access; /* link/dataset access list that refuses external links */
    size_t len;
    h5_image_t image; /* HDF5 keeps a pointer to it while the file is open */
};

/* HDF5's most specific message for the error on its stack (the innermost
 * function's description), then clears the stack. */
typedef struct h5_msg {
    char text[200];
} h5_msg_t;

static herr_t innermost(unsigned n, const H5E_error2_t *e, void *data)
{
    h5_msg_t *m = data;
    if (n == 0 && e->desc)
        snprintf(m->text, sizeof m->text, "%s", e->desc);
    return 0;
}

/* Sets err to "<what> (HDF5: <HDF5's message>)" and returns status. */
static cnn_status_t h5_fail(cnn_error_t *err, cnn_status_t status, const char *fmt, ...) CNN_PRINTF(3, 4);
static cnn_status_t h5_fail(cnn_error_t *err, cnn_status_t status, const char *fmt, ...)
{
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    h5_msg_t m = {{0}};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, &m);
    H5Eclear2(H5E_DEFAULT);
    if (m.text[0])
        return cnn_error_set(err, status, "%s (HDF5: %s)", what, m.text);
    return cnn_error_set(err, status, "%s", what);
}

static void close_id(hid_t id, herr_t (*fn)(hid_t))
{
    if (id >= 0)
        fn(id);
}

/* The HDF5 superblock signature sits at offset 0, 512, 1024, 2048, ...:
 * where libhdf5 looks, in its order. SIZE_MAX when absent. */
static size_t find_superblock(const unsigned char *p, size_t len)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    for (size_t off = 0; off + sizeof sig <= len; off = off ? off * 2 : 512)
        if (memcmp(p + off, sig, sizeof sig) == 0)
            return off;
    return SIZE_MAX;
}

/* External links would make a weight file read other files: refused. */
static herr_t refuse_external_link(const char *parent_file, const char *parent_group, const char *target,
                                   const char *obj, unsigned *flags, hid_t fapl, void *data)
{
    (void)parent_file, (void)parent_group, (void)target, (void)obj, (void)flags, (void)fapl, (void)data;
    return -1;
}

/* File image callbacks: every "allocation" of the image is the caller's
 * buffer itself, so copies are no-ops; the file is opened read-only, so
 * nothing ever grows (realloc) or writes into it. */
static void *image_malloc(size_t size, H5FD_file_image_op_t op, void *udata)
{
    (void)op;
    h5_image_t *im = udata;
    return size == im->len ? (void *)im->data : NULL;
}

static void *image_memcpy(void *dest, const void *src, size_t size, H5FD_file_image_op_t op, void *udata)
{
    (void)size, (void)op, (void)udata;
    return dest == src ? dest : NULL;
}

static void *image_realloc(void *ptr, size_t size, H5FD_file_image_op_t op, void *udata)
{
    (void)ptr, (void)size, (void)op, (void)udata;
    return NULL;
}

static herr_t image_free(void *ptr, H5FD_file_image_op_t op, void *udata)
{
    (void)ptr, (void)op, (void)udata;
    return 0;
}

/* Property lists copied by HDF5 share the one h5_image_t. */
static void *image_udata_copy(void *udata)
{
    return udata;
}

static herr_t image_udata_free(void *udata)
{
    (void)udata;
    return 0;
}

/* Opens f->image read-only through the core driver. */
static hid_t open_image(tools_h5_live_t *f)
{
    H5FD_file_image_callbacks_t cb = {image_malloc,     image_memcpy,     image_realloc, image_free,
                                      image_udata_copy, image_udata_free, &f->image};
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    hid_t file = -1;
    if (fapl >= 0 && H5Pset_fapl_core(fapl, 65536, 0) >= 0 && H5Pset_file_image_callbacks(fapl, &cb) >= 0 &&
        H5Pset_file_image(fapl, (void *)f->image.data, f->image.len) >= 0)
        file = H5Fopen("keras-model.h5", H5F_ACC_RDONLY, fapl);
    /* Keep HDF5's error for the message: H5Pclose would clear it. */
    hid_t stack = H5Eget_current_stack();
    close_id(fapl, H5Pclose);
    if (stack >= 0)
        H5Eset_current_stack(stack);
    return file;
}

cnn_status_t tools_h5_live_open_memory(const void *data, size_t len, tools_h5_live_t **out, cnn_error_t *err)
{
    *out = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    size_t superblock = find_superblock(data, len);
    if (superblock == SIZE_MAX)
        return cnn_error_set(err, CNN_E_FORMAT, "not an HDF5 file (no HDF5 signature)");
    cnn_status_t st = tools_h5_check_global_heaps(data, len, superblock, err);
    if (st != CNN_OK)
        return st;
    tools_h5_live_t *f = calloc(1, sizeof *f);
    if (!f)
        return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
    f->len = len;
    f->file = -1;
    f->access = H5Pcreate(H5P_DATASET_ACCESS);
    if (f->access < 0 || H5Pset_elink_cb(f->access, refuse_external_link, NULL) < 0) {
        st = h5_fail(err, CNN_E_BACKEND, "cannot set up HDF5");
        tools_h5_live_close(f);
        return st;
    }
    f->image = (h5_image_t){data, len};
    f->file = open_image(f);
    if (f->file < 0) {
        st = h5_fail(err, CNN_E_FORMAT, "not a readable HDF5 file");
        tools_h5_live_close(f);
        return st;
    }
    *out = f;
    return CNN_OK;
}

void tools_h5_live_close(tools_h5_live_t *f)
{
    if (!f)
        return;
    if (f->file >= 0 && H5Fclose(f->file) < 0)
        H5Eclear2(H5E_DEFAULT);
    close_id(f->access, H5Pclose);
    free(f);
}

bool tools_h5_live_has_object(tools_h5_live_t *f, const char *obj)
{
    /* H5Oexists_by_name fails (rather than answering false) when a parent
     * group is missing; both mean "not there". */
    htri_t r = H5Oexists_by_name(f->file, obj, f->access);
    if (r < 0)
        H5Eclear2(H5E_DEFAULT);
    return r > 0;
}

void tools_h5_free_strings(char **list, int count)
{
    if (!list)
        return;
    for (int i = 0; i < count; i++)
        free(list[i]);
    free(list);
}

/* Copies n fixed-size, NUL-padded strings of `size` bytes each. */
static bool copy_fixed(const char *buf, size_t size, int n, char **list)
{
    for (int i = 0; i < n; i++) {
        const char *s = buf + (size_t)i * size;
        size_t l = strnlen(s, size);
        if (!(list[i] = malloc(l + 1)))
            return false;
        memcpy(list[i], s, l);
        list[i][l] = '\0';
    }
    return true;
}

/* Reads the strings of an open attribute into list[0..n). */
static cnn_status_t read_attr_values(hid_t attr, hid_t ftype, hid_t space, int n, char **list,
                                     const char *what, cnn_error_t *err)
{
    cnn_status_t st = CNN_OK;
    /* HDF5 converts between string sizes and paddings, not character sets. */
    hid_t mtype = H5Tcopy(H5T_C_S1);
    htri_t vlen = H5Tis_variable_str(ftype);
    H5T_cset_t cset = H5Tget_cset(ftype);
    if (mtype < 0 || vlen < 0 || cset < 0 || H5Tset_cset(mtype, cset) < 0) {
        close_id(mtype, H5Tclose);
        return h5_fail(err, CNN_E_FORMAT, "cannot read attribute %s", what);
    }
    if (vlen) {
        char **ptrs = calloc((size_t)n, sizeof *ptrs);
        if (!ptrs) {
            H5Tclose(mtype);
            return cnn_error_set(err, CNN_E_NOMEM, "out of memory");
        }
        if (H5Tset_size(mtype, H5T_VARIABLE) < 0 || H5Aread(attr, mtype, ptrs) < 0) {
            st = h5_fail(err, CNN_E_FORMAT, "cannot read attribute %s", what);
        } else {
            size_t total = 0;
            for (int i = 0; i < n && st == CNN_OK; i++) {
                const char *s = ptrs[i] ? ptrs[i] : "";
                total += strlen(s);
                if (total > H5_MAX_STRING_BYTES)
                    st = cnn_error_set(err, CNN_E_FORMAT, "attribute %s is too large", what);
                else if (!(list[i] = strdup(s)))
                    st = cnn_error_set(err, CNN_E_NOMEM, "out of memory");
            }
#if H5_VERSION_GE(1, 12, 0)
            H5Treclaim(mtype, space, H5P_DEFAULT, ptrs);
#else
            H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, ptrs);
#endif
        }
        free(ptrs);
    } else {
        size_t size = H5Tget_size(ftype);
        char *buf = NULL;
        if (size == 0 || size > H5_MAX_STRING_BYTES / (size_t)n)
            st = cnn_error_set(err, CNN_E_FORMAT, "attribute %s has a bad string size", what);
        else if (!(buf = calloc((size_t)n, size)))
            st = cnn_error_set(err, CNN_E_NOMEM, "out of memory");
        else if (H5Tset_size(mtype, size) < 0 || H5Tset_strpad(mtype, H5T_STR_NULLPAD) < 0 ||
                 H5Aread(attr, mtype, buf) < 0)
            st = h5_fail(err, CNN_E_FORMAT, "cannot read attribute %s", what);
        else if (!copy_fixed(buf, size, n, list))
            st = cnn_error_set(err, CNN_E_NOMEM, "out of memory");
        free(buf);
    }
    H5Tclose(mtype);
    return st;
}

/* Reads one attribute's strings (any count) and appends them to *list. */
static cnn_status_t read_attr(tools_h5_live_t *f, const char *obj, const char *name, char ***list, int *count,
                              cnn_error_t *err)
{
    char what[300];
    snprintf(what, sizeof what, "'%s' of '%s'", name, obj);
    hid_t attr = H5Aopen_by_name(f->file, obj, name, H5P_DEFAULT, f->access);
    hid_t type = attr >= 0 ? H5Aget_type(attr) : -1;
    hid_t space = attr >= 0 ? H5Aget_space(attr) : -1;
    cnn_status_t st = CNN_OK;
    if (type < 0 || space < 0) {
        st = h5_fail(err, CNN_E_FORMAT, "cannot open attribute %s", what);
        goto done;
    }
    hssize_t n = H5Sget_simple_extent_npoints(space);
    int rank = H5Sget_simple_extent_ndims(space);
    H5T_class_t cls = H5Tget_class(type);
    if (n < 0 || rank < 0 || rank > 1) {
        st = h5_fail(err, CNN_E_FORMAT, "attribute %s is not a scalar or a list", what);
        goto done;
    }
    if (n == 0)
        goto done; /* h5py stores an empty list as an empty float64 array */
    if (cls != H5T_STRING) {
        st = cnn_error_set(err, CNN_E_FORMAT, "attribute %s is not a string", what);
        goto done;
    }
    if (n > H5_MAX_STRINGS - *count) {
        st = cnn_error_set(err, CNN_E_FORMAT, "attribute %s has too many strings", what);
        goto done;
    }
    char **grown = realloc(*list, (size_t)(*count + n) * sizeof *grown);
    if (!grown) {
        st = cnn_error_set(err, CNN_E_NOMEM, "out of memory");
        goto done;
    }
    *list = grown;
    memset(grown + *count, 0, (size_t)n * sizeof *grown);
    st = read_attr_values(attr, type, space, (int)n, grown + *count, what, err);
    *count += (int)n; /* entries left NULL on failure are freed harmlessly */
done:
    close_id(space, H5Sclose);
    close_id(type, H5Tclose);
    close_id(attr, H5Aclose);
    return st;
}

/* 1 when attribute `name` of `obj` exists, 0 when not, negative status on error. */
static int attr_exists(tools_h5_live_t *f, const char *obj, const char *name, cnn_error_t *err)
{
    htri_t r = H5Aexists_by_name(f->file, obj, name, f->access);
    if (r < 0)
        return h5_fail(err, CNN_E_FORMAT, "cannot look up attribute '%s' of '%s'", name, obj);
    return r > 0;
}

cnn_status_t tools_h5_live_read_strings(tools_h5_live_t *f, const char *obj, const char *attr, char ***out,
                                   int *count, cnn_error_t *err)
{
    *out = NULL;
    *count = 0;
    int r = attr_exists(f, obj, attr, err);
    if (r < 0)
        return (cnn_status_t)r;
    cnn_status_t st = CNN_OK;
    if (r) {
        st = read_attr(f, obj, attr, out, count, err);
    } else {
        /* Keras' save_attributes_to_hdf5_group chunks: attr0, attr1, ... */
        char part[256];
        bool any = false;
        for (int i = 0; st == CNN_OK; i++) {
            if (snprintf(part, sizeof part, "%s%d", attr, i) >= (int)sizeof part)
                break;
            if ((r = attr_exists(f, obj, part, err)) <= 0) {
                st = r < 0 ? (cnn_status_t)r : CNN_OK;
                break;
            }
            any = true;
            st = read_attr(f, obj, part, out, count, err);
        }
        if (st == CNN_OK && !any)
            st = cnn_error_set(err, CNN_E_NOT_FOUND, "'%s' has no attribute '%s'", obj, attr);
    }
    if (st != CNN_OK) {
        tools_h5_free_strings(*out, *count);
        *out = NULL;
        *count = 0;
    }
    return st;
}

cnn_status_t tools_h5_live_read_string(tools_h5_live_t *f, const char *obj, const char *attr, char **out,
                                  cnn_error_t *err)
{
    *out = NULL;
    int r = attr_exists(f, obj, attr, err);
    if (r < 0)
        return (cnn_status_t)r;
    if (r == 0)
        return cnn_error_set(err, CNN_E_NOT_FOUND, "'%s' has no attribute '%s'", obj, attr);
    char **list = NULL;
    int n = 0;
    cnn_status_t st = read_attr(f, obj, attr, &list, &n, err);
    if (st == CNN_OK && n != 1)
        st = cnn_error_set(err, CNN_E_FORMAT, "attribute '%s' of '%s' is not one string", attr, obj);
    if (st == CNN_OK) {
        *out = list[0];
        list[0] = NULL;
    }
    tools_h5_free_strings(list, n);
    return st;
}

/* Checks the dataset's shape and that its storage can hold it; *numel and
 * dims[] receive the shape. */
static cnn_status_t check_dataset(tools_h5_live_t *f, hid_t d, const char *path, int *ndim, int64_t *dims,
                                  int64_t *numel, cnn_error_t *err)
{
    hid_t space = H5Dget_space(d), type = H5Dget_type(d), dcpl = H5Dget_create_plist(d);
    cnn_status_t st = CNN_OK;
    if (space < 0 || type < 0 || dcpl < 0) {
        st = h5_fail(err, CNN_E_FORMAT, "cannot read dataset '%s'", path);
        goto done;
    }
    H5T_class_t cls = H5Tget_class(type);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
        st = cnn_error_set(err, CNN_E_FORMAT, "dataset '%s' is not numeric", path);
        goto done;
    }
    int rank = H5Sget_simple_extent_ndims(space);
    if (rank < 0 || rank > TOOLS_H5_MAX_DIMS) {
        st = cnn_error_set(err, CNN_E_FORMAT, "dataset '%s' has %d dimensions (at most %d expected)",
                           path, rank, TOOLS_H5_MAX_DIMS);
        goto done;
    }
    hsize_t hd[TOOLS_H5_MAX_DIMS];
    if (H5Sget_simple_extent_dims(space, hd, NULL) < 0) {
        st = h5_fail(err, CNN_E_FORMAT, "cannot read the shape of dataset '%s'", path);
        goto done;
    }
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (hd[i] > (hsize_t)H5_MAX_FLOATS || (n *= (int64_t)hd[i]) > H5_MAX_FLOATS) {
            st = cnn_error_set(err, CNN_E_FORMAT, "dataset '%s' is too large", path);
            goto done;
        }
        dims[i] = (int64_t)hd[i];
    }
    /* Raw data in other files (external storage, virtual datasets) is refused. */
    if (H5Pget_external_count(dcpl) != 0 || H5Pget_layout(dcpl) == H5D_VIRTUAL) {
        st = cnn_error_set(err, CNN_E_FORMAT, "dataset '%s' keeps its data outside the file", path);
        goto done;
    }
    /* Unfiltered data must be stored in full: a dataset never written (or
     * cut off) reads as fill values, which would pass for weights. */
    size_t esize = H5Tget_size(type);
    int nfilters = H5Pget_nfilters(dcpl);
    hsize_t stored = H5Dget_storage_size(d);
    if (nfilters == 0 && n > 0 && (esize == 0 || stored < (hsize_t)n * esize || stored > f->len)) {
        st = cnn_error_set(err, CNN_E_FORMAT, "dataset '%s' does not hold its %lld values", path,
                           (long long)n);
        goto done;
    }
    *ndim = rank;
    *numel = n;
done:
    H5Eclear2(H5E_DEFAULT);
    close_id(dcpl, H5Pclose);
    close_id(type, H5Tclose);
    close_id(space, H5Sclose);
    return st;
}

cnn_status_t tools_h5_live_read_floats(tools_h5_live_t *f, const char *path, int *ndim, int64_t *dims, float **data,
                                  cnn_error_t *err)
{
    *data = NULL;
    *ndim = 0;
    if (!tools_h5_live_has_object(f, path)) {
        H5L_info_t link;
        bool external = H5Lget_info(f->file, path, &link, f->access) >= 0 && link.type == H5L_TYPE_EXTERNAL;
        H5Eclear2(H5E_DEFAULT);
        if (external)
            return cnn_error_set(err, CNN_E_FORMAT, "dataset '%s' is a link to another file (refused)", path);
        return cnn_error_set(err, CNN_E_NOT_FOUND, "no dataset '%s'", path);
    }
    hid_t d = H5Dopen2(f->file, path, f->access);
    if (d < 0)
        return h5_fail(err, CNN_E_FORMAT, "cannot open dataset '%s'", path);
    int64_t n = 0;
    cnn_status_t st = check_dataset(f, d, path, ndim, dims, &n, err);
    if (st == CNN_OK) {
        float *buf = malloc((size_t)(n > 0 ? n : 1) * sizeof *buf);
        if (!buf)
            st = cnn_error_set(err, CNN_E_NOMEM, "out of memory reading dataset '%s'", path);
        else if (n > 0 && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
            st = h5_fail(err, CNN_E_FORMAT, "cannot read dataset '%s'", path);
        if (st == CNN_OK)
            *data = buf;
        else
            free(buf);
    }
    H5Dclose(d);
    return st;
}
