/* openai.c — OpenAI-compatible chat-completions response assembler (plain C99, no Ruby). See openai.h. */
#include "openai.h"

#include <stdio.h>

#define NO_BLOCK SIZE_MAX
#define PRESENT 0xFE         /* an object was there */
#define CAPTURED_OBJECT 0xFF /* arguments sent as an object: f[].off/len hold its JSON text */
#define CAPTURED_ARRAY 0xFD
#define CALL_COST (sizeof(asdk_block) + sizeof(asdk_oai_call) + ASDK_ASM_INDEX_COST)

enum {
    N_ROOT = ASDK_JW_ROOT, N_ID, N_MODEL, N_CHOICES, N_CHOICE, N_DELTA, N_CONTENT, N_FINISH,
    N_TCS, N_TC, N_TC_INDEX, N_TC_ID, N_FN, N_FN_NAME, N_FN_ARGS,
    N_USAGE, N_U_PROMPT, N_U_COMPLETION, N_U_PTD, N_U_CACHED, N_U_HIT,
    N_ERR, N_E_TYPE, N_E_CODE, N_E_MSG,
    N_COUNT
};
typedef char nodes_fit[(int)N_COUNT <= (int)ASDK_OAI_FIELDS ? 1 : -1];

static const asdk_jw_edge root_edges[] = {
    ASDK_JW_KEY(N_ID, 0, "id"), ASDK_JW_KEY(N_MODEL, 0, "model"), ASDK_JW_KEY(N_CHOICES, 0, "choices"),
    ASDK_JW_KEY(N_USAGE, 0, "usage"), ASDK_JW_KEY(N_ERR, 0, "error"), ASDK_JW_END
};
static const asdk_jw_edge choices_edges[] = { ASDK_JW_ELEMENT(N_CHOICE, 0), ASDK_JW_END };
static const asdk_jw_edge choice_edges[] = {
    ASDK_JW_KEY(N_DELTA, 0, "delta"), ASDK_JW_KEY(N_DELTA, 0, "message"), ASDK_JW_KEY(N_FINISH, 0, "finish_reason"),
    ASDK_JW_END
};
static const asdk_jw_edge delta_edges[] = {
    ASDK_JW_KEY(N_CONTENT, 0, "content"), ASDK_JW_KEY(N_TCS, 0, "tool_calls"), ASDK_JW_END
};
static const asdk_jw_edge calls_edges[] = { ASDK_JW_ELEMENT(N_TC, 0), ASDK_JW_END };
static const asdk_jw_edge call_edges[] = {
    ASDK_JW_KEY(N_TC_INDEX, 0, "index"), ASDK_JW_KEY(N_TC_ID, 0, "id"), ASDK_JW_KEY(N_FN, 0, "function"), ASDK_JW_END
};
static const asdk_jw_edge function_edges[] = {
    ASDK_JW_KEY(N_FN_NAME, 0, "name"), ASDK_JW_KEY(N_FN_ARGS, ASDK_JW_CAPTURE, "arguments"), ASDK_JW_END
};
static const asdk_jw_edge usage_edges[] = {
    ASDK_JW_KEY(N_U_PROMPT, 0, "prompt_tokens"), ASDK_JW_KEY(N_U_COMPLETION, 0, "completion_tokens"),
    ASDK_JW_KEY(N_U_PTD, 0, "prompt_tokens_details"), ASDK_JW_KEY(N_U_HIT, 0, "prompt_cache_hit_tokens"), ASDK_JW_END
};
static const asdk_jw_edge details_edges[] = { ASDK_JW_KEY(N_U_CACHED, 0, "cached_tokens"), ASDK_JW_END };
static const asdk_jw_edge error_edges[] = {
    ASDK_JW_KEY(N_E_TYPE, 0, "type"), ASDK_JW_KEY(N_E_CODE, 0, "code"), ASDK_JW_KEY(N_E_MSG, 0, "message"), ASDK_JW_END
};
static const asdk_jw_edge *const children[N_COUNT] = {
    [N_ROOT] = root_edges, [N_CHOICES] = choices_edges, [N_CHOICE] = choice_edges, [N_DELTA] = delta_edges,
    [N_TCS] = calls_edges, [N_TC] = call_edges, [N_FN] = function_edges, [N_USAGE] = usage_edges,
    [N_U_PTD] = details_edges, [N_ERR] = error_edges,
};

/* ---- setup ------------------------------------------------------------------------------------------- */

void asdk_openai_init(asdk_openai *o, asdk_turn *turn, size_t max_turn)
{
    memset(o, 0, sizeof *o);
    o->turn = turn;
    o->max_turn = max_turn ? max_turn : ASDK_DEFAULT_MAX_TURN;
    o->text_block = NO_BLOCK;
    asdk_jw_init(&o->w);
}

static void free_calls(asdk_openai *o)
{
    for (size_t i = 0; i < o->ncalls; i++) asdk_buf_free(&o->calls[i].args);
    o->ncalls = 0;
    asdk_asm_index_clear(&o->call_of);
}

void asdk_openai_free(asdk_openai *o)
{
    free_calls(o);
    free(o->calls);
    o->calls = NULL;
    o->calls_cap = 0;
    asdk_asm_index_free(&o->call_of);
    asdk_buf_free(&o->arena);
    asdk_jw_free(&o->w);
}

void asdk_openai_reset(asdk_openai *o)
{
    free_calls(o);
    memset(&o->err, 0, sizeof o->err);
    o->turn_bytes = 0;
    o->text_block = NO_BLOCK;
    o->body = 0;
}

/* ---- helpers ----------------------------------------------------------------------------------------- */

static asdk_asm_status nomem(asdk_openai *o)
{
    return asdk_asm_fail(&o->err, ASDK_ASM_NOMEM, NULL, 0, "out of memory");
}

static int charge(asdk_openai *o, size_t n)
{
    if (n > o->max_turn - o->turn_bytes) {
        char message[160];
        snprintf(message, sizeof message, "the response is larger than max_turn_bytes (%zu)", o->max_turn);
        asdk_asm_fail(&o->err, ASDK_ASM_TOO_BIG, NULL, 0, message);
        return -1;
    }
    o->turn_bytes += n;
    return 0;
}

static int append(asdk_openai *o, asdk_buf *b, const char *s, size_t n)
{
    if (charge(o, n)) return -1;
    if (asdk_buf_append(b, s, n)) return nomem(o), -1;
    return 0;
}

static const char *str(const asdk_openai *o, int node, size_t *n)
{
    if (o->f[node].kind != ASDK_STRING) {
        *n = 0;
        return NULL;
    }
    *n = o->f[node].len;
    return *n ? o->arena.ptr + o->f[node].off : "";
}

static int integer(const asdk_openai *o, int node, int64_t *out)
{
    return o->f[node].kind == ASDK_NUMBER && asdk_asm_int64(o->arena.ptr + o->f[node].off, o->f[node].len, out);
}

static int store(asdk_openai *o, unsigned node, unsigned char kind, const char *s, size_t n)
{
    o->f[node].kind = kind;
    o->f[node].off = o->arena.len;
    o->f[node].len = n;
    if (asdk_buf_append(&o->arena, s, n)) {
        nomem(o);
        return 0;
    }
    return 1;
}

static int fail_cb(asdk_openai *o)
{
    o->cb_status = o->err.status ? o->err.status : ASDK_ASM_NOMEM;
    return 0;
}

/* ---- blocks ------------------------------------------------------------------------------------------ */

static asdk_block *new_block(asdk_openai *o, asdk_block_type type, size_t cost)
{
    if (charge(o, cost)) return NULL;
    asdk_block *b = asdk_turn_add_block(o->turn, type);
    if (!b) nomem(o);
    o->turn->began = 1;
    return b;
}

static int add_text(asdk_openai *o, const char *s, size_t n)
{
    if (!n) return 1;
    if (o->text_block == NO_BLOCK) {
        if (!new_block(o, ASDK_BLOCK_TEXT, sizeof(asdk_block))) return 0;
        o->text_block = o->turn->nblocks - 1;
    }
    return !append(o, &o->turn->blocks[o->text_block].text, s, n);
}

static asdk_oai_call *find_call(asdk_openai *o, int64_t index)
{
    if (index >= 0 && (uint64_t)index < o->ncalls && o->calls[index].index == index) return &o->calls[index];
    size_t pos;
    return asdk_asm_index_get(&o->call_of, index, &pos) ? &o->calls[pos] : NULL;
}

static asdk_oai_call *add_call(asdk_openai *o, int64_t index)
{
    if (o->ncalls == o->calls_cap) {
        size_t cap = o->calls_cap ? o->calls_cap * 2 : 4;
        asdk_oai_call *c = cap <= SIZE_MAX / sizeof *c ? realloc(o->calls, cap * sizeof *c) : NULL;
        if (!c) return nomem(o), NULL;
        o->calls = c;
        o->calls_cap = cap;
    }
    asdk_block *b = new_block(o, ASDK_BLOCK_TOOL_USE, CALL_COST);
    if (!b) return NULL;
    if (append(o, &b->text, "{}", 2)) return NULL;
    if (asdk_asm_index_put(&o->call_of, index, o->ncalls)) return nomem(o), NULL;
    asdk_oai_call *c = &o->calls[o->ncalls++];
    memset(c, 0, sizeof *c);
    c->index = index;
    c->block = o->turn->nblocks - 1;
    return c;
}

/* A tool_calls[] element of the first choice, its fields in f[N_TC_*] / f[N_FN_*]. */
static int tool_call(asdk_openai *o)
{
    int64_t index;
    if (!integer(o, N_TC_INDEX, &index)) index = o->tc_pos;
    asdk_oai_call *c = find_call(o, index);
    if (!c && !(c = add_call(o, index))) return 0;
    asdk_block *b = &o->turn->blocks[c->block];
    size_t n;
    const char *s;
    if ((s = str(o, N_TC_ID, &n)) && n && (charge(o, n) || asdk_asm_set(&b->id, s, n))) return 0;
    if ((s = str(o, N_FN_NAME, &n)) && n && (charge(o, n) || asdk_asm_set(&b->name, s, n))) return 0;
    unsigned char k = o->f[N_FN_ARGS].kind;
    if (k == ASDK_STRING) {
        s = str(o, N_FN_ARGS, &n);
        if (append(o, &c->args, s, n)) return 0;
    } else if (k == CAPTURED_OBJECT || k == CAPTURED_ARRAY) { /* a whole value: it replaces the text so far */
        o->turn_bytes -= c->args.len < o->turn_bytes ? c->args.len : o->turn_bytes;
        c->args.len = 0;
        if (append(o, &c->args, o->arena.ptr + o->f[N_FN_ARGS].off, o->f[N_FN_ARGS].len)) return 0;
    }
    return 1;
}

/* ---- walker callbacks -------------------------------------------------------------------------------- */

static int on_scalar(void *ud, unsigned node, asdk_kind kind, const char *s, size_t n)
{
    asdk_openai *o = ud;
    if (node == N_CONTENT) { /* applied at once, in order with the tool calls */
        if (o->choice == 1 && kind == ASDK_STRING && !add_text(o, s, n)) return fail_cb(o);
        return 1;
    }
    if (kind == ASDK_STRING || kind == ASDK_NUMBER) return store(o, node, (unsigned char)kind, s, n) || fail_cb(o);
    o->f[node].kind = (unsigned char)kind;
    o->f[node].len = 0;
    return 1;
}

static int on_captured(void *ud, unsigned node, int kind, const char *json, size_t n)
{
    asdk_openai *o = ud;
    return store(o, node, kind == ASDK_JW_OBJECT ? CAPTURED_OBJECT : CAPTURED_ARRAY, json, n) || fail_cb(o);
}

static int on_open(void *ud, unsigned node, int is_map)
{
    asdk_openai *o = ud;
    switch (node) {
    case N_CHOICE:
        o->choice++;
        break;
    case N_TCS:
        o->tc_pos = -1;
        break;
    case N_TC:
        o->tc_pos++;
        for (int i = N_TC_INDEX; i <= N_FN_ARGS; i++) o->f[i].kind = ASDK_ABSENT;
        o->tc_mark = o->arena.len;
        break;
    case N_ERR:
        if (is_map) o->f[N_ERR].kind = PRESENT;
        break;
    }
    return 1;
}

static int on_close(void *ud, unsigned node, int is_map)
{
    asdk_openai *o = ud;
    if (node == N_TC && is_map && o->choice == 1) {
        int ok = tool_call(o);
        o->arena.len = o->tc_mark;
        if (!ok) return fail_cb(o);
    }
    return 1;
}

static const asdk_jw_schema schema = { children, N_COUNT, on_scalar, on_open, on_close, on_captured };

/* ---- applying a document ----------------------------------------------------------------------------- */

static asdk_asm_status parse(asdk_openai *o, const char *json, size_t len, const char *what)
{
    asdk_json_error je;
    memset(o->f, 0, sizeof o->f);
    o->arena.len = 0;
    o->cb_status = ASDK_ASM_OK;
    o->choice = 0;
    o->tc_pos = -1;
    if (!asdk_jw_run(&o->w, json, len, &schema, o, &je)) return ASDK_ASM_OK;
    if (je.status == ASDK_JSON_ABORTED) {
        if (o->err.status && o->err.status != ASDK_ASM_ABORTED) return o->err.status;
        return asdk_asm_fail(&o->err, o->cb_status ? o->cb_status : ASDK_ASM_NOMEM, json, len, "aborted");
    }
    return asdk_asm_json_fail(&o->err, &je, what, json, len);
}

static void set_finish(asdk_openai *o)
{
    size_t n;
    const char *s = str(o, N_FINISH, &n);
    if (!s) return;
#define MAP(from, to)                                                          \
    if (n == sizeof(from) - 1 && memcmp(s, from, n) == 0) {                    \
        asdk_asm_stop_reason(o->turn, to, sizeof(to) - 1);                     \
        return;                                                                \
    }
    MAP("stop", "end_turn");
    MAP("tool_calls", "tool_use");
    MAP("function_call", "tool_use");
    MAP("length", "max_tokens");
    MAP("content_filter", "refusal");
#undef MAP
    asdk_asm_stop_reason(o->turn, s, n);
}

/* A usage count: any number >= 0, absurd ones saturated (see asdk_asm_count). */
static int count(const asdk_openai *o, int node, int64_t *out)
{
    return o->f[node].kind == ASDK_NUMBER && asdk_asm_count(o->arena.ptr + o->f[node].off, o->f[node].len, out);
}

static void set_usage(asdk_openai *o)
{
    asdk_usage *u = &o->turn->usage;
    int64_t prompt, cached = 0, out;
    if (!count(o, N_U_CACHED, &cached) && !count(o, N_U_HIT, &cached)) cached = 0;
    if (count(o, N_U_PROMPT, &prompt)) {
        if (cached > prompt) cached = prompt;
        u->input_tokens = prompt - cached;
        u->cache_read_input_tokens = cached;
        o->turn->has_usage = 1;
    }
    if (count(o, N_U_COMPLETION, &out)) u->output_tokens = out, o->turn->has_usage = 1;
}

static int set_first(asdk_openai *o, asdk_buf *b, int node)
{
    size_t n;
    const char *s = str(o, node, &n);
    if (!s || b->len) return 0;
    if (charge(o, n)) return -1;
    return asdk_asm_set(b, s, n) ? (nomem(o), -1) : 0;
}

static asdk_asm_status set_error(asdk_openai *o)
{
    size_t tn = 0, mn = 0;
    const char *t = NULL, *m = NULL;
    if (o->f[N_ERR].kind == ASDK_STRING) {
        m = str(o, N_ERR, &mn);
    } else {
        t = str(o, N_E_TYPE, &tn);
        if ((!t || !tn) && (o->f[N_E_CODE].kind == ASDK_STRING || o->f[N_E_CODE].kind == ASDK_NUMBER)) {
            t = o->arena.ptr ? o->arena.ptr + o->f[N_E_CODE].off : "";
            tn = o->f[N_E_CODE].len;
        }
        m = str(o, N_E_MSG, &mn);
    }
    if (!t || !tn) {
        t = "api_error";
        tn = 9;
    }
    if (!m) m = "";
    if (charge(o, tn + mn) || asdk_asm_set(&o->turn->error_type, t, tn) ||
        asdk_asm_set(&o->turn->error_message, m, mn))
        return o->err.status ? o->err.status : nomem(o);
    return ASDK_ASM_OK;
}

static int is_error(const asdk_openai *o)
{
    return o->f[N_ERR].kind == PRESENT || o->f[N_ERR].kind == ASDK_STRING;
}

/* The end of the response: tool call arguments checked and moved into their blocks. */
static asdk_asm_status finalize(asdk_openai *o)
{
    for (size_t i = 0; i < o->ncalls; i++) {
        asdk_oai_call *c = &o->calls[i];
        asdk_block *b = &o->turn->blocks[c->block];
        const char *json = c->args.len ? c->args.ptr : "";
        size_t n = c->args.len;
        if (asdk_asm_blank(json, n)) {
            json = "{}";
            n = 2;
        } else {
            asdk_json_error je;
            if (!asdk_jw_is_object(&o->w, json, n, &je)) {
                if (je.status == ASDK_JSON_NOMEM) return nomem(o);
                char message[sizeof je.message + 64];
                snprintf(message, sizeof message, "tool call arguments are not a JSON object: %s", je.message);
                return asdk_asm_fail(&o->err, ASDK_ASM_BAD_INPUT, json, n, message);
            }
        }
        if (asdk_asm_set(&b->text, json, n)) return nomem(o);
    }
    if (o->ncalls && !strcmp(o->turn->stop_reason, "end_turn")) asdk_asm_stop_reason(o->turn, "tool_use", 8);
    free_calls(o);
    o->turn->complete = 1;
    return ASDK_ASM_OK;
}

/* Applies what a chunk or body held besides content and tool calls (already applied during the walk). */
static asdk_asm_status apply(asdk_openai *o)
{
    if (set_first(o, &o->turn->id, N_ID) || set_first(o, &o->turn->model, N_MODEL)) return o->err.status;
    set_finish(o);
    set_usage(o);
    if (is_error(o)) return set_error(o);
    return ASDK_ASM_OK;
}

#define NAME_IS(s, n, lit) ((n) == sizeof(lit) - 1 && memcmp((s), lit, sizeof(lit) - 1) == 0)

static int done(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) n--;
    return NAME_IS(s, n, "[DONE]");
}

asdk_asm_status asdk_openai_event(asdk_openai *o, const char *type, size_t tlen, const char *data, size_t dlen)
{
    if (o->err.status == ASDK_ASM_ABORTED) o->err.status = ASDK_ASM_OK;
    if (o->err.status) return o->err.status;
    if (o->turn->complete || asdk_asm_blank(data, dlen) ||
        !(NAME_IS(type, tlen, "message") || NAME_IS(type, tlen, "error")))
        return ASDK_ASM_OK;
    if (done(data, dlen)) return finalize(o);
    asdk_asm_status st;
    if (asdk_asm_text_error(o->turn, type, tlen, data, dlen, &st)) return st ? nomem(o) : ASDK_ASM_OK;

    size_t from = o->text_block == NO_BLOCK ? 0 : o->turn->blocks[o->text_block].text.len;
    o->body = 0;
    st = parse(o, data, dlen, "chunk is not valid JSON");
    if (!st) st = apply(o);
    if (o->arena.cap > ((size_t)8 << 20)) asdk_buf_free(&o->arena);
    if (st) return st;
    if (o->on_text && o->text_block != NO_BLOCK) {
        const asdk_buf *text = &o->turn->blocks[o->text_block].text;
        if (text->len > from && !o->on_text(o->ud, text->ptr + from, text->len - from))
            return o->err.status = ASDK_ASM_ABORTED;
    }
    return ASDK_ASM_OK;
}

asdk_asm_status asdk_openai_finish(asdk_openai *o)
{
    if (o->err.status == ASDK_ASM_ABORTED) o->err.status = ASDK_ASM_OK;
    if (o->err.status) return o->err.status;
    free_calls(o); /* no [DONE]: calls keep "{}" and the turn stays incomplete */
    return ASDK_ASM_OK;
}

asdk_asm_status asdk_openai_parse_body(asdk_openai *o, const char *json, size_t len)
{
    if (o->err.status == ASDK_ASM_ABORTED) o->err.status = ASDK_ASM_OK;
    if (o->err.status) return o->err.status;
    o->body = 1;
    asdk_asm_status st = parse(o, json, len, "response body is not valid JSON");
    o->body = 0;
    if (!st) st = apply(o);
    if (st || is_error(o)) return st;
    return finalize(o);
}
