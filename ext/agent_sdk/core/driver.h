/* driver.h — drives many agent loops (loop.c) over an HTTP layer with the streaming assemblers (stream_asm.c), from
 * one thread (plain C99, no Ruby). The host — Native::Runner (runner_class.c), or fuzz/fuzz_driver.c — alternates:
 *
 *   asdk_driver_drive(d)            waits on the network and steps the ready runs as far as C alone can (streamed
 *                                   bytes assembled, turns recorded, retries slept, requests sent), until a run
 *                                   needs the host, asdk_driver_wake was called, or the host's interrupt flag is set;
 *   while ((run = asdk_driver_head(d))) { switch (asdk_driver_step(d, run)) { … } }
 *                                   the host delivers lines, runs tools, reports ends.
 *
 * The HTTP layer is a small vtable (asdk_net) so a fuzzer can plug a fake one in; asdk_net_curl (core/http.c) is
 * the real one. Its callbacks follow http.h's contract: on_status → on_header* → on_data* → on_done exactly once.
 *
 * An abort the driver did not ask for (on_data refusing a stream the assembler rejects, a body over its bound, out
 * of memory) is a protocol error for the loop, never taken for a cancel: the loop retries or ends the run. */
#ifndef ASDK_DRIVER_H
#define ASDK_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "lines.h"
#include "loop.h"
#include "stream_asm.h"

typedef struct {
    /* A new request (the callbacks' ud is the driver's); NULL when it could not be started (out of memory). */
    void *(*start)(void *net, const asdk_http_opts *o, const asdk_http_callbacks *cb, void *ud);
    /* Ends req: its on_done runs (ASDK_HTTP_ABORTED) before cancel returns. */
    void (*cancel)(void *net, void *req);
    /* Delivers callbacks; waits up to timeout_ms for the network or wakeup — also with nothing in flight. */
    void (*poll)(void *net, int timeout_ms);
    /* From any thread, async-signal-safe: makes the current or next poll return. */
    void (*wakeup)(void *net);
} asdk_net_ops;

/* The real layer: net is an asdk_http *. */
extern const asdk_net_ops asdk_net_curl;

typedef struct asdk_driver asdk_driver;

/* Attempt records (asdk_driver_record_attempts): what a host that instruments its runs is told about each finished
 * HTTP attempt and each retry the loop schedules. Kept in a fixed ring per run, no allocation: a run with records
 * waiting needs the host (ASDK_DRV_RECORDS), so the ring holds at most the two of one attempt in practice; a record
 * that finds it full is counted in records_dropped and dropped. */
#define ASDK_DRV_RECORDS_MAX 4

typedef enum { ASDK_REC_REQUEST = 1, ASDK_REC_RETRY } asdk_rec_kind;

typedef struct {
    asdk_rec_kind kind;
    int64_t attempt;        /* 1-based within its model call; RETRY: the attempt that failed */
    int status;             /* HTTP status; 0: no response */
    int has_usage;          /* REQUEST: the attempt reported usage (usage, cost_micros) */
    asdk_usage usage;
    int64_t cost_micros;    /* -1: none reported, or no price */
    int64_t ttfb_ms;        /* REQUEST: from sending to the response's first byte; -1: no response */
    int64_t total_ms;       /* REQUEST: from sending to the end of the attempt */
    int64_t wait_ms;        /* RETRY: the wait before the next attempt */
    char error[ASDK_ATTEMPT_ERROR_MAX]; /* REQUEST: why it failed, "" when ok; RETRY: why it is retried */
} asdk_drv_record;

typedef struct asdk_drun {
    asdk_driver *d;
    size_t index;               /* its id: d->runs[index] */
    struct asdk_drun *next_ready;
    int queued;
    asdk_loop *loop;
    asdk_turn turn;
    asdk_stream stream;
    void *req;                  /* the attempt in flight, or NULL */
    char *url;
    char **headers;
    size_t nheaders;

    /* the attempt in flight */
    int status, sse, began;
    int64_t retry_after_ms;
    int should_retry;
    int cancelling;             /* the driver cancels req: its ABORTED is ours */
    const char *rejected;       /* on_data refused the body (why), or NULL */
    asdk_buf error_body;        /* a non-2xx body, or a non-streamed 2xx body */

    int64_t wake_at_ms;         /* SLEEP: when to send again */
    asdk_lines lines;           /* emitted lines not yet delivered */
    size_t lines_off;           /* bytes of lines.buf delivered already */
    int cancel;                 /* asdk_driver_cancel was called, or the run's deadline passed (expired) */
    int expired;                /* its loop's timeout_ms passed: it ends "error_timeout" */
    char *cancel_reason;
    int reported;               /* ASDK_DRV_DONE returned */

    int record;                 /* asdk_driver_record_attempts: keep attempt records */
    int64_t sent_ms, first_byte_ms; /* the attempt in flight: when it was sent, when its response began (-1: not yet) */
    asdk_drv_record records[ASDK_DRV_RECORDS_MAX]; /* a ring: records_head is the oldest undelivered */
    size_t records_head, nrecords;
    size_t records_dropped;
} asdk_drun;

typedef struct {
    long connect_ms, idle_ms, total_ms;
    const char *ca_file;        /* copied */
    int64_t (*now_ms)(void *ud); /* NULL: asdk_io_now_ms */
    double (*random)(void *ud);  /* NULL: asdk_io_random */
    int64_t (*wall_s)(void *ud); /* seconds since the epoch, for Retry-After dates; NULL: time() */
    void *clock_ud;
} asdk_driver_opts;

struct asdk_driver {
    asdk_driver_opts o;
    const asdk_net_ops *net_ops;
    void *net;                  /* NULL: none set (no request may start) */
    asdk_drun **runs;
    size_t nruns, cap;
    size_t active;              /* runs not yet reported done */
    asdk_drun *ready_head, *ready_tail;
    int64_t next_wake_ms;       /* the earliest wake_at_ms of a sleeping run, or -1 */
    int wake;                   /* atomic: asdk_driver_wake was called */
    int *interrupted;           /* the host's flag (atomic), or NULL: the drive returns when it is set */
};

typedef enum {
    ASDK_DRV_IDLE = 0, /* the run waits on the network or a timer (or ended and was reported): next run */
    ASDK_DRV_LINES,    /* lines to deliver: asdk_driver_next_line until it returns 0, then step again */
    ASDK_DRV_TOOLS,    /* tool calls: asdk_loop_tool_count/_call/_result on run->loop, then asdk_driver_resume */
    ASDK_DRV_DONE,     /* the run ended (its lines were delivered); returned once */
    ASDK_DRV_NOMEM,    /* the request could not be started */
    ASDK_DRV_RECORDS   /* attempt records to deliver: asdk_driver_next_record until it returns 0, then step again */
} asdk_drv_event;

asdk_driver *asdk_driver_new(const asdk_driver_opts *o);
/* Cancels what is in flight (ours), frees every run. */
void asdk_driver_free(asdk_driver *d);
/* Forgets the requests in flight without cancelling them (a forked child: they are the parent's). */
void asdk_driver_forget_requests(asdk_driver *d);
void asdk_driver_set_net(asdk_driver *d, const asdk_net_ops *ops, void *net);

/* Adds a run (its init line waits; nothing is sent before the host steps it). Returns its index, or -1 with err. */
long asdk_driver_add(asdk_driver *d, const asdk_loop_config *c, const char *url, const char *const *headers,
                     size_t nheaders, char *err, size_t errlen);

/* Not from another thread while drive runs: the host serialises. Asks the run to end ("error_cancelled"). */
int asdk_driver_cancel(asdk_driver *d, size_t i, const char *reason);
/* Any thread, async-signal-safe: the drive returns to the host soon. */
void asdk_driver_wake(asdk_driver *d);

/* Without the host: returns when a run needs the host, on asdk_driver_wake, or when *interrupted is set. */
void asdk_driver_drive(asdk_driver *d);

/* The host's side: the first run that needs it (NULL: none), and one step of it. */
asdk_drun *asdk_driver_head(asdk_driver *d);
asdk_drv_event asdk_driver_step(asdk_driver *d, asdk_drun *r);
/* After ASDK_DRV_IDLE / ASDK_DRV_DONE for the head run: takes it off the queue. */
void asdk_driver_pop(asdk_driver *d, asdk_drun *r);
/* The next undelivered line of r (no newline), valid until the loop steps again; 0 when none is left. A host that
 * stops between two calls (its callback raised) leaves the rest for later: nothing is dropped. */
int asdk_driver_next_line(asdk_drun *r, const char **line, size_t *len);
void asdk_driver_resume(asdk_driver *d, asdk_drun *r);
/* Keeps attempt records for run i from now on (on != 0), or stops. Returns -1 for no such run. */
int asdk_driver_record_attempts(asdk_driver *d, size_t i, int on);
/* The oldest undelivered record of r, taken off its ring (valid until the run's next attempt ends); 0 when none. */
int asdk_driver_next_record(asdk_drun *r, const asdk_drv_record **rec);
/* Ends every run not yet reported with "error_cancelled" (reason), so its lines — result included — can be
 * drained with asdk_driver_next_line. For a host that stops for good (its block raised). */
void asdk_driver_cancel_all(asdk_driver *d, const char *reason);
/* Cancels r's request in flight, if any (the driver's own cancel). */
void asdk_driver_cancel_request(asdk_drun *r);
/* Cancels every request in flight (the driver's own cancel: the loops are not told). */
void asdk_driver_cancel_requests(asdk_driver *d);

#endif
