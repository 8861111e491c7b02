/* sse.c — incremental WHATWG Server-Sent Events framer (plain C99, no Ruby). See sse.h. */
#include "sse.h"

/* Above this capacity a buffer is given back once it is no longer in use, so one huge event does not pin
 * its memory for the life of the stream. */
#define SHRINK_ABOVE ((size_t)8 << 20)

enum { R_GO = 0, R_ABORT = 1, R_ERROR = -1 };

static const unsigned char BOM[3] = { 0xEF, 0xBB, 0xBF };

void asdk_sse_init(asdk_sse *p, size_t max_event)
{
    memset(p, 0, sizeof *p);
    if (max_event < 1) max_event = 1;
    if (max_event > SIZE_MAX / 4) max_event = SIZE_MAX / 4;
    p->max_event = max_event;
    p->retry = -1;
}

void asdk_sse_free(asdk_sse *p)
{
    asdk_buf_free(&p->line);
    asdk_buf_free(&p->rest);
    asdk_buf_free(&p->data);
    asdk_buf_free(&p->type);
    asdk_buf_free(&p->id);
}

void asdk_sse_reset(asdk_sse *p)
{
    size_t max = p->max_event;
    asdk_sse_free(p);
    asdk_sse_init(p, max);
}

int64_t asdk_sse_retry(const asdk_sse *p)
{
    return p->retry;
}

const char *asdk_sse_last_id(const asdk_sse *p, size_t *len)
{
    *len = p->id.len;
    return p->id.len ? p->id.ptr : "";
}

static int fail(asdk_sse *p, asdk_sse_status st)
{
    p->status = st;
    return R_ERROR;
}

static void shrink(asdk_buf *b)
{
    if (b->cap > SHRINK_ABOVE && b->len == 0) asdk_buf_free(b);
}

/* Copies the data and type of the event being built out of the caller's chunk (or the line buffer). */
static int materialize(asdk_sse *p)
{
    if (p->ndata && !p->downed) {
        p->data.len = 0;
        if (asdk_buf_append(&p->data, p->dref, p->dlen)) return fail(p, ASDK_SSE_NOMEM);
        p->downed = 1;
    }
    if (p->tlen && !p->towned) {
        p->type.len = 0;
        if (asdk_buf_append(&p->type, p->tref, p->tlen)) return fail(p, ASDK_SSE_NOMEM);
        p->towned = 1;
    }
    return R_GO;
}

static void clear_event(asdk_sse *p)
{
    p->ndata = p->dlen = p->tlen = p->event_bytes = 0;
    p->downed = p->towned = 0;
    p->data.len = p->type.len = 0;
}

static int dispatch(asdk_sse *p, asdk_sse_event_cb cb, void *ud)
{
    if (!p->ndata) { /* no data line: nothing is dispatched (the id, if any, already counted) */
        clear_event(p);
        return R_GO;
    }
    const char *data = p->downed ? p->data.ptr : p->dref;
    size_t dlen = p->downed ? p->data.len : p->dlen;
    const char *type = "message";
    size_t tlen = 7;
    if (p->tlen) {
        type = p->towned ? p->type.ptr : p->tref;
        tlen = p->tlen;
    }
    if (!dlen) data = "";
    /* The event is taken off the framer before the callback runs: a callback that aborts leaves a clean state.
     * The buffers keep their bytes until the next line is framed. */
    clear_event(p);
    int go = cb(ud, type, tlen, data, dlen, p->id.len ? p->id.ptr : "", p->id.len);
    shrink(&p->data);
    shrink(&p->type);
    return go ? R_GO : R_ABORT;
}

/* The most bytes the line starting with `first` may have (a comment counts on its own). */
static size_t line_limit(const asdk_sse *p, char first)
{
    return first == ':' ? p->max_event : p->max_event - p->event_bytes;
}

#define FIELD(s, n, lit) ((n) == sizeof(lit) - 1 && memcmp((s), lit, sizeof(lit) - 1) == 0)

/* One complete line s[0, n) without its line end. */
static int line(asdk_sse *p, const char *s, size_t n, asdk_sse_event_cb cb, void *ud)
{
    if (!n) return dispatch(p, cb, ud);
    if (n > line_limit(p, s[0])) return fail(p, ASDK_SSE_TOO_BIG);
    if (s[0] == ':') return R_GO;
    p->event_bytes += n;

    const char *colon = memchr(s, ':', n);
    size_t flen = colon ? (size_t)(colon - s) : n;
    const char *v = colon ? colon + 1 : s + n;
    size_t vlen = colon ? n - flen - 1 : 0;
    if (vlen && *v == ' ') {
        v++;
        vlen--;
    }

    if (FIELD(s, flen, "data")) {
        if (!p->ndata) {
            p->dref = v;
            p->dlen = vlen;
            p->downed = 0;
        } else {
            /* Fits: the data of an event is never longer than its field lines (event_bytes <= max_event). */
            if (!p->downed) {
                p->data.len = 0;
                if (asdk_buf_append(&p->data, p->dref, p->dlen)) return fail(p, ASDK_SSE_NOMEM);
                p->downed = 1;
            }
            if (asdk_buf_reserve(&p->data, vlen + 1)) return fail(p, ASDK_SSE_NOMEM);
            p->data.ptr[p->data.len++] = '\n';
            if (vlen) memcpy(p->data.ptr + p->data.len, v, vlen);
            p->data.len += vlen;
        }
        p->ndata++;
    } else if (FIELD(s, flen, "event")) {
        p->tref = v;
        p->tlen = vlen;
        p->towned = 0;
    } else if (FIELD(s, flen, "id")) {
        if (!vlen || !memchr(v, '\0', vlen)) {
            p->id.len = 0;
            if (asdk_buf_append(&p->id, v, vlen)) return fail(p, ASDK_SSE_NOMEM);
        }
    } else if (FIELD(s, flen, "retry")) {
        int64_t ms = 0;
        size_t i = 0;
        for (; i < vlen && v[i] >= '0' && v[i] <= '9'; i++) {
            int d = v[i] - '0';
            ms = ms > (INT64_MAX - d) / 10 ? INT64_MAX : ms * 10 + d;
        }
        if (vlen && i == vlen) p->retry = ms;
    }
    return R_GO;
}

/* Keeps the unread bytes of an aborted chunk for the next call. */
static asdk_sse_status aborted(asdk_sse *p, const char *pos, const char *end)
{
    if (pos < end && asdk_buf_append(&p->rest, pos, (size_t)(end - pos))) {
        p->status = ASDK_SSE_NOMEM;
        return p->status;
    }
    return ASDK_SSE_ABORTED;
}

/* Where the line that starts at pos ends (its first CR or LF), or NULL. *cr caches the next CR at or after
 * pos (end when there is none; NULL when not looked for yet), so a stream without CRs is scanned for them
 * once per chunk. */
static const char *line_end(const char *pos, const char *end, const char **cr)
{
    if (!*cr || *cr < pos) {
        const char *c = memchr(pos, '\r', (size_t)(end - pos));
        *cr = c ? c : end;
    }
    const char *nl = memchr(pos, '\n', (size_t)(*cr - pos));
    if (nl) return nl;
    return *cr < end ? *cr : NULL;
}

/* Past the line end at le. */
static const char *after(asdk_sse *p, const char *le, const char *end)
{
    if (*le == '\n') return le + 1;
    if (le + 1 < end) return le + 1 + (le[1] == '\n');
    p->last_cr = 1; /* the LF of a CRLF may start the next chunk */
    return end;
}

static asdk_sse_status run(asdk_sse *p, const char *s, size_t n, asdk_sse_event_cb cb, void *ud)
{
    const char *pos = s, *end = s + n, *cr = NULL;
    int r;
    if (!p->line.len) shrink(&p->line);
    if (p->last_cr && pos < end) {
        p->last_cr = 0;
        if (*pos == '\n') pos++;
    }

    if (p->line.len && pos < end) { /* complete the line carried over from the previous chunk */
        const char *le = line_end(pos, end, &cr);
        size_t add = (size_t)((le ? le : end) - pos);
        /* line.len <= the limit: it was checked when the line was kept, and event_bytes has not changed since */
        if (add > line_limit(p, p->line.ptr[0]) - p->line.len) return fail(p, ASDK_SSE_TOO_BIG), p->status;
        if (asdk_buf_append(&p->line, pos, add)) return fail(p, ASDK_SSE_NOMEM), p->status;
        if (!le) return ASDK_SSE_OK;
        pos = after(p, le, end);
        size_t len = p->line.len;
        p->line.len = 0; /* its bytes stay in place until the tail of this chunk is saved (after materialize) */
        r = line(p, p->line.ptr, len, cb, ud);
        if (r == R_ERROR) return p->status;
        if (r == R_ABORT) return aborted(p, pos, end);
    }

    while (pos < end) {
        const char *le = line_end(pos, end, &cr);
        if (!le) break;
        const char *next = after(p, le, end);
        r = line(p, pos, (size_t)(le - pos), cb, ud);
        pos = next;
        if (r == R_ERROR) return p->status;
        if (r == R_ABORT) return aborted(p, pos, end);
    }

    if (materialize(p)) return p->status;
    if (pos < end) { /* an unterminated line: keep it for the next chunk */
        size_t add = (size_t)(end - pos);
        if (add > line_limit(p, pos[0])) return fail(p, ASDK_SSE_TOO_BIG), p->status;
        if (asdk_buf_append(&p->line, pos, add)) return fail(p, ASDK_SSE_NOMEM), p->status;
    }
    return ASDK_SSE_OK;
}

/* Frames the unread bytes of an aborted feed followed by data[0, len). */
static asdk_sse_status run_rest(asdk_sse *p, const char *data, size_t len, asdk_sse_event_cb cb, void *ud)
{
    if (asdk_buf_append(&p->rest, data, len)) return fail(p, ASDK_SSE_NOMEM), p->status;
    asdk_buf work = p->rest;
    memset(&p->rest, 0, sizeof p->rest);
    asdk_sse_status st = run(p, work.ptr, work.len, cb, ud);
    asdk_buf_free(&work);
    return st;
}

asdk_sse_status asdk_sse_feed(asdk_sse *p, const char *data, size_t len, asdk_sse_event_cb cb, void *ud)
{
    if (p->status) return p->status;
    if (p->rest.len) return run_rest(p, data, len, cb, ud);
    while (p->bom < 3 && len) {
        if ((unsigned char)*data == BOM[p->bom]) {
            p->bom++;
            data++;
            len--;
            continue;
        }
        /* Not a BOM after all: what matched of it is ordinary input (it holds no line end, so no event). */
        size_t held = p->bom;
        p->bom = 3;
        if (held) {
            asdk_sse_status st = run(p, (const char *)BOM, held, cb, ud);
            if (st) return st;
        }
    }
    return len ? run(p, data, len, cb, ud) : ASDK_SSE_OK;
}

asdk_sse_status asdk_sse_finish(asdk_sse *p, asdk_sse_event_cb cb, void *ud)
{
    if (p->status) return p->status;
    if (p->rest.len) {
        asdk_sse_status st = run_rest(p, NULL, 0, cb, ud);
        if (st) return st;
    }
    clear_event(p);
    p->line.len = 0;
    shrink(&p->line);
    p->last_cr = 0;
    p->bom = 0;
    return ASDK_SSE_OK;
}
