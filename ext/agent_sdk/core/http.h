/* http.h — HTTP client for the agent loop on libcurl's multi interface (plain C99, no Ruby).
 *
 * One asdk_http owns one curl multi handle. Every request started on it shares its connection cache (HTTP/1.1
 * keep-alive across requests and turns; HTTP/2 multiplexing over TLS when the server offers it), its DNS cache,
 * and is driven by asdk_http_poll. The layer is single-threaded: every function except asdk_http_wakeup must be
 * called from the thread that owns the handle, one call at a time.
 *
 *     asdk_http *h = asdk_http_new();
 *     asdk_http_req *r = asdk_http_start(h, &opts, &callbacks, ud);   // NULL only when memory runs out
 *     while (asdk_http_poll(h, 1000) > 0) { ... }                    // callbacks fire inside poll
 *     asdk_http_free(h);
 *
 * Callbacks, in order, for every request that asdk_http_start returned:
 *     on_status (at most once) -> on_header* -> on_data* -> on_done (EXACTLY once)
 * on_status/on_header/on_data run inside libcurl (from asdk_http_poll): they must not block, must not call
 * asdk_http_poll or asdk_http_free, and may call asdk_http_start and asdk_http_cancel (both then take effect when
 * the current libcurl call returns, still inside the same asdk_http_poll). on_done runs outside libcurl (from
 * asdk_http_poll, asdk_http_cancel or asdk_http_free); it may start and cancel requests but must not call
 * asdk_http_poll or asdk_http_free. After on_done returns the request is freed by this library: forget the
 * pointer in on_done. All pointers handed to callbacks are valid only during the call.
 *
 * Security: TLS peer and host-name verification are always on (there is no option to turn them off); only
 * http:// and https:// URLs are accepted; redirects are not followed; result messages never contain request
 * header values (API keys): any header value of 4 bytes or more is replaced by "[REDACTED]" in them.
 *
 * Proxies: libcurl's environment variables are honoured for every request: http_proxy (lower case only),
 * https_proxy / HTTPS_PROXY, all_proxy / ALL_PROXY and no_proxy / NO_PROXY ("127.0.0.1,localhost" to keep local
 * servers direct). Verification of an HTTPS proxy's certificate stays on as well.
 *
 * Process-wide: curl_global_init runs once (asdk_http_global_init, also called by asdk_http_new); it is never
 * undone. Handles must not be used across fork(). */
#ifndef ASDK_HTTP_H
#define ASDK_HTTP_H

#include <stddef.h>

typedef struct asdk_http asdk_http;
typedef struct asdk_http_req asdk_http_req;

/* How a request ended. An HTTP error status (4xx, 5xx) is NOT an error here: it ends with ASDK_HTTP_OK and the
 * status in asdk_http_result.status; the caller decides. */
typedef enum {
    ASDK_HTTP_OK = 0,
    ASDK_HTTP_CONNECT, /* could not connect: refused, unresolvable host, proxy refused (nothing was sent) */
    ASDK_HTTP_TIMEOUT, /* connect_timeout_ms, idle_timeout_ms or total_timeout_ms elapsed */
    ASDK_HTTP_SEND,    /* the request could not be sent completely */
    ASDK_HTTP_RECV,    /* the response broke off: reset, closed early, empty reply, HTTP/2 stream error */
    ASDK_HTTP_TLS,     /* TLS handshake or certificate verification failed, CA file unreadable */
    ASDK_HTTP_ABORTED, /* asdk_http_cancel, on_data returned 0, or asdk_http_free with the request outstanding */
    ASDK_HTTP_OTHER    /* anything else: invalid URL or header, out of memory, protocol errors */
} asdk_http_error;

#define ASDK_HTTP_MESSAGE_MAX 320 /* bytes of asdk_http_result.message, NUL included */

typedef struct {
    asdk_http_error error;
    int status;          /* final HTTP status (1xx skipped), 0 when no response head arrived */
    const char *message; /* "" for ASDK_HTTP_OK, else a one-line reason (NUL-terminated, no header values) */
    int curl_code;       /* the CURLcode libcurl reported (0 when not applicable), for diagnostics */
} asdk_http_result;

/* Name of an error as a lower-case word: "ok", "connect", "timeout", "send", "recv", "tls", "aborted", "other". */
const char *asdk_http_error_name(asdk_http_error e);

/* All timeouts in milliseconds; 0 (or negative) means none — except connect_timeout_ms, where 0 leaves
 * libcurl's default of 300 s. */
typedef struct {
    const char *url;             /* http:// or https:// (copied) */
    const char *const *headers;  /* "Name: value" lines (copied); no CR or LF. "Name:" sends no such header */
    size_t nheaders;
    const char *body;            /* POST body (COPIED: the caller may free it when asdk_http_start returns) */
    size_t body_len;
    long connect_timeout_ms;     /* name resolution + TCP + TLS connect */
    long idle_timeout_ms;        /* no response byte (head or body) for this long -> TIMEOUT; the clock starts
                                  * at asdk_http_start and restarts at every byte received */
    long total_timeout_ms;       /* whole request, from asdk_http_start to the last byte */
    const char *ca_file;         /* PEM bundle of trusted CAs (copied) */
    const char *ca_path;         /* directory of hashed CA certificates (copied). When either is set, the two
                                  * REPLACE the system store; when both are NULL the system store is used */
    const char *user_agent;      /* NULL: "agent_sdk" (copied) */
} asdk_http_opts;

typedef struct {
    /* The final response status (after any 1xx). May be NULL. */
    void (*on_status)(void *ud, int status);
    /* One response header of the final head; name lower-cased, value without surrounding blanks. Repeated
     * headers come one call each. Trailers are not reported. May be NULL. */
    void (*on_header)(void *ud, const char *name, size_t nlen, const char *value, size_t vlen);
    /* A piece of the response body (after chunked decoding), in order. Return nonzero to go on, 0 to abort the
     * transfer: it then ends with ASDK_HTTP_ABORTED. May be NULL (the body is discarded). */
    int (*on_data)(void *ud, const char *bytes, size_t len);
    /* The end, exactly once per request asdk_http_start returned. Required. */
    void (*on_done)(void *ud, const asdk_http_result *result);
} asdk_http_callbacks;

/* Runs curl_global_init once per process (thread-safe). Returns 0, or -1 when libcurl cannot initialise. */
int asdk_http_global_init(void);

/* A new client, or NULL when memory runs out or libcurl cannot initialise. */
asdk_http *asdk_http_new(void);

/* Ends every outstanding request with ASDK_HTTP_ABORTED (their on_done runs now), closes all connections and
 * frees the client. NULL is fine. Never from a callback. */
void asdk_http_free(asdk_http *h);

/* Starts a POST. opts, the strings it points to and cb are copied: none need outlive this call. Returns the
 * request, or NULL only when h/opts/cb/on_done/url is NULL or memory runs out — then no callback ever runs.
 * Every other failure (bad URL or header, unsupported scheme, ...) is reported through on_done from the next
 * asdk_http_poll. The request makes progress only inside asdk_http_poll. */
asdk_http_req *asdk_http_start(asdk_http *h, const asdk_http_opts *opts, const asdk_http_callbacks *cb, void *ud);

/* Ends a request early with ASDK_HTTP_ABORTED. Outside on_status/on_header/on_data its on_done runs before
 * asdk_http_cancel returns (and the request is freed); inside them it is ended when libcurl returns, before
 * the current asdk_http_poll does, and no further on_header/on_data is delivered for it. A no-op on a request
 * whose on_done is running. Never pass a request whose on_done has returned. */
void asdk_http_cancel(asdk_http_req *r);

/* Drives every request: sends, receives, delivers callbacks, enforces the idle timeouts. When something was
 * delivered it returns at once; otherwise it waits up to timeout_ms (0: not at all) for network activity or
 * asdk_http_wakeup (never past the nearest idle deadline), then delivers what that brought. With no request
 * running it returns 0 at once. Returns how many requests are still running (on_done not yet called), or -1
 * when called from one of its own callbacks. Does not touch anything but this client and
 * the callbacks: it is what runs without Ruby's GVL. */
int asdk_http_poll(asdk_http *h, int timeout_ms);

/* How many requests are running (started, on_done not yet called). */
int asdk_http_live(const asdk_http *h);

/* With nothing in flight (asdk_http_poll returned 0): waits up to timeout_ms for asdk_http_wakeup only — no busy
 * loop while a driver sleeps before a retry. Returns at once when a wakeup is pending. */
void asdk_http_wait_wakeup(asdk_http *h, int timeout_ms);

/* Makes a current or the next asdk_http_poll on h return promptly. The ONLY function that may be called from
 * any thread (an unblocking function, a canceller), as long as h is alive. */
void asdk_http_wakeup(asdk_http *h);

#endif
