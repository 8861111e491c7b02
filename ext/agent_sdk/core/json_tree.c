/* json_tree.c — a bounded JSON document tree built with yajl's callbacks (plain C99, no Ruby). See json_tree.h.
 *
 * While a container is open its values (and, for an object, its keys) wait on two flat staging stacks; when it
 * closes they are copied into the arena as one contiguous run, object members sorted and made unique. */
#include "json_tree.h"
#include "json_quote.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "utf8.h"

/* ---- arena ------------------------------------------------------------------------------------------- */

#define ALIGN ((size_t)16)
#define CHUNK ((size_t)32 * 1024)
#define ROUND(n) (((n) + ALIGN - 1) & ~(ALIGN - 1))

struct asdk_jt_chunk {
    asdk_jt_chunk *next;
    size_t used, cap;
};
#define HEADER ROUND(sizeof(asdk_jt_chunk))

void asdk_jtree_init(asdk_jtree *t)
{
    memset(t, 0, sizeof *t);
    t->root.type = ASDK_JT_NULL;
}

void asdk_jtree_free(asdk_jtree *t)
{
    asdk_jt_chunk *c = t->chunks;
    while (c) {
        asdk_jt_chunk *next = c->next;
        free(c);
        c = next;
    }
    asdk_jtree_init(t);
}

void *asdk_jtree_alloc(asdk_jtree *t, size_t n)
{
    if (n > SIZE_MAX / 2) return NULL;
    n = ROUND(n ? n : 1);
    asdk_jt_chunk *c = t->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > CHUNK - HEADER ? n : CHUNK - HEADER;
        c = malloc(HEADER + cap);
        if (!c) return NULL;
        c->used = 0;
        c->cap = cap;
        /* A big block goes behind the current chunk, so the current one keeps filling. */
        if (t->chunks && n > CHUNK / 4) {
            c->next = t->chunks->next;
            t->chunks->next = c;
        } else {
            c->next = t->chunks;
            t->chunks = c;
        }
        t->bytes += HEADER + cap;
    }
    void *p = (char *)c + HEADER + c->used;
    c->used += n;
    return p;
}

/* ---- building ---------------------------------------------------------------------------------------- */

typedef struct {
    const char *s;
    size_t len;
    size_t idx; /* position of the member's value on the value stack, relative to the object's start */
} staged_key;

typedef struct {
    asdk_jtree *t;
    asdk_buf vals; /* asdk_jt_node[] of the open containers */
    asdk_buf keys; /* staged_key[] of the open objects */
    size_t vstart[ASDK_JT_MAX_DEPTH + 1], kstart[ASDK_JT_MAX_DEPTH + 1];
    unsigned char is_object[ASDK_JT_MAX_DEPTH + 1];
    int depth, have_root;
    asdk_jt_status status;
    const char *why;
} builder;

static int fail(builder *b, asdk_jt_status status, const char *why)
{
    if (b->status == ASDK_JT_OK) {
        b->status = status;
        b->why = why;
    }
    return 0;
}

static int counted(builder *b)
{
    if (++b->t->nodes > ASDK_JT_MAX_NODES) return fail(b, ASDK_JT_TOO_BIG, "too many values");
    return 1;
}

static int add(builder *b, const asdk_jt_node *n)
{
    if (b->depth == 0) {
        b->t->root = *n;
        b->have_root = 1;
        return 1;
    }
    return asdk_buf_append(&b->vals, n, sizeof *n) ? fail(b, ASDK_JT_NOMEM, "out of memory") : 1;
}

/* Copies s[0, n) into the arena, NUL-terminated; with clean, ill-formed UTF-8 bytes become U+FFFD. */
static const char *copy(builder *b, const char *s, size_t n, size_t *out_len, int clean)
{
    size_t bad = 0;
    if (clean && n && memchr(s, 0xED, n) && !asdk_utf8_valid(s, n)) {
        for (size_t i = 0; i < n;) {
            size_t k = asdk_utf8_char(s + i, n - i);
            bad += !k;
            i += k ? k : 1;
        }
    }
    char *p = asdk_jtree_alloc(b->t, n + 2 * bad + 1);
    if (!p) return fail(b, ASDK_JT_NOMEM, "out of memory"), NULL;
    if (!bad) {
        if (n) memcpy(p, s, n);
        *out_len = n;
    } else {
        size_t o = 0;
        for (size_t i = 0; i < n;) {
            size_t k = asdk_utf8_char(s + i, n - i);
            if (k) memcpy(p + o, s + i, k);
            else memcpy(p + o, "\xEF\xBF\xBD", 3);
            o += k ? k : 3;
            i += k ? k : 1;
        }
        n = o;
        *out_len = o;
    }
    p[n] = '\0';
    return p;
}

static int cb_null(void *ctx)
{
    asdk_jt_node n = { ASDK_JT_NULL, 0, NULL, NULL, NULL };
    return counted(ctx) && add(ctx, &n);
}

static int cb_boolean(void *ctx, int v)
{
    asdk_jt_node n = { v ? ASDK_JT_TRUE : ASDK_JT_FALSE, 0, NULL, NULL, NULL };
    return counted(ctx) && add(ctx, &n);
}

static int cb_number(void *ctx, const char *s, size_t len)
{
    builder *b = ctx;
    asdk_jt_node n = { ASDK_JT_NUMBER, 0, NULL, NULL, NULL };
    if (!counted(b) || !(n.s = copy(b, s, len, &n.len, 0))) return 0;
    return add(b, &n);
}

static int cb_string(void *ctx, const unsigned char *s, size_t len)
{
    builder *b = ctx;
    asdk_jt_node n = { ASDK_JT_STRING, 0, NULL, NULL, NULL };
    if (!counted(b) || !(n.s = copy(b, (const char *)s, len, &n.len, 1))) return 0;
    return add(b, &n);
}

static int open_container(builder *b, int object)
{
    if (!counted(b)) return 0;
    if (b->depth >= ASDK_JT_MAX_DEPTH) return fail(b, ASDK_JT_DEPTH, "nested too deeply");
    b->depth++;
    b->vstart[b->depth] = b->vals.len;
    b->kstart[b->depth] = b->keys.len;
    b->is_object[b->depth] = (unsigned char)object;
    return 1;
}

static int cb_start_map(void *ctx) { return open_container(ctx, 1); }
static int cb_start_array(void *ctx) { return open_container(ctx, 0); }

static int cb_map_key(void *ctx, const unsigned char *s, size_t len)
{
    builder *b = ctx;
    staged_key k;
    if (!(k.s = copy(b, (const char *)s, len, &k.len, 1))) return 0;
    k.idx = (b->vals.len - b->vstart[b->depth]) / sizeof(asdk_jt_node);
    return asdk_buf_append(&b->keys, &k, sizeof k) ? fail(b, ASDK_JT_NOMEM, "out of memory") : 1;
}

static int key_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

static int staged_cmp(const void *pa, const void *pb)
{
    const staged_key *a = pa, *b = pb;
    int c = key_cmp(a->s, a->len, b->s, b->len);
    return c ? c : (a->idx > b->idx) - (a->idx < b->idx);
}

static int close_container(builder *b)
{
    int d = b->depth;
    size_t n = (b->vals.len - b->vstart[d]) / sizeof(asdk_jt_node);
    asdk_jt_node *vals = n ? (asdk_jt_node *)(void *)(b->vals.ptr + b->vstart[d]) : NULL;
    asdk_jt_node node = { b->is_object[d] ? ASDK_JT_OBJECT : ASDK_JT_ARRAY, 0, NULL, NULL, NULL };
    if (!b->is_object[d]) {
        node.len = n;
        if (n) {
            if (!(node.items = asdk_jtree_alloc(b->t, n * sizeof *vals))) return fail(b, ASDK_JT_NOMEM, "out of memory");
            memcpy(node.items, vals, n * sizeof *vals);
        }
    } else {
        size_t nk = (b->keys.len - b->kstart[d]) / sizeof(staged_key);
        if (nk != n) return fail(b, ASDK_JT_SYNTAX, "malformed object");
        staged_key *keys = n ? (staged_key *)(void *)(b->keys.ptr + b->kstart[d]) : NULL;
        if (n > 1) qsort(keys, n, sizeof *keys, staged_cmp);
        size_t m = 0; /* unique keys */
        for (size_t i = 0; i < n; i++)
            if (i + 1 == n || key_cmp(keys[i].s, keys[i].len, keys[i + 1].s, keys[i + 1].len)) m++;
        if (m) {
            node.items = asdk_jtree_alloc(b->t, m * sizeof *node.items);
            node.keys = asdk_jtree_alloc(b->t, m * sizeof *node.keys);
            if (!node.items || !node.keys) return fail(b, ASDK_JT_NOMEM, "out of memory");
            for (size_t i = 0, j = 0; i < n; i++) {
                /* Of a run of equal keys the last one sorts last (ties break on position): keep it. */
                if (i + 1 < n && !key_cmp(keys[i].s, keys[i].len, keys[i + 1].s, keys[i + 1].len)) {
                    if (!b->t->dup_key) {
                        b->t->dup_key = keys[i].s;
                        b->t->dup_key_len = keys[i].len;
                    }
                    continue;
                }
                node.keys[j].s = keys[i].s;
                node.keys[j].len = keys[i].len;
                node.items[j++] = vals[keys[i].idx];
            }
        }
        node.len = m;
        b->keys.len = b->kstart[d];
    }
    b->vals.len = b->vstart[d];
    b->depth--;
    return add(b, &node);
}

static int cb_end(void *ctx) { return close_container(ctx); }

static const yajl_callbacks callbacks = {
    cb_null, cb_boolean, NULL, NULL, cb_number, cb_string, cb_start_map, cb_map_key, cb_end, cb_start_array, cb_end,
};

asdk_jt_status asdk_jtree_parse(asdk_jtree *t, const char *json, size_t len, char *msg, size_t msgcap)
{
    asdk_jtree_free(t);
    builder b;
    memset(&b, 0, sizeof b);
    b.t = t;
    if (msgcap) msg[0] = '\0';
    if (!json) json = "";

    if (len > ASDK_JT_MAX_BYTES) {
        fail(&b, ASDK_JT_TOO_BIG, "text too long");
    } else if (!asdk_utf8_valid(json, len)) {
        fail(&b, ASDK_JT_UTF8, "invalid UTF-8");
    } else {
        yajl_handle h = yajl_alloc(&callbacks, NULL, &b);
        if (!h) {
            fail(&b, ASDK_JT_NOMEM, "out of memory");
        } else {
            /* The whole text was just validated, more strictly than yajl would: don't check its UTF-8 again. */
            yajl_config(h, yajl_dont_validate_strings, 1);
            yajl_status st = yajl_parse(h, (const unsigned char *)json, len);
            if (st == yajl_status_ok) st = yajl_complete_parse(h);
            if (st == yajl_status_error && b.status == ASDK_JT_OK) {
                unsigned char *e = yajl_get_error(h, 0, NULL, 0);
                char text[100];
                snprintf(text, sizeof text, "%s", e ? (const char *)e : "parse error");
                if (e) yajl_free_error(h, e);
                size_t n = strlen(text);
                while (n && (text[n - 1] == '\n' || text[n - 1] == ' ')) text[--n] = '\0';
                b.status = ASDK_JT_SYNTAX;
                if (msgcap) snprintf(msg, msgcap, "invalid JSON (%s)", text);
            } else if (st == yajl_status_ok && !b.have_root && b.status == ASDK_JT_OK) {
                fail(&b, ASDK_JT_SYNTAX, "empty text");
            }
            yajl_free(h);
        }
    }
    asdk_buf_free(&b.vals);
    asdk_buf_free(&b.keys);
    if (b.status != ASDK_JT_OK) {
        if (msgcap && !msg[0]) {
            if (b.status == ASDK_JT_DEPTH)
                snprintf(msg, msgcap, "nested more than %d levels deep", ASDK_JT_MAX_DEPTH);
            else if (b.status == ASDK_JT_TOO_BIG && b.why && !strcmp(b.why, "too many values"))
                snprintf(msg, msgcap, "more than %zu values", ASDK_JT_MAX_NODES);
            else if (b.status == ASDK_JT_TOO_BIG)
                snprintf(msg, msgcap, "longer than %zu bytes", ASDK_JT_MAX_BYTES);
            else if (b.status == ASDK_JT_SYNTAX)
                snprintf(msg, msgcap, "invalid JSON (%s)", b.why ? b.why : "parse error");
            else
                snprintf(msg, msgcap, "%s", b.why ? b.why : "error");
        }
        asdk_jt_status st = b.status;
        asdk_jtree_free(t);
        return st;
    }
    return ASDK_JT_OK;
}

/* ---- reading ----------------------------------------------------------------------------------------- */

const asdk_jt_node *asdk_jt_get(const asdk_jt_node *obj, const char *key, size_t len)
{
    if (!obj || obj->type != ASDK_JT_OBJECT) return NULL;
    size_t lo = 0, hi = obj->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = key_cmp(obj->keys[mid].s, obj->keys[mid].len, key, len);
        if (!c) return &obj->items[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

int asdk_jt_is_integer(const asdk_jt_node *n)
{
    return n->type == ASDK_JT_NUMBER && !memchr(n->s, '.', n->len) && !memchr(n->s, 'e', n->len) &&
           !memchr(n->s, 'E', n->len);
}

double asdk_jt_number(const asdk_jt_node *n)
{
    return n->type == ASDK_JT_NUMBER ? strtod(n->s, NULL) : 0.0; /* the text is NUL-terminated */
}

int asdk_jt_equal(const asdk_jt_node *a, const asdk_jt_node *b)
{
    if (a->type != b->type) return 0;
    switch (a->type) {
    case ASDK_JT_NUMBER: {
        if (a->len == b->len && !memcmp(a->s, b->s, a->len)) return 1;
        double x = asdk_jt_number(a), y = asdk_jt_number(b);
        return isfinite(x) && isfinite(y) && x == y;
    }
    case ASDK_JT_STRING:
        return a->len == b->len && !memcmp(a->s, b->s, a->len);
    case ASDK_JT_ARRAY:
        if (a->len != b->len) return 0;
        for (size_t i = 0; i < a->len; i++)
            if (!asdk_jt_equal(&a->items[i], &b->items[i])) return 0;
        return 1;
    case ASDK_JT_OBJECT:
        if (a->len != b->len) return 0;
        for (size_t i = 0; i < a->len; i++)
            if (key_cmp(a->keys[i].s, a->keys[i].len, b->keys[i].s, b->keys[i].len) ||
                !asdk_jt_equal(&a->items[i], &b->items[i]))
                return 0;
        return 1;
    default:
        return 1;
    }
}

const char *asdk_jt_type_name(const asdk_jt_node *n)
{
    switch (n->type) {
    case ASDK_JT_NULL: return "null";
    case ASDK_JT_FALSE:
    case ASDK_JT_TRUE: return "boolean";
    case ASDK_JT_NUMBER: return asdk_jt_is_integer(n) ? "integer" : "number";
    case ASDK_JT_STRING: return "string";
    case ASDK_JT_ARRAY: return "array";
    default: return "object";
    }
}

size_t asdk_utf8_trim(const char *s, size_t n)
{
    for (size_t back = 1; back <= 4 && back <= n; back++) {
        unsigned char c = (unsigned char)s[n - back];
        if ((c & 0xC0) == 0x80) continue; /* a continuation byte: look further back */
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return need > back ? n - back : n;
    }
    return n;
}

/* ---- writing ----------------------------------------------------------------------------------------- */

int asdk_jt_write_string(const char *s, size_t n, asdk_buf *out)
{
    return asdk_json_quote(out, s, n);
}

int asdk_jt_write(const asdk_jt_node *n, asdk_buf *out)
{
    switch (n->type) {
    case ASDK_JT_NULL: return asdk_buf_append(out, "null", 4);
    case ASDK_JT_FALSE: return asdk_buf_append(out, "false", 5);
    case ASDK_JT_TRUE: return asdk_buf_append(out, "true", 4);
    case ASDK_JT_NUMBER: return asdk_buf_append(out, n->s, n->len);
    case ASDK_JT_STRING: return asdk_jt_write_string(n->s, n->len, out);
    case ASDK_JT_ARRAY:
        if (asdk_buf_append(out, "[", 1)) return -1;
        for (size_t i = 0; i < n->len; i++)
            if ((i && asdk_buf_append(out, ",", 1)) || asdk_jt_write(&n->items[i], out)) return -1;
        return asdk_buf_append(out, "]", 1);
    default:
        if (asdk_buf_append(out, "{", 1)) return -1;
        for (size_t i = 0; i < n->len; i++) {
            if ((i && asdk_buf_append(out, ",", 1)) || asdk_jt_write_string(n->keys[i].s, n->keys[i].len, out) ||
                asdk_buf_append(out, ":", 1) || asdk_jt_write(&n->items[i], out))
                return -1;
        }
        return asdk_buf_append(out, "}", 1);
    }
}
