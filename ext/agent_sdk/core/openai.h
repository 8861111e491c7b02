/* openai.h — assembles an OpenAI-compatible chat-completions response (OpenAI, Ollama, llama.cpp server,
 * vLLM, DeepSeek, …) into an asdk_turn shaped like an Anthropic message (plain C99, no Ruby).
 *
 * Use it like anthropic.h: asdk_openai_event for each SSE event (or stream_asm.h), asdk_openai_finish at the
 * end of the body; asdk_openai_parse_body for a non-streamed response.
 *
 * Chunks (data of events named "message" — i.e. with no "event:" line — or "error"; others are ignored):
 *  - "[DONE]" ends the response: each tool call's arguments are checked ("" or blanks → "{}", else one JSON
 *    object, else ASDK_ASM_BAD_INPUT) and the turn is complete. Without [DONE] it stays incomplete.
 *  - choices[0] only (we never ask for n > 1): delta.content appends to one text block (made at the first
 *    non-empty piece); delta.tool_calls[] are merged by their "index" (the position in the array when
 *    absent): a non-empty id or function.name replaces the one so far, function.arguments strings are
 *    concatenated, and arguments sent as an object (some servers) are serialised and replace them. Each
 *    call becomes a TOOL_USE block, in order of first appearance; its text is "{}" until [DONE].
 *  - finish_reason: stop → end_turn, tool_calls / function_call → tool_use, length → max_tokens,
 *    content_filter → refusal, anything else as sent. "stop" with tool calls (older Ollama) → tool_use.
 *  - usage, on any chunk (choices [] or null, or the finish chunk), replaces the usage so far:
 *    input_tokens = prompt_tokens − cached, cache_read_input_tokens = cached (prompt_tokens_details.
 *    cached_tokens, else DeepSeek's prompt_cache_hit_tokens, else 0), output_tokens = completion_tokens;
 *    counts are numbers >= 0, rounded up and saturated at INT64_MAX (see asdk_asm_count); turn->has_usage
 *    is set by the first one.
 *  - {"error": {"message", "type" | "code"}} or {"error": "text"} → turn error_type ("api_error" when none)
 *    and error_message.
 *  - the first chunk's id and model become the turn's.
 * Empty or blank data is ignored; an "error" event whose data is not JSON sets the error fields to
 * "api_error" and its text; other data must be a JSON object (else ASDK_ASM_BAD_JSON). Events after [DONE]
 * are ignored. Errors are sticky, as in anthropic.h; turn->began is set by the first content or tool call. */
#ifndef ASDK_OPENAI_H
#define ASDK_OPENAI_H

#include "asm_common.h"

enum { ASDK_OAI_FIELDS = 40 };

typedef struct {
    int64_t index;
    size_t block;   /* position in turn->blocks */
    asdk_buf args;  /* the arguments so far */
} asdk_oai_call;

typedef struct {
    /* public: set after init */
    asdk_text_cb on_text;
    void *ud;
    asdk_asm_error err;
    /* private */
    asdk_turn *turn;
    size_t max_turn, turn_bytes;
    asdk_oai_call *calls;
    size_t ncalls, calls_cap;
    asdk_asm_index call_of; /* tool call index → position in calls */
    size_t text_block;     /* position of the text block, or SIZE_MAX */
    int body;
    int choice;            /* choices seen in this document (only the first counts) */
    int64_t tc_pos;        /* position in the current tool_calls array */
    size_t tc_mark;
    struct {
        unsigned char kind;
        size_t off, len;
    } f[ASDK_OAI_FIELDS];
    asdk_buf arena;
    asdk_asm_status cb_status;
    asdk_jwalk w;
} asdk_openai;

void asdk_openai_init(asdk_openai *o, asdk_turn *turn, size_t max_turn);
void asdk_openai_free(asdk_openai *o);
void asdk_openai_reset(asdk_openai *o);

asdk_asm_status asdk_openai_event(asdk_openai *o, const char *type, size_t tlen, const char *data, size_t dlen);
asdk_asm_status asdk_openai_finish(asdk_openai *o);
/* A whole chat.completion body (choices[0].message.{content, tool_calls}, finish_reason, usage) → the turn,
 * complete; or an error body {"error": …} → the error fields. */
asdk_asm_status asdk_openai_parse_body(asdk_openai *o, const char *json, size_t len);

#endif
