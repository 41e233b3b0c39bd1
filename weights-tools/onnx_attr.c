/* Typed access to the current node's attributes, with clear errors for a
 * wrong type and for attributes the mapping does not know. */
#include "onnx_internal.h"

#include <stdio.h>
#include <string.h>

const Onnx__AttributeProto *tools_onnx_attr(const tools_onnx_ctx_t *c, const char *name)
{
    const Onnx__NodeProto *n = c->node;
    for (size_t k = 0; k < n->n_attribute; k++)
        if (n->attribute[k]->name && strcmp(n->attribute[k]->name, name) == 0)
            return n->attribute[k];
    return NULL;
}

/* The attribute `name` when present with type `type`; NULL when absent;
 * sets *st on a type mismatch. */
static const Onnx__AttributeProto *typed(tools_onnx_ctx_t *c, const char *name,
                                         Onnx__AttributeProto__AttributeType type, const char *type_name,
                                         cnn_status_t *st)
{
    *st = CNN_OK;
    const Onnx__AttributeProto *a = tools_onnx_attr(c, name);
    if (!a)
        return NULL;
    if (a->has_type && a->type == type)
        return a;
    *st = tools_onnx_fail(c, CNN_E_FORMAT, "attribute '%s' must be of type %s", name, type_name);
    return NULL;
}

cnn_status_t tools_onnx_attr_int(tools_onnx_ctx_t *c, const char *name, int64_t def, int64_t *out)
{
    cnn_status_t st;
    const Onnx__AttributeProto *a = typed(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, "int", &st);
    *out = a ? a->i : def;
    return st;
}

cnn_status_t tools_onnx_attr_float(tools_onnx_ctx_t *c, const char *name, float def, float *out)
{
    cnn_status_t st;
    const Onnx__AttributeProto *a = typed(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, "float", &st);
    *out = a ? a->f : def;
    if (st == CNN_OK && !(*out == *out && *out < 1e30f && *out > -1e30f))
        return tools_onnx_fail(c, CNN_E_FORMAT, "attribute '%s' must be a finite number", name);
    return st;
}

cnn_status_t tools_onnx_attr_ints(tools_onnx_ctx_t *c, const char *name, const int64_t **vals, size_t *n)
{
    cnn_status_t st;
    const Onnx__AttributeProto *a = typed(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, "ints", &st);
    *vals = a ? a->ints : NULL;
    *n = a ? a->n_ints : 0;
    return st;
}

cnn_status_t tools_onnx_attr_string(tools_onnx_ctx_t *c, const char *name, const char *def, char *buf,
                                    size_t size)
{
    cnn_status_t st;
    const Onnx__AttributeProto *a = typed(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING, "string", &st);
    if (st != CNN_OK)
        return st;
    if (!a) {
        snprintf(buf, size, "%s", def);
        return CNN_OK;
    }
    if (a->s.len >= size || (a->s.len && memchr(a->s.data, 0, a->s.len)))
        return tools_onnx_fail(c, CNN_E_FORMAT, "attribute '%s' has an unexpected value", name);
    if (a->s.len)
        memcpy(buf, a->s.data, a->s.len);
    buf[a->s.len] = '\0';
    return CNN_OK;
}

cnn_status_t tools_onnx_attrs_known(tools_onnx_ctx_t *c, const char *known)
{
    const Onnx__NodeProto *n = c->node;
    if (n->n_attribute > 32)
        return tools_onnx_fail(c, CNN_E_FORMAT, "too many attributes (%zu)", n->n_attribute);
    for (size_t k = 0; k < n->n_attribute; k++) {
        const char *name = n->attribute[k]->name ? n->attribute[k]->name : "";
        size_t len = strlen(name);
        const char *p = known;
        bool ok = false;
        while (len && !ok && (p = strstr(p, name)) != NULL) {
            ok = (p == known || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0');
            p += len;
        }
        if (!ok)
            return tools_onnx_fail(c, CNN_E_UNSUPPORTED, "attribute '%.60s' is not supported", name);
        for (size_t j = 0; j < k; j++)
            if (n->attribute[j]->name && strcmp(n->attribute[j]->name, name) == 0)
                return tools_onnx_fail(c, CNN_E_FORMAT, "attribute '%.60s' appears twice", name);
    }
    return CNN_OK;
}
