/* lines.c — see lines.h. */
#include "lines.h"

#include <stdlib.h>
#include <time.h>

int asdk_lines_emit(void *ud, const char *line, size_t len)
{
    asdk_lines *l = ud;
    if (asdk_buf_append(&l->buf, line, len) || asdk_buf_append(&l->buf, "\n", 1)) {
        l->nomem = 1;
        return 0;
    }
    return 1;
}

int64_t asdk_io_now_ms(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double asdk_io_random(void *ud)
{
    (void)ud;
    return (double)(rand() % 10000) / 10000.0;
}
