/* http_class.c — RubyLLM::AgentSDK::Native::HTTP, binding of core/http.c (for specs and simple reuse; the agent
 * loop drives core/http.c directly, and borrows an instance's client — its keep-alive connections — through
 * asdk_http_obj_acquire/release for Runner.new(http:): the per-thread connections of `query`).
 *
 * One instance = one asdk_http = one connection cache. Network waits run in gvl.h's wrapper without the GVL; the
 * libcurl callbacks below run there too and therefore only fill C buffers (struct xfer); Ruby objects are made,
 * and the block is called, after each poll returns, with the GVL held. Every transfer a call starts is cancelled
 * in its ensure, so a raising block, Thread#kill, Thread#raise or Timeout leave nothing running or allocated. */
#include "agent_sdk_ext.h"
#include "asdk_buf.h"
#include "gvl.h"
#include "http.h"

#include <unistd.h>

#define POLL_SLICE_MS 1000                      /* longest single wait; interrupts and data end it earlier */
#define MAX_RESPONSE_HEADER_BYTES (256 * 1024)  /* per response; headers past it are dropped */
#define MAX_REQUEST_HEADERS 1000
#define DEFAULT_MAX_BODY (64L * 1024 * 1024)    /* bytes buffered per response between two polls */
#define MAX_TIMEOUT_S 1e6

typedef struct {
    asdk_http *h; /* NULL before #initialize and after #close */
    long connect_ms, idle_ms, total_ms;
    char *ca_file, *ca_path, *user_agent;
    long max_body;
    int busy;             /* a #post / #post_many, or a Native::Runner#run (asdk_http_obj_acquire), is running */
    int cancel_requested; /* #cancel was called during it */
    pid_t pid;            /* the process that created h: a forked child must neither use nor clean it up */
    asdk_http_lease *lease; /* the last Runner's lease, or NULL */
} http_obj;

struct asdk_http_lease {
    int refs;            /* the Native::HTTP and the runner */
    int held;            /* the runner has not released it */
    asdk_http *orphan;   /* the client, when the Native::HTTP was freed first: the last to let go frees it */
    pid_t pid;
};

static int leased(const http_obj *o) { return o->lease && o->lease->held; }
static int in_use(const http_obj *o) { return o->busy || leased(o); }

static void lease_unref(asdk_http_lease *l)
{
    if (--l->refs) return;
    if (l->orphan && l->pid == getpid()) asdk_http_free(l->orphan);
    free(l);
}

static void drop_lease(http_obj *o)
{
    if (o->lease && !o->lease->held) {
        lease_unref(o->lease);
        o->lease = NULL;
    }
}

/* One transfer's results, filled by the libcurl callbacks without the GVL. */
typedef struct {
    asdk_http_req *req; /* NULL once on_done ran */
    int done;
    int status;
    int too_large, oom, headers_truncated;
    long max_body;
    asdk_buf body;  /* collected body (no block) or bytes not yet yielded (block) */
    asdk_buf heads; /* [size_t nlen][name][size_t vlen][value]... */
    asdk_http_error error;
    int curl_code;
    char message[ASDK_HTTP_MESSAGE_MAX];
} xfer;

/* One #post / #post_many call; everything it allocates, freed by call_cleanup. */
typedef struct {
    VALUE self;
    http_obj *o;
    VALUE items; /* Array of [url String, Array of "Name: value" Strings, body String], all NUL-free */
    long n;
    xfer *x;
    const char **lines;
    int stream; /* #post with a block: yield body pieces of x[0] */
    int single; /* #post: return x[0]'s result, not an Array */
} call;

static VALUE sym_status, sym_headers, sym_error, sym_error_message, sym_body;
static VALUE error_syms[ASDK_HTTP_OTHER + 1];
static ID id_connect_timeout, id_idle_timeout, id_total_timeout, id_ca_file, id_ca_path, id_user_agent,
    id_max_body;

/* ---- the object ---- */

static void http_free(void *p)
{
    http_obj *o = p;
    /* No transfer is outstanding: every call cancels its own in an ensure. In a forked child the handle is left
     * alone (its memory and descriptors stay until exit): cleaning it up would shut down the parent's TLS
     * sessions on the sockets both processes share. */
    if (o->lease) {
        if (o->lease->held) { /* a runner still uses the client: it frees it when it lets go */
            o->lease->orphan = o->h;
            o->h = NULL;
        }
        lease_unref(o->lease);
    }
    if (o->pid == getpid()) asdk_http_free(o->h);
    xfree(o->ca_file);
    xfree(o->ca_path);
    xfree(o->user_agent);
    xfree(o);
}

static size_t http_memsize(const void *p)
{
    const http_obj *o = p;
    size_t n = sizeof *o;
    if (o->ca_file) n += strlen(o->ca_file) + 1;
    if (o->ca_path) n += strlen(o->ca_path) + 1;
    if (o->user_agent) n += strlen(o->user_agent) + 1;
    return n; /* plus libcurl's own handles, which it does not let us measure */
}

/* Holds no Ruby objects: no mark function, write-barrier protected. */
static const rb_data_type_t http_type = {
    "RubyLLM::AgentSDK::Native::HTTP",
    { NULL, http_free, http_memsize, NULL, { NULL } },
    NULL, NULL, RUBY_TYPED_FREE_IMMEDIATELY | RUBY_TYPED_WB_PROTECTED,
};

static VALUE http_alloc(VALUE klass)
{
    http_obj *o;
    return TypedData_Make_Struct(klass, http_obj, &http_type, o);
}

static http_obj *get_http(VALUE self)
{
    http_obj *o = rb_check_typeddata(self, &http_type);
    if (!o->h) rb_raise(rb_eIOError, "Native::HTTP is closed or not initialized");
    if (o->pid != getpid()) rb_raise(rb_eIOError, "Native::HTTP was created before fork: create one in this process");
    return o;
}

asdk_http *asdk_http_obj_acquire(VALUE self, asdk_http_lease **out)
{
    http_obj *o = get_http(self);
    if (in_use(o)) rb_raise(rb_eRuntimeError, "Native::HTTP is already in use (one request or run at a time)");
    drop_lease(o);
    asdk_http_lease *l = malloc(sizeof *l);
    if (!l) rb_raise(rb_eNoMemError, "Native::HTTP lease");
    *l = (asdk_http_lease){ 2, 1, NULL, o->pid };
    o->lease = *out = l;
    o->cancel_requested = 0;
    return o->h;
}

void asdk_http_lease_release(asdk_http_lease *l)
{
    if (!l) return;
    l->held = 0;
    lease_unref(l);
}

static long seconds_to_ms(VALUE v, const char *name, long dflt)
{
    if (v == Qundef) return dflt;
    if (NIL_P(v)) return 0;
    if (!RB_FLOAT_TYPE_P(v) && !RB_INTEGER_TYPE_P(v))
        rb_raise(rb_eTypeError, "%s must be a number of seconds or nil, got %" PRIsVALUE, name, rb_obj_class(v));
    double d = NUM2DBL(v);
    if (!(d >= 0 && d <= MAX_TIMEOUT_S))
        rb_raise(rb_eArgError, "%s must be from 0 to %.0f seconds (0 or nil: none), got %+" PRIsVALUE, name,
                 MAX_TIMEOUT_S, v);
    long ms = (long)(d * 1000.0 + 0.5);
    return ms == 0 && d > 0 ? 1 : ms;
}

/* nil, or a NUL-free String (paths: String or Pathname). */
static VALUE opt_string(VALUE v, int path)
{
    if (v == Qundef || NIL_P(v)) return Qnil;
    VALUE s = path ? rb_get_path(v) : rb_str_to_str(v);
    StringValueCStr(s);
    return s;
}

static char *dup_or_null(VALUE s)
{
    if (NIL_P(s)) return NULL;
    size_t n = (size_t)RSTRING_LEN(s);
    char *p = ALLOC_N(char, n + 1);
    memcpy(p, RSTRING_PTR(s), n);
    p[n] = '\0';
    return p;
}

/* HTTP.new(connect_timeout: 10, idle_timeout: 60, total_timeout: 600, ca_file: nil, ca_path: nil,
 *          user_agent: nil, max_body: 64 MiB) — timeouts in seconds (Float ok; 0 or nil: none). */
static VALUE http_initialize(int argc, VALUE *argv, VALUE self)
{
    VALUE kw, v[7];
    ID ids[7] = { id_connect_timeout, id_idle_timeout, id_total_timeout, id_ca_file, id_ca_path, id_user_agent,
                  id_max_body };
    rb_scan_args(argc, argv, ":", &kw);
    rb_get_kwargs(kw, ids, 0, 7, v);
    http_obj *o = rb_check_typeddata(self, &http_type);
    if (in_use(o)) rb_raise(rb_eRuntimeError, "Native::HTTP is in use");

    long connect = seconds_to_ms(v[0], "connect_timeout", 10000);
    long idle = seconds_to_ms(v[1], "idle_timeout", 60000);
    long total = seconds_to_ms(v[2], "total_timeout", 600000);
    long max_body = DEFAULT_MAX_BODY;
    if (v[6] != Qundef) {
        if (!RB_INTEGER_TYPE_P(v[6]) || (max_body = NUM2LONG(v[6])) < 1)
            rb_raise(rb_eArgError, "max_body must be a positive Integer (bytes), got %+" PRIsVALUE, v[6]);
    }
    VALUE s_ca_file = opt_string(v[3], 1), s_ca_path = opt_string(v[4], 1), s_ua = opt_string(v[5], 0);

    /* Everything is validated: nothing below raises but out of memory. */
    if (o->h && o->pid != getpid()) o->h = NULL; /* re-initialised after fork: the parent's handle is left alone */
    if (!o->h && !(o->h = asdk_http_new())) rb_raise(rb_eNoMemError, "could not create a libcurl multi handle");
    o->pid = getpid();
    char *ca_file = dup_or_null(s_ca_file), *ca_path = dup_or_null(s_ca_path), *ua = dup_or_null(s_ua);
    xfree(o->ca_file);
    xfree(o->ca_path);
    xfree(o->user_agent);
    o->ca_file = ca_file;
    o->ca_path = ca_path;
    o->user_agent = ua;
    o->connect_ms = connect;
    o->idle_ms = idle;
    o->total_ms = total;
    o->max_body = max_body;
    return self;
}

/* ---- libcurl callbacks: run WITHOUT the GVL — plain C only, no Ruby ---- */

static void on_status(void *ud, int status)
{
    ((xfer *)ud)->status = status;
}

static void on_header(void *ud, const char *name, size_t nlen, const char *value, size_t vlen)
{
    xfer *x = ud;
    size_t need = 2 * sizeof(size_t) + nlen + vlen;
    if (x->heads.len > MAX_RESPONSE_HEADER_BYTES || need > MAX_RESPONSE_HEADER_BYTES - x->heads.len) {
        x->headers_truncated = 1;
        return;
    }
    if (asdk_buf_reserve(&x->heads, need)) {
        x->oom = 1;
        return;
    }
    asdk_buf_append(&x->heads, &nlen, sizeof nlen);
    asdk_buf_append(&x->heads, name, nlen);
    asdk_buf_append(&x->heads, &vlen, sizeof vlen);
    asdk_buf_append(&x->heads, value, vlen);
}

static int on_data(void *ud, const char *p, size_t n)
{
    xfer *x = ud;
    if (x->body.len > (size_t)x->max_body || n > (size_t)x->max_body - x->body.len) {
        x->too_large = 1;
        return 0;
    }
    if (asdk_buf_append(&x->body, p, n)) {
        x->oom = 1;
        return 0;
    }
    return 1;
}

static void on_done(void *ud, const asdk_http_result *r)
{
    xfer *x = ud;
    x->done = 1;
    x->req = NULL;
    x->status = r->status;
    x->error = r->error;
    x->curl_code = r->curl_code;
    snprintf(x->message, sizeof x->message, "%s", r->message);
}

static const asdk_http_callbacks xfer_callbacks = { on_status, on_header, on_data, on_done };

/* ---- arguments ---- */

static int is_token(const char *p, long n)
{
    if (n < 1) return 0;
    for (long i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c && strchr("!#$%&'*+-.^_`|~", c))))
            return 0;
    }
    return 1;
}

static int header_i(VALUE key, VALUE val, VALUE lines)
{
    VALUE name = rb_obj_as_string(key), value = rb_obj_as_string(val);
    const char *np = RSTRING_PTR(name), *vp = RSTRING_PTR(value);
    long nl = RSTRING_LEN(name), vl = RSTRING_LEN(value);
    if (!is_token(np, nl)) rb_raise(rb_eArgError, "invalid HTTP header name %+" PRIsVALUE, name);
    for (long i = 0; i < vl; i++) /* the value is never shown: it may be an API key */
        if (vp[i] == '\r' || vp[i] == '\n' || vp[i] == '\0')
            rb_raise(rb_eArgError, "the value of HTTP header %" PRIsVALUE " contains CR, LF or NUL", name);
    VALUE line = rb_str_buf_new(nl + 2 + vl);
    rb_str_cat(line, np, nl);
    rb_str_cat(line, ": ", 2);
    rb_str_cat(line, vp, vl);
    StringValueCStr(line); /* NUL-terminated (and NUL-free, checked above) for C */
    rb_ary_push(lines, line);
    if (RARRAY_LEN(lines) > MAX_REQUEST_HEADERS)
        rb_raise(rb_eArgError, "more than %d request headers", MAX_REQUEST_HEADERS);
    return ST_CONTINUE;
}

/* [url, headers, body] -> [url, ["Name: value", ...], body], validated, NUL-free where C needs it. */
static VALUE prepare(VALUE url, VALUE headers, VALUE body)
{
    url = rb_str_new_frozen(StringValue(url));
    StringValueCStr(url);
    VALUE lines = rb_ary_new();
    if (!NIL_P(headers)) rb_hash_foreach(rb_convert_type(headers, T_HASH, "Hash", "to_hash"), header_i, lines);
    body = NIL_P(body) ? rb_str_new(NULL, 0) : rb_str_new_frozen(StringValue(body));
    return rb_ary_new_from_args(3, url, lines, body);
}

/* ---- a call ---- */

static void start_all(call *c)
{
    http_obj *o = c->o;
    for (long i = 0; i < c->n; i++) {
        VALUE item = RARRAY_AREF(c->items, i);
        VALUE url = RARRAY_AREF(item, 0), lines = RARRAY_AREF(item, 1), body = RARRAY_AREF(item, 2);
        long nl = RARRAY_LEN(lines);
        for (long k = 0; k < nl; k++) c->lines[k] = RSTRING_PTR(RARRAY_AREF(lines, k)); /* NUL-free, see prepare */
        /* Everything below is copied by asdk_http_start: no Ruby memory is used once it returns. */
        asdk_http_opts opts = {
            .url = RSTRING_PTR(url),
            .headers = c->lines,
            .nheaders = (size_t)nl,
            .body = RSTRING_PTR(body),
            .body_len = (size_t)RSTRING_LEN(body),
            .connect_timeout_ms = o->connect_ms,
            .idle_timeout_ms = o->idle_ms,
            .total_timeout_ms = o->total_ms,
            .ca_file = o->ca_file,
            .ca_path = o->ca_path,
            .user_agent = o->user_agent,
        };
        xfer *x = &c->x[i];
        x->max_body = o->max_body;
        x->req = asdk_http_start(o->h, &opts, &xfer_callbacks, x);
        if (!x->req) rb_memerror();
        RB_GC_GUARD(item);
    }
}

static void yield_pending(xfer *x)
{
    while (x->body.len) {
        VALUE chunk = rb_utf8_str_new(x->body.ptr, (long)x->body.len);
        x->body.len = 0;
        rb_yield(chunk);
    }
}

static VALUE headers_hash(const xfer *x)
{
    VALUE hash = rb_hash_new();
    size_t off = 0, nlen, vlen;
    while (off + sizeof nlen <= x->heads.len) {
        memcpy(&nlen, x->heads.ptr + off, sizeof nlen);
        const char *name = x->heads.ptr + off + sizeof nlen;
        off += sizeof nlen + nlen;
        memcpy(&vlen, x->heads.ptr + off, sizeof vlen);
        const char *value = x->heads.ptr + off + sizeof vlen;
        off += sizeof vlen + vlen;
        VALUE key = rb_enc_interned_str(name, (long)nlen, rb_utf8_encoding());
        VALUE prev = rb_hash_lookup2(hash, key, Qundef);
        if (prev == Qundef) {
            rb_hash_aset(hash, key, asdk_scrubbed_utf8(value, (long)vlen));
        } else { /* a repeated header: values joined as HTTP allows */
            rb_str_cat(prev, ", ", 2);
            rb_str_append(prev, asdk_scrubbed_utf8(value, (long)vlen));
        }
    }
    return hash;
}

static VALUE result_hash(const xfer *x, int with_body)
{
    VALUE h = rb_hash_new();
    rb_hash_aset(h, sym_status, x->status ? INT2FIX(x->status) : Qnil);
    rb_hash_aset(h, sym_headers, headers_hash(x));
    if (x->error == ASDK_HTTP_OK && !x->too_large && !x->oom) {
        rb_hash_aset(h, sym_error, Qnil);
        rb_hash_aset(h, sym_error_message, Qnil);
    } else if (x->too_large) {
        rb_hash_aset(h, sym_error, error_syms[ASDK_HTTP_OTHER]);
        rb_hash_aset(h, sym_error_message,
                     rb_sprintf("response body over max_body (%ld bytes); transfer aborted", x->max_body));
    } else if (x->oom) {
        rb_hash_aset(h, sym_error, error_syms[ASDK_HTTP_OTHER]);
        rb_hash_aset(h, sym_error_message, rb_utf8_str_new_cstr("out of memory while receiving the response"));
    } else {
        rb_hash_aset(h, sym_error, error_syms[x->error]);
        rb_hash_aset(h, sym_error_message, asdk_scrubbed_utf8(x->message, (long)strlen(x->message)));
    }
    if (with_body) rb_hash_aset(h, sym_body, rb_utf8_str_new(x->body.ptr, (long)x->body.len));
    return h;
}

static long running(const call *c)
{
    long n = 0;
    for (long i = 0; i < c->n; i++) n += !c->x[i].done;
    return n;
}

/* Without the GVL (gvl.h): removing a transfer that is resolving its host name joins libcurl's resolver thread. */
static void cancel_all(void *arg)
{
    call *c = arg;
    for (long i = 0; i < c->n; i++)
        if (c->x[i].req) asdk_http_cancel(c->x[i].req);
}

static VALUE call_run(VALUE arg)
{
    call *c = (call *)arg;
    c->x = ZALLOC_N(xfer, c->n ? c->n : 1);
    c->lines = ALLOC_N(const char *, MAX_REQUEST_HEADERS + 1);
    start_all(c);
    while (running(c)) {
        int interrupted;
        asdk_without_gvl_poll(c->o->h, POLL_SLICE_MS, &interrupted);
        rb_thread_check_ints(); /* Thread#kill / #raise / Timeout: raise here; call_cleanup cancels */
        if (c->stream) yield_pending(&c->x[0]);
        if (c->o->cancel_requested) {
            asdk_without_gvl_uninterruptible(cancel_all, c); /* on_done runs now */
        }
    }
    if (c->single) return result_hash(&c->x[0], !c->stream);
    VALUE out = rb_ary_new_capa(c->n);
    for (long i = 0; i < c->n; i++) rb_ary_push(out, result_hash(&c->x[i], 1));
    return out;
}

static VALUE call_cleanup(VALUE arg)
{
    call *c = (call *)arg;
    if (c->x) asdk_without_gvl_uninterruptible(cancel_all, c); /* their on_done runs now */
    for (long i = 0; c->x && i < c->n; i++) {
        asdk_buf_free(&c->x[i].body);
        asdk_buf_free(&c->x[i].heads);
    }
    xfree(c->x);
    xfree(c->lines);
    c->x = NULL;
    c->lines = NULL;
    c->o->busy = 0;
    c->o->cancel_requested = 0;
    return Qnil;
}

static VALUE run_call(VALUE self, VALUE items, int single, int stream)
{
    http_obj *o = get_http(self);
    if (in_use(o))
        rb_raise(rb_eRuntimeError, "Native::HTTP is already running a request (one call at a time per instance: "
                                   "use #post_many or another instance, and no #post from inside its block)");
    call c = { self, o, items, RARRAY_LEN(items), NULL, NULL, stream, single };
    o->busy = 1;
    o->cancel_requested = 0;
    VALUE out = rb_ensure(call_run, (VALUE)&c, call_cleanup, (VALUE)&c);
    RB_GC_GUARD(items);
    return out;
}

/* post(url, headers_hash, body) { |chunk| } -> {status:, headers:, error:, error_message:[, body:]} */
static VALUE http_post(VALUE self, VALUE url, VALUE headers, VALUE body)
{
    get_http(self);
    VALUE items = rb_ary_new_from_args(1, prepare(url, headers, body));
    return run_call(self, items, 1, rb_block_given_p());
}

/* post_many([[url, headers, body], ...]) -> [result, ...] (bodies collected), all transfers concurrent */
static VALUE http_post_many(VALUE self, VALUE list)
{
    get_http(self);
    list = rb_convert_type(list, T_ARRAY, "Array", "to_ary");
    VALUE items = rb_ary_new_capa(RARRAY_LEN(list));
    for (long i = 0; i < RARRAY_LEN(list); i++) {
        VALUE req = rb_convert_type(RARRAY_AREF(list, i), T_ARRAY, "Array", "to_ary");
        if (RARRAY_LEN(req) != 3) rb_raise(rb_eArgError, "post_many: element %ld is not [url, headers, body]", i);
        rb_ary_push(items, prepare(RARRAY_AREF(req, 0), RARRAY_AREF(req, 1), RARRAY_AREF(req, 2)));
    }
    return run_call(self, items, 0, 0);
}

/* cancel -> true when a call was running: ends its transfers with error :aborted. Safe from any Ruby thread. */
static VALUE http_cancel(VALUE self)
{
    http_obj *o = rb_check_typeddata(self, &http_type);
    if (!o->h || !o->busy) return Qfalse;
    o->cancel_requested = 1;
    asdk_http_wakeup(o->h);
    return Qtrue;
}

/* close -> nil: closes the cached connections; the instance cannot be used afterwards. */
static VALUE http_close(VALUE self)
{
    http_obj *o = rb_check_typeddata(self, &http_type);
    if (in_use(o)) rb_raise(rb_eRuntimeError, "Native::HTTP#close while a request is running");
    drop_lease(o);
    if (o->pid == getpid()) asdk_http_free(o->h); /* see http_free */
    o->h = NULL;
    return Qnil;
}

static VALUE http_init_copy(VALUE self, VALUE orig)
{
    rb_raise(rb_eTypeError, "Native::HTTP cannot be copied (create another instance)");
    return Qnil;
}

static VALUE http_closed_p(VALUE self)
{
    return ((http_obj *)rb_check_typeddata(self, &http_type))->h ? Qfalse : Qtrue;
}

/* usable? -> true when a request or a Runner could use it now: open, idle, and created in this process. */
static VALUE http_usable_p(VALUE self)
{
    http_obj *o = rb_check_typeddata(self, &http_type);
    return o->h && !in_use(o) && o->pid == getpid() ? Qtrue : Qfalse;
}

/* busy? -> true while a request or a Runner#run uses it. */
static VALUE http_busy_p(VALUE self)
{
    return in_use(rb_check_typeddata(self, &http_type)) ? Qtrue : Qfalse;
}

void asdk_init_http(VALUE mNative)
{
    if (asdk_http_global_init()) rb_raise(rb_eLoadError, "agent_sdk: curl_global_init failed");

    VALUE c = rb_define_class_under(mNative, "HTTP", rb_cObject);
    rb_define_alloc_func(c, http_alloc);
    rb_define_method(c, "initialize", http_initialize, -1);
    rb_define_method(c, "initialize_copy", http_init_copy, 1);
    rb_define_method(c, "post", http_post, 3);
    rb_define_method(c, "post_many", http_post_many, 1);
    rb_define_method(c, "cancel", http_cancel, 0);
    rb_define_method(c, "close", http_close, 0);
    rb_define_method(c, "closed?", http_closed_p, 0);
    rb_define_method(c, "usable?", http_usable_p, 0);
    rb_define_method(c, "busy?", http_busy_p, 0);

    sym_status = ID2SYM(rb_intern("status"));
    sym_headers = ID2SYM(rb_intern("headers"));
    sym_error = ID2SYM(rb_intern("error"));
    sym_error_message = ID2SYM(rb_intern("error_message"));
    sym_body = ID2SYM(rb_intern("body"));
    for (int e = ASDK_HTTP_OK; e <= ASDK_HTTP_OTHER; e++)
        error_syms[e] = ID2SYM(rb_intern(asdk_http_error_name((asdk_http_error)e)));
    id_connect_timeout = rb_intern("connect_timeout");
    id_idle_timeout = rb_intern("idle_timeout");
    id_total_timeout = rb_intern("total_timeout");
    id_ca_file = rb_intern("ca_file");
    id_ca_path = rb_intern("ca_path");
    id_user_agent = rb_intern("user_agent");
    id_max_body = rb_intern("max_body");
}
