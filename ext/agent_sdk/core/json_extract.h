/* json_extract.h — one yajl pass over a stream-json line (plain C99, no Ruby).
 *
 * asdk_extract_message() reads the scalar fields a Message exposes into a C struct and reports the few
 * subtrees it needs whole (usage objects, tool inputs) to a builder: a table of value callbacks that the
 * caller implements (the Ruby binding builds Ruby values; the fuzzer counts). Everything else in the line
 * is tokenised by yajl and ignored. asdk_extract_value() reports a whole document to the builder.
 *
 * Both reject, with an error status and message: malformed JSON, invalid UTF-8 (checked strictly over the
 * whole text, and by yajl), nesting deeper than ASDK_JSON_MAX_DEPTH; asdk_extract_message also a top level
 * that is not an object. Escapes are decoded by yajl: an unpaired high surrogate escape becomes "?", and
 * an unpaired low one (which yajl would turn into bytes that are not UTF-8) becomes U+FFFD per byte, so
 * every string handed out is well-formed UTF-8.
 *
 * A builder callback may also leave by longjmp (a Ruby exception): the extractor is then mid-pass, and
 * asdk_extractor_free() still releases everything, so call it from an ensure. */
#ifndef ASDK_JSON_EXTRACT_H
#define ASDK_JSON_EXTRACT_H

#include <stddef.h>
#include <yajl/yajl_parse.h>

#include "asdk_buf.h"

#define ASDK_JSON_MAX_DEPTH 128

/* Events of one captured value. begin/end bracket it; captures are numbered from 0 in the order they
 * begin. Strings and keys are UTF-8 and valid only during the call. Return 0 to abort the pass. */
typedef struct {
    int (*begin)(void *ud);
    int (*end)(void *ud);
    int (*null_value)(void *ud);
    int (*boolean)(void *ud, int value);
    int (*number)(void *ud, const char *text, size_t len); /* as written: "-12", "1.5e3", big integers */
    int (*string)(void *ud, const char *s, size_t len);
    int (*map_start)(void *ud);
    int (*map_key)(void *ud, const char *s, size_t len);
    int (*map_end)(void *ud);
    int (*array_start)(void *ud);
    int (*array_end)(void *ud);
} asdk_builder;

typedef enum {
    ASDK_JSON_OK = 0,
    ASDK_JSON_SYNTAX,
    ASDK_JSON_UTF8,
    ASDK_JSON_DEPTH,
    ASDK_JSON_NOT_OBJECT,
    ASDK_JSON_NOMEM,
    ASDK_JSON_ABORTED /* a builder callback returned 0 */
} asdk_json_status;

typedef struct {
    asdk_json_status status;
    char message[160];
} asdk_json_error;

typedef enum { ASDK_ABSENT = 0, ASDK_NULL, ASDK_FALSE, ASDK_TRUE, ASDK_NUMBER, ASDK_STRING } asdk_kind;

/* A scalar field. NUMBER holds the number's text, STRING its decoded UTF-8 bytes; ptr is valid until
 * the extractor is freed or reused. A field is taken from its first occurrence (duplicate keys). */
typedef struct {
    asdk_kind kind;
    const char *ptr;
    size_t len;
    size_t off; /* private: offset of the bytes while the pass runs */
} asdk_value;

typedef struct {
    asdk_value id, name;
    int input; /* capture number of the "input" value, or -1 */
} asdk_tool_call;

/* What a Message needs, resolved as described in lib/ruby_llm/agent_sdk/message.rb and DESIGN.md. */
typedef struct {
    asdk_value type, subtype, uuid, session_id, parent_tool_use_id;
    asdk_value model;       /* top-level "model", else message.model */
    asdk_value stop_reason; /* top-level, else message.stop_reason */
    asdk_value total_cost_usd, num_turns, duration_ms, duration_api_ms;
    asdk_value is_error;    /* top-level; else TRUE for a "user" line with a tool_result flagged is_error */
    asdk_value content;     /* top-level "content" string, "result" string, message.content text, or the
                               text of a stream_event text_delta; see asdk_extract_message */
    asdk_value tool_name;   /* name of the first tool call, else top-level "tool_name" */
    int usage;              /* capture number of the top-level "usage" object, else of message.usage, or -1 */
    const asdk_tool_call *tool_calls; /* the "tool_use" blocks of message.content, in order */
    size_t ntool_calls;
} asdk_msg_fields;

/* Slots and contexts of the pass; private. */
enum { ASDK_X_FIELDS = 20, ASDK_X_FRAMES = 8, ASDK_X_POOL = 6144 };

typedef struct {
    unsigned char type;               /* block type, from its first "type" key */
    unsigned char has_text, text_direct, has_content;
    signed char is_error;             /* -1 unset */
    size_t mark_len, mark_pieces;     /* the text join at block start: rolled back if the block does not count */
    size_t scratch_mark, text_off, text_len;
    asdk_value id, name;
    int input;
} asdk_x_block;

/* Holds the yajl handle and the buffers of one pass. Initialise with asdk_extractor_init, release with
 * asdk_extractor_free (also after a longjmp out of a builder callback). Private fields below. */
typedef struct {
    yajl_handle yajl;
    yajl_callbacks cbs;       /* yajl reads this table at every token: see quiet() in json_extract.c */
    const asdk_builder *b;
    void *ud;
    asdk_json_error *err;
    int depth;                /* current nesting depth */
    int skip;                 /* > 0: inside an ignored container, at this relative depth */
    int capture;              /* > 0: inside a captured container, at this relative depth */
    int captures;             /* captures begun */
    unsigned char slot;       /* what the next value is */
    unsigned char has_mcontent, tool_error;
    int nframes;
    unsigned char frames[ASDK_X_FRAMES];
    asdk_x_block blocks[2];   /* message.content[i] and message.content[i].content[j] */
    asdk_value raw[ASDK_X_FIELDS];  /* scalar fields by slot */
    int usage_top, usage_message;
    asdk_buf arena;           /* bytes of scalar fields */
    asdk_buf join;            /* message.content text, pieces joined with "\n" */
    size_t pieces;
    asdk_buf scratch;         /* block texts seen before their block's type */
    asdk_buf calls;           /* asdk_tool_call[] */
    asdk_buf fix;             /* a kept string with ill-formed UTF-8 replaced */
    size_t pool_used;         /* yajl's small allocations come from pool, the rest from malloc */
    union {
        char bytes[ASDK_X_POOL];
        long double align_;
        void *align_p_;
    } pool;
} asdk_extractor;

void asdk_extractor_init(asdk_extractor *x);
void asdk_extractor_free(asdk_extractor *x);

/* One pass over json[0, len). Returns 0 with *out filled (pointers valid until the extractor is freed or
 * reused), or -1 with *err set.
 * content: (a) top-level "content" if a string, else (b) top-level "result" if a string, else (c)
 * message.content: a string as is, or of its blocks the "text" of "text" blocks and, of "tool_result"
 * blocks, "content" if a string or the "text" of its "text" blocks — all joined with "\n" (absent if none),
 * else (d) for a "stream_event" line, event.delta.text when event.delta.type is "text_delta". */
int asdk_extract_message(asdk_extractor *x, const char *json, size_t len, const asdk_builder *b, void *ud,
                         asdk_msg_fields *out, asdk_json_error *err);

/* Reports the whole document (any JSON value) to the builder as capture 0. Returns 0 or -1 with *err set. */
int asdk_extract_value(asdk_extractor *x, const char *json, size_t len, const asdk_builder *b, void *ud,
                       asdk_json_error *err);

#define ASDK_PEEK_NONE ((size_t)-1)

/* The top-level "type" of json[0, len) if it is a string: copies min(length, cap) bytes to out and returns
 * the full length (call again with a larger buffer if it exceeds cap). Stops parsing as soon as it is
 * found. Returns ASDK_PEEK_NONE if there is none, the top level is not an object, or the text is malformed
 * before the key is reached. */
size_t asdk_peek_type(const char *json, size_t len, char *out, size_t cap);

#endif
