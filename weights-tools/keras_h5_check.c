/* Checks HDF5 global heap collections before libhdf5 sees them.
 *
 * Variable-length strings (tf.keras' model_config, h5py's str attributes)
 * live in global heap collections ("GCOL"). libhdf5 1.10.8 trusts their
 * object sizes: a free-space object of size 0 makes
 * H5HG__cache_heap_deserialize loop forever, and an object whose size runs
 * past its collection makes H5HG_read copy out of bounds (both found by
 * tests/fuzz/fuzz_hdf5). This walk applies libhdf5's own layout rules to
 * every collection in the file image and refuses one that breaks them. */
#include "keras_h5_live.h"

#include "status.h"

#include <string.h>

/* Work bound over all collections: no real file comes near it. */
#define MAX_OBJECT_STEPS ((uint64_t)1 << 24)

static uint64_t read_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The superblock's "size of lengths" (bytes of a length field). */
static int length_size(const uint8_t *p, size_t len, size_t sb)
{
    if (len - sb < 16)
        return 0;
    size_t at = p[sb + 8] <= 1 ? sb + 14 : sb + 10; /* superblock versions 0/1 and 2/3 */
    return p[at];
}

/* Walks the collection at `at` (size field of L bytes). */
static cnn_status_t check_collection(const uint8_t *p, size_t len, size_t at, int L, uint64_t *steps,
                                     cnn_error_t *err)
{
    uint64_t size = read_le(p + at + 8, L);
    size_t hdr = 8 + (size_t)L, objhdr = 8 + (size_t)L;
    if (size > len - at)
        return CNN_OK; /* libhdf5 cannot read past the end of the file: it fails by itself */
    const uint8_t *end = p + at + size;
    for (const uint8_t *q = p + at + hdr; q < end; (*steps)++) {
        if (*steps > MAX_OBJECT_STEPS)
            return cnn_error_set(err, CNN_E_FORMAT, "too many HDF5 global heap objects");
        uint64_t left = (uint64_t)(end - q);
        if (left < objhdr)
            break; /* a tail too small for an object header is free space */
        unsigned idx = (unsigned)read_le(q, 2);
        uint64_t obj = read_le(q + 8, L);
        /* An object takes its header plus its size rounded up to 8; the
         * free-space object (index 0) counts its header in its size and
         * fills the collection to its end. */
        bool fits = idx == 0 ? obj == left : obj <= left - objhdr && objhdr + ((obj + 7) & ~(uint64_t)7) <= left;
        if (!fits)
            return cnn_error_set(err, CNN_E_FORMAT,
                                 "malformed HDF5 global heap at byte %zu: object %u (%llu bytes) does not fit its "
                                 "collection",
                                 at, idx, (unsigned long long)obj);
        q += idx == 0 ? left : objhdr + ((obj + 7) & ~(uint64_t)7);
    }
    return CNN_OK;
}

cnn_status_t tools_h5_check_global_heaps(const uint8_t *p, size_t len, size_t superblock, cnn_error_t *err)
{
    int L = length_size(p, len, superblock);
    if (L == 16 || L == 32)
        return cnn_error_set(err, CNN_E_UNSUPPORTED, "HDF5 files with %d-byte lengths are not supported", L);
    if (L != 2 && L != 4 && L != 8)
        return CNN_OK; /* libhdf5 refuses the superblock itself */
    uint64_t steps = 0;
    static const uint8_t head[8] = {'G', 'C', 'O', 'L', 1, 0, 0, 0}; /* signature, version 1, reserved */
    for (size_t at = 0; len >= 8 + (size_t)L && at <= len - 8 - (size_t)L; at++) {
        const uint8_t *g = memchr(p + at, 'G', len - 8 - (size_t)L - at + 1);
        if (!g)
            break;
        at = (size_t)(g - p);
        if (memcmp(g, head, sizeof head) != 0)
            continue;
        cnn_status_t st = check_collection(p, len, at, L, &steps, err);
        if (st != CNN_OK)
            return st;
    }
    return CNN_OK;
}
