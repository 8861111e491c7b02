/* agent_sdk_ext.h — shared declarations of the Ruby binding files (the only files that include ruby.h). */
#ifndef AGENT_SDK_EXT_H
#define AGENT_SDK_EXT_H

#include <ruby.h>
#include <ruby/encoding.h>

void asdk_init_line_reader(VALUE mNative);
void asdk_init_message_parser(VALUE mNative);
void asdk_init_agent_loop(VALUE mNative);
void asdk_init_runner(VALUE mNative);
void asdk_init_http(VALUE mNative);
void asdk_init_sse_parser(VALUE mNative);
void asdk_init_stream_assembler(VALUE mNative);
void asdk_init_tool_registry(VALUE mNative);

/* Native::HTTP's client for a Native::Runner#run: acquire raises unless it is open, idle and from this process,
 * and marks it busy (so #close, #post and other runs refuse) until release. */
struct asdk_http;
struct asdk_http *asdk_http_obj_acquire(VALUE http);
void asdk_http_obj_release(VALUE http);

/* A UTF-8 String of p[0, n) with invalid bytes replaced (for excerpts of rejected input). */
VALUE asdk_scrubbed_utf8(const char *p, long n);

#endif
