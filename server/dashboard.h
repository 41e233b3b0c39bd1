/* The dashboard: a static page (HTML, JS, CSS under server/dashboard/)
 * compiled into the binary by embed_assets.cmake and served at GET / and
 * GET /dashboard/{file} with a strict Content-Security-Policy. */
#ifndef SRV_DASHBOARD_H
#define SRV_DASHBOARD_H

#include <stddef.h>

typedef struct srv_asset {
    const char *name;         /* file name, e.g. "dashboard.js" */
    const char *content_type;
    const unsigned char *data;
    size_t size;
} srv_asset_t;

/* Generated (dashboard_assets.c in the build directory). */
extern const srv_asset_t srv_dashboard_assets[];
extern const size_t srv_dashboard_asset_count;

/* The page's policy: scripts, styles, fetches and frames only from the
 * server itself, images also from data: and blob: URLs; no inline script or
 * style, no eval, no plugins, not framed by other sites. */
#define SRV_DASHBOARD_CSP                                                                       \
    "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "     \
    "form-action 'self'; frame-ancestors 'none'"

/* The asset named name[0..len), or NULL. */
const srv_asset_t *srv_dashboard_find(const char *name, size_t len);

#endif
