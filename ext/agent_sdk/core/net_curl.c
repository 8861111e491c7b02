/* net_curl.c — asdk_net_curl: the driver's HTTP layer (driver.h) on core/http.c. Apart from driver.c so a fuzzer
 * can link the driver with a fake layer and without libcurl. */
#include "driver.h"

static void *curl_start(void *net, const asdk_http_opts *o, const asdk_http_callbacks *cb, void *ud)
{
    return asdk_http_start(net, o, cb, ud);
}
static void curl_cancel(void *net, void *req) { (void)net; asdk_http_cancel(req); }
static void curl_poll(void *net, int timeout_ms)
{
    /* asdk_http_poll returns at once with nothing in flight: a run sleeping before a retry waits on the wakeup
     * descriptor instead, so a back-off costs no CPU. Only when nothing was in flight before the poll: a poll that
     * finished the last transfer has just made its run ready, and waiting then held every lone model call up for the
     * driver's whole poll slice (1 s). */
    if (asdk_http_live(net) > 0) asdk_http_poll(net, timeout_ms);
    else if (timeout_ms > 0) asdk_http_wait_wakeup(net, timeout_ms);
}
static void curl_wakeup(void *net) { asdk_http_wakeup(net); }
const asdk_net_ops asdk_net_curl = { curl_start, curl_cancel, curl_poll, curl_wakeup };

