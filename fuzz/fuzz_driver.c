/* fuzz_driver.c — the driver (core/driver.c) with its loops (core/loop.c) and the real assemblers, over a fake HTTP
 * layer made of the fuzzer's bytes.
 *
 * The bytes choose the runs (provider, limits, partial messages), and for every request what the "server" does at
 * each poll: the status and headers (content type, retry-after, retry-after-ms, x-should-retry), the body in
 * arbitrary splits — a canned stream (text, tool use, OpenAI chunks, or one the assembler must reject: a data line
 * that is not JSON, invalid UTF-8, tool input that is not JSON), with bytes flipped —, the end, a reset, a stall,
 * a refused start; and when the host cancels. Checked:
 *   - every run ends, within a bounded number of polls, each reported done exactly once with exactly one result line;
 *   - the drive never waits with nothing in flight and no timer (the hang of a stream rejected by on_data);
 *   - on_done runs exactly once for every request started, none is left when the driver is freed;
 *   - no run makes more model calls than max_turns, every line is JSON (and, under ASan, nothing leaks);
 *   - runs that keep attempt records (asdk_driver_record_attempts, as Native::Runner when instrumented) deliver one
 *     request record per attempt that got an answer from the loop, each retry record after the request record of
 *     the attempt it retries, with sane fields and no secret; neither a line nor a record holds the API key. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "driver.h"
#include "fuzz_check.h"

#define MAX_REQS 64
#define MAX_POLLS 4000

static const char *const bodies[] = {
    /* 0: Anthropic text */
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":"
    "\"assistant\",\"content\":[],\"model\":\"x\",\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
    "\"text\",\"text\":\"\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"hello \\u00e9\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":"
    "{\"output_tokens\":5}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    /* 1: Anthropic tool use */
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":"
    "\"assistant\",\"content\":[],\"model\":\"x\",\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
    "\"tool_use\",\"id\":\"toolu_1\",\"name\":\"t\",\"input\":{}}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"{\\\"q\\\":\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"1}\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":"
    "{\"output_tokens\":5}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    /* 2: a data line that is not JSON */
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":"
    "\"assistant\",\"content\":[],\"model\":\"x\",\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n"
    "event: content_block_delta\ndata: not json\n\n",
    /* 3: invalid UTF-8 in a text delta */
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":"
    "\"assistant\",\"content\":[],\"model\":\"x\",\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
    "\"text\",\"text\":\"\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"\xff\xfe\"}}\n\n",
    /* 4: OpenAI chunks */
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,"
    "\"completion_tokens\":2}}\n\n"
    "data: [DONE]\n\n",
    /* 5: a malformed OpenAI chunk */
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":7}}]}\n\ndata: {\"choices\":\n\n",
    /* 6: an error body */
    "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"key sk-fuzz-secret-key\"}}",
};
static const int statuses[] = { 200, 200, 200, 200, 429, 500, 529, 400, 401, 503 };

typedef struct {
    int used, live, status_sent, aborted, pos, body;
    asdk_http_callbacks cb;
    void *ud;
} fake_req;

typedef struct {
    bytes b;
    asdk_driver *d;
    fake_req reqs[MAX_REQS];
    int nreqs, live, polls, in_cb;
    int64_t clock;
} fake_net;

static fake_net *net_g;

static int64_t fclock(void *ud) { (void)ud; return net_g->clock; }
static double frandom(void *ud) { (void)ud; return 0.5; }
static int64_t fwall(void *ud) { (void)ud; return 1700000000; }

static void finish(fake_net *f, fake_req *q, asdk_http_error err, int status)
{
    CHECK(q->live);
    q->live = 0;
    f->live--;
    asdk_http_result res = { err, status, err == ASDK_HTTP_OK ? "" : "fake failure", 0 };
    q->cb.on_done(q->ud, &res);
}

static void *fstart(void *net, const asdk_http_opts *o, const asdk_http_callbacks *cb, void *ud)
{
    fake_net *f = net;
    CHECK(o->url && cb && cb->on_done);
    if (f->nreqs == MAX_REQS || take(&f->b, 16) == 0) return NULL; /* refused: out of memory */
    fake_req *q = &f->reqs[f->nreqs++];
    q->used = q->live = 1;
    q->cb = *cb;
    q->ud = ud;
    q->body = (int)take(&f->b, sizeof bodies / sizeof bodies[0]);
    f->live++;
    return q;
}

static void fcancel(void *net, void *req)
{
    fake_net *f = net;
    fake_req *q = req;
    CHECK(!f->in_cb);
    if (q->live) finish(f, q, ASDK_HTTP_ABORTED, 0);
}

static void fwakeup(void *net) { (void)net; }

/* One poll: each live request moves one step as the bytes say. */
static void fpoll(void *net, int timeout_ms)
{
    fake_net *f = net;
    CHECK(++f->polls < MAX_POLLS);                    /* every run ends: no endless polling */
    CHECK(timeout_ms >= 0);
    CHECK(f->live > 0 || f->d->next_wake_ms >= 0);   /* no wait with nothing in flight and no timer */
    int moved = 0;
    for (int i = 0; i < f->nreqs; i++) {
        fake_req *q = &f->reqs[i];
        if (!q->live) continue;
        const char *body = bodies[q->body];
        size_t blen = strlen(body);
        unsigned act = f->b.n ? take(&f->b, 8) : 7; /* out of bytes: reset everything */
        if (!q->status_sent && act < 6) {
            int st = statuses[take(&f->b, sizeof statuses / sizeof statuses[0])];
            q->status_sent = 1;
            q->cb.on_status(q->ud, st);
            const char *ct = take(&f->b, 4) ? (q->body == 6 ? "application/json" : "text/event-stream; charset=utf-8")
                                            : "text/plain";
            q->cb.on_header(q->ud, "content-type", 12, ct, strlen(ct));
            static const char *const ra[] = { "0", "1", "2.5", "nan", "inf", "1e999", "99999999999999999999",
                                              "Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "-1" };
            unsigned k = take(&f->b, 12);
            const char *name = take(&f->b, 2) ? "retry-after" : "retry-after-ms";
            if (k < 10) q->cb.on_header(q->ud, name, strlen(name), ra[k], strlen(ra[k]));
            if (take(&f->b, 4) == 0) q->cb.on_header(q->ud, "x-should-retry", 14, take(&f->b, 2) ? "true" : "false", 5);
            moved = 1;
        } else if (act < 5 && (size_t)q->pos < blen) { /* bytes, in a split the input chooses, maybe corrupted */
            size_t n = 1 + take(&f->b, 200);
            if (n > blen - (size_t)q->pos) n = blen - (size_t)q->pos;
            char chunk[256];
            memcpy(chunk, body + q->pos, n);
            if (take(&f->b, 16) == 0) chunk[take(&f->b, (unsigned)n)] ^= (char)(1u << take(&f->b, 8));
            q->pos += (int)n;
            moved = 1;
            if (!q->cb.on_data(q->ud, chunk, n)) finish(f, q, ASDK_HTTP_ABORTED, 200); /* as http.c: the abort ends it */
        } else if (act < 6) { /* the end */
            finish(f, q, ASDK_HTTP_OK, q->status_sent ? 200 : 0);
            moved = 1;
        } else if (act == 6) { /* stall: time passes */
            f->clock += 1000;
        } else { /* reset, refused, timeout */
            static const asdk_http_error errs[] = { ASDK_HTTP_RECV, ASDK_HTTP_CONNECT, ASDK_HTTP_TIMEOUT, ASDK_HTTP_TLS };
            finish(f, q, errs[take(&f->b, 4)], 0);
            moved = 1;
        }
    }
    if (!moved) f->clock += timeout_ms; /* nothing happened: the wait ran out */
}

static const asdk_net_ops fake_ops = { fstart, fcancel, fpoll, fwakeup };

#define SECRET "sk-fuzz-secret-key"

static int contains(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (!memcmp(s + i, needle, k)) return 1;
    return 0;
}

static void check_line(const char *s, size_t n, int *results)
{
    char *copy = malloc(n + 1);
    CHECK(copy);
    memcpy(copy, s, n);
    copy[n] = '\0';
    yajl_val v = yajl_tree_parse(copy, NULL, 0);
    CHECK(v && YAJL_IS_OBJECT(v));
    CHECK(!contains(s, n, SECRET));
    const char *path[] = { "type", NULL };
    yajl_val t = yajl_tree_get(v, path, yajl_t_string);
    CHECK(t);
    const char *type = YAJL_GET_STRING(t);
    if (type && !strcmp(type, "result")) (*results)++;
    yajl_tree_free(v);
    free(copy);
}

#define MAX_RUNS 4

typedef struct {
    int record;
    int64_t max_retries;
    int last_kind;       /* the kind of the last record delivered (0: none) */
    int64_t last_attempt;
} run_records;

static void check_record(const asdk_drv_record *rec, run_records *rr)
{
    CHECK(rr->record);
    CHECK(rec->kind == ASDK_REC_REQUEST || rec->kind == ASDK_REC_RETRY);
    CHECK(rec->attempt >= 1 && rec->attempt <= rr->max_retries + 1);
    CHECK(rec->status >= 0 && rec->status < 600);
    CHECK(memchr(rec->error, '\0', sizeof rec->error));
    CHECK(!strstr(rec->error, SECRET));
    if (rec->kind == ASDK_REC_RETRY) {
        /* right after the request record of the attempt it retries */
        CHECK(rr->last_kind == ASDK_REC_REQUEST && rr->last_attempt == rec->attempt);
        CHECK(rec->wait_ms >= 0 && rec->error[0]);
    } else {
        CHECK(rec->total_ms >= 0 && rec->ttfb_ms >= -1 && rec->ttfb_ms <= rec->total_ms);
        CHECK(rec->has_usage || rec->cost_micros == -1);
    }
    rr->last_kind = (int)rec->kind;
    rr->last_attempt = rec->attempt;
}

static void drain_records(asdk_drun *r, run_records *rr)
{
    const asdk_drv_record *rec;
    while (asdk_driver_next_record(r, &rec)) check_record(rec, rr);
    CHECK(r->records_dropped == 0); /* the host is called for every attempt's records: the ring never fills */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fake_net f;
    memset(&f, 0, sizeof f);
    f.b = (bytes){ data, size };
    f.clock = 1000;
    net_g = &f;
    asdk_driver_opts o = { 0 };
    o.now_ms = fclock;
    o.random = frandom;
    o.wall_s = fwall;
    o.idle_ms = 5000;
    asdk_driver *d = asdk_driver_new(&o);
    CHECK(d);
    f.d = d;
    asdk_driver_set_net(d, &fake_ops, &f);

    int nruns = 1 + (int)take(&f.b, MAX_RUNS), max_turns[MAX_RUNS], done[MAX_RUNS] = { 0 }, results[MAX_RUNS] = { 0 };
    run_records rr[MAX_RUNS];
    memset(rr, 0, sizeof rr);
    const char *headers[] = { "content-type: application/json", "x-api-key: sk-fuzz-secret-key" };
    for (int i = 0; i < nruns; i++) {
        asdk_loop_config c = { 0 };
        c.provider = take(&f.b, 2) ? ASDK_PROVIDER_OPENAI : ASDK_PROVIDER_ANTHROPIC;
        c.model = "m";
        c.prompt = "hi";
        c.tools_json = "[{\"name\":\"t\",\"input_schema\":{\"type\":\"object\"}}]";
        c.max_turns = max_turns[i] = (int)take(&f.b, 5);
        c.max_tokens = take(&f.b, 2) ? 200 : 0;
        c.max_output_tokens = 100;
        c.max_retries = (int)take(&f.b, 4);
        c.include_partial = (int)take(&f.b, 2);
        c.stream = 1;
        /* sometimes a deadline for the whole run (timeout:): it may pass mid-request, in a back-off or between calls */
        c.timeout_ms = take(&f.b, 4) == 1 ? 1 + (int64_t)take(&f.b, 4000) : 0;
        char err[256];
        CHECK(asdk_driver_add(d, &c, "http://fake/v1/messages", headers, 2, err, sizeof err) == i);
        rr[i].max_retries = c.max_retries;
        rr[i].record = (int)take(&f.b, 2);
        if (rr[i].record) CHECK(asdk_driver_record_attempts(d, (size_t)i, 1) == 0);
    }

    int host_stopped = 0;
    for (int rounds = 0; d->active && !host_stopped; rounds++) {
        CHECK(rounds < MAX_POLLS);
        asdk_drun *r;
        while (!host_stopped && (r = asdk_driver_head(d))) {
            int i = (int)r->index;
            asdk_drv_event ev = asdk_driver_step(d, r);
            const char *line;
            size_t len;
            switch (ev) {
            case ASDK_DRV_LINES:
                /* a host whose callback raises mid-way stops here: the rest is drained below */
                while (asdk_driver_next_line(r, &line, &len)) {
                    check_line(line, len, &results[i]);
                    if (take(&f.b, 64) == 0) host_stopped = 1;
                    if (host_stopped) break;
                }
                break;
            case ASDK_DRV_RECORDS:
                drain_records(r, &rr[i]);
                break;
            case ASDK_DRV_TOOLS:
                for (size_t k = 0, n = asdk_loop_tool_count(r->loop); k < n; k++)
                    asdk_loop_tool_result(r->loop, k, "ok", 2, (int)take(&f.b, 2));
                asdk_driver_resume(d, r);
                break;
            case ASDK_DRV_DONE:
                done[i]++;
                asdk_driver_pop(d, r);
                break;
            case ASDK_DRV_NOMEM: /* the host raises */
                host_stopped = 1;
                break;
            default:
                asdk_driver_pop(d, r);
                break;
            }
        }
        if (host_stopped || !d->active) break;
        if (take(&f.b, 16) == 0) asdk_driver_cancel(d, take(&f.b, (unsigned)nruns), take(&f.b, 2) ? "stop" : NULL);
        asdk_driver_drive(d);
    }
    if (host_stopped) { /* as Runner#drain: every run ends, every line is still delivered */
        asdk_driver_cancel_all(d, "abandoned");
        for (int i = 0; i < nruns; i++) {
            const char *line;
            size_t len;
            drain_records(d->runs[i], &rr[i]); /* as Runner#drain: the records of an abandoned run are dropped */
            while (asdk_driver_next_line(d->runs[i], &line, &len)) check_line(line, len, &results[i]);
            if (!done[i]) done[i] = 1; /* reported through the drain */
        }
    }
    for (int i = 0; i < nruns; i++) {
        CHECK(done[i] == 1);
        CHECK(results[i] == 1);
        CHECK(!max_turns[i] || asdk_loop_turns(d->runs[i]->loop) <= max_turns[i]);
    }
    asdk_driver_free(d);
    CHECK(f.live == 0); /* on_done ran for every request */
    return 0;
}
