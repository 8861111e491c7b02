/* tools.c — tool registry, call checks, canonical JSON, fingerprints, the seen set, result capping (plain C99,
 * no Ruby). See tools.h. */
#include "tools.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

typedef struct {
    char *name;
    size_t len;
    asdk_schema *schema;
} tool;

struct asdk_tools {
    tool *tools;
    size_t count, cap;
};

#define NAMES_SHOWN 2048 /* bytes of tool names listed in an "unknown tool" message */
#define NAME_SHOWN 64    /* bytes of an unknown name echoed back */

asdk_tools *asdk_tools_new(void)
{
    return calloc(1, sizeof(asdk_tools));
}

void asdk_tools_free(asdk_tools *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->count; i++) {
        free(t->tools[i].name);
        asdk_schema_free(t->tools[i].schema);
    }
    free(t->tools);
    free(t);
}

static const tool *find(const asdk_tools *t, const char *name, size_t nlen)
{
    for (size_t i = 0; i < t->count; i++)
        if (t->tools[i].len == nlen && !memcmp(t->tools[i].name, name, nlen)) return &t->tools[i];
    return NULL;
}

static int valid_name(const char *name, size_t nlen)
{
    if (!nlen || nlen > ASDK_TOOL_NAME_MAX || !asdk_utf8_valid(name, nlen)) return 0;
    for (size_t i = 0; i < nlen; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7F) return 0;
    return 1;
}

int asdk_tools_add(asdk_tools *t, const char *name, size_t nlen, const char *schema, size_t slen, char *err,
                   size_t errcap)
{
    if (errcap) err[0] = '\0';
    if (!valid_name(name, nlen)) {
        if (errcap)
            snprintf(err, errcap, "a tool name must be 1 to %d bytes of UTF-8 without control characters",
                     ASDK_TOOL_NAME_MAX);
        return -1;
    }
    if (find(t, name, nlen)) {
        if (errcap) snprintf(err, errcap, "tool %.*s is registered twice", (int)nlen, name);
        return -1;
    }
    if (t->count >= ASDK_TOOLS_MAX) {
        if (errcap) snprintf(err, errcap, "more than %d tools", ASDK_TOOLS_MAX);
        return -1;
    }
    char why[300];
    asdk_schema *s = asdk_schema_compile(schema, slen, why, sizeof why);
    if (!s) {
        if (errcap) {
            int n = snprintf(err, errcap, "input schema of %.*s: %s", (int)nlen, name, why);
            if (n >= 0 && (size_t)n >= errcap) err[asdk_utf8_trim(err, errcap - 1)] = '\0';
        }
        return -1;
    }
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        tool *p = realloc(t->tools, cap * sizeof *p);
        if (!p) goto nomem;
        t->tools = p;
        t->cap = cap;
    }
    char *copy = malloc(nlen + 1);
    if (!copy) goto nomem;
    memcpy(copy, name, nlen);
    copy[nlen] = '\0';
    t->tools[t->count].name = copy;
    t->tools[t->count].len = nlen;
    t->tools[t->count].schema = s;
    t->count++;
    return 0;
nomem:
    asdk_schema_free(s);
    if (errcap) snprintf(err, errcap, "out of memory");
    return -1;
}

size_t asdk_tools_count(const asdk_tools *t) { return t->count; }

const char *asdk_tools_name(const asdk_tools *t, size_t i, size_t *len)
{
    *len = t->tools[i].len;
    return t->tools[i].name;
}

const asdk_schema *asdk_tools_schema(const asdk_tools *t, const char *name, size_t nlen)
{
    const tool *k = find(t, name, nlen);
    return k ? k->schema : NULL;
}

size_t asdk_tools_memsize(const asdk_tools *t)
{
    size_t n = sizeof *t + t->cap * sizeof *t->tools;
    for (size_t i = 0; i < t->count; i++) n += t->tools[i].len + 1 + asdk_schema_memsize(t->tools[i].schema);
    return n;
}

/* ---- messages ---------------------------------------------------------------------------------------- */

static int put(asdk_buf *b, const char *s) { return asdk_buf_append(b, s, strlen(s)); }

/* A name from the model, quoted, at most NAME_SHOWN bytes of it. It may be any UTF-8 (json_tree.h). */
static int put_quoted(asdk_buf *b, const char *s, size_t n)
{
    size_t shown = asdk_cap_cut(s, n, NAME_SHOWN);
    if (!asdk_utf8_valid(s, shown)) return put(b, "(a name that is not UTF-8)");
    if (asdk_jt_write_string(s, shown, b)) return -1;
    if (shown < n) {
        b->len--; /* reopen the closing quote */
        return put(b, "\xE2\x80\xA6\"");
    }
    return 0;
}

static int unknown_message(const asdk_tools *t, const char *name, size_t nlen, asdk_buf *msg)
{
    if (put(msg, "Unknown tool ") || put_quoted(msg, name, nlen)) return -1;
    if (!t->count) return put(msg, ". No tools are available.");
    if (put(msg, ". Available tools: ")) return -1;
    size_t start = msg->len;
    for (size_t i = 0; i < t->count; i++) {
        if (msg->len - start + t->tools[i].len > NAMES_SHOWN) return put(msg, ", \xE2\x80\xA6");
        if ((i && put(msg, ", ")) || asdk_buf_append(msg, t->tools[i].name, t->tools[i].len)) return -1;
    }
    return 0;
}

static asdk_tool_status invalid_input(const char *name, size_t nlen, const char *why, asdk_buf *msg)
{
    if (put(msg, "Invalid input for tool ") || put_quoted(msg, name, nlen) || put(msg, ": ") ||
        (why && put(msg, why)))
        return ASDK_TOOL_NOMEM;
    return ASDK_TOOL_INVALID;
}

/* Checks a parsed input; the tree is the caller's. */
static asdk_tool_status check_parsed(const tool *k, const asdk_jtree *tree, asdk_buf *msg)
{
    size_t mark = msg->len;
    asdk_tool_status st = invalid_input(k->name, k->len, NULL, msg);
    if (st != ASDK_TOOL_INVALID) return st;
    long problems = asdk_schema_check(k->schema, &tree->root, msg);
    if (problems < 0) return ASDK_TOOL_NOMEM;
    if (problems == 0) {
        msg->len = mark;
        return ASDK_TOOL_OK;
    }
    return ASDK_TOOL_INVALID;
}

/* Finds the tool and parses the input: UNKNOWN / INVALID (unparsable) with the message written, or OK. */
static asdk_tool_status prepare(const asdk_tools *t, const char *name, size_t nlen, const char *input, size_t ilen,
                                asdk_buf *msg, const tool **k, asdk_jtree *tree)
{
    *k = find(t, name, nlen);
    if (!*k) return unknown_message(t, name, nlen, msg) ? ASDK_TOOL_NOMEM : ASDK_TOOL_UNKNOWN;
    char why[160], text[200];
    asdk_jt_status st = asdk_jtree_parse(tree, input, ilen, why, sizeof why);
    if (st == ASDK_JT_NOMEM) return ASDK_TOOL_NOMEM;
    if (st != ASDK_JT_OK) {
        snprintf(text, sizeof text, "the input is %s", why);
        return invalid_input(name, nlen, text, msg);
    }
    /* One rule whatever parses it next: json >= 3 raises on a repeated key, older json keeps the last value,
     * so a repeated key is refused here, for the model to send the call again. */
    if (tree->dup_key) {
        if (invalid_input(name, nlen, "the input repeats the key ", msg) == ASDK_TOOL_NOMEM ||
            put_quoted(msg, tree->dup_key, tree->dup_key_len) || put(msg, " (each key may appear once)"))
            return ASDK_TOOL_NOMEM;
        return ASDK_TOOL_INVALID;
    }
    return ASDK_TOOL_OK;
}

asdk_tool_status asdk_tools_check(const asdk_tools *t, const char *name, size_t nlen, const char *input,
                                  size_t ilen, asdk_buf *msg)
{
    const tool *k;
    asdk_jtree tree;
    asdk_jtree_init(&tree);
    asdk_tool_status st = prepare(t, name, nlen, input, ilen, msg, &k, &tree);
    if (st == ASDK_TOOL_OK) st = check_parsed(k, &tree, msg);
    asdk_jtree_free(&tree);
    return st;
}

/* ---- canonical JSON and fingerprints ----------------------------------------------------------------- */

asdk_jt_status asdk_json_canonical(const char *json, size_t len, asdk_buf *out, char *err, size_t errcap)
{
    asdk_jtree tree;
    asdk_jtree_init(&tree);
    asdk_jt_status st = asdk_jtree_parse(&tree, json, len, err, errcap);
    if (st == ASDK_JT_OK && asdk_jt_write(&tree.root, out)) {
        st = ASDK_JT_NOMEM;
        if (errcap) snprintf(err, errcap, "out of memory");
    }
    asdk_jtree_free(&tree);
    return st;
}

/* SHA-256 of name, NUL, canonical(root). 0 or -1. */
static int digest_tree(const char *name, size_t nlen, const asdk_jt_node *root, unsigned char out[ASDK_FINGERPRINT_LEN])
{
    asdk_buf canon = { NULL, 0, 0 };
    int ok = 0;
    if (!asdk_jt_write(root, &canon)) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned int n = 0;
        ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(ctx, name, nlen) == 1 &&
             EVP_DigestUpdate(ctx, "", 1) == 1 && EVP_DigestUpdate(ctx, canon.ptr ? canon.ptr : "", canon.len) == 1 &&
             EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == ASDK_FINGERPRINT_LEN;
        EVP_MD_CTX_free(ctx);
    }
    asdk_buf_free(&canon);
    return ok ? 0 : -1;
}

asdk_jt_status asdk_tool_fingerprint(const char *name, size_t nlen, const char *input, size_t ilen,
                                     unsigned char out[ASDK_FINGERPRINT_LEN], char *err, size_t errcap)
{
    asdk_jtree tree;
    asdk_jtree_init(&tree);
    asdk_jt_status st = asdk_jtree_parse(&tree, input, ilen, err, errcap);
    if (st == ASDK_JT_OK && digest_tree(name, nlen, &tree.root, out)) {
        st = ASDK_JT_NOMEM;
        if (errcap) snprintf(err, errcap, "out of memory");
    }
    asdk_jtree_free(&tree);
    return st;
}

void asdk_fingerprint_hex(const unsigned char fp[ASDK_FINGERPRINT_LEN], char hex[2 * ASDK_FINGERPRINT_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < ASDK_FINGERPRINT_LEN; i++) {
        hex[2 * i] = digits[fp[i] >> 4];
        hex[2 * i + 1] = digits[fp[i] & 15];
    }
    hex[2 * ASDK_FINGERPRINT_LEN] = '\0';
}

/* ---- the seen set (open addressing, linear probing) -------------------------------------------------- */

enum { EMPTY = 0, USED = 1, REMOVED = 2 };

void asdk_seen_init(asdk_seen *s, size_t limit)
{
    memset(s, 0, sizeof *s);
    s->limit = limit ? limit : ASDK_SEEN_DEFAULT_LIMIT;
}

void asdk_seen_free(asdk_seen *s)
{
    free(s->keys);
    free(s->state);
    size_t limit = s->limit;
    asdk_seen_init(s, limit);
}

static size_t slot_of(const unsigned char fp[ASDK_FINGERPRINT_LEN], size_t cap)
{
    uint64_t h;
    memcpy(&h, fp, sizeof h); /* SHA-256 bytes are already uniform */
    return (size_t)(h & (cap - 1));
}

/* The slot holding fp, or SIZE_MAX. */
static size_t lookup(const asdk_seen *s, const unsigned char fp[ASDK_FINGERPRINT_LEN])
{
    if (!s->cap) return SIZE_MAX;
    for (size_t i = slot_of(fp, s->cap), n = 0; n < s->cap; i = (i + 1) & (s->cap - 1), n++) {
        if (s->state[i] == EMPTY) return SIZE_MAX;
        if (s->state[i] == USED && !memcmp(s->keys[i], fp, ASDK_FINGERPRINT_LEN)) return i;
    }
    return SIZE_MAX;
}

static int rehash(asdk_seen *s, size_t cap)
{
    unsigned char(*keys)[ASDK_FINGERPRINT_LEN] = malloc(cap * sizeof *keys);
    unsigned char *state = calloc(cap, 1);
    if (!keys || !state) {
        free(keys);
        free(state);
        return -1;
    }
    for (size_t i = 0; i < s->cap; i++) {
        if (s->state[i] != USED) continue;
        size_t j = slot_of(s->keys[i], cap);
        while (state[j] != EMPTY) j = (j + 1) & (cap - 1);
        memcpy(keys[j], s->keys[i], ASDK_FINGERPRINT_LEN);
        state[j] = USED;
    }
    free(s->keys);
    free(s->state);
    s->keys = keys;
    s->state = state;
    s->cap = cap;
    s->removed = 0;
    return 0;
}

int asdk_seen_add(asdk_seen *s, const unsigned char fp[ASDK_FINGERPRINT_LEN])
{
    if (lookup(s, fp) != SIZE_MAX) return 1;
    if (s->count >= s->limit) return 0;
    /* Keep the table at most half full, counting removed slots (so probes always end at an empty one). */
    if ((s->count + s->removed + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap : 16;
        while ((s->count + 1) * 2 > cap) cap *= 2;
        if (rehash(s, cap)) return -1;
    }
    size_t i = slot_of(fp, s->cap);
    while (s->state[i] == USED) i = (i + 1) & (s->cap - 1);
    if (s->state[i] == REMOVED) s->removed--;
    memcpy(s->keys[i], fp, ASDK_FINGERPRINT_LEN);
    s->state[i] = USED;
    s->count++;
    return 0;
}

int asdk_seen_remove(asdk_seen *s, const unsigned char fp[ASDK_FINGERPRINT_LEN])
{
    size_t i = lookup(s, fp);
    if (i == SIZE_MAX) return 0;
    s->state[i] = REMOVED;
    s->count--;
    s->removed++;
    return 1;
}

size_t asdk_seen_memsize(const asdk_seen *s)
{
    return s->cap * (ASDK_FINGERPRINT_LEN + 1);
}

/* ---- one call ---------------------------------------------------------------------------------------- */

asdk_tool_status asdk_tools_admit(const asdk_tools *t, asdk_seen *seen, const char *name, size_t nlen,
                                  const char *input, size_t ilen, asdk_buf *msg,
                                  unsigned char fp[ASDK_FINGERPRINT_LEN])
{
    const tool *k;
    asdk_jtree tree;
    asdk_jtree_init(&tree);
    asdk_tool_status st = prepare(t, name, nlen, input, ilen, msg, &k, &tree);
    if (st == ASDK_TOOL_OK) st = check_parsed(k, &tree, msg);
    if (st == ASDK_TOOL_OK && (seen || fp)) {
        unsigned char d[ASDK_FINGERPRINT_LEN];
        if (digest_tree(name, nlen, &tree.root, d)) {
            st = ASDK_TOOL_NOMEM;
        } else {
            if (fp) memcpy(fp, d, sizeof d);
            int r = seen ? asdk_seen_add(seen, d) : 0;
            if (r < 0) st = ASDK_TOOL_NOMEM;
            else if (r > 0) {
                st = ASDK_TOOL_DUPLICATE;
                if (asdk_buf_append(msg, k->name, k->len) ||
                    put(msg, " was already called with these arguments in this run; use the earlier result"))
                    st = ASDK_TOOL_NOMEM;
            }
        }
    }
    asdk_jtree_free(&tree);
    return st;
}

/* ---- capping ----------------------------------------------------------------------------------------- */

size_t asdk_cap_cut(const char *text, size_t len, size_t cap)
{
    if (len <= cap) return len;
    size_t cut = cap;
    /* text[cut] is the first byte left out: while it continues a sequence, the cut is inside one. */
    for (int i = 0; i < 3 && cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80; i++) cut--;
    return ((unsigned char)text[cut] & 0xC0) == 0x80 ? cap : cut; /* not UTF-8 there anyway: cut at cap */
}

int asdk_cap_result(const char *text, size_t len, size_t cap, asdk_buf *out)
{
    size_t cut = asdk_cap_cut(text, len, cap);
    if (asdk_buf_append(out, text, cut)) return -1;
    if (cut == len) return 0;
    char note[96];
    int n = snprintf(note, sizeof note, "\n[truncated: showed %zu of %zu bytes]", cut, len);
    return asdk_buf_append(out, note, (size_t)n);
}
