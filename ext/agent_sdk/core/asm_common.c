/* asm_common.c — helpers shared by the provider assemblers (plain C99, no Ruby). See asm_common.h. */
#include "asm_common.h"

#include <stdio.h>

#include "utf8.h"

asdk_asm_status asdk_asm_fail(asdk_asm_error *e, asdk_asm_status st, const char *data, size_t len,
                              const char *message)
{
    if (e->status != ASDK_ASM_OK && e->status != ASDK_ASM_ABORTED) return e->status;
    e->status = st;
    snprintf(e->message, sizeof e->message, "%s", message);
    e->excerpt_len = len < ASDK_ASM_EXCERPT_MAX ? len : ASDK_ASM_EXCERPT_MAX;
    if (e->excerpt_len) memcpy(e->excerpt, data, e->excerpt_len);
    return st;
}

asdk_asm_status asdk_asm_json_fail(asdk_asm_error *e, const asdk_json_error *je, const char *what,
                                   const char *data, size_t len)
{
    if (je->status == ASDK_JSON_NOMEM) return asdk_asm_fail(e, ASDK_ASM_NOMEM, data, len, "out of memory");
    char message[sizeof je->message + 64];
    snprintf(message, sizeof message, "%.60s: %s", what, je->message);
    return asdk_asm_fail(e, ASDK_ASM_BAD_JSON, data, len, message);
}

int asdk_asm_int64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = n && s[0] == '-';
    i += (size_t)neg;
    if (i == n) return 0;
    int64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        int d = s[i] - '0';
        if (v > (INT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = neg ? -v : v;
    return 1;
}

void asdk_asm_stop_reason(asdk_turn *t, const char *s, size_t n)
{
    size_t cap = sizeof t->stop_reason - 1;
    if (n > cap) {
        n = cap;
        while (n && ((unsigned char)s[n] & 0xC0) == 0x80) n--; /* do not cut a character */
    }
    if (n) memcpy(t->stop_reason, s, n);
    t->stop_reason[n] = '\0';
}

int asdk_asm_set(asdk_buf *b, const char *s, size_t n)
{
    b->len = 0;
    return asdk_buf_append(b, s, n);
}

int asdk_asm_text_error(asdk_turn *t, const char *type, size_t tlen, const char *data, size_t dlen,
                        asdk_asm_status *st)
{
    if (tlen != 5 || memcmp(type, "error", 5) != 0) return 0;
    size_t i = 0;
    while (i < dlen && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n')) i++;
    if (i < dlen && data[i] == '{') return 0;
    size_t n = dlen < 4096 ? dlen : 4096;
    while (n && n < dlen && ((unsigned char)data[n] & 0xC0) == 0x80) n--; /* do not cut a character */
    if (!asdk_utf8_valid(data, n)) {
        data = "(not UTF-8)";
        n = 11;
    }
    *st = asdk_asm_set(&t->error_type, "api_error", 9) || asdk_asm_set(&t->error_message, data, n) ? ASDK_ASM_NOMEM
                                                                                                    : ASDK_ASM_OK;
    return 1;
}

int asdk_asm_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') return 0;
    return 1;
}

int asdk_asm_count(const char *s, size_t n, int64_t *out)
{
    if (asdk_asm_int64(s, n, out)) return *out >= 0;
    /* JSON grammar: -? int (. digits)? ([eE] [+-]? digits)? — the walker has checked it; read it again here. */
    size_t i = 0;
    if (i < n && s[i] == '-') return 0;
    char digits[24]; /* significant digits, at most 20 kept: more only means "saturated" */
    size_t nd = 0, dropped = 0; /* dropped: nonzero digits past the kept ones */
    int64_t point = 0;          /* where the point is, in significant digits (negative: zeros after it) */
    int seen_point = 0, any = 0;
    for (; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.'); i++) {
        if (s[i] == '.') { seen_point = 1; continue; }
        any = 1;
        if (!nd && s[i] == '0') { /* a leading zero: moves the point only once digits start */
            if (seen_point) point--;
            continue;
        }
        if (nd < 20) digits[nd++] = s[i];
        else if (s[i] != '0') dropped = 1;
        if (!seen_point) point++;
    }
    if (!any) return 0;
    int64_t exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int neg = 0;
        if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (exp < 100000) exp = exp * 10 + (s[i] - '0');
        if (neg) exp = -exp;
    }
    if (i != n) return 0;
    if (!nd) return *out = 0, 1;                    /* zero, however written */
    int64_t whole = point + exp;                    /* digits before the point in value = 0.digits × 10^whole */
    if (whole > 19) return *out = INT64_MAX, 1;
    if (whole <= 0) return *out = 1, 1;             /* 0 < value < 1: rounds up to one token */
    int64_t v = 0;
    int frac = dropped;
    for (int64_t k = 0; k < (int64_t)nd || k < whole; k++) {
        int d = k < (int64_t)nd ? digits[k] - '0' : 0;
        if (k < whole) {
            if (v > (INT64_MAX - d) / 10) return *out = INT64_MAX, 1;
            v = v * 10 + d;
        } else if (d) {
            frac = 1;
        }
    }
    if (frac) v = v == INT64_MAX ? v : v + 1;
    *out = v;
    return 1;
}

/* ---- the index map ------------------------------------------------------------------------------------ */

static size_t index_slot(int64_t key, size_t cap)
{
    uint64_t x = (uint64_t)key; /* splitmix64's finalizer: indexes 0, 1, 2… spread evenly */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (size_t)x & (cap - 1);
}

int asdk_asm_index_get(const asdk_asm_index *m, int64_t key, size_t *pos)
{
    if (!m->n) return 0;
    for (size_t i = index_slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        const asdk_asm_index_entry *e = &m->e[i];
        if (!e->pos) return 0;
        if (e->key == key) return *pos = e->pos - 1, 1;
    }
}

static void index_insert(asdk_asm_index_entry *t, size_t cap, int64_t key, size_t pos1)
{
    size_t i = index_slot(key, cap);
    while (t[i].pos) i = (i + 1) & (cap - 1);
    t[i].key = key;
    t[i].pos = pos1;
}

int asdk_asm_index_put(asdk_asm_index *m, int64_t key, size_t pos)
{
    if (pos == SIZE_MAX) return -1;
    if (m->n + 1 > m->cap / 2) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        if (cap > SIZE_MAX / 2 / sizeof *m->e) return -1;
        asdk_asm_index_entry *t = calloc(cap, sizeof *t);
        if (!t) return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->e[i].pos) index_insert(t, cap, m->e[i].key, m->e[i].pos);
        free(m->e);
        m->e = t;
        m->cap = cap;
    }
    index_insert(m->e, m->cap, key, pos + 1);
    m->n++;
    return 0;
}

void asdk_asm_index_clear(asdk_asm_index *m)
{
    if (m->cap > 1024) {
        asdk_asm_index_free(m);
    } else if (m->n) {
        memset(m->e, 0, m->cap * sizeof *m->e);
        m->n = 0;
    }
}

void asdk_asm_index_free(asdk_asm_index *m)
{
    free(m->e);
    m->e = NULL;
    m->cap = m->n = 0;
}
