/* The query parameters of POST /featuremaps and /v1/models/{m}/featuremaps,
 * fed one decoded key/value pair at a time (as srv_query_set): layers,
 * channels, format, encoding, hypercolumn, and top_k (as /classify). Any
 * other key, a repeated key or a bad value → 400. Layer names are only
 * split here; the model resolves them (srv_fmap_spec_build). */
#ifndef SRV_FMAP_QUERY_H
#define SRV_FMAP_QUERY_H

#include "query.h"

#include <stdbool.h>
#include <stddef.h>

#define SRV_CHANNEL_RANGES_MAX 256
#define SRV_CHANNEL_MAX 1000000 /* largest channel index the parser accepts */
#define SRV_FMAP_LAYERS_TEXT_MAX 65536

typedef struct srv_channel_range {
    int lo, hi; /* inclusive, lo <= hi */
} srv_channel_range_t;

typedef enum srv_fmap_format {
    SRV_FMAP_JSON = 0,
    SRV_FMAP_PNG,
} srv_fmap_format_t;

typedef struct srv_fmap_query {
    srv_query_t base;   /* top_k */
    char *layers;       /* the layers= value (malloc'ed), NULL when absent */
    bool all_layers;    /* layers=all */
    srv_channel_range_t ranges[SRV_CHANNEL_RANGES_MAX];
    int n_ranges;       /* 0: every channel */
    srv_fmap_format_t format;
    bool base64;        /* encoding=base64 */
    bool hypercolumn;
    unsigned seen;      /* keys given, to refuse repeats */
} srv_fmap_query_t;

/* Defaults: no layers, all channels, json, array, no hypercolumn, top_k default. */
void srv_fmap_query_init(srv_fmap_query_t *q);
void srv_fmap_query_free(srv_fmap_query_t *q);

/* Applies one pair (value NULL for a key without '='). */
bool srv_fmap_query_set(srv_fmap_query_t *q, const char *key, const char *value, srv_error_t *err);

/* Once all pairs are in: layers= is required; top_k as srv_query_finish. */
bool srv_fmap_query_finish(srv_fmap_query_t *q, int num_classes, srv_error_t *err);

/* Parses a channel range list "0-15,32" into out[0..*n): comma-separated
 * items, each N or N-M (decimal digits only, N <= M <= SRV_CHANNEL_MAX), at
 * most `max` items, no empty item, no spaces. 400 with the reason otherwise. */
bool srv_channel_ranges_parse(const char *text, srv_channel_range_t *out, int max, int *n, srv_error_t *err);

/* Splits a comma-separated layer list in place: each name's start goes to
 * names[0..*n) (the commas become NULs). At most `max` names; an empty name
 * is an error. */
bool srv_layer_list_split(char *text, const char **names, int max, int *n, srv_error_t *err);

#endif
