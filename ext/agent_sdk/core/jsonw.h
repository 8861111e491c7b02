/* jsonw.h — a minimal JSON writer into an asdk_buf (plain C99, no Ruby).
 *
 * For building request bodies and stream-json lines where parts are already JSON text (tool inputs, tool
 * definitions) and must be spliced in as they are, which yajl_gen cannot do. Strings must be UTF-8: they are
 * escaped (", \, control characters), not validated. Every function returns 0, or -1 when memory runs out;
 * errors are sticky in `w->failed`, so a sequence of calls can be checked once at the end. */
#ifndef ASDK_JSONW_H
#define ASDK_JSONW_H

#include <inttypes.h>
#include <stdio.h>

#include "asdk_buf.h"
#include "json_quote.h"

typedef struct {
    asdk_buf *out;
    int failed;
} asdk_jw;

static inline int asdk_jw_raw(asdk_jw *w, const char *p, size_t n)
{
    if (!w->failed && asdk_buf_append(w->out, p, n)) w->failed = 1;
    return w->failed ? -1 : 0;
}

static inline int asdk_jw_lit(asdk_jw *w, const char *s)
{
    return asdk_jw_raw(w, s, strlen(s));
}

static inline int asdk_jw_str(asdk_jw *w, const char *p, size_t n)
{
    if (!w->failed && asdk_json_quote(w->out, p, n)) w->failed = 1;
    return w->failed ? -1 : 0;
}

static inline int asdk_jw_cstr(asdk_jw *w, const char *s)
{
    return s ? asdk_jw_str(w, s, strlen(s)) : asdk_jw_lit(w, "null");
}

static inline int asdk_jw_buf(asdk_jw *w, const asdk_buf *b)
{
    return asdk_jw_str(w, b->ptr ? b->ptr : "", b->len);
}

/* "key": */
static inline int asdk_jw_key(asdk_jw *w, const char *key)
{
    asdk_jw_cstr(w, key);
    return asdk_jw_raw(w, ":", 1);
}

static inline int asdk_jw_int(asdk_jw *w, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    return asdk_jw_raw(w, tmp, (size_t)n);
}

/* micro-dollars as a decimal number of dollars, exactly: 1234567 → 1.234567 */
static inline int asdk_jw_micros_as_usd(asdk_jw *w, int64_t micros)
{
    char tmp[40];
    int n = snprintf(tmp, sizeof tmp, "%s%" PRId64 ".%06" PRId64, micros < 0 ? "-" : "",
                     (micros < 0 ? -micros : micros) / 1000000, (micros < 0 ? -micros : micros) % 1000000);
    return asdk_jw_raw(w, tmp, (size_t)n);
}

#endif
