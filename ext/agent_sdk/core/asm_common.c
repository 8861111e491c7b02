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
