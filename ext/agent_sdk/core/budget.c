/* budget.c — see budget.h. */
#include "budget.h"

#define MTOK 1000000

/* a*b + acc, or -1 on overflow; a, b, acc >= 0. */
static int64_t mul_add(int64_t a, int64_t b, int64_t acc)
{
    if (a < 0 || b < 0 || acc < 0) return -1;
    if (a != 0 && b > (INT64_MAX - acc) / a) return -1;
    return acc + a * b;
}

int64_t asdk_cost_micros(const asdk_price *p, const asdk_usage *u)
{
    int64_t written = u->cache_creation_input_tokens > 0 ? u->cache_creation_input_tokens : 0;
    int64_t write_1h = u->cache_creation_1h_input_tokens > 0 ? u->cache_creation_1h_input_tokens : 0;
    if (write_1h > written) write_1h = written;
    int64_t write_5m = written - write_1h;
    int64_t pico = 0; /* tokens × micro-dollars per MTok = pico-dollars */
    pico = mul_add(u->input_tokens, p->input, pico);
    if (pico >= 0) pico = mul_add(write_5m, p->cache_write_5m, pico);
    if (pico >= 0) pico = mul_add(write_1h, p->cache_write_1h, pico);
    if (pico >= 0) pico = mul_add(u->cache_read_input_tokens, p->cache_read, pico);
    if (pico >= 0) pico = mul_add(u->output_tokens, p->output, pico);
    if (pico < 0) return INT64_MAX;
    return pico / MTOK + (pico % MTOK != 0);
}

static int64_t dearest_input(const asdk_price *p, int caching)
{
    return caching && p->cache_write_5m > p->input ? p->cache_write_5m : p->input;
}

int64_t asdk_bound_cost_micros(const asdk_price *p, int64_t input_bound, int64_t output, int caching)
{
    int64_t pico = mul_add(input_bound, dearest_input(p, caching), 0);
    if (pico >= 0) pico = mul_add(output, p->output, pico);
    if (pico < 0) return INT64_MAX;
    return pico / MTOK + (pico % MTOK != 0);
}

int64_t asdk_max_output_for_budget(const asdk_price *p, int64_t input_bound, int64_t remaining, int caching)
{
    if (remaining <= 0 || p->output <= 0) return remaining > 0 ? INT64_MAX : 0;
    int64_t dearest = dearest_input(p, caching);
    int64_t budget_pico = mul_add(remaining, MTOK, 0);
    int64_t input_pico = mul_add(input_bound, dearest, 0);
    if (budget_pico < 0) return INT64_MAX / 2; /* a budget too large to matter */
    if (input_pico < 0 || input_pico >= budget_pico) return 0;
    return (budget_pico - input_pico) / p->output;
}
