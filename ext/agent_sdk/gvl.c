/* gvl.c — blocking calls run here without the GVL; see gvl.h. */
#include "gvl.h"

#include <ruby/thread.h>

typedef struct {
    asdk_http *h;
    int timeout_ms;
    int result;
    int ran;
    /* Written by the unblocking function on another thread, read by the caller only after rb_nogvl returned:
     * Ruby calls the unblocking function under the thread's interrupt lock and unregisters it under that lock
     * before rb_nogvl returns, which orders the write before the read. */
    int interrupted;
} poll_args;

static void *poll_nogvl(void *p)
{
    poll_args *a = p;
    a->ran = 1;
    a->result = asdk_http_poll(a->h, a->timeout_ms);
    return NULL;
}

static void poll_ubf(void *p)
{
    poll_args *a = p;
    a->interrupted = 1;
    asdk_http_wakeup(a->h); /* curl_multi_wakeup: thread-safe, makes curl_multi_poll return */
}

int asdk_without_gvl_poll(asdk_http *h, int timeout_ms, int *interrupted)
{
    poll_args a = { h, timeout_ms, -1, 0, 0 };
    /* RB_NOGVL_INTR_FAIL: with an interrupt already pending, return at once instead of handling it in here, so
     * that every interrupt is handled by the caller's rb_thread_check_ints(). */
    rb_nogvl(poll_nogvl, &a, poll_ubf, &a, RB_NOGVL_INTR_FAIL);
    if (!a.ran) a.interrupted = 1;
    if (interrupted) *interrupted = a.interrupted;
    return a.ran ? a.result : -1;
}
