/* assembler_class.c — RubyLLM::AgentSDK::Native::StreamAssembler, binding of core/stream_asm.c: response
 * bytes of the Anthropic Messages API or an OpenAI-compatible server in, one Anthropic-shaped turn out. */
#include "agent_sdk_ext.h"
#include "stream_asm.h"

static VALUE eJSONDecodeError = Qnil; /* resolved on first use: errors.rb may load after the extension */
static VALUE mNativeModule;
static ID id_new, id_parse_json, id_anthropic, id_openai, id_max_event_bytes, id_max_turn_bytes;
static VALUE sym_line_excerpt;

/* Frozen, interned Hash keys and values of #turn. */
enum {
    K_ID, K_MODEL, K_CONTENT, K_STOP_REASON, K_USAGE, K_COMPLETE, K_ERROR, K_TYPE, K_TEXT, K_NAME, K_INPUT,
    K_THINKING, K_SIGNATURE, K_DATA, K_MESSAGE, K_INPUT_TOKENS, K_OUTPUT_TOKENS, K_CACHE_CREATION,
    K_CACHE_READ, K_TOOL_USE, K_REDACTED_THINKING, K_COUNT
};
static const char *const key_names[K_COUNT] = {
    "id", "model", "content", "stop_reason", "usage", "complete", "error", "type", "text", "name", "input",
    "thinking", "signature", "data", "message", "input_tokens", "output_tokens", "cache_creation_input_tokens",
    "cache_read_input_tokens", "tool_use", "redacted_thinking",
};
static VALUE keys[K_COUNT];

typedef struct {
    asdk_turn turn;
    asdk_stream s;
    int ready; /* initialize ran */
    int busy;  /* inside #feed: the block must not call the mutating methods */
    int state; /* rb_protect state of a block that raised during the current call */
} assembler;

static void assembler_free(void *p)
{
    assembler *a = p;
    if (a->ready) {
        asdk_stream_free(&a->s);
        asdk_turn_free(&a->turn);
    }
    xfree(p);
}

static size_t assembler_memsize(const void *p)
{
    const assembler *a = p;
    size_t n = sizeof *a;
    if (!a->ready) return n;
    const asdk_turn *t = &a->turn;
    n += t->blocks_cap * sizeof(asdk_block) + t->id.cap + t->model.cap + t->error_type.cap + t->error_message.cap;
    for (size_t i = 0; i < t->nblocks; i++)
        n += t->blocks[i].text.cap + t->blocks[i].id.cap + t->blocks[i].name.cap + t->blocks[i].signature.cap;
    const asdk_sse *s = &a->s.sse;
    return n + s->line.cap + s->rest.cap + s->data.cap + s->type.cap + s->id.cap;
}

/* Holds no Ruby objects: no mark function, trivially write-barrier protected. */
static const rb_data_type_t assembler_type = {
    "RubyLLM::AgentSDK::Native::StreamAssembler",
    { NULL, assembler_free, assembler_memsize, NULL, { NULL } },
    NULL, NULL, RUBY_TYPED_FREE_IMMEDIATELY | RUBY_TYPED_WB_PROTECTED,
};

static VALUE assembler_alloc(VALUE klass)
{
    assembler *a;
    return TypedData_Make_Struct(klass, assembler, &assembler_type, a);
}

static assembler *get(VALUE self)
{
    assembler *a = rb_check_typeddata(self, &assembler_type);
    if (!a->ready) rb_raise(rb_eRuntimeError, "StreamAssembler not initialized");
    return a;
}

static size_t limit_arg(VALUE v, const char *name)
{
    if (v == Qundef || NIL_P(v)) return 0;
    if (!FIXNUM_P(v) || FIX2LONG(v) < 1)
        rb_raise(rb_eArgError, "%s must be a positive Integer, got %+" PRIsVALUE, name, v);
    return (size_t)FIX2LONG(v);
}

/* StreamAssembler.new(:anthropic | :openai, max_event_bytes: 32 MiB, max_turn_bytes: 64 MiB) */
static VALUE assembler_initialize(int argc, VALUE *argv, VALUE self)
{
    VALUE provider, opts, vals[2] = { Qundef, Qundef };
    rb_scan_args(argc, argv, "1:", &provider, &opts);
    if (!NIL_P(opts)) {
        ID kw[2] = { id_max_event_bytes, id_max_turn_bytes };
        rb_get_kwargs(opts, kw, 0, 2, vals);
    }
    asdk_provider which;
    if (provider == ID2SYM(id_anthropic)) which = ASDK_PROVIDER_ANTHROPIC;
    else if (provider == ID2SYM(id_openai)) which = ASDK_PROVIDER_OPENAI;
    else rb_raise(rb_eArgError, "provider must be :anthropic or :openai, got %+" PRIsVALUE, provider);
    size_t max_event = limit_arg(vals[0], "max_event_bytes");
    size_t max_turn = limit_arg(vals[1], "max_turn_bytes");

    assembler *a = rb_check_typeddata(self, &assembler_type);
    if (a->busy) rb_raise(rb_eRuntimeError, "StreamAssembler#initialize called from its own block");
    if (a->ready) {
        asdk_stream_free(&a->s);
        asdk_turn_free(&a->turn);
    }
    asdk_turn_init(&a->turn);
    asdk_stream_init(&a->s, which, &a->turn, max_event, max_turn);
    a->ready = 1;
    return self;
}

static VALUE assembler_initialize_copy(VALUE self, VALUE orig)
{
    rb_raise(rb_eTypeError, "StreamAssembler can't be copied");
    return self;
}

/* ---- text deltas ------------------------------------------------------------------------------------- */

typedef struct {
    const char *p;
    size_t n;
} text_arg;

static VALUE yield_text(VALUE arg)
{
    const text_arg *t = (const text_arg *)arg;
    return rb_yield(rb_utf8_str_new(t->p, (long)t->n)); /* the core hands out well-formed UTF-8 only */
}

/* Called by the core mid-feed: the String and the block run under rb_protect, so nothing longjmps through
 * the framer or yajl. A raise stops the feed after this event (the rest stays buffered) and is re-raised
 * once the core has returned. */
static int on_text(void *ud, const char *p, size_t n)
{
    assembler *a = ud;
    text_arg t = { p, n };
    rb_protect(yield_text, (VALUE)&t, &a->state);
    return a->state == 0;
}

static VALUE resolve_class(VALUE *cache, const char *path)
{
    if (NIL_P(*cache)) *cache = rb_path2class(path);
    return *cache;
}

static void check(assembler *a, asdk_asm_status st)
{
    int state = a->state;
    a->busy = a->state = 0;
    asdk_stream_on_text(&a->s, NULL, NULL);
    if (state) rb_jump_tag(state);
    if (st == ASDK_ASM_OK || st == ASDK_ASM_ABORTED) return;
    if (st == ASDK_ASM_NOMEM) rb_memerror();
    const asdk_asm_error *e = asdk_stream_error(&a->s);
    VALUE kw = rb_hash_new();
    if (e->excerpt_len) rb_hash_aset(kw, sym_line_excerpt, asdk_scrubbed_utf8(e->excerpt, (long)e->excerpt_len));
    VALUE args[2] = { rb_utf8_str_new_cstr(e->message), kw };
    VALUE klass = resolve_class(&eJSONDecodeError, "RubyLLM::AgentSDK::JSONDecodeError");
    rb_exc_raise(rb_funcallv_kw(klass, id_new, 2, args, RB_PASS_KEYWORDS));
}

static assembler *enter(VALUE self, const char *method)
{
    assembler *a = get(self);
    if (a->busy) rb_raise(rb_eRuntimeError, "StreamAssembler#%s called from its own block", method);
    a->busy = 1;
    a->state = 0;
    return a;
}

/* feed(sse_bytes) { |text_delta| } -> self
 * Frames and assembles a chunk of a streamed response body. With a block, each piece of text as it
 * arrives is yielded as a String; without one no Ruby object is made per event. Raises JSONDecodeError
 * for an event that is not valid JSON, a tool input that is not a JSON object, an event over
 * max_event_bytes or a turn over max_turn_bytes (the assembler is then spent). */
static VALUE assembler_feed(VALUE self, VALUE bytes)
{
    StringValue(bytes);
    int block = rb_block_given_p();
    /* With a block, Ruby code runs mid-feed and may change the caller's String: read a frozen copy. */
    VALUE str = block ? rb_str_new_frozen(bytes) : bytes;
    assembler *a = enter(self, "feed");
    if (block) asdk_stream_on_text(&a->s, on_text, a);
    asdk_asm_status st = asdk_stream_feed(&a->s, RSTRING_PTR(str), (size_t)RSTRING_LEN(str));
    RB_GC_GUARD(str);
    check(a, st);
    return self;
}

/* finish { |text_delta| } -> self: the end of the body. */
static VALUE assembler_finish(VALUE self)
{
    assembler *a = enter(self, "finish");
    if (rb_block_given_p()) asdk_stream_on_text(&a->s, on_text, a);
    check(a, asdk_stream_finish(&a->s));
    return self;
}

/* parse_body(json) -> self: a whole non-streamed response body (or an error body). */
static VALUE assembler_parse_body(VALUE self, VALUE json)
{
    StringValue(json);
    assembler *a = enter(self, "parse_body");
    asdk_asm_status st = asdk_stream_parse_body(&a->s, RSTRING_PTR(json), (size_t)RSTRING_LEN(json));
    RB_GC_GUARD(json);
    check(a, st);
    return self;
}

/* ---- the turn as a Hash ------------------------------------------------------------------------------ */

static VALUE str_or_nil(const asdk_buf *b)
{
    return b->len ? rb_utf8_str_new(b->ptr, (long)b->len) : Qnil;
}

static VALUE str_of(const asdk_buf *b)
{
    return rb_utf8_str_new(b->len ? b->ptr : "", (long)b->len);
}

static VALUE block_hash(const asdk_block *b)
{
    VALUE h = rb_hash_new();
    switch (b->type) {
    case ASDK_BLOCK_TEXT:
        rb_hash_aset(h, keys[K_TYPE], keys[K_TEXT]);
        rb_hash_aset(h, keys[K_TEXT], str_of(&b->text));
        break;
    case ASDK_BLOCK_TOOL_USE:
        rb_hash_aset(h, keys[K_TYPE], keys[K_TOOL_USE]);
        rb_hash_aset(h, keys[K_ID], str_of(&b->id));
        rb_hash_aset(h, keys[K_NAME], str_of(&b->name));
        rb_hash_aset(h, keys[K_INPUT], rb_funcall(mNativeModule, id_parse_json, 1, str_of(&b->text)));
        break;
    case ASDK_BLOCK_THINKING:
        rb_hash_aset(h, keys[K_TYPE], keys[K_THINKING]);
        rb_hash_aset(h, keys[K_THINKING], str_of(&b->text));
        rb_hash_aset(h, keys[K_SIGNATURE], str_of(&b->signature));
        break;
    case ASDK_BLOCK_REDACTED_THINKING:
        rb_hash_aset(h, keys[K_TYPE], keys[K_REDACTED_THINKING]);
        rb_hash_aset(h, keys[K_DATA], str_of(&b->text));
        break;
    }
    return h;
}

/* turn -> {"id", "model", "content" => [blocks], "stop_reason", "usage" => {...}, "complete", "error"}
 * A new Hash each call, shaped like an Anthropic message (see sig/ and the specs). */
static VALUE assembler_turn(VALUE self)
{
    const asdk_turn *t = &get(self)->turn;
    VALUE h = rb_hash_new();
    rb_hash_aset(h, keys[K_ID], str_or_nil(&t->id));
    rb_hash_aset(h, keys[K_MODEL], str_or_nil(&t->model));
    VALUE content = rb_ary_new_capa((long)t->nblocks);
    rb_hash_aset(h, keys[K_CONTENT], content);
    for (size_t i = 0; i < t->nblocks; i++) rb_ary_push(content, block_hash(&t->blocks[i]));
    rb_hash_aset(h, keys[K_STOP_REASON], t->stop_reason[0] ? rb_utf8_str_new_cstr(t->stop_reason) : Qnil);
    VALUE usage = rb_hash_new();
    rb_hash_aset(h, keys[K_USAGE], usage);
    rb_hash_aset(usage, keys[K_INPUT_TOKENS], LL2NUM(t->usage.input_tokens));
    rb_hash_aset(usage, keys[K_OUTPUT_TOKENS], LL2NUM(t->usage.output_tokens));
    rb_hash_aset(usage, keys[K_CACHE_CREATION], LL2NUM(t->usage.cache_creation_input_tokens));
    rb_hash_aset(usage, keys[K_CACHE_READ], LL2NUM(t->usage.cache_read_input_tokens));
    rb_hash_aset(h, keys[K_COMPLETE], t->complete ? Qtrue : Qfalse);
    VALUE error = Qnil;
    if (t->error_type.len || t->error_message.len) {
        error = rb_hash_new();
        rb_hash_aset(error, keys[K_TYPE], str_of(&t->error_type));
        rb_hash_aset(error, keys[K_MESSAGE], str_of(&t->error_message));
    }
    rb_hash_aset(h, keys[K_ERROR], error);
    return h;
}

/* complete? -> true once message_stop / [DONE] / a whole body was seen. */
static VALUE assembler_complete_p(VALUE self)
{
    return get(self)->turn.complete ? Qtrue : Qfalse;
}

void asdk_init_stream_assembler(VALUE mNative)
{
    mNativeModule = mNative;
    rb_gc_register_address(&eJSONDecodeError);
    id_new = rb_intern("new");
    id_parse_json = rb_intern("parse_json");
    id_anthropic = rb_intern("anthropic");
    id_openai = rb_intern("openai");
    id_max_event_bytes = rb_intern("max_event_bytes");
    id_max_turn_bytes = rb_intern("max_turn_bytes");
    sym_line_excerpt = ID2SYM(rb_intern("line_excerpt"));
    for (int i = 0; i < K_COUNT; i++) {
        keys[i] = rb_enc_interned_str(key_names[i], (long)strlen(key_names[i]), rb_utf8_encoding());
        rb_gc_register_mark_object(keys[i]);
    }

    VALUE c = rb_define_class_under(mNative, "StreamAssembler", rb_cObject);
    rb_define_alloc_func(c, assembler_alloc);
    rb_define_method(c, "initialize", assembler_initialize, -1);
    rb_define_method(c, "initialize_copy", assembler_initialize_copy, 1);
    rb_define_method(c, "feed", assembler_feed, 1);
    rb_define_method(c, "finish", assembler_finish, 0);
    rb_define_method(c, "parse_body", assembler_parse_body, 1);
    rb_define_method(c, "turn", assembler_turn, 0);
    rb_define_method(c, "complete?", assembler_complete_p, 0);
}
