/* json_extract.c — the one-pass field extractor and full-document walker (plain C99, no Ruby).
 * See json_extract.h.
 *
 * The pass keeps a stack of the few containers it knows (the top object, message, message.content and its
 * blocks, event.delta); any other container is skipped with a counter (and with yajl's string decoding
 * switched off, see quiet()), and a captured one (usage, tool input) is forwarded event by event to the
 * builder. Key order is free: a content block's text is appended to the join tentatively and rolled back at
 * the end of the block if its "type" says it does not count; a text seen before its block's type waits in
 * a scratch buffer. */
#include "json_extract.h"

#include <stdio.h>

#include "utf8.h"

enum frame { F_TOP, F_MESSAGE, F_MCONTENT, F_BLOCK, F_BCONTENT, F_IBLOCK, F_EVENT, F_DELTA };

/* What the next value is. Field slots index x->raw. */
enum slot {
    S_NONE,
    S_TYPE, S_SUBTYPE, S_UUID, S_SESSION_ID, S_STOP_REASON, S_PARENT, S_MODEL, S_COST, S_TURNS, S_DURATION,
    S_DURATION_API, S_IS_ERROR, S_CONTENT, S_RESULT, S_TOOL_NAME, S_M_STOP_REASON, S_M_MODEL, S_D_TYPE, S_D_TEXT,
    S_LAST_FIELD = S_D_TEXT,
    S_USAGE, S_MESSAGE, S_EVENT, S_M_USAGE, S_M_CONTENT, S_E_DELTA,
    S_BLOCK, S_B_TYPE, S_B_TEXT, S_B_ID, S_B_NAME, S_B_INPUT, S_B_CONTENT, S_B_IS_ERROR,
    S_IBLOCK, S_I_TYPE, S_I_TEXT,
    S_ALL /* asdk_extract_value: the root */
};
typedef char fields_fit[(int)S_LAST_FIELD < (int)ASDK_X_FIELDS ? 1 : -1];

enum block_type { BT_UNKNOWN, BT_TEXT, BT_TOOL_USE, BT_TOOL_RESULT, BT_OTHER };

enum token { T_NULL, T_FALSE, T_TRUE, T_NUMBER, T_STRING };

struct key {
    const char *name;
    unsigned char len, slot;
};
#define K(name, slot) { name, sizeof(name) - 1, slot }

static const struct key top_keys[] = {
    K("type", S_TYPE), K("subtype", S_SUBTYPE), K("uuid", S_UUID), K("session_id", S_SESSION_ID),
    K("message", S_MESSAGE), K("content", S_CONTENT), K("result", S_RESULT), K("usage", S_USAGE),
    K("model", S_MODEL), K("stop_reason", S_STOP_REASON), K("parent_tool_use_id", S_PARENT),
    K("total_cost_usd", S_COST), K("num_turns", S_TURNS), K("duration_ms", S_DURATION),
    K("duration_api_ms", S_DURATION_API), K("is_error", S_IS_ERROR), K("tool_name", S_TOOL_NAME),
    K("event", S_EVENT), { NULL, 0, 0 }
};
static const struct key message_keys[] = {
    K("content", S_M_CONTENT), K("model", S_M_MODEL), K("usage", S_M_USAGE), K("stop_reason", S_M_STOP_REASON),
    { NULL, 0, 0 }
};
static const struct key block_keys[] = {
    K("type", S_B_TYPE), K("text", S_B_TEXT), K("id", S_B_ID), K("name", S_B_NAME), K("input", S_B_INPUT),
    K("content", S_B_CONTENT), K("is_error", S_B_IS_ERROR), { NULL, 0, 0 }
};
static const struct key iblock_keys[] = { K("type", S_I_TYPE), K("text", S_I_TEXT), { NULL, 0, 0 } };
static const struct key event_keys[] = { K("delta", S_E_DELTA), { NULL, 0, 0 } };
static const struct key delta_keys[] = { K("type", S_D_TYPE), K("text", S_D_TEXT), { NULL, 0, 0 } };

static const struct key *const frame_keys[] = {
    [F_TOP] = top_keys, [F_MESSAGE] = message_keys, [F_BLOCK] = block_keys, [F_IBLOCK] = iblock_keys,
    [F_EVENT] = event_keys, [F_DELTA] = delta_keys,
};

#define EQ(s, n, lit) ((n) == sizeof(lit) - 1 && memcmp((s), lit, sizeof(lit) - 1) == 0)

static int fail(asdk_extractor *x, asdk_json_status status, const char *message)
{
    x->err->status = status;
    snprintf(x->err->message, sizeof x->err->message, "%s", message);
    return 0;
}

static int nomem(asdk_extractor *x)
{
    return fail(x, ASDK_JSON_NOMEM, "out of memory");
}

/* yajl decodes an unpaired low surrogate escape ("\udc00") to bytes that are not UTF-8 (ED B0..BF xx; the
 * text itself was validated and yajl's decoder yields nothing else ill-formed): in the strings that are
 * kept, each such byte becomes U+FFFD. */
static int clean_utf8(asdk_extractor *x, const char **s, size_t *n)
{
    if (!memchr(*s, 0xED, *n) || asdk_utf8_valid(*s, *n)) return 1;
    x->fix.len = 0;
    for (size_t i = 0; i < *n;) {
        size_t k = asdk_utf8_char(*s + i, *n - i);
        if (asdk_buf_append(&x->fix, k ? *s + i : "\xEF\xBF\xBD", k ? k : 3)) return nomem(x);
        i += k ? k : 1;
    }
    *s = x->fix.ptr;
    *n = x->fix.len;
    return 1;
}

/* ---- text join --------------------------------------------------------------------------------------- */

static int add_piece(asdk_extractor *x, const char *s, size_t n)
{
    if (asdk_buf_reserve(&x->join, n + 1)) return nomem(x);
    if (x->pieces++) x->join.ptr[x->join.len++] = '\n';
    if (n) memcpy(x->join.ptr + x->join.len, s, n);
    x->join.len += n;
    return 1;
}

static void block_begin(asdk_extractor *x, asdk_x_block *k)
{
    memset(k, 0, sizeof *k);
    k->is_error = -1;
    k->input = -1;
    k->mark_len = x->join.len;
    k->mark_pieces = x->pieces;
    k->scratch_mark = x->scratch.len;
}

static void rollback(asdk_extractor *x, const asdk_x_block *k)
{
    x->join.len = k->mark_len;
    x->pieces = k->mark_pieces;
}

static int block_text(asdk_extractor *x, asdk_x_block *k, const char *s, size_t n)
{
    if (k->has_text || (k->type != BT_UNKNOWN && k->type != BT_TEXT)) return 1;
    k->has_text = 1;
    /* Straight into the join when it is known to count and nothing tentative precedes it in this block. */
    if (k->type == BT_TEXT && x->join.len == k->mark_len) {
        k->text_direct = 1;
        return add_piece(x, s, n);
    }
    k->text_off = x->scratch.len;
    k->text_len = n;
    return asdk_buf_append(&x->scratch, s, n) ? nomem(x) : 1;
}

static int block_end(asdk_extractor *x, asdk_x_block *k, int outer)
{
    int ok = 1;
    if (k->type == BT_TEXT) {
        if (!k->text_direct) {
            rollback(x, k);
            if (k->has_text) ok = add_piece(x, x->scratch.ptr + k->text_off, k->text_len);
        }
    } else if (outer && k->type == BT_TOOL_RESULT) {
        if (k->is_error == 1) x->tool_error = 1;
    } else {
        rollback(x, k);
        if (outer && k->type == BT_TOOL_USE) {
            asdk_tool_call call = { k->id, k->name, k->input };
            if (asdk_buf_append(&x->calls, &call, sizeof call)) ok = nomem(x);
        }
    }
    x->scratch.len = k->scratch_mark;
    return ok;
}

static unsigned char block_type(const char *s, size_t n)
{
    if (EQ(s, n, "text")) return BT_TEXT;
    if (EQ(s, n, "tool_use")) return BT_TOOL_USE;
    if (EQ(s, n, "tool_result")) return BT_TOOL_RESULT;
    return BT_OTHER;
}

/* ---- scalar fields ----------------------------------------------------------------------------------- */

static int set_value(asdk_extractor *x, asdk_value *v, int tok, const char *s, size_t n)
{
    if (v->kind != ASDK_ABSENT) return 1;
    static const asdk_kind kinds[] = { [T_NULL] = ASDK_NULL, [T_FALSE] = ASDK_FALSE, [T_TRUE] = ASDK_TRUE,
                                       [T_NUMBER] = ASDK_NUMBER, [T_STRING] = ASDK_STRING };
    v->kind = kinds[tok];
    if (tok == T_NUMBER || tok == T_STRING) {
        v->off = x->arena.len;
        v->len = n;
        if (asdk_buf_append(&x->arena, s, n)) return nomem(x);
    }
    return 1;
}

/* ---- skipping cheaply --------------------------------------------------------------------------------- */

/* yajl decodes a string with escapes before calling the string or key callback, and only if that callback
 * is set; it looks the callback up in the table we gave it at every token (yajl 2.x, frozen since 2015). So
 * while nothing in the text can matter — inside a skipped container, or for the value of a key we ignore —
 * those callbacks are cleared and yajl only scans. In the CLI's output that skips the tool_use_result copy
 * of every file read, about half of the decoding work. */
static int cb_string(void *ctx, const unsigned char *s, size_t n);
static int cb_map_key(void *ctx, const unsigned char *s, size_t n);
static int cb_null(void *ctx);
static int cb_boolean(void *ctx, int v);
static int cb_number(void *ctx, const char *s, size_t n);

static void quiet(asdk_extractor *x)
{
    x->cbs.yajl_null = NULL;
    x->cbs.yajl_boolean = NULL;
    x->cbs.yajl_number = NULL;
    x->cbs.yajl_string = NULL;
    x->cbs.yajl_map_key = NULL;
}

static void loud(asdk_extractor *x)
{
    x->cbs.yajl_null = cb_null;
    x->cbs.yajl_boolean = cb_boolean;
    x->cbs.yajl_number = cb_number;
    x->cbs.yajl_string = cb_string;
    x->cbs.yajl_map_key = cb_map_key;
}

/* ---- the frame stack --------------------------------------------------------------------------------- */

static unsigned char element_slot(const asdk_extractor *x)
{
    if (!x->nframes) return S_NONE;
    switch (x->frames[x->nframes - 1]) {
    case F_MCONTENT: return S_BLOCK;
    case F_BCONTENT: return S_IBLOCK;
    default: return S_NONE;
    }
}

static int push(asdk_extractor *x, unsigned char frame)
{
    x->frames[x->nframes++] = frame;
    x->slot = element_slot(x);
    return 1;
}

/* ---- captures ---------------------------------------------------------------------------------------- */

static int builder_failed(asdk_extractor *x)
{
    return fail(x, ASDK_JSON_ABORTED, "aborted by the builder");
}

static int capture_begin(asdk_extractor *x, unsigned char slot)
{
    int n = x->captures++;
    switch (slot) {
    case S_USAGE: x->usage_top = n; break;
    case S_M_USAGE: x->usage_message = n; break;
    case S_B_INPUT: x->blocks[0].input = n; break;
    }
    return x->b->begin(x->ud) ? 1 : builder_failed(x);
}

static int capture_end(asdk_extractor *x)
{
    if (!x->b->end(x->ud)) return builder_failed(x);
    x->slot = element_slot(x);
    return 1;
}

static int forward_scalar(asdk_extractor *x, int tok, const char *s, size_t n)
{
    const asdk_builder *b = x->b;
    int ok;
    switch (tok) {
    case T_NULL: ok = b->null_value(x->ud); break;
    case T_FALSE: ok = b->boolean(x->ud, 0); break;
    case T_TRUE: ok = b->boolean(x->ud, 1); break;
    case T_NUMBER: ok = b->number(x->ud, s, n); break;
    default:
        if (!clean_utf8(x, &s, &n)) return 0;
        ok = b->string(x->ud, s, n);
        break;
    }
    return ok ? 1 : builder_failed(x);
}

/* Where a value may be captured (first occurrence, and for a tool input only in a possible tool_use). */
static int wants_capture(asdk_extractor *x, int is_map)
{
    switch (x->slot) {
    case S_ALL: return 1;
    case S_USAGE: return is_map && x->usage_top < 0;
    case S_M_USAGE: return is_map && x->usage_message < 0;
    case S_B_INPUT: {
        const asdk_x_block *k = &x->blocks[0];
        return k->input < 0 && (k->type == BT_UNKNOWN || k->type == BT_TOOL_USE);
    }
    default: return 0;
    }
}

/* ---- yajl callbacks ---------------------------------------------------------------------------------- */

static int on_scalar(asdk_extractor *x, int tok, const char *s, size_t n)
{
    if (x->capture) return forward_scalar(x, tok, s, n);
    if (x->skip) return 1;
    if (wants_capture(x, 0)) {
        return capture_begin(x, x->slot) && forward_scalar(x, tok, s, n) && capture_end(x);
    }
    if (!x->nframes) return fail(x, ASDK_JSON_NOT_OBJECT, "top-level JSON value is not an object");
    if (tok == T_STRING && x->slot != S_NONE && !clean_utf8(x, &s, &n)) return 0;

    asdk_x_block *outer = &x->blocks[0], *inner = &x->blocks[1];
    int ok = 1;
    switch (x->slot) {
    case S_M_CONTENT:
        if (tok == T_STRING && !x->has_mcontent) {
            x->has_mcontent = 1;
            ok = add_piece(x, s, n);
        }
        break;
    case S_B_TYPE:
        if (outer->type == BT_UNKNOWN) outer->type = tok == T_STRING ? block_type(s, n) : BT_OTHER;
        break;
    case S_B_TEXT:
        if (tok == T_STRING) ok = block_text(x, outer, s, n);
        break;
    case S_B_ID: ok = set_value(x, &outer->id, tok, s, n); break;
    case S_B_NAME: ok = set_value(x, &outer->name, tok, s, n); break;
    case S_B_CONTENT:
        if (tok == T_STRING && !outer->has_content &&
            (outer->type == BT_UNKNOWN || outer->type == BT_TOOL_RESULT)) {
            outer->has_content = 1;
            ok = add_piece(x, s, n);
        }
        break;
    case S_B_IS_ERROR:
        if (outer->is_error < 0 && (tok == T_TRUE || tok == T_FALSE)) outer->is_error = tok == T_TRUE;
        break;
    case S_I_TYPE:
        if (inner->type == BT_UNKNOWN) inner->type = tok == T_STRING && EQ(s, n, "text") ? BT_TEXT : BT_OTHER;
        break;
    case S_I_TEXT:
        if (tok == T_STRING) ok = block_text(x, inner, s, n);
        break;
    default:
        if (x->slot != S_NONE && x->slot <= S_LAST_FIELD) ok = set_value(x, &x->raw[x->slot], tok, s, n);
        break;
    }
    x->slot = element_slot(x);
    return ok;
}

static int on_start(asdk_extractor *x, int is_map)
{
    if (++x->depth > ASDK_JSON_MAX_DEPTH)
        return fail(x, ASDK_JSON_DEPTH, "JSON nested deeper than 128 levels");
    if (x->capture) {
        x->capture++;
        return (is_map ? x->b->map_start(x->ud) : x->b->array_start(x->ud)) ? 1 : builder_failed(x);
    }
    if (x->skip) {
        x->skip++;
        return 1;
    }
    if (wants_capture(x, is_map)) {
        x->capture = 1;
        return capture_begin(x, x->slot) &&
               ((is_map ? x->b->map_start(x->ud) : x->b->array_start(x->ud)) ? 1 : builder_failed(x));
    }
    if (!x->nframes) {
        if (!is_map) return fail(x, ASDK_JSON_NOT_OBJECT, "top-level JSON value is not an object");
        return push(x, F_TOP);
    }
    switch (x->slot) {
    case S_MESSAGE:
        if (is_map) return push(x, F_MESSAGE);
        break;
    case S_EVENT:
        if (is_map) return push(x, F_EVENT);
        break;
    case S_E_DELTA:
        if (is_map) return push(x, F_DELTA);
        break;
    case S_M_CONTENT:
        if (!is_map && !x->has_mcontent) {
            x->has_mcontent = 1;
            return push(x, F_MCONTENT);
        }
        break;
    case S_BLOCK:
        if (is_map) {
            block_begin(x, &x->blocks[0]);
            return push(x, F_BLOCK);
        }
        break;
    case S_B_CONTENT: {
        asdk_x_block *k = &x->blocks[0];
        if (!is_map && !k->has_content && (k->type == BT_UNKNOWN || k->type == BT_TOOL_RESULT)) {
            k->has_content = 1;
            return push(x, F_BCONTENT);
        }
        break;
    }
    case S_IBLOCK:
        if (is_map) {
            block_begin(x, &x->blocks[1]);
            return push(x, F_IBLOCK);
        }
        break;
    }
    x->skip = 1;
    quiet(x);
    return 1;
}

static int on_end(asdk_extractor *x, int is_map)
{
    x->depth--;
    if (x->capture) {
        if (!(is_map ? x->b->map_end(x->ud) : x->b->array_end(x->ud))) return builder_failed(x);
        return --x->capture ? 1 : capture_end(x);
    }
    if (x->skip) {
        if (!--x->skip) {
            loud(x);
            x->slot = element_slot(x);
        }
        return 1;
    }
    unsigned char frame = x->frames[--x->nframes];
    int ok = 1;
    if (frame == F_BLOCK) ok = block_end(x, &x->blocks[0], 1);
    else if (frame == F_IBLOCK) ok = block_end(x, &x->blocks[1], 0);
    x->slot = element_slot(x);
    return ok;
}

static int on_key(asdk_extractor *x, const char *s, size_t n)
{
    if (x->capture) {
        if (!clean_utf8(x, &s, &n)) return 0;
        return x->b->map_key(x->ud, s, n) ? 1 : builder_failed(x);
    }
    if (x->skip) return 1;
    x->slot = S_NONE;
    for (const struct key *k = frame_keys[x->frames[x->nframes - 1]]; k->name; k++) {
        if (k->len == n && k->name[0] == s[0] && memcmp(k->name, s, n) == 0) {
            x->slot = k->slot;
            break;
        }
    }
    x->cbs.yajl_string = x->slot == S_NONE ? NULL : cb_string; /* an ignored string need not be decoded */
    return 1;
}

static int cb_null(void *ctx) { return on_scalar(ctx, T_NULL, NULL, 0); }
static int cb_boolean(void *ctx, int v) { return on_scalar(ctx, v ? T_TRUE : T_FALSE, NULL, 0); }
static int cb_number(void *ctx, const char *s, size_t n) { return on_scalar(ctx, T_NUMBER, s, n); }
static int cb_string(void *ctx, const unsigned char *s, size_t n) { return on_scalar(ctx, T_STRING, (const char *)s, n); }
static int cb_start_map(void *ctx) { return on_start(ctx, 1); }
static int cb_map_key(void *ctx, const unsigned char *s, size_t n) { return on_key(ctx, (const char *)s, n); }
static int cb_end_map(void *ctx) { return on_end(ctx, 1); }
static int cb_start_array(void *ctx) { return on_start(ctx, 0); }
static int cb_end_array(void *ctx) { return on_end(ctx, 0); }

static const yajl_callbacks callbacks = {
    cb_null, cb_boolean, NULL, NULL, cb_number, cb_string,
    cb_start_map, cb_map_key, cb_end_map, cb_start_array, cb_end_array,
};

/* ---- yajl's memory ----------------------------------------------------------------------------------- */

/* yajl makes half a dozen small allocations per handle (handle, lexer, state stack, decode buffer), and
 * there is a handle per line: they are carved from a pool inside the extractor (usually on the caller's
 * stack) and never freed one by one. A block carries its size in a 16-byte header, for realloc. */
#define POOL_HEADER 16

static int in_pool(const asdk_extractor *x, const void *p)
{
    return (const char *)p >= x->pool.bytes && (const char *)p < x->pool.bytes + ASDK_X_POOL;
}

static void *pool_malloc(void *ctx, size_t n)
{
    asdk_extractor *x = ctx;
    size_t need = POOL_HEADER + ((n + 15) & ~(size_t)15);
    if (n > ASDK_X_POOL || need > ASDK_X_POOL - x->pool_used) return malloc(n);
    char *block = x->pool.bytes + x->pool_used;
    memcpy(block, &n, sizeof n);
    x->pool_used += need;
    return block + POOL_HEADER;
}

static void *pool_realloc(void *ctx, void *p, size_t n)
{
    if (!p) return pool_malloc(ctx, n);
    if (!in_pool(ctx, p)) return realloc(p, n);
    size_t old;
    memcpy(&old, (char *)p - POOL_HEADER, sizeof old);
    if (n <= old) return p;
    void *q = pool_malloc(ctx, n);
    if (q) memcpy(q, p, old);
    return q;
}

static void pool_free(void *ctx, void *p)
{
    if (!in_pool(ctx, p)) free(p);
}

/* ---- passes ------------------------------------------------------------------------------------------ */

void asdk_extractor_init(asdk_extractor *x)
{
    /* Only what free() looks at: each pass sets up the rest (the pool alone is 6 KiB). */
    static const asdk_buf empty = { NULL, 0, 0 };
    x->yajl = NULL;
    x->arena = x->join = x->scratch = x->calls = x->fix = empty;
}

void asdk_extractor_free(asdk_extractor *x)
{
    if (x->yajl) yajl_free(x->yajl);
    asdk_buf_free(&x->arena);
    asdk_buf_free(&x->join);
    asdk_buf_free(&x->scratch);
    asdk_buf_free(&x->calls);
    asdk_buf_free(&x->fix);
    asdk_extractor_init(x);
}

static void reset(asdk_extractor *x, const asdk_builder *b, void *ud, asdk_json_error *err, int full)
{
    if (x->yajl) yajl_free(x->yajl);
    x->yajl = NULL;
    x->b = b;
    x->ud = ud;
    x->err = err;
    x->depth = x->skip = x->capture = x->captures = x->nframes = 0;
    x->slot = full ? S_ALL : S_NONE;
    x->has_mcontent = x->tool_error = 0;
    memset(x->raw, 0, sizeof x->raw);
    x->usage_top = x->usage_message = -1;
    x->arena.len = x->join.len = x->scratch.len = x->calls.len = 0;
    x->pieces = 0;
    err->status = ASDK_JSON_OK;
    err->message[0] = '\0';
}

static int run(asdk_extractor *x, const char *json, size_t len)
{
    if (!asdk_utf8_valid(json, len)) return fail(x, ASDK_JSON_UTF8, "invalid UTF-8"), -1;
    x->cbs = callbacks;
    x->pool_used = 0;
    yajl_alloc_funcs afs = { pool_malloc, pool_realloc, pool_free, x };
    x->yajl = yajl_alloc(&x->cbs, &afs, x);
    if (!x->yajl) return nomem(x), -1;
    /* The whole text was just validated, more strictly than yajl would: don't decode UTF-8 a second time. */
    yajl_config(x->yajl, yajl_dont_validate_strings, 1);
    yajl_status st = yajl_parse(x->yajl, (const unsigned char *)json, len);
    if (st == yajl_status_ok) st = yajl_complete_parse(x->yajl);
    if (st == yajl_status_error) {
        unsigned char *msg = yajl_get_error(x->yajl, 0, NULL, 0);
        char text[120];
        snprintf(text, sizeof text, "%s", msg ? (const char *)msg : "parse error");
        if (msg) yajl_free_error(x->yajl, msg);
        size_t n = strlen(text);
        while (n && (text[n - 1] == '\n' || text[n - 1] == ' ')) text[--n] = '\0';
        int utf8 = strstr(text, "UTF8") != NULL;
        snprintf(x->err->message, sizeof x->err->message, utf8 ? "invalid UTF-8" : "invalid JSON (%s)", text);
        x->err->status = utf8 ? ASDK_JSON_UTF8 : ASDK_JSON_SYNTAX;
    }
    yajl_free(x->yajl);
    x->yajl = NULL;
    return x->err->status == ASDK_JSON_OK ? 0 : -1;
}

static void resolve(const asdk_buf *arena, asdk_value *v)
{
    if (v->kind == ASDK_STRING || v->kind == ASDK_NUMBER) v->ptr = v->len ? arena->ptr + v->off : "";
}

static int is_string(const asdk_value *v, const char *lit, size_t n)
{
    return v->kind == ASDK_STRING && v->len == n && memcmp(v->ptr, lit, n) == 0;
}

int asdk_extract_message(asdk_extractor *x, const char *json, size_t len, const asdk_builder *b, void *ud,
                         asdk_msg_fields *out, asdk_json_error *err)
{
    reset(x, b, ud, err, 0);
    if (run(x, json, len)) return -1;

    asdk_value *raw = x->raw;
    for (int i = 1; i <= S_LAST_FIELD; i++) resolve(&x->arena, &raw[i]);
    asdk_tool_call *calls = (asdk_tool_call *)x->calls.ptr;
    size_t ncalls = x->calls.len / sizeof *calls;
    for (size_t i = 0; i < ncalls; i++) {
        resolve(&x->arena, &calls[i].id);
        resolve(&x->arena, &calls[i].name);
    }

    memset(out, 0, sizeof *out);
    out->type = raw[S_TYPE];
    out->subtype = raw[S_SUBTYPE];
    out->uuid = raw[S_UUID];
    out->session_id = raw[S_SESSION_ID];
    out->parent_tool_use_id = raw[S_PARENT];
    out->model = raw[S_MODEL].kind == ASDK_STRING ? raw[S_MODEL] : raw[S_M_MODEL];
    out->stop_reason = raw[S_STOP_REASON].kind == ASDK_STRING ? raw[S_STOP_REASON] : raw[S_M_STOP_REASON];
    out->total_cost_usd = raw[S_COST];
    out->num_turns = raw[S_TURNS];
    out->duration_ms = raw[S_DURATION];
    out->duration_api_ms = raw[S_DURATION_API];

    if (raw[S_IS_ERROR].kind == ASDK_TRUE || raw[S_IS_ERROR].kind == ASDK_FALSE)
        out->is_error = raw[S_IS_ERROR];
    else if (x->tool_error && is_string(&raw[S_TYPE], "user", 4))
        out->is_error.kind = ASDK_TRUE;

    if (raw[S_CONTENT].kind == ASDK_STRING) {
        out->content = raw[S_CONTENT];
    } else if (raw[S_RESULT].kind == ASDK_STRING) {
        out->content = raw[S_RESULT];
    } else if (x->pieces) {
        out->content.kind = ASDK_STRING;
        out->content.ptr = x->join.len ? x->join.ptr : "";
        out->content.len = x->join.len;
    } else if (is_string(&raw[S_TYPE], "stream_event", 12) && is_string(&raw[S_D_TYPE], "text_delta", 10) &&
               raw[S_D_TEXT].kind == ASDK_STRING) {
        out->content = raw[S_D_TEXT];
    }

    out->tool_name = ncalls && calls[0].name.kind == ASDK_STRING ? calls[0].name : raw[S_TOOL_NAME];
    out->usage = x->usage_top >= 0 ? x->usage_top : x->usage_message;
    out->tool_calls = calls;
    out->ntool_calls = ncalls;
    return 0;
}

int asdk_extract_value(asdk_extractor *x, const char *json, size_t len, const asdk_builder *b, void *ud,
                       asdk_json_error *err)
{
    reset(x, b, ud, err, 1);
    return run(x, json, len);
}

/* ---- peek -------------------------------------------------------------------------------------------- */

struct peek {
    int depth, at_type;
    char *out;
    size_t cap, len;
};

/* Any value ends the peek unless it is nested or at top level under another key. */
static int peek_value(void *ctx)
{
    struct peek *p = ctx;
    return p->depth >= 1 && !p->at_type;
}
static int peek_boolean(void *ctx, int v) { (void)v; return peek_value(ctx); }
static int peek_number(void *ctx, const char *s, size_t n) { (void)s; (void)n; return peek_value(ctx); }
static int peek_string(void *ctx, const unsigned char *s, size_t n)
{
    struct peek *p = ctx;
    if (!p->at_type) return p->depth >= 1;
    if (asdk_utf8_valid((const char *)s, n)) {
        memcpy(p->out, s, n < p->cap ? n : p->cap);
        p->len = n;
    }
    return 0;
}
static int peek_start(void *ctx)
{
    struct peek *p = ctx;
    if (p->at_type) return 0;
    p->depth++;
    return 1;
}
static int peek_key(void *ctx, const unsigned char *s, size_t n)
{
    struct peek *p = ctx;
    p->at_type = p->depth == 1 && EQ(s, n, "type");
    return 1;
}
static int peek_end(void *ctx)
{
    struct peek *p = ctx;
    return --p->depth > 0; /* the end of the top-level object ends the peek */
}
static int peek_start_array(void *ctx)
{
    struct peek *p = ctx;
    return p->depth >= 1 && peek_start(ctx);
}

static const yajl_callbacks peek_callbacks = {
    peek_value, peek_boolean, NULL, NULL, peek_number, peek_string,
    peek_start, peek_key, peek_end, peek_start_array, peek_end,
};

size_t asdk_peek_type(const char *json, size_t len, char *out, size_t cap)
{
    struct peek p = { 0, 0, out, cap, ASDK_PEEK_NONE };
    yajl_handle h = yajl_alloc(&peek_callbacks, NULL, &p);
    if (!h) return ASDK_PEEK_NONE;
    yajl_parse(h, (const unsigned char *)json, len);
    yajl_free(h);
    return p.len;
}
