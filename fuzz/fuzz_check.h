/* fuzz_check.h — for the fuzz targets: CHECK(cond), their assertion (abort, so libFuzzer and the standalone driver keep
 * the input), and take(), which reads the fuzz input as a script of small choices. */
#ifndef ASDK_FUZZ_CHECK_H
#define ASDK_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                    \
        }                                                                               \
    } while (0)

/* The rest of the input; take() consumes one byte: a choice in [0, mod), 0 once the input is used up. */
typedef struct {
    const uint8_t *p;
    size_t n;
} bytes;

static inline unsigned take(bytes *b, unsigned mod)
{
    if (!b->n || !mod) return 0;
    unsigned v = b->p[0];
    b->p++, b->n--;
    return v % mod;
}

#endif
