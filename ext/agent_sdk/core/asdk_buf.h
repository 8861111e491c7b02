/* asdk_buf.h — growable byte buffer shared by the core (plain C99, no Ruby). */
#ifndef ASDK_BUF_H
#define ASDK_BUF_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *ptr;
    size_t len, cap;
} asdk_buf;

/* Makes room for `extra` more bytes. Returns 0, or -1 when memory runs out (the buffer is then unchanged). */
static inline int asdk_buf_reserve(asdk_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra) return 0;
    if (extra > SIZE_MAX - b->len) return -1;
    size_t need = b->len + extra, cap = b->cap ? b->cap : 256;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->ptr, cap);
    if (!p) return -1;
    b->ptr = p;
    b->cap = cap;
    return 0;
}

static inline int asdk_buf_append(asdk_buf *b, const void *p, size_t n)
{
    if (!n) return 0;
    if (asdk_buf_reserve(b, n)) return -1;
    memcpy(b->ptr + b->len, p, n);
    b->len += n;
    return 0;
}

static inline void asdk_buf_free(asdk_buf *b)
{
    free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
}

#endif
