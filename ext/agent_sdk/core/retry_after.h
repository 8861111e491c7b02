/* retry_after.h — the retry hints of an HTTP error response, as milliseconds to wait (plain C99, no Ruby).
 *
 * retry-after-ms: a non-negative decimal number of milliseconds ("1500", "1500.5"); retry-after: a non-negative
 * decimal number of seconds or an HTTP date ("Wed, 21 Oct 2015 07:28:00 GMT"). Anything else — NaN, infinity, hex,
 * signs, exponents, trailing junk — is no hint (-1). Values past ASDK_RETRY_AFTER_CLAMP_MS are clamped to it: the
 * loop ignores any hint over 60 s (REFERENCE.md: the official SDKs' policy) and backs off on its own, so the clamp
 * only keeps the float-to-integer conversion defined. */
#ifndef ASDK_RETRY_AFTER_H
#define ASDK_RETRY_AFTER_H

#include <stddef.h>
#include <stdint.h>

#define ASDK_RETRY_AFTER_CLAMP_MS ((int64_t)86400000) /* one day */

/* retry-after-ms → ms, or -1 */
int64_t asdk_retry_after_ms(const char *v, size_t n);
/* retry-after → ms (a date in the past: 0), or -1; now_s: the wall clock (seconds since the epoch) */
int64_t asdk_retry_after(const char *v, size_t n, int64_t now_s);
/* "Wed, 21 Oct 2015 07:28:00 GMT" → seconds since the epoch, or -1 */
int64_t asdk_http_date(const char *v, size_t n);

#endif
