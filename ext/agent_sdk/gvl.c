/* gvl.c — blocking calls run here without the GVL; see gvl.h. */
#include "gvl.h"

#include <ruby/thread.h>

typedef struct {
    void *(*fn)(void *);
    void *arg;
    asdk_http *h;
    int *interrupted;
    int ran;
} nogvl_args;

static void *run_nogvl(void *p)
{
    nogvl_args *a = p;
    a->ran = 1;
    return a->fn(a->arg);
}

/* Async-signal-safe: an atomic store, and asdk_http_wakeup, which only write()s to a descriptor fixed at creation
 * (no lock, no allocation). */
static void ubf(void *p)
{
    nogvl_args *a = p;
    asdk_flag_set(a->interrupted, 1);
    asdk_http_wakeup(a->h);
}

int asdk_without_gvl(void *(*fn)(void *), void *arg, asdk_http *h, int *interrupted)
{
    nogvl_args a = { fn, arg, h, interrupted, 0 };
    /* RB_NOGVL_INTR_FAIL: with an interrupt already pending, return at once instead of handling it in here, so
     * that every interrupt is handled by the caller's rb_thread_check_ints().
     * RB_NOGVL_UBF_ASYNC_SAFE: ubf may be called from a signal handler. Without it, Ruby 3.0–3.2 start a helper
     * Ruby thread (and kill and join it afterwards) on every call made while only one thread is alive, so that a
     * signal can reach the unblocking function: ~20 µs of CPU per wait. */
    rb_nogvl(run_nogvl, &a, ubf, &a, RB_NOGVL_INTR_FAIL | RB_NOGVL_UBF_ASYNC_SAFE);
    if (!a.ran) asdk_flag_set(interrupted, 1);
    return a.ran;
}

typedef struct {
    asdk_http *h;
    int timeout_ms;
    int result;
} poll_args;

static void *poll_once(void *p)
{
    poll_args *a = p;
    a->result = asdk_http_poll(a->h, a->timeout_ms);
    return NULL;
}

int asdk_without_gvl_poll(asdk_http *h, int timeout_ms, int *interrupted)
{
    int flag = 0;
    poll_args a = { h, timeout_ms, -1 };
    int ran = asdk_without_gvl(poll_once, &a, h, &flag);
    if (interrupted) *interrupted = asdk_flag_get(&flag);
    return ran ? a.result : -1;
}

typedef struct {
    void (*fn)(void *);
    void *arg;
    int ran;
} plain_args;

static void *run_plain(void *p)
{
    plain_args *a = p;
    a->ran = 1;
    a->fn(a->arg);
    return NULL;
}

void asdk_without_gvl_uninterruptible(void (*fn)(void *), void *arg)
{
    plain_args a = { fn, arg, 0 };
    /* No unblocking function: fn is short but may wait (libcurl joining a resolver thread). RB_NOGVL_INTR_FAIL: with
     * an interrupt pending Ruby would raise before fn ran (and leak what fn frees); then it runs here, with the GVL. */
    rb_nogvl(run_plain, &a, NULL, NULL, RB_NOGVL_INTR_FAIL);
    if (!a.ran) fn(arg);
}
