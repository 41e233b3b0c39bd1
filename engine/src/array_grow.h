/* Growable arrays: the one place their capacity policy lives.
 *
 * An array that grows may move, so nothing may keep a pointer into it across
 * a call that can append to it (keep indices, or copy the element). To make
 * such a pointer fail loudly, sanitizer and fuzzer builds (CNN_MOVE_ON_GROW)
 * grow every array one element at a time: ASan's realloc always moves, so a
 * stale pointer is a use-after-free it reports on every run, not only on the
 * rare run where the count happens to reach the capacity.
 */
#ifndef CNN_ARRAY_GROW_H
#define CNN_ARRAY_GROW_H

#include <stddef.h>

/* Makes room for element `n` of the array `arr` of `*cap` elements of
 * `elem` bytes. Returns the (possibly moved) array with *cap updated, or
 * NULL when out of memory (arr and *cap are then unchanged). */
void *cnn_array_grow(void *arr, int *cap, int n, size_t elem);

/* The same for size_t counts and capacities. */
void *cnn_array_grow_size(void *arr, size_t *cap, size_t n, size_t elem);

#endif
