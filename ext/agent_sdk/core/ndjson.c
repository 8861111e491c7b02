/* ndjson.c — incremental NDJSON framer (plain C99, no Ruby). See ndjson.h. */
#include "ndjson.h"

#include <yajl/yajl_parse.h>

/* Above this capacity the buffer is given back once the data it held has been framed, so one huge line or
 * chunk does not pin its memory for the life of the stream. */
#define SHRINK_ABOVE ((size_t)8 << 20)
#define SHRUNK_CAP ((size_t)64 << 10)

void asdk_lr_init(asdk_line_reader *lr, size_t max_line)
{
    memset(lr, 0, sizeof *lr);
    lr->max_line = max_line;
}

void asdk_lr_free(asdk_line_reader *lr)
{
    asdk_buf_free(&lr->buf);
}

static void excerpt_add(asdk_line_reader *lr, const char *p, size_t n)
{
    size_t room = ASDK_EXCERPT_MAX - lr->excerpt_len;
    if (n > room) n = room;
    if (n) memcpy(lr->excerpt + lr->excerpt_len, p, n);
    lr->excerpt_len += n;
}

/* Moves the unframed bytes to the front of the buffer (callers hold no pointer into it between calls),
 * into a smaller allocation when the current one is mostly unused and large. */
static void compact(asdk_line_reader *lr, size_t incoming)
{
    size_t rest = lr->buf.len - lr->start;
    if (lr->buf.cap > SHRINK_ABOVE && rest + incoming < lr->buf.cap / 4) {
        size_t cap = SHRUNK_CAP;
        while (cap < rest + incoming) cap *= 2;
        char *p = malloc(cap);
        if (p) {
            if (rest) memcpy(p, lr->buf.ptr + lr->start, rest);
            free(lr->buf.ptr);
            lr->buf.ptr = p;
            lr->buf.cap = cap;
            lr->buf.len = rest;
            lr->start = 0;
            return;
        }
    }
    if (lr->start) {
        if (rest) memmove(lr->buf.ptr, lr->buf.ptr + lr->start, rest);
        lr->buf.len = rest;
        lr->start = 0;
    }
}

int asdk_lr_feed(asdk_line_reader *lr, const char *p, size_t n)
{
    /* While dropping a long line, its bytes up to the newline are never copied. The buffer is empty then:
     * discarding starts only once everything buffered belongs to the long line. */
    const char *nl = NULL;
    size_t skip = 0;
    if (lr->discarding) {
        nl = n ? memchr(p, '\n', n) : NULL;
        skip = nl ? (size_t)(nl - p) + 1 : n;
    }
    compact(lr, n - skip);
    if (asdk_buf_reserve(&lr->buf, n - skip)) return -1;

    lr->bytes_read += n;
    if (lr->discarding) {
        size_t k = nl ? skip - 1 : n;
        excerpt_add(lr, p, k);
        lr->discarded += k;
        if (k) lr->last_cr = p[k - 1] == '\r';
        if (nl) {
            lr->discarding = 0;
            lr->too_long_ready = 1;
        }
    }
    asdk_buf_append(&lr->buf, p + skip, n - skip); /* cannot fail: reserved above */
    return 0;
}

static void too_long_event(asdk_line_reader *lr, asdk_lr_event *ev)
{
    size_t bytes = lr->discarded - (size_t)lr->last_cr;
    ev->kind = ASDK_LR_TOO_LONG;
    ev->ptr = lr->excerpt;
    ev->len = lr->excerpt_len < bytes ? lr->excerpt_len : bytes;
    ev->bytes = bytes;
    lr->dropped++;
}

/* The partial line p[0, n) is already too long (n > max_line + 1, so even without a final "\r"): keep its
 * first bytes and length, drop it, and drop what follows up to the next newline. */
static void start_discard(asdk_line_reader *lr, const char *p, size_t n)
{
    lr->discarding = 1;
    lr->discarded = n;
    lr->last_cr = p[n - 1] == '\r';
    lr->excerpt_len = 0;
    excerpt_add(lr, p, n);
    lr->start = lr->buf.len = lr->scan = 0;
    if (lr->buf.cap > SHRINK_ABOVE) asdk_buf_free(&lr->buf);
}

/* A complete line p[0, n) without its "\n": 1 with an event, 0 if it yields nothing. */
static int classify(asdk_line_reader *lr, const char *p, size_t n, asdk_lr_event *ev)
{
    if (n && p[n - 1] == '\r') n--;
    if (n > lr->max_line) {
        ev->kind = ASDK_LR_TOO_LONG;
        ev->ptr = p;
        ev->len = n < ASDK_EXCERPT_MAX ? n : ASDK_EXCERPT_MAX;
        ev->bytes = n;
        lr->dropped++;
        return 1;
    }
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r')) i++;
    if (i == n) return 0;
    if (p[i] != '{') {
        lr->skipped++;
        return 0;
    }
    ev->kind = ASDK_LR_LINE;
    ev->ptr = p;
    ev->len = n;
    ev->bytes = n;
    return 1;
}

int asdk_lr_next(asdk_line_reader *lr, asdk_lr_event *ev)
{
    if (lr->too_long_ready) {
        lr->too_long_ready = 0;
        too_long_event(lr, ev);
        return 1;
    }
    for (;;) {
        size_t avail = lr->buf.len - lr->start;
        if (avail == lr->scan) return 0;
        char *line = lr->buf.ptr + lr->start;
        char *nl = memchr(line + lr->scan, '\n', avail - lr->scan);
        if (!nl) {
            lr->scan = avail;
            if (avail > lr->max_line + 1) start_discard(lr, line, avail);
            return 0;
        }
        lr->start += (size_t)(nl - line) + 1;
        lr->scan = 0;
        if (classify(lr, line, (size_t)(nl - line), ev)) return 1;
    }
}

/* 1 if p[0, n) is exactly one complete JSON text, 0 if not, -1 when memory runs out. */
static int json_complete(const char *p, size_t n)
{
    yajl_handle h = yajl_alloc(NULL, NULL, NULL);
    if (!h) return -1;
    yajl_config(h, yajl_dont_validate_strings, 1);
    int ok = yajl_parse(h, (const unsigned char *)p, n) == yajl_status_ok && yajl_complete_parse(h) == yajl_status_ok;
    yajl_free(h);
    return ok;
}

int asdk_lr_finish(asdk_line_reader *lr, asdk_lr_event *ev)
{
    int r = asdk_lr_next(lr, ev);
    if (r) return r;
    if (lr->discarding) {
        lr->discarding = 0;
        too_long_event(lr, ev);
        return 1;
    }
    size_t n = lr->buf.len - lr->start;
    if (!n) return 0;
    r = classify(lr, lr->buf.ptr + lr->start, n, ev);
    int complete = 1;
    if (r && ev->kind == ASDK_LR_LINE && (complete = json_complete(ev->ptr, ev->len)) < 0)
        return -1; /* nothing consumed or counted yet */
    lr->start = lr->buf.len;
    lr->scan = 0;
    if (!complete) {
        lr->truncated++;
        return 0;
    }
    return r;
}
