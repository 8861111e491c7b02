/* fuzz_check.h — CHECK(cond): the fuzz targets' assertion (abort, so libFuzzer and the standalone driver keep the input). */
#ifndef ASDK_FUZZ_CHECK_H
#define ASDK_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                    \
        }                                                                               \
    } while (0)

#endif
