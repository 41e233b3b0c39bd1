/* libFuzzer target: JSON request bodies, parsed both as a classify body
 * ({"images": [base64...]}) and as a KServe v2 inference request for a
 * 1×2×3 input model. Accepted results are read in full for ASan. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "body_images.h"
#include "kserve_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads land here so the compiler keeps them. */
static volatile uint8_t sink;

static void check_error(const srv_error_t *err)
{
    if (err->http_status < 400 || err->http_status > 599 || err->message[0] == '\0')
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char ct[] = "application/json";
    srv_body_limits_t limits = {16, 1u << 20};
    srv_image_list_t list;
    srv_error_t err;
    memset(&list, 0, sizeof list);
    if (srv_body_parse_images(ct, sizeof ct - 1, data, size, &limits, &list, &err)) {
        for (size_t i = 0; i < list.count; i++)
            for (size_t j = 0; j < list.items[i].len; j++)
                sink ^= list.items[i].bytes[j];
    } else {
        check_error(&err);
    }
    srv_image_list_free(&list);

    static const srv_kserve_model_t model = {"input", "output", 1, 2, 3, 10, 4};
    srv_kserve_request_t req;
    if (srv_kserve_parse_request(data, size, &model, &req, &err)) {
        if (req.batch < 1 || req.batch > model.max_batch || req.numel != (size_t)req.batch * 6 ||
            req.classification < 0 || req.classification > model.num_classes)
            __builtin_trap();
        for (size_t i = 0; i < req.numel; i++)
            sink ^= (uint8_t)(req.data[i] != 0.0f);
    } else {
        check_error(&err);
    }
    srv_kserve_request_free(&req);
    return 0;
}
