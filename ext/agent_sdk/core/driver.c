/* driver.c — see driver.h. The ready queue holds the runs that need stepping, in the order they became ready, so
 * neither the drive nor the host walks every run on every wake-up. */
#include "driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "retry_after.h"

#define ERROR_BODY_MAX 65536
#define BODY_MAX ((size_t)64 << 20) /* a non-streamed 2xx body: the assembler's own bound */
#define POLL_SLICE_MS 1000

#if defined(__GNUC__) || defined(__clang__)
static int flag_get(int *f) { return __atomic_load_n(f, __ATOMIC_ACQUIRE); }
static void flag_set(int *f, int v) { __atomic_store_n(f, v, __ATOMIC_RELEASE); }
#else
#error "agent_sdk needs GCC or Clang (__atomic builtins)"
#endif

/* ---- clock ---------------------------------------------------------------------------------------------------- */

static int64_t now_ms(asdk_driver *d) { return d->o.now_ms(d->o.clock_ud); }
static int64_t run_now(void *ud) { asdk_driver *d = ((asdk_drun *)ud)->d; return d->o.now_ms(d->o.clock_ud); }
static double run_random(void *ud) { asdk_driver *d = ((asdk_drun *)ud)->d; return d->o.random(d->o.clock_ud); }
static int run_emit(void *ud, const char *line, size_t len) { return asdk_lines_emit(&((asdk_drun *)ud)->lines, line, len); }
static int64_t wall_s(void *ud) { (void)ud; return (int64_t)time(NULL); }
static int64_t clock_now(void *ud) { return asdk_io_now_ms(ud); }
static double clock_random(void *ud) { return asdk_io_random(ud); }

/* ---- the ready queue ------------------------------------------------------------------------------------------ */

static void enqueue(asdk_drun *s)
{
    asdk_driver *d = s->d;
    if (s->queued) return;
    s->queued = 1;
    s->next_ready = NULL;
    if (d->ready_tail) d->ready_tail->next_ready = s;
    else d->ready_head = s;
    d->ready_tail = s;
}

static asdk_drun *dequeue(asdk_driver *d)
{
    asdk_drun *s = d->ready_head;
    if (!s) return NULL;
    d->ready_head = s->next_ready;
    if (!d->ready_head) d->ready_tail = NULL;
    s->next_ready = NULL;
    s->queued = 0;
    return s;
}

static void push_front(asdk_drun *s)
{
    asdk_driver *d = s->d;
    s->queued = 1;
    s->next_ready = d->ready_head;
    d->ready_head = s;
    if (!d->ready_tail) d->ready_tail = s;
}

static void note_sleep(asdk_driver *d, int64_t at_ms)
{
    if (d->next_wake_ms < 0 || at_ms < d->next_wake_ms) d->next_wake_ms = at_ms;
}

/* Queues the sleeping runs whose time has come (a walk over every run, but only when the earliest is due). */
static void wake_sleepers(asdk_driver *d)
{
    if (d->next_wake_ms < 0) return;
    int64_t now = now_ms(d);
    if (now < d->next_wake_ms) return;
    d->next_wake_ms = -1;
    for (size_t i = 0; i < d->nruns; i++) {
        asdk_drun *s = d->runs[i];
        if (s->reported || asdk_loop_state_now(s->loop) != ASDK_LOOP_SLEEP) continue;
        if (s->wake_at_ms <= now) enqueue(s);
        else note_sleep(d, s->wake_at_ms);
    }
}

/* ---- HTTP callbacks (inside the layer's poll: no host) ------------------------------------------------------ */

static int on_text(void *ud, const char *text, size_t len)
{
    asdk_drun *s = ud;
    s->began = 1;
    size_t index = s->turn.nblocks ? s->turn.nblocks - 1 : 0;
    asdk_loop_text_delta(s->loop, index, text, len);
    return 1;
}

static void on_status(void *ud, int status)
{
    asdk_drun *s = ud;
    s->status = status;
    if (s->record && s->first_byte_ms < 0) s->first_byte_ms = now_ms(s->d);
}

static int header_is(const char *name, size_t nlen, const char *lit)
{
    return nlen == strlen(lit) && memcmp(name, lit, nlen) == 0;
}

static void on_header(void *ud, const char *name, size_t nlen, const char *value, size_t vlen)
{
    asdk_drun *s = ud;
    if (header_is(name, nlen, "content-type")) {
        char tmp[64];
        size_t n = vlen < sizeof tmp - 1 ? vlen : sizeof tmp - 1;
        memcpy(tmp, value, n);
        tmp[n] = '\0';
        s->sse = strstr(tmp, "text/event-stream") != NULL;
    } else if (header_is(name, nlen, "x-should-retry")) {
        s->should_retry = vlen == 4 && !memcmp(value, "true", 4) ? 1 : vlen == 5 && !memcmp(value, "false", 5) ? 0 : -1;
    } else if (header_is(name, nlen, "retry-after-ms")) {
        int64_t ms = asdk_retry_after_ms(value, vlen);
        if (ms >= 0) s->retry_after_ms = ms;
    } else if (header_is(name, nlen, "retry-after") && s->retry_after_ms < 0) {
        s->retry_after_ms = asdk_retry_after(value, vlen, s->d->o.wall_s(s->d->o.clock_ud));
    }
}

static int on_data(void *ud, const char *p, size_t n)
{
    asdk_drun *s = ud;
    int ok = s->status >= 200 && s->status < 300;
    if (ok && s->sse) {
        asdk_asm_status st = asdk_stream_feed(&s->stream, p, n);
        if (s->lines.buf.len) enqueue(s); /* stream_event lines (include_partial_messages) */
        if (st == ASDK_ASM_OK || st == ASDK_ASM_ABORTED) return 1;
        s->rejected = "stream"; /* a stream that cannot be read ends the transfer: on_done tells the loop why */
        return 0;
    }
    /* A non-streamed 2xx body is kept whole; an error body is cut. */
    size_t limit = ok ? BODY_MAX : ERROR_BODY_MAX;
    if (s->error_body.len >= limit) {
        if (!ok) return 1;
        s->rejected = "the response body is over 64 MiB";
        return 0;
    }
    if (n > limit - s->error_body.len) n = limit - s->error_body.len;
    if (!asdk_buf_append(&s->error_body, p, n)) return 1;
    s->rejected = "out of memory";
    return 0;
}

static asdk_net_status net_of(asdk_http_error e)
{
    switch (e) {
    case ASDK_HTTP_OK: return ASDK_NET_OK;
    case ASDK_HTTP_CONNECT: return ASDK_NET_CONNECT;
    case ASDK_HTTP_TIMEOUT: return ASDK_NET_TIMEOUT;
    case ASDK_HTTP_SEND:
    case ASDK_HTTP_RECV: return ASDK_NET_BROKEN;
    case ASDK_HTTP_TLS: return ASDK_NET_PROTOCOL; /* a certificate that does not verify will not verify on retry */
    default: return ASDK_NET_OTHER;
    }
}

/* Replaces every occurrence of a secret request header's value (x-api-key, authorization — also the token after
 * "Bearer " —, api-key) in the error body with [REDACTED]: some gateways echo the request back. */
/* Replaces the values of the request's credential headers in b (an error body, an error event's message). */
static void redact(asdk_drun *s, asdk_buf *b)
{
    static const char *const secret[] = { "x-api-key", "authorization", "proxy-authorization", "api-key" };
    static const char mark[] = "[REDACTED]";
    for (size_t h = 0; h < s->nheaders; h++) {
        const char *line = s->headers[h], *colon = strchr(line, ':');
        if (!colon) continue;
        size_t nlen = (size_t)(colon - line);
        int is_secret = 0;
        for (size_t k = 0; k < sizeof secret / sizeof secret[0]; k++) {
            size_t kl = strlen(secret[k]), i = 0;
            while (kl == nlen && i < nlen && (line[i] | 0x20) == secret[k][i]) i++;
            is_secret |= kl == nlen && i == nlen;
        }
        if (!is_secret) continue;
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t') v++;
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1) {
                const char *sp = strchr(v, ' ');
                if (!sp) break;
                v = sp + 1; /* the credentials after the scheme ("Bearer sk-…") */
            }
            size_t vlen = strlen(v);
            if (vlen < 8) continue; /* not a key: too short to be one, too common to replace */
            for (size_t i = 0; b->len >= vlen && i <= b->len - vlen;) {
                if (memcmp(b->ptr + i, v, vlen)) {
                    i++;
                    continue;
                }
                size_t ml = sizeof mark - 1; /* shorter than vlen: in place */
                memcpy(b->ptr + i, mark, ml);
                memmove(b->ptr + i + ml, b->ptr + i + vlen, b->len - i - vlen);
                b->len -= vlen - ml;
                i += ml;
            }
        }
    }
}

/* A slot at the end of r's ring, or NULL (full: counted). */
static asdk_drv_record *record_slot(asdk_drun *r, asdk_rec_kind kind)
{
    if (r->nrecords == ASDK_DRV_RECORDS_MAX) {
        r->records_dropped++;
        return NULL;
    }
    asdk_drv_record *rec = &r->records[(r->records_head + r->nrecords++) % ASDK_DRV_RECORDS_MAX];
    memset(rec, 0, sizeof *rec);
    rec->kind = kind;
    return rec;
}

/* After asdk_loop_response: the attempt just reported, and the retry it led to. */
static void record_attempt(asdk_drun *s)
{
    const asdk_loop_attempt *a = asdk_loop_last_attempt(s->loop);
    int64_t now = now_ms(s->d);
    asdk_drv_record *rec = record_slot(s, ASDK_REC_REQUEST);
    if (rec) {
        rec->attempt = a->attempt;
        rec->status = a->http_status;
        rec->has_usage = a->has_usage;
        rec->usage = a->usage;
        rec->cost_micros = a->cost_micros;
        rec->ttfb_ms = s->first_byte_ms >= 0 ? s->first_byte_ms - s->sent_ms : -1;
        rec->total_ms = now - s->sent_ms;
        memcpy(rec->error, a->error, sizeof rec->error);
    }
    if (a->retrying && (rec = record_slot(s, ASDK_REC_RETRY))) {
        rec->attempt = a->attempt;
        rec->status = a->http_status;
        rec->cost_micros = -1;
        rec->ttfb_ms = -1;
        rec->wait_ms = a->wait_ms;
        memcpy(rec->error, a->error, sizeof rec->error);
    }
}

static void on_done(void *ud, const asdk_http_result *res)
{
    asdk_drun *s = ud;
    s->req = NULL;
    if (res->error == ASDK_HTTP_ABORTED && s->cancelling) return; /* ours: the host ends or restarts the run */
    enqueue(s);

    asdk_loop_response_info in = { 0 };
    in.net = net_of(res->error);
    in.net_message = res->message;
    in.http_status = res->status;
    in.retry_after_ms = s->retry_after_ms;
    in.should_retry = s->should_retry;
    char protocol_message[300];
    if (s->rejected && res->error == ASDK_HTTP_ABORTED) {
        const asdk_asm_error *e = asdk_stream_error(&s->stream);
        snprintf(protocol_message, sizeof protocol_message, "could not read the response: %s",
                 strcmp(s->rejected, "stream") ? s->rejected : e->message);
        in.net = ASDK_NET_PROTOCOL;
        in.net_message = protocol_message;
    } else if (in.net == ASDK_NET_OK && s->status >= 200 && s->status < 300) {
        asdk_asm_status st = s->sse ? asdk_stream_finish(&s->stream)
                                    : asdk_stream_parse_body(&s->stream, s->error_body.ptr ? s->error_body.ptr : "",
                                                             s->error_body.len);
        if (st == ASDK_ASM_OK || st == ASDK_ASM_ABORTED) {
            s->turn.began |= s->began;
            redact(s, &s->turn.error_message); /* an error event after the 200 may echo the key too */
            in.turn = &s->turn;
        } else {
            const asdk_asm_error *e = asdk_stream_error(&s->stream);
            snprintf(protocol_message, sizeof protocol_message, "could not read the response: %s", e->message);
            in.net = ASDK_NET_PROTOCOL;
            in.net_message = protocol_message;
        }
    } else if (in.net == ASDK_NET_OK) {
        redact(s, &s->error_body);
        in.error_body = s->error_body.ptr;
        in.error_body_len = s->error_body.len;
    }
    if (in.net != ASDK_NET_OK && s->status >= 200 && s->status < 300) {
        /* A 2xx attempt that broke or was refused: the loop bills the usage it reported (message_start's), and when
         * text had begun streaming it does not stream the retried turn twice. */
        s->turn.began |= s->began;
        s->turn.complete = 0;
        in.turn = &s->turn;
    }
    int sending = asdk_loop_state_now(s->loop) == ASDK_LOOP_SEND;
    asdk_loop_state st = asdk_loop_response(s->loop, &in);
    if (s->record && sending) record_attempt(s);
    if (st == ASDK_LOOP_SLEEP) s->wake_at_ms = now_ms(s->d) + asdk_loop_sleep_ms(s->loop);
}

/* ---- runs ----------------------------------------------------------------------------------------------------- */

static void reset_attempt(asdk_drun *s)
{
    asdk_turn_reset(&s->turn);
    asdk_stream_reset(&s->stream);
    s->status = 0;
    s->sse = 0;
    s->began = 0;
    s->retry_after_ms = -1;
    s->should_retry = -1;
    s->rejected = NULL;
    s->cancelling = 0;
    s->error_body.len = 0;
    s->first_byte_ms = -1;
}

void asdk_driver_cancel_request(asdk_drun *s)
{
    if (!s->req) return;
    s->cancelling = 1;
    s->d->net_ops->cancel(s->d->net, s->req); /* on_done clears s->req */
    s->cancelling = 0;
}

static void run_free(asdk_drun *s)
{
    if (!s) return;
    asdk_driver_cancel_request(s);
    asdk_loop_free(s->loop);
    asdk_stream_free(&s->stream);
    asdk_turn_free(&s->turn);
    free(s->url);
    for (size_t i = 0; i < s->nheaders; i++) free(s->headers[i]);
    free(s->headers);
    free(s->cancel_reason);
    asdk_buf_free(&s->error_body);
    asdk_buf_free(&s->lines.buf);
    free(s);
}

static int start_request(asdk_driver *d, asdk_drun *s)
{
    reset_attempt(s);
    if (!d->net) return -1;
    const asdk_buf *body = asdk_loop_body(s->loop);
    asdk_http_opts o = { 0 };
    o.url = s->url;
    o.headers = (const char *const *)s->headers;
    o.nheaders = s->nheaders;
    o.body = body->ptr;
    o.body_len = body->len;
    o.connect_timeout_ms = d->o.connect_ms;
    o.idle_timeout_ms = d->o.idle_ms;
    o.total_timeout_ms = d->o.total_ms;
    o.ca_file = d->o.ca_file;
    o.user_agent = "agent_sdk/" "ruby";
    static const asdk_http_callbacks cb = { on_status, on_header, on_data, on_done };
    if (s->record) s->sent_ms = now_ms(d);
    s->req = d->net_ops->start(d->net, &o, &cb, s);
    return s->req ? 0 : -1;
}

asdk_driver *asdk_driver_new(const asdk_driver_opts *o)
{
    asdk_driver *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->o = *o;
    d->o.ca_file = NULL;
    if (o->ca_file && !(d->o.ca_file = strdup(o->ca_file))) {
        free(d);
        return NULL;
    }
    if (!d->o.now_ms) d->o.now_ms = clock_now;
    if (!d->o.random) d->o.random = clock_random;
    if (!d->o.wall_s) d->o.wall_s = wall_s;
    d->next_wake_ms = -1;
    return d;
}

void asdk_driver_free(asdk_driver *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->nruns; i++) run_free(d->runs[i]);
    free(d->runs);
    free((char *)d->o.ca_file);
    free(d);
}

void asdk_driver_forget_requests(asdk_driver *d)
{
    for (size_t i = 0; i < d->nruns; i++) d->runs[i]->req = NULL;
}

void asdk_driver_set_net(asdk_driver *d, const asdk_net_ops *ops, void *net)
{
    d->net_ops = ops;
    d->net = net;
}

long asdk_driver_add(asdk_driver *d, const asdk_loop_config *c, const char *url, const char *const *headers,
                     size_t nheaders, char *err, size_t errlen)
{
    asdk_drun *s = calloc(1, sizeof *s);
    if (!s) goto nomem;
    s->d = d;
    s->retry_after_ms = -1;
    s->should_retry = -1;
    s->first_byte_ms = -1;
    asdk_turn_init(&s->turn);
    asdk_loop_io io = { run_emit, run_now, run_random, s };
    s->loop = asdk_loop_new(c, &io, err, errlen);
    if (!s->loop) {
        free(s);
        return -1;
    }
    asdk_stream_init(&s->stream, c->provider, &s->turn, 0, 0);
    if (c->include_partial) asdk_stream_on_text(&s->stream, on_text, s);
    s->url = strdup(url);
    s->headers = calloc(nheaders ? nheaders : 1, sizeof *s->headers);
    if (!s->url || !s->headers) goto nomem_run;
    for (; s->nheaders < nheaders; s->nheaders++)
        if (!(s->headers[s->nheaders] = strdup(headers[s->nheaders]))) goto nomem_run;
    if (d->nruns == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        asdk_drun **p = realloc(d->runs, cap * sizeof *p);
        if (!p) goto nomem_run;
        d->runs = p;
        d->cap = cap;
    }
    s->index = d->nruns;
    d->runs[d->nruns++] = s;
    d->active++;
    asdk_loop_start(s->loop); /* the init line waits in s->lines; nothing is sent before the host delivers it */
    enqueue(s);
    return (long)s->index;
nomem_run:
    run_free(s);
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}

int asdk_driver_cancel(asdk_driver *d, size_t i, const char *reason)
{
    if (i >= d->nruns) return -1;
    asdk_drun *s = d->runs[i];
    if (s->reported) return 0;
    char *copy = reason ? strdup(reason) : NULL;
    if (reason && !copy) return -1;
    free(s->cancel_reason);
    s->cancel_reason = copy;
    s->cancel = 1;
    asdk_driver_wake(d);
    return 0;
}

void asdk_driver_wake(asdk_driver *d)
{
    flag_set(&d->wake, 1);
    if (d->net) d->net_ops->wakeup(d->net);
}

/* Steps s as far as C alone can: resumes it from a back-off that is over, sends its next request. Returns 1 when it
 * needs the host — a line to deliver, tool calls, its end, a request that could not be started. */
static int step_in_c(asdk_driver *d, asdk_drun *s)
{
    for (;;) {
        asdk_loop_state st = asdk_loop_state_now(s->loop);
        if (s->lines.buf.len > s->lines_off || s->lines.nomem || s->nrecords || st == ASDK_LOOP_TOOLS ||
            st == ASDK_LOOP_DONE)
            return 1;
        if (st == ASDK_LOOP_SLEEP) {
            if (now_ms(d) < s->wake_at_ms) {
                note_sleep(d, s->wake_at_ms);
                return 0;
            }
            asdk_loop_resume(s->loop);
            continue;
        }
        if (st == ASDK_LOOP_SEND && !s->req) return start_request(d, s) ? 1 : 0;
        return 0;
    }
}

static int interrupted(asdk_driver *d) { return d->interrupted && flag_get(d->interrupted); }

/* Marks the runs whose deadline (asdk_loop_deadline_ms) has passed for the host to end (wake set); returns the
 * earliest deadline still ahead, or -1. */
static int64_t expire_due(asdk_driver *d)
{
    int64_t t = now_ms(d), next = -1;
    for (size_t i = 0; i < d->nruns; i++) {
        asdk_drun *s = d->runs[i];
        if (s->reported || s->cancel || asdk_loop_state_now(s->loop) == ASDK_LOOP_DONE) continue;
        int64_t at = asdk_loop_deadline_ms(s->loop);
        if (at < 0) continue;
        if (t >= at) {
            s->cancel = s->expired = 1;
            flag_set(&d->wake, 1);
        } else if (next < 0 || at < next) {
            next = at;
        }
    }
    return next;
}

void asdk_driver_drive(asdk_driver *d)
{
    for (;;) {
        int64_t deadline = expire_due(d);
        if (interrupted(d) || flag_get(&d->wake)) return;
        wake_sleepers(d);
        asdk_drun *s;
        while ((s = dequeue(d))) {
            if (step_in_c(d, s)) {
                push_front(s); /* stays ready: the host steps it (and every run queued after it) next */
                return;
            }
        }
        if (!d->active) return;
        int timeout = POLL_SLICE_MS;
        if (d->next_wake_ms >= 0) {
            int64_t left = d->next_wake_ms - now_ms(d);
            timeout = left <= 0 ? 0 : left < timeout ? (int)left : timeout;
        }
        if (deadline >= 0) {
            int64_t left = deadline - now_ms(d);
            timeout = left <= 0 ? 0 : left < timeout ? (int)left : timeout;
        }
        d->net_ops->poll(d->net, timeout);
    }
}

asdk_drun *asdk_driver_head(asdk_driver *d)
{
    if (flag_get(&d->wake)) {
        flag_set(&d->wake, 0);
        for (size_t i = 0; i < d->nruns; i++)
            if (d->runs[i]->cancel && !d->runs[i]->reported) enqueue(d->runs[i]);
    }
    return d->ready_head;
}

void asdk_driver_pop(asdk_driver *d, asdk_drun *r)
{
    if (d->ready_head == r) dequeue(d);
}

int asdk_driver_next_line(asdk_drun *r, const char **line, size_t *len)
{
    asdk_buf *b = &r->lines.buf;
    if (r->lines_off >= b->len) {
        b->len = 0;
        r->lines_off = 0;
        return 0;
    }
    const char *p = b->ptr + r->lines_off, *nl = memchr(p, '\n', b->len - r->lines_off);
    size_t n = nl ? (size_t)(nl - p) : b->len - r->lines_off;
    *line = p;
    *len = n;
    r->lines_off += n + (nl != NULL);
    return 1;
}

int asdk_driver_record_attempts(asdk_driver *d, size_t i, int on)
{
    if (i >= d->nruns) return -1;
    d->runs[i]->record = on != 0;
    return 0;
}

int asdk_driver_next_record(asdk_drun *r, const asdk_drv_record **rec)
{
    if (!r->nrecords) return 0;
    *rec = &r->records[r->records_head];
    r->records_head = (r->records_head + 1) % ASDK_DRV_RECORDS_MAX;
    r->nrecords--;
    return 1;
}

void asdk_driver_resume(asdk_driver *d, asdk_drun *r)
{
    (void)d;
    asdk_loop_resume(r->loop);
}

asdk_drv_event asdk_driver_step(asdk_driver *d, asdk_drun *s)
{
    for (;;) {
        asdk_loop_state st = asdk_loop_state_now(s->loop);
        if (s->cancel && st != ASDK_LOOP_DONE) {
            asdk_driver_cancel_request(s);
            st = s->expired ? asdk_loop_expire(s->loop) : asdk_loop_cancel(s->loop, s->cancel_reason);
        }
        /* an attempt's records before the lines it led to; every message before anything that follows it */
        if (s->nrecords) return ASDK_DRV_RECORDS;
        if (s->lines.buf.len > s->lines_off) return ASDK_DRV_LINES;
        s->lines.buf.len = s->lines_off = 0;
        if (s->lines.nomem) {
            s->lines.nomem = 0;
            return ASDK_DRV_NOMEM;
        }
        if (st == ASDK_LOOP_TOOLS) return ASDK_DRV_TOOLS;
        if (st == ASDK_LOOP_DONE) {
            if (s->reported) return ASDK_DRV_IDLE;
            s->reported = 1;
            d->active--;
            return ASDK_DRV_DONE;
        }
        if (!step_in_c(d, s)) return ASDK_DRV_IDLE; /* it waits on the network or a timer */
        if (asdk_loop_state_now(s->loop) == ASDK_LOOP_SEND && !s->req && s->lines.buf.len <= s->lines_off &&
            !s->lines.nomem && !s->nrecords)
            return ASDK_DRV_NOMEM;
    }
}

void asdk_driver_cancel_requests(asdk_driver *d)
{
    for (size_t i = 0; i < d->nruns; i++) asdk_driver_cancel_request(d->runs[i]);
}

void asdk_driver_cancel_all(asdk_driver *d, const char *reason)
{
    for (size_t i = 0; i < d->nruns; i++) {
        asdk_drun *s = d->runs[i];
        asdk_driver_cancel_request(s);
        if (!s->reported && asdk_loop_state_now(s->loop) != ASDK_LOOP_DONE) asdk_loop_cancel(s->loop, reason);
    }
}
