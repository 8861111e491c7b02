/* rbinit.c — entry point of the extension: defines RubyLLM::AgentSDK::Native and its parts. */
#include "agent_sdk_ext.h"

VALUE asdk_scrubbed_utf8(const char *p, long n)
{
    VALUE s = rb_utf8_str_new(p, n);
    if (rb_enc_str_coderange(s) != ENC_CODERANGE_BROKEN) return s;
    /* Not rb_str_scrub: it would call the block of the method we are in (String#scrub's block form). */
    return rb_funcall(s, rb_intern("scrub"), 0);
}

RUBY_FUNC_EXPORTED void Init_agent_sdk(void)
{
    /* No global mutable state is shared between calls: caches are filled here and only read afterwards. */
    rb_ext_ractor_safe(true);

    VALUE mAgentSDK = rb_define_module_under(rb_define_module("RubyLLM"), "AgentSDK");
    VALUE mNative = rb_define_module_under(mAgentSDK, "Native");
    asdk_init_line_reader(mNative);
    asdk_init_message_parser(mNative);
    asdk_init_agent_loop(mNative);
    asdk_init_runner(mNative);
    asdk_init_http(mNative);
    asdk_init_sse_parser(mNative);
    asdk_init_stream_assembler(mNative);
    asdk_init_tool_registry(mNative);
}
