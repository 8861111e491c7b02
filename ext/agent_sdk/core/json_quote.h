/* json_quote.h — a UTF-8 string as a JSON string literal (plain C99, no Ruby). The one escaper of the core:
 * request bodies, stream-json lines, canonical JSON and captured values all write strings through it. */
#ifndef ASDK_JSON_QUOTE_H
#define ASDK_JSON_QUOTE_H

#include "asdk_buf.h"

/* Appends "s" to b, escaping '"', '\\' and control characters (short escapes where JSON has them, else \u00XX).
 * The bytes are not validated: pass UTF-8. Returns 0, or -1 when memory runs out. */
int asdk_json_quote(asdk_buf *b, const char *s, size_t n);

#endif
