/* tools.h — the tools of a run, checked before any of them runs (plain C99, no Ruby).
 *
 * - asdk_tools: a registry of tool names with compiled input schemas (schema.h). Immutable once filled, so one
 *   registry may serve many runs and threads.
 * - asdk_tools_check: a call is OK, UNKNOWN (the message lists the available tools) or INVALID (the message
 *   names every problem of the input).
 * - asdk_json_canonical / asdk_tool_fingerprint: the canonical text of a JSON value (json_tree.h: keys sorted,
 *   no whitespace, strings re-escaped minimally, numbers as written, a repeated key's last value) and the
 *   SHA-256 of tool name + NUL + canonical input, so the same call is recognised whatever the key order.
 * - asdk_seen: the per-run set of fingerprints already called (bounded: ASDK_SEEN_DEFAULT_LIMIT entries).
 * - asdk_tools_admit: all of the above for one call of the loop.
 * - asdk_cap_result: a tool result cut to a byte limit at a UTF-8 boundary, with a note saying so.
 *
 * Messages are UTF-8, one line, meant for the model. */
#ifndef ASDK_TOOLS_H
#define ASDK_TOOLS_H

#include <stddef.h>

#include "asdk_buf.h"
#include "json_tree.h"
#include "schema.h"

#define ASDK_TOOLS_MAX 1024          /* tools in one registry */
#define ASDK_TOOL_NAME_MAX 256       /* bytes of a tool name */
#define ASDK_FINGERPRINT_LEN 32      /* SHA-256 */
#define ASDK_SEEN_DEFAULT_LIMIT 16384 /* at most 32768 slots of 33 bytes: ~1 MiB */

typedef enum {
    ASDK_TOOL_NOMEM = -1,
    ASDK_TOOL_OK = 0,
    ASDK_TOOL_UNKNOWN,
    ASDK_TOOL_INVALID,
    ASDK_TOOL_DUPLICATE
} asdk_tool_status;

typedef struct asdk_tools asdk_tools;

asdk_tools *asdk_tools_new(void); /* NULL when out of memory */
void asdk_tools_free(asdk_tools *t);

/* Adds a tool: name (1..ASDK_TOOL_NAME_MAX bytes of UTF-8 without control characters, not yet registered) and
 * its input schema text. Returns 0, or -1 with a one-line reason in err, e.g. "input schema of lookup_order:
 * properties.n.minimum: must be a number". */
int asdk_tools_add(asdk_tools *t, const char *name, size_t nlen, const char *schema, size_t slen, char *err,
                   size_t errcap);

size_t asdk_tools_count(const asdk_tools *t);
const char *asdk_tools_name(const asdk_tools *t, size_t i, size_t *len); /* i < count, in the order added */
const asdk_schema *asdk_tools_schema(const asdk_tools *t, const char *name, size_t nlen); /* NULL: unknown */
size_t asdk_tools_memsize(const asdk_tools *t);

/* Checks one call. OK: nothing is written. UNKNOWN: msg gets 'Unknown tool "x". Available tools: a, b'.
 * INVALID: msg gets 'Invalid input for tool "a": <problems>' (also for unparsable input, and for an object
 * that repeats a key: refused whatever the json gem would do with it). NOMEM: msg is unspecified. */
asdk_tool_status asdk_tools_check(const asdk_tools *t, const char *name, size_t nlen, const char *input,
                                  size_t ilen, asdk_buf *msg);

/* Appends the canonical text of json[0, len) to out. Returns ASDK_JT_OK, or an error status with a reason in
 * err (errcap > 0). */
asdk_jt_status asdk_json_canonical(const char *json, size_t len, asdk_buf *out, char *err, size_t errcap);

/* SHA-256 of name, a NUL byte and the canonical input. Returns ASDK_JT_OK, or an error status with a reason
 * in err (NOMEM also when OpenSSL fails). */
asdk_jt_status asdk_tool_fingerprint(const char *name, size_t nlen, const char *input, size_t ilen,
                                     unsigned char out[ASDK_FINGERPRINT_LEN], char *err, size_t errcap);

/* Lower-case hex of a fingerprint, NUL-terminated. */
void asdk_fingerprint_hex(const unsigned char fp[ASDK_FINGERPRINT_LEN], char hex[2 * ASDK_FINGERPRINT_LEN + 1]);

/* The fingerprints of the calls of one run. */
typedef struct {
    unsigned char (*keys)[ASDK_FINGERPRINT_LEN];
    unsigned char *state; /* 0 empty, 1 used, 2 removed */
    size_t cap, count, removed, limit;
} asdk_seen;

void asdk_seen_init(asdk_seen *s, size_t limit); /* limit 0: ASDK_SEEN_DEFAULT_LIMIT */
void asdk_seen_free(asdk_seen *s);
/* 1 if fp was there already; 0 if it was added — or not added because the set holds `limit` entries (a run
 * that long is not protected from repeats any more); -1 when out of memory (nothing changed). */
int asdk_seen_add(asdk_seen *s, const unsigned char fp[ASDK_FINGERPRINT_LEN]);
/* Forgets fp (a call that was refused before it ran). 1 if it was there, else 0. */
int asdk_seen_remove(asdk_seen *s, const unsigned char fp[ASDK_FINGERPRINT_LEN]);
size_t asdk_seen_memsize(const asdk_seen *s);

/* One call as the loop takes it: asdk_tools_check, then (seen given) the fingerprint — written to fp when fp is
 * not NULL — and asdk_seen_add: DUPLICATE with msg '<name> was already called with these arguments in this
 * run; use the earlier result' when it was seen before. The input is parsed once for all of it. */
asdk_tool_status asdk_tools_admit(const asdk_tools *t, asdk_seen *seen, const char *name, size_t nlen,
                                  const char *input, size_t ilen, asdk_buf *msg,
                                  unsigned char fp[ASDK_FINGERPRINT_LEN]);

/* The length of the longest prefix of text[0, len) that is at most cap bytes and does not end inside a UTF-8
 * sequence (len itself when len <= cap). */
size_t asdk_cap_cut(const char *text, size_t len, size_t cap);

/* Appends text to out, cut with asdk_cap_cut when longer than cap bytes and then followed by
 * "\n[truncated: showed <shown> of <len> bytes]". Returns 0, or -1 when out of memory. */
int asdk_cap_result(const char *text, size_t len, size_t cap, asdk_buf *out);

#endif
