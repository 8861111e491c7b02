/* json_tree.h — a bounded, read-only JSON document tree (plain C99, no Ruby).
 *
 * Built with yajl's callbacks (no comments, one value, strict UTF-8 checked over the whole text first), into
 * one arena that asdk_jtree_free releases in one go. Limits: ASDK_JT_MAX_BYTES of text, ASDK_JT_MAX_DEPTH
 * levels of nesting, ASDK_JT_MAX_NODES values — so memory is O(text) with a fixed ceiling, and every recursive
 * walk over a tree is at most ASDK_JT_MAX_DEPTH deep.
 *
 * Object members are kept sorted by key (bytewise, which is code point order for UTF-8) and unique: when a key
 * repeats, its last value wins, as with json < 3's JSON.parse, and the tree remembers one repeated key
 * (dup_key) for callers that must refuse them, as tool input does (json >= 3 raises on them). Numbers keep their text as written. Every string
 * is well-formed UTF-8: an unpaired surrogate escape (which yajl decodes to "?" or to bytes that are not
 * UTF-8) becomes "?" or U+FFFD. Number and string bytes are followed by a NUL that `len` does not count. */
#ifndef ASDK_JSON_TREE_H
#define ASDK_JSON_TREE_H

#include <stddef.h>

#include "asdk_buf.h"

#define ASDK_JT_MAX_DEPTH 64
#define ASDK_JT_MAX_NODES ((size_t)1 << 17)
#define ASDK_JT_MAX_BYTES ((size_t)16 << 20)

typedef enum {
    ASDK_JT_NULL = 0,
    ASDK_JT_FALSE,
    ASDK_JT_TRUE,
    ASDK_JT_NUMBER,
    ASDK_JT_STRING,
    ASDK_JT_ARRAY,
    ASDK_JT_OBJECT
} asdk_jt_type;

typedef struct {
    const char *s;
    size_t len;
} asdk_jt_key;

typedef struct asdk_jt_node asdk_jt_node;
struct asdk_jt_node {
    asdk_jt_type type;
    size_t len;          /* NUMBER, STRING: bytes; ARRAY: elements; OBJECT: members */
    const char *s;       /* NUMBER: the text as written; STRING: the decoded UTF-8 (may hold NUL bytes) */
    asdk_jt_node *items; /* ARRAY: the elements; OBJECT: the member values, in key order */
    asdk_jt_key *keys;   /* OBJECT: the member keys, sorted, unique */
};

typedef enum {
    ASDK_JT_OK = 0,
    ASDK_JT_SYNTAX,
    ASDK_JT_UTF8,
    ASDK_JT_DEPTH,
    ASDK_JT_TOO_BIG, /* more than ASDK_JT_MAX_BYTES or ASDK_JT_MAX_NODES */
    ASDK_JT_NOMEM
} asdk_jt_status;

typedef struct asdk_jt_chunk asdk_jt_chunk;

typedef struct {
    asdk_jt_node root;
    asdk_jt_chunk *chunks; /* the arena */
    size_t nodes;          /* values in the document */
    size_t bytes;          /* bytes allocated in the arena */
    const char *dup_key;   /* a key that repeats within one object (NUL-terminated, in the arena), or NULL */
    size_t dup_key_len;
} asdk_jtree;

/* Zeroes a tree so that asdk_jtree_free may be called on it. */
void asdk_jtree_init(asdk_jtree *t);

/* Parses json[0, len): one JSON value with optional whitespace around it. On error, returns the status and
 * writes a one-line reason to msg (msgcap > 0), and the tree is empty again. A tree that was parsed before
 * is freed first. */
asdk_jt_status asdk_jtree_parse(asdk_jtree *t, const char *json, size_t len, char *msg, size_t msgcap);

void asdk_jtree_free(asdk_jtree *t);

/* Memory from the tree's arena, aligned for any node or pointer; freed with the tree. NULL when out of memory. */
void *asdk_jtree_alloc(asdk_jtree *t, size_t n);

/* The value of member `key` of an OBJECT node, or NULL (binary search). */
const asdk_jt_node *asdk_jt_get(const asdk_jt_node *obj, const char *key, size_t len);

/* 1 if a NUMBER's text has no fraction and no exponent. */
int asdk_jt_is_integer(const asdk_jt_node *n);

/* A NUMBER's value as a double (±HUGE_VAL when out of range). */
double asdk_jt_number(const asdk_jt_node *n);

/* Structural equality; numbers are equal when their texts are, or when their values are equal and finite. */
int asdk_jt_equal(const asdk_jt_node *a, const asdk_jt_node *b);

/* Appends the canonical text of n to out: no whitespace, members sorted by key, numbers as written, strings
 * escaped minimally (\" \\ \b \f \n \r \t, other control characters as \u00XX, everything else as UTF-8).
 * Returns 0, or -1 when out of memory. */
int asdk_jt_write(const asdk_jt_node *n, asdk_buf *out);

/* Appends s[0, n) as a JSON string literal, escaped as asdk_jt_write does. Returns 0 or -1. */
int asdk_jt_write_string(const char *s, size_t n, asdk_buf *out);

/* n, or less so that s[0, result) does not end in the middle of a UTF-8 sequence (for text cut to a size). */
size_t asdk_utf8_trim(const char *s, size_t n);

/* "null", "boolean", "integer" (a number without fraction or exponent), "number", "string", "array", "object". */
const char *asdk_jt_type_name(const asdk_jt_node *n);

#endif
