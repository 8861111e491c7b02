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
 * and marks it busy (so #close, #post and other runs refuse) until the lease is released — by #run's ensure, or by
 * the runner's free function when #run never finished (a dropped external Enumerator): the lease is plain C, so
 * the two objects may be freed in either order in one GC, and the client lives until both let go. */
struct asdk_http;
typedef struct asdk_http_lease asdk_http_lease;
struct asdk_http *asdk_http_obj_acquire(VALUE http, asdk_http_lease **lease);
void asdk_http_lease_release(asdk_http_lease *lease); /* no Ruby: callable from a free function */

/* A UTF-8 String of p[0, n) with invalid bytes replaced (for excerpts of rejected input). */
VALUE asdk_scrubbed_utf8(const char *p, long n);

#endif
