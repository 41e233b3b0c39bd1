/* The zoo registry: architecture table, lookup, and cnn_zoo_build. */
#include "zoo_internal.h"

#include <stdio.h>
#include <string.h>

#define MAX_CLASSES (1 << 20)
#define MAX_WIDTH_DIVISOR 4096
#define MAX_INPUT_SIDE 8192
#define MAX_INPUT_CHANNELS 64

#define IMAGENET_PREPROCESS(shorter)                                                                     \
    {                                                                                                    \
        .color = CNN_COLOR_RGB, .resize_shorter = (shorter), .scale = 1.0f / 255.0f,                     \
        .mean = {0.485f, 0.456f, 0.406f}, .std = {0.229f, 0.224f, 0.225f},                               \
    }

#define TORCHVISION_ARCH(arch_name, side, shorter, ignored, builder)                                     \
    {                                                                                                    \
        .name = (arch_name), .default_classes = 1000, .in_channels = 3, .in_height = (side),            \
        .in_width = (side), .preprocess = IMAGENET_PREPROCESS(shorter), .ignored_prefixes = (ignored),  \
        .build = (builder),                                                                              \
    }

static const char *const googlenet_ignored[] = {"aux1.", "aux2.", NULL};
static const char *const inception_v3_ignored[] = {"AuxLogits.", NULL};

static const cnn_zoo_arch_t arch_lenet5 = {
    .name = "lenet5",
    .default_classes = 10,
    .in_channels = 1, .in_height = 28, .in_width = 28,
    .preprocess = {
        .color = CNN_COLOR_GRAYSCALE, .resize_shorter = 0, .scale = 1.0f / 255.0f,
        .mean = {0.0f, 0.0f, 0.0f}, .std = {1.0f, 1.0f, 1.0f},
    },
    .ignored_prefixes = NULL,
    .build = cnn_zoo_build_lenet5,
};
static const cnn_zoo_arch_t arch_alexnet = TORCHVISION_ARCH("alexnet", 224, 256, NULL, cnn_zoo_build_alexnet);
static const cnn_zoo_arch_t arch_vgg16 = TORCHVISION_ARCH("vgg16", 224, 256, NULL, cnn_zoo_build_vgg16);
static const cnn_zoo_arch_t arch_vgg19 = TORCHVISION_ARCH("vgg19", 224, 256, NULL, cnn_zoo_build_vgg19);
static const cnn_zoo_arch_t arch_resnet18 = TORCHVISION_ARCH("resnet18", 224, 256, NULL, cnn_zoo_build_resnet18);
static const cnn_zoo_arch_t arch_resnet34 = TORCHVISION_ARCH("resnet34", 224, 256, NULL, cnn_zoo_build_resnet34);
static const cnn_zoo_arch_t arch_resnet50 = TORCHVISION_ARCH("resnet50", 224, 256, NULL, cnn_zoo_build_resnet50);
static const cnn_zoo_arch_t arch_resnet101 =
    TORCHVISION_ARCH("resnet101", 224, 256, NULL, cnn_zoo_build_resnet101);
static const cnn_zoo_arch_t arch_resnet152 =
    TORCHVISION_ARCH("resnet152", 224, 256, NULL, cnn_zoo_build_resnet152);
static const cnn_zoo_arch_t arch_googlenet =
    TORCHVISION_ARCH("googlenet", 224, 256, googlenet_ignored, cnn_zoo_build_googlenet);
static const cnn_zoo_arch_t arch_inception_v3 =
    TORCHVISION_ARCH("inception_v3", 299, 342, inception_v3_ignored, cnn_zoo_build_inception_v3);

static const cnn_zoo_arch_t *const archs[] = {
    &arch_lenet5,   &arch_alexnet,   &arch_vgg16,     &arch_vgg19,     &arch_resnet18,     &arch_resnet34,
    &arch_resnet50, &arch_resnet101, &arch_resnet152, &arch_googlenet, &arch_inception_v3, NULL,
};

const cnn_zoo_arch_t *const *cnn_zoo_list(void)
{
    return archs;
}

const cnn_zoo_arch_t *cnn_zoo_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; archs[i]; i++)
        if (strcmp(archs[i]->name, name) == 0)
            return archs[i];
    return NULL;
}

/* CNN_E_NOT_FOUND with the list of known architectures. */
static cnn_status_t unknown_arch(const char *name, cnn_error_t *err)
{
    char known[CNN_ERROR_MESSAGE_MAX / 2] = "";
    for (size_t i = 0; archs[i]; i++) {
        size_t len = strlen(known);
        snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "", archs[i]->name);
    }
    return cnn_error_set(err, CNN_E_NOT_FOUND, "unknown architecture '%.100s' (known: %s)", name ? name : "(none)",
                         known);
}

/* Checks one option that must be 0 (default) or within [1, max]. */
static cnn_status_t check_range(const char *what, int value, int max, cnn_error_t *err)
{
    if (value < 0 || value > max)
        return cnn_error_set(err, CNN_E_INVALID_ARGUMENT, "%s must be between 1 and %d (0 for the default), got %d",
                             what, max, value);
    return CNN_OK;
}

/* Copies `o` with defaults from `a` filled in, or returns an error for out-of-range options. */
static cnn_status_t resolve_options(const cnn_zoo_arch_t *a, const cnn_zoo_options_t *o, cnn_zoo_options_t *out,
                                    cnn_error_t *err)
{
    cnn_status_t st;
    if ((st = check_range("num_classes", o->num_classes, MAX_CLASSES, err)) != CNN_OK ||
        (st = check_range("width_divisor", o->width_divisor, MAX_WIDTH_DIVISOR, err)) != CNN_OK ||
        (st = check_range("input channels", o->in_channels, MAX_INPUT_CHANNELS, err)) != CNN_OK ||
        (st = check_range("input height", o->in_height, MAX_INPUT_SIDE, err)) != CNN_OK ||
        (st = check_range("input width", o->in_width, MAX_INPUT_SIDE, err)) != CNN_OK)
        return st;
    *out = *o;
    out->arch = a->name;
    if (out->num_classes == 0)
        out->num_classes = a->default_classes;
    if (out->width_divisor == 0)
        out->width_divisor = 1;
    if (out->in_channels == 0)
        out->in_channels = a->in_channels;
    if (out->in_height == 0)
        out->in_height = a->in_height;
    if (out->in_width == 0)
        out->in_width = a->in_width;
    return CNN_OK;
}

cnn_status_t cnn_zoo_build(const cnn_zoo_options_t *o, cnn_graph_t **out, cnn_error_t *err)
{
    cnn_status_t st;
    cnn_zoo_options_t opts;
    cnn_graph_t *g = NULL;
    *out = NULL;
    const cnn_zoo_arch_t *a = cnn_zoo_find(o->arch);
    if (!a)
        return unknown_arch(o->arch, err);
    if ((st = resolve_options(a, o, &opts, err)) != CNN_OK) {
        cnn_error_prefix(err, "architecture '%s'", a->name);
        return st;
    }
    g = cnn_graph_new();
    if (!g)
        return cnn_error_set(err, CNN_E_NOMEM, "architecture '%s': out of memory", a->name);
    int id = a->build(g, &opts);
    if (id < 0) {
        st = cnn_error_set(err, (cnn_status_t)id, "architecture '%s': %s", a->name, g->err.message);
        goto fail;
    }
    g->output = id;
    *out = g;
    return CNN_OK;
fail:
    cnn_graph_free(g);
    return st;
}
