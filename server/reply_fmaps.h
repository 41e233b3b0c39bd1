/* Replies of POST /featuremaps (see /work/notes/api_featuremaps.md and the
 * README's "Feature maps"), built on the HTTP thread that sends them. */
#ifndef SRV_REPLY_FMAPS_H
#define SRV_REPLY_FMAPS_H

#include "fmap_png.h"
#include "request.h"

/* The format=json body (arrays or base64). When it would pass max_bytes,
 * returns NULL with *would_be set to its full size (measured without
 * keeping more than max_bytes of it); NULL with *would_be 0 when out of
 * memory. */
char *srv_reply_featuremaps(const srv_request_t *req, size_t max_bytes, size_t *len, size_t *would_be);

/* The format=png body of image 0: the layer's grid (*grid filled), or with
 * hypercolumn=1 the hypercolumn (grid->cols = 0). *predictions is the
 * predictions JSON array (malloc'ed) for a header. NULL when out of memory. */
uint8_t *srv_reply_featuremaps_png(const srv_request_t *req, size_t *len, srv_png_grid_t *grid,
                                   char **predictions);

#endif
