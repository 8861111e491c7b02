/* emitted_lines.c — see emitted_lines.h. */
#include "emitted_lines.h"

#include <stdlib.h>
#include <string.h>

void asdk_lines_each(asdk_lines *l, void (*fn)(VALUE line, void *arg), void *arg)
{
    asdk_buf taken = l->buf;
    int nomem = l->nomem;
    l->buf = (asdk_buf){ 0 };
    l->nomem = 0;
    if (!taken.len && !nomem) return;
    VALUE all = rb_utf8_str_new(taken.ptr ? taken.ptr : "", (long)taken.len);
    asdk_buf_free(&taken);
    if (nomem) rb_raise(rb_eNoMemError, "agent loop: out of memory for emitted lines");
    const char *p = RSTRING_PTR(all), *end = p + RSTRING_LEN(all);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        VALUE line = rb_obj_freeze(rb_utf8_str_new(p, nl - p));
        p = nl + 1;
        fn(line, arg);
    }
    RB_GC_GUARD(all);
}
