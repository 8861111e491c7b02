/* emitted_lines.h — the agent loop's io for the bindings: stream-json lines collected in C while the loop steps (no
 * Ruby runs inside the core), handed to Ruby afterwards. Shared by Native::AgentLoop and Native::Runner. */
#ifndef ASDK_EMITTED_LINES_H
#define ASDK_EMITTED_LINES_H

#include "agent_sdk_ext.h"
#include "asdk_buf.h"

typedef struct {
    asdk_buf buf; /* each line followed by "\n" (a JSON line has no raw newline) */
    int nomem;    /* a line could not be stored */
} asdk_lines;

/* asdk_loop_io callbacks: emit takes an asdk_lines * as ud; the others ignore ud. */
int asdk_lines_emit(void *ud, const char *line, size_t len);
int64_t asdk_io_now_ms(void *ud);
double asdk_io_random(void *ud); /* retry jitter only: no quality needed */

/* Takes the lines out of *l (the callback may step the loop again), raises NoMemError if one was lost, then calls
 * fn with each as a frozen UTF-8 String, in order. */
void asdk_lines_each(asdk_lines *l, void (*fn)(VALUE line, void *arg), void *arg);

#endif
