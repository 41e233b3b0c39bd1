#include "array_grow.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

void *cnn_array_grow_size(void *arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return arr;
#ifdef CNN_MOVE_ON_GROW
    size_t ncap = n + 1;
#else
    size_t ncap = *cap ? *cap * 2 : 16;
    if (ncap <= n)
        ncap = n + 1;
#endif
    if (elem == 0 || ncap > SIZE_MAX / elem)
        return NULL;
    void *p = realloc(arr, ncap * elem);
    if (p)
        *cap = ncap;
    return p;
}

void *cnn_array_grow(void *arr, int *cap, int n, size_t elem)
{
    if (n < 0 || *cap < 0)
        return NULL;
    size_t c = (size_t)*cap;
    if ((size_t)n < c)
        return arr;
    if ((size_t)n >= (size_t)INT_MAX / 2)
        return NULL;
    void *p = cnn_array_grow_size(arr, &c, (size_t)n, elem);
    if (p)
        *cap = (int)c;
    return p;
}
