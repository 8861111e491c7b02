/* http_core_test.c — core/http.c on its own (no Ruby), built with ASan/UBSan by spec/http_core_spec.rb and run
 * against a FakeServer whose turns are picked by the request body's "turn" field (see that spec).
 *
 *     http_core_test BASE_URL CLOSED_PORT      prints "ok N - name" / "not ok N - name: why", exits 1 on failure
 *
 * Covers the contract paths the Ruby binding does not use: cancel and start from inside callbacks (deferred),
 * on_data returning 0, start from on_done, free with requests outstanding, invalid headers, wakeup from another
 * thread, poll from a callback. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"

static const char *base;
static char url[512], closed_url[512];
static int failures, test_no;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *name, const char *why)
{
    test_no++;
    if (why) {
        failures++;
        printf("not ok %d - %s: %s\n", test_no, name, why);
    } else {
        printf("ok %d - %s\n", test_no, name);
    }
    fflush(stdout);
}

#define CHECK(cond) do { if (!(cond)) return #cond; } while (0)

typedef struct ctx {
    asdk_http *h;
    asdk_http_req *req;
    int status, headers, has_request_id, data_calls, done_calls;
    size_t bytes;
    asdk_http_error error;
    char message[ASDK_HTTP_MESSAGE_MAX];
    int cancel_in_data;      /* cancel itself in the first on_data */
    int data_after_cancel;
    int refuse_data;         /* on_data returns 0 */
    int poll_in_data;        /* result of asdk_http_poll called from on_data */
    int start_in_header;     /* start ctx->child from the first on_header */
    int retry_in_done;       /* start ctx->child from on_done */
    struct ctx *child;
} ctx;

static asdk_http_opts opts_for(const char *turn_url, const char *body, long idle_ms)
{
    static const char *hdrs[] = { "x-api-key: sk-test-SECRET-abcdef", "content-type: application/json",
                                  "anthropic-version: 2023-06-01" };
    asdk_http_opts o = { 0 };
    o.url = turn_url;
    o.headers = hdrs;
    o.nheaders = 3;
    o.body = body;
    o.body_len = strlen(body);
    o.connect_timeout_ms = 5000;
    o.idle_timeout_ms = idle_ms;
    o.total_timeout_ms = 30000;
    return o;
}

static const char *BODY_TEXT = "{\"turn\":\"text\",\"stream\":true,\"model\":\"m\",\"max_tokens\":5,\"messages\":[]}";
static const char *BODY_STALL = "{\"turn\":\"stall\",\"stream\":true,\"model\":\"m\",\"max_tokens\":5,\"messages\":[]}";

static asdk_http_req *start(asdk_http *h, ctx *c, const char *body, long idle_ms);

static void on_status(void *ud, int st)
{
    ((ctx *)ud)->status = st;
}

static void on_header(void *ud, const char *n, size_t nl, const char *v, size_t vl)
{
    ctx *c = ud;
    (void)v;
    c->headers++;
    if (nl == 10 && memcmp(n, "request-id", 10) == 0 && vl > 4) c->has_request_id = 1;
    if (c->start_in_header && c->child) {
        c->start_in_header = 0;
        start(c->h, c->child, BODY_TEXT, 0);
    }
}

static int on_data(void *ud, const char *p, size_t n)
{
    ctx *c = ud;
    (void)p;
    if (c->done_calls || (c->cancel_in_data && c->data_calls)) c->data_after_cancel++;
    c->data_calls++;
    c->bytes += n;
    if (c->poll_in_data == 1) c->poll_in_data = asdk_http_poll(c->h, 0) == -1 ? 2 : 3;
    if (c->cancel_in_data && c->data_calls == 1) asdk_http_cancel(c->req);
    return !c->refuse_data;
}

static void on_done(void *ud, const asdk_http_result *r)
{
    ctx *c = ud;
    c->done_calls++;
    c->req = NULL;
    c->error = r->error;
    c->status = r->status;
    snprintf(c->message, sizeof c->message, "%s", r->message);
    if (c->retry_in_done && c->child) {
        c->retry_in_done = 0;
        start(c->h, c->child, BODY_TEXT, 0);
    }
}

static const asdk_http_callbacks CB = { on_status, on_header, on_data, on_done };

static asdk_http_req *start(asdk_http *h, ctx *c, const char *body, long idle_ms)
{
    asdk_http_opts o = opts_for(url, body, idle_ms);
    c->h = h;
    c->req = asdk_http_start(h, &o, &CB, c);
    return c->req;
}

static int run(asdk_http *h, double limit_s)
{
    double end = now_s() + limit_s;
    int n;
    while ((n = asdk_http_poll(h, 200)) > 0 && now_s() < end) {}
    return n;
}

static const char *t_basic(void)
{
    asdk_http *h = asdk_http_new();
    ctx c = { 0 };
    CHECK(asdk_http_poll(h, 1000) == 0); /* nothing running: returns at once */
    CHECK(start(h, &c, BODY_TEXT, 5000));
    CHECK(run(h, 10) == 0);
    CHECK(c.done_calls == 1 && c.error == ASDK_HTTP_OK && c.status == 200);
    CHECK(c.has_request_id && c.headers >= 3 && c.bytes > 100 && c.message[0] == '\0');
    asdk_http_free(h);
    return NULL;
}

static const char *t_cancel_in_data(void)
{
    asdk_http *h = asdk_http_new();
    ctx c = { 0 };
    c.cancel_in_data = 1;
    CHECK(start(h, &c, BODY_TEXT, 5000));
    CHECK(run(h, 10) == 0);
    CHECK(c.done_calls == 1 && c.error == ASDK_HTTP_ABORTED && strcmp(c.message, "cancelled") == 0);
    CHECK(c.data_calls == 1 && c.data_after_cancel == 0);
    asdk_http_free(h);
    return NULL;
}

static const char *t_refuse_data(void)
{
    asdk_http *h = asdk_http_new();
    ctx c = { 0 };
    c.refuse_data = 1;
    CHECK(start(h, &c, BODY_TEXT, 5000));
    CHECK(run(h, 10) == 0);
    CHECK(c.done_calls == 1 && c.error == ASDK_HTTP_ABORTED && c.data_calls == 1);
    CHECK(strstr(c.message, "data callback") != NULL);
    asdk_http_free(h);
    return NULL;
}

static const char *t_poll_in_callback(void)
{
    asdk_http *h = asdk_http_new();
    ctx c = { 0 };
    c.poll_in_data = 1;
    CHECK(start(h, &c, BODY_TEXT, 5000));
    CHECK(run(h, 10) == 0);
    CHECK(c.poll_in_data == 2 && c.done_calls == 1 && c.error == ASDK_HTTP_OK);
    asdk_http_free(h);
    return NULL;
}

static const char *t_start_in_header_and_done(void)
{
    asdk_http *h = asdk_http_new();
    ctx a = { 0 }, b = { 0 }, d = { 0 };
    a.start_in_header = 1;
    a.child = &b;
    b.retry_in_done = 1;
    b.child = &d;
    CHECK(start(h, &a, BODY_TEXT, 5000));
    CHECK(run(h, 10) == 0);
    CHECK(a.done_calls == 1 && a.error == ASDK_HTTP_OK);
    CHECK(b.done_calls == 1 && b.error == ASDK_HTTP_OK && b.status == 200 && b.bytes > 100);
    CHECK(d.done_calls == 1 && d.error == ASDK_HTTP_OK && d.status == 200 && d.bytes > 100);
    asdk_http_free(h);
    return NULL;
}

static const char *t_cancel_outside(void)
{
    asdk_http *h = asdk_http_new();
    ctx c = { 0 };
    CHECK(start(h, &c, BODY_STALL, 0));
    double end = now_s() + 5;
    while (c.status == 0 && now_s() < end) asdk_http_poll(h, 100);
    CHECK(c.status == 200 && c.done_calls == 0);
    asdk_http_cancel(c.req);
    CHECK(c.done_calls == 1 && c.error == ASDK_HTTP_ABORTED); /* synchronously */
    CHECK(asdk_http_poll(h, 0) == 0);
    asdk_http_free(h);
    return NULL;
}

static const char *t_free_outstanding(void)
{
    asdk_http *h = asdk_http_new();
    ctx a = { 0 }, b = { 0 };
    CHECK(start(h, &a, BODY_STALL, 0));
    CHECK(start(h, &b, BODY_TEXT, 0)); /* never polled */
    asdk_http_poll(h, 200);
    asdk_http_free(h);
    CHECK(a.done_calls == 1 && a.error == ASDK_HTTP_ABORTED && strstr(a.message, "freed"));
    CHECK(b.done_calls == 1 && b.error == ASDK_HTTP_ABORTED);
    return NULL;
}

static const char *t_invalid_header(void)
{
    asdk_http *h = asdk_http_new();
    ctx c = { 0 };
    const char *hdrs[] = { "x-api-key: SECRET-VALUE\r\nx-injected: 1" };
    asdk_http_opts o = opts_for(url, BODY_TEXT, 0);
    o.headers = hdrs;
    o.nheaders = 1;
    c.h = h;
    CHECK((c.req = asdk_http_start(h, &o, &CB, &c)) != NULL);
    CHECK(c.done_calls == 0);
    CHECK(asdk_http_poll(h, 1000) == 0);
    CHECK(c.done_calls == 1 && c.error == ASDK_HTTP_OTHER && strstr(c.message, "SECRET") == NULL);
    CHECK(asdk_http_start(h, NULL, &CB, &c) == NULL);
    asdk_http_free(h);
    return NULL;
}

static const char *t_errors(void)
{
    asdk_http *h = asdk_http_new();
    ctx a = { 0 }, b = { 0 }, d = { 0 };
    asdk_http_opts o = opts_for(closed_url, BODY_TEXT, 0);
    a.h = h;
    CHECK((a.req = asdk_http_start(h, &o, &CB, &a)) != NULL);
    CHECK(start(h, &b, BODY_STALL, 300)); /* idle timeout */
    asdk_http_opts f = opts_for("ftp://127.0.0.1/x", BODY_TEXT, 0);
    d.h = h;
    CHECK((d.req = asdk_http_start(h, &f, &CB, &d)) != NULL);
    double t0 = now_s();
    CHECK(run(h, 10) == 0);
    CHECK(a.done_calls == 1 && a.error == ASDK_HTTP_CONNECT && a.status == 0);
    CHECK(b.done_calls == 1 && b.error == ASDK_HTTP_TIMEOUT && b.status == 200 && strstr(b.message, "idle"));
    CHECK(d.done_calls == 1 && d.error == ASDK_HTTP_OTHER);
    CHECK(now_s() - t0 < 3);
    CHECK(!strstr(a.message, "SECRET") && !strstr(b.message, "SECRET") && !strstr(d.message, "SECRET"));
    asdk_http_free(h);
    return NULL;
}

static void *waker(void *p)
{
    struct timespec d = { 0, 200 * 1000 * 1000 };
    nanosleep(&d, NULL);
    asdk_http_wakeup(p);
    return NULL;
}

static const char *t_wakeup(void)
{
    asdk_http *h = asdk_http_new();
    ctx c = { 0 };
    CHECK(start(h, &c, BODY_STALL, 0));
    double end = now_s() + 5;
    while (c.status == 0 && now_s() < end) asdk_http_poll(h, 100);
    CHECK(c.status == 200);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, waker, h) == 0);
    double t0 = now_s();
    int n = asdk_http_poll(h, 5000);
    double took = now_s() - t0;
    pthread_join(t, NULL);
    CHECK(n == 1 && took < 2 && took > 0.1);
    asdk_http_free(h);
    CHECK(c.done_calls == 1 && c.error == ASDK_HTTP_ABORTED);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s BASE_URL CLOSED_PORT\n", argv[0]);
        return 2;
    }
    base = argv[1];
    snprintf(url, sizeof url, "%s/v1/messages", base);
    snprintf(closed_url, sizeof closed_url, "http://127.0.0.1:%s/v1/messages", argv[2]);
    if (asdk_http_global_init()) return 2;

    report("basic streamed request: status, lower-cased headers, body, one on_done", t_basic());
    report("cancel from inside on_data is deferred; no data after it", t_cancel_in_data());
    report("on_data returning 0 aborts", t_refuse_data());
    report("asdk_http_poll from a callback returns -1", t_poll_in_callback());
    report("start from on_header (deferred add) and from on_done", t_start_in_header_and_done());
    report("cancel outside callbacks calls on_done before returning", t_cancel_outside());
    report("asdk_http_free ends outstanding requests with ABORTED", t_free_outstanding());
    report("an invalid header is reported through on_done, without its value", t_invalid_header());
    report("connect error, idle timeout, unsupported scheme", t_errors());
    report("asdk_http_wakeup from another thread ends a poll early", t_wakeup());
    printf("%d passed, %d failed\n", test_no - failures, failures);
    return failures ? 1 : 0;
}
