/* fuzz_sse.c — libFuzzer target for the SSE framer and the Anthropic / OpenAI turn assemblers (core/ only).
 *
 * Input: byte 0 picks the mode —
 *   bit 0      provider: 0 Anthropic, 1 OpenAI
 *   bit 1      0: the rest is an SSE body; 1: each line of the rest is the data of one event (bypassing the
 *              framer, so the assemblers see more well-formed JSON), its type taken from a "name|" prefix
 *   bit 2      small limits: max_event 16..136 bytes, max_turn 256..4096 bytes (else the defaults)
 *   bits 3-7   the size of the limits, and the period of a text callback that aborts
 * Checks, aborting on failure:
 *  - the framer gives the same events, status, retry and last id fed whole, in pseudo-random chunks and (small
 *    inputs) byte by byte; it never holds more than its bounds; every event has a type;
 *  - the assembled turn is the same however the body is split, when the text callback aborts every k-th time
 *    (the feed is then resumed), and (Anthropic) without the content_block_delta fast path; the text handed to
 *    the callback adds up to the text blocks;
 *  - the turn's invariants: every string is well-formed UTF-8, a TOOL_USE block's text is one valid JSON
 *    object, its size stays within max_turn (plus fixed costs), statuses are sticky;
 *  - asdk_*_parse_body on the same bytes keeps the invariants. Leaks are caught by LeakSanitizer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwalk.h"
#include "stream_asm.h"
#include "utf8.h"

#include "fuzz_check.h"

static void mix(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) *h = (*h ^ s[i]) * UINT64_C(1099511628211);
}

static void mix_u64(uint64_t *h, uint64_t v)
{
    mix(h, &v, sizeof v);
}

static void mix_buf(uint64_t *h, const asdk_buf *b)
{
    mix_u64(h, b->len);
    if (b->len) mix(h, b->ptr, b->len);
}

/* ---- the framer alone -------------------------------------------------------------------------------- */

typedef struct {
    uint64_t digest, events;
    size_t max_event;
} frame_sum;

static int on_frame(void *ud, const char *type, size_t tlen, const char *data, size_t dlen, const char *id,
                    size_t idlen)
{
    frame_sum *s = ud;
    CHECK(tlen > 0 && type && data && id);
    CHECK(dlen <= s->max_event && idlen <= s->max_event);
    mix_u64(&s->digest, tlen);
    mix(&s->digest, type, tlen);
    mix_u64(&s->digest, dlen);
    mix(&s->digest, data, dlen);
    mix_u64(&s->digest, idlen);
    mix(&s->digest, id, idlen);
    s->events++;
    return 1;
}

static uint64_t next_len(uint64_t *seed, size_t left, int mode)
{
    if (mode == 2) return 1;
    if (mode == 0) return left;
    *seed = *seed * UINT64_C(6364136223846793005) + 1442695040888963407u;
    size_t cap = left < 97 ? left : 97;
    return 1 + (size_t)(*seed >> 33) % cap;
}

/* mode 0: whole, 1: random chunks, 2: bytes. */
static void frame(const char *p, size_t n, size_t max, uint64_t seed, int mode, frame_sum *s, asdk_sse_status *st,
                  int64_t *retry, uint64_t *id_digest)
{
    asdk_sse sse;
    asdk_sse_init(&sse, max);
    memset(s, 0, sizeof *s);
    s->digest = UINT64_C(14695981039346656037);
    s->max_event = max;
    *st = ASDK_SSE_OK;
    for (size_t at = 0; at < n && !*st;) {
        size_t k = next_len(&seed, n - at, mode);
        *st = asdk_sse_feed(&sse, p + at, k, on_frame, s);
        at += k;
        CHECK(*st != ASDK_SSE_ABORTED);
        CHECK(sse.line.len <= max && sse.data.len <= max && sse.event_bytes <= max);
    }
    if (!*st) *st = asdk_sse_finish(&sse, on_frame, s);
    if (*st) CHECK(asdk_sse_feed(&sse, "data: x\n\n", 9, on_frame, s) == *st); /* sticky */
    *retry = asdk_sse_retry(&sse);
    size_t idlen;
    const char *id = asdk_sse_last_id(&sse, &idlen);
    *id_digest = UINT64_C(14695981039346656037);
    mix(id_digest, id, idlen);
    asdk_sse_free(&sse);
}

static void check_framer(const char *p, size_t n, size_t max, uint64_t seed)
{
    frame_sum a, b;
    asdk_sse_status sa, sb;
    int64_t ra, rb;
    uint64_t ia, ib;
    frame(p, n, max, seed, 0, &a, &sa, &ra, &ia);
    frame(p, n, max, seed, 1, &b, &sb, &rb, &ib);
    CHECK(a.digest == b.digest && a.events == b.events && sa == sb && ra == rb && ia == ib);
    if (n <= 2048) {
        frame(p, n, max, seed, 2, &b, &sb, &rb, &ib);
        CHECK(a.digest == b.digest && a.events == b.events && sa == sb && ra == rb && ia == ib);
    }
}

/* ---- the turn ---------------------------------------------------------------------------------------- */

static asdk_jwalk checker; /* reused: its extractor holds a 6 KiB pool */

static int utf8_buf(const asdk_buf *b)
{
    return asdk_utf8_valid(b->len ? b->ptr : "", b->len);
}

static uint64_t check_turn(const asdk_turn *t, size_t max_turn, asdk_asm_status st)
{
    uint64_t h = UINT64_C(14695981039346656037);
    size_t bytes = 0;
    CHECK(utf8_buf(&t->id) && utf8_buf(&t->model) && utf8_buf(&t->error_type) && utf8_buf(&t->error_message));
    size_t sr = strlen(t->stop_reason);
    CHECK(sr < sizeof t->stop_reason && asdk_utf8_valid(t->stop_reason, sr));
    for (size_t i = 0; i < t->nblocks; i++) {
        const asdk_block *b = &t->blocks[i];
        CHECK(b->type >= ASDK_BLOCK_TEXT && b->type <= ASDK_BLOCK_REDACTED_THINKING);
        CHECK(utf8_buf(&b->text) && utf8_buf(&b->id) && utf8_buf(&b->name) && utf8_buf(&b->signature));
        if (b->type == ASDK_BLOCK_TOOL_USE && st == ASDK_ASM_OK) {
            asdk_json_error je;
            CHECK(asdk_jw_is_object(&checker, b->text.ptr, b->text.len, &je));
        }
        bytes += b->text.len + b->id.len + b->name.len + b->signature.len;
        mix_u64(&h, b->type);
        mix_buf(&h, &b->text);
        mix_buf(&h, &b->id);
        mix_buf(&h, &b->name);
        mix_buf(&h, &b->signature);
    }
    if (st == ASDK_ASM_OK) CHECK(bytes <= max_turn + 2 * t->nblocks);
    mix_buf(&h, &t->id);
    mix_buf(&h, &t->model);
    mix(&h, t->stop_reason, sr);
    mix(&h, &t->usage, sizeof t->usage);
    mix_u64(&h, (uint64_t)t->complete);
    mix_u64(&h, (uint64_t)t->began);
    mix_buf(&h, &t->error_type);
    mix_buf(&h, &t->error_message);
    mix_u64(&h, st);
    return h;
}

typedef struct {
    uint64_t calls, period; /* abort every period-th call (0: never) */
    size_t text;            /* bytes handed out */
} text_sum;

static int on_text(void *ud, const char *p, size_t n)
{
    text_sum *s = ud;
    CHECK(n > 0 && asdk_utf8_valid(p, n));
    s->text += n;
    s->calls++;
    return !(s->period && s->calls % s->period == 0);
}

static size_t text_bytes(const asdk_turn *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nblocks; i++)
        if (t->blocks[i].type == ASDK_BLOCK_TEXT) n += t->blocks[i].text.len;
    return n;
}

/* After the text callback aborted a feed or finish, the unread bytes were kept: go on with them. */
static asdk_asm_status resume(asdk_stream *s, asdk_asm_status st, int finishing)
{
    for (long guard = 0; st == ASDK_ASM_ABORTED; guard++) {
        CHECK(guard < 10000000);
        st = finishing ? asdk_stream_finish(s) : asdk_stream_feed(s, "", 0);
    }
    return st;
}

typedef struct {
    int provider, raw;
    size_t max_event, max_turn;
} config;

/* Events from lines "name|data" (or "data"), bypassing the framer. */
static asdk_asm_status raw_events(asdk_stream *s, const char *p, size_t n)
{
    asdk_asm_status st = ASDK_ASM_OK;
    while (n && !st) {
        const char *nl = memchr(p, '\n', n);
        size_t len = nl ? (size_t)(nl - p) : n;
        const char *bar = memchr(p, '|', len);
        const char *type = "message", *data = p;
        size_t tlen = 7, dlen = len;
        if (bar && bar > p) {
            type = p;
            tlen = (size_t)(bar - p);
            data = bar + 1;
            dlen = len - tlen - 1;
        }
        st = s->provider == ASDK_PROVIDER_OPENAI ? asdk_openai_event(&s->u.openai, type, tlen, data, dlen)
                                                 : asdk_anthropic_event(&s->u.anthropic, type, tlen, data, dlen);
        if (st == ASDK_ASM_ABORTED) st = ASDK_ASM_OK; /* the event was applied in full: on with the next */
        p += len + (nl != NULL);
        n -= len + (nl != NULL);
    }
    if (!st) st = s->provider == ASDK_PROVIDER_OPENAI ? asdk_openai_finish(&s->u.openai)
                                                      : asdk_anthropic_finish(&s->u.anthropic);
    return st;
}

/* Assembles p[0, n) split as `mode` says, with a text callback aborting every `period`-th call; `slow`: the
 * Anthropic assembler reads every event with yajl (no fast path). */
static uint64_t assemble(const config *c, const char *p, size_t n, uint64_t seed, int mode, uint64_t period,
                         int slow, asdk_asm_status *out)
{
    asdk_turn turn;
    asdk_stream s;
    text_sum ts = { 0, period, 0 };
    asdk_turn_init(&turn);
    asdk_stream_init(&s, c->provider ? ASDK_PROVIDER_OPENAI : ASDK_PROVIDER_ANTHROPIC, &turn, c->max_event,
                     c->max_turn);
    asdk_stream_on_text(&s, on_text, &ts);
    if (slow && !c->provider) s.u.anthropic.no_fast_path = 1;
    asdk_asm_status st = ASDK_ASM_OK;
    if (c->raw) {
        st = raw_events(&s, p, n);
    } else {
        for (size_t at = 0; at < n && !st;) {
            size_t k = next_len(&seed, n - at, mode);
            st = resume(&s, asdk_stream_feed(&s, p + at, k), 0);
            at += k;
            CHECK(st || !s.sse.rest.len);
        }
        if (!st) st = resume(&s, asdk_stream_finish(&s), 1);
    }
    if (st) {
        CHECK(st != ASDK_ASM_ABORTED);
        CHECK(asdk_stream_error(&s)->status == st && asdk_stream_error(&s)->message[0]);
        CHECK(asdk_stream_feed(&s, "data: {}\n\n", 10) == st); /* sticky */
    } else {
        CHECK(ts.text == text_bytes(&turn));
    }
    uint64_t h = check_turn(&turn, c->max_turn ? c->max_turn : ASDK_DEFAULT_MAX_TURN, st);
    *out = st;
    asdk_stream_free(&s);
    asdk_turn_free(&turn);
    return h;
}

static void check_body(int provider, const char *p, size_t n)
{
    asdk_turn turn;
    asdk_stream s;
    asdk_turn_init(&turn);
    asdk_stream_init(&s, provider ? ASDK_PROVIDER_OPENAI : ASDK_PROVIDER_ANTHROPIC, &turn, 0, 4096);
    asdk_asm_status st = asdk_stream_parse_body(&s, p, n);
    check_turn(&turn, 4096, st);
    if (!provider) {
        asdk_anthropic a;
        asdk_turn_reset(&turn);
        asdk_anthropic_init(&a, &turn, 0);
        asdk_anthropic_parse_error(&a, p, n);
        check_turn(&turn, ASDK_DEFAULT_MAX_TURN, ASDK_ASM_BAD_JSON);
        asdk_anthropic_free(&a);
    }
    asdk_stream_free(&s);
    asdk_turn_free(&turn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static int ready;
    if (!ready) {
        asdk_jw_init(&checker);
        ready = 1;
    }
    unsigned mode = data[0];
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    config c = { (int)(mode & 1), (int)((mode >> 1) & 1), 0, 0 };
    if (mode & 4) {
        c.max_event = 16 + (size_t)(mode >> 3) * 4;
        c.max_turn = 256 + (size_t)(mode >> 3) * 128;
    }
    uint64_t seed = UINT64_C(14695981039346656037);
    mix(&seed, data, size);

    check_framer(p, n, c.max_event ? c.max_event : ASDK_SSE_DEFAULT_MAX_EVENT, seed);

    asdk_asm_status sa, sb;
    uint64_t whole = assemble(&c, p, n, seed, 0, 0, 0, &sa);
    if (!c.raw) {
        CHECK(assemble(&c, p, n, seed, 1, 0, 0, &sb) == whole && sa == sb);
        if (n <= 2048) CHECK(assemble(&c, p, n, seed, 2, 0, 0, &sb) == whole && sa == sb);
    }
    uint64_t period = 1 + (mode >> 3) % 3;
    CHECK(assemble(&c, p, n, seed, c.raw ? 0 : 1, period, 0, &sb) == whole && sa == sb);
    if (!c.provider) { /* the fast path for content_block_delta gives what yajl gives, errors included */
        asdk_asm_status ss;
        CHECK(assemble(&c, p, n, seed, 0, 0, 1, &ss) == whole && sa == ss);
    }

    check_body((int)(mode & 1), p, n);
    return 0;
}
