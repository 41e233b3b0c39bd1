/* libhdf5 in a child process (keras_internal.h: tools_keras_record_isolated).
 *
 * libhdf5 1.10 has known failures on malformed files that no caller can
 * catch: endless loops (a global heap object of size 0 in
 * H5HG__cache_heap_deserialize), allocations of the sizes a corrupt header
 * claims, leaks on failed opens. The child maps the file, runs the whole
 * import against live libhdf5 while recording every answer, and writes the
 * log into a pipe; the parent waits with a time limit and replays the log.
 * A child that crashes, fails or runs out of time becomes an error message. */
#include "keras_internal.h"

#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { CHILD_OK = 0, CHILD_NO_MEMORY = 2, CHILD_WRITE_FAILED = 3 };

/* The child: never returns. */
static void child_main(int fd, size_t size, int out)
{
    void *data = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    tools_h5_log_t *log = tools_h5_log_new();
    tools_model_writer_t *w = tools_writer_new();
    if (data == MAP_FAILED || !log || !w)
        _exit(CHILD_NO_MEMORY);
    tools_h5_t *h5 = NULL;
    cnn_error_t err;
    if (tools_h5_open_memory(data, size, log, &h5, &err) == CNN_OK)
        (void)tools_keras_import_h5(h5, w, &err); /* the parent's replay meets the same error */
    tools_h5_close(h5);
    size_t len;
    const uint8_t *bytes = tools_h5_log_bytes(log, &len);
    if (!bytes)
        _exit(CHILD_NO_MEMORY);
    while (len > 0) {
        ssize_t n = write(out, bytes, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(CHILD_WRITE_FAILED);
        bytes += n;
        len -= (size_t)n;
    }
    _exit(CHILD_OK); /* no atexit handlers: they belong to the parent */
}

static int time_limit_s(size_t size)
{
    const char *env = getenv("CNNSERVE_HDF5_TIMEOUT");
    if (env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == '\0' && v > 0 && v <= 86400)
            return (int)v;
    }
    size_t extra = size >> 22;
    return 60 + (extra > 86400 ? 86400 : (int)extra);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Reads the pipe until EOF or the deadline. *timed_out tells which. */
static cnn_status_t read_log(int in, int limit_s, uint8_t **log, size_t *len, bool *timed_out, cnn_error_t *err)
{
    double deadline = now_s() + limit_s;
    size_t cap = 0;
    *timed_out = false;
    for (;;) {
        double left = deadline - now_s();
        if (left <= 0) {
            *timed_out = true;
            return CNN_OK;
        }
        struct pollfd p = {.fd = in, .events = POLLIN};
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return cnn_error_set(err, CNN_E_IO, "waiting for the HDF5 reader: %s", strerror(errno));
        if (r == 0)
            continue;
        if (cap - *len < 65536) {
            cap = cap ? cap * 2 : 1 << 20;
            uint8_t *grown = realloc(*log, cap);
            if (!grown)
                return cnn_error_set(err, CNN_E_NOMEM, "out of memory reading the HDF5 reader's answers");
            *log = grown;
        }
        ssize_t n = read(in, *log + *len, cap - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return cnn_error_set(err, CNN_E_IO, "reading from the HDF5 reader: %s", strerror(errno));
        if (n == 0)
            return CNN_OK;
        *len += (size_t)n;
    }
}

/* Turns the child's fate into a status. */
static cnn_status_t child_result(int status, bool timed_out, int limit_s, cnn_error_t *err)
{
    if (timed_out)
        return cnn_error_set(err, CNN_E_FORMAT,
                             "libhdf5 did not finish reading the file in %d s: the file is malformed (libhdf5 "
                             "loops forever on some corrupt structures); set CNNSERVE_HDF5_TIMEOUT=SECONDS "
                             "to allow more time",
                             limit_s);
    if (WIFSIGNALED(status))
        return cnn_error_set(err, CNN_E_FORMAT,
                             "libhdf5 crashed reading the file (signal %d, %s): the file is malformed",
                             WTERMSIG(status), strsignal(WTERMSIG(status)));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != CHILD_OK)
        return cnn_error_set(err, WEXITSTATUS(status) == CHILD_NO_MEMORY ? CNN_E_NOMEM : CNN_E_BACKEND,
                             "the HDF5 reader process failed (exit status %d)", WEXITSTATUS(status));
    return CNN_OK;
}

cnn_status_t tools_keras_record_isolated(const char *path, uint8_t **log, size_t *len, cnn_error_t *err)
{
    *log = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return cnn_error_set(err, CNN_E_IO, "cannot open: %s", strerror(errno));
    struct stat sb;
    cnn_status_t st = CNN_OK;
    int pipefd[2] = {-1, -1};
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        st = cnn_error_set(err, CNN_E_IO, "not a regular file");
    else if (sb.st_size == 0)
        st = cnn_error_set(err, CNN_E_FORMAT, "empty file");
    else if (pipe(pipefd) != 0)
        st = cnn_error_set(err, CNN_E_IO, "cannot create a pipe: %s", strerror(errno));
    if (st != CNN_OK) {
        close(fd);
        return st;
    }
    size_t size = (size_t)sb.st_size;
    pid_t pid = fork();
    if (pid == 0) {
        close(pipefd[0]);
        child_main(fd, size, pipefd[1]);
    }
    close(pipefd[1]);
    close(fd);
    if (pid < 0) {
        close(pipefd[0]);
        return cnn_error_set(err, CNN_E_IO, "cannot start the HDF5 reader: %s", strerror(errno));
    }
    int limit = time_limit_s(size);
    bool timed_out = false;
    st = read_log(pipefd[0], limit, log, len, &timed_out, err);
    close(pipefd[0]);
    if (st != CNN_OK || timed_out)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        continue;
    if (st == CNN_OK)
        st = child_result(status, timed_out, limit, err);
    if (st != CNN_OK) {
        free(*log);
        *log = NULL;
        *len = 0;
    }
    return st;
}
