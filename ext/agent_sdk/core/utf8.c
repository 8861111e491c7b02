/* utf8.c — strict UTF-8 validation with an ASCII fast path (plain C99, no Ruby). */
#include "utf8.h"

#include <stdint.h>
#include <string.h>

#define CONT(c) (((c) & 0xC0) == 0x80)

size_t asdk_utf8_char(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned c = s[0];
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return n >= 2 && CONT(s[1]) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || !CONT(s[1]) || !CONT(s[2])) return 0;
        if (c == 0xE0 && s[1] < 0xA0) return 0; /* overlong */
        if (c == 0xED && s[1] > 0x9F) return 0; /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || !CONT(s[1]) || !CONT(s[2]) || !CONT(s[3])) return 0;
        if (c == 0xF0 && s[1] < 0x90) return 0; /* overlong */
        if (c == 0xF4 && s[1] > 0x8F) return 0; /* above U+10FFFF */
        return 4;
    }
    return 0;
}

int asdk_utf8_valid(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        /* Skip ASCII eight bytes at a time: stream-json is mostly ASCII. */
        while (n - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & UINT64_C(0x8080808080808080)) break;
            i += 8;
        }
        if (i == n) break;
        size_t k = asdk_utf8_char(s + i, n - i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}
