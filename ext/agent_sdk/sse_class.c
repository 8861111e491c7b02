/* sse_class.c — RubyLLM::AgentSDK::Native::SSEParser, binding of core/sse.c. */
#include "agent_sdk_ext.h"
#include "sse.h"

static VALUE eJSONDecodeError = Qnil; /* resolved on first use: errors.rb may load after the extension */
static VALUE str_empty;

typedef struct {
    asdk_sse sse;
    int busy; /* inside #feed / #finish: the block must not call them again */
} parser;

static void parser_free(void *p)
{
    asdk_sse_free(&((parser *)p)->sse);
    xfree(p);
}

static size_t parser_memsize(const void *p)
{
    const asdk_sse *s = &((const parser *)p)->sse;
    return sizeof(parser) + s->line.cap + s->rest.cap + s->data.cap + s->type.cap + s->id.cap;
}

/* Holds no Ruby objects: no mark function, trivially write-barrier protected. */
static const rb_data_type_t parser_type = {
    "RubyLLM::AgentSDK::Native::SSEParser",
    { NULL, parser_free, parser_memsize, NULL, { NULL } },
    NULL, NULL, RUBY_TYPED_FREE_IMMEDIATELY | RUBY_TYPED_WB_PROTECTED,
};

static parser *get_parser(VALUE self)
{
    return rb_check_typeddata(self, &parser_type);
}

static VALUE parser_alloc(VALUE klass)
{
    parser *p;
    VALUE obj = TypedData_Make_Struct(klass, parser, &parser_type, p);
    asdk_sse_init(&p->sse, ASDK_SSE_DEFAULT_MAX_EVENT);
    return obj;
}

/* SSEParser.new(max_event_bytes = 32 MiB) */
static VALUE parser_initialize(int argc, VALUE *argv, VALUE self)
{
    VALUE max;
    rb_scan_args(argc, argv, "01", &max);
    long n = (long)ASDK_SSE_DEFAULT_MAX_EVENT;
    if (argc == 1 && (!FIXNUM_P(max) || (n = FIX2LONG(max)) < 1))
        rb_raise(rb_eArgError, "max_event_bytes must be a positive Integer, got %+" PRIsVALUE, max);
    parser *p = get_parser(self);
    if (p->busy) rb_raise(rb_eRuntimeError, "SSEParser#initialize called from its own block");
    asdk_sse_free(&p->sse);
    asdk_sse_init(&p->sse, (size_t)n);
    return self;
}

/* ---- yielding events --------------------------------------------------------------------------------- */

typedef struct {
    int state;   /* rb_protect state of the block that raised (or threw) */
    int yield;   /* a block was given */
} feed_ctx;

typedef struct {
    const char *type, *data, *id;
    size_t tlen, dlen, idlen;
} event_args;

static VALUE utf8_string(const char *p, size_t n)
{
    return rb_obj_freeze(asdk_scrubbed_utf8(p, (long)n));
}

static VALUE yield_event(VALUE arg)
{
    const event_args *e = (const event_args *)arg;
    VALUE type = rb_enc_interned_str(e->type, (long)e->tlen, rb_utf8_encoding());
    if (rb_enc_str_coderange(type) == ENC_CODERANGE_BROKEN) type = utf8_string(e->type, e->tlen);
    VALUE id = e->idlen ? utf8_string(e->id, e->idlen) : str_empty;
    return rb_yield_values(3, type, utf8_string(e->data, e->dlen), id);
}

/* Called by the core: every Ruby call (String creation, the block) runs under rb_protect, so nothing
 * longjmps through the framer. A raise stops the framer (the rest of the chunk stays buffered) and is
 * re-raised once it has returned. */
static int on_event(void *ud, const char *type, size_t tlen, const char *data, size_t dlen, const char *id,
                    size_t idlen)
{
    feed_ctx *c = ud;
    if (!c->yield) return 1;
    event_args e = { type, data, id, tlen, dlen, idlen };
    rb_protect(yield_event, (VALUE)&e, &c->state);
    return c->state == 0;
}

static VALUE resolve_class(VALUE *cache, const char *path)
{
    if (NIL_P(*cache)) *cache = rb_path2class(path);
    return *cache;
}

static void check(parser *p, asdk_sse_status st, const feed_ctx *c)
{
    p->busy = 0;
    if (c->state) rb_jump_tag(c->state);
    switch (st) {
    case ASDK_SSE_OK:
    case ASDK_SSE_ABORTED:
        return;
    case ASDK_SSE_TOO_BIG:
        rb_raise(resolve_class(&eJSONDecodeError, "RubyLLM::AgentSDK::JSONDecodeError"),
                 "SSE event larger than max_event_bytes (%zu)", p->sse.max_event);
    default:
        rb_memerror();
    }
}

static parser *enter(VALUE self, const char *method)
{
    parser *p = get_parser(self);
    if (p->busy) rb_raise(rb_eRuntimeError, "SSEParser#%s called from its own block", method);
    p->busy = 1;
    return p;
}

/* feed(chunk) { |type, data, id| } -> nil
 * Yields every event the chunk completes: type ("message" by default), data and the last event id, as
 * frozen UTF-8 Strings (invalid bytes replaced with U+FFFD). A block that raises or breaks leaves the rest
 * of the chunk buffered for the next #feed or #finish. Raises JSONDecodeError for an event over
 * max_event_bytes (and on every call after that). */
static VALUE parser_feed(VALUE self, VALUE chunk)
{
    StringValue(chunk);
    rb_need_block();
    /* A frozen (shared) copy: the block may change the caller's String while the core reads it. */
    VALUE frozen = rb_str_new_frozen(chunk);
    parser *p = enter(self, "feed");
    feed_ctx c = { 0, 1 };
    asdk_sse_status st = asdk_sse_feed(&p->sse, RSTRING_PTR(frozen), (size_t)RSTRING_LEN(frozen), on_event, &c);
    RB_GC_GUARD(frozen);
    check(p, st, &c);
    return Qnil;
}

/* finish { |type, data, id| } -> nil
 * End of the stream: the unterminated line and event are dropped; the parser takes a new stream (the last
 * event id and retry stay). Yields only what an interrupted #feed left unread (without a block it is
 * dropped). */
static VALUE parser_finish(VALUE self)
{
    parser *p = enter(self, "finish");
    feed_ctx c = { 0, rb_block_given_p() };
    asdk_sse_status st = asdk_sse_finish(&p->sse, on_event, &c);
    check(p, st, &c);
    return Qnil;
}

/* retry_ms -> Integer or nil: the last valid "retry" field. */
static VALUE parser_retry_ms(VALUE self)
{
    int64_t ms = asdk_sse_retry(&get_parser(self)->sse);
    return ms < 0 ? Qnil : LL2NUM(ms);
}

/* last_event_id -> String ("" when none). */
static VALUE parser_last_event_id(VALUE self)
{
    size_t n;
    const char *id = asdk_sse_last_id(&get_parser(self)->sse, &n);
    return utf8_string(id, n);
}

static VALUE parser_initialize_copy(VALUE self, VALUE orig)
{
    rb_raise(rb_eTypeError, "SSEParser can't be copied");
    return self;
}

static VALUE parser_max_event_bytes(VALUE self)
{
    return SIZET2NUM(get_parser(self)->sse.max_event);
}

void asdk_init_sse_parser(VALUE mNative)
{
    rb_gc_register_address(&eJSONDecodeError);
    str_empty = rb_enc_interned_str("", 0, rb_utf8_encoding());
    rb_gc_register_mark_object(str_empty);

    VALUE c = rb_define_class_under(mNative, "SSEParser", rb_cObject);
    rb_define_alloc_func(c, parser_alloc);
    rb_define_method(c, "initialize", parser_initialize, -1);
    rb_define_method(c, "initialize_copy", parser_initialize_copy, 1);
    rb_define_method(c, "feed", parser_feed, 1);
    rb_define_method(c, "finish", parser_finish, 0);
    rb_define_method(c, "retry_ms", parser_retry_ms, 0);
    rb_define_method(c, "last_event_id", parser_last_event_id, 0);
    rb_define_method(c, "max_event_bytes", parser_max_event_bytes, 0);
}
