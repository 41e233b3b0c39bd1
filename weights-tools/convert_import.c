/* `cnnserve convert` for imported formats (see convert_import.h). */
#include "convert_import.h"

#include "cli.h"
#include "model_dir.h"
#include "status.h"

#include <stdio.h>
#include <string.h>

/* Fills `p` from the flags over the defaults for `channels` input channels. */
static cnn_status_t apply_flags(const tools_preprocess_flags_t *f, int channels, cnn_preprocess_t *p,
                                cnn_error_t *err)
{
    *p = (cnn_preprocess_t){.color = channels == 1 ? CNN_COLOR_GRAYSCALE : CNN_COLOR_RGB, .resize_shorter = 0,
                            .scale = 1.0f / 255.0f, .mean = {0.0f, 0.0f, 0.0f}, .std = {1.0f, 1.0f, 1.0f}};
    if (f->color)
        p->color = strcmp(f->color, "grayscale") == 0 ? CNN_COLOR_GRAYSCALE : CNN_COLOR_RGB;
    if (f->scale > 0.0f)
        p->scale = f->scale;
    if (f->resize_shorter >= 0)
        p->resize_shorter = f->resize_shorter;
    int want = p->color == CNN_COLOR_GRAYSCALE ? 1 : 3;
    if ((f->num_mean > 1 && f->num_mean != want) || (f->num_std > 1 && f->num_std != want))
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "--mean and --std need 1 or %d values", want);
    for (int c = 0; c < 3; c++) {
        if (f->num_mean)
            p->mean[c] = f->mean[f->num_mean == 1 ? 0 : c];
        if (f->num_std)
            p->std[c] = f->std[f->num_std == 1 ? 0 : c];
    }
    return CNN_OK;
}

int tools_convert_import(tools_import_fn import, const tools_import_opts_t *o)
{
    static const char *const CMD = "convert";
    tools_model_writer_t *w = tools_writer_new();
    if (!w)
        return cli_fail(CMD, "out of memory");
    cnn_error_t err = {0};
    cnn_preprocess_t pre;
    char **labels = NULL;
    int num_labels = 0;
    cnn_status_t st = import(o->path, w, &err);
    if (st != CNN_OK) {
        cnn_error_prefix(&err, "%s", o->path);
    } else if ((st = apply_flags(&o->pre, tools_writer_input_channels(w), &pre, &err)) == CNN_OK) {
        tools_writer_set_preprocess(w, &pre);
        if (o->labels && (st = tools_labels_read(o->labels, &labels, &num_labels, &err)) == CNN_OK)
            st = tools_writer_set_labels(w, (const char *const *)labels, num_labels, &err);
        if (st == CNN_OK)
            st = tools_writer_save(w, &o->save, &err);
    }
    int rc = CLI_EXIT_OK;
    if (st != CNN_OK)
        rc = cli_fail(CMD, "%s", err.message);
    else
        printf("wrote %s: %s model from %s, %d nodes, %d tensors\n", o->save.out_dir, o->format, o->path,
               tools_writer_node_count(w), tools_writer_tensor_count(w));
    tools_labels_free(labels, num_labels);
    tools_writer_free(w);
    return rc;
}
