/* asm_common.h — what the provider assemblers (anthropic.h, openai.h) share (plain C99, no Ruby). */
#ifndef ASDK_ASM_COMMON_H
#define ASDK_ASM_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "jwalk.h"
#include "turn.h"

/* Default bound on what one turn may hold: text, thinking, signatures, tool inputs (also while they are
 * still fragments) and a fixed cost per block. A model's output is far smaller (128k tokens ~ 0.5 MB). */
#define ASDK_DEFAULT_MAX_TURN ((size_t)64 << 20)

typedef enum {
    ASDK_ASM_OK = 0,
    ASDK_ASM_BAD_JSON,  /* an event or body is not a valid JSON object (syntax, UTF-8, nesting > 128) (sticky) */
    ASDK_ASM_BAD_INPUT, /* a tool call's input / arguments is not a JSON object (sticky) */
    ASDK_ASM_TOO_BIG,   /* an SSE event over max_event bytes, or the turn over max_turn bytes (sticky) */
    ASDK_ASM_NOMEM,     /* out of memory (sticky) */
    ASDK_ASM_ABORTED    /* the text callback returned 0; the event was applied in full (not sticky) */
} asdk_asm_status;

#define ASDK_ASM_EXCERPT_MAX 120

typedef struct {
    asdk_asm_status status;
    char message[256];                 /* NUL-terminated, for people */
    char excerpt[ASDK_ASM_EXCERPT_MAX]; /* the first bytes of the offending event data / body (may cut UTF-8) */
    size_t excerpt_len;
} asdk_asm_error;

/* Text as it streams: a piece just appended to a text block (valid during the call). Return 0 to make the
 * feed return ASDK_ASM_ABORTED right after this event. */
typedef int (*asdk_text_cb)(void *ud, const char *text, size_t len);

/* ---- for the assemblers' own use --------------------------------------------------------------------- */

/* Where each block index of a response went (index as the server sent it → a position), so that a start
 * or a delta finds its block in O(1) whatever the indexes: a scan of the earlier blocks made a turn of n
 * blocks cost n² (200k blocks took 23 s). Open addressing, at most half full. */
typedef struct {
    int64_t key;
    size_t pos; /* position + 1; 0: empty */
} asdk_asm_index_entry;

typedef struct {
    asdk_asm_index_entry *e;
    size_t cap, n; /* cap: 0 or a power of two */
} asdk_asm_index;

/* What one entry costs a turn at most (the table doubles at half full), for the assemblers' size bound. */
#define ASDK_ASM_INDEX_COST (4 * sizeof(asdk_asm_index_entry))

/* 1 and *pos when key was put, else 0. */
int asdk_asm_index_get(const asdk_asm_index *m, int64_t key, size_t *pos);
/* Records key → pos (key must not be there yet). Returns 0, or -1 when memory runs out. */
int asdk_asm_index_put(asdk_asm_index *m, int64_t key, size_t pos);
/* Empty again (a large table is released rather than cleared). */
void asdk_asm_index_clear(asdk_asm_index *m);
void asdk_asm_index_free(asdk_asm_index *m);

/* Records a sticky error (the first one wins) and returns its status. data: what failed, for the excerpt. */
asdk_asm_status asdk_asm_fail(asdk_asm_error *e, asdk_asm_status st, const char *data, size_t len,
                              const char *message);
/* The status of a failed asdk_jw_run. */
asdk_asm_status asdk_asm_json_fail(asdk_asm_error *e, const asdk_json_error *je, const char *what,
                                   const char *data, size_t len);
/* A JSON integer text that fits int64 → 1 and *out; anything else (fraction, exponent, too big) → 0. */
int asdk_asm_int64(const char *s, size_t n, int64_t *out);
/* A token count as a provider reported it: any JSON number text >= 0 → 1 and *out, rounded up to an integer
 * and saturated at INT64_MAX (an absurd 1e30 or 99999999999999999999 bills as the most there is, never as
 * nothing); a negative number or a non-number → 0 (not a count). */
int asdk_asm_count(const char *s, size_t n, int64_t *out);
/* Sets the turn's stop_reason to s[0, n), cut at a character boundary to fit. */
void asdk_asm_stop_reason(asdk_turn *t, const char *s, size_t n);
/* b = s[0, n). Returns 0 or -1 (memory). */
int asdk_asm_set(asdk_buf *b, const char *s, size_t n);
/* 1 if s[0, n) holds only JSON whitespace. */
int asdk_asm_blank(const char *s, size_t n);
/* 1 if data is the text of an SSE "error" event that is not JSON (first non-blank byte not "{"): it then
 * becomes the turn's error, type "api_error", message the text (at most 4 KiB, cut at a character boundary;
 * "(not UTF-8)" if it is not UTF-8), and *st the status (ASDK_ASM_NOMEM at worst). */
int asdk_asm_text_error(asdk_turn *t, const char *type, size_t tlen, const char *data, size_t dlen,
                        asdk_asm_status *st);

#endif
