/* budget.h — prices and costs in integer micro-dollars (plain C99, no Ruby).
 *
 * A price is in micro-dollars per million tokens (USD/MTok × 1e6: $3/MTok is 3000000, $0.075/MTok is 75000), so a
 * request's cost in micro-dollars is Σ tokens × price / 1e6, rounded UP once per request: costs are never
 * under-counted, and a budget check that passes can never be wrong by rounding. */
#ifndef ASDK_BUDGET_H
#define ASDK_BUDGET_H

#include <stdint.h>

#include "turn.h"

typedef struct {
    int64_t input;          /* base input */
    int64_t cache_write_5m; /* 0 when the provider has no cache writes (OpenAI) */
    int64_t cache_write_1h;
    int64_t cache_read;
    int64_t output;
} asdk_price;

/* a + b for a, b >= 0, saturated at INT64_MAX: every sum of tokens and costs goes through it, so absurd counts
 * make a run stop rather than wrap around to a cost that looks small. */
static inline int64_t asdk_sat_add(int64_t a, int64_t b)
{
    if (a < 0) a = 0;
    if (b < 0) b = 0;
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* Cost of one response's usage, micro-dollars, rounded up; INT64_MAX when it does not fit (absurd counts). */
int64_t asdk_cost_micros(const asdk_price *price, const asdk_usage *usage);

/* The most a request can cost: `input_tokens_bound` input tokens at the dearest input rate it can incur (as in
 * asdk_max_output_for_budget) plus `output_tokens` output tokens; rounded up, saturated. What a run is charged
 * for an attempt that reported no usage. */
int64_t asdk_bound_cost_micros(const asdk_price *price, int64_t input_tokens_bound, int64_t output_tokens, int caching);

/* The most output tokens a request may ask for so that, with at most `input_tokens_bound` input tokens billed at
 * the dearest input rate the request can incur (plain input; a 5-minute cache write when it carries
 * cache_control breakpoints, which cost more), its cost stays within `remaining_micros`.
 * Returns 0 when not even one output token fits. */
int64_t asdk_max_output_for_budget(const asdk_price *price, int64_t input_tokens_bound, int64_t remaining_micros,
                                   int caching);

#endif
