/* loop.c — the agent loop state machine; see loop.h. */
#include "loop.h"

#include <openssl/rand.h>
#include <sys/types.h>
#ifdef __linux__
#include <sys/random.h>
#endif
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "jsonw.h"

#define FIRST_CALL_OVERHEAD_TOKENS 1024 /* tokens a provider adds around a request (the tool-use system prompt is ~350) */
#define MIN_USEFUL_OUTPUT 64            /* below this a clipped request is not worth making */
#define MAX_RETRY_AFTER_MS 60000

typedef enum { ROLE_USER = 1, ROLE_ASSISTANT } role;

/* A content block of the transcript: an asdk_block (text, tool_use, thinking, redacted) or a tool result. */
typedef struct {
    asdk_block b;        /* for TOOL_RESULT: b.text is the content, b.id the tool_use_id */
    int tool_result;
    int is_error;
} tblock;

typedef struct {
    role role;
    tblock *blocks;
    size_t n, cap;
} entry;

typedef enum {
    CLIP_NONE = 0,
    CLIP_BUDGET,
    CLIP_TOKENS
} clip_reason;

struct asdk_loop {
    asdk_loop_io io;
    asdk_provider provider;
    char *model, *tools_json, *tool_names_json, *cwd;
    char *system_json; /* the system prompt as a JSON string, quoted once */
    char session_id[37];
    int prompt_caching, include_partial, stream;
    int64_t max_turns, max_output_tokens, max_retries, max_budget_micros, max_tokens;
    int64_t timeout_ms;     /* the whole run; 0: none */
    asdk_price price;
    int has_price;

    asdk_loop_state state;
    entry *entries;
    size_t nentries, entries_cap;

    /* the current model call */
    asdk_buf body;
    int64_t request_max_tokens;
    int64_t input_bound;    /* proven bound on this call's input tokens (see next_call) */
    int64_t billed_input;   /* input tokens billed for the last attempt (reported, or the bound) */
    clip_reason clipped;
    int64_t attempt;        /* retries made for this call */
    int64_t sent_at_ms, sleep_ms;
    int deltas_off;         /* an attempt that streamed content failed: later deltas of this call are not emitted */
    size_t prompt_bytes;    /* size of the request without max_tokens, for the input-token bound */
    int64_t last_input_tokens; /* input tokens billed for the last call (incl. cache), -1 before the first */
    size_t last_prompt_bytes;

    /* TOOLS */
    size_t tool_entry;      /* index of the assistant entry whose tool calls run */
    size_t *tool_blocks;    /* indexes of its tool_use blocks */
    asdk_buf *results;
    signed char *result_set; /* -1 unset, 0 ok, 1 error */
    size_t ntools;

    /* accounting: every sum saturates (asdk_sat_add) */
    int64_t turns;
    int64_t cost_micros, tokens; /* billed: reported usage, or pre-call bounds where none was reported */
    asdk_usage total;            /* as reported */
    int64_t started_ms, api_ms;
    asdk_buf stop_reason, final_text;
    asdk_buf line; /* the line being emitted */

    asdk_loop_attempt last; /* the last attempt (asdk_loop_last_attempt) */
    int api_error;          /* the result being written ends the run on `last`'s failure: it carries "api_error" */
};

/* ---- small helpers ------------------------------------------------------------------------------------- */

static char *dup_cstr(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* s as a NUL-terminated JSON string literal (malloc'd), or NULL when memory runs out. */
static char *quote_cstr(const char *s)
{
    asdk_buf b = { 0 };
    if (asdk_json_quote(&b, s, strlen(s)) || asdk_buf_append(&b, "", 1)) {
        asdk_buf_free(&b);
        return NULL;
    }
    return b.ptr;
}

/* src into dst (cap bytes, NUL-terminated), cut on a UTF-8 character boundary when it does not fit. */
static void copy_cut(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap) {
        len = cap - 1;
        while (len && ((unsigned char)src[len] & 0xC0) == 0x80) len--; /* src[len] continues a character: cut before it */
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static int buf_set(asdk_buf *b, const char *p, size_t n)
{
    b->len = 0;
    return asdk_buf_append(b, p, n);
}

/* n bytes from a CSPRNG: on Linux the kernel's, straight (one syscall, no lock, fork-safe; OpenSSL 3's DRBG costs
 * several times as much per call), else OpenSSL's. */
static int random_bytes(unsigned char *r, size_t n)
{
#ifdef __linux__
    if (getrandom(r, n, 0) == (ssize_t)n) return 0;
#endif
    return RAND_bytes(r, (int)n) == 1 ? 0 : -1;
}

static void uuid_v4(char out[37])
{
    unsigned char r[16];
    if (random_bytes(r, sizeof r)) {
        /* No random bytes to be had (it practically cannot happen): fall back to something unique per process. */
        static unsigned long counter;
        memset(r, 0, sizeof r);
        unsigned long c = ++counter;
        memcpy(r, &c, sizeof c < sizeof r ? sizeof c : sizeof r);
    }
    r[6] = (unsigned char)((r[6] & 0x0F) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3F) | 0x80);
    static const char hex[] = "0123456789abcdef";
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[r[i] >> 4];
        out[o++] = hex[r[i] & 15];
    }
    out[o] = '\0';
}

static void entry_free(entry *e)
{
    for (size_t i = 0; i < e->n; i++) asdk_block_free(&e->blocks[i].b);
    free(e->blocks);
    memset(e, 0, sizeof *e);
}

static entry *add_entry(asdk_loop *l, role r)
{
    if (l->nentries == l->entries_cap) {
        size_t cap = l->entries_cap ? l->entries_cap * 2 : 16;
        entry *p = realloc(l->entries, cap * sizeof *p);
        if (!p) return NULL;
        l->entries = p;
        l->entries_cap = cap;
    }
    entry *e = &l->entries[l->nentries++];
    memset(e, 0, sizeof *e);
    e->role = r;
    return e;
}

static tblock *add_block(entry *e)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 4;
        tblock *p = realloc(e->blocks, cap * sizeof *p);
        if (!p) return NULL;
        e->blocks = p;
        e->cap = cap;
    }
    tblock *b = &e->blocks[e->n++];
    memset(b, 0, sizeof *b);
    return b;
}

static int64_t now(asdk_loop *l)
{
    return l->io.now_ms(l->io.ud);
}

/* ---- emitting stream-json lines ------------------------------------------------------------------------ */

static void line_start(asdk_loop *l, asdk_jw *w, const char *type)
{
    l->line.len = 0;
    w->out = &l->line;
    w->failed = 0;
    asdk_jw_lit(w, "{\"type\":");
    asdk_jw_cstr(w, type);
}

/* Adds session_id and a fresh uuid, closes the object and emits it. Returns 0, or -1 (no memory / caller abort). */
static int line_emit(asdk_loop *l, asdk_jw *w)
{
    char uuid[37];
    uuid_v4(uuid);
    asdk_jw_lit(w, ",\"session_id\":");
    asdk_jw_cstr(w, l->session_id);
    asdk_jw_lit(w, ",\"uuid\":");
    asdk_jw_cstr(w, uuid);
    asdk_jw_lit(w, "}");
    if (w->failed) return -1;
    return l->io.emit(l->io.ud, l->line.ptr, l->line.len) ? 0 : -1;
}

static void write_usage(asdk_jw *w, const asdk_usage *u)
{
    asdk_jw_lit(w, "{\"input_tokens\":");
    asdk_jw_int(w, u->input_tokens);
    asdk_jw_lit(w, ",\"cache_creation_input_tokens\":");
    asdk_jw_int(w, u->cache_creation_input_tokens);
    asdk_jw_lit(w, ",\"cache_read_input_tokens\":");
    asdk_jw_int(w, u->cache_read_input_tokens);
    asdk_jw_lit(w, ",\"output_tokens\":");
    asdk_jw_int(w, u->output_tokens);
    if (u->cache_creation_1h_input_tokens) {
        int64_t five = u->cache_creation_input_tokens - u->cache_creation_1h_input_tokens;
        asdk_jw_lit(w, ",\"cache_creation\":{\"ephemeral_5m_input_tokens\":");
        asdk_jw_int(w, five > 0 ? five : 0);
        asdk_jw_lit(w, ",\"ephemeral_1h_input_tokens\":");
        asdk_jw_int(w, u->cache_creation_1h_input_tokens);
        asdk_jw_lit(w, "}");
    }
    asdk_jw_lit(w, "}");
}

/* One transcript block in Anthropic shape. */
static void write_block(asdk_jw *w, const tblock *t, int cache_control)
{
    const asdk_block *b = &t->b;
    if (t->tool_result) {
        asdk_jw_lit(w, "{\"type\":\"tool_result\",\"tool_use_id\":");
        asdk_jw_buf(w, &b->id);
        asdk_jw_lit(w, ",\"content\":");
        asdk_jw_buf(w, &b->text);
        if (t->is_error) asdk_jw_lit(w, ",\"is_error\":true");
    } else {
        switch (b->type) {
        case ASDK_BLOCK_TOOL_USE:
            asdk_jw_lit(w, "{\"type\":\"tool_use\",\"id\":");
            asdk_jw_buf(w, &b->id);
            asdk_jw_lit(w, ",\"name\":");
            asdk_jw_buf(w, &b->name);
            asdk_jw_lit(w, ",\"input\":");
            if (b->text.len) asdk_jw_raw(w, b->text.ptr, b->text.len);
            else asdk_jw_lit(w, "{}");
            break;
        case ASDK_BLOCK_THINKING:
            asdk_jw_lit(w, "{\"type\":\"thinking\",\"thinking\":");
            asdk_jw_buf(w, &b->text);
            asdk_jw_lit(w, ",\"signature\":");
            asdk_jw_buf(w, &b->signature);
            break;
        case ASDK_BLOCK_REDACTED_THINKING:
            asdk_jw_lit(w, "{\"type\":\"redacted_thinking\",\"data\":");
            asdk_jw_buf(w, &b->text);
            break;
        default:
            asdk_jw_lit(w, "{\"type\":\"text\",\"text\":");
            asdk_jw_buf(w, &b->text);
        }
    }
    if (cache_control) asdk_jw_lit(w, ",\"cache_control\":{\"type\":\"ephemeral\"}");
    asdk_jw_lit(w, "}");
}

static void write_blocks(asdk_jw *w, const entry *e, int cache_last)
{
    asdk_jw_lit(w, "[");
    for (size_t i = 0; i < e->n; i++) {
        if (i) asdk_jw_lit(w, ",");
        write_block(w, &e->blocks[i], cache_last && i + 1 == e->n);
    }
    asdk_jw_lit(w, "]");
}

static int emit_init(asdk_loop *l)
{
    asdk_jw w;
    line_start(l, &w, "system");
    asdk_jw_lit(&w, ",\"subtype\":\"init\"");
    if (l->cwd) {
        asdk_jw_lit(&w, ",\"cwd\":");
        asdk_jw_cstr(&w, l->cwd);
    }
    asdk_jw_lit(&w, ",\"tools\":");
    asdk_jw_lit(&w, l->tool_names_json ? l->tool_names_json : "[]");
    asdk_jw_lit(&w, ",\"mcp_servers\":[],\"model\":");
    asdk_jw_cstr(&w, l->model);
    asdk_jw_lit(&w, ",\"permissionMode\":\"default\",\"transport\":\"api\",\"provider\":");
    asdk_jw_lit(&w, l->provider == ASDK_PROVIDER_OPENAI ? "\"openai\"" : "\"anthropic\"");
    return line_emit(l, &w);
}

static int emit_assistant(asdk_loop *l, const entry *e, const asdk_turn *t)
{
    asdk_jw w;
    line_start(l, &w, "assistant");
    asdk_jw_lit(&w, ",\"message\":{\"id\":");
    asdk_jw_buf(&w, &t->id);
    asdk_jw_lit(&w, ",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
    if (t->model.len) asdk_jw_buf(&w, &t->model);
    else asdk_jw_cstr(&w, l->model);
    asdk_jw_lit(&w, ",\"content\":");
    write_blocks(&w, e, 0);
    asdk_jw_lit(&w, ",\"stop_reason\":");
    if (t->stop_reason[0]) asdk_jw_cstr(&w, t->stop_reason);
    else asdk_jw_lit(&w, "null");
    asdk_jw_lit(&w, ",\"stop_sequence\":null,\"usage\":");
    write_usage(&w, &t->usage);
    asdk_jw_lit(&w, "},\"parent_tool_use_id\":null");
    return line_emit(l, &w);
}

static int emit_tool_results(asdk_loop *l, const entry *e)
{
    asdk_jw w;
    line_start(l, &w, "user");
    asdk_jw_lit(&w, ",\"message\":{\"role\":\"user\",\"content\":");
    write_blocks(&w, e, 0);
    asdk_jw_lit(&w, "},\"parent_tool_use_id\":null");
    return line_emit(l, &w);
}

/* Ends the run: emits the result line and moves to DONE. `error` is the message for an error subtype. */
static asdk_loop_state finish(asdk_loop *l, const char *subtype, const char *error)
{
    int is_error = strcmp(subtype, "success") != 0;
    asdk_jw w;
    line_start(l, &w, "result");
    asdk_jw_lit(&w, ",\"subtype\":");
    asdk_jw_cstr(&w, subtype);
    asdk_jw_lit(&w, is_error ? ",\"is_error\":true" : ",\"is_error\":false");
    asdk_jw_lit(&w, ",\"duration_ms\":");
    asdk_jw_int(&w, now(l) - l->started_ms);
    asdk_jw_lit(&w, ",\"duration_api_ms\":");
    asdk_jw_int(&w, l->api_ms);
    asdk_jw_lit(&w, ",\"num_turns\":");
    asdk_jw_int(&w, l->turns);
    asdk_jw_lit(&w, ",\"result\":");
    if (is_error && error) asdk_jw_cstr(&w, error);
    else asdk_jw_buf(&w, &l->final_text);
    asdk_jw_lit(&w, ",\"stop_reason\":");
    if (l->stop_reason.len) asdk_jw_buf(&w, &l->stop_reason);
    else asdk_jw_lit(&w, "null");
    asdk_jw_lit(&w, ",\"total_cost_usd\":");
    if (l->has_price) asdk_jw_micros_as_usd(&w, l->cost_micros);
    else asdk_jw_lit(&w, "null");
    asdk_jw_lit(&w, ",\"total_cost_micros\":");
    if (l->has_price) asdk_jw_int(&w, l->cost_micros);
    else asdk_jw_lit(&w, "null");
    asdk_jw_lit(&w, ",\"usage\":");
    write_usage(&w, &l->total);
    if (is_error && error) {
        asdk_jw_lit(&w, ",\"errors\":[");
        asdk_jw_cstr(&w, error);
        asdk_jw_lit(&w, "]");
    }
    if (l->api_error) { /* {"status":529 | null,"type":"overloaded_error" | null,"retriable":true} */
        const asdk_loop_attempt *a = &l->last;
        asdk_jw_lit(&w, ",\"api_error\":{\"status\":");
        if (a->http_status) asdk_jw_int(&w, a->http_status);
        else asdk_jw_lit(&w, "null");
        asdk_jw_lit(&w, ",\"type\":");
        if (a->error_type[0]) asdk_jw_cstr(&w, a->error_type);
        else asdk_jw_lit(&w, "null");
        asdk_jw_lit(&w, a->retriable ? ",\"retriable\":true}" : ",\"retriable\":false}");
        l->api_error = 0;
    }
    line_emit(l, &w); /* the run ends either way */
    l->state = ASDK_LOOP_DONE;
    return l->state;
}

/* ---- request bodies ------------------------------------------------------------------------------------ */

static void write_messages_anthropic(asdk_loop *l, asdk_jw *w)
{
    asdk_jw_lit(w, "[");
    for (size_t i = 0; i < l->nentries; i++) {
        const entry *e = &l->entries[i];
        if (i) asdk_jw_lit(w, ",");
        asdk_jw_lit(w, e->role == ROLE_USER ? "{\"role\":\"user\",\"content\":" : "{\"role\":\"assistant\",\"content\":");
        write_blocks(w, e, l->prompt_caching && i + 1 == l->nentries);
        asdk_jw_lit(w, "}");
    }
    asdk_jw_lit(w, "]");
}

/* Chat-completions messages: text joined per message, tool calls with JSON-string arguments, one "tool"
 * message per result; thinking is not sent. */
static void write_messages_openai(asdk_loop *l, asdk_jw *w)
{
    asdk_jw_lit(w, "[");
    int first = 1;
    if (l->system_json) {
        asdk_jw_lit(w, "{\"role\":\"system\",\"content\":");
        asdk_jw_lit(w, l->system_json);
        asdk_jw_lit(w, "}");
        first = 0;
    }
    asdk_buf text = {0};
    for (size_t i = 0; i < l->nentries; i++) {
        const entry *e = &l->entries[i];
        size_t ntools = 0;
        text.len = 0;
        for (size_t k = 0; k < e->n; k++) {
            const tblock *t = &e->blocks[k];
            if (t->tool_result) {
                if (!first) asdk_jw_lit(w, ",");
                first = 0;
                asdk_jw_lit(w, "{\"role\":\"tool\",\"tool_call_id\":");
                asdk_jw_buf(w, &t->b.id);
                asdk_jw_lit(w, ",\"content\":");
                asdk_jw_buf(w, &t->b.text);
                asdk_jw_lit(w, "}");
            } else if (t->b.type == ASDK_BLOCK_TEXT) {
                if (text.len && asdk_buf_append(&text, "\n", 1)) w->failed = 1;
                if (asdk_buf_append(&text, t->b.text.ptr, t->b.text.len)) w->failed = 1;
            } else if (t->b.type == ASDK_BLOCK_TOOL_USE) {
                ntools++;
            }
        }
        if (e->role == ROLE_USER && !text.len) continue; /* only tool results */
        if (!first) asdk_jw_lit(w, ",");
        first = 0;
        asdk_jw_lit(w, e->role == ROLE_USER ? "{\"role\":\"user\",\"content\":" : "{\"role\":\"assistant\",\"content\":");
        if (text.len || e->role == ROLE_USER) asdk_jw_buf(w, &text);
        else asdk_jw_lit(w, "null");
        if (ntools) {
            asdk_jw_lit(w, ",\"tool_calls\":[");
            size_t n = 0;
            for (size_t k = 0; k < e->n; k++) {
                const tblock *t = &e->blocks[k];
                if (t->tool_result || t->b.type != ASDK_BLOCK_TOOL_USE) continue;
                if (n++) asdk_jw_lit(w, ",");
                asdk_jw_lit(w, "{\"id\":");
                asdk_jw_buf(w, &t->b.id);
                asdk_jw_lit(w, ",\"type\":\"function\",\"function\":{\"name\":");
                asdk_jw_buf(w, &t->b.name);
                asdk_jw_lit(w, ",\"arguments\":");
                if (t->b.text.len) asdk_jw_str(w, t->b.text.ptr, t->b.text.len);
                else asdk_jw_lit(w, "\"{}\"");
                asdk_jw_lit(w, "}}");
            }
            asdk_jw_lit(w, "]");
        }
        asdk_jw_lit(w, "}");
    }
    asdk_buf_free(&text);
    asdk_jw_lit(w, "]");
}

/* The request body up to its closing brace, without max_tokens (which depends on its size): finish_body appends it. */
static int build_body(asdk_loop *l)
{
    asdk_jw w = { &l->body, 0 };
    l->body.len = 0;
    asdk_jw_lit(&w, "{\"model\":");
    asdk_jw_cstr(&w, l->model);
    if (l->stream) {
        asdk_jw_lit(&w, ",\"stream\":true");
        if (l->provider == ASDK_PROVIDER_OPENAI) asdk_jw_lit(&w, ",\"stream_options\":{\"include_usage\":true}");
    }
    if (l->provider == ASDK_PROVIDER_ANTHROPIC && l->system_json) {
        asdk_jw_lit(&w, ",\"system\":[{\"type\":\"text\",\"text\":");
        asdk_jw_lit(&w, l->system_json);
        if (l->prompt_caching) asdk_jw_lit(&w, ",\"cache_control\":{\"type\":\"ephemeral\"}");
        asdk_jw_lit(&w, "}]");
    }
    if (l->tools_json) {
        asdk_jw_lit(&w, ",\"tools\":");
        asdk_jw_lit(&w, l->tools_json);
    }
    asdk_jw_lit(&w, ",\"messages\":");
    if (l->provider == ASDK_PROVIDER_OPENAI) write_messages_openai(l, &w);
    else write_messages_anthropic(l, &w);
    return w.failed ? -1 : 0;
}

static int finish_body(asdk_loop *l, int64_t mt)
{
    asdk_jw w = { &l->body, 0 };
    asdk_jw_lit(&w, ",\"max_tokens\":");
    asdk_jw_int(&w, mt);
    asdk_jw_lit(&w, "}");
    return w.failed ? -1 : 0;
}

/* Clips this call's max_tokens to what is left of every budget, given its input bound, and writes it into the
 * body; before the first attempt and again before each retry (a failed attempt may have been billed). Returns 0,
 * or -1 when the run has ended (too little left: error_max_tokens / error_max_budget_usd; `after` says which
 * failure the refused retry followed, NULL before a first attempt). */
static int clip(asdk_loop *l, const char *after)
{
    int64_t mt = l->max_output_tokens;
    l->clipped = CLIP_NONE;
    if (l->max_budget_micros) {
        int64_t left = l->max_budget_micros - l->cost_micros; /* both in [0, INT64_MAX]: no overflow */
        int64_t fit = asdk_max_output_for_budget(&l->price, l->input_bound, left, l->prompt_caching);
        if (fit < mt) mt = fit, l->clipped = CLIP_BUDGET;
    }
    if (l->max_tokens) {
        int64_t left = l->max_tokens - l->tokens;
        int64_t fit = left > l->input_bound ? left - l->input_bound : 0;
        if (fit < mt) mt = fit, l->clipped = CLIP_TOKENS;
    }
    int64_t floor = l->max_output_tokens < MIN_USEFUL_OUTPUT ? l->max_output_tokens : MIN_USEFUL_OUTPUT;
    if (mt < floor) {
        const char *what = l->clipped == CLIP_TOKENS ? "token budget exhausted: the next model call could exceed max_tokens"
                                                     : "budget exhausted: the next model call could exceed max_budget_usd";
        char message[700];
        if (after) snprintf(message, sizeof message, "%s (not retried after: %s)", what, after);
        else snprintf(message, sizeof message, "%s", what);
        finish(l, l->clipped == CLIP_TOKENS ? "error_max_tokens" : "error_max_budget_usd", message);
        return -1;
    }
    if (mt == l->request_max_tokens && l->body.len > l->prompt_bytes) return 0; /* the body says it already */
    l->body.len = l->prompt_bytes;
    l->request_max_tokens = mt;
    if (finish_body(l, mt)) {
        finish(l, "error_during_execution", "out of memory");
        return -1;
    }
    return 0;
}

/* Starts the next model call if every limit allows it. */
static asdk_loop_state next_call(asdk_loop *l)
{
    if (l->timeout_ms && now(l) - l->started_ms >= l->timeout_ms) return asdk_loop_expire(l);
    if (l->max_turns && l->turns >= l->max_turns) return finish(l, "error_max_turns", "maximum number of turns reached");

    /* The body without max_tokens measures the prompt. Input tokens are bounded by: the last call's
     * billed input plus the bytes added since (a token covers at least one byte of text, and JSON escaping only
     * adds bytes), or for the first call the whole prompt's bytes plus a provider overhead. */
    if (build_body(l)) return finish(l, "error_during_execution", "out of memory");
    size_t bytes = l->body.len;
    l->input_bound = l->last_input_tokens < 0
                         ? asdk_sat_add((int64_t)bytes, FIRST_CALL_OVERHEAD_TOKENS)
                         : asdk_sat_add(l->last_input_tokens,
                                        (int64_t)(bytes > l->last_prompt_bytes ? bytes - l->last_prompt_bytes : 0));
    l->prompt_bytes = bytes;
    l->request_max_tokens = 0;
    if (clip(l, NULL)) return l->state;
    l->attempt = 0;
    l->deltas_off = 0;
    l->sent_at_ms = now(l);
    l->state = ASDK_LOOP_SEND;
    return l->state;
}

/* ---- responses ----------------------------------------------------------------------------------------- */

static int64_t backoff_ms(asdk_loop *l)
{
    double seconds = 0.5;
    for (int i = 0; i < l->attempt && seconds < 8; i++) seconds *= 2;
    if (seconds > 8) seconds = 8;
    double jitter = 1.0 - 0.25 * l->io.random(l->io.ud);
    return (int64_t)(seconds * jitter * 1000.0);
}

/* The "message" of an error body, else the body itself, in at most cap bytes; its error.type in type (tcap bytes),
 * "" when it has none. */
static void error_detail(const asdk_loop_response_info *in, char *out, size_t cap, char *type, size_t tcap)
{
    out[0] = '\0';
    type[0] = '\0';
    if (!in->error_body || !in->error_body_len) return;
    size_t n = in->error_body_len < 4096 ? in->error_body_len : 4096;
    char text[4097];
    memcpy(text, in->error_body, n);
    text[n] = '\0';
    yajl_val root = yajl_tree_parse(text, NULL, 0);
    const char *path[] = { "error", "message", NULL };
    yajl_val msg = root ? yajl_tree_get(root, path, yajl_t_string) : NULL;
    const char *src = msg && YAJL_GET_STRING(msg) ? YAJL_GET_STRING(msg) : text;
    const char *tpath[] = { "error", "type", NULL };
    yajl_val tv = root ? yajl_tree_get(root, tpath, yajl_t_string) : NULL;
    const char *ts = tv ? YAJL_GET_STRING(tv) : NULL;
    if (ts) copy_cut(type, tcap, ts, strlen(ts));
    size_t len = strlen(src);
    if (len >= cap) len = cap - 1; /* cut: this is a message for people, not data */
    memcpy(out, src, len);
    out[len] = '\0';
    if (root) yajl_tree_free(root);
}

static int retryable_error_type(const asdk_buf *type)
{
    static const char *const kinds[] = { "overloaded_error", "api_error", "rate_limit_error", "timeout_error" };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (type->len == strlen(kinds[i]) && memcmp(type->ptr, kinds[i], type->len) == 0) return 1;
    return 0;
}

static asdk_loop_state take_turn(asdk_loop *l, asdk_turn *t);

static int64_t count(int64_t v) { return v > 0 ? v : 0; }

/* Bills one attempt, whatever became of it (see "Budgets" in loop.h). */
static void bill(asdk_loop *l, const asdk_loop_response_info *in)
{
    const asdk_turn *t = in->turn;
    if (t && t->has_usage) {
        asdk_usage u = t->usage;
        u.input_tokens = count(u.input_tokens);
        u.output_tokens = count(u.output_tokens);
        u.cache_creation_input_tokens = count(u.cache_creation_input_tokens);
        u.cache_creation_1h_input_tokens = count(u.cache_creation_1h_input_tokens);
        if (u.cache_creation_1h_input_tokens > u.cache_creation_input_tokens)
            u.cache_creation_1h_input_tokens = u.cache_creation_input_tokens;
        u.cache_read_input_tokens = count(u.cache_read_input_tokens);
        if (l->has_price) l->cost_micros = asdk_sat_add(l->cost_micros, asdk_cost_micros(&l->price, &u));
        int64_t input = asdk_sat_add(asdk_sat_add(u.input_tokens, u.cache_creation_input_tokens), u.cache_read_input_tokens);
        l->tokens = asdk_sat_add(l->tokens, asdk_sat_add(input, u.output_tokens));
        l->billed_input = input;
        l->total.input_tokens = asdk_sat_add(l->total.input_tokens, u.input_tokens);
        l->total.output_tokens = asdk_sat_add(l->total.output_tokens, u.output_tokens);
        l->total.cache_creation_input_tokens = asdk_sat_add(l->total.cache_creation_input_tokens, u.cache_creation_input_tokens);
        l->total.cache_creation_1h_input_tokens =
            asdk_sat_add(l->total.cache_creation_1h_input_tokens, u.cache_creation_1h_input_tokens);
        l->total.cache_read_input_tokens = asdk_sat_add(l->total.cache_read_input_tokens, u.cache_read_input_tokens);
        return;
    }
    int ok_status = in->http_status >= 200 && in->http_status < 300;
    if (in->net == ASDK_NET_CONNECT || (in->net == ASDK_NET_OK && !ok_status)) {
        l->billed_input = 0; /* never reached the model, or refused by it: providers do not bill these */
        return;
    }
    /* Nothing reported (OpenAI-compatible servers without include_usage; a stream that broke before its usage):
     * the provider may have billed up to the bound, so the run is charged that. */
    if (l->has_price)
        l->cost_micros = asdk_sat_add(l->cost_micros, asdk_bound_cost_micros(&l->price, l->input_bound, l->request_max_tokens,
                                                                             l->prompt_caching));
    l->tokens = asdk_sat_add(l->tokens, asdk_sat_add(l->input_bound, l->request_max_tokens));
    l->billed_input = l->input_bound;
}

asdk_loop_state asdk_loop_response(asdk_loop *l, const asdk_loop_response_info *in)
{
    if (l->state != ASDK_LOOP_SEND) return l->state;
    l->api_ms = asdk_sat_add(l->api_ms, now(l) - l->sent_at_ms);
    int64_t cost_before = l->cost_micros;
    bill(l, in);

    asdk_loop_attempt *a = &l->last;
    memset(a, 0, sizeof *a);
    a->attempt = asdk_sat_add(l->attempt, 1);
    a->http_status = in->http_status;
    a->cost_micros = -1;
    if (in->turn && in->turn->has_usage) {
        a->has_usage = 1;
        a->usage = in->turn->usage;
        a->usage.input_tokens = count(a->usage.input_tokens);
        a->usage.output_tokens = count(a->usage.output_tokens);
        a->usage.cache_creation_input_tokens = count(a->usage.cache_creation_input_tokens);
        a->usage.cache_creation_1h_input_tokens = count(a->usage.cache_creation_1h_input_tokens);
        a->usage.cache_read_input_tokens = count(a->usage.cache_read_input_tokens);
        if (l->has_price) a->cost_micros = l->cost_micros - cost_before; /* both in [0, INT64_MAX], after >= before */
    }

    char reason[600];
    int retry;
    asdk_turn *t = in->turn;
    if (in->net != ASDK_NET_OK) {
        retry = in->net != ASDK_NET_PROTOCOL;
        snprintf(reason, sizeof reason, "%s", in->net_message ? in->net_message : "network error");
    } else if (in->http_status >= 200 && in->http_status < 300) {
        if (!t) {
            retry = 0;
            snprintf(reason, sizeof reason, "no response body");
        } else if (t->error_type.len) {
            retry = retryable_error_type(&t->error_type);
            copy_cut(a->error_type, sizeof a->error_type, t->error_type.ptr, t->error_type.len);
            snprintf(reason, sizeof reason, "%.*s: %.*s", (int)t->error_type.len, t->error_type.ptr,
                     (int)(t->error_message.len > 400 ? 400 : t->error_message.len), t->error_message.ptr ? t->error_message.ptr : "");
        } else if (!t->complete) {
            retry = 1;
            snprintf(reason, sizeof reason, "the response ended early");
        } else {
            a->ok = 1;
            return take_turn(l, t);
        }
    } else {
        int s = in->http_status;
        retry = in->should_retry >= 0 ? in->should_retry : (s == 408 || s == 409 || s == 429 || s >= 500);
        char detail[500];
        error_detail(in, detail, sizeof detail, a->error_type, sizeof a->error_type);
        snprintf(reason, sizeof reason, "HTTP %d%s%s", s, detail[0] ? ": " : "", detail);
    }

    if (t && t->began) l->deltas_off = 1;
    a->retriable = retry;
    copy_cut(a->error, sizeof a->error, reason, strlen(reason)); /* cut: a short text for a log line */
    if (!retry || l->attempt >= l->max_retries) {
        l->api_error = 1;
        return finish(l, "error_during_execution", reason);
    }
    if (clip(l, reason)) return l->state; /* what this attempt cost may leave too little for another */

    int64_t wait = in->retry_after_ms >= 0 && in->retry_after_ms <= MAX_RETRY_AFTER_MS ? in->retry_after_ms : backoff_ms(l);
    a->retrying = 1;
    a->wait_ms = wait > 0 ? wait : 0;
    l->attempt++;
    if (wait <= 0) {
        l->sent_at_ms = now(l);
        return l->state = ASDK_LOOP_SEND;
    }
    l->sleep_ms = wait;
    return l->state = ASDK_LOOP_SLEEP;
}

/* Moves the blocks of a completed turn into a new assistant entry, bills it, emits it, decides what follows. */
static asdk_loop_state take_turn(asdk_loop *l, asdk_turn *t)
{
    entry *e = add_entry(l, ROLE_ASSISTANT);
    if (!e) return finish(l, "error_during_execution", "out of memory");
    for (size_t i = 0; i < t->nblocks; i++) {
        tblock *b = add_block(e);
        if (!b) return finish(l, "error_during_execution", "out of memory");
        b->b = t->blocks[i]; /* takes the buffers */
        memset(&t->blocks[i], 0, sizeof t->blocks[i]);
    }
    t->nblocks = 0;

    l->turns++; /* billed already (asdk_loop_response) */
    l->last_input_tokens = l->billed_input;
    l->last_prompt_bytes = l->prompt_bytes;
    buf_set(&l->stop_reason, t->stop_reason, strlen(t->stop_reason));

    l->final_text.len = 0;
    size_t ntools = 0;
    for (size_t i = 0; i < e->n; i++) {
        const asdk_block *b = &e->blocks[i].b;
        if (b->type == ASDK_BLOCK_TOOL_USE) ntools++;
        if (b->type == ASDK_BLOCK_TEXT) {
            if (l->final_text.len) asdk_buf_append(&l->final_text, "\n", 1);
            asdk_buf_append(&l->final_text, b->text.ptr, b->text.len);
        }
    }
    if (emit_assistant(l, e, t)) return finish(l, "error_cancelled", "the caller stopped the run");

    if (!strcmp(t->stop_reason, "tool_use") && ntools) {
        free(l->tool_blocks);
        free(l->result_set);
        for (size_t i = 0; i < l->ntools; i++) asdk_buf_free(&l->results[i]);
        free(l->results);
        l->tool_blocks = malloc(ntools * sizeof *l->tool_blocks);
        l->results = calloc(ntools, sizeof *l->results);
        l->result_set = malloc(ntools);
        l->ntools = 0;
        if (!l->tool_blocks || !l->results || !l->result_set) return finish(l, "error_during_execution", "out of memory");
        for (size_t i = 0; i < e->n; i++)
            if (e->blocks[i].b.type == ASDK_BLOCK_TOOL_USE) l->tool_blocks[l->ntools++] = i;
        memset(l->result_set, -1, ntools);
        l->tool_entry = l->nentries - 1;
        return l->state = ASDK_LOOP_TOOLS;
    }
    if (!strcmp(t->stop_reason, "pause_turn")) return next_call(l);
    if (!strcmp(t->stop_reason, "max_tokens") && l->clipped == CLIP_BUDGET)
        return finish(l, "error_max_budget_usd", "the response was cut short by max_budget_usd");
    if (!strcmp(t->stop_reason, "max_tokens") && l->clipped == CLIP_TOKENS)
        return finish(l, "error_max_tokens", "the response was cut short by max_tokens");
    return finish(l, "success", NULL);
}

/* ---- public API ---------------------------------------------------------------------------------------- */

static int load_transcript(asdk_loop *l, const char *json, char *err, size_t errlen);

asdk_loop *asdk_loop_new(const asdk_loop_config *c, const asdk_loop_io *io, char *err, size_t errlen)
{
#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); asdk_loop_free(l); return NULL; } while (0)
    asdk_loop *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!io || !io->emit || !io->now_ms || !io->random) FAIL("io callbacks missing");
    if (!c->model || !*c->model) FAIL("model is required");
    if (!c->prompt) FAIL("prompt is required");
    if (c->provider != ASDK_PROVIDER_ANTHROPIC && c->provider != ASDK_PROVIDER_OPENAI) FAIL("unknown provider");
    if (c->max_output_tokens <= 0) FAIL("max_output_tokens must be positive");
    if (c->max_turns < 0 || c->max_budget_micros < 0 || c->max_tokens < 0 || c->max_retries < 0 || c->timeout_ms < 0)
        FAIL("limits must not be negative");
    if (c->max_budget_micros && !c->price) FAIL("no price is known for model %s: a USD budget cannot be enforced", c->model);

    l->io = *io;
    l->provider = c->provider;
    l->model = dup_cstr(c->model);
    l->system_json = c->system_prompt ? quote_cstr(c->system_prompt) : NULL;
    l->tools_json = dup_cstr(c->tools_json);
    l->tool_names_json = dup_cstr(c->tool_names_json);
    l->cwd = dup_cstr(c->cwd);
    if (!l->model || (c->system_prompt && !l->system_json) || (c->tools_json && !l->tools_json) ||
        (c->tool_names_json && !l->tool_names_json) || (c->cwd && !l->cwd))
        FAIL("out of memory");
    if (c->session_id) {
        if (strlen(c->session_id) > 36 || !*c->session_id) FAIL("session_id must be 1 to 36 characters");
        snprintf(l->session_id, sizeof l->session_id, "%s", c->session_id);
    } else {
        uuid_v4(l->session_id);
    }
    l->max_turns = c->max_turns;
    l->max_budget_micros = c->max_budget_micros;
    l->max_tokens = c->max_tokens;
    l->max_output_tokens = c->max_output_tokens;
    l->max_retries = c->max_retries;
    l->timeout_ms = c->timeout_ms;
    l->prompt_caching = c->prompt_caching && c->provider == ASDK_PROVIDER_ANTHROPIC;
    l->include_partial = c->include_partial;
    l->stream = c->stream;
    if (c->price) l->price = *c->price, l->has_price = 1;
    l->last_input_tokens = -1;
    l->state = 0;

    if (c->transcript_json && load_transcript(l, c->transcript_json, err, errlen)) {
        asdk_loop_free(l);
        return NULL;
    }
    /* A resumed transcript that ends in a user turn (tool results decided while the run was paused for approval)
     * gets the prompt as one more block of that turn: the request keeps alternating roles. */
    entry *e = l->nentries && l->entries[l->nentries - 1].role == ROLE_USER ? &l->entries[l->nentries - 1]
                                                                              : add_entry(l, ROLE_USER);
    tblock *b = e ? add_block(e) : NULL;
    if (!b) FAIL("out of memory");
    b->b.type = ASDK_BLOCK_TEXT;
    if (buf_set(&b->b.text, c->prompt, strlen(c->prompt))) FAIL("out of memory");
    return l;
#undef FAIL
}

void asdk_loop_free(asdk_loop *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->nentries; i++) entry_free(&l->entries[i]);
    free(l->entries);
    for (size_t i = 0; i < l->ntools; i++) asdk_buf_free(&l->results[i]);
    free(l->results);
    free(l->result_set);
    free(l->tool_blocks);
    free(l->model);
    free(l->system_json);
    free(l->tools_json);
    free(l->tool_names_json);
    free(l->cwd);
    asdk_buf_free(&l->body);
    asdk_buf_free(&l->stop_reason);
    asdk_buf_free(&l->final_text);
    asdk_buf_free(&l->line);
    free(l);
}

asdk_loop_state asdk_loop_start(asdk_loop *l)
{
    if (l->state) return l->state;
    l->started_ms = now(l);
    if (emit_init(l)) return finish(l, "error_cancelled", "the caller stopped the run");
    return next_call(l);
}

asdk_loop_state asdk_loop_state_now(const asdk_loop *l) { return l->state; }
const asdk_buf *asdk_loop_body(const asdk_loop *l) { return &l->body; }
int64_t asdk_loop_request_max_tokens(const asdk_loop *l) { return l->request_max_tokens; }
int64_t asdk_loop_request_input_bound(const asdk_loop *l) { return l->input_bound; }
int64_t asdk_loop_sleep_ms(const asdk_loop *l) { return l->sleep_ms; }
const asdk_loop_attempt *asdk_loop_last_attempt(const asdk_loop *l) { return &l->last; }
size_t asdk_loop_tool_count(const asdk_loop *l) { return l->state == ASDK_LOOP_TOOLS ? l->ntools : 0; }
int64_t asdk_loop_turns(const asdk_loop *l) { return l->turns; }
int64_t asdk_loop_cost_micros(const asdk_loop *l) { return l->cost_micros; }
int64_t asdk_loop_tokens(const asdk_loop *l) { return l->tokens; }
const char *asdk_loop_session_id(const asdk_loop *l) { return l->session_id; }

const asdk_block *asdk_loop_tool_call(const asdk_loop *l, size_t i)
{
    if (l->state != ASDK_LOOP_TOOLS || i >= l->ntools) return NULL;
    return &l->entries[l->tool_entry].blocks[l->tool_blocks[i]].b;
}

int asdk_loop_tool_result(asdk_loop *l, size_t i, const char *content, size_t len, int is_error)
{
    if (l->state != ASDK_LOOP_TOOLS || i >= l->ntools) return -1;
    if (buf_set(&l->results[i], content, len)) return -1;
    l->result_set[i] = is_error ? 1 : 0;
    return 0;
}

int asdk_loop_text_delta(asdk_loop *l, size_t index, const char *text, size_t len)
{
    if (!l->include_partial || l->deltas_off || l->state != ASDK_LOOP_SEND) return 0;
    asdk_jw w;
    line_start(l, &w, "stream_event");
    asdk_jw_lit(&w, ",\"event\":{\"type\":\"content_block_delta\",\"index\":");
    asdk_jw_int(&w, (int64_t)index);
    asdk_jw_lit(&w, ",\"delta\":{\"type\":\"text_delta\",\"text\":");
    asdk_jw_str(&w, text, len);
    asdk_jw_lit(&w, "}},\"parent_tool_use_id\":null");
    return line_emit(l, &w);
}

asdk_loop_state asdk_loop_resume(asdk_loop *l)
{
    if (l->state == ASDK_LOOP_SLEEP) {
        l->sent_at_ms = now(l);
        return l->state = ASDK_LOOP_SEND;
    }
    if (l->state != ASDK_LOOP_TOOLS) return l->state;

    entry *e = add_entry(l, ROLE_USER);
    if (!e) return finish(l, "error_during_execution", "out of memory");
    for (size_t i = 0; i < l->ntools; i++) {
        const asdk_block *call = &l->entries[l->tool_entry].blocks[l->tool_blocks[i]].b;
        tblock *b = add_block(e);
        if (!b) return finish(l, "error_during_execution", "out of memory");
        b->tool_result = 1;
        if (buf_set(&b->b.id, call->id.ptr ? call->id.ptr : "", call->id.len)) return finish(l, "error_during_execution", "out of memory");
        if (l->result_set[i] < 0) {
            /* A call the driver never answered still gets a result: the API requires one per tool_use. */
            static const char missing[] = "tool did not return a result";
            buf_set(&b->b.text, missing, sizeof missing - 1);
            b->is_error = 1;
        } else {
            b->b.text = l->results[i]; /* takes the buffer */
            memset(&l->results[i], 0, sizeof l->results[i]);
            b->is_error = l->result_set[i];
        }
    }
    if (emit_tool_results(l, e)) return finish(l, "error_cancelled", "the caller stopped the run");
    return next_call(l);
}

asdk_loop_state asdk_loop_cancel(asdk_loop *l, const char *reason)
{
    if (l->state == ASDK_LOOP_DONE) return l->state;
    if (!l->started_ms) l->started_ms = now(l);
    return finish(l, "error_cancelled", reason ? reason : "cancelled");
}

int64_t asdk_loop_deadline_ms(const asdk_loop *l)
{
    if (!l->timeout_ms || !l->started_ms) return -1;
    return asdk_sat_add(l->started_ms, l->timeout_ms);
}

asdk_loop_state asdk_loop_expire(asdk_loop *l)
{
    if (l->state == ASDK_LOOP_DONE) return l->state;
    if (!l->started_ms) l->started_ms = now(l);
    char text[96];
    snprintf(text, sizeof text, "the query did not finish within timeout: %g s", (double)l->timeout_ms / 1000.0);
    return finish(l, "error_timeout", text);
}

/* ---- resuming: Anthropic-shaped messages back into entries ---------------------------------------------- */

/* Writes a yajl_tree value back as JSON (numbers as written). */
static void write_value(asdk_jw *w, yajl_val v, int depth)
{
    if (depth > 128) { w->failed = 1; return; }
    if (YAJL_IS_OBJECT(v)) {
        asdk_jw_lit(w, "{");
        for (size_t i = 0; i < v->u.object.len; i++) {
            if (i) asdk_jw_lit(w, ",");
            asdk_jw_key(w, v->u.object.keys[i]);
            write_value(w, v->u.object.values[i], depth + 1);
        }
        asdk_jw_lit(w, "}");
    } else if (YAJL_IS_ARRAY(v)) {
        asdk_jw_lit(w, "[");
        for (size_t i = 0; i < v->u.array.len; i++) {
            if (i) asdk_jw_lit(w, ",");
            write_value(w, v->u.array.values[i], depth + 1);
        }
        asdk_jw_lit(w, "]");
    } else if (YAJL_IS_STRING(v)) {
        asdk_jw_cstr(w, YAJL_GET_STRING(v));
    } else if (YAJL_IS_NUMBER(v)) {
        asdk_jw_lit(w, YAJL_GET_NUMBER(v));
    } else if (YAJL_IS_TRUE(v)) {
        asdk_jw_lit(w, "true");
    } else if (YAJL_IS_FALSE(v)) {
        asdk_jw_lit(w, "false");
    } else {
        asdk_jw_lit(w, "null");
    }
}

static const char *get_str(yajl_val obj, const char *key)
{
    const char *path[] = { key, NULL };
    yajl_val v = yajl_tree_get(obj, path, yajl_t_string);
    return v ? YAJL_GET_STRING(v) : NULL;
}

static int set_cstr(asdk_buf *b, const char *s)
{
    return s ? buf_set(b, s, strlen(s)) : 0;
}

static int load_transcript(asdk_loop *l, const char *json, char *err, size_t errlen)
{
    char perr[200];
    yajl_val root = yajl_tree_parse(json, perr, sizeof perr);
    if (!root || !YAJL_IS_ARRAY(root)) {
        snprintf(err, errlen, "transcript is not a JSON array%s%s", root ? "" : ": ", root ? "" : perr);
        if (root) yajl_tree_free(root);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < root->u.array.len && !rc; i++) {
        yajl_val m = root->u.array.values[i];
        const char *r = YAJL_IS_OBJECT(m) ? get_str(m, "role") : NULL;
        if (!r || (strcmp(r, "user") && strcmp(r, "assistant"))) {
            snprintf(err, errlen, "transcript message %zu has no role user/assistant", i);
            rc = -1;
            break;
        }
        entry *e = add_entry(l, !strcmp(r, "user") ? ROLE_USER : ROLE_ASSISTANT);
        if (!e) { snprintf(err, errlen, "out of memory"); rc = -1; break; }
        const char *cpath[] = { "content", NULL };
        yajl_val content = yajl_tree_get(m, cpath, yajl_t_any);
        if (content && YAJL_IS_STRING(content)) {
            tblock *b = add_block(e);
            if (!b || set_cstr(&b->b.text, YAJL_GET_STRING(content))) { snprintf(err, errlen, "out of memory"); rc = -1; break; }
            b->b.type = ASDK_BLOCK_TEXT;
            continue;
        }
        if (!content || !YAJL_IS_ARRAY(content)) {
            snprintf(err, errlen, "transcript message %zu has no content", i);
            rc = -1;
            break;
        }
        for (size_t k = 0; k < content->u.array.len && !rc; k++) {
            yajl_val blk = content->u.array.values[k];
            const char *type = YAJL_IS_OBJECT(blk) ? get_str(blk, "type") : NULL;
            if (!type) continue;
            tblock *b = add_block(e);
            if (!b) { snprintf(err, errlen, "out of memory"); rc = -1; break; }
            int bad = 0;
            if (!strcmp(type, "text")) {
                b->b.type = ASDK_BLOCK_TEXT;
                bad = set_cstr(&b->b.text, get_str(blk, "text"));
            } else if (!strcmp(type, "tool_use")) {
                b->b.type = ASDK_BLOCK_TOOL_USE;
                const char *ipath[] = { "input", NULL };
                yajl_val input = yajl_tree_get(blk, ipath, yajl_t_object);
                asdk_jw w = { &b->b.text, 0 };
                if (input) write_value(&w, input, 0);
                else asdk_jw_lit(&w, "{}");
                bad = w.failed || set_cstr(&b->b.id, get_str(blk, "id")) || set_cstr(&b->b.name, get_str(blk, "name"));
            } else if (!strcmp(type, "tool_result")) {
                b->tool_result = 1;
                b->b.type = ASDK_BLOCK_TEXT;
                const char *tpath[] = { "is_error", NULL };
                yajl_val ie = yajl_tree_get(blk, tpath, yajl_t_true);
                b->is_error = ie != NULL;
                const char *cp[] = { "content", NULL };
                yajl_val c = yajl_tree_get(blk, cp, yajl_t_any);
                bad = set_cstr(&b->b.id, get_str(blk, "tool_use_id"));
                if (c && YAJL_IS_STRING(c)) {
                    bad = bad || set_cstr(&b->b.text, YAJL_GET_STRING(c));
                } else if (c && YAJL_IS_ARRAY(c)) { /* text blocks: joined */
                    for (size_t j = 0; j < c->u.array.len; j++) {
                        const char *tx = YAJL_IS_OBJECT(c->u.array.values[j]) ? get_str(c->u.array.values[j], "text") : NULL;
                        if (!tx) continue;
                        if (b->b.text.len) bad = bad || asdk_buf_append(&b->b.text, "\n", 1);
                        bad = bad || asdk_buf_append(&b->b.text, tx, strlen(tx));
                    }
                }
            } else if (!strcmp(type, "thinking")) {
                b->b.type = ASDK_BLOCK_THINKING;
                bad = set_cstr(&b->b.text, get_str(blk, "thinking")) || set_cstr(&b->b.signature, get_str(blk, "signature"));
            } else if (!strcmp(type, "redacted_thinking")) {
                b->b.type = ASDK_BLOCK_REDACTED_THINKING;
                bad = set_cstr(&b->b.text, get_str(blk, "data"));
            } else {
                e->n--; /* a block type this loop does not resend */
                continue;
            }
            if (bad) { snprintf(err, errlen, "out of memory"); rc = -1; }
        }
    }
    yajl_tree_free(root);
    return rc;
}
