/* ndjson.h — incremental framer for newline-delimited JSON such as the CLI's stream-json output
 * (plain C99, no Ruby).
 *
 * Feed it chunks of any size; it hands back complete lines one at a time, so however the input is split
 * the same events come out. Memory is bounded: a line longer than max_line is not kept but dropped while
 * the caller keeps draining its pipe, and reported once (length and first bytes) when it ends. The buffer
 * holds at most one partial line (<= max_line + 1 bytes) plus the chunk being framed.
 *
 *     asdk_lr_feed(lr, chunk, n);                           // then
 *     while ((r = asdk_lr_next(lr, &ev)) > 0) use(&ev);     // at end of stream:
 *     while ((r = asdk_lr_finish(lr, &ev)) > 0) use(&ev);
 *
 * An event's ptr stays valid until the next call on the reader. Events are taken off the reader before they
 * are returned, so a caller that stops half-way (an exception in a Ruby block) resumes with the next event. */
#ifndef ASDK_NDJSON_H
#define ASDK_NDJSON_H

#include <stddef.h>
#include <stdint.h>

#include "asdk_buf.h"

#define ASDK_EXCERPT_MAX 200

typedef enum { ASDK_LR_LINE = 1, ASDK_LR_TOO_LONG } asdk_lr_kind;

typedef struct {
    asdk_lr_kind kind;
    const char *ptr; /* LINE: the line without its "\n" or "\r\n"; TOO_LONG: the first bytes of the line */
    size_t len;      /* ... and their length (TOO_LONG: at most ASDK_EXCERPT_MAX) */
    size_t bytes;    /* TOO_LONG: length of the whole dropped line */
} asdk_lr_event;

typedef struct {
    asdk_buf buf;       /* input not yet framed is buf.ptr[start, buf.len) */
    size_t start;
    size_t scan;        /* buf.ptr[start, start + scan) is known to hold no newline */
    size_t max_line;
    int discarding;     /* the current line is over max_line: its bytes are counted, not kept */
    int too_long_ready; /* a dropped line has ended and its event is due */
    int last_cr;        /* the last byte of the dropped line so far is "\r" */
    size_t discarded;   /* bytes of the dropped line so far */
    size_t excerpt_len;
    char excerpt[ASDK_EXCERPT_MAX];
    uint64_t skipped;   /* lines whose first non-blank byte is not "{" */
    uint64_t dropped;   /* lines over max_line */
    uint64_t truncated; /* an incomplete last line at end of stream */
    uint64_t bytes_read;
} asdk_line_reader;

/* max_line: longest line kept, in bytes, excluding the line end; 1 <= max_line < SIZE_MAX / 2. */
void asdk_lr_init(asdk_line_reader *lr, size_t max_line);
void asdk_lr_free(asdk_line_reader *lr);

/* Takes a chunk (copied). Returns 0, or -1 when memory runs out (the reader is then unchanged). */
int asdk_lr_feed(asdk_line_reader *lr, const char *p, size_t n);

/* Next event from the input fed so far: 1 with *ev set, 0 when no complete line is left.
 * Lines are "\n"-terminated; a trailing "\r" is removed. A line of blanks yields nothing; a line whose first
 * non-blank byte is not "{" yields nothing and counts as skipped; a line over max_line, whatever it holds,
 * yields TOO_LONG and counts as dropped. */
int asdk_lr_next(asdk_line_reader *lr, asdk_lr_event *ev);

/* End of stream: like asdk_lr_next, then the unterminated remainder, which is classified like a line and
 * yielded only if it is a complete JSON value (yajl; strings are not checked for UTF-8 here, so an invalid
 * line fails in the message parser exactly as it would have with a newline); otherwise it counts as
 * truncated. Call until it returns 0; the reader is then empty and can take a new stream (counters go on).
 * Returns -1 when memory runs out (the remainder is then still buffered). */
int asdk_lr_finish(asdk_line_reader *lr, asdk_lr_event *ev);

#endif
