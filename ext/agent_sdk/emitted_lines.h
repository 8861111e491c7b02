/* emitted_lines.h — the agent loop's io for the bindings: stream-json lines collected in C while the loop steps (no
 * Ruby runs inside the core), handed to Ruby afterwards. Shared by Native::AgentLoop and Native::Runner. */
#ifndef ASDK_EMITTED_LINES_H
#define ASDK_EMITTED_LINES_H

#include "agent_sdk_ext.h"
#include "lines.h" /* asdk_lines, asdk_lines_emit, asdk_io_now_ms, asdk_io_random */

/* Takes the lines out of *l (the callback may step the loop again), raises NoMemError if one was lost, then calls
 * fn with each as a frozen UTF-8 String, in order. */
void asdk_lines_each(asdk_lines *l, void (*fn)(VALUE line, void *arg), void *arg);

#endif
