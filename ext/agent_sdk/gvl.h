/* gvl.h — the one place where the extension blocks. Every call that can wait on the network runs through a
 * wrapper here: without the GVL (so other Ruby threads run meanwhile), with an unblocking function that wakes
 * the wait (so Thread#kill, Thread#raise, Timeout and signals take effect promptly). After pg's gvl_wrappers.h.
 *
 * Rules for callers (binding files):
 * - call a wrapper with the GVL held, and right after it returns call rb_thread_check_ints() — with the GVL held,
 *   never from inside a libcurl callback — so a pending kill/raise happens there, in plain binding code;
 * - keep every resource the wait uses under rb_ensure, whose ensure cancels and frees outstanding transfers:
 *   rb_thread_check_ints (or the wrapper itself, see below) may not return;
 * - nothing called while the GVL is released touches a Ruby object: the libcurl callbacks of the bindings
 *   only append to C buffers, which the binding turns into Ruby objects after the wrapper returns. */
#ifndef ASDK_GVL_H
#define ASDK_GVL_H

#include "agent_sdk_ext.h"
#include "http.h"

/* asdk_http_poll(h, timeout_ms) without the GVL. The unblocking function calls asdk_http_wakeup(h) and sets
 * *interrupted to 1; *interrupted is also 1 when an interrupt was already pending and the poll was skipped.
 * Returns what asdk_http_poll returned (the number of running requests), or -1 when the poll was skipped. */
int asdk_without_gvl_poll(asdk_http *h, int timeout_ms, int *interrupted);

#endif
