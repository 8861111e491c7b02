/* json_quote.c — see json_quote.h. */
#include "json_quote.h"

/* 1 for the bytes a JSON string cannot hold as they are: control characters, '"' and '\\'. */
static const unsigned char needs_escape[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* '\\' */
};

int asdk_json_quote(asdk_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (asdk_buf_reserve(b, n + 2)) return -1;
    b->ptr[b->len++] = '"';
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && !needs_escape[(unsigned char)s[j]]) j++;
        if (asdk_buf_append(b, s + i, j - i)) return -1;
        if (j == n) break;
        unsigned char c = (unsigned char)s[j];
        char esc[6] = { '\\', 0, 0, 0, 0, 0 };
        size_t k = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            k = 6;
        }
        if (asdk_buf_append(b, esc, k)) return -1;
        i = j + 1;
    }
    if (asdk_buf_reserve(b, 1)) return -1;
    b->ptr[b->len++] = '"';
    return 0;
}
