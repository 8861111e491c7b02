/* http.c — HTTP client on libcurl's multi interface; see http.h for the contract (plain C99, no Ruby). */
#include "http.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#if defined(__linux__) && !defined(ASDK_HTTP_USE_POLL)
#define ASDK_HTTP_EPOLL 1
#include <sys/epoll.h>
#include <sys/eventfd.h>
#endif
#include <poll.h>

#include "asdk_buf.h"

#define REDACTED "[REDACTED]"
#define REDACT_MIN 4 /* header values shorter than this are not secrets and are left in messages */

struct asdk_http_req {
    asdk_http *h;
    asdk_http_req *prev, *next; /* in h's list of requests whose on_done has not run */
    CURL *easy;
    struct curl_slist *headers;
    char *body; /* our copy of the POST body */
    asdk_http_callbacks cb;
    void *ud;
    long idle_ms;
    uint64_t last_rx_ms; /* when the last response byte arrived (or the start) */
    int status;
    unsigned added : 1;         /* in the multi handle */
    unsigned add_pending : 1;   /* started from inside libcurl: add at the next sweep */
    unsigned cancel_pending : 1;
    unsigned aborted_by_cb : 1; /* on_data returned 0 */
    unsigned oom : 1;
    unsigned in_final : 1;      /* reading the head of the final (non-1xx) response */
    unsigned head_done : 1;
    unsigned done : 1;          /* on_done is running or has run */
    asdk_http_error fail;       /* != OK: failed before it could be added; reported at the next sweep */
    const char *fail_msg;
    asdk_buf scratch;           /* lower-cased header name */
    char errbuf[CURL_ERROR_SIZE];
};

/* libcurl is driven with curl_multi_socket_action: it tells us which sockets to watch (sock_cb) and when to call it
 * back without socket activity (timer_cb); we wait on those sockets and on a wakeup descriptor with epoll (Linux) or
 * poll (elsewhere), and hand each ready socket to libcurl. Unlike curl_multi_perform + curl_multi_poll, a wake-up
 * costs one wait and the reads of the ready sockets, whatever the number of transfers. */
struct asdk_http {
    CURLM *multi;
    asdk_http_req *head;
    int live;        /* requests whose on_done has not run */
    int in_perform;  /* inside libcurl (socket_action): libcurl forbids adding/removing handles there */
    int in_poll;
    int progress;    /* a callback ran during this poll */
    int closing;
    int64_t timer_at_ms; /* when libcurl wants CURL_SOCKET_TIMEOUT; -1: never */
    uint64_t now;        /* the clock, read once per wake-up (callbacks stamp last_rx_ms with it) */
    int pending;         /* some request has fail, cancel_pending or add_pending set: sweep must look */
    uint64_t idle_check_at; /* no idle deadline is before this: sweep need not look for one until then */
    int wake_rd, wake_wr; /* asdk_http_wakeup writes to wake_wr; wake_rd is watched (one eventfd on Linux) */
#ifdef ASDK_HTTP_EPOLL
    int epfd;
#else
    struct pollfd *fds; /* [0] is wake_rd, then the sockets libcurl asked for */
    size_t nfds, capfds;
#endif
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc = -1;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

int asdk_http_global_init(void)
{
    if (pthread_once(&global_once, global_init) != 0) return -1;
    return global_rc;
}

const char *asdk_http_error_name(asdk_http_error e)
{
    switch (e) {
    case ASDK_HTTP_OK: return "ok";
    case ASDK_HTTP_CONNECT: return "connect";
    case ASDK_HTTP_TIMEOUT: return "timeout";
    case ASDK_HTTP_SEND: return "send";
    case ASDK_HTTP_RECV: return "recv";
    case ASDK_HTTP_TLS: return "tls";
    case ASDK_HTTP_ABORTED: return "aborted";
    case ASDK_HTTP_OTHER: break;
    }
    return "other";
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static asdk_http_error map_code(CURLcode c)
{
    switch (c) {
    case CURLE_OK:
        return ASDK_HTTP_OK;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
#if LIBCURL_VERSION_NUM >= 0x074900 /* 7.73.0 */
    case CURLE_PROXY:
#endif
        return ASDK_HTTP_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return ASDK_HTTP_TIMEOUT;
    case CURLE_SEND_ERROR:
        return ASDK_HTTP_SEND;
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return ASDK_HTTP_RECV;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION: /* == CURLE_SSL_CACERT since 7.62 */
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED:
#if LIBCURL_VERSION_NUM >= 0x074d00 /* 7.77.0 */
    case CURLE_SSL_CLIENTCERT:
#endif
        return ASDK_HTTP_TLS;
    case CURLE_ABORTED_BY_CALLBACK:
        return ASDK_HTTP_ABORTED;
    default:
        return ASDK_HTTP_OTHER;
    }
}

/* ---- messages without secrets ---- */

/* The value part of a "Name: value" line, without surrounding blanks. */
static const char *header_value(const char *line, size_t *vlen)
{
    const char *c = strchr(line, ':');
    if (!c) return NULL;
    c++;
    while (*c == ' ' || *c == '\t') c++;
    size_t n = strlen(c);
    while (n && (c[n - 1] == ' ' || c[n - 1] == '\t')) n--;
    *vlen = n;
    return c;
}

/* Replaces every occurrence of v[0, vlen) in msg (and a prefix of it cut off at the very end of msg, in case
 * the message was truncated in the middle of a value) with REDACTED, truncating to cap. */
static void redact_one(char *msg, size_t cap, const char *v, size_t vlen)
{
    char out[ASDK_HTTP_MESSAGE_MAX];
    size_t len = strlen(msg), o = 0, i = 0;
    int changed = 0;
    if (cap > sizeof out) cap = sizeof out;
    while (i < len && o + 1 < cap) {
        size_t rest = len - i, m = rest < vlen ? rest : vlen;
        if (m >= REDACT_MIN && memcmp(msg + i, v, m) == 0) {
            size_t k = sizeof REDACTED - 1;
            if (k > cap - 1 - o) k = cap - 1 - o;
            memcpy(out + o, REDACTED, k);
            o += k;
            i += m;
            changed = 1;
        } else {
            out[o++] = msg[i++];
        }
    }
    if (!changed) return;
    out[o] = '\0';
    memcpy(msg, out, o + 1);
}

static void redact(char *msg, size_t cap, const struct curl_slist *headers)
{
    for (const struct curl_slist *l = headers; l; l = l->next) {
        size_t vlen;
        const char *v = header_value(l->data, &vlen);
        if (v && vlen >= REDACT_MIN) redact_one(msg, cap, v, vlen);
    }
}

/* ---- the list of live requests ---- */

static void link_req(asdk_http *h, asdk_http_req *r)
{
    if (r->idle_ms && r->last_rx_ms + (uint64_t)r->idle_ms < h->idle_check_at)
        h->idle_check_at = r->last_rx_ms + (uint64_t)r->idle_ms;
    if (r->fail != ASDK_HTTP_OK) h->pending = 1;
    r->prev = NULL;
    r->next = h->head;
    if (h->head) h->head->prev = r;
    h->head = r;
    h->live++;
}

static void unlink_req(asdk_http *h, asdk_http_req *r)
{
    if (r->prev) r->prev->next = r->next;
    else h->head = r->next;
    if (r->next) r->next->prev = r->prev;
    r->prev = r->next = NULL;
    h->live--;
}

static void free_req(asdk_http_req *r)
{
    if (r->easy) curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    free(r->body);
    asdk_buf_free(&r->scratch);
    free(r);
}

/* Ends r: takes it out of libcurl and the list, reports it, frees it. Never from inside libcurl. */
static void finish(asdk_http_req *r, asdk_http_error err, int curl_code, const char *msg)
{
    asdk_http *h = r->h;
    if (r->done) return;
    r->done = 1;
    if (r->added) {
        curl_multi_remove_handle(h->multi, r->easy);
        r->added = 0;
    }
    unlink_req(h, r);

    char text[ASDK_HTTP_MESSAGE_MAX];
    text[0] = '\0';
    if (err != ASDK_HTTP_OK) {
        snprintf(text, sizeof text, "%s", msg && *msg ? msg : asdk_http_error_name(err));
        redact(text, sizeof text, r->headers);
    }
    asdk_http_result res = { err, r->status, text, curl_code };
    h->progress = 1;
    r->cb.on_done(r->ud, &res);
    free_req(r);
}

/* Ends r after libcurl reported it done with code c. */
static void finish_curl(asdk_http_req *r, CURLcode c)
{
    if (r->cancel_pending) {
        finish(r, ASDK_HTTP_ABORTED, (int)c, "cancelled");
    } else if (r->oom) {
        finish(r, ASDK_HTTP_OTHER, (int)c, "out of memory");
    } else if (r->aborted_by_cb && c == CURLE_WRITE_ERROR) {
        finish(r, ASDK_HTTP_ABORTED, (int)c, "aborted by the data callback");
    } else {
        char msg[ASDK_HTTP_MESSAGE_MAX];
        const char *why = r->errbuf[0] ? r->errbuf : curl_easy_strerror(c);
        size_t n = strlen(why);
        while (n && (why[n - 1] == '\n' || why[n - 1] == '\r' || why[n - 1] == ' ')) n--; /* errbuf may end in \n */
        snprintf(msg, sizeof msg, "%.*s", (int)n, why);
        finish(r, map_code(c), (int)c, msg);
    }
}

/* ---- libcurl callbacks (run inside curl_multi_perform) ---- */

static int parse_status(const char *p, size_t len)
{
    const char *sp = memchr(p, ' ', len);
    if (!sp || (size_t)(p + len - sp) < 4) return 0;
    int st = 0;
    for (int i = 1; i <= 3; i++) {
        char c = sp[i];
        if (c < '0' || c > '9') return 0;
        st = st * 10 + (c - '0');
    }
    return st;
}

static size_t header_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    asdk_http_req *r = ud;
    size_t n = size * nmemb, len = n;
    r->last_rx_ms = r->h->now;
    if (r->cancel_pending) return 0; /* != n: libcurl stops the transfer */
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r')) len--;

    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) { /* a status line: HTTP/1.1 200 OK, HTTP/2 200 */
        int st = parse_status(p, len);
        if (st >= 100 && st < 200) { /* informational: its head is skipped */
            r->in_final = 0;
            return n;
        }
        if (r->head_done) return n;
        r->in_final = 1;
        r->status = st;
        if (r->cb.on_status) {
            r->h->progress = 1;
            r->cb.on_status(r->ud, st);
        }
        return n;
    }
    if (!r->in_final || r->head_done) return n; /* 1xx heads, trailers */
    if (len == 0) {
        r->head_done = 1;
        return n;
    }
    if (p[0] == ' ' || p[0] == '\t' || !r->cb.on_header) return n; /* obsolete line folding is not reported */
    const char *colon = memchr(p, ':', len);
    if (!colon || colon == p) return n;
    size_t nlen = (size_t)(colon - p);
    const char *v = colon + 1, *end = p + len;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t')) end--;

    r->scratch.len = 0;
    if (asdk_buf_reserve(&r->scratch, nlen)) {
        r->oom = 1;
        return 0;
    }
    for (size_t i = 0; i < nlen; i++) r->scratch.ptr[i] = ascii_lower(p[i]);
    r->h->progress = 1;
    r->cb.on_header(r->ud, r->scratch.ptr, nlen, v, (size_t)(end - v));
    return n;
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    asdk_http_req *r = ud;
    size_t n = size * nmemb;
    r->last_rx_ms = r->h->now;
    if (r->cancel_pending) return 0;
    if (!n || !r->cb.on_data) return n;
    r->h->progress = 1;
    if (!r->cb.on_data(r->ud, p, n)) {
        r->aborted_by_cb = 1;
        return 0;
    }
    return n;
}

/* ---- waiting: the sockets libcurl asks us to watch ---- */

#ifdef ASDK_HTTP_EPOLL
static int watch(asdk_http *h, curl_socket_t fd, int what)
{
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(h->epfd, EPOLL_CTL_DEL, fd, NULL); /* fails harmlessly if libcurl closed it already */
        return 0;
    }
    struct epoll_event ev = { 0 };
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    ev.data.fd = fd;
    if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, fd, &ev) == 0) return 0;
    return errno == ENOENT && epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -1;
}
#else
static int watch(asdk_http *h, curl_socket_t fd, int what)
{
    size_t i = 1;
    while (i < h->nfds && h->fds[i].fd != fd) i++;
    if (what == CURL_POLL_REMOVE) {
        if (i < h->nfds) h->fds[i] = h->fds[--h->nfds];
        return 0;
    }
    if (i == h->nfds) {
        if (h->nfds == h->capfds) {
            size_t cap = h->capfds * 2;
            struct pollfd *p = realloc(h->fds, cap * sizeof *p);
            if (!p) return -1;
            h->fds = p;
            h->capfds = cap;
        }
        h->fds[h->nfds++].fd = fd;
    }
    h->fds[i].events = (short)((what & CURL_POLL_IN ? POLLIN : 0) | (what & CURL_POLL_OUT ? POLLOUT : 0));
    h->fds[i].revents = 0;
    return 0;
}
#endif

static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    (void)socketp;
    return watch(userp, fd, what); /* -1 makes libcurl fail the transfers on that socket (out of memory) */
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    asdk_http *h = userp;
    h->timer_at_ms = timeout_ms < 0 ? -1 : (int64_t)now_ms() + timeout_ms;
    return 0;
}

#ifndef ASDK_HTTP_EPOLL
static int set_nonblock_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
    return fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ? -1 : 0;
}
#endif

static int open_waiters(asdk_http *h)
{
#ifdef ASDK_HTTP_EPOLL
    h->epfd = epoll_create1(EPOLL_CLOEXEC);
    h->wake_rd = h->wake_wr = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (h->epfd < 0 || h->wake_rd < 0) return -1;
    struct epoll_event ev = { 0 };
    ev.events = EPOLLIN;
    ev.data.fd = h->wake_rd;
    return epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->wake_rd, &ev);
#else
    int p[2];
    if (pipe(p)) return -1;
    h->wake_rd = p[0];
    h->wake_wr = p[1];
    if (set_nonblock_cloexec(p[0]) || set_nonblock_cloexec(p[1])) return -1;
    h->capfds = 8;
    h->fds = calloc(h->capfds, sizeof *h->fds);
    if (!h->fds) return -1;
    h->fds[0].fd = h->wake_rd;
    h->fds[0].events = POLLIN;
    h->nfds = 1;
    return 0;
#endif
}

static void close_waiters(asdk_http *h)
{
#ifdef ASDK_HTTP_EPOLL
    if (h->epfd >= 0) close(h->epfd);
#else
    free(h->fds);
    if (h->wake_wr >= 0 && h->wake_wr != h->wake_rd) close(h->wake_wr);
#endif
    if (h->wake_rd >= 0) close(h->wake_rd);
}

/* ---- close-on-exec: no child of the app (system, Open3, spawn) inherits a socket of ours ---- */

/* CURLOPT_OPENSOCKETFUNCTION: every connection's socket is made close-on-exec atomically where the system can. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)ud;
    (void)purpose;
#ifdef SOCK_CLOEXEC
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
#else
    curl_socket_t fd = socket(a->family, a->socktype, a->protocol);
    if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
#endif
}

#ifdef __linux__
/* libcurl before 8.8 makes the multi handle's wakeup socketpair without close-on-exec and offers no way to reach
 * it (curl issue 13618). The descriptors that curl_multi_init opened are the Unix sockets in /proc/self/fd that
 * were not there before it: they get FD_CLOEXEC. A descriptor another thread opened meanwhile is touched only if it
 * is a Unix socket, and Ruby opens all of its own close-on-exec anyway. */
typedef struct {
    unsigned char *bits;
    size_t n; /* bits */
} fd_set_snapshot;

static void snapshot_fds(fd_set_snapshot *s)
{
    s->bits = NULL;
    s->n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return;
    int self = dirfd(d); /* listed too, but closed again below: curl_multi_init may reuse it */
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end || fd < 0 || fd > (1L << 24) || fd == self) continue;
        if ((size_t)fd >= s->n) {
            size_t n = ((size_t)fd + 64) & ~(size_t)63;
            unsigned char *b = realloc(s->bits, n / 8);
            if (!b) break;
            memset(b + s->n / 8, 0, (n - s->n) / 8);
            s->bits = b;
            s->n = n;
        }
        s->bits[fd / 8] |= (unsigned char)(1u << (fd % 8));
    }
    closedir(d);
}

static int snapshot_has(const fd_set_snapshot *s, int fd)
{
    return (size_t)fd < s->n && (s->bits[fd / 8] >> (fd % 8)) & 1;
}

static void cloexec_new_unix_sockets(const fd_set_snapshot *before)
{
    fd_set_snapshot after;
    snapshot_fds(&after);
    for (size_t fd = 0; fd < after.n; fd++) {
        if (!snapshot_has(&after, (int)fd) || snapshot_has(before, (int)fd)) continue;
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        int flags = fcntl((int)fd, F_GETFD);
        if (flags < 0 || (flags & FD_CLOEXEC)) continue;
        if (getsockname((int)fd, (struct sockaddr *)&sa, &len) == 0 && sa.ss_family == AF_UNIX)
            fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC);
    }
    free(after.bits);
}

static CURLM *multi_init_cloexec(void)
{
    fd_set_snapshot before;
    snapshot_fds(&before);
    CURLM *m = curl_multi_init();
    if (m && before.bits) cloexec_new_unix_sockets(&before);
    free(before.bits);
    return m;
}
#else
static CURLM *multi_init_cloexec(void) { return curl_multi_init(); }
#endif

/* ---- the client ---- */

asdk_http *asdk_http_new(void)
{
    if (asdk_http_global_init()) return NULL;
    asdk_http *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->timer_at_ms = -1;
    h->idle_check_at = UINT64_MAX;
    h->wake_rd = h->wake_wr = -1;
#ifdef ASDK_HTTP_EPOLL
    h->epfd = -1;
#endif
    if (open_waiters(h) || !(h->multi = multi_init_cloexec())) {
        close_waiters(h);
        free(h);
        return NULL;
    }
    curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, (void *)h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, (void *)h);
    return h;
}

void asdk_http_free(asdk_http *h)
{
    if (!h) return;
    h->closing = 1;
    while (h->head) finish(h->head, ASDK_HTTP_ABORTED, 0, "HTTP client freed");
    curl_multi_cleanup(h->multi); /* closes the cached connections; sock_cb may still run */
    close_waiters(h);
    free(h);
}

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* "Name: value" with a token name and no CR or LF anywhere. */
static int valid_header(const char *s)
{
    const char *c = s;
    while (is_tchar((unsigned char)*c)) c++;
    if (c == s || *c != ':') return 0;
    return strpbrk(c, "\r\n") == NULL;
}

static int has_header(const asdk_http_opts *o, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < o->nheaders; i++) {
        const char *hd = o->headers[i];
        if (hd && strlen(hd) > n && hd[n] == ':') {
            size_t k = 0;
            while (k < n && ascii_lower(hd[k]) == name[k]) k++;
            if (k == n) return 1;
        }
    }
    return 0;
}

/* prefix is lower case */
static int starts_with_ci(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if (ascii_lower(*s) != *prefix) return 0;
    return 1;
}

#define SET(opt, val) (rc = rc != CURLE_OK ? rc : curl_easy_setopt(e, opt, val))

asdk_http_req *asdk_http_start(asdk_http *h, const asdk_http_opts *o, const asdk_http_callbacks *cb, void *ud)
{
    if (!h || !o || !cb || !cb->on_done || !o->url || h->closing) return NULL;
    if (o->nheaders && !o->headers) return NULL;
    asdk_http_req *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->h = h;
    r->cb = *cb;
    r->ud = ud;
    r->idle_ms = o->idle_timeout_ms > 0 ? o->idle_timeout_ms : 0;
    r->last_rx_ms = now_ms();
    r->body = malloc(o->body_len ? o->body_len : 1);
    if (!r->body) goto oom;
    if (o->body_len) memcpy(r->body, o->body, o->body_len);

    for (size_t i = 0; i < o->nheaders; i++) {
        if (!o->headers[i] || !valid_header(o->headers[i])) {
            r->fail = ASDK_HTTP_OTHER;
            r->fail_msg = "invalid request header (expected \"Name: value\" without CR or LF)";
            link_req(h, r);
            return r;
        }
        struct curl_slist *l = curl_slist_append(r->headers, o->headers[i]);
        if (!l) goto oom;
        r->headers = l;
    }
    if (!has_header(o, "expect")) { /* no 100-continue round trip for big bodies */
        struct curl_slist *l = curl_slist_append(r->headers, "Expect:");
        if (!l) goto oom;
        r->headers = l;
    }

    CURL *e = r->easy = curl_easy_init();
    if (!e) goto oom;
    CURLcode rc = CURLE_OK;
    SET(CURLOPT_PRIVATE, (void *)r);
    SET(CURLOPT_ERRORBUFFER, r->errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_URL, o->url);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_POSTFIELDS, r->body);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
    SET(CURLOPT_HTTPHEADER, r->headers);
    SET(CURLOPT_USERAGENT, o->user_agent ? o->user_agent : "agent_sdk");
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    /* https: wait for a connection being set up to tell whether it multiplexes (HTTP/2) and share it, rather than
     * open one per request. Not for http://, where HTTP/2 is never tried and waiting only delays. */
    SET(CURLOPT_PIPEWAIT, starts_with_ci(o->url, "https:") ? 1L : 0L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (o->ca_file || o->ca_path) {
        SET(CURLOPT_CAINFO, o->ca_file); /* NULL disables the built-in default, so the pair replaces it */
        SET(CURLOPT_CAPATH, o->ca_path);
    }
    SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
#if LIBCURL_VERSION_NUM >= 0x075700 /* 7.87.0 */
    /* A transfer removed while its name is being resolved detaches the resolver thread instead of joining it, so
     * a cancel (Runner#cancel, Thread#kill, Timeout) returns at once rather than when getaddrinfo does. The detached
     * thread frees what it holds when getaddrinfo returns. */
    SET(CURLOPT_QUICK_EXIT, 1L);
#endif
    if (o->connect_timeout_ms > 0) SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    if (o->total_timeout_ms > 0) SET(CURLOPT_TIMEOUT_MS, o->total_timeout_ms);
    SET(CURLOPT_HEADERFUNCTION, header_cb);
    SET(CURLOPT_HEADERDATA, (void *)r);
    SET(CURLOPT_WRITEFUNCTION, write_cb);
    SET(CURLOPT_WRITEDATA, (void *)r);
    if (rc == CURLE_OUT_OF_MEMORY) goto oom;
    link_req(h, r);
    if (rc != CURLE_OK) {
        r->fail = ASDK_HTTP_OTHER;
        r->fail_msg = curl_easy_strerror(rc);
    } else if (h->in_perform) {
        r->add_pending = 1;
    } else if (curl_multi_add_handle(h->multi, e) == CURLM_OK) {
        r->added = 1;
    } else {
        r->fail = ASDK_HTTP_OTHER;
        r->fail_msg = "could not add the transfer";
    }
    if (!r->added) h->pending = 1; /* failed, or to add when libcurl returns: sweep's job */
    return r;

oom:
    free_req(r);
    return NULL;
}

#undef SET

void asdk_http_cancel(asdk_http_req *r)
{
    if (!r || r->done) return;
    if (r->h->in_perform) r->cancel_pending = r->h->pending = 1;
    else finish(r, ASDK_HTTP_ABORTED, 0, "cancelled");
}

/* Reports failures found at start and deferred cancels; adds transfers started inside libcurl. Starts over after
 * every finish: on_done may start or cancel any request. */
static void sweep(asdk_http *h)
{
    asdk_http_req *r;
    while (h->pending) {
        h->pending = 0;
    restart:
        for (r = h->head; r; r = r->next) {
            if (r->fail != ASDK_HTTP_OK) {
                finish(r, r->fail, 0, r->fail_msg);
                goto restart;
            }
            if (r->cancel_pending) {
                finish(r, ASDK_HTTP_ABORTED, 0, "cancelled");
                goto restart;
            }
            if (r->add_pending) {
                r->add_pending = 0;
                if (curl_multi_add_handle(h->multi, r->easy) == CURLM_OK) {
                    r->added = 1;
                } else {
                    r->fail = ASDK_HTTP_OTHER;
                    r->fail_msg = "could not add the transfer";
                    goto restart;
                }
            }
        }
    }
}

/* Ends the requests past their idle deadline (a walk over all of them, only once the earliest deadline may have
 * passed). Call it only after what had arrived was read: see asdk_http_poll. */
static void idle_scan(asdk_http *h)
{
    asdk_http_req *r;
again:
    h->idle_check_at = UINT64_MAX;
    for (r = h->head; r; r = r->next) {
        if (!r->idle_ms) continue;
        uint64_t due = r->last_rx_ms + (uint64_t)r->idle_ms;
        if (r->added && h->now >= due) {
            char msg[96];
            snprintf(msg, sizeof msg, "no data received for %ld ms (idle timeout)", r->idle_ms);
            finish(r, ASDK_HTTP_TIMEOUT, (int)CURLE_OPERATION_TIMEDOUT, msg);
            goto again; /* on_done may have started or ended any request */
        }
        if (due < h->idle_check_at) h->idle_check_at = due;
    }
}

/* Reports the transfers libcurl finished, then the rest (sweep). */
static void collect(asdk_http *h)
{
    int left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        CURLcode c = m->data.result; /* m dies with the handle's removal */
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        if (priv) finish_curl((asdk_http_req *)(void *)priv, c);
    }
    sweep(h);
}

static void socket_action(asdk_http *h, curl_socket_t fd, int bits)
{
    int running;
    h->in_perform = 1;
    curl_multi_socket_action(h->multi, fd, bits, &running);
    h->in_perform = 0;
}

/* libcurl's timer, if due. */
static void run_timer(asdk_http *h)
{
    if (h->timer_at_ms >= 0 && (int64_t)h->now >= h->timer_at_ms) {
        h->timer_at_ms = -1; /* timer_cb may set it again from inside */
        socket_action(h, CURL_SOCKET_TIMEOUT, 0);
    }
}

/* Milliseconds until the nearest idle deadline (or a lower bound of it) or libcurl's timer, capped at cap. */
static int wait_ms(asdk_http *h, int cap)
{
    int wait = cap;
    if (h->idle_check_at != UINT64_MAX) {
        uint64_t left = h->idle_check_at > h->now ? h->idle_check_at - h->now : 0;
        if (left < (uint64_t)wait) wait = (int)left;
    }
    if (h->timer_at_ms >= 0) {
        int64_t left = h->timer_at_ms - (int64_t)h->now;
        if (left < wait) wait = left > 0 ? (int)left : 0;
    }
    return wait;
}

static void drain_wakeups(asdk_http *h)
{
    char buf[64];
    while (read(h->wake_rd, buf, sizeof buf) > 0) {
    }
}

#define EVENT_BATCH 64 /* ready sockets handed to libcurl per wait */

/* Waits up to wait_ms for the sockets or a wakeup, reads the clock (h->now), and hands what is ready to libcurl.
 * The clock must be read before the hand-over: write_cb/header_cb stamp last_rx_ms with h->now, and a time read
 * before the wait would date bytes that arrived at its end up to wait_ms too early (spurious idle timeouts). */
static int wait_and_dispatch(asdk_http *h, int wait_ms)
{
#ifdef ASDK_HTTP_EPOLL
    struct epoll_event ev[EVENT_BATCH];
    int n = epoll_wait(h->epfd, ev, EVENT_BATCH, wait_ms);
    h->now = now_ms(); /* before dispatching: the callbacks stamp last_rx_ms with it */
    for (int i = 0; i < n; i++) {
        int fd = ev[i].data.fd;
        if (fd == h->wake_rd) {
            drain_wakeups(h);
            continue;
        }
        uint32_t e = ev[i].events;
        int bits = (e & (EPOLLIN | EPOLLHUP | EPOLLERR) ? CURL_CSELECT_IN : 0) | (e & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                   (e & EPOLLERR ? CURL_CSELECT_ERR : 0);
        socket_action(h, fd, bits);
    }
#else
    int n = poll(h->fds, (nfds_t)h->nfds, wait_ms);
    h->now = now_ms(); /* before dispatching: the callbacks stamp last_rx_ms with it */
    if (n > 0 && h->fds[0].revents) drain_wakeups(h);
    /* socket_action may change h->fds (sock_cb): take the ready sockets first */
    size_t k = 0;
    curl_socket_t ready[EVENT_BATCH];
    int readybits[EVENT_BATCH];
    for (size_t i = 1; n > 0 && i < h->nfds && k < EVENT_BATCH; i++) {
        short e = h->fds[i].revents;
        if (!e) continue;
        ready[k] = h->fds[i].fd;
        readybits[k++] = (e & (POLLIN | POLLHUP | POLLERR) ? CURL_CSELECT_IN : 0) | (e & POLLOUT ? CURL_CSELECT_OUT : 0) |
                         (e & (POLLERR | POLLNVAL) ? CURL_CSELECT_ERR : 0);
    }
    for (size_t i = 0; i < k; i++) socket_action(h, ready[i], readybits[i]);
    n = (int)k;
#endif
    return n; /* ready descriptors handled; EVENT_BATCH: there may be more */
}

int asdk_http_poll(asdk_http *h, int timeout_ms)
{
    if (h->in_poll) return -1;
    h->in_poll = 1;
    h->progress = 0;
    h->now = now_ms();
    sweep(h); /* adds transfers started from callbacks, reports early failures and cancels */
    run_timer(h);
    collect(h);
    int waited = 0, n = 0;
    if (!h->progress && h->live > 0) {
        n = wait_and_dispatch(h, timeout_ms > 0 ? wait_ms(h, timeout_ms) : 0); /* reads the clock when it ends */
        run_timer(h);
        collect(h);
        waited = 1;
    }
    if (h->live > 0 && h->now >= h->idle_check_at) {
        /* Read all that is waiting before calling anything idle: this thread may have been busy elsewhere (Ruby
         * code, other runs) for longer than a deadline while bytes sat in a socket. A full batch may leave more. */
        for (int rounds = 0; (!waited || n == EVENT_BATCH) && rounds < 64; rounds++) {
            waited = 1;
            n = wait_and_dispatch(h, 0);
            run_timer(h);
            collect(h);
        }
        idle_scan(h);
    }
    h->in_poll = 0;
    return h->live;
}

int asdk_http_live(const asdk_http *h) { return h->live; }

void asdk_http_wait_wakeup(asdk_http *h, int timeout_ms)
{
    if (!h || h->in_poll) return;
    struct pollfd p = { h->wake_rd, POLLIN, 0 };
    if (poll(&p, 1, timeout_ms) > 0) drain_wakeups(h);
}

void asdk_http_wakeup(asdk_http *h)
{
    if (!h) return;
#ifdef ASDK_HTTP_EPOLL
    uint64_t one = 1;
    ssize_t w = write(h->wake_wr, &one, sizeof one); /* async-signal-safe; EAGAIN: a wakeup is pending anyway */
#else
    ssize_t w = write(h->wake_wr, "", 1);
#endif
    (void)w;
}
