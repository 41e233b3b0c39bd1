/* `cnnserve healthcheck [URL]`: one HTTP GET, exit 0 when the answer is 200.
 * For container health checks (Docker HEALTHCHECK, Kubernetes exec probes)
 * in images that carry no curl or wget. */
#define _GNU_SOURCE /* getopt_long, getaddrinfo */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *const CMD = "healthcheck";
static const char *const DEFAULT_URL = "http://127.0.0.1:8080/health/ready";

static const char usage[] =
    "Usage: cnnserve healthcheck [URL] [--timeout-ms 2000]\n"
    "\n"
    "Sends GET URL (default http://127.0.0.1:8080/health/ready; http only) and exits 0\n"
    "when the answer's status is 200, 1 otherwise (refused, timed out, other status).\n"
    "\n"
    "Options:\n"
    "  --timeout-ms N   give up after N ms in all (default 2000)\n"
    "  -h, --help       show this help\n";

typedef struct hc_url {
    char host[256];
    char port[8];
    char path[1024];
} hc_url_t;

/* Splits "http://HOST[:PORT][/PATH]" (PORT default 80, PATH default "/");
 * false when it is not of that form or a part is too long. */
static bool parse_url(const char *url, hc_url_t *u)
{
    static const char scheme[] = "http://";
    if (strncmp(url, scheme, sizeof scheme - 1) != 0)
        return false;
    const char *host = url + sizeof scheme - 1;
    size_t host_len = strcspn(host, ":/");
    if (host_len == 0 || host_len >= sizeof u->host)
        return false;
    memcpy(u->host, host, host_len);
    u->host[host_len] = '\0';
    const char *p = host + host_len;
    snprintf(u->port, sizeof u->port, "80");
    if (*p == ':') {
        int port;
        size_t port_len = strcspn(++p, "/");
        char digits[8];
        if (port_len == 0 || port_len >= sizeof digits)
            return false;
        memcpy(digits, p, port_len);
        digits[port_len] = '\0';
        if (!cli_parse_int(digits, 1, 65535, &port))
            return false;
        snprintf(u->port, sizeof u->port, "%d", port);
        p += port_len;
    }
    const char *path = *p ? p : "/";
    if (strlen(path) >= sizeof u->path || strpbrk(path, " \r\n"))
        return false;
    snprintf(u->path, sizeof u->path, "%s", path);
    return true;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until `fd` is ready for `events` or the deadline passes. */
static bool wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return false;
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, (int)left);
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR)
            return false;
    }
}

/* A non-blocking socket connected to the first address of `u` that accepts
 * before the deadline; -1 with a message in `why` otherwise. */
static int connect_to(const hc_url_t *u, long long deadline, const char **why)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int gai = getaddrinfo(u->host, u->port, &hints, &res);
    if (gai != 0) {
        *why = gai_strerror(gai);
        return -1;
    }
    int fd = -1;
    *why = "connection refused";
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        int err = 0;
        socklen_t len = sizeof err;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) &&
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
            break;
        *why = err ? strerror(err) : errno == EINPROGRESS ? "timed out" : strerror(errno);
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* Sends the GET and reads the status line: the status code, or -1 with a
 * message in `why`. */
static int get_status(int fd, const hc_url_t *u, long long deadline, const char **why)
{
    char req[1400];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", u->path,
                     u->host);
    for (int sent = 0; sent < n;) {
        if (!wait_fd(fd, POLLOUT, deadline)) {
            *why = "timed out sending";
            return -1;
        }
        ssize_t w = send(fd, req + sent, (size_t)(n - sent), MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            *why = strerror(errno);
            return -1;
        }
        sent += w > 0 ? (int)w : 0;
    }
    char line[64];
    size_t got = 0;
    while (got < sizeof line - 1 && !memchr(line, '\n', got)) {
        if (!wait_fd(fd, POLLIN, deadline)) {
            *why = "timed out waiting for the answer";
            return -1;
        }
        ssize_t r = recv(fd, line + got, sizeof line - 1 - got, 0);
        if (r == 0)
            break;
        if (r < 0 && errno != EAGAIN && errno != EINTR) {
            *why = strerror(errno);
            return -1;
        }
        got += r > 0 ? (size_t)r : 0;
    }
    line[got] = '\0';
    int status;
    char sp;
    if (sscanf(line, "HTTP/1.%*1[01] %3d%c", &status, &sp) != 2 || sp != ' ' || status < 100) {
        *why = "not an HTTP answer";
        return -1;
    }
    return status;
}

int cli_cmd_healthcheck(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"timeout-ms", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int timeout_ms = 2000;
    cli_getopt_reset();
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (!cli_parse_int(optarg, 1, 3600 * 1000, &timeout_ms))
                return cli_usage_error(CMD, "--timeout-ms needs an integer in 1..3600000, not '%s'", optarg);
            break;
        case 'h': fputs(usage, stdout); return CLI_EXIT_OK;
        default: return cli_bad_option(CMD, c, argv);
        }
    }
    if (argc - optind > 1)
        return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind + 1]);
    const char *url = optind < argc ? argv[optind] : DEFAULT_URL;
    hc_url_t u;
    if (!parse_url(url, &u))
        return cli_usage_error(CMD, "'%s' is not an http://HOST[:PORT][/PATH] URL", url);
    long long deadline = now_ms() + timeout_ms;
    const char *why = NULL;
    int fd = connect_to(&u, deadline, &why);
    if (fd < 0)
        return cli_fail(CMD, "%s: %s", url, why);
    int status = get_status(fd, &u, deadline, &why);
    close(fd);
    if (status < 0)
        return cli_fail(CMD, "%s: %s", url, why);
    if (status != 200)
        return cli_fail(CMD, "%s: status %d", url, status);
    return CLI_EXIT_OK;
}
