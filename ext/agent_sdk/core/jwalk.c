/* jwalk.c — path-table JSON walker over asdk_extract_value (plain C99, no Ruby). See jwalk.h. */
#include "jwalk.h"

#include <stdio.h>

static unsigned char find_edge(const asdk_jw_schema *s, unsigned parent, const char *key, size_t n,
                               unsigned char *flags)
{
    const asdk_jw_edge *e = parent < s->nnodes ? s->children[parent] : NULL;
    for (; e && e->child; e++) {
        if (key ? (e->key && e->klen == n && (!n || (e->key[0] == key[0] && memcmp(e->key, key, n) == 0))) : !e->key) {
            *flags = e->flags;
            return e->child;
        }
    }
    *flags = 0;
    return 0;
}

/* The node of the next value after one ended at the current depth: the element node of an array. */
static void next_value(asdk_jwalk *w)
{
    if (w->depth && w->is_array[w->depth] && w->nodes[w->depth])
        w->pending = find_edge(w->schema, w->nodes[w->depth], NULL, 0, &w->pending_flags);
    else
        w->pending = w->pending_flags = 0;
}

/* ---- capture: compact JSON text ---------------------------------------------------------------------- */

/* Writes the separator before a value (or key) at capture depth cap_depth. */
static int cap_sep(asdk_jwalk *w)
{
    if (!w->cap_depth) return 0;
    if (w->first[w->cap_depth]) {
        w->first[w->cap_depth] = 0;
        return 0;
    }
    return asdk_buf_append(&w->cap, ",", 1);
}

static int cap_done(asdk_jwalk *w, int kind)
{
    const asdk_jw_schema *s = w->schema;
    unsigned node = w->cap_node;
    next_value(w);
    return s->captured ? s->captured(w->ud, node, kind, w->cap.ptr ? w->cap.ptr : "", w->cap.len) : 1;
}

/* ---- builder callbacks ------------------------------------------------------------------------------- */

static int scalar(asdk_jwalk *w, asdk_kind kind, const char *s, size_t n)
{
    if (w->cap_depth) {
        if (w->is_array[w->depth] && cap_sep(w)) return 0; /* in an object the key wrote the separator */
        switch (kind) {
        case ASDK_NULL: return !asdk_buf_append(&w->cap, "null", 4);
        case ASDK_FALSE: return !asdk_buf_append(&w->cap, "false", 5);
        case ASDK_TRUE: return !asdk_buf_append(&w->cap, "true", 4);
        case ASDK_NUMBER: return !asdk_buf_append(&w->cap, s, n);
        default: return !asdk_json_quote(&w->cap, s, n);
        }
    }
    if (!w->depth) {
        w->not_object = 1;
        return 0;
    }
    unsigned node = w->pending;
    int ok = 1;
    if (node && w->schema->scalar) ok = w->schema->scalar(w->ud, node, kind, s, n);
    next_value(w);
    return ok;
}

static int start(asdk_jwalk *w, int is_map)
{
    if (w->cap_depth) {
        if (w->is_array[w->depth] && cap_sep(w)) return 0; /* in an object the key wrote the separator */
        if (asdk_buf_append(&w->cap, is_map ? "{" : "[", 1)) return 0;
        w->depth++;
        w->is_array[w->depth] = (unsigned char)!is_map;
        w->cap_depth++;
        w->first[w->cap_depth] = 1;
        return 1;
    }
    unsigned node;
    if (!w->depth) {
        if (!is_map) {
            w->not_object = 1;
            return 0;
        }
        node = ASDK_JW_ROOT;
    } else {
        node = w->pending;
        if (node && (w->pending_flags & ASDK_JW_CAPTURE)) {
            w->cap.len = 0;
            w->cap_node = (unsigned char)node;
            if (asdk_buf_append(&w->cap, is_map ? "{" : "[", 1)) return 0;
            w->depth++;
            w->is_array[w->depth] = (unsigned char)!is_map;
            w->nodes[w->depth] = 0;
            w->cap_depth = 1;
            w->first[1] = 1;
            return 1;
        }
    }
    w->depth++;
    w->nodes[w->depth] = (unsigned char)node;
    w->is_array[w->depth] = (unsigned char)!is_map;
    int ok = node && w->schema->open ? w->schema->open(w->ud, node, is_map) : 1;
    if (is_map) w->pending = w->pending_flags = 0;
    else next_value(w);
    return ok;
}

static int key(asdk_jwalk *w, const char *s, size_t n)
{
    if (w->cap_depth) {
        if (cap_sep(w) || asdk_json_quote(&w->cap, s, n) || asdk_buf_append(&w->cap, ":", 1)) return 0;
        return 1;
    }
    unsigned node = w->nodes[w->depth];
    w->pending = node ? find_edge(w->schema, node, s, n, &w->pending_flags) : 0;
    if (!w->pending) w->pending_flags = 0;
    return 1;
}

static int end(asdk_jwalk *w, int is_map)
{
    if (w->cap_depth) {
        if (asdk_buf_append(&w->cap, is_map ? "}" : "]", 1)) return 0;
        w->depth--;
        if (--w->cap_depth) return 1;
        return cap_done(w, is_map ? ASDK_JW_OBJECT : ASDK_JW_ARRAY);
    }
    unsigned node = w->nodes[w->depth];
    w->depth--;
    int ok = node && w->schema->close ? w->schema->close(w->ud, node, is_map) : 1;
    next_value(w);
    return ok;
}

static int b_begin(void *ud) { (void)ud; return 1; }
static int b_end(void *ud) { (void)ud; return 1; }
static int b_null(void *ud) { return scalar(ud, ASDK_NULL, NULL, 0); }
static int b_boolean(void *ud, int v) { return scalar(ud, v ? ASDK_TRUE : ASDK_FALSE, NULL, 0); }
static int b_number(void *ud, const char *s, size_t n) { return scalar(ud, ASDK_NUMBER, s, n); }
static int b_string(void *ud, const char *s, size_t n) { return scalar(ud, ASDK_STRING, s, n); }
static int b_map_start(void *ud) { return start(ud, 1); }
static int b_map_key(void *ud, const char *s, size_t n) { return key(ud, s, n); }
static int b_map_end(void *ud) { return end(ud, 1); }
static int b_array_start(void *ud) { return start(ud, 0); }
static int b_array_end(void *ud) { return end(ud, 0); }

static const asdk_builder walker_builder = {
    b_begin, b_end, b_null, b_boolean, b_number, b_string,
    b_map_start, b_map_key, b_map_end, b_array_start, b_array_end,
};

void asdk_jw_init(asdk_jwalk *w)
{
    w->cap.ptr = NULL;
    w->cap.len = w->cap.cap = 0;
    asdk_extractor_init(&w->x);
}

void asdk_jw_free(asdk_jwalk *w)
{
    asdk_buf_free(&w->cap);
    asdk_extractor_free(&w->x);
}

int asdk_jw_run(asdk_jwalk *w, const char *json, size_t len, const asdk_jw_schema *schema, void *ud,
                asdk_json_error *err)
{
    w->schema = schema;
    w->ud = ud;
    w->depth = w->cap_depth = w->not_object = 0;
    w->nodes[0] = 0;
    w->is_array[0] = 0;
    w->pending = w->pending_flags = 0;
    int r = asdk_extract_value(&w->x, json, len, &walker_builder, w, err);
    if (w->cap.cap > ((size_t)1 << 20)) asdk_buf_free(&w->cap);
    if (r && w->not_object) {
        err->status = ASDK_JSON_NOT_OBJECT;
        snprintf(err->message, sizeof err->message, "top-level JSON value is not an object");
    }
    return r;
}

/* ---- is it one JSON object? -------------------------------------------------------------------------- */

static const asdk_jw_schema any_object = { NULL, 0, NULL, NULL, NULL, NULL };

int asdk_jw_is_object(asdk_jwalk *w, const char *json, size_t len, asdk_json_error *err)
{
    return asdk_jw_run(w, json, len, &any_object, NULL, err) == 0;
}
