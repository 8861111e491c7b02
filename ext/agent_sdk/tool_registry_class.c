/* tool_registry_class.c — RubyLLM::AgentSDK::Native::ToolRegistry and Native.cap_result, binding of
 * core/tools.c (with core/schema.c and core/json_tree.c).
 *
 * No Ruby code runs while the core works (it calls no callbacks), so nothing can longjmp across yajl; Ruby
 * arguments are converted before, and Ruby strings are made after, with rb_ensure freeing the C buffer. */
#include "agent_sdk_ext.h"
#include "tools.h"

typedef struct {
    asdk_tools *tools;
    asdk_seen seen; /* per registry = per run */
} registry;

static void registry_free(void *p)
{
    registry *r = p;
    asdk_tools_free(r->tools);
    asdk_seen_free(&r->seen);
    xfree(r);
}

static size_t registry_memsize(const void *p)
{
    const registry *r = p;
    return sizeof *r + (r->tools ? asdk_tools_memsize(r->tools) : 0) + asdk_seen_memsize(&r->seen);
}

/* Holds no Ruby objects: no mark function, trivially write-barrier protected. */
static const rb_data_type_t registry_type = {
    "RubyLLM::AgentSDK::Native::ToolRegistry",
    { NULL, registry_free, registry_memsize, NULL, { NULL } },
    NULL, NULL, RUBY_TYPED_FREE_IMMEDIATELY | RUBY_TYPED_WB_PROTECTED,
};

static registry *get_registry(VALUE self)
{
    registry *r = rb_check_typeddata(self, &registry_type);
    if (!r->tools) rb_raise(rb_eRuntimeError, "ToolRegistry is not initialized");
    return r;
}

static VALUE registry_alloc(VALUE klass)
{
    registry *r;
    VALUE obj = TypedData_Make_Struct(klass, registry, &registry_type, r);
    r->tools = NULL;
    asdk_seen_init(&r->seen, 0);
    return obj;
}

/* ---- Ruby strings from C buffers --------------------------------------------------------------------- */

static VALUE buf_string(VALUE arg)
{
    const asdk_buf *b = (const asdk_buf *)arg;
    return asdk_scrubbed_utf8(b->len ? b->ptr : "", (long)b->len);
}

static VALUE buf_release(VALUE arg)
{
    asdk_buf_free((asdk_buf *)arg);
    return Qnil;
}

/* A UTF-8 String of b's bytes; b is freed whatever happens. */
static VALUE take_string(asdk_buf *b)
{
    return rb_ensure(buf_string, (VALUE)b, buf_release, (VALUE)b);
}

static void raise_status(asdk_jt_status st, const char *err)
{
    if (st == ASDK_JT_NOMEM) rb_memerror();
    rb_raise(rb_eArgError, "%s", err);
}

/* ---- ToolRegistry ------------------------------------------------------------------------------------ */

/* ToolRegistry.new([[name, input_schema_json], ...]) — raises ArgumentError for a bad name, a name given twice
 * or a schema that does not compile (the message says which tool and where). */
static VALUE registry_initialize(VALUE self, VALUE list)
{
    registry *r = rb_check_typeddata(self, &registry_type);
    if (r->tools) rb_raise(rb_eRuntimeError, "ToolRegistry is already initialized");
    Check_Type(list, T_ARRAY);
    asdk_tools *tools = asdk_tools_new();
    if (!tools) rb_memerror();
    r->tools = tools; /* owned by self from here: freed with it even if a conversion below raises */
    for (long i = 0; i < RARRAY_LEN(list); i++) {
        VALUE entry = rb_ary_entry(list, i);
        if (!RB_TYPE_P(entry, T_ARRAY) || RARRAY_LEN(entry) != 2)
            rb_raise(rb_eArgError, "tool %ld: expected [name, input_schema_json], got %+" PRIsVALUE, i, entry);
        VALUE name = rb_ary_entry(entry, 0), schema = rb_ary_entry(entry, 1);
        StringValue(name);
        StringValue(schema);
        char err[400];
        if (asdk_tools_add(tools, RSTRING_PTR(name), (size_t)RSTRING_LEN(name), RSTRING_PTR(schema),
                           (size_t)RSTRING_LEN(schema), err, sizeof err))
            rb_raise(rb_eArgError, "%s", err);
        RB_GC_GUARD(name);
        RB_GC_GUARD(schema);
    }
    return self;
}

/* #check(name, input_json) -> nil, or the message for the model (unknown tool, invalid input) */
static VALUE registry_check(VALUE self, VALUE name, VALUE input)
{
    registry *r = get_registry(self);
    StringValue(name);
    StringValue(input);
    asdk_buf msg = { NULL, 0, 0 };
    asdk_tool_status st = asdk_tools_check(r->tools, RSTRING_PTR(name), (size_t)RSTRING_LEN(name),
                                           RSTRING_PTR(input), (size_t)RSTRING_LEN(input), &msg);
    RB_GC_GUARD(name);
    RB_GC_GUARD(input);
    if (st == ASDK_TOOL_NOMEM) {
        asdk_buf_free(&msg);
        rb_memerror();
    }
    if (st == ASDK_TOOL_OK) {
        asdk_buf_free(&msg);
        return Qnil;
    }
    return take_string(&msg);
}

/* #canonical(json) -> String: keys sorted, no whitespace, strings re-escaped, numbers as written.
 * ArgumentError when json is not valid JSON (or too big or too deep). */
static VALUE registry_canonical(VALUE self, VALUE input)
{
    get_registry(self);
    StringValue(input);
    asdk_buf out = { NULL, 0, 0 };
    char err[160];
    asdk_jt_status st = asdk_json_canonical(RSTRING_PTR(input), (size_t)RSTRING_LEN(input), &out, err, sizeof err);
    RB_GC_GUARD(input);
    if (st != ASDK_JT_OK) {
        asdk_buf_free(&out);
        raise_status(st, err);
    }
    return take_string(&out);
}

static void fingerprint(VALUE name, VALUE input, unsigned char fp[ASDK_FINGERPRINT_LEN])
{
    StringValue(name);
    StringValue(input);
    char err[160];
    asdk_jt_status st = asdk_tool_fingerprint(RSTRING_PTR(name), (size_t)RSTRING_LEN(name), RSTRING_PTR(input),
                                              (size_t)RSTRING_LEN(input), fp, err, sizeof err);
    RB_GC_GUARD(name);
    RB_GC_GUARD(input);
    if (st != ASDK_JT_OK) raise_status(st, err);
}

/* #fingerprint(name, input_json) -> 64 hex digits: SHA-256 of name, NUL, canonical input */
static VALUE registry_fingerprint(VALUE self, VALUE name, VALUE input)
{
    get_registry(self);
    unsigned char fp[ASDK_FINGERPRINT_LEN];
    char hex[2 * ASDK_FINGERPRINT_LEN + 1];
    fingerprint(name, input, fp);
    asdk_fingerprint_hex(fp, hex);
    return rb_usascii_str_new(hex, 2 * ASDK_FINGERPRINT_LEN);
}

/* #seen?(name, input_json) -> true if this registry saw the same call before; records it either way */
static VALUE registry_seen_p(VALUE self, VALUE name, VALUE input)
{
    registry *r = get_registry(self);
    unsigned char fp[ASDK_FINGERPRINT_LEN];
    fingerprint(name, input, fp);
    int seen = asdk_seen_add(&r->seen, fp);
    if (seen < 0) rb_memerror();
    return seen ? Qtrue : Qfalse;
}

/* #forget(name, input_json) -> true if the call was recorded (a call refused before it ran) */
static VALUE registry_forget(VALUE self, VALUE name, VALUE input)
{
    registry *r = get_registry(self);
    unsigned char fp[ASDK_FINGERPRINT_LEN];
    fingerprint(name, input, fp);
    return asdk_seen_remove(&r->seen, fp) ? Qtrue : Qfalse;
}

/* #tool_names -> [String] in the order given */
static VALUE registry_tool_names(VALUE self)
{
    registry *r = get_registry(self);
    size_t n = asdk_tools_count(r->tools);
    VALUE names = rb_ary_new_capa((long)n);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *s = asdk_tools_name(r->tools, i, &len);
        rb_ary_push(names, rb_utf8_str_new(s, (long)len));
    }
    return names;
}

/* Native.cap_result(string, max_bytes) -> a new UTF-8 String: the whole string when it fits, else cut at a UTF-8
 * boundary with "\n[truncated: showed N of M bytes]" after it */
static VALUE native_cap_result(VALUE mod, VALUE str, VALUE max)
{
    StringValue(str);
    size_t cap;
    if (FIXNUM_P(max) && FIX2LONG(max) >= 0) cap = (size_t)FIX2LONG(max);
    else if (RB_TYPE_P(max, T_BIGNUM) && !RTEST(rb_funcall(max, rb_intern("negative?"), 0))) cap = SIZE_MAX;
    else rb_raise(rb_eArgError, "max_bytes must be a non-negative Integer, got %+" PRIsVALUE, max);
    size_t len = (size_t)RSTRING_LEN(str);
    if (len <= cap) return asdk_scrubbed_utf8(RSTRING_PTR(str), (long)len);
    asdk_buf out = { NULL, 0, 0 };
    if (asdk_cap_result(RSTRING_PTR(str), len, cap, &out)) {
        asdk_buf_free(&out);
        rb_memerror();
    }
    RB_GC_GUARD(str);
    return take_string(&out);
}

void asdk_init_tool_registry(VALUE mNative)
{
    VALUE c = rb_define_class_under(mNative, "ToolRegistry", rb_cObject);
    rb_define_alloc_func(c, registry_alloc);
    rb_define_method(c, "initialize", registry_initialize, 1);
    rb_define_method(c, "check", registry_check, 2);
    rb_define_method(c, "canonical", registry_canonical, 1);
    rb_define_method(c, "fingerprint", registry_fingerprint, 2);
    rb_define_method(c, "seen?", registry_seen_p, 2);
    rb_define_method(c, "forget", registry_forget, 2);
    rb_define_method(c, "tool_names", registry_tool_names, 0);
    rb_define_module_function(mNative, "cap_result", native_cap_result, 2);
}
