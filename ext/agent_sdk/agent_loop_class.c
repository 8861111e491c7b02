/* agent_loop_class.c — RubyLLM::AgentSDK::Native::AgentLoop: the core agent loop (core/loop.c) driven step by step
 * from Ruby. Used by tests with scripted responses (no HTTP) and by drivers written in Ruby.
 *
 * No Ruby code runs inside the core: emitted lines are collected in C during a step and yielded to the block
 * after the step returns, in order. */
#include <math.h>

#include "agent_sdk_ext.h"
#include "emitted_lines.h"
#include "loop_config.h"


typedef struct {
    asdk_loop *loop;
    asdk_lines lines; /* emitted lines of the current step */
} agent_loop;

static ID id_call;
static VALUE sym_send, sym_sleep, sym_tools, sym_done, sym_anthropic, sym_openai;

static void al_free(void *p)
{
    agent_loop *a = p;
    asdk_loop_free(a->loop);
    asdk_buf_free(&a->lines.buf);
    xfree(a);
}

static size_t al_size(const void *p)
{
    const agent_loop *a = p;
    return sizeof *a + a->lines.buf.cap;
}

static const rb_data_type_t agent_loop_type = {
    "RubyLLM::AgentSDK::Native::AgentLoop",
    { NULL, al_free, al_size, NULL, { 0 } },
    NULL, NULL, RUBY_TYPED_FREE_IMMEDIATELY
};

static agent_loop *get(VALUE self)
{
    agent_loop *a = rb_check_typeddata(self, &agent_loop_type);
    if (!a->loop) rb_raise(rb_eRuntimeError, "AgentLoop not initialised");
    return a;
}

static void yield_line(VALUE line, void *arg)
{
    (void)arg;
    if (rb_block_given_p()) rb_yield(line);
}

/* Yields the lines of the step just made, then returns its state as a Symbol. */
static VALUE deliver(VALUE self, agent_loop *a, asdk_loop_state st)
{
    asdk_lines_each(&a->lines, yield_line, NULL);
    (void)self;
    switch (st) {
    case ASDK_LOOP_SEND: return sym_send;
    case ASDK_LOOP_SLEEP: return sym_sleep;
    case ASDK_LOOP_TOOLS: return sym_tools;
    case ASDK_LOOP_DONE: return sym_done;
    }
    return Qnil;
}

/* ---- construction ----------------------------------------------------------------------------------------- */

static VALUE opt(VALUE h, const char *key)
{
    VALUE v = rb_hash_lookup2(h, ID2SYM(rb_intern(key)), Qundef);
    return v == Qundef ? rb_hash_lookup(h, rb_str_new_cstr(key)) : v;
}

static const char *opt_str(VALUE h, const char *key)
{
    VALUE v = opt(h, key);
    if (NIL_P(v)) return NULL;
    StringValue(v);
    return StringValueCStr(v);
}

static int64_t opt_i64(VALUE h, const char *key, int64_t dflt)
{
    VALUE v = opt(h, key);
    return NIL_P(v) ? dflt : NUM2LL(v);
}

/* A limit: an Integer in 0..2**63-1, refused otherwise (it used to be cut to a C int: 2**32 turns meant none). */
static int64_t opt_limit(VALUE h, const char *key, int64_t dflt)
{
    VALUE v = opt(h, key);
    if (NIL_P(v)) return dflt;
    if (!RB_INTEGER_TYPE_P(v) || RTEST(rb_funcall(v, rb_intern("negative?"), 0)) ||
        (!FIXNUM_P(v) && rb_big_cmp(v, LL2NUM(INT64_MAX)) == INT2FIX(1)))
        rb_raise(rb_eArgError, "%s must be an Integer in 0..%lld, not %" PRIsVALUE, key, (long long)INT64_MAX,
                 rb_inspect(v));
    return NUM2LL(v);
}

void asdk_loop_config_from_hash(VALUE config, asdk_loop_config *c, asdk_price *price)
{
    Check_Type(config, T_HASH);
    memset(c, 0, sizeof *c);
    VALUE provider = opt(config, "provider");
    c->provider = NIL_P(provider) || provider == sym_anthropic ? ASDK_PROVIDER_ANTHROPIC
                 : provider == sym_openai                    ? ASDK_PROVIDER_OPENAI
                                                             : 0;
    c->model = opt_str(config, "model");
    c->prompt = opt_str(config, "prompt");
    c->system_prompt = opt_str(config, "system_prompt");
    c->tools_json = opt_str(config, "tools_json");
    c->tool_names_json = opt_str(config, "tool_names_json");
    c->session_id = opt_str(config, "session_id");
    c->cwd = opt_str(config, "cwd");
    c->transcript_json = opt_str(config, "transcript_json");
    c->max_turns = opt_limit(config, "max_turns", 0);
    c->max_budget_micros = opt_limit(config, "max_budget_micros", 0);
    c->max_tokens = opt_limit(config, "max_tokens", 0);
    c->max_output_tokens = opt_limit(config, "max_output_tokens", 4096);
    c->max_retries = opt_limit(config, "max_retries", 2);
    c->timeout_ms = opt_limit(config, "timeout_ms", 0);
    c->prompt_caching = RTEST(opt(config, "prompt_caching"));
    c->include_partial = RTEST(opt(config, "include_partial"));
    VALUE stream = opt(config, "stream");
    c->stream = NIL_P(stream) ? 1 : RTEST(stream);

    VALUE pv = opt(config, "price");
    if (!NIL_P(pv)) {
        Check_Type(pv, T_ARRAY);
        if (RARRAY_LEN(pv) != 5) rb_raise(rb_eArgError, "price must have 5 entries");
        price->input = NUM2LL(rb_ary_entry(pv, 0));
        price->cache_write_5m = NUM2LL(rb_ary_entry(pv, 1));
        price->cache_write_1h = NUM2LL(rb_ary_entry(pv, 2));
        price->cache_read = NUM2LL(rb_ary_entry(pv, 3));
        price->output = NUM2LL(rb_ary_entry(pv, 4));
        c->price = price;
    }
}

static VALUE al_alloc(VALUE klass)
{
    agent_loop *a;
    VALUE obj = TypedData_Make_Struct(klass, agent_loop, &agent_loop_type, a);
    return obj;
}

/* AgentLoop.new(config_hash). Keys: provider (:anthropic | :openai), model, prompt, system_prompt, tools_json,
 * tool_names_json, session_id, cwd, transcript_json, max_turns, max_budget_micros, max_tokens, max_output_tokens,
 * max_retries, timeout_ms, prompt_caching, include_partial, stream, price ([input, cache_write_5m, cache_write_1h,
 * cache_read, output] in micro-dollars per million tokens, or nil). Raises ArgumentError for a bad config. */
static VALUE al_initialize(VALUE self, VALUE config)
{
    agent_loop *a = rb_check_typeddata(self, &agent_loop_type);
    if (a->loop) rb_raise(rb_eRuntimeError, "AgentLoop already initialised");
    Check_Type(config, T_HASH);

    asdk_loop_config c;
    asdk_price price;
    asdk_loop_config_from_hash(config, &c, &price);

    char err[256];
    asdk_loop_io io = { asdk_lines_emit, asdk_io_now_ms, asdk_io_random, &a->lines };
    a->loop = asdk_loop_new(&c, &io, err, sizeof err);
    RB_GC_GUARD(config);
    if (!a->loop) rb_raise(rb_eArgError, "%s", err);
    return self;
}

/* ---- stepping --------------------------------------------------------------------------------------------- */

static VALUE al_start(VALUE self)
{
    agent_loop *a = get(self);
    return deliver(self, a, asdk_loop_start(a->loop));
}

static VALUE al_body(VALUE self)
{
    const asdk_buf *b = asdk_loop_body(get(self)->loop);
    return rb_utf8_str_new(b->ptr ? b->ptr : "", (long)b->len);
}

static VALUE al_request_max_tokens(VALUE self) { return LL2NUM(asdk_loop_request_max_tokens(get(self)->loop)); }
static VALUE al_sleep_ms(VALUE self) { return LL2NUM(asdk_loop_sleep_ms(get(self)->loop)); }
static VALUE al_turns(VALUE self) { return LL2NUM(asdk_loop_turns(get(self)->loop)); }
static VALUE al_request_input_bound(VALUE self) { return LL2NUM(asdk_loop_request_input_bound(get(self)->loop)); }
static VALUE al_cost_micros(VALUE self) { return LL2NUM(asdk_loop_cost_micros(get(self)->loop)); }
static VALUE al_tokens(VALUE self) { return LL2NUM(asdk_loop_tokens(get(self)->loop)); }
static VALUE al_session_id(VALUE self) { return rb_utf8_str_new_cstr(asdk_loop_session_id(get(self)->loop)); }

static VALUE al_state(VALUE self)
{
    agent_loop *a = get(self);
    return deliver(self, a, asdk_loop_state_now(a->loop));
}

static int buf_from(asdk_buf *b, VALUE v)
{
    if (NIL_P(v)) return 0;
    StringValue(v);
    return asdk_buf_append(b, RSTRING_PTR(v), (size_t)RSTRING_LEN(v));
}

/* A usage count as the assemblers read one: an Integer or Float >= 0, rounded up and saturated at INT64_MAX
 * (so a spec can report absurd usage); anything else is not a count. Returns 1 when *out was set. */
static int opt_count(VALUE h, const char *key, int64_t *out)
{
    VALUE v = opt(h, key);
    if (RB_FLOAT_TYPE_P(v)) {
        double d = RFLOAT_VALUE(v);
        if (!(d >= 0)) return 0; /* negative or NaN */
        d = ceil(d);
        *out = d >= 9223372036854775807.0 ? INT64_MAX : (int64_t)d;
        return 1;
    }
    if (!RB_INTEGER_TYPE_P(v) || RTEST(rb_funcall(v, rb_intern("negative?"), 0))) return 0;
    *out = FIXNUM_P(v) || rb_big_cmp(v, LL2NUM(INT64_MAX)) != INT2FIX(1) ? NUM2LL(v) : INT64_MAX;
    return 1;
}

/* Fills an asdk_turn from {id:, model:, content: [...], usage: {...}, stop_reason:, complete:, began:, error: {type:, message:}}.
 * Tool inputs may be Hashes (JSON-generated by the caller beforehand: pass input_json) or JSON text in "input_json". */
static void turn_from(asdk_turn *t, VALUE h)
{
    int nomem = 0;
    nomem |= buf_from(&t->id, opt(h, "id"));
    nomem |= buf_from(&t->model, opt(h, "model"));
    VALUE content = opt(h, "content");
    if (!NIL_P(content)) {
        Check_Type(content, T_ARRAY);
        for (long i = 0; i < RARRAY_LEN(content); i++) {
            VALUE blk = rb_ary_entry(content, i);
            Check_Type(blk, T_HASH);
            const char *type = opt_str(blk, "type");
            asdk_block_type bt = !type                              ? 0
                                 : !strcmp(type, "text")              ? ASDK_BLOCK_TEXT
                                 : !strcmp(type, "tool_use")          ? ASDK_BLOCK_TOOL_USE
                                 : !strcmp(type, "thinking")          ? ASDK_BLOCK_THINKING
                                 : !strcmp(type, "redacted_thinking") ? ASDK_BLOCK_REDACTED_THINKING
                                                                      : 0;
            if (!bt) rb_raise(rb_eArgError, "unknown block type %s", type ? type : "(none)");
            asdk_block *b = asdk_turn_add_block(t, bt);
            if (!b) { nomem = 1; break; }
            switch (bt) {
            case ASDK_BLOCK_TEXT: nomem |= buf_from(&b->text, opt(blk, "text")); break;
            case ASDK_BLOCK_TOOL_USE:
                nomem |= buf_from(&b->id, opt(blk, "id"));
                nomem |= buf_from(&b->name, opt(blk, "name"));
                nomem |= buf_from(&b->text, opt(blk, "input_json"));
                break;
            case ASDK_BLOCK_THINKING:
                nomem |= buf_from(&b->text, opt(blk, "thinking"));
                nomem |= buf_from(&b->signature, opt(blk, "signature"));
                break;
            case ASDK_BLOCK_REDACTED_THINKING: nomem |= buf_from(&b->text, opt(blk, "data")); break;
            }
        }
    }
    VALUE usage = opt(h, "usage");
    if (!NIL_P(usage)) { /* usage: nil or absent: the response reported none */
        Check_Type(usage, T_HASH);
        t->has_usage |= opt_count(usage, "input_tokens", &t->usage.input_tokens);
        t->has_usage |= opt_count(usage, "output_tokens", &t->usage.output_tokens);
        t->has_usage |= opt_count(usage, "cache_creation_input_tokens", &t->usage.cache_creation_input_tokens);
        t->has_usage |= opt_count(usage, "cache_creation_1h_input_tokens", &t->usage.cache_creation_1h_input_tokens);
        t->has_usage |= opt_count(usage, "cache_read_input_tokens", &t->usage.cache_read_input_tokens);
    }
    const char *stop = opt_str(h, "stop_reason");
    if (stop) snprintf(t->stop_reason, sizeof t->stop_reason, "%s", stop);
    VALUE complete = opt(h, "complete");
    t->complete = NIL_P(complete) ? 1 : RTEST(complete);
    t->began = RTEST(opt(h, "began"));
    VALUE error = opt(h, "error");
    if (!NIL_P(error)) {
        Check_Type(error, T_HASH);
        nomem |= buf_from(&t->error_type, opt(error, "type"));
        nomem |= buf_from(&t->error_message, opt(error, "message"));
    }
    if (nomem) rb_raise(rb_eNoMemError, "agent loop: out of memory");
}

struct respond_args {
    VALUE self, info;
    asdk_turn *turn;
};

static VALUE respond_body(VALUE p)
{
    struct respond_args *r = (struct respond_args *)p;
    agent_loop *a = get(r->self);
    VALUE h = r->info;
    asdk_loop_response_info in = {0};
    VALUE net = opt(h, "net");
    const char *net_name = NIL_P(net) ? "ok" : rb_id2name(SYM2ID(net));
    in.net = !strcmp(net_name, "ok")        ? ASDK_NET_OK
             : !strcmp(net_name, "connect") ? ASDK_NET_CONNECT
             : !strcmp(net_name, "timeout") ? ASDK_NET_TIMEOUT
             : !strcmp(net_name, "broken")  ? ASDK_NET_BROKEN
             : !strcmp(net_name, "protocol") ? ASDK_NET_PROTOCOL
                                             : ASDK_NET_OTHER;
    in.net_message = opt_str(h, "net_message");
    in.http_status = (int)opt_i64(h, "status", 0);
    in.retry_after_ms = opt_i64(h, "retry_after_ms", -1);
    VALUE sr = opt(h, "should_retry");
    in.should_retry = NIL_P(sr) ? -1 : RTEST(sr);
    VALUE eb = opt(h, "error_body");
    if (!NIL_P(eb)) {
        StringValue(eb);
        in.error_body = RSTRING_PTR(eb);
        in.error_body_len = (size_t)RSTRING_LEN(eb);
    }
    VALUE turn = opt(h, "turn");
    if (!NIL_P(turn)) {
        Check_Type(turn, T_HASH);
        turn_from(r->turn, turn);
        in.turn = r->turn;
    }
    asdk_loop_state st = asdk_loop_response(a->loop, &in);
    RB_GC_GUARD(eb);
    return INT2NUM(st);
}

static VALUE respond_ensure(VALUE p)
{
    asdk_turn_free(((struct respond_args *)p)->turn);
    return Qnil;
}

/* respond(net: :ok, status: 200, turn: {...}, retry_after_ms:, should_retry:, error_body:, net_message:) */
static VALUE al_respond(VALUE self, VALUE info)
{
    Check_Type(info, T_HASH);
    asdk_turn turn;
    asdk_turn_init(&turn);
    struct respond_args r = { self, info, &turn };
    VALUE st = rb_ensure(respond_body, (VALUE)&r, respond_ensure, (VALUE)&r);
    return deliver(self, get(self), (asdk_loop_state)NUM2INT(st));
}

static VALUE al_text_delta(VALUE self, VALUE index, VALUE text)
{
    agent_loop *a = get(self);
    StringValue(text);
    asdk_loop_text_delta(a->loop, NUM2SIZET(index), RSTRING_PTR(text), (size_t)RSTRING_LEN(text));
    return deliver(self, a, asdk_loop_state_now(a->loop));
}

/* [{id:, name:, input_json:}] of the tool calls to run (TOOLS state). */
static VALUE al_tool_calls(VALUE self)
{
    agent_loop *a = get(self);
    size_t n = asdk_loop_tool_count(a->loop);
    VALUE out = rb_ary_new_capa((long)n);
    for (size_t i = 0; i < n; i++) {
        const asdk_block *b = asdk_loop_tool_call(a->loop, i);
        VALUE h = rb_hash_new();
        rb_hash_aset(h, ID2SYM(rb_intern("id")), rb_utf8_str_new(b->id.ptr, (long)b->id.len));
        rb_hash_aset(h, ID2SYM(rb_intern("name")), rb_utf8_str_new(b->name.ptr, (long)b->name.len));
        rb_hash_aset(h, ID2SYM(rb_intern("input_json")),
                     b->text.len ? rb_utf8_str_new(b->text.ptr, (long)b->text.len) : rb_utf8_str_new_cstr("{}"));
        rb_ary_push(out, h);
    }
    return out;
}

static VALUE al_tool_result(VALUE self, VALUE index, VALUE content, VALUE is_error)
{
    agent_loop *a = get(self);
    StringValue(content);
    size_t i = NUM2SIZET(index);
    if (asdk_loop_tool_result(a->loop, i, RSTRING_PTR(content), (size_t)RSTRING_LEN(content), RTEST(is_error)))
        rb_raise(rb_eArgError, "no tool call %lu waiting for a result", (unsigned long)i);
    return Qnil;
}

static VALUE al_resume(VALUE self)
{
    agent_loop *a = get(self);
    return deliver(self, a, asdk_loop_resume(a->loop));
}

static VALUE al_cancel(int argc, VALUE *argv, VALUE self)
{
    VALUE reason;
    rb_scan_args(argc, argv, "01", &reason);
    agent_loop *a = get(self);
    const char *r = NIL_P(reason) ? NULL : StringValueCStr(reason);
    asdk_loop_state st = asdk_loop_cancel(a->loop, r);
    RB_GC_GUARD(reason);
    return deliver(self, a, st);
}

void asdk_init_agent_loop(VALUE mNative)
{
    id_call = rb_intern("call");
    sym_send = ID2SYM(rb_intern("send"));
    sym_sleep = ID2SYM(rb_intern("sleep"));
    sym_tools = ID2SYM(rb_intern("tools"));
    sym_done = ID2SYM(rb_intern("done"));
    sym_anthropic = ID2SYM(rb_intern("anthropic"));
    sym_openai = ID2SYM(rb_intern("openai"));

    VALUE c = rb_define_class_under(mNative, "AgentLoop", rb_cObject);
    rb_define_alloc_func(c, al_alloc);
    rb_define_method(c, "initialize", al_initialize, 1);
    rb_define_method(c, "start", al_start, 0);
    rb_define_method(c, "state", al_state, 0);
    rb_define_method(c, "body", al_body, 0);
    rb_define_method(c, "request_max_tokens", al_request_max_tokens, 0);
    rb_define_method(c, "request_input_bound", al_request_input_bound, 0);
    rb_define_method(c, "respond", al_respond, 1);
    rb_define_method(c, "text_delta", al_text_delta, 2);
    rb_define_method(c, "sleep_ms", al_sleep_ms, 0);
    rb_define_method(c, "tool_calls", al_tool_calls, 0);
    rb_define_method(c, "tool_result", al_tool_result, 3);
    rb_define_method(c, "resume", al_resume, 0);
    rb_define_method(c, "cancel", al_cancel, -1);
    rb_define_method(c, "turns", al_turns, 0);
    rb_define_method(c, "cost_micros", al_cost_micros, 0);
    rb_define_method(c, "tokens", al_tokens, 0);
    rb_define_method(c, "session_id", al_session_id, 0);
}
