/* lines.h — the agent loop's io for a driver: stream-json lines collected in C while the loop steps, handed to the
 * host (Ruby, a test, a fuzzer) afterwards; and the clock and jitter the loop asks for (plain C99, no Ruby). */
#ifndef ASDK_LINES_H
#define ASDK_LINES_H

#include <stdint.h>

#include "asdk_buf.h"

typedef struct {
    asdk_buf buf; /* each line followed by "\n" (a JSON line has no raw newline) */
    int nomem;    /* a line could not be stored */
} asdk_lines;

/* asdk_loop_io callbacks: emit takes an asdk_lines * as ud; the others ignore ud. */
int asdk_lines_emit(void *ud, const char *line, size_t len);
int64_t asdk_io_now_ms(void *ud);
double asdk_io_random(void *ud); /* retry jitter only: no quality needed */

#endif
