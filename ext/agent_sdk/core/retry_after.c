/* retry_after.c — see retry_after.h. */
#include "retry_after.h"

#include <stdio.h>
#include <string.h>

/* A plain decimal "digits[.digits]" scaled by scale, clamped; -1 when it is not one. No strtod: it takes "nan",
 * "inf", "0x1p4" and "1e999", whose conversion to an integer is undefined. */
static int64_t decimal(const char *v, size_t n, int64_t scale)
{
    size_t i = 0;
    int64_t whole = 0, frac = 0, div = 1;
    int digits = 0;
    for (; i < n && v[i] >= '0' && v[i] <= '9'; i++, digits++)
        if (whole <= ASDK_RETRY_AFTER_CLAMP_MS) whole = whole * 10 + (v[i] - '0');
    if (i < n && v[i] == '.') {
        for (i++; i < n && v[i] >= '0' && v[i] <= '9'; i++, digits++)
            if (div < 1000000) frac = frac * 10 + (v[i] - '0'), div *= 10;
    }
    if (!digits || i != n) return -1;
    if (whole > ASDK_RETRY_AFTER_CLAMP_MS / scale) return ASDK_RETRY_AFTER_CLAMP_MS;
    int64_t ms = whole * scale + frac * scale / div;
    return ms > ASDK_RETRY_AFTER_CLAMP_MS ? ASDK_RETRY_AFTER_CLAMP_MS : ms;
}

int64_t asdk_retry_after_ms(const char *v, size_t n) { return decimal(v, n, 1); }

int64_t asdk_retry_after(const char *v, size_t n, int64_t now_s)
{
    int64_t ms = decimal(v, n, 1000);
    if (ms >= 0) return ms;
    int64_t at = asdk_http_date(v, n);
    if (at < 0) return -1;
    if (at <= now_s) return 0;
    int64_t d = at - now_s;
    return d > ASDK_RETRY_AFTER_CLAMP_MS / 1000 ? ASDK_RETRY_AFTER_CLAMP_MS : d * 1000;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int64_t asdk_http_date(const char *v, size_t n)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char buf[64];
    if (n >= sizeof buf) return -1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    const char *p = strchr(buf, ',');
    if (!p) return -1;
    int day, year, hh, mm, ss;
    char mon[4] = { 0 };
    if (sscanf(p + 1, " %2d %3c %4d %2d:%2d:%2d", &day, mon, &year, &hh, &mm, &ss) != 6) return -1;
    const char *m = strstr(months, mon);
    if (!m || (m - months) % 3 || day < 1 || day > 31 || year < 0 || hh < 0 || hh > 23 || mm < 0 || mm > 59 ||
        ss < 0 || ss > 60)
        return -1;
    return days_from_civil(year, (unsigned)((m - months) / 3 + 1), (unsigned)day) * 86400 + hh * 3600 + mm * 60 + ss;
}
