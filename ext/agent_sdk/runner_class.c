/* runner_class.c — RubyLLM::AgentSDK::Native::Runner: drives agent loops (core/loop.c) over HTTP (core/http.c) with
 * the streaming assemblers (core/stream_asm.c), many runs on one curl multi handle from one Ruby thread.
 *
 *   runner = Native::Runner.new(connect_timeout: 10, idle_timeout: 120, request_timeout: 600, ca_file: nil)
 *   id = runner.add(loop_config, url, ["x-api-key: …", …])      # loop_config as for Native::AgentLoop
 *   runner.run { |id, event, payload| … }                        # until every run is done
 *     :line  — a stream-json line (String), yielded before the run's next model call starts
 *     :tools — [{id:, name:, input_json:}, …]: the block returns [[content, is_error], …] in the same order
 *     :done  — the run ended (its result line came just before)
 *     :request — {attempt:, status:, input_tokens:, output_tokens:, cache_read_tokens:, cache_creation_tokens:,
 *                cost_micros:, ttfb_ms:, total_ms:, error:}: one finished HTTP attempt (config instrument: true only)
 *     :retry   — {attempt:, status:, wait_ms:, reason:}: the loop retries that failed attempt (instrument: true only)
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
 * leaks. The driving itself — ready queue, stepping, HTTP callbacks, Retry-After — is plain C in core/driver.c;
 * this file holds the GVL handling, the Ruby objects and the yields. */
#include "agent_sdk_ext.h"
#include "driver.h"
#include "emitted_lines.h"
#include "gvl.h"
#include "http.h"
#include "loop_config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    asdk_driver *d;
    asdk_http *http;            /* own_http, or the shared one's during #run; NULL otherwise */
    asdk_http *own_http;        /* created by Runner.new without http: */
    VALUE shared_http;          /* a Native::HTTP (its keep-alive connections outlive this runner), or Qnil */
    asdk_http_lease *lease;     /* shared_http's client, during #run (or an abandoned #run: see runner_free) */
    int initialised;
    int interrupted;            /* asdk_flag: set by the unblocking function */
    int running;
    int driving;                /* drive runs without the GVL: no other thread may add runs */
    int closed;
    pid_t pid;                  /* the process that made it: a forked child must neither use nor clean up its HTTP */
} runner;

static VALUE sym_line, sym_tools, sym_done, sym_id, sym_name, sym_input_json, sym_request, sym_retry, sym_instrument;
static VALUE sym_attempt, sym_status, sym_input_tokens, sym_output_tokens, sym_cache_read_tokens,
    sym_cache_creation_tokens, sym_cost_micros, sym_ttfb_ms, sym_total_ms, sym_error, sym_wait_ms, sym_reason;

/* ---- Ruby object -------------------------------------------------------------------------------------- */

static void runner_mark(void *p)
{
    rb_gc_mark(((runner *)p)->shared_http);
}

static void runner_free(void *p)
{
    runner *r = p;
    /* In a forked child (this runner was inherited, say, from a thread that was in #run) the transfers and the client
     * are the parent's: cancelling or freeing them would remove the parent's sockets from the epoll set they share
     * and close or shut down its connections. They are left alone, as Native::HTTP does. */
    int forked = r->initialised && r->pid != getpid();
    if (r->d) {
        if (forked) asdk_driver_forget_requests(r->d);
        asdk_driver_free(r->d); /* cancels what is in flight: on a shared client, the lease keeps it alive */
    }
    /* #run never finished (a dropped external Enumerator's fiber): the shared client becomes reusable */
    asdk_http_lease_release(r->lease);
    if (!forked) asdk_http_free(r->own_http); /* a shared client has no transfer of ours left: #run's ensure cancels them */
    xfree(r);
}

static size_t runner_size(const void *p)
{
    const runner *r = p;
    return sizeof *r + (r->d ? r->d->nruns * sizeof(asdk_drun) : 0);
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

#define MAX_TIMEOUT_S 1e6

static long seconds_ms(VALUE opts, const char *key, double dflt)
{
    VALUE v = rb_hash_lookup2(opts, ID2SYM(rb_intern(key)), Qnil);
    double sec = NIL_P(v) ? dflt : NUM2DBL(v);
    /* NaN fails both comparisons; infinity and absurd values would overflow the conversion to long */
    if (!(sec >= 0 && sec <= MAX_TIMEOUT_S))
        rb_raise(rb_eArgError, "%s must be from 0 to %.0f seconds", key, MAX_TIMEOUT_S);
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
    asdk_driver_opts o = { 0 };
    o.connect_ms = seconds_ms(opts, "connect_timeout", 10);
    o.idle_ms = seconds_ms(opts, "idle_timeout", 120);
    o.total_ms = seconds_ms(opts, "request_timeout", 600);
    VALUE ca = rb_hash_lookup2(opts, ID2SYM(rb_intern("ca_file")), Qnil);
    if (!NIL_P(ca)) o.ca_file = StringValueCStr(ca);
    r->d = asdk_driver_new(&o);
    if (!r->d) rb_raise(rb_eNoMemError, "runner");
    r->d->interrupted = &r->interrupted;
    r->pid = getpid();
    if (NIL_P(http)) {
        r->http = r->own_http = asdk_http_new();
        if (!r->http) rb_raise(rb_eRuntimeError, "could not initialise libcurl");
        asdk_driver_set_net(r->d, &asdk_net_curl, r->http);
    }
    RB_OBJ_WRITE(self, &r->shared_http, http);
    r->initialised = 1;
    RB_GC_GUARD(ca);
    return self;
}

/* add(loop_config, url, headers) → Integer id */
static VALUE runner_add(VALUE self, VALUE config, VALUE url, VALUE headers)
{
    runner *r = get(self);
    /* the drive walks the runs (realloc'd here) and the ready queue without the GVL: another thread must not add then */
    if (r->driving) rb_raise(rb_eRuntimeError, "Runner#add while #run waits on the network (add before #run or from its block)");
    Check_Type(config, T_HASH);
    Check_Type(headers, T_ARRAY);
    const char *curl = StringValueCStr(url);
    long n = RARRAY_LEN(headers);
    for (long i = 0; i < n; i++) {
        VALUE h = rb_ary_entry(headers, i);
        if (!RB_TYPE_P(h, T_STRING) || memchr(RSTRING_PTR(h), '\0', (size_t)RSTRING_LEN(h)))
            rb_raise(rb_eArgError, "headers must be Strings \"Name: value\"");
    }
    asdk_loop_config c;
    asdk_price price;
    asdk_loop_config_from_hash(config, &c, &price); /* may raise: before anything is allocated */
    VALUE lines = rb_ary_new_capa(n);
    for (long i = 0; i < n; i++) rb_ary_push(lines, rb_str_new_frozen(rb_ary_entry(headers, i)));
    const char **hs = ALLOCA_N(const char *, n ? n : 1);
    for (long i = 0; i < n; i++) {
        VALUE h = RARRAY_AREF(lines, i);
        hs[i] = StringValueCStr(h); /* NUL-free, checked above */
    }
    char err[256];
    long id = asdk_driver_add(r->d, &c, curl, hs, (size_t)n, err, sizeof err);
    if (id < 0) {
        if (!strcmp(err, "out of memory")) rb_raise(rb_eNoMemError, "runner");
        rb_raise(rb_eArgError, "%s", err);
    }
    if (RTEST(rb_hash_lookup2(config, sym_instrument, Qnil))) asdk_driver_record_attempts(r->d, (size_t)id, 1);
    RB_GC_GUARD(config);
    RB_GC_GUARD(headers);
    RB_GC_GUARD(lines);
    return LONG2NUM(id);
}

static asdk_drun *run_at(runner *r, VALUE id)
{
    size_t i = NUM2SIZET(id);
    if (i >= r->d->nruns) rb_raise(rb_eIndexError, "no run %lu", (unsigned long)i);
    return r->d->runs[i];
}

/* cancel(id, reason = nil): thread-safe (it runs with the GVL; the run loop sees it after its poll wakes). A run that
 * ended, or a closed runner, is left as it is. A NUL in reason is replaced (U+FFFD): nothing raises later, in the
 * running thread, where it would end every run of the runner. */
static VALUE runner_cancel(int argc, VALUE *argv, VALUE self)
{
    VALUE id, reason;
    rb_scan_args(argc, argv, "11", &id, &reason);
    runner *r = get_any(self);
    asdk_drun *s = run_at(r, id);
    if (r->closed || s->reported) return Qnil; /* over already: nothing to cancel (a canceller may come late) */
    get(self);                                  /* not from a forked child */
    const char *why = NULL;
    if (!NIL_P(reason)) {
        StringValue(reason);
        if (memchr(RSTRING_PTR(reason), '\0', (size_t)RSTRING_LEN(reason)))
            reason = rb_funcall(reason, rb_intern("tr"), 2, rb_str_new("\0", 1), rb_utf8_str_new_cstr("\xEF\xBF\xBD"));
        why = StringValueCStr(reason);
    }
    if (asdk_driver_cancel(r->d, NUM2SIZET(id), why)) rb_raise(rb_eNoMemError, "runner");
    RB_GC_GUARD(reason);
    return Qnil;
}

static VALUE runner_session_id(VALUE self, VALUE id)
{
    return rb_utf8_str_new_cstr(asdk_loop_session_id(run_at(get_any(self), id)->loop));
}

static VALUE runner_stats(VALUE self, VALUE id)
{
    asdk_drun *s = run_at(get_any(self), id);
    VALUE h = rb_hash_new();
    rb_hash_aset(h, ID2SYM(rb_intern("turns")), LL2NUM(asdk_loop_turns(s->loop)));
    rb_hash_aset(h, ID2SYM(rb_intern("cost_micros")), LL2NUM(asdk_loop_cost_micros(s->loop)));
    rb_hash_aset(h, ID2SYM(rb_intern("tokens")), LL2NUM(asdk_loop_tokens(s->loop)));
    return h;
}

/* ---- the run loop ----------------------------------------------------------------------------------------- */

/* Yields s's lines one at a time: a block that raises leaves the rest in s for #drain. */
static void yield_lines(size_t i, asdk_drun *s)
{
    const char *p;
    size_t n;
    while (asdk_driver_next_line(s, &p, &n))
        rb_yield_values(3, SIZET2NUM(i), sym_line, rb_obj_freeze(rb_utf8_str_new(p, (long)n)));
}

static VALUE count_or_nil(int has, int64_t v) { return has ? LL2NUM(v) : Qnil; }

/* Yields s's attempt records one at a time, as :request / :retry Hashes. */
static void yield_records(size_t i, asdk_drun *s)
{
    const asdk_drv_record *rec;
    while (asdk_driver_next_record(s, &rec)) {
        VALUE h = rb_hash_new();
        rb_hash_aset(h, sym_attempt, LL2NUM(rec->attempt));
        rb_hash_aset(h, sym_status, INT2NUM(rec->status));
        VALUE error = rec->error[0] ? rb_utf8_str_new_cstr(rec->error) : Qnil;
        if (rec->kind == ASDK_REC_RETRY) {
            rb_hash_aset(h, sym_wait_ms, LL2NUM(rec->wait_ms));
            rb_hash_aset(h, sym_reason, error);
            rb_yield_values(3, SIZET2NUM(i), sym_retry, h);
            continue;
        }
        const asdk_usage *u = &rec->usage;
        rb_hash_aset(h, sym_input_tokens, count_or_nil(rec->has_usage, u->input_tokens));
        rb_hash_aset(h, sym_output_tokens, count_or_nil(rec->has_usage, u->output_tokens));
        rb_hash_aset(h, sym_cache_read_tokens, count_or_nil(rec->has_usage, u->cache_read_input_tokens));
        rb_hash_aset(h, sym_cache_creation_tokens, count_or_nil(rec->has_usage, u->cache_creation_input_tokens));
        rb_hash_aset(h, sym_cost_micros, count_or_nil(rec->cost_micros >= 0, rec->cost_micros));
        rb_hash_aset(h, sym_ttfb_ms, count_or_nil(rec->ttfb_ms >= 0, rec->ttfb_ms));
        rb_hash_aset(h, sym_total_ms, LL2NUM(rec->total_ms));
        rb_hash_aset(h, sym_error, error);
        rb_yield_values(3, SIZET2NUM(i), sym_request, h);
    }
}

static void run_tools(runner *r, size_t i, asdk_drun *s)
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
    asdk_driver_resume(r->d, s);
}

static void cancel_request_nogvl(void *s) { asdk_driver_cancel_request(s); }
static void cancel_requests_nogvl(void *d) { asdk_driver_cancel_requests(d); }

/* Steps the run s with the GVL, through the block, until it waits on the network or a timer, or ends. */
static void step_in_ruby(runner *r, asdk_drun *s)
{
    for (;;) {
        /* A transfer still resolving its host name is removed without the GVL: libcurl joins its resolver thread */
        if (s->cancel && s->req) asdk_without_gvl_uninterruptible(cancel_request_nogvl, s);
        switch (asdk_driver_step(r->d, s)) {
        case ASDK_DRV_LINES: yield_lines(s->index, s); break;
        case ASDK_DRV_RECORDS: yield_records(s->index, s); break;
        case ASDK_DRV_TOOLS: run_tools(r, s->index, s); break;
        case ASDK_DRV_DONE: rb_yield_values(3, SIZET2NUM(s->index), sym_done, Qnil); return;
        case ASDK_DRV_NOMEM: rb_raise(rb_eNoMemError, "runner: out of memory (emitted lines, or the request could not be started)");
        default: return;
        }
    }
}

static void *drive(void *p)
{
    asdk_driver_drive(p);
    return NULL;
}

static VALUE run_body(VALUE self)
{
    runner *r = get(self);
    for (;;) {
        asdk_drun *s;
        while ((s = asdk_driver_head(r->d))) {
            step_in_ruby(r, s);
            asdk_driver_pop(r->d, s); /* after the step: a run whose block raised stays ready */
        }
        if (!r->d->active) return Qnil;
        asdk_flag_set(&r->interrupted, 0);
        r->driving = 1;
        asdk_without_gvl(drive, r->d, r->http, &r->interrupted);
        r->driving = 0;
        rb_thread_check_ints(); /* Thread#kill, Thread#raise, Timeout: here, never inside libcurl */
    }
}

static VALUE run_ensure(VALUE self)
{
    runner *r = rb_check_typeddata(self, &runner_type);
    r->driving = 0;
    /* without the GVL: a transfer still resolving its host name makes libcurl join its resolver thread */
    asdk_without_gvl_uninterruptible(cancel_requests_nogvl, r->d);
    if (!NIL_P(r->shared_http)) {
        asdk_http_lease_release(r->lease);
        r->lease = NULL;
        r->http = NULL;
        asdk_driver_set_net(r->d, &asdk_net_curl, NULL);
    }
    r->running = 0;
    return Qnil;
}

/* drain { |id, line| } → nil: after #run ended by an exception (its block raised, Thread#kill, Timeout): ends every
 * run still going with an error_cancelled result, then yields every line not yet delivered — that result included —
 * so the caller can still store them. */
static VALUE runner_drain(VALUE self)
{
    runner *r = get_any(self);
    if (r->running) rb_raise(rb_eRuntimeError, "Runner#drain while #run is running");
    asdk_driver_cancel_all(r->d, "the run was abandoned (the block raised or the thread was interrupted)");
    for (size_t i = 0; i < r->d->nruns; i++) {
        asdk_drun *s = r->d->runs[i];
        const asdk_drv_record *rec;
        while (asdk_driver_next_record(s, &rec)) {} /* the attempts of a run abandoned: not reported */
        const char *p;
        size_t n;
        while (asdk_driver_next_line(s, &p, &n))
            rb_yield_values(2, SIZET2NUM(i), rb_obj_freeze(rb_utf8_str_new(p, (long)n)));
    }
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
    if (r->d) asdk_driver_set_net(r->d, &asdk_net_curl, NULL);
    if (r->pid != getpid()) return Qnil; /* the parent's: see runner_free */
    asdk_http_free(h); /* nothing of ours is in flight: #run's ensure cancelled it; a shared client is not ours to close */
    return Qnil;
}

static VALUE runner_run(VALUE self)
{
    runner *r = get(self);
    if (!rb_block_given_p()) rb_raise(rb_eArgError, "Runner#run needs a block");
    if (r->running) rb_raise(rb_eRuntimeError, "Runner#run is already running");
    if (!NIL_P(r->shared_http)) {
        r->http = asdk_http_obj_acquire(r->shared_http, &r->lease); /* may raise: before running */
        asdk_driver_set_net(r->d, &asdk_net_curl, r->http);
    }
    r->running = 1;
    return rb_ensure(run_body, self, run_ensure, self);
}

void asdk_init_runner(VALUE mNative)
{
    sym_line = ID2SYM(rb_intern("line"));
    sym_tools = ID2SYM(rb_intern("tools"));
    sym_done = ID2SYM(rb_intern("done"));
    sym_id = ID2SYM(rb_intern("id"));
    sym_name = ID2SYM(rb_intern("name"));
    sym_input_json = ID2SYM(rb_intern("input_json"));
    sym_request = ID2SYM(rb_intern("request"));
    sym_retry = ID2SYM(rb_intern("retry"));
    sym_instrument = ID2SYM(rb_intern("instrument"));
    sym_attempt = ID2SYM(rb_intern("attempt"));
    sym_status = ID2SYM(rb_intern("status"));
    sym_input_tokens = ID2SYM(rb_intern("input_tokens"));
    sym_output_tokens = ID2SYM(rb_intern("output_tokens"));
    sym_cache_read_tokens = ID2SYM(rb_intern("cache_read_tokens"));
    sym_cache_creation_tokens = ID2SYM(rb_intern("cache_creation_tokens"));
    sym_cost_micros = ID2SYM(rb_intern("cost_micros"));
    sym_ttfb_ms = ID2SYM(rb_intern("ttfb_ms"));
    sym_total_ms = ID2SYM(rb_intern("total_ms"));
    sym_error = ID2SYM(rb_intern("error"));
    sym_wait_ms = ID2SYM(rb_intern("wait_ms"));
    sym_reason = ID2SYM(rb_intern("reason"));

    VALUE c = rb_define_class_under(mNative, "Runner", rb_cObject);
    rb_define_alloc_func(c, runner_alloc);
    rb_define_method(c, "initialize", runner_initialize, -1);
    rb_define_method(c, "add", runner_add, 3);
    rb_define_method(c, "run", runner_run, 0);
    rb_define_method(c, "cancel", runner_cancel, -1);
    rb_define_method(c, "drain", runner_drain, 0);
    rb_define_method(c, "close", runner_close, 0);
    rb_define_method(c, "session_id", runner_session_id, 1);
    rb_define_method(c, "stats", runner_stats, 1);
}
