/* line_reader_class.c — RubyLLM::AgentSDK::Native::LineReader, binding of core/ndjson.c. */
#include "agent_sdk_ext.h"
#include "ndjson.h"

#define DEFAULT_MAX_LINE_BYTES (32L * 1024 * 1024)

static VALUE sym_line, sym_too_long, sym_bytes, sym_excerpt;

static void reader_free(void *p)
{
    asdk_lr_free(p);
    xfree(p);
}

static size_t reader_memsize(const void *p)
{
    return sizeof(asdk_line_reader) + ((const asdk_line_reader *)p)->buf.cap;
}

/* Holds no Ruby objects, so it needs no mark function and is trivially write-barrier protected. */
static const rb_data_type_t reader_type = {
    "RubyLLM::AgentSDK::Native::LineReader",
    { NULL, reader_free, reader_memsize, NULL, { NULL } },
    NULL, NULL, RUBY_TYPED_FREE_IMMEDIATELY | RUBY_TYPED_WB_PROTECTED,
};

static asdk_line_reader *get_reader(VALUE self)
{
    return rb_check_typeddata(self, &reader_type);
}

static VALUE reader_alloc(VALUE klass)
{
    asdk_line_reader *lr;
    VALUE obj = TypedData_Make_Struct(klass, asdk_line_reader, &reader_type, lr);
    asdk_lr_init(lr, DEFAULT_MAX_LINE_BYTES);
    return obj;
}

/* LineReader.new(max_line_bytes = 32 MiB) */
static VALUE reader_initialize(int argc, VALUE *argv, VALUE self)
{
    VALUE max;
    rb_scan_args(argc, argv, "01", &max);
    long n = DEFAULT_MAX_LINE_BYTES;
    if (argc == 1 && (!FIXNUM_P(max) || (n = FIX2LONG(max)) < 1))
        rb_raise(rb_eArgError, "max_line_bytes must be an Integer from 1 to %ld, got %+" PRIsVALUE, FIXNUM_MAX, max);
    asdk_line_reader *lr = get_reader(self);
    asdk_lr_free(lr);
    asdk_lr_init(lr, (size_t)n);
    return self;
}

/* Yields every event `step` produces. Each event is taken off the reader before the block runs, so a block
 * that raises or breaks leaves the rest of the input buffered for the next #feed or #finish, in order. */
static void drain(asdk_line_reader *lr, int (*step)(asdk_line_reader *, asdk_lr_event *))
{
    asdk_lr_event ev;
    int r;
    while ((r = step(lr, &ev)) > 0) {
        if (ev.kind == ASDK_LR_LINE) {
            rb_yield_values(2, sym_line, rb_obj_freeze(rb_utf8_str_new(ev.ptr, (long)ev.len)));
        } else {
            VALUE info = rb_hash_new();
            rb_hash_aset(info, sym_bytes, SIZET2NUM(ev.bytes));
            rb_hash_aset(info, sym_excerpt, asdk_scrubbed_utf8(ev.ptr, (long)ev.len));
            rb_yield_values(2, sym_too_long, info);
        }
    }
    if (r < 0) rb_memerror();
}

/* feed(chunk) { |kind, payload| } -> nil */
static VALUE reader_feed(VALUE self, VALUE chunk)
{
    asdk_line_reader *lr = get_reader(self);
    StringValue(chunk);
    rb_need_block();
    if (asdk_lr_feed(lr, RSTRING_PTR(chunk), (size_t)RSTRING_LEN(chunk))) rb_memerror();
    drain(lr, asdk_lr_next);
    return Qnil;
}

/* finish { |kind, payload| } -> nil */
static VALUE reader_finish(VALUE self)
{
    asdk_line_reader *lr = get_reader(self);
    rb_need_block();
    drain(lr, asdk_lr_finish);
    return Qnil;
}

static VALUE reader_skipped_lines(VALUE self) { return ULL2NUM(get_reader(self)->skipped); }
static VALUE reader_dropped_lines(VALUE self) { return ULL2NUM(get_reader(self)->dropped); }
static VALUE reader_truncated_lines(VALUE self) { return ULL2NUM(get_reader(self)->truncated); }
static VALUE reader_bytes_read(VALUE self) { return ULL2NUM(get_reader(self)->bytes_read); }
static VALUE reader_max_line_bytes(VALUE self) { return SIZET2NUM(get_reader(self)->max_line); }

void asdk_init_line_reader(VALUE mNative)
{
    sym_line = ID2SYM(rb_intern("line"));
    sym_too_long = ID2SYM(rb_intern("too_long"));
    sym_bytes = ID2SYM(rb_intern("bytes"));
    sym_excerpt = ID2SYM(rb_intern("excerpt"));

    VALUE c = rb_define_class_under(mNative, "LineReader", rb_cObject);
    rb_define_alloc_func(c, reader_alloc);
    rb_define_method(c, "initialize", reader_initialize, -1);
    rb_define_method(c, "feed", reader_feed, 1);
    rb_define_method(c, "finish", reader_finish, 0);
    rb_define_method(c, "skipped_lines", reader_skipped_lines, 0);
    rb_define_method(c, "dropped_lines", reader_dropped_lines, 0);
    rb_define_method(c, "truncated_lines", reader_truncated_lines, 0);
    rb_define_method(c, "bytes_read", reader_bytes_read, 0);
    rb_define_method(c, "max_line_bytes", reader_max_line_bytes, 0);
}
