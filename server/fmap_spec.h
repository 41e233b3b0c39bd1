/* What a feature-map request asks of its model, resolved from the query
 * (srv_fmap_query_t) on the HTTP thread: the layers (engine indices, shapes,
 * where each one's floats sit in an image's block), the channels returned,
 * format and encoding. Read-only once the request is submitted. */
#ifndef SRV_FMAP_SPEC_H
#define SRV_FMAP_SPEC_H

#include "cnn/cnn.h"
#include "fmap_query.h"

typedef struct srv_fmap_layer {
    size_t index;          /* cnn_model_get_layer index */
    cnn_layer_info_t info;
    size_t numel;          /* c × h × w floats per image */
    size_t offset;         /* floats from the start of an image's block */
    int n_channels;        /* channels returned */
} srv_fmap_layer_t;

typedef struct srv_fmap_spec {
    srv_fmap_layer_t *layers;
    int n_layers;
    int *channels;         /* the selected channel list (NULL: every channel of each layer) */
    int n_selected;
    srv_fmap_format_t format;
    bool base64, hypercolumn;
    size_t image_floats;   /* floats fetched per image (sum of numel) */
    int in_h, in_w;        /* the model's input size (hypercolumn) */
} srv_fmap_spec_t;

/* Resolves q against model. False with err (400) on an unknown layer (then
 * *names_msg, when not NULL, is a malloc'ed message that lists every valid
 * layer name, which err's fixed buffer cannot hold), a channel out of range
 * for a layer, or format=png with several layers and no hypercolumn. */
bool srv_fmap_spec_build(const srv_fmap_query_t *q, const cnn_model_t *model, srv_fmap_spec_t *spec,
                         char **names_msg, srv_error_t *err);
void srv_fmap_spec_free(srv_fmap_spec_t *spec);

/* The k-th returned channel of a layer (the same list for every layer). */
static inline int srv_fmap_channel(const srv_fmap_spec_t *s, int k)
{
    return s->channels ? s->channels[k] : k;
}

/* The fewest bytes a JSON answer for n images can take: the data alone
 * (base64: its exact length; arrays: one digit and a separator per value). */
size_t srv_fmap_min_bytes(const srv_fmap_spec_t *s, int n_images);

#endif
