/* anthropic.h — assembles an Anthropic Messages API response into an asdk_turn (plain C99, no Ruby).
 *
 * Streamed: hand it every SSE event of the response (asdk_sse does the framing, or use stream_asm.h which
 * does both), then asdk_anthropic_finish at the end of the body:
 *
 *     asdk_turn turn;  asdk_turn_init(&turn);
 *     asdk_anthropic a;  asdk_anthropic_init(&a, &turn, ASDK_DEFAULT_MAX_TURN);
 *     a.on_text = my_text_cb;  a.ud = me;                      // optional: text as it streams
 *     ... asdk_anthropic_event(&a, type, tlen, data, dlen) for each SSE event ...
 *     asdk_anthropic_finish(&a);
 *     if (turn.complete && !turn.error_type.len) use(&turn);
 *     asdk_anthropic_free(&a);  asdk_turn_free(&turn);
 *
 * Events (REFERENCE.md "Anthropic Messages API"): message_start sets id, model and usage; content_block_start
 * opens block `index` — text, tool_use {id, name}, thinking {thinking, signature}, redacted_thinking {data};
 * any other block type (server_tool_use, web_search_tool_result, …) is skipped with its deltas;
 * content_block_delta appends text_delta.text, thinking_delta.thinking, signature_delta.signature, or
 * input_json_delta.partial_json (kept aside; citations_delta and unknown deltas are ignored);
 * content_block_stop closes the block: a tool_use's fragments are joined and checked once — nothing or
 * only blanks becomes "{}", anything else must be one JSON object (else ASDK_ASM_BAD_INPUT);
 * message_delta sets stop_reason and usage (cumulative: each usage field present as a number >= 0 replaces
 * the value so far — rounded up, and saturated at INT64_MAX when beyond it; null, negative or absent fields
 * keep it; turn->has_usage is set by the first count); message_stop closes any open block and sets complete;
 * an "error" event sets turn->error_type / error_message ("api_error" / "" when missing); ping and unknown
 * events are ignored — events named by their SSE "event:" line as something unknown are not even parsed.
 * The event's JSON "type" decides what it is; the SSE name is used only when the data has no "type".
 * Blocks are addressed by `index` (any JSON integer): a delta or stop for an index never started, a second
 * start of an index, and a delta whose kind does not fit the block are ignored. After message_stop every
 * event is ignored. An event with empty or blank data is ignored; an "error" event whose data is not JSON
 * sets the error fields to "api_error" and its text; other data must be a JSON object (else
 * ASDK_ASM_BAD_JSON).
 *
 * Invariants, whatever the input: turn blocks are in the order they were started; a TOOL_USE block's text
 * is always one valid JSON object text ("{}" until its content_block_stop); every string is UTF-8.
 * Errors are sticky (a->err; later calls return the same status without reading anything) and the turn is
 * then not to be used. ASDK_ASM_ABORTED (the text callback returned 0) is not sticky.
 * turn->began is set by the first content_block_start. */
#ifndef ASDK_ANTHROPIC_H
#define ASDK_ANTHROPIC_H

#include "asm_common.h"

/* The fields of one event/body being read; private. */
enum { ASDK_ANTH_FIELDS = 48 };

typedef struct {
    int64_t index;
    size_t block;          /* position in turn->blocks, or SIZE_MAX for a skipped block type */
    unsigned char open;
    unsigned char from_start; /* json holds the content_block_start's non-empty input (no fragment yet) */
    asdk_buf json;         /* tool_use: the input_json_delta fragments so far */
} asdk_anth_slot;

typedef struct {
    /* public: set after init */
    asdk_text_cb on_text;  /* NULL: none */
    void *ud;
    asdk_asm_error err;    /* status and message of the first error */
    /* private */
    asdk_turn *turn;
    size_t max_turn, turn_bytes;
    asdk_anth_slot *slots;
    size_t nslots, slots_cap;
    asdk_asm_index slot_of; /* block index → position in slots */
    int body;              /* parsing a whole body (blocks come as content[] elements) */
    size_t block_mark;     /* arena length at the start of the current body block */
    struct {
        unsigned char kind; /* asdk_kind, or 0xFF for a captured object */
        size_t off, len;
    } f[ASDK_ANTH_FIELDS];
    asdk_buf arena;
    asdk_asm_status cb_status;
    int no_fast_path;      /* tests: read every event with yajl (see fast_delta in anthropic.c) */
    asdk_jwalk w;
} asdk_anthropic;

/* turn: filled by the assembler (not owned). max_turn: bound on the turn's size (ASDK_DEFAULT_MAX_TURN). */
void asdk_anthropic_init(asdk_anthropic *a, asdk_turn *turn, size_t max_turn);
void asdk_anthropic_free(asdk_anthropic *a);
/* Ready for a new response into the same turn (which the caller resets), keeping on_text/ud. */
void asdk_anthropic_reset(asdk_anthropic *a);

/* One SSE event: type[0, tlen) is its "event:" name ("message" when it had none), data[0, dlen) its data. */
asdk_asm_status asdk_anthropic_event(asdk_anthropic *a, const char *type, size_t tlen, const char *data,
                                     size_t dlen);
/* End of the streamed body. Blocks never stopped stay as they are (tool inputs "{}"); complete stays 0
 * unless message_stop came. Returns the sticky status. */
asdk_asm_status asdk_anthropic_finish(asdk_anthropic *a);

/* A whole non-streamed response body: {"id","type":"message","model","content":[blocks],"stop_reason",
 * "usage"} → the turn, complete. tool_use inputs are re-serialised as compact JSON (and must be objects).
 * An error body (see below) fills the error fields instead. */
asdk_asm_status asdk_anthropic_parse_body(asdk_anthropic *a, const char *json, size_t len);

/* An error response body {"type":"error","error":{"type","message"},"request_id"} → turn->error_type and
 * error_message. ASDK_ASM_BAD_JSON when it is not JSON or has no "error" object. */
asdk_asm_status asdk_anthropic_parse_error(asdk_anthropic *a, const char *json, size_t len);

#endif
