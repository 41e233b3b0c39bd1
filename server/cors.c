/* --cors-origin: validation and matching of origins. */
#include "cors.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
}

static bool ipv6_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
           c == '.';
}

bool srv_cors_origin_valid(const char *origin, char *msg, size_t msg_size)
{
    if (strcmp(origin, "*") == 0)
        return true;
    const char *p;
    if (strncasecmp(origin, "http://", 7) == 0)
        p = origin + 7;
    else if (strncasecmp(origin, "https://", 8) == 0)
        p = origin + 8;
    else {
        snprintf(msg, msg_size, "'%s' is not an origin: it must start with http:// or https:// (or be *)",
                 origin);
        return false;
    }
    const char *host = p;
    if (*p == '[') {
        for (p++; ipv6_char(*p); p++)
            ;
        if (*p != ']' || p == host + 1) {
            snprintf(msg, msg_size, "'%s' is not an origin: bad IPv6 address", origin);
            return false;
        }
        p++;
    } else {
        for (; host_char(*p); p++)
            ;
        if (p == host) {
            snprintf(msg, msg_size, "'%s' is not an origin: no host", origin);
            return false;
        }
    }
    if (*p == ':') {
        const char *digits = ++p;
        for (; *p >= '0' && *p <= '9'; p++)
            ;
        if (p == digits || p - digits > 5) {
            snprintf(msg, msg_size, "'%s' is not an origin: bad port", origin);
            return false;
        }
    }
    if (*p) {
        snprintf(msg, msg_size,
                 "'%s' is not an origin: only scheme://host[:port] (no path, no trailing '/')", origin);
        return false;
    }
    return true;
}

const char *srv_cors_allow_origin(const char *allowed, const char *request_origin)
{
    if (!allowed)
        return NULL;
    if (strcmp(allowed, "*") == 0)
        return allowed;
    return request_origin && strcasecmp(request_origin, allowed) == 0 ? allowed : NULL;
}
