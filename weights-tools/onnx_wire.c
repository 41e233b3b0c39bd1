/* A pre-pass over the protobuf wire format before protobuf-c unpacks it:
 * protobuf-c recurses once per nested message, so a file nesting messages
 * (e.g. graph → node → attribute → graph ...) a few hundred thousand deep
 * overflows the stack. This walk is iterative, follows the generated
 * descriptors to know which fields are messages, and refuses nesting deeper
 * than any real model needs, as well as malformed framing. */
#include "onnx_internal.h"

#define MAX_DEPTH 64

/* Reads a varint at *p (< end); false when truncated or longer than 10 bytes. */
static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

cnn_status_t tools_onnx_check_wire(const uint8_t *buf, size_t len, cnn_error_t *err)
{
    const uint8_t *ends[MAX_DEPTH + 1];
    const ProtobufCMessageDescriptor *descs[MAX_DEPTH + 1];
    int depth = 0;
    const uint8_t *p = buf;
    ends[0] = buf + len;
    descs[0] = &onnx__model_proto__descriptor;
    while (depth > 0 || p < ends[0]) {
        if (p == ends[depth]) {
            depth--;
            continue;
        }
        uint64_t tag, n;
        if (!read_varint(&p, ends[depth], &tag) || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX)
            goto malformed;
        switch (tag & 7) {
        case 0:
            if (!read_varint(&p, ends[depth], &n))
                goto malformed;
            break;
        case 1:
        case 5: {
            size_t size = (tag & 7) == 1 ? 8 : 4;
            if ((size_t)(ends[depth] - p) < size)
                goto malformed;
            p += size;
            break;
        }
        case 2: {
            if (!read_varint(&p, ends[depth], &n) || n > (uint64_t)(ends[depth] - p))
                goto malformed;
            const ProtobufCFieldDescriptor *f =
                protobuf_c_message_descriptor_get_field(descs[depth], (unsigned)(tag >> 3));
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (depth == MAX_DEPTH)
                    return cnn_error_set(err, CNN_E_FORMAT, "not a usable ONNX model: messages nested over %d deep",
                                         MAX_DEPTH);
                depth++;
                ends[depth] = p + n;
                descs[depth] = f->descriptor;
            } else {
                p += n;
            }
            break;
        }
        default:
            goto malformed;
        }
    }
    return CNN_OK;
malformed:
    return cnn_error_set(err, CNN_E_FORMAT, "not an ONNX model: the protobuf data is malformed or truncated");
}
