/* utf8.h — strict UTF-8 validation (plain C99, no Ruby). */
#ifndef ASDK_UTF8_H
#define ASDK_UTF8_H

#include <stddef.h>

/* 1 if s[0, n) is well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), else 0.
 * yajl's own check only looks at the shape of each sequence, so it lets those three through. */
int asdk_utf8_valid(const char *s, size_t n);

/* Length of the well-formed character at s[0, n) (n >= 1), or 0 if it is ill-formed. */
size_t asdk_utf8_char(const char *s, size_t n);

#endif
