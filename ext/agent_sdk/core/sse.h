/* sse.h — incremental Server-Sent Events framer after the WHATWG HTML "event stream" parsing rules
 * (plain C99, no Ruby).
 *
 * Feed it the bytes of a text/event-stream body in chunks of any size; it calls back once per dispatched
 * event, and the same events come out however the input is split:
 *
 *     asdk_sse_init(&p, ASDK_SSE_DEFAULT_MAX_EVENT);
 *     while (read a chunk) if ((st = asdk_sse_feed(&p, chunk, n, on_event, ud)) != ASDK_SSE_OK) break;
 *     asdk_sse_finish(&p, on_event, ud);                  // end of the body
 *     asdk_sse_free(&p);
 *
 * Rules (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
 *  - one U+FEFF byte order mark at the very start of the stream is skipped (anywhere else it is data);
 *  - lines end with CRLF, LF or CR; a CR that ends one chunk and an LF that starts the next are one line end;
 *  - an empty line dispatches the event; a line starting with ":" is a comment;
 *  - "name: value" — one space after the colon is removed; a line without a colon is a name with value "";
 *  - "data" appends the value and a LF to the data buffer (the last LF is dropped at dispatch: lines are
 *    joined with "\n"); "event" sets the type (empty → "message"); "id" sets the last event id unless the
 *    value contains a NUL, and it persists across events (and across asdk_sse_finish, for a reconnection);
 *    "retry" sets the reconnection time only when the value is all ASCII digits (>= 1 of them); other names
 *    are ignored;
 *  - an event whose data buffer is empty (no "data" line at all) is not dispatched, but its id still counts;
 *    a "data" line with an empty value does make an event, with data "" (as browsers do);
 *  - at the end of the stream an unterminated line and an undispatched event are dropped.
 * The framer works on bytes: it does not check UTF-8 (callers validate — JSON parsers reject bad UTF-8, the
 * Ruby binding replaces it with U+FFFD as a WHATWG decoder would; ":", CR and LF never occur inside a
 * multi-byte sequence, so splitting first and decoding afterwards gives the same text).
 *
 * Bounded: the field lines of one event (each line without its line end, comment lines counted on their own)
 * may total at most max_event bytes. Beyond that — including a single line longer than that, noticed as soon
 * as the first max_event + 1 bytes of it have arrived — feed returns ASDK_SSE_TOO_BIG. Errors are sticky:
 * every later feed/finish returns the same status until asdk_sse_reset. Memory held: the data of the event
 * being built plus one partial line, each <= max_event, plus (after an abort) the chunk's unread bytes.
 *
 * Zero copies where possible: an event whose lines all arrived in one chunk is handed out with pointers into
 * that chunk; only lines split across chunks and events with several data lines are copied. */
#ifndef ASDK_SSE_H
#define ASDK_SSE_H

#include <stddef.h>
#include <stdint.h>

#include "asdk_buf.h"

#define ASDK_SSE_DEFAULT_MAX_EVENT ((size_t)32 << 20)

typedef enum {
    ASDK_SSE_OK = 0,
    ASDK_SSE_ABORTED, /* the callback returned 0 (not sticky: the next feed/finish goes on with the unread bytes) */
    ASDK_SSE_TOO_BIG, /* an event over max_event bytes (sticky) */
    ASDK_SSE_NOMEM    /* out of memory (sticky) */
} asdk_sse_status;

/* One event. type is never empty ("message" by default); id is the last event id ("" when none was set).
 * The three byte ranges are not NUL-terminated and are valid only during the call. Return nonzero to go on,
 * 0 to stop: feed then returns ASDK_SSE_ABORTED at once, keeping the rest of its chunk for the next call. */
typedef int (*asdk_sse_event_cb)(void *ud, const char *type, size_t tlen, const char *data, size_t dlen,
                                 const char *id, size_t idlen);

/* All fields are private. */
typedef struct {
    size_t max_event;
    asdk_sse_status status;  /* sticky error (TOO_BIG, NOMEM) or OK */
    int64_t retry;           /* last valid "retry" value in ms, -1 if none */
    asdk_buf line;           /* a partial line carried over from the previous chunk */
    asdk_buf rest;           /* unread bytes of a chunk whose feed was aborted */
    asdk_buf data, type, id; /* owned copies: data and type of the event being built, the last event id */
    const char *dref, *tref; /* data / type of the event being built when still inside the caller's chunk */
    size_t dlen, tlen;
    size_t ndata;            /* data lines of the event being built */
    size_t event_bytes;      /* field-line bytes of the event being built */
    unsigned char downed;    /* data lives in `data` (else at dref) */
    unsigned char towned;    /* type lives in `type` (else at tref) */
    unsigned char last_cr;   /* the previous chunk ended with the CR of a line end */
    unsigned char bom;       /* bytes of a leading BOM matched so far; 3 when the start has been decided */
} asdk_sse;

/* max_event: 1 <= max_event <= SIZE_MAX / 4 (ASDK_SSE_DEFAULT_MAX_EVENT is 32 MiB). */
void asdk_sse_init(asdk_sse *p, size_t max_event);
void asdk_sse_free(asdk_sse *p);
/* Back to the state after init (a new stream, no last event id, no retry), keeping max_event. */
void asdk_sse_reset(asdk_sse *p);

/* Frames data[0, len) (not kept after the call, except for an aborted feed's unread bytes), calling cb for
 * every event completed. Returns ASDK_SSE_OK, ASDK_SSE_ABORTED or a sticky error. */
asdk_sse_status asdk_sse_feed(asdk_sse *p, const char *data, size_t len, asdk_sse_event_cb cb, void *ud);

/* End of the stream: first the unread bytes of an aborted feed are framed (cb may be called, and may abort
 * again: call finish again), then the unterminated line and the undispatched event are dropped and the
 * framer is ready for a new stream (a BOM is skipped again; the last event id and retry stay). */
asdk_sse_status asdk_sse_finish(asdk_sse *p, asdk_sse_event_cb cb, void *ud);

/* The last valid "retry" value in milliseconds (saturated at INT64_MAX), or -1 if none came. */
int64_t asdk_sse_retry(const asdk_sse *p);
/* The last event id (not NUL-terminated), "" when none. */
const char *asdk_sse_last_id(const asdk_sse *p, size_t *len);

#endif
