/* turn.h — one assembled model response (plain C99, no Ruby).
 *
 * The provider assemblers (Anthropic Messages SSE, OpenAI-compatible chat-completions chunks) fill an asdk_turn
 * from a streamed or a non-streamed response; the agent loop reads it to bill usage, emit the assistant message,
 * and dispatch tool calls. Every byte string is UTF-8 and owned by the turn (asdk_turn_free releases it). */
#ifndef ASDK_TURN_H
#define ASDK_TURN_H

#include <stdint.h>

#include "asdk_buf.h"

/* Which API shape a request and its response follow. */
typedef enum { ASDK_PROVIDER_ANTHROPIC = 1, ASDK_PROVIDER_OPENAI = 2 } asdk_provider;

typedef enum {
    ASDK_BLOCK_TEXT = 1,
    ASDK_BLOCK_TOOL_USE,
    ASDK_BLOCK_THINKING,
    ASDK_BLOCK_REDACTED_THINKING
} asdk_block_type;

typedef struct {
    asdk_block_type type;
    asdk_buf text;      /* TEXT: the text; THINKING: the thinking; REDACTED_THINKING: the data;
                           TOOL_USE: the input as one complete, valid JSON object text ("{}" when the model sent none) */
    asdk_buf id, name;  /* TOOL_USE */
    asdk_buf signature; /* THINKING */
} asdk_block;

/* Token counts as the provider reported them (Anthropic's message_delta usage is cumulative: the last value wins). */
typedef struct {
    int64_t input_tokens;
    int64_t output_tokens;
    int64_t cache_creation_input_tokens; /* total written to the cache (5m + 1h) */
    int64_t cache_creation_1h_input_tokens; /* the part of it written with the 1-hour TTL */
    int64_t cache_read_input_tokens;
} asdk_usage;

typedef struct {
    asdk_buf id;        /* message id ("msg_…", "chatcmpl-…") */
    asdk_buf model;
    asdk_block *blocks; /* in order */
    size_t nblocks, blocks_cap;
    asdk_usage usage;
    int has_usage;      /* the response reported at least one usage count (the loop charges a bound when not) */
    char stop_reason[40]; /* Anthropic names: end_turn, tool_use, max_tokens, stop_sequence, pause_turn, refusal,
                             model_context_window_exceeded; OpenAI finish_reason mapped: stop→end_turn,
                             tool_calls→tool_use, length→max_tokens, content_filter→refusal. "" when none came. */
    int complete;       /* message_stop / [DONE] / a whole non-streamed body was seen */
    int began;          /* any content arrived (a retry after this must not re-yield anything) */
    /* An error reported inside a 200 response (Anthropic "error" event, OpenAI {"error":…} chunk). */
    asdk_buf error_type, error_message;
} asdk_turn;

void asdk_turn_init(asdk_turn *t);
void asdk_turn_free(asdk_turn *t); /* also leaves *t ready for asdk_turn_init-free reuse */
void asdk_turn_reset(asdk_turn *t); /* empty again, keeping allocations where cheap */
/* Frees a block's buffers (the block itself belongs to its array). */
void asdk_block_free(asdk_block *b);
/* Appends a zeroed block of the given type; NULL when memory runs out. */
asdk_block *asdk_turn_add_block(asdk_turn *t, asdk_block_type type);

#endif
