/* libFuzzer target: classify request bodies through srv_body_parse_images.
 * The input is a Content-Type header value, a '\n', then the body (no '\n':
 * all header, empty body); the header may hold any byte, NUL included.
 * Every accepted image slice is read in full so ASan checks its bounds. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "body_images.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads land here so the compiler keeps them. */
static volatile uint8_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t ct_len = nl ? (size_t)(nl - data) : size;
    const uint8_t *body = nl ? nl + 1 : data + size;
    size_t body_len = size - (size_t)(body - data);
    srv_body_limits_t limits = {16, 1u << 20};
    srv_image_list_t list;
    srv_error_t err;
    memset(&list, 0, sizeof list);
    if (srv_body_parse_images((const char *)data, ct_len, body, body_len, &limits, &list, &err)) {
        for (size_t i = 0; i < list.count; i++)
            for (size_t j = 0; j < list.items[i].len; j++)
                sink ^= list.items[i].bytes[j];
        if (list.count == 0 || list.count > limits.max_images || list.total_bytes > limits.max_total_bytes)
            __builtin_trap();
    } else if (err.http_status < 400 || err.http_status > 599 || err.message[0] == '\0') {
        __builtin_trap();
    }
    srv_image_list_free(&list);
    return 0;
}
