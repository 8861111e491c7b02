/* runner_class.c — RubyLLM::AgentSDK::Native::Runner: drives agent loops (core/loop.c) over HTTP (core/http.c) with
 * the streaming assemblers (core/stream_asm.c), many runs on one curl multi handle from one Ruby thread.
 *
 *   runner = Native::Runner.new(connect_timeout: 10, idle_timeout: 120, request_timeout: 600, ca_file: nil)
 *   id = runner.add(loop_config, url, ["x-api-key: …", …])      # loop_config as for Native::AgentLoop
 *   runner.run { |id, event, payload| … }                        # until every run is done
 *     :line  — a stream-json line (String), yielded before the run's next model call starts
 *     :tools — [{id:, name:, input_json:}, …]: the block returns [[content, is_error], …] in the same order
 *     :done  — the run ended (its result line came just before)
 *   runner.cancel(id, reason = nil)                               # from any thread; ends that run promptly
 *   runner.close                                                  # closes its connections now (not while #run
 *                                                                 # runs); session_id and stats still answer
 *
 * #run alternates two phases. Without the GVL (drive, gvl.h) it waits on the network and steps the loops as far as
 * C alone can: streamed bytes are assembled, finished turns recorded, retries slept and requests sent, all in C, with
 * no trip back to Ruby per chunk. It returns to Ruby only when a run has something for Ruby (a line to yield, tool
 * calls, its end), when Runner#cancel was called, or on an interrupt; with the GVL the runs that were ready are
 * stepped through the block. The runs that need attention are kept in a ready queue, so neither phase walks every
 * run on every wake-up. If the block raises, or the thread is killed, the ensure cancels every transfer and nothing
 * leaks. */
#include "agent_sdk_ext.h"
#include "gvl.h"
#include "http.h"
#include "emitted_lines.h"
#include "loop_config.h"
#include "stream_asm.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ERROR_BODY_MAX 65536

typedef struct runner runner;

typedef struct slot {
    runner *r;
    size_t index;               /* its id: r->slots[index] */
    struct slot *next_ready;    /* in r's ready queue when queued */
    int queued;
    asdk_loop *loop;
    asdk_turn turn;
    asdk_stream stream;
    asdk_http_req *req;        /* the attempt in flight, or NULL */
    char *url;
    char **headers;
    size_t nheaders;

    /* the attempt in flight */
    int status, sse, began;
    int64_t retry_after_ms;
    int should_retry;
    asdk_buf error_body;        /* a non-2xx body, or a non-streamed 2xx body */

    int64_t wake_at_ms;         /* SLEEP: when to send again */
    asdk_lines lines;           /* emitted lines not yet yielded */
    int cancel;                 /* asked for by Runner#cancel (read and written with the GVL only) */
    VALUE cancel_reason;        /* a String or nil; marked */
    int reported;               /* :done yielded */
} slot;

struct runner {
    asdk_http *http;            /* own_http, or the shared one's during #run; NULL otherwise */
    asdk_http *own_http;        /* created by Runner.new without http: */
    VALUE shared_http;          /* a Native::HTTP (its keep-alive connections outlive this runner), or Qnil */
    int initialised;
    slot **slots;
    size_t nslots, cap;
    size_t active;              /* runs whose :done has not been yielded */
    slot *ready_head, *ready_tail;
    int64_t next_wake_ms;       /* the earliest wake_at_ms of a sleeping run, or -1 */
    int cancel_any;             /* asdk_flag: Runner#cancel was called; the drive returns to Ruby */
    int interrupted;            /* asdk_flag: set by the unblocking function */
    long connect_ms, idle_ms, total_ms;
    char *ca_file;
    int running;
    int driving;                /* drive() runs without the GVL: no other thread may touch slots or the ready queue */
    int closed;
    pid_t pid;                  /* the process that made it: a forked child must neither use nor clean up its HTTP */
};

static VALUE sym_line, sym_tools, sym_done, sym_id, sym_name, sym_input_json;

static int64_t now_ms(void) { return asdk_io_now_ms(NULL); }

/* ---- the ready queue: runs to step, in the order they became ready ---------------------------------------- */

static void enqueue(slot *s)
{
    runner *r = s->r;
    if (s->queued) return;
    s->queued = 1;
    s->next_ready = NULL;
    if (r->ready_tail) r->ready_tail->next_ready = s;
    else r->ready_head = s;
    r->ready_tail = s;
}

static slot *dequeue(runner *r)
{
    slot *s = r->ready_head;
    if (!s) return NULL;
    r->ready_head = s->next_ready;
    if (!r->ready_head) r->ready_tail = NULL;
    s->next_ready = NULL;
    s->queued = 0;
    return s;
}

static void push_front(slot *s)
{
    runner *r = s->r;
    s->queued = 1;
    s->next_ready = r->ready_head;
    r->ready_head = s;
    if (!r->ready_tail) r->ready_tail = s;
}

/* A run went to sleep (a retry's back-off) until at_ms. */
static void note_sleep(runner *r, int64_t at_ms)
{
    if (r->next_wake_ms < 0 || at_ms < r->next_wake_ms) r->next_wake_ms = at_ms;
}

/* Queues the sleeping runs whose time has come (a walk over every run, but only when the earliest is due). */
static void wake_sleepers(runner *r)
{
    if (r->next_wake_ms < 0) return;
    int64_t now = now_ms();
    if (now < r->next_wake_ms) return;
    r->next_wake_ms = -1;
    for (size_t i = 0; i < r->nslots; i++) {
        slot *s = r->slots[i];
        if (s->reported || asdk_loop_state_now(s->loop) != ASDK_LOOP_SLEEP) continue;
        if (s->wake_at_ms <= now) enqueue(s);
        else note_sleep(r, s->wake_at_ms);
    }
}

/* ---- streamed text (inside asdk_http_poll, no GVL) --------------------------------------------------------- */

static int on_text(void *ud, const char *text, size_t len)
{
    slot *s = ud;
    s->began = 1;
    size_t index = s->turn.nblocks ? s->turn.nblocks - 1 : 0;
    asdk_loop_text_delta(s->loop, index, text, len);
    return 1;
}

/* ---- HTTP callbacks (inside asdk_http_poll, no GVL) ----------------------------------------------------- */

static int64_t parse_http_date(const char *v, size_t n); /* below */

static void on_status(void *ud, int status)
{
    ((slot *)ud)->status = status;
}

static int header_is(const char *name, size_t nlen, const char *lit)
{
    return nlen == strlen(lit) && memcmp(name, lit, nlen) == 0;
}

static void on_header(void *ud, const char *name, size_t nlen, const char *value, size_t vlen)
{
    slot *s = ud;
    char tmp[64];
    size_t n = vlen < sizeof tmp - 1 ? vlen : sizeof tmp - 1;
    memcpy(tmp, value, n);
    tmp[n] = '\0';
    if (header_is(name, nlen, "content-type")) {
        s->sse = strstr(tmp, "text/event-stream") != NULL;
    } else if (header_is(name, nlen, "x-should-retry")) {
        s->should_retry = !strcmp(tmp, "true") ? 1 : !strcmp(tmp, "false") ? 0 : -1;
    } else if (header_is(name, nlen, "retry-after-ms")) {
        char *end;
        double ms = strtod(tmp, &end);
        if (end != tmp && ms >= 0) s->retry_after_ms = (int64_t)ms;
    } else if (header_is(name, nlen, "retry-after") && s->retry_after_ms < 0) {
        char *end;
        double sec = strtod(tmp, &end);
        if (end != tmp && *end == '\0' && sec >= 0) s->retry_after_ms = (int64_t)(sec * 1000);
        else {
            int64_t at = parse_http_date(value, vlen);
            if (at >= 0) {
                int64_t delta = (at - (int64_t)time(NULL)) * 1000;
                s->retry_after_ms = delta > 0 ? delta : 0;
            }
        }
    }
}

static int on_data(void *ud, const char *p, size_t n)
{
    slot *s = ud;
    int ok = s->status >= 200 && s->status < 300;
    if (ok && s->sse) {
        asdk_asm_status st = asdk_stream_feed(&s->stream, p, n);
        if (s->lines.buf.len) enqueue(s); /* stream_event lines (include_partial_messages) */
        return st == ASDK_ASM_OK || st == ASDK_ASM_ABORTED; /* a stream that cannot be read ends the transfer */
    }
    /* A non-streamed 2xx body is kept whole (up to 64 MiB, the assembler's own bound); an error body is cut. */
    size_t limit = ok ? (size_t)64 << 20 : ERROR_BODY_MAX;
    if (s->error_body.len >= limit) return ok ? 0 : 1;
    if (n > limit - s->error_body.len) n = limit - s->error_body.len;
    return asdk_buf_append(&s->error_body, p, n) ? 0 : 1;
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

static void on_done(void *ud, const asdk_http_result *res)
{
    slot *s = ud;
    s->req = NULL;
    if (res->error == ASDK_HTTP_ABORTED) return; /* cancelled: the run loop ends the run */
    enqueue(s);

    asdk_loop_response_info in = { 0 };
    in.net = net_of(res->error);
    in.net_message = res->message;
    in.http_status = res->status;
    in.retry_after_ms = s->retry_after_ms;
    in.should_retry = s->should_retry;
    char protocol_message[300];
    if (in.net == ASDK_NET_OK && s->status >= 200 && s->status < 300) {
        asdk_asm_status st = s->sse ? asdk_stream_finish(&s->stream)
                                    : asdk_stream_parse_body(&s->stream, s->error_body.ptr ? s->error_body.ptr : "",
                                                             s->error_body.len);
        if (st == ASDK_ASM_OK || st == ASDK_ASM_ABORTED) {
            s->turn.began |= s->began;
            in.turn = &s->turn;
        } else {
            const asdk_asm_error *e = asdk_stream_error(&s->stream);
            snprintf(protocol_message, sizeof protocol_message, "could not read the response: %s", e->message);
            in.net = ASDK_NET_PROTOCOL;
            in.net_message = protocol_message;
        }
    } else if (in.net == ASDK_NET_OK) {
        in.error_body = s->error_body.ptr;
        in.error_body_len = s->error_body.len;
    }
    if (in.net != ASDK_NET_OK && s->began) {
        /* Text had begun streaming: the loop must know, so the retried turn is not streamed twice. */
        s->turn.began = 1;
        s->turn.complete = 0;
        in.turn = &s->turn;
    }
    asdk_loop_state st = asdk_loop_response(s->loop, &in);
    if (st == ASDK_LOOP_SLEEP) s->wake_at_ms = now_ms() + asdk_loop_sleep_ms(s->loop);
}

/* ---- slots ------------------------------------------------------------------------------------------------ */

static void slot_reset_attempt(slot *s)
{
    asdk_turn_reset(&s->turn);
    asdk_stream_reset(&s->stream);
    s->status = 0;
    s->sse = 0;
    s->began = 0;
    s->retry_after_ms = -1;
    s->should_retry = -1;
    s->error_body.len = 0;
}

static void slot_free(slot *s)
{
    if (!s) return;
    if (s->req) asdk_http_cancel(s->req); /* on_done clears s->req */
    asdk_loop_free(s->loop);
    asdk_stream_free(&s->stream);
    asdk_turn_free(&s->turn);
    free(s->url);
    for (size_t i = 0; i < s->nheaders; i++) free(s->headers[i]);
    free(s->headers);
    asdk_buf_free(&s->error_body);
    asdk_buf_free(&s->lines.buf);
    free(s);
}

static int start_request(runner *r, slot *s)
{
    slot_reset_attempt(s);
    const asdk_buf *body = asdk_loop_body(s->loop);
    asdk_http_opts o = { 0 };
    o.url = s->url;
    o.headers = (const char *const *)s->headers;
    o.nheaders = s->nheaders;
    o.body = body->ptr;
    o.body_len = body->len;
    o.connect_timeout_ms = r->connect_ms;
    o.idle_timeout_ms = r->idle_ms;
    o.total_timeout_ms = r->total_ms;
    o.ca_file = r->ca_file;
    o.user_agent = "agent_sdk/" "ruby";
    static const asdk_http_callbacks cb = { on_status, on_header, on_data, on_done };
    s->req = asdk_http_start(r->http, &o, &cb, s);
    return s->req ? 0 : -1;
}

/* ---- Ruby object -------------------------------------------------------------------------------------- */

static void runner_mark(void *p)
{
    runner *r = p;
    rb_gc_mark(r->shared_http);
    for (size_t i = 0; i < r->nslots; i++) rb_gc_mark(r->slots[i]->cancel_reason);
}

static void runner_free(void *p)
{
    runner *r = p;
    /* In a forked child (this runner was inherited, say, from a thread that was in #run) the transfers and the client
     * are the parent's: cancelling or freeing them would remove the parent's sockets from the epoll set they share
     * and close or shut down its connections. They are left alone, as Native::HTTP does. */
    int forked = r->initialised && r->pid != getpid();
    for (size_t i = 0; i < r->nslots; i++) {
        if (forked) r->slots[i]->req = NULL;
        slot_free(r->slots[i]);
    }
    free(r->slots);
    if (!forked) asdk_http_free(r->own_http); /* a shared client has no transfer of ours left: #run's ensure cancels them */
    free(r->ca_file);
    xfree(r);
}

static size_t runner_size(const void *p)
{
    const runner *r = p;
    return sizeof *r + r->nslots * sizeof(slot);
}

static const rb_data_type_t runner_type = {
    "RubyLLM::AgentSDK::Native::Runner",
    { runner_mark, runner_free, runner_size, NULL, { 0 } },
    NULL, NULL, RUBY_TYPED_FREE_IMMEDIATELY
};

static runner *get(VALUE self)
{
    runner *r = rb_check_typeddata(self, &runner_type);
    if (r->closed) rb_raise(rb_eRuntimeError, "Runner closed");
    if (!r->initialised) rb_raise(rb_eRuntimeError, "Runner not initialised");
    if (r->pid != getpid()) rb_raise(rb_eRuntimeError, "Runner was created before fork: create one in this process");
    return r;
}

/* For what still answers after #close. */
static runner *get_any(VALUE self)
{
    runner *r = rb_check_typeddata(self, &runner_type);
    if (!r->initialised) rb_raise(rb_eRuntimeError, "Runner not initialised");
    return r;
}

static VALUE runner_alloc(VALUE klass)
{
    runner *r;
    VALUE self = TypedData_Make_Struct(klass, runner, &runner_type, r);
    r->shared_http = Qnil;
    return self;
}

static long seconds_ms(VALUE opts, const char *key, double dflt)
{
    VALUE v = rb_hash_lookup2(opts, ID2SYM(rb_intern(key)), Qnil);
    double sec = NIL_P(v) ? dflt : NUM2DBL(v);
    if (sec < 0) rb_raise(rb_eArgError, "%s must not be negative", key);
    return (long)(sec * 1000.0);
}

/* Runner.new(connect_timeout: 10, idle_timeout: 120, request_timeout: 600, ca_file: nil, http: nil)
 * http: a Native::HTTP whose client (and keep-alive connections) #run uses instead of one of its own; it must be
 * idle when #run starts and is busy until #run returns. */
static VALUE runner_initialize(int argc, VALUE *argv, VALUE self)
{
    VALUE opts;
    rb_scan_args(argc, argv, "0:", &opts);
    if (NIL_P(opts)) opts = rb_hash_new();
    runner *r = rb_check_typeddata(self, &runner_type);
    if (r->initialised) rb_raise(rb_eRuntimeError, "Runner already initialised");
    VALUE http = rb_hash_lookup2(opts, ID2SYM(rb_intern("http")), Qnil);
    if (!NIL_P(http) && !rb_obj_is_kind_of(http, rb_path2class("RubyLLM::AgentSDK::Native::HTTP")))
        rb_raise(rb_eTypeError, "http: must be a Native::HTTP");
    r->connect_ms = seconds_ms(opts, "connect_timeout", 10);
    r->idle_ms = seconds_ms(opts, "idle_timeout", 120);
    r->total_ms = seconds_ms(opts, "request_timeout", 600);
    VALUE ca = rb_hash_lookup2(opts, ID2SYM(rb_intern("ca_file")), Qnil);
    if (!NIL_P(ca)) {
        const char *path = StringValueCStr(ca);
        r->ca_file = strdup(path);
        if (!r->ca_file) rb_raise(rb_eNoMemError, "runner");
    }
    r->pid = getpid();
    if (NIL_P(http)) {
        r->http = r->own_http = asdk_http_new();
        if (!r->http) rb_raise(rb_eRuntimeError, "could not initialise libcurl");
    }
    RB_OBJ_WRITE(self, &r->shared_http, http);
    r->initialised = 1;
    return self;
}

/* add(loop_config, url, headers) → Integer id */
static VALUE runner_add(VALUE self, VALUE config, VALUE url, VALUE headers)
{
    runner *r = get(self);
    /* drive() walks r->slots (realloc'd below) and the ready queue without the GVL: another thread must not add then */
    if (r->driving) rb_raise(rb_eRuntimeError, "Runner#add while #run waits on the network (add before #run or from its block)");
    Check_Type(config, T_HASH);
    Check_Type(headers, T_ARRAY);
    const char *curl = StringValueCStr(url);

    asdk_loop_config c;
    asdk_price price;
    asdk_loop_config_from_hash(config, &c, &price); /* may raise: before anything is allocated */

    slot *s = calloc(1, sizeof *s);
    if (!s) rb_raise(rb_eNoMemError, "runner");
    s->r = r;
    s->cancel_reason = Qnil;
    s->retry_after_ms = -1;
    s->should_retry = -1;
    asdk_turn_init(&s->turn);
    char err[256];
    asdk_loop_io io = { asdk_lines_emit, asdk_io_now_ms, asdk_io_random, &s->lines };
    s->loop = asdk_loop_new(&c, &io, err, sizeof err);
    if (!s->loop) {
        free(s);
        rb_raise(rb_eArgError, "%s", err);
    }
    asdk_stream_init(&s->stream, c.provider, &s->turn, 0, 0);
    if (c.include_partial) asdk_stream_on_text(&s->stream, on_text, s);
    s->url = strdup(curl);
    s->nheaders = (size_t)RARRAY_LEN(headers);
    s->headers = calloc(s->nheaders ? s->nheaders : 1, sizeof *s->headers);
    int nomem = !s->url || !s->headers;
    for (size_t i = 0; !nomem && i < s->nheaders; i++) {
        VALUE h = rb_ary_entry(headers, (long)i);
        if (!RB_TYPE_P(h, T_STRING) || memchr(RSTRING_PTR(h), '\0', (size_t)RSTRING_LEN(h))) {
            slot_free(s);
            rb_raise(rb_eArgError, "headers must be Strings \"Name: value\"");
        }
        s->headers[i] = strndup(RSTRING_PTR(h), (size_t)RSTRING_LEN(h));
        nomem = !s->headers[i];
    }
    if (!nomem && r->nslots == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        slot **p = realloc(r->slots, cap * sizeof *p);
        if (p) r->slots = p, r->cap = cap;
        else nomem = 1;
    }
    if (nomem) {
        slot_free(s);
        rb_raise(rb_eNoMemError, "runner");
    }
    s->index = r->nslots;
    r->slots[r->nslots++] = s;
    r->active++;
    asdk_loop_start(s->loop); /* the init line waits in s->lines; nothing is sent before #run delivers it */
    enqueue(s);
    RB_GC_GUARD(config);
    RB_GC_GUARD(headers);
    return SIZET2NUM(r->nslots - 1);
}

static slot *slot_at(runner *r, VALUE id)
{
    size_t i = NUM2SIZET(id);
    if (i >= r->nslots) rb_raise(rb_eIndexError, "no run %lu", (unsigned long)i);
    return r->slots[i];
}

/* cancel(id, reason = nil): thread-safe (it runs with the GVL; the run loop sees it after its poll wakes). A run that
 * ended, or a closed runner, is left as it is. */
static VALUE runner_cancel(int argc, VALUE *argv, VALUE self)
{
    VALUE id, reason;
    rb_scan_args(argc, argv, "11", &id, &reason);
    runner *r = get_any(self);
    slot *s = slot_at(r, id);
    if (r->closed || s->reported) return Qnil; /* over already: nothing to cancel (a canceller may come late) */
    get(self);                                  /* not from a forked child */
    if (!NIL_P(reason)) StringValue(reason);
    s->cancel_reason = NIL_P(reason) ? Qnil : rb_str_new_frozen(reason);
    s->cancel = 1;
    asdk_flag_set(&r->cancel_any, 1);
    asdk_http_wakeup(r->http);
    return Qnil;
}

static VALUE runner_session_id(VALUE self, VALUE id)
{
    return rb_utf8_str_new_cstr(asdk_loop_session_id(slot_at(get_any(self), id)->loop));
}

static VALUE runner_stats(VALUE self, VALUE id)
{
    slot *s = slot_at(get_any(self), id);
    VALUE h = rb_hash_new();
    rb_hash_aset(h, ID2SYM(rb_intern("turns")), INT2NUM(asdk_loop_turns(s->loop)));
    rb_hash_aset(h, ID2SYM(rb_intern("cost_micros")), LL2NUM(asdk_loop_cost_micros(s->loop)));
    rb_hash_aset(h, ID2SYM(rb_intern("tokens")), LL2NUM(asdk_loop_tokens(s->loop)));
    return h;
}

/* ---- the run loop ----------------------------------------------------------------------------------------- */

static void yield_line(VALUE line, void *arg)
{
    rb_yield_values(3, *(VALUE *)arg, sym_line, line);
}

static void yield_lines(size_t i, slot *s)
{
    VALUE id = SIZET2NUM(i);
    asdk_lines_each(&s->lines, yield_line, &id);
}

static void run_tools(VALUE self, size_t i, slot *s)
{
    size_t n = asdk_loop_tool_count(s->loop);
    VALUE calls = rb_ary_new_capa((long)n);
    for (size_t k = 0; k < n; k++) {
        const asdk_block *b = asdk_loop_tool_call(s->loop, k);
        VALUE h = rb_hash_new();
        rb_hash_aset(h, sym_id, rb_utf8_str_new(b->id.ptr, (long)b->id.len));
        rb_hash_aset(h, sym_name, rb_utf8_str_new(b->name.ptr, (long)b->name.len));
        rb_hash_aset(h, sym_input_json, b->text.len ? rb_utf8_str_new(b->text.ptr, (long)b->text.len) : rb_utf8_str_new_cstr("{}"));
        rb_ary_push(calls, h);
    }
    VALUE results = rb_yield_values(3, SIZET2NUM(i), sym_tools, calls);
    if (!RB_TYPE_P(results, T_ARRAY)) rb_raise(rb_eTypeError, "the :tools block must return an Array of [content, is_error]");
    for (size_t k = 0; k < n && k < (size_t)RARRAY_LEN(results); k++) {
        VALUE pair = rb_ary_entry(results, (long)k);
        if (!RB_TYPE_P(pair, T_ARRAY) || RARRAY_LEN(pair) != 2) rb_raise(rb_eTypeError, "tool result must be [content, is_error]");
        VALUE content = rb_ary_entry(pair, 0);
        StringValue(content);
        asdk_loop_tool_result(s->loop, k, RSTRING_PTR(content), (size_t)RSTRING_LEN(content), RTEST(rb_ary_entry(pair, 1)));
    }
    asdk_loop_resume(s->loop);
}

/* Steps s as far as C alone can (no GVL): resumes it from a back-off that is over, sends its next request. Returns 1
 * when it needs Ruby — a line to yield, tool calls, its end, a request that could not be started. */
static int step_in_c(runner *r, slot *s)
{
    for (;;) {
        asdk_loop_state st = asdk_loop_state_now(s->loop);
        if (s->lines.buf.len || s->lines.nomem || st == ASDK_LOOP_TOOLS || st == ASDK_LOOP_DONE) return 1;
        if (st == ASDK_LOOP_SLEEP) {
            if (now_ms() < s->wake_at_ms) {
                note_sleep(r, s->wake_at_ms);
                return 0;
            }
            asdk_loop_resume(s->loop);
            continue;
        }
        if (st == ASDK_LOOP_SEND && !s->req) return start_request(r, s) ? 1 : 0;
        return 0;
    }
}

/* The drive, without the GVL: waits on the network and steps ready runs in C until one needs Ruby. */
static void *drive(void *p)
{
    runner *r = p;
    for (;;) {
        if (asdk_flag_get(&r->interrupted) || asdk_flag_get(&r->cancel_any)) return NULL;
        wake_sleepers(r);
        slot *s;
        while ((s = dequeue(r))) {
            if (step_in_c(r, s)) {
                push_front(s); /* stays ready: Ruby steps it (and every run queued after it) next */
                return NULL;
            }
        }
        int timeout = 1000;
        if (r->next_wake_ms >= 0) {
            int64_t d = r->next_wake_ms - now_ms();
            timeout = d <= 0 ? 0 : d < timeout ? (int)d : timeout;
        }
        asdk_http_poll(r->http, timeout);
    }
}

/* Steps the run in slot i with the GVL, through the block, until it waits on the network or a timer, or ends: what
 * needs Ruby here, the rest as step_in_c. */
static void step_in_ruby(VALUE self, runner *r, size_t i, slot *s)
{
    for (;;) {
        asdk_loop_state st = asdk_loop_state_now(s->loop);
        if (s->cancel && st != ASDK_LOOP_DONE) {
            if (s->req) asdk_http_cancel(s->req);
            const char *why = NIL_P(s->cancel_reason) ? NULL : StringValueCStr(s->cancel_reason);
            st = asdk_loop_cancel(s->loop, why);
        }
        yield_lines(i, s); /* every message is delivered before anything that follows it */
        if (st == ASDK_LOOP_TOOLS) {
            run_tools(self, i, s);
            continue;
        }
        if (st == ASDK_LOOP_DONE) {
            if (!s->reported) {
                s->reported = 1;
                r->active--;
                rb_yield_values(3, SIZET2NUM(i), sym_done, Qnil);
            }
            return;
        }
        if (!step_in_c(r, s)) return; /* it waits on the network or a timer */
        if (asdk_loop_state_now(s->loop) == ASDK_LOOP_SEND && !s->req && !s->lines.buf.len && !s->lines.nomem)
            rb_raise(rb_eNoMemError, "runner: the request could not be started");
    }
}

static VALUE run_body(VALUE self)
{
    runner *r = get(self);
    for (;;) {
        if (asdk_flag_get(&r->cancel_any)) {
            asdk_flag_set(&r->cancel_any, 0);
            for (size_t i = 0; i < r->nslots; i++)
                if (r->slots[i]->cancel && !r->slots[i]->reported) enqueue(r->slots[i]);
        }
        slot *s;
        while ((s = r->ready_head)) {
            step_in_ruby(self, r, s->index, s);
            if (r->ready_head == s) dequeue(r); /* after the step: a run whose block raised stays ready */
        }
        if (!r->active) return Qnil;
        asdk_flag_set(&r->interrupted, 0);
        r->driving = 1;
        asdk_without_gvl(drive, r, r->http, &r->interrupted);
        r->driving = 0;
        rb_thread_check_ints(); /* Thread#kill, Thread#raise, Timeout: here, never inside libcurl */
    }
}

static VALUE run_ensure(VALUE self)
{
    runner *r = rb_check_typeddata(self, &runner_type);
    r->driving = 0;
    for (size_t i = 0; i < r->nslots; i++)
        if (r->slots[i]->req) asdk_http_cancel(r->slots[i]->req);
    if (!NIL_P(r->shared_http)) {
        asdk_http_obj_release(r->shared_http);
        r->http = NULL;
    }
    r->running = 0;
    return Qnil;
}

/* close: frees its own HTTP client now — its connections are closed and their sockets released — instead of when the
 * runner is garbage collected (a shared Native::HTTP stays open). Not while #run runs; idempotent. */
static VALUE runner_close(VALUE self)
{
    runner *r = rb_check_typeddata(self, &runner_type);
    if (r->running) rb_raise(rb_eRuntimeError, "Runner#close while #run is running");
    if (r->closed) return Qnil;
    r->closed = 1;
    asdk_http *h = r->own_http;
    r->http = r->own_http = NULL;
    if (r->pid != getpid()) return Qnil; /* the parent's: see runner_free */
    asdk_http_free(h); /* on_done (ABORTED) clears each slot's req; a shared client is not ours to close */
    return Qnil;
}

static VALUE runner_run(VALUE self)
{
    runner *r = get(self);
    if (!rb_block_given_p()) rb_raise(rb_eArgError, "Runner#run needs a block");
    if (r->running) rb_raise(rb_eRuntimeError, "Runner#run is already running");
    if (!NIL_P(r->shared_http)) r->http = asdk_http_obj_acquire(r->shared_http); /* may raise: before running */
    r->running = 1;
    return rb_ensure(run_body, self, run_ensure, self);
}

/* ---- Retry-After as an HTTP date: "Wed, 21 Oct 2015 07:28:00 GMT" → seconds since the epoch, or -1 -------- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int64_t parse_http_date(const char *v, size_t n)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char buf[64];
    if (n >= sizeof buf) return -1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    const char *p = strchr(buf, ',');
    if (!p) return -1;
    int day, year, hh, mm, ss;
    char mon[4] = { 0 };
    if (sscanf(p + 1, " %2d %3c %4d %2d:%2d:%2d", &day, mon, &year, &hh, &mm, &ss) != 6) return -1;
    const char *m = strstr(months, mon);
    if (!m || (m - months) % 3 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return -1;
    return days_from_civil(year, (unsigned)((m - months) / 3 + 1), (unsigned)day) * 86400 + hh * 3600 + mm * 60 + ss;
}

void asdk_init_runner(VALUE mNative)
{
    sym_line = ID2SYM(rb_intern("line"));
    sym_tools = ID2SYM(rb_intern("tools"));
    sym_done = ID2SYM(rb_intern("done"));
    sym_id = ID2SYM(rb_intern("id"));
    sym_name = ID2SYM(rb_intern("name"));
    sym_input_json = ID2SYM(rb_intern("input_json"));

    VALUE c = rb_define_class_under(mNative, "Runner", rb_cObject);
    rb_define_alloc_func(c, runner_alloc);
    rb_define_method(c, "initialize", runner_initialize, -1);
    rb_define_method(c, "add", runner_add, 3);
    rb_define_method(c, "run", runner_run, 0);
    rb_define_method(c, "cancel", runner_cancel, -1);
    rb_define_method(c, "close", runner_close, 0);
    rb_define_method(c, "session_id", runner_session_id, 1);
    rb_define_method(c, "stats", runner_stats, 1);
}
