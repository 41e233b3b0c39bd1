/* External tensor data (TensorProto.data_location = EXTERNAL): the file
 * named by "location" must lie inside the model's directory. Absolute paths,
 * ".." components and symbolic links anywhere on the way are refused (each
 * component is opened with O_NOFOLLOW relative to the previous one, so
 * nothing can be swapped in between the check and the read), and the
 * offset/length are checked against the file's size. */
#include "onnx_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens `location` below the directory fd `dir` one component at a time
 * into *out. Leaves `dir` open. */
static cnn_status_t open_inside(int dir, const char *location, int *out, cnn_error_t *err)
{
    if (location[0] == '/')
        return cnn_error_set(err, CNN_E_FORMAT, "external data location '%s' is an absolute path", location);
    for (const char *q = location; (q = strstr(q, "..")) != NULL; q += 2)
        if ((q == location || q[-1] == '/') && (q[2] == '/' || q[2] == '\0'))
            return cnn_error_set(err, CNN_E_FORMAT,
                                 "external data location '%s' leaves the model's directory (..)", location);
    cnn_status_t st = CNN_OK;
    char comp[256];
    int cur = dir;
    const char *p = location;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        bool last = !slash;
        if (len >= sizeof comp) {
            st = cnn_error_set(err, CNN_E_FORMAT, "external data location '%s' has a component too long",
                               location);
            break;
        }
        memcpy(comp, p, len);
        comp[len] = '\0';
        if (last && (len == 0 || strcmp(comp, ".") == 0)) {
            st = cnn_error_set(err, CNN_E_FORMAT, "external data location '%s' names no file", location);
            break;
        }
        if (len == 0 || strcmp(comp, ".") == 0) {
            p = slash + 1;
            continue;
        }
        int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (last ? O_NONBLOCK : O_DIRECTORY);
        int fd = openat(cur, comp, flags);
        if (fd < 0) {
            int e = errno;
            struct stat sb;
            bool link = e == ELOOP || (e == ENOTDIR && fstatat(cur, comp, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
                                       S_ISLNK(sb.st_mode));
            if (link)
                st = cnn_error_set(err, CNN_E_FORMAT, "external data location '%s': '%s' is a symbolic link",
                                   location, comp);
            else
                st = cnn_error_set(err, CNN_E_IO, "cannot open external data '%s': %s", location, strerror(e));
            break;
        }
        if (cur != dir)
            close(cur);
        cur = fd;
        if (last) {
            *out = fd;
            return CNN_OK;
        }
        p = slash + 1;
    }
    if (cur != dir)
        close(cur);
    return st;
}

cnn_status_t tools_onnx_external_read(const char *base_dir, const char *location, uint64_t offset,
                                      bool has_length, uint64_t length, size_t size, void **out,
                                      cnn_error_t *err)
{
    *out = NULL;
    if (has_length && length != size)
        return cnn_error_set(err, CNN_E_FORMAT, "external data '%s' has length %llu, the tensor needs %zu bytes",
                             location, (unsigned long long)length, size);
    int dir = open(base_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return cnn_error_set(err, CNN_E_IO, "cannot open directory %s: %s", base_dir, strerror(errno));
    int fd = -1;
    uint8_t *dst = NULL;
    cnn_status_t st = open_inside(dir, location, &fd, err);
    close(dir);
    if (st != CNN_OK)
        return st;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = cnn_error_set(err, CNN_E_FORMAT, "external data '%s' is not a regular file", location);
    } else if (offset > (uint64_t)sb.st_size || (uint64_t)sb.st_size - offset < size) {
        st = cnn_error_set(err, CNN_E_FORMAT,
                           "external data '%s' is too short: %zu bytes at offset %llu, the file has %lld",
                           location, size, (unsigned long long)offset, (long long)sb.st_size);
    } else if (!(dst = malloc(size ? size : 1))) {
        st = cnn_error_set(err, CNN_E_NOMEM, "out of memory for %zu bytes of external data", size);
    } else {
        size_t done = 0;
        while (done < size) {
            ssize_t got = pread(fd, (uint8_t *)dst + done, size - done, (off_t)(offset + done));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                st = cnn_error_set(err, CNN_E_IO, "cannot read external data '%s': %s", location,
                                   got < 0 ? strerror(errno) : "unexpected end of file");
                break;
            }
            done += (size_t)got;
        }
    }
    close(fd);
    if (st == CNN_OK)
        *out = dst;
    else
        free(dst);
    return st;
}
