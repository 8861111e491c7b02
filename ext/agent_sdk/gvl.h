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

/* A flag one thread sets while another runs without the GVL and reads it (the unblocking function, which may run
 * in a signal handler, and Runner#cancel, from another Ruby thread). Lock-free, hence async-signal-safe. */
#if defined(__GNUC__) || defined(__clang__)
static inline int asdk_flag_get(int *f) { return __atomic_load_n(f, __ATOMIC_ACQUIRE); }
static inline void asdk_flag_set(int *f, int v) { __atomic_store_n(f, v, __ATOMIC_RELEASE); }
#else
#error "agent_sdk needs GCC or Clang (__atomic builtins)"
/* fn(arg) without the GVL and without an unblocking function, for cleanup that must not be interrupted but may
 * wait (asdk_http_cancel of a transfer whose host name is being resolved: libcurl joins its resolver thread), so
 * the other Ruby threads keep running meanwhile. fn must not touch Ruby objects. With an interrupt pending it runs
 * with the GVL instead. */
void asdk_without_gvl_uninterruptible(void (*fn)(void *), void *arg);

#endif

/* fn(arg) without the GVL. The unblocking function sets *interrupted (asdk_flag_set) and calls
 * asdk_http_wakeup(h): fn must wait only in asdk_http_poll(h, …) or asdk_http_wait_wakeup(h, …) and return once asdk_flag_get(interrupted) is
 * set. With an interrupt already pending fn does not run and *interrupted is set. Returns 1 when fn ran. */
int asdk_without_gvl(void *(*fn)(void *), void *arg, asdk_http *h, int *interrupted);

/* asdk_http_poll(h, timeout_ms) without the GVL, through asdk_without_gvl. *interrupted is set to 1 when an
 * interrupt woke or skipped the poll. Returns what asdk_http_poll returned (the number of running requests), or -1
 * when the poll was skipped. */
int asdk_without_gvl_poll(asdk_http *h, int timeout_ms, int *interrupted);

/* fn(arg) without the GVL and without an unblocking function, for cleanup that must not be interrupted but may
 * wait (asdk_http_cancel of a transfer whose host name is being resolved: libcurl joins its resolver thread), so
 * the other Ruby threads keep running meanwhile. fn must not touch Ruby objects. With an interrupt pending it runs
 * with the GVL instead. */
void asdk_without_gvl_uninterruptible(void (*fn)(void *), void *arg);

#endif
