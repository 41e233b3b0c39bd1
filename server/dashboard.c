/* Lookup of the embedded dashboard files. */
#include "dashboard.h"

#include <string.h>

const srv_asset_t *srv_dashboard_find(const char *name, size_t len)
{
    for (size_t i = 0; i < srv_dashboard_asset_count; i++) {
        const srv_asset_t *a = &srv_dashboard_assets[i];
        if (strlen(a->name) == len && memcmp(a->name, name, len) == 0)
            return a;
    }
    return NULL;
}
