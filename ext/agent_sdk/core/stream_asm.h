/* stream_asm.h — a response body in, an asdk_turn out: the SSE framer and a provider assembler together
 * (plain C99, no Ruby). What the agent loop feeds the HTTP body to.
 *
 *     asdk_turn turn;  asdk_turn_init(&turn);
 *     asdk_stream s;   asdk_stream_init(&s, ASDK_PROVIDER_ANTHROPIC, &turn, 0, 0);   // 0: default limits
 *     asdk_stream_on_text(&s, cb, ud);                                               // optional
 *     for each body chunk:  if (asdk_stream_feed(&s, p, n)) → see asdk_stream_error(&s)->status / message
 *     asdk_stream_finish(&s);
 *     turn.complete / turn.error_type / turn.blocks …
 *     asdk_stream_free(&s);  asdk_turn_free(&turn);
 *
 * Statuses are those of asm_common.h: an SSE event over max_event bytes is ASDK_ASM_TOO_BIG. Errors are
 * sticky; ASDK_ASM_ABORTED (the text callback returned 0) is not: the unread bytes of the chunk are kept
 * and the next feed / finish goes on with them. For a retry, asdk_turn_reset the turn and asdk_stream_reset. */
#ifndef ASDK_STREAM_ASM_H
#define ASDK_STREAM_ASM_H

#include "anthropic.h"
#include "openai.h"
#include "sse.h"

typedef struct {
    asdk_provider provider;
    asdk_sse sse;
    union {
        asdk_anthropic anthropic;
        asdk_openai openai;
    } u;
} asdk_stream;

/* max_event: largest SSE event (0: ASDK_SSE_DEFAULT_MAX_EVENT, 32 MiB); max_turn: bound on the turn
 * (0: ASDK_DEFAULT_MAX_TURN, 64 MiB). turn is filled, not owned. */
void asdk_stream_init(asdk_stream *s, asdk_provider provider, asdk_turn *turn, size_t max_event, size_t max_turn);
void asdk_stream_free(asdk_stream *s);
/* Ready for a new response (a retry) into the same turn, which the caller resets; keeps the text callback. */
void asdk_stream_reset(asdk_stream *s);
/* Text as it streams (NULL: none). */
void asdk_stream_on_text(asdk_stream *s, asdk_text_cb cb, void *ud);

/* Bytes of a text/event-stream body, split anyhow. */
asdk_asm_status asdk_stream_feed(asdk_stream *s, const char *p, size_t n);
/* End of the body (see anthropic.h / openai.h for what an incomplete response leaves). */
asdk_asm_status asdk_stream_finish(asdk_stream *s);
/* A whole non-streamed 2xx body, or (Anthropic or OpenAI shape) an error body. */
asdk_asm_status asdk_stream_parse_body(asdk_stream *s, const char *json, size_t n);

/* The first error (status ASDK_ASM_OK when none). */
const asdk_asm_error *asdk_stream_error(const asdk_stream *s);
/* The SSE framer's last "retry" value in ms, or -1. */
int64_t asdk_stream_retry_ms(const asdk_stream *s);

#endif
