/* fuzz_stream.c — libFuzzer target for the NDJSON framer and the message extractor (core/ only, no Ruby).
 *
 * Input: byte 0 picks max_line (bit 7 set: 1 MiB, else 16..524 so that long lines are exercised), the rest
 * is a stream. Checks, aborting on failure:
 *  - the framer yields the same events and counters fed whole, in pseudo-random chunks (seeded from the
 *    input) and, for small inputs, byte by byte;
 *  - for every line: asdk_extract_message and asdk_extract_value agree on success, builder events are
 *    balanced and bracketed by begin/end, every string handed out is valid UTF-8, capture numbers are in
 *    range, asdk_peek_type agrees with the extracted type, a builder that gives up midway is reported as
 *    such, and one that longjmps out (as a Ruby exception would) leaves an extractor that
 *    asdk_extractor_free releases. Leaks are caught by LeakSanitizer. */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_extract.h"
#include "ndjson.h"
#include "utf8.h"

#include "fuzz_check.h"

/* ---- a counting builder ------------------------------------------------------------------------------ */

typedef struct {
    int open, depth, captures;
    long events, abort_after; /* abort_after < 0: never */
    jmp_buf *escape;          /* set: leave by longjmp instead of returning 0 */
} counter;

static int tick(counter *c)
{
    CHECK(c->open);
    if (c->abort_after < 0 || ++c->events <= c->abort_after) return 1;
    if (c->escape) longjmp(*c->escape, 1);
    return 0;
}
static int c_begin(void *ud)
{
    counter *c = ud;
    CHECK(!c->open && c->depth == 0);
    c->open = 1;
    return 1;
}
static int c_end(void *ud)
{
    counter *c = ud;
    CHECK(c->open && c->depth == 0);
    c->open = 0;
    c->captures++;
    return 1;
}
static int c_null(void *ud) { return tick(ud); }
static int c_boolean(void *ud, int v) { CHECK(v == 0 || v == 1); return tick(ud); }
static int c_number(void *ud, const char *s, size_t n) { CHECK(n > 0 && s); return tick(ud); }
static int c_string(void *ud, const char *s, size_t n) { CHECK(asdk_utf8_valid(s, n)); return tick(ud); }
static int c_open(void *ud)
{
    counter *c = ud;
    CHECK(++c->depth <= ASDK_JSON_MAX_DEPTH);
    return tick(c);
}
static int c_key(void *ud, const char *s, size_t n)
{
    counter *c = ud;
    CHECK(c->depth > 0 && asdk_utf8_valid(s, n));
    return tick(c);
}
static int c_close(void *ud)
{
    counter *c = ud;
    CHECK(c->depth-- > 0);
    return tick(c);
}

static const asdk_builder counting = {
    c_begin, c_end, c_null, c_boolean, c_number, c_string, c_open, c_key, c_close, c_open, c_close,
};

/* ---- one line ---------------------------------------------------------------------------------------- */

static void check_value(const asdk_value *v)
{
    if (v->kind == ASDK_STRING) CHECK(asdk_utf8_valid(v->ptr, v->len));
    if (v->kind == ASDK_NUMBER) CHECK(v->len > 0);
}

static void check_line(const char *line, size_t n)
{
    asdk_extractor x;
    asdk_json_error err;
    asdk_msg_fields f;
    counter c = { 0, 0, 0, 0, -1, NULL };
    asdk_extractor_init(&x);

    int msg_ok = asdk_extract_message(&x, line, n, &counting, &c, &f, &err) == 0;
    if (msg_ok) {
        CHECK(!c.open && err.status == ASDK_JSON_OK);
        const asdk_value *all[] = { &f.type, &f.subtype, &f.uuid, &f.session_id, &f.parent_tool_use_id, &f.model,
                                    &f.stop_reason, &f.total_cost_usd, &f.num_turns, &f.duration_ms,
                                    &f.duration_api_ms, &f.is_error, &f.content, &f.tool_name };
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) check_value(all[i]);
        CHECK(f.usage < c.captures);
        for (size_t i = 0; i < f.ntool_calls; i++) {
            check_value(&f.tool_calls[i].id);
            check_value(&f.tool_calls[i].name);
            CHECK(f.tool_calls[i].input < c.captures);
        }
        char type[32];
        size_t t = asdk_peek_type(line, n, type, sizeof type);
        if (t != ASDK_PEEK_NONE) {
            CHECK(f.type.kind == ASDK_STRING && f.type.len == t);
            CHECK(memcmp(f.type.ptr, type, t < sizeof type ? t : sizeof type) == 0);
        }
    } else {
        CHECK(err.status != ASDK_JSON_OK && err.status != ASDK_JSON_ABORTED && err.message[0]);
    }

    /* The same extractor, reused for the whole document: the same verdict for an object. */
    counter all = { 0, 0, 0, 0, -1, NULL };
    int value_ok = asdk_extract_value(&x, line, n, &counting, &all, &err) == 0;
    size_t i = 0; /* yajl also takes \v and \f for blanks */
    while (i < n && (line[i] == ' ' || (line[i] >= '\t' && line[i] <= '\r'))) i++;
    if (i < n && line[i] == '{') CHECK(value_ok == msg_ok);
    else CHECK(!msg_ok);
    if (value_ok) CHECK(all.captures == 1 && !all.open && all.depth == 0);

    /* A builder that gives up halfway is reported as such; one that jumps out leaves the extractor mid-pass.
     * Either way asdk_extractor_free releases everything. */
    if (value_ok && all.events > 1) {
        counter half = { 0, 0, 0, 0, all.events / 2, NULL };
        CHECK(asdk_extract_value(&x, line, n, &counting, &half, &err) == -1 && err.status == ASDK_JSON_ABORTED);
        asdk_extractor_free(&x);

        static asdk_extractor jumped; /* static: it must survive the longjmp unchanged */
        static jmp_buf escape;
        static counter third;
        asdk_extractor_init(&jumped);
        third = (counter){ 0, 0, 0, 0, all.events / 3, &escape };
        if (!setjmp(escape)) {
            asdk_extract_value(&jumped, line, n, &counting, &third, &err);
            CHECK(!"the builder should have jumped out");
        }
        asdk_extractor_free(&jumped);
    }
    asdk_extractor_free(&x);
}

/* ---- the framer -------------------------------------------------------------------------------------- */

typedef struct {
    uint64_t digest, lines, too_long;
} summary;

static void mix(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) *h = (*h ^ s[i]) * UINT64_C(1099511628211);
}

static void record(summary *s, const asdk_lr_event *ev, int check)
{
    uint64_t kind = ev->kind, bytes = ev->bytes, len = ev->len;
    mix(&s->digest, &kind, sizeof kind);
    mix(&s->digest, &len, sizeof len);
    mix(&s->digest, &bytes, sizeof bytes);
    mix(&s->digest, ev->ptr, ev->len);
    CHECK(ev->len <= ev->bytes);
    if (ev->kind == ASDK_LR_LINE) {
        s->lines++;
        CHECK(ev->len && memchr(ev->ptr, '\n', ev->len) == NULL);
        if (check) check_line(ev->ptr, ev->len);
    } else {
        CHECK(ev->kind == ASDK_LR_TOO_LONG && ev->len <= ASDK_EXCERPT_MAX);
        s->too_long++;
    }
}

/* Frames p[0, n) in one chunk (mode 0, which also checks every line), pseudo-random chunks (1) or bytes (2). */
static void frame(const char *p, size_t n, size_t max, uint64_t seed, int mode, summary *s, asdk_line_reader *lr)
{
    asdk_lr_event ev;
    int r;
    memset(s, 0, sizeof *s);
    s->digest = UINT64_C(14695981039346656037);
    asdk_lr_init(lr, max);
    size_t at = 0;
    while (at < n) {
        size_t k = n - at;
        if (mode == 1) {
            seed = seed * UINT64_C(6364136223846793005) + 1442695040888963407u;
            k = 1 + (size_t)(seed >> 33) % (k < 97 ? k : 97);
        } else if (mode == 2) {
            k = 1;
        }
        CHECK(asdk_lr_feed(lr, p + at, k) == 0);
        at += k;
        while ((r = asdk_lr_next(lr, &ev)) > 0) record(s, &ev, mode == 0);
        CHECK(r == 0);
        CHECK(lr->buf.len - lr->start <= max + 1); /* bounded: at most one partial line is kept */
    }
    while ((r = asdk_lr_finish(lr, &ev)) > 0) record(s, &ev, mode == 0);
    CHECK(r == 0 && lr->bytes_read == n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t max = data[0] & 0x80 ? (size_t)1 << 20 : 16 + (size_t)(data[0] & 0x7f) * 4;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;

    uint64_t seed = UINT64_C(14695981039346656037);
    mix(&seed, data, size);

    asdk_line_reader a, b;
    summary whole, split;
    frame(p, n, max, seed, 0, &whole, &a);
    frame(p, n, max, seed, 1, &split, &b);
    CHECK(whole.digest == split.digest && whole.lines == split.lines && whole.too_long == split.too_long);
    CHECK(a.skipped == b.skipped && a.dropped == b.dropped && a.truncated == b.truncated);
    asdk_lr_free(&b);
    if (n <= 4096) {
        frame(p, n, max, seed, 2, &split, &b);
        CHECK(whole.digest == split.digest && a.skipped == b.skipped && a.truncated == b.truncated);
        asdk_lr_free(&b);
    }
    asdk_lr_free(&a);

    /* The whole input as one line, unframed. */
    check_line(p, n);
    return 0;
}
