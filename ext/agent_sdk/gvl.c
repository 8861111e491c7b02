/* gvl.c — blocking calls run here without the GVL; see gvl.h. */
#include "gvl.h"

#include <ruby/thread.h>
#include <signal.h>

typedef struct {
    asdk_http *h;
    int timeout_ms;
    int result;
    int ran;
    /* Written by the unblocking function, read by the caller only after rb_nogvl returned. From another thread,
     * Ruby calls the unblocking function under the thread's interrupt lock and unregisters it under that lock
     * before rb_nogvl returns, which orders the write before the read; from a signal handler (see below) it runs
     * on this very thread, hence volatile sig_atomic_t. */
    volatile sig_atomic_t interrupted;
} poll_args;

static void *poll_nogvl(void *p)
{
    poll_args *a = p;
    a->ran = 1;
    a->result = asdk_http_poll(a->h, a->timeout_ms);
    return NULL;
}

/* Async-signal-safe: it sets a flag and calls curl_multi_wakeup, which only reads fields fixed at init and
 * write()s one byte or eight to the multi handle's wakeup socketpair / eventfd (no lock, no allocation). */
static void poll_ubf(void *p)
{
    poll_args *a = p;
    a->interrupted = 1;
    asdk_http_wakeup(a->h); /* thread-safe, makes curl_multi_poll return */
}

int asdk_without_gvl_poll(asdk_http *h, int timeout_ms, int *interrupted)
{
    poll_args a = { h, timeout_ms, -1, 0, 0 };
    /* RB_NOGVL_INTR_FAIL: with an interrupt already pending, return at once instead of handling it in here, so
     * that every interrupt is handled by the caller's rb_thread_check_ints().
     * RB_NOGVL_UBF_ASYNC_SAFE: poll_ubf may be called from a signal handler. Without it, Ruby 3.0–3.2 start a
     * helper Ruby thread (and kill and join it afterwards) on every call made while only one thread is alive, so
     * that a signal can reach the unblocking function: ~20 µs of CPU per wait, i.e. per streamed chunk. */
    rb_nogvl(poll_nogvl, &a, poll_ubf, &a, RB_NOGVL_INTR_FAIL | RB_NOGVL_UBF_ASYNC_SAFE);
    if (!a.ran) a.interrupted = 1;
    if (interrupted) *interrupted = a.interrupted;
    return a.ran ? a.result : -1;
}
