/* anthropic.c — Anthropic Messages API response assembler (plain C99, no Ruby). See anthropic.h. */
#include "anthropic.h"

#include <stdio.h>

#include "utf8.h"

#define NO_BLOCK SIZE_MAX
#define CAPTURED_OBJECT 0xFF
/* What a block and its slot cost against max_turn besides their bytes. */
#define SLOT_COST (sizeof(asdk_anth_slot) + ASDK_ASM_INDEX_COST)
#define BLOCK_COST (sizeof(asdk_block) + SLOT_COST)

/* Nodes of the documents read: a stream event and a whole message body share one table. */
enum {
    N_ROOT = ASDK_JW_ROOT, N_TYPE, N_INDEX,
    N_DELTA, N_D_TYPE, N_D_TEXT, N_D_JSON, N_D_THINKING, N_D_SIG, N_D_STOP,
    N_CB, N_CB_TYPE, N_CB_ID, N_CB_NAME, N_CB_TEXT, N_CB_THINKING, N_CB_SIG, N_CB_DATA, N_CB_INPUT,
    N_MSG, N_M_ID, N_M_MODEL, N_M_STOP,
    N_USAGE, N_U_IN, N_U_OUT, N_U_CC, N_U_CR, N_U_CACHE, N_U_1H,
    N_ERR, N_E_TYPE, N_E_MSG,
    N_CONTENT,
    N_COUNT
};
typedef char nodes_fit[(int)N_COUNT <= (int)ASDK_ANTH_FIELDS ? 1 : -1];

static const asdk_jw_edge root_edges[] = {
    ASDK_JW_KEY(N_TYPE, 0, "type"), ASDK_JW_KEY(N_INDEX, 0, "index"), ASDK_JW_KEY(N_DELTA, 0, "delta"),
    ASDK_JW_KEY(N_CB, 0, "content_block"), ASDK_JW_KEY(N_MSG, 0, "message"), ASDK_JW_KEY(N_USAGE, 0, "usage"),
    ASDK_JW_KEY(N_ERR, 0, "error"),
    /* a whole body: the message at the root */
    ASDK_JW_KEY(N_M_ID, 0, "id"), ASDK_JW_KEY(N_M_MODEL, 0, "model"), ASDK_JW_KEY(N_M_STOP, 0, "stop_reason"),
    ASDK_JW_KEY(N_CONTENT, 0, "content"), ASDK_JW_END
};
static const asdk_jw_edge content_edges[] = { ASDK_JW_ELEMENT(N_CB, 0), ASDK_JW_END };
static const asdk_jw_edge delta_edges[] = {
    ASDK_JW_KEY(N_D_TYPE, 0, "type"), ASDK_JW_KEY(N_D_TEXT, 0, "text"), ASDK_JW_KEY(N_D_JSON, 0, "partial_json"),
    ASDK_JW_KEY(N_D_THINKING, 0, "thinking"), ASDK_JW_KEY(N_D_SIG, 0, "signature"),
    ASDK_JW_KEY(N_D_STOP, 0, "stop_reason"), ASDK_JW_END
};
static const asdk_jw_edge block_edges[] = {
    ASDK_JW_KEY(N_CB_TYPE, 0, "type"), ASDK_JW_KEY(N_CB_ID, 0, "id"), ASDK_JW_KEY(N_CB_NAME, 0, "name"),
    ASDK_JW_KEY(N_CB_TEXT, 0, "text"), ASDK_JW_KEY(N_CB_THINKING, 0, "thinking"), ASDK_JW_KEY(N_CB_SIG, 0, "signature"),
    ASDK_JW_KEY(N_CB_DATA, 0, "data"), ASDK_JW_KEY(N_CB_INPUT, ASDK_JW_CAPTURE, "input"), ASDK_JW_END
};
static const asdk_jw_edge message_edges[] = {
    ASDK_JW_KEY(N_M_ID, 0, "id"), ASDK_JW_KEY(N_M_MODEL, 0, "model"), ASDK_JW_KEY(N_M_STOP, 0, "stop_reason"),
    ASDK_JW_KEY(N_USAGE, 0, "usage"), ASDK_JW_END
};
static const asdk_jw_edge usage_edges[] = {
    ASDK_JW_KEY(N_U_IN, 0, "input_tokens"), ASDK_JW_KEY(N_U_OUT, 0, "output_tokens"),
    ASDK_JW_KEY(N_U_CC, 0, "cache_creation_input_tokens"), ASDK_JW_KEY(N_U_CR, 0, "cache_read_input_tokens"),
    ASDK_JW_KEY(N_U_CACHE, 0, "cache_creation"), ASDK_JW_END
};
static const asdk_jw_edge cache_edges[] = { ASDK_JW_KEY(N_U_1H, 0, "ephemeral_1h_input_tokens"), ASDK_JW_END };
static const asdk_jw_edge error_edges[] = {
    ASDK_JW_KEY(N_E_TYPE, 0, "type"), ASDK_JW_KEY(N_E_MSG, 0, "message"), ASDK_JW_END
};
static const asdk_jw_edge *const children[N_COUNT] = {
    [N_ROOT] = root_edges, [N_CONTENT] = content_edges, [N_DELTA] = delta_edges, [N_CB] = block_edges,
    [N_MSG] = message_edges, [N_USAGE] = usage_edges, [N_U_CACHE] = cache_edges, [N_ERR] = error_edges,
};

/* ---- setup ------------------------------------------------------------------------------------------- */

void asdk_anthropic_init(asdk_anthropic *a, asdk_turn *turn, size_t max_turn)
{
    memset(a, 0, sizeof *a);
    a->turn = turn;
    a->max_turn = max_turn ? max_turn : ASDK_DEFAULT_MAX_TURN;
    asdk_jw_init(&a->w);
}

static void free_slots(asdk_anthropic *a)
{
    for (size_t i = 0; i < a->nslots; i++) asdk_buf_free(&a->slots[i].json);
    a->nslots = 0;
    asdk_asm_index_clear(&a->slot_of);
}

void asdk_anthropic_free(asdk_anthropic *a)
{
    free_slots(a);
    free(a->slots);
    a->slots = NULL;
    a->slots_cap = 0;
    asdk_asm_index_free(&a->slot_of);
    asdk_buf_free(&a->arena);
    asdk_jw_free(&a->w);
}

void asdk_anthropic_reset(asdk_anthropic *a)
{
    free_slots(a);
    memset(&a->err, 0, sizeof a->err);
    a->turn_bytes = 0;
    a->body = 0;
}

/* ---- helpers ----------------------------------------------------------------------------------------- */

static asdk_asm_status nomem(asdk_anthropic *a)
{
    return asdk_asm_fail(&a->err, ASDK_ASM_NOMEM, NULL, 0, "out of memory");
}

/* Charges n more bytes to the turn. */
static int charge(asdk_anthropic *a, size_t n)
{
    if (n > a->max_turn - a->turn_bytes) {
        char message[160];
        snprintf(message, sizeof message, "the response is larger than max_turn_bytes (%zu)", a->max_turn);
        asdk_asm_fail(&a->err, ASDK_ASM_TOO_BIG, NULL, 0, message);
        return -1;
    }
    a->turn_bytes += n;
    return 0;
}

static int append(asdk_anthropic *a, asdk_buf *b, const char *s, size_t n)
{
    if (charge(a, n)) return -1;
    if (asdk_buf_append(b, s, n)) return nomem(a), -1;
    return 0;
}

static int has(const asdk_anthropic *a, int node, int kind)
{
    return a->f[node].kind == kind;
}

static const char *str(const asdk_anthropic *a, int node, size_t *n)
{
    if (a->f[node].kind != ASDK_STRING) {
        *n = 0;
        return NULL;
    }
    *n = a->f[node].len;
    return *n ? a->arena.ptr + a->f[node].off : "";
}

static int is(const asdk_anthropic *a, int node, const char *lit)
{
    size_t n, k = strlen(lit);
    const char *s = str(a, node, &n);
    return s && n == k && memcmp(s, lit, k) == 0;
}

static int integer(const asdk_anthropic *a, int node, int64_t *out)
{
    return a->f[node].kind == ASDK_NUMBER && asdk_asm_int64(a->arena.ptr + a->f[node].off, a->f[node].len, out);
}

/* ---- walker callbacks -------------------------------------------------------------------------------- */

static int store(asdk_anthropic *a, unsigned node, unsigned char kind, const char *s, size_t n)
{
    a->f[node].kind = kind;
    a->f[node].off = a->arena.len;
    a->f[node].len = n;
    if (asdk_buf_append(&a->arena, s, n)) {
        nomem(a);
        return 0;
    }
    return 1;
}

static int on_scalar(void *ud, unsigned node, asdk_kind kind, const char *s, size_t n)
{
    asdk_anthropic *a = ud;
    if (kind == ASDK_STRING || kind == ASDK_NUMBER) return store(a, node, (unsigned char)kind, s, n);
    a->f[node].kind = (unsigned char)kind;
    a->f[node].len = 0;
    return 1;
}

static int on_captured(void *ud, unsigned node, int kind, const char *json, size_t n)
{
    asdk_anthropic *a = ud;
    if (kind == ASDK_JW_OBJECT) return store(a, node, CAPTURED_OBJECT, json, n);
    a->f[node].kind = ASDK_NULL; /* an array: not an object, remembered as such */
    a->f[node].len = 0;
    return 1;
}

static asdk_asm_status body_block(asdk_anthropic *a);

static int on_open(void *ud, unsigned node, int is_map)
{
    asdk_anthropic *a = ud;
    if (a->body && node == N_CB && is_map) {
        for (int i = N_CB_TYPE; i <= N_CB_INPUT; i++) a->f[i].kind = ASDK_ABSENT;
        a->block_mark = a->arena.len;
    }
    return 1;
}

static int on_close(void *ud, unsigned node, int is_map)
{
    asdk_anthropic *a = ud;
    if (a->body && node == N_CB && is_map) {
        asdk_asm_status st = body_block(a);
        a->arena.len = a->block_mark;
        if (st) {
            a->cb_status = st;
            return 0;
        }
    }
    return 1;
}

static const asdk_jw_schema schema = { children, N_COUNT, on_scalar, on_open, on_close, on_captured };

/* Parses json into a->f. */
static asdk_asm_status parse(asdk_anthropic *a, const char *json, size_t len, const char *what)
{
    asdk_json_error je;
    memset(a->f, 0, sizeof a->f);
    a->arena.len = 0;
    a->cb_status = ASDK_ASM_OK;
    int r = asdk_jw_run(&a->w, json, len, &schema, a, &je);
    if (!r) return ASDK_ASM_OK;
    if (je.status == ASDK_JSON_ABORTED) {
        if (a->err.status) return a->err.status;
        return asdk_asm_fail(&a->err, a->cb_status ? a->cb_status : ASDK_ASM_NOMEM, json, len, "aborted");
    }
    return asdk_asm_json_fail(&a->err, &je, what, json, len);
}

/* ---- the turn ---------------------------------------------------------------------------------------- */

/* A usage count: any number >= 0, absurd ones saturated (see asdk_asm_count). */
static int count(const asdk_anthropic *a, int node, int64_t *out)
{
    return a->f[node].kind == ASDK_NUMBER && asdk_asm_count(a->arena.ptr + a->f[node].off, a->f[node].len, out);
}

static void set_usage(asdk_anthropic *a)
{
    asdk_usage *u = &a->turn->usage;
    int64_t v;
    int seen = 0;
    if (count(a, N_U_IN, &v)) u->input_tokens = v, seen = 1;
    if (count(a, N_U_OUT, &v)) u->output_tokens = v, seen = 1;
    if (count(a, N_U_CC, &v)) u->cache_creation_input_tokens = v, seen = 1;
    if (count(a, N_U_CR, &v)) u->cache_read_input_tokens = v, seen = 1;
    if (count(a, N_U_1H, &v)) u->cache_creation_1h_input_tokens = v, seen = 1;
    if (seen) a->turn->has_usage = 1;
}

static int set_string(asdk_anthropic *a, asdk_buf *b, int node)
{
    size_t n;
    const char *s = str(a, node, &n);
    if (!s) return 0;
    if (charge(a, n)) return -1;
    return asdk_asm_set(b, s, n) ? (nomem(a), -1) : 0;
}

static void set_stop_reason(asdk_anthropic *a)
{
    size_t n;
    const char *s = str(a, N_M_STOP, &n);
    if (!s) s = str(a, N_D_STOP, &n);
    if (s) asdk_asm_stop_reason(a->turn, s, n);
}

static asdk_block *new_block(asdk_anthropic *a, asdk_block_type type)
{
    if (charge(a, BLOCK_COST)) return NULL;
    asdk_block *b = asdk_turn_add_block(a->turn, type);
    if (!b) nomem(a);
    a->turn->began = 1;
    return b;
}

static asdk_block_type block_type(const asdk_anthropic *a)
{
    if (is(a, N_CB_TYPE, "text")) return ASDK_BLOCK_TEXT;
    if (is(a, N_CB_TYPE, "tool_use")) return ASDK_BLOCK_TOOL_USE;
    if (is(a, N_CB_TYPE, "thinking")) return ASDK_BLOCK_THINKING;
    if (is(a, N_CB_TYPE, "redacted_thinking")) return ASDK_BLOCK_REDACTED_THINKING;
    return 0;
}

static int text_out(asdk_anthropic *a, const asdk_block *b, size_t from)
{
    if (!a->on_text || a->body || b->text.len == from) return 1;
    return a->on_text(a->ud, b->text.ptr + from, b->text.len - from);
}

/* Fills a new block from the content block fields (start of a streamed block, or a body block). Returns
 * the status; *go = 0 when the text callback asked to stop. */
static asdk_asm_status fill_block(asdk_anthropic *a, asdk_block_type type, int *go)
{
    asdk_block *b = new_block(a, type);
    if (!b) return a->err.status;
    switch (type) {
    case ASDK_BLOCK_TEXT:
        if (set_string(a, &b->text, N_CB_TEXT)) return a->err.status;
        *go = text_out(a, b, 0);
        break;
    case ASDK_BLOCK_TOOL_USE:
        if (set_string(a, &b->id, N_CB_ID) || set_string(a, &b->name, N_CB_NAME)) return a->err.status;
        if (charge(a, 2) || asdk_buf_append(&b->text, "{}", 2)) return a->err.status ? a->err.status : nomem(a);
        break;
    case ASDK_BLOCK_THINKING:
        if (set_string(a, &b->text, N_CB_THINKING) || set_string(a, &b->signature, N_CB_SIG)) return a->err.status;
        break;
    case ASDK_BLOCK_REDACTED_THINKING:
        if (set_string(a, &b->text, N_CB_DATA)) return a->err.status;
        break;
    }
    return ASDK_ASM_OK;
}

/* Sets a tool_use block's input from JSON text: blank → "{}", else it must be one object (checked unless
 * `checked`: the walker re-serialised it from a parsed object). */
static asdk_asm_status set_input(asdk_anthropic *a, asdk_block *b, const char *json, size_t n, int checked)
{
    if (asdk_asm_blank(json, n)) {
        json = "{}";
        n = 2;
    } else if (!checked) {
        asdk_json_error je;
        if (!asdk_jw_is_object(&a->w, json, n, &je)) {
            if (je.status == ASDK_JSON_NOMEM) return nomem(a);
            char message[sizeof je.message + 64];
            snprintf(message, sizeof message, "tool_use input is not a JSON object: %s", je.message);
            return asdk_asm_fail(&a->err, ASDK_ASM_BAD_INPUT, json, n, message);
        }
    }
    if (charge(a, n)) return a->err.status;
    return asdk_asm_set(&b->text, json, n) ? nomem(a) : ASDK_ASM_OK;
}

/* ---- streamed events --------------------------------------------------------------------------------- */

static asdk_anth_slot *find_slot(asdk_anthropic *a, int64_t index)
{
    if (index >= 0 && (uint64_t)index < a->nslots && a->slots[index].index == index) return &a->slots[index];
    size_t pos;
    return asdk_asm_index_get(&a->slot_of, index, &pos) ? &a->slots[pos] : NULL;
}

static asdk_anth_slot *add_slot(asdk_anthropic *a, int64_t index, size_t block)
{
    if (a->nslots == a->slots_cap) {
        size_t cap = a->slots_cap ? a->slots_cap * 2 : 8;
        asdk_anth_slot *s = cap <= SIZE_MAX / sizeof *s ? realloc(a->slots, cap * sizeof *s) : NULL;
        if (!s) return nomem(a), NULL;
        a->slots = s;
        a->slots_cap = cap;
    }
    if (asdk_asm_index_put(&a->slot_of, index, a->nslots)) return nomem(a), NULL;
    asdk_anth_slot *s = &a->slots[a->nslots++];
    memset(s, 0, sizeof *s);
    s->index = index;
    s->block = block;
    s->open = 1;
    return s;
}

static asdk_asm_status close_slot(asdk_anthropic *a, asdk_anth_slot *s)
{
    if (!s->open) return ASDK_ASM_OK;
    s->open = 0;
    if (s->block == NO_BLOCK) return ASDK_ASM_OK;
    asdk_block *b = &a->turn->blocks[s->block];
    asdk_asm_status st = ASDK_ASM_OK;
    /* The fragments were charged as they came; the joined input replaces them. */
    a->turn_bytes -= s->json.len < a->turn_bytes ? s->json.len : a->turn_bytes;
    if (b->type == ASDK_BLOCK_TOOL_USE) st = set_input(a, b, s->json.ptr ? s->json.ptr : "", s->json.len, 0);
    asdk_buf_free(&s->json);
    return st;
}

static asdk_asm_status block_start(asdk_anthropic *a, int *go)
{
    int64_t index;
    if (!integer(a, N_INDEX, &index) || find_slot(a, index)) return ASDK_ASM_OK;
    asdk_block_type type = block_type(a);
    if (!type) { /* a block type this assembler does not keep: its deltas are skipped */
        if (charge(a, SLOT_COST)) return a->err.status;
        return add_slot(a, index, NO_BLOCK) ? ASDK_ASM_OK : a->err.status;
    }
    asdk_asm_status st = fill_block(a, type, go);
    if (st) return st;
    asdk_anth_slot *s = add_slot(a, index, a->turn->nblocks - 1); /* only once its block exists */
    if (!s) return a->err.status;
    if (type == ASDK_BLOCK_TOOL_USE && has(a, N_CB_INPUT, CAPTURED_OBJECT) && a->f[N_CB_INPUT].len > 2) {
        /* A start that already carries the input (the API sends {} and then fragments). */
        if (append(a, &s->json, a->arena.ptr + a->f[N_CB_INPUT].off, a->f[N_CB_INPUT].len)) return a->err.status;
        s->from_start = 1;
    }
    return ASDK_ASM_OK;
}

enum delta_kind { D_OTHER, D_TEXT, D_JSON, D_THINKING, D_SIGNATURE };

/* A content_block_delta's piece p[0, n) of the given kind for block `index`. */
static asdk_asm_status apply_delta(asdk_anthropic *a, int64_t index, enum delta_kind kind, const char *p, size_t n,
                                   int *go)
{
    asdk_anth_slot *s = find_slot(a, index);
    if (!s || !s->open || s->block == NO_BLOCK) return ASDK_ASM_OK;
    asdk_block *b = &a->turn->blocks[s->block];
    switch (kind) {
    case D_TEXT:
        if (b->type == ASDK_BLOCK_TEXT) {
            size_t from = b->text.len;
            if (append(a, &b->text, p, n)) return a->err.status;
            *go = text_out(a, b, from);
        }
        break;
    case D_JSON:
        if (b->type == ASDK_BLOCK_TOOL_USE) {
            if (s->from_start) {
                a->turn_bytes -= s->json.len < a->turn_bytes ? s->json.len : a->turn_bytes;
                s->json.len = 0;
                s->from_start = 0;
            }
            if (append(a, &s->json, p, n)) return a->err.status;
        }
        break;
    case D_THINKING:
        if (b->type == ASDK_BLOCK_THINKING && append(a, &b->text, p, n)) return a->err.status;
        break;
    case D_SIGNATURE:
        if (b->type == ASDK_BLOCK_THINKING && append(a, &b->signature, p, n)) return a->err.status;
        break;
    case D_OTHER:
        break;
    }
    return ASDK_ASM_OK;
}

/* A content_block_delta read by the walker. */
static asdk_asm_status block_delta(asdk_anthropic *a, int *go)
{
    static const struct {
        const char *type;
        int node;
        enum delta_kind kind;
    } kinds[] = {
        { "text_delta", N_D_TEXT, D_TEXT }, { "input_json_delta", N_D_JSON, D_JSON },
        { "thinking_delta", N_D_THINKING, D_THINKING }, { "signature_delta", N_D_SIG, D_SIGNATURE },
    };
    int64_t index;
    if (!integer(a, N_INDEX, &index)) return ASDK_ASM_OK;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (!is(a, N_D_TYPE, kinds[i].type)) continue;
        size_t n;
        const char *p = str(a, kinds[i].node, &n);
        return p ? apply_delta(a, index, kinds[i].kind, p, n, go) : ASDK_ASM_OK;
    }
    return ASDK_ASM_OK;
}

/* The same for the event the API sends most, in exactly the form it sends it, without yajl:
 *     {"type":"content_block_delta","index":N,"delta":{"type":"text_delta","text":"…"}}
 * (or input_json_delta / partial_json, thinking_delta / thinking, signature_delta / signature), N a
 * non-negative integer of at most 18 digits, no blanks, the string without \u escapes. It must give what the
 * general path gives (fuzz/fuzz_sse.c checks that): anything else — other spacing or key order, \u escapes,
 * a control character, ill-formed UTF-8, trailing bytes — returns 0 and the general path (yajl) decides,
 * errors included. Returns 1 with *st set when it handled the event. */
#define FAST_HEAD "{\"type\":\"content_block_delta\",\"index\":"
#define FAST_MID ",\"delta\":{\"type\":\""

static int fast_delta(asdk_anthropic *a, const char *d, size_t n, asdk_asm_status *st, int *go)
{
    static const struct {
        const char *tail; /* delta type and field up to the opening quote of the string */
        size_t len;
        enum delta_kind kind;
    } kinds[] = {
#define K(s, kind) { s, sizeof(s) - 1, kind }
        K("text_delta\",\"text\":\"", D_TEXT), K("input_json_delta\",\"partial_json\":\"", D_JSON),
        K("thinking_delta\",\"thinking\":\"", D_THINKING), K("signature_delta\",\"signature\":\"", D_SIGNATURE),
#undef K
    };
    size_t i = sizeof FAST_HEAD - 1;
    if (n < i + 1 || memcmp(d, FAST_HEAD, i) != 0) return 0;
    int64_t index = 0;
    if (d[i] == '0') {
        i++;
    } else {
        size_t start = i;
        while (i < n && d[i] >= '0' && d[i] <= '9' && i - start < 18) index = index * 10 + (d[i++] - '0');
        if (i == start) return 0;
    }
    if (n - i < sizeof FAST_MID - 1 || memcmp(d + i, FAST_MID, sizeof FAST_MID - 1) != 0) return 0;
    i += sizeof FAST_MID - 1;
    enum delta_kind kind = D_OTHER;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        if (n - i >= kinds[k].len && memcmp(d + i, kinds[k].tail, kinds[k].len) == 0) {
            kind = kinds[k].kind;
            i += kinds[k].len;
            break;
        }
    }
    if (kind == D_OTHER) return 0;

    size_t from = i;
    int escaped = 0;
    for (; i < n; i++) {
        unsigned char c = (unsigned char)d[i];
        if (c == '"') break;
        if (c < 0x20) return 0;
        if (c == '\\') {
            if (i + 1 >= n || !memchr("\"\\/bfnrt", d[i + 1], 8)) return 0; /* \u and bad escapes: yajl decides */
            escaped = 1;
            i++;
        }
    }
    if (i >= n || n - i != 3 || d[i + 1] != '}' || d[i + 2] != '}') return 0;
    size_t len = i - from;
    const char *p = d + from;
    if (!asdk_utf8_valid(p, len)) return 0;
    if (escaped) {
        a->arena.len = 0;
        if (asdk_buf_reserve(&a->arena, len)) {
            *st = nomem(a);
            return 1;
        }
        char *out = a->arena.ptr;
        for (size_t k = 0; k < len; k++) {
            char c = p[k];
            if (c == '\\') {
                switch (p[++k]) {
                case 'b': c = '\b'; break;
                case 'f': c = '\f'; break;
                case 'n': c = '\n'; break;
                case 'r': c = '\r'; break;
                case 't': c = '\t'; break;
                default: c = p[k]; break; /* " \\ / */
                }
            }
            *out++ = c;
        }
        p = a->arena.ptr;
        len = (size_t)(out - a->arena.ptr);
    }
    *st = apply_delta(a, index, kind, p, len, go);
    return 1;
}

static asdk_asm_status close_all(asdk_anthropic *a)
{
    for (size_t i = 0; i < a->nslots; i++) {
        asdk_asm_status st = close_slot(a, &a->slots[i]);
        if (st) return st;
    }
    return ASDK_ASM_OK;
}

static asdk_asm_status set_error(asdk_anthropic *a)
{
    size_t n;
    const char *s = str(a, N_E_TYPE, &n);
    if (!s || !n) {
        s = "api_error";
        n = 9;
    }
    if (charge(a, n) || asdk_asm_set(&a->turn->error_type, s, n)) return a->err.status ? a->err.status : nomem(a);
    s = str(a, N_E_MSG, &n);
    if (!s) n = 0;
    if (charge(a, n) || asdk_asm_set(&a->turn->error_message, s ? s : "", n))
        return a->err.status ? a->err.status : nomem(a);
    return ASDK_ASM_OK;
}

#define NAME_IS(s, n, lit) ((n) == sizeof(lit) - 1 && memcmp((s), lit, sizeof(lit) - 1) == 0)

/* Event names worth parsing: the known ones, and "message" (no "event:" line). */
static int known_name(const char *t, size_t n)
{
    return NAME_IS(t, n, "content_block_delta") || NAME_IS(t, n, "content_block_start") ||
           NAME_IS(t, n, "content_block_stop") || NAME_IS(t, n, "message_start") || NAME_IS(t, n, "message_delta") ||
           NAME_IS(t, n, "message_stop") || NAME_IS(t, n, "error") || NAME_IS(t, n, "message");
}

asdk_asm_status asdk_anthropic_event(asdk_anthropic *a, const char *type, size_t tlen, const char *data,
                                     size_t dlen)
{
    if (a->err.status == ASDK_ASM_ABORTED) a->err.status = ASDK_ASM_OK;
    if (a->err.status) return a->err.status;
    if (a->turn->complete || asdk_asm_blank(data, dlen) || !known_name(type, tlen)) return ASDK_ASM_OK;
    int go = 1;
    asdk_asm_status st;
    if (asdk_asm_text_error(a->turn, type, tlen, data, dlen, &st)) return st ? nomem(a) : ASDK_ASM_OK;
    if (!a->no_fast_path && fast_delta(a, data, dlen, &st, &go)) {
        if (st) return st;
        return go ? ASDK_ASM_OK : (a->err.status = ASDK_ASM_ABORTED);
    }
    a->body = 0;
    st = parse(a, data, dlen, "event data is not valid JSON");
    if (st) return st;

    size_t n;
    const char *t = str(a, N_TYPE, &n);
    if (!t) {
        t = type;
        n = tlen;
    }
    if (NAME_IS(t, n, "content_block_delta")) {
        st = block_delta(a, &go);
    } else if (NAME_IS(t, n, "content_block_start")) {
        st = block_start(a, &go);
    } else if (NAME_IS(t, n, "content_block_stop")) {
        int64_t index;
        asdk_anth_slot *s = integer(a, N_INDEX, &index) ? find_slot(a, index) : NULL;
        if (s) st = close_slot(a, s);
    } else if (NAME_IS(t, n, "message_start")) {
        if (set_string(a, &a->turn->id, N_M_ID) || set_string(a, &a->turn->model, N_M_MODEL)) return a->err.status;
        set_stop_reason(a);
        set_usage(a);
    } else if (NAME_IS(t, n, "message_delta")) {
        set_stop_reason(a);
        set_usage(a);
    } else if (NAME_IS(t, n, "message_stop")) {
        st = close_all(a);
        if (!st) a->turn->complete = 1;
    } else if (NAME_IS(t, n, "error")) {
        st = set_error(a);
    }
    if (a->arena.cap > ((size_t)8 << 20)) asdk_buf_free(&a->arena); /* one huge event does not pin its size */
    if (st) return st;
    if (!go) return a->err.status = ASDK_ASM_ABORTED;
    return ASDK_ASM_OK;
}

asdk_asm_status asdk_anthropic_finish(asdk_anthropic *a)
{
    if (a->err.status == ASDK_ASM_ABORTED) a->err.status = ASDK_ASM_OK;
    if (a->err.status) return a->err.status;
    free_slots(a); /* blocks never stopped keep "{}" as their input */
    return ASDK_ASM_OK;
}

/* ---- whole bodies ------------------------------------------------------------------------------------ */

static asdk_asm_status body_block(asdk_anthropic *a)
{
    asdk_block_type type = block_type(a);
    if (!type) return ASDK_ASM_OK;
    int go = 1;
    asdk_asm_status st = fill_block(a, type, &go);
    if (st || type != ASDK_BLOCK_TOOL_USE) return st;
    asdk_block *b = &a->turn->blocks[a->turn->nblocks - 1];
    if (has(a, N_CB_INPUT, CAPTURED_OBJECT))
        return set_input(a, b, a->arena.ptr + a->f[N_CB_INPUT].off, a->f[N_CB_INPUT].len, 1);
    if (has(a, N_CB_INPUT, ASDK_ABSENT)) return ASDK_ASM_OK; /* stays "{}" */
    return asdk_asm_fail(&a->err, ASDK_ASM_BAD_INPUT, NULL, 0, "tool_use input is not a JSON object");
}

asdk_asm_status asdk_anthropic_parse_body(asdk_anthropic *a, const char *json, size_t len)
{
    if (a->err.status == ASDK_ASM_ABORTED) a->err.status = ASDK_ASM_OK;
    if (a->err.status) return a->err.status;
    a->body = 1;
    asdk_asm_status st = parse(a, json, len, "response body is not valid JSON");
    a->body = 0;
    if (st) return st;
    if (is(a, N_TYPE, "error") || (!has(a, N_TYPE, ASDK_STRING) && has(a, N_E_TYPE, ASDK_STRING)))
        return set_error(a);
    if (set_string(a, &a->turn->id, N_M_ID) || set_string(a, &a->turn->model, N_M_MODEL)) return a->err.status;
    set_stop_reason(a);
    set_usage(a);
    a->turn->complete = 1;
    return ASDK_ASM_OK;
}

asdk_asm_status asdk_anthropic_parse_error(asdk_anthropic *a, const char *json, size_t len)
{
    if (a->err.status == ASDK_ASM_ABORTED) a->err.status = ASDK_ASM_OK;
    if (a->err.status) return a->err.status;
    a->body = 0;
    asdk_asm_status st = parse(a, json, len, "error body is not valid JSON");
    if (st) return st;
    if (!has(a, N_E_TYPE, ASDK_STRING) && !has(a, N_E_MSG, ASDK_STRING))
        return asdk_asm_fail(&a->err, ASDK_ASM_BAD_JSON, json, len, "error body has no \"error\" object");
    return set_error(a);
}
