/* message_parser.c — Native.parse_message, Native.parse_json, Native.peek_type: binding of
 * core/json_extract.c. Implements the core's builder callbacks with Ruby values. */
#include "agent_sdk_ext.h"
#include "json_extract.h"

#include <ruby/ractor.h>
#include <stdlib.h>

/* ---- cached names ------------------------------------------------------------------------------------ */

static ID id_new;
static ID iv_type, iv_subtype, iv_uuid, iv_session_id, iv_content, iv_tool_calls, iv_tool_name, iv_model,
    iv_usage, iv_total_cost_usd, iv_num_turns, iv_duration_ms, iv_duration_api_ms, iv_is_error, iv_stop_reason,
    iv_parent_tool_use_id, iv_raw;
static VALUE sym_unknown, sym_id, sym_name, sym_input, sym_line_excerpt;
static VALUE empty_tool_calls;          /* one frozen, Ractor-shareable [] for every message without tool calls */
static VALUE cMessage = Qnil;           /* resolved on first use: message.rb may load after the extension */
static VALUE eJSONDecodeError = Qnil;

static struct known_type {
    const char *name;
    size_t len;
    VALUE sym;
} known_types[] = {
#define T(name) { name, sizeof(name) - 1, 0 }
    T("assistant"), T("user"), T("result"), T("system"), T("stream_event"), T("control_request"),
    T("control_response"), T("rate_limit_event"), T("parse_error"),
#undef T
};
#define KNOWN_TYPES (sizeof known_types / sizeof known_types[0])

/* Interned (fstring) keys of the objects the CLI and the API send most, looked up without touching the VM's
 * fstring table. Filled in Init and read-only afterwards (Ractor-safe). */
static const char *const common_keys[] = {
    "type", "text", "id", "name", "input", "content", "role", "model", "usage", "message", "session_id", "uuid",
    "subtype", "is_error", "tool_use_id", "parent_tool_use_id", "stop_reason", "stop_sequence", "result",
    "input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "cache_creation",
    "ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens", "service_tier", "server_tool_use",
    "web_search_requests", "web_fetch_requests", "file_path", "path", "pattern", "command", "description",
    "offset", "limit", "old_string", "new_string", "total_cost_usd", "num_turns", "duration_ms", "duration_api_ms",
    "modelUsage", "permission_denials", "cwd", "tools", "mcp_servers", "permissionMode", "apiKeySource", "status",
    "tool_use_result", "file", "filePath", "numLines", "startLine", "totalLines", "stdout", "stderr",
    "interrupted", "isImage", "inputTokens", "outputTokens", "cacheReadInputTokens", "cacheCreationInputTokens",
    "webSearchRequests", "costUSD", "contextWindow", "event", "delta", "index", "content_block", "signature",
    "thinking", "error", "request_id", "request", "response",
};
#define KEY_CACHE_SIZE 256 /* power of two, about three times the number of keys */
static struct {
    const char *name;
    long len;
    VALUE str;
} key_cache[KEY_CACHE_SIZE];

static unsigned key_hash(const char *s, long n)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (long i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static VALUE intern_key(const char *s, long n)
{
    for (unsigned i = key_hash(s, n);; i++) {
        i &= KEY_CACHE_SIZE - 1;
        if (!key_cache[i].name) break;
        if (key_cache[i].len == n && memcmp(key_cache[i].name, s, (size_t)n) == 0) return key_cache[i].str;
    }
    return rb_enc_interned_str(s, n, rb_utf8_encoding());
}

static void key_cache_init(void)
{
    for (size_t k = 0; k < sizeof common_keys / sizeof common_keys[0]; k++) {
        const char *name = common_keys[k];
        long n = (long)strlen(name);
        unsigned i = key_hash(name, n) & (KEY_CACHE_SIZE - 1);
        while (key_cache[i].name) i = (i + 1) & (KEY_CACHE_SIZE - 1);
        key_cache[i].name = name;
        key_cache[i].len = n;
        key_cache[i].str = rb_enc_interned_str(name, n, rb_utf8_encoding());
        rb_gc_register_mark_object(key_cache[i].str);
    }
}

/* ---- numbers ----------------------------------------------------------------------------------------- */

/* Evaluates expr with z pointing to a NUL-terminated copy of s[0, n) (yajl's number text is not terminated). */
#define WITH_CSTR(s, n, z, expr)                                       \
    do {                                                               \
        char small_[64];                                               \
        VALUE tmp_ = 0;                                                \
        char *z = (n) < sizeof small_ ? small_ : ALLOCV(tmp_, (n) + 1); \
        memcpy(z, (s), (n));                                           \
        z[(n)] = '\0';                                                 \
        expr;                                                          \
        ALLOCV_END(tmp_);                                              \
    } while (0)

/* Integer for integer text (any size), Float for text with a fraction or exponent. */
static VALUE number_value(const char *s, size_t n)
{
    int is_float = memchr(s, '.', n) || memchr(s, 'e', n) || memchr(s, 'E', n);
    if (!is_float && n <= 18) { /* fits a long long whatever the digits */
        const char *p = s, *end = s + n;
        int neg = *p == '-';
        long long v = 0;
        for (p += neg; p < end; p++) v = v * 10 + (*p - '0');
        return LL2NUM(neg ? -v : v);
    }
    VALUE v;
    WITH_CSTR(s, n, z, v = is_float ? DBL2NUM(strtod(z, NULL)) : rb_cstr2inum(z, 10));
    return v;
}

static VALUE float_value(const char *s, size_t n)
{
    double d;
    WITH_CSTR(s, n, z, d = strtod(z, NULL));
    return DBL2NUM(d);
}

/* ---- the Ruby builder -------------------------------------------------------------------------------- */

/* Builds Ruby values from the core's value events. It lives on the C stack while a pass runs, so Ruby's
 * conservative stack scan marks (and pins) every VALUE in it; each new value is attached to its parent at
 * once, so a whole capture stays reachable from `root`. A Ruby exception here (NoMemoryError) unwinds
 * through yajl: the callers free the extractor with rb_ensure. */
typedef struct {
    VALUE containers[ASDK_JSON_MAX_DEPTH]; /* open Hashes and Arrays, innermost last */
    VALUE keys[ASDK_JSON_MAX_DEPTH];       /* pending key of each open Hash */
    int depth;
    VALUE root;     /* the capture being built */
    VALUE captures; /* finished captures in order (Array, created on first use); unused when `single` */
    int single;     /* parse_json: one capture, kept in root */
} builder;

static void builder_init(builder *b, int single)
{
    b->depth = 0;
    b->root = Qnil;
    b->captures = Qnil;
    b->single = single;
}

static void attach(builder *b, VALUE v)
{
    if (!b->depth) {
        b->root = v;
        return;
    }
    VALUE parent = b->containers[b->depth - 1];
    if (RB_TYPE_P(parent, T_HASH)) rb_hash_aset(parent, b->keys[b->depth - 1], v);
    else rb_ary_push(parent, v);
}

static void open_container(builder *b, VALUE c)
{
    attach(b, c);
    b->containers[b->depth++] = c;
}

static int b_begin(void *ud)
{
    ((builder *)ud)->root = Qnil;
    return 1;
}

static int b_end(void *ud)
{
    builder *b = ud;
    if (b->single) return 1;
    if (NIL_P(b->captures)) b->captures = rb_ary_new();
    rb_ary_push(b->captures, b->root);
    return 1;
}

static int b_null(void *ud) { attach(ud, Qnil); return 1; }
static int b_boolean(void *ud, int v) { attach(ud, v ? Qtrue : Qfalse); return 1; }
static int b_number(void *ud, const char *s, size_t n) { attach(ud, number_value(s, n)); return 1; }
static int b_string(void *ud, const char *s, size_t n) { attach(ud, rb_utf8_str_new(s, (long)n)); return 1; }
static int b_map_start(void *ud) { open_container(ud, rb_hash_new()); return 1; }
static int b_array_start(void *ud) { open_container(ud, rb_ary_new()); return 1; }
static int b_close(void *ud) { ((builder *)ud)->depth--; return 1; }
static int b_map_key(void *ud, const char *s, size_t n)
{
    builder *b = ud;
    b->keys[b->depth - 1] = intern_key(s, (long)n);
    return 1;
}

static const asdk_builder ruby_builder = {
    b_begin, b_end, b_null, b_boolean, b_number, b_string, b_map_start, b_map_key, b_close, b_array_start, b_close,
};

/* ---- passes ------------------------------------------------------------------------------------------ */

typedef struct {
    builder b;
    asdk_extractor x;
    asdk_msg_fields fields;
    asdk_json_error err;
    VALUE str;
} pass;

static VALUE free_pass(VALUE arg)
{
    asdk_extractor_free(&((pass *)arg)->x);
    return Qnil;
}

static VALUE resolve_class(VALUE *cache, const char *path)
{
    if (NIL_P(*cache)) *cache = rb_path2class(path);
    return *cache;
}

static void raise_decode_error(const pass *p)
{
    if (p->err.status == ASDK_JSON_NOMEM) rb_memerror();
    long n = RSTRING_LEN(p->str) < 200 ? RSTRING_LEN(p->str) : 200;
    VALUE kw = rb_hash_new();
    rb_hash_aset(kw, sym_line_excerpt, asdk_scrubbed_utf8(RSTRING_PTR(p->str), n));
    VALUE args[2] = { rb_utf8_str_new_cstr(p->err.message), kw };
    VALUE klass = resolve_class(&eJSONDecodeError, "RubyLLM::AgentSDK::JSONDecodeError");
    rb_exc_raise(rb_funcallv_kw(klass, id_new, 2, args, RB_PASS_KEYWORDS));
}

static VALUE string_or_nil(const asdk_value *v)
{
    return v->kind == ASDK_STRING ? rb_utf8_str_new(v->ptr, (long)v->len) : Qnil;
}

/* For fields with few distinct values (session ids, models, subtypes, tool names): a frozen, deduplicated
 * String, so a thousand messages of a session share one session_id and allocate nothing for it. */
static VALUE interned_or_nil(const asdk_value *v)
{
    return v->kind == ASDK_STRING ? rb_enc_interned_str(v->ptr, (long)v->len, rb_utf8_encoding()) : Qnil;
}

static VALUE number_or_nil(const asdk_value *v)
{
    return v->kind == ASDK_NUMBER ? number_value(v->ptr, v->len) : Qnil;
}

static VALUE capture_or_nil(VALUE captures, int i)
{
    return i >= 0 ? rb_ary_entry(captures, i) : Qnil;
}

static VALUE type_symbol(const asdk_value *v)
{
    if (v->kind != ASDK_STRING) return sym_unknown;
    for (size_t i = 0; i < KNOWN_TYPES; i++) {
        const struct known_type *t = &known_types[i];
        if (t->len == v->len && memcmp(t->name, v->ptr, v->len) == 0) return t->sym;
    }
    return rb_str_intern(rb_utf8_str_new(v->ptr, (long)v->len)); /* a dynamic Symbol, collectable */
}

static VALUE tool_calls(const asdk_msg_fields *f, VALUE captures)
{
    if (!f->ntool_calls) return empty_tool_calls;
    VALUE calls = rb_ary_new_capa((long)f->ntool_calls);
    for (size_t i = 0; i < f->ntool_calls; i++) {
        const asdk_tool_call *c = &f->tool_calls[i];
        VALUE call = rb_hash_new();
        rb_ary_push(calls, call);
        rb_hash_aset(call, sym_id, string_or_nil(&c->id));
        rb_hash_aset(call, sym_name, interned_or_nil(&c->name));
        rb_hash_aset(call, sym_input, capture_or_nil(captures, c->input));
    }
    return calls;
}

static VALUE parse_message_body(VALUE arg)
{
    pass *p = (pass *)arg;
    if (asdk_extract_message(&p->x, RSTRING_PTR(p->str), (size_t)RSTRING_LEN(p->str), &ruby_builder, &p->b,
                             &p->fields, &p->err))
        raise_decode_error(p);

    const asdk_msg_fields *f = &p->fields;
    VALUE m = rb_obj_alloc(resolve_class(&cMessage, "RubyLLM::AgentSDK::Message"));
    /* Only non-nil fields are set: an attr_reader of an unset ivar returns nil just the same, and each
     * rb_ivar_set costs a table lookup (on short lines, setting all 17 took as long as the parse). */
#define SET(iv, value)                         \
    do {                                       \
        VALUE v_ = (value);                    \
        if (!NIL_P(v_)) rb_ivar_set(m, iv, v_); \
    } while (0)
    rb_ivar_set(m, iv_type, type_symbol(&f->type));
    SET(iv_subtype, interned_or_nil(&f->subtype));
    SET(iv_uuid, string_or_nil(&f->uuid));
    SET(iv_session_id, interned_or_nil(&f->session_id));
    SET(iv_content, string_or_nil(&f->content));
    rb_ivar_set(m, iv_tool_calls, tool_calls(f, p->b.captures));
    SET(iv_tool_name, interned_or_nil(&f->tool_name));
    SET(iv_model, interned_or_nil(&f->model));
    SET(iv_usage, capture_or_nil(p->b.captures, f->usage));
    if (f->total_cost_usd.kind == ASDK_NUMBER)
        rb_ivar_set(m, iv_total_cost_usd, float_value(f->total_cost_usd.ptr, f->total_cost_usd.len));
    SET(iv_num_turns, number_or_nil(&f->num_turns));
    SET(iv_duration_ms, number_or_nil(&f->duration_ms));
    SET(iv_duration_api_ms, number_or_nil(&f->duration_api_ms));
    if (f->is_error.kind == ASDK_TRUE || f->is_error.kind == ASDK_FALSE)
        rb_ivar_set(m, iv_is_error, f->is_error.kind == ASDK_TRUE ? Qtrue : Qfalse);
    SET(iv_stop_reason, interned_or_nil(&f->stop_reason));
    SET(iv_parent_tool_use_id, interned_or_nil(&f->parent_tool_use_id));
    rb_ivar_set(m, iv_raw, p->str);
#undef SET
    return m;
}

/* The line as a frozen UTF-8 String: the argument itself when it already is one, else a frozen copy
 * (which shares the argument's bytes when Ruby can). */
static VALUE frozen_utf8(VALUE str)
{
    StringValue(str);
    if (OBJ_FROZEN(str) && ENCODING_GET(str) == rb_utf8_encindex()) return str;
    VALUE s = rb_str_dup(str);
    rb_enc_associate_index(s, rb_utf8_encindex());
    return rb_obj_freeze(s);
}

/* Native.parse_message(line) -> Message */
static VALUE native_parse_message(VALUE mod, VALUE line)
{
    pass p;
    builder_init(&p.b, 0);
    asdk_extractor_init(&p.x);
    p.str = frozen_utf8(line);
    VALUE m = rb_ensure(parse_message_body, (VALUE)&p, free_pass, (VALUE)&p);
    RB_GC_GUARD(p.str);
    return m;
}

static VALUE parse_json_body(VALUE arg)
{
    pass *p = (pass *)arg;
    if (asdk_extract_value(&p->x, RSTRING_PTR(p->str), (size_t)RSTRING_LEN(p->str), &ruby_builder, &p->b, &p->err))
        raise_decode_error(p);
    return p->b.root;
}

/* Native.parse_json(json) -> the whole value: Hashes with interned String keys, Arrays, Strings, Integers,
 * Floats, true, false, nil. */
static VALUE native_parse_json(VALUE mod, VALUE json)
{
    pass p;
    StringValue(json);
    builder_init(&p.b, 1);
    asdk_extractor_init(&p.x);
    p.str = json;
    VALUE v = rb_ensure(parse_json_body, (VALUE)&p, free_pass, (VALUE)&p);
    RB_GC_GUARD(json);
    return v;
}

/* Native.peek_type(line) -> the top-level "type" String, or nil; stops at the key, never raises on content. */
static VALUE native_peek_type(VALUE mod, VALUE line)
{
    StringValue(line);
    char small[64];
    size_t n = asdk_peek_type(RSTRING_PTR(line), (size_t)RSTRING_LEN(line), small, sizeof small);
    if (n == ASDK_PEEK_NONE) return Qnil;
    if (n <= sizeof small) return rb_utf8_str_new(small, (long)n);
    VALUE s = rb_utf8_str_new(NULL, (long)n);
    asdk_peek_type(RSTRING_PTR(line), (size_t)RSTRING_LEN(line), RSTRING_PTR(s), n);
    RB_GC_GUARD(line);
    return s;
}

void asdk_init_message_parser(VALUE mNative)
{
    id_new = rb_intern("new");
#define IV(name) iv_##name = rb_intern("@" #name)
    IV(type); IV(subtype); IV(uuid); IV(session_id); IV(content); IV(tool_calls); IV(tool_name); IV(model);
    IV(usage); IV(total_cost_usd); IV(num_turns); IV(duration_ms); IV(duration_api_ms); IV(is_error);
    IV(stop_reason); IV(parent_tool_use_id); IV(raw);
#undef IV
    sym_unknown = ID2SYM(rb_intern("unknown"));
    sym_id = ID2SYM(rb_intern("id"));
    sym_name = ID2SYM(rb_intern("name"));
    sym_input = ID2SYM(rb_intern("input"));
    sym_line_excerpt = ID2SYM(rb_intern("line_excerpt"));
    for (size_t i = 0; i < KNOWN_TYPES; i++) known_types[i].sym = ID2SYM(rb_intern(known_types[i].name));

    empty_tool_calls = rb_ractor_make_shareable(rb_ary_new());
    rb_gc_register_mark_object(empty_tool_calls);
    rb_gc_register_address(&cMessage);
    rb_gc_register_address(&eJSONDecodeError);
    key_cache_init();

    rb_define_module_function(mNative, "parse_message", native_parse_message, 1);
    rb_define_module_function(mNative, "parse_json", native_parse_json, 1);
    rb_define_module_function(mNative, "peek_type", native_peek_type, 1);
}
