/* budget_property.c — the agent loop's budgets as a property (no Ruby), built with ASan/UBSan by
 * spec/budget_property_spec.rb:
 *
 *     budget_property RUNS SEED     prints "budget property: N runs, O overruns (turns T, tokens K, usd U checks)"
 *
 * Each run draws limits, prices and a scripted server that answers every attempt with one of: a refused
 * connection, an HTTP error (retried or not), a broken or timed-out attempt with or without usage, a complete
 * turn with honest usage (within the attempt's pre-call bound), without usage, or with absurd usage (past the
 * bound, up to and beyond INT64_MAX), an error event after a 200, a stream that ended early. What "no overrun"
 * means (README "Budgets"):
 *   - before every attempt, a retry too: billed so far + the attempt's pre-call bound <= every budget, and the
 *     turns so far < max_turns;
 *   - at the end: billed <= budget, except by what the last attempt reported beyond its own bound (then no
 *     attempt followed it);
 * and the billing itself is recomputed here independently (reported usage, or the bound when nothing was
 * reported and the attempt may have been billed; sums saturated) and must match the loop's to the token. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"

#define CHECK(cond)                                                                                      \
    do {                                                                                                 \
        if (!(cond)) {                                                                                   \
            fprintf(stderr, "run %ld (seed %llu): %s:%d: check failed: %s\n", run_no, (unsigned long long)seed0, \
                    __FILE__, __LINE__, #cond);                                                          \
            exit(1);                                                                                     \
        }                                                                                                \
    } while (0)

static long run_no;
static uint64_t seed0, rng_state;
static long overruns, turn_checks, token_checks, usd_checks;

static uint64_t next(void) /* xorshift64* */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}
static int64_t upto(int64_t n) { return n <= 0 ? 0 : (int64_t)(next() % ((uint64_t)n + 1)); } /* 0..n */
static int chance(int pct) { return (int)(next() % 100) < pct; }

static int64_t sat(int64_t a, int64_t b)
{
    if (a < 0) a = 0;
    if (b < 0) b = 0;
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* Cost in micro-dollars, rounded up, as budget.h defines it: INT64_MAX when the pico-dollar sum passes int64. */
__extension__ typedef unsigned __int128 u128;
static int64_t micros(u128 pico)
{
    if (pico > (u128)INT64_MAX) return INT64_MAX;
    return (int64_t)(pico / 1000000 + (pico % 1000000 != 0));
}
static int64_t usage_cost(const asdk_price *p, const asdk_usage *u)
{
    int64_t h1 = u->cache_creation_1h_input_tokens, m5 = u->cache_creation_input_tokens - h1;
    return micros((u128)u->input_tokens * (u128)p->input + (u128)m5 * (u128)p->cache_write_5m +
                  (u128)h1 * (u128)p->cache_write_1h + (u128)u->cache_read_input_tokens * (u128)p->cache_read +
                  (u128)u->output_tokens * (u128)p->output);
}
static int64_t bound_cost(const asdk_price *p, int64_t input, int64_t output, int caching)
{
    int64_t dear = caching && p->cache_write_5m > p->input ? p->cache_write_5m : p->input;
    return micros((u128)input * (u128)dear + (u128)output * (u128)p->output);
}

typedef struct {
    int results;
} sink;

static int emit(void *ud, const char *line, size_t len)
{
    if (len > 16 && memcmp(line, "{\"type\":\"result\"", 16) == 0) ((sink *)ud)->results++;
    return 1;
}
static int64_t clock_ms;
static int64_t now_ms(void *ud) { (void)ud; return clock_ms += 3; }
static double rnd(void *ud) { (void)ud; return (double)(next() % 1000) / 1000.0; }

static const asdk_price prices[] = {
    { 3000000, 3750000, 6000000, 300000, 15000000 },  /* Sonnet */
    { 1000000, 1250000, 2000000, 100000, 5000000 },   /* Haiku */
    { 15000000, 18750000, 30000000, 1500000, 75000000 }, /* Opus */
    { 150000, 0, 0, 75000, 600000 },                  /* gpt-4o-mini (no cache writes) */
};

/* An absurd count: past the bound, often near or beyond INT64_MAX once summed. */
static int64_t absurd(int64_t bound)
{
    switch (next() % 4) {
    case 0: return INT64_MAX;
    case 1: return INT64_MAX / 2 + upto(1000);
    case 2: return sat(bound, 1 + upto(1000));
    default: {
        int64_t k = 1 + upto(50), b = sat(bound, 1);
        return b > INT64_MAX / k ? INT64_MAX : b * k;
    }
    }
}

static void one_run(void)
{
    sink s = { 0 };
    asdk_price price = prices[next() % 4];
    asdk_loop_config c = { 0 };
    c.provider = chance(25) ? ASDK_PROVIDER_OPENAI : ASDK_PROVIDER_ANTHROPIC;
    c.model = "m";
    char prompt[3001];
    size_t plen = (size_t)(10 + upto(2990));
    memset(prompt, 'p', plen);
    prompt[plen] = '\0';
    c.prompt = prompt;
    c.tools_json = "[{\"name\":\"t\",\"input_schema\":{\"type\":\"object\"}}]";
    c.max_turns = chance(60) ? 1 + upto(11) : 0;
    c.max_tokens = chance(60) ? 2000 + upto(400000) : 0;
    c.max_budget_micros = chance(60) ? 1000 + upto(200000) : 0;
    c.max_output_tokens = 1 + upto(8191);
    c.max_retries = upto(4);
    c.prompt_caching = chance(50);
    c.stream = 1;
    c.price = chance(90) ? &price : NULL;
    if (!c.price) c.max_budget_micros = 0;
    int caching = c.prompt_caching && c.provider == ASDK_PROVIDER_ANTHROPIC;

    char err[256];
    asdk_loop_io io = { emit, now_ms, rnd, &s };
    asdk_loop *l = asdk_loop_new(&c, &io, err, sizeof err);
    CHECK(l);
    asdk_loop_state st = asdk_loop_start(l);
    int64_t tokens = 0, cost = 0;           /* billing as recomputed here */
    int64_t excess_tokens = 0, excess_usd = 0; /* of the last attempt, over its own bound */
    int64_t tool_calls = 0;
    for (int steps = 0; st != ASDK_LOOP_DONE; steps++) {
        CHECK(steps < 10000);
        if (st == ASDK_LOOP_SLEEP) {
            CHECK(asdk_loop_sleep_ms(l) >= 0);
            st = asdk_loop_resume(l);
            continue;
        }
        if (st == ASDK_LOOP_TOOLS) {
            for (size_t i = 0, n = asdk_loop_tool_count(l); i < n; i++) asdk_loop_tool_result(l, i, "ok", 2, 0);
            st = asdk_loop_resume(l);
            continue;
        }
        CHECK(st == ASDK_LOOP_SEND);
        /* ---- before the attempt: everything billed so far plus this attempt's bound fits ---- */
        int64_t ib = asdk_loop_request_input_bound(l), mt = asdk_loop_request_max_tokens(l);
        CHECK(mt >= 1 && mt <= c.max_output_tokens && ib >= 0);
        CHECK(asdk_loop_tokens(l) == tokens && (!c.price || asdk_loop_cost_micros(l) == cost));
        turn_checks++;
        if (c.max_turns && asdk_loop_turns(l) >= c.max_turns) overruns++;
        if (c.max_tokens) {
            token_checks++;
            if (sat(tokens, sat(ib, mt)) > c.max_tokens) overruns++;
        }
        if (c.max_budget_micros) {
            usd_checks++;
            if (sat(cost, bound_cost(&price, ib, mt, caching)) > c.max_budget_micros) overruns++;
        }

        /* ---- the attempt ---- */
        asdk_turn t;
        asdk_turn_init(&t);
        asdk_loop_response_info in = { 0 };
        in.retry_after_ms = chance(20) ? upto(3000) : -1;
        in.should_retry = -1;
        int billed_maybe = 1; /* the provider may have billed it */
        unsigned kind = (unsigned)(next() % 12);
        if (kind == 0) {
            in.net = ASDK_NET_CONNECT, in.net_message = "refused", billed_maybe = 0;
        } else if (kind == 1) {
            static const int statuses[] = { 400, 429, 500, 529 };
            in.http_status = statuses[next() % 4];
            billed_maybe = 0;
        } else {
            if (kind == 2) in.net = chance(50) ? ASDK_NET_BROKEN : ASDK_NET_TIMEOUT, in.net_message = "broken";
            in.http_status = kind == 2 && chance(30) ? 0 : 200;
            unsigned usage = (unsigned)(next() % 10); /* 0-5 honest, 6-7 none, 8-9 absurd */
            if (usage < 8 || chance(50)) {
                unsigned ntools = (unsigned)upto(3);
                for (unsigned i = 0; i < ntools; i++) {
                    asdk_block *b = asdk_turn_add_block(&t, ASDK_BLOCK_TOOL_USE);
                    CHECK(b);
                    asdk_buf_append(&b->text, "{}", 2);
                    asdk_buf_append(&b->id, "toolu_1", 7);
                    asdk_buf_append(&b->name, "t", 1);
                }
                asdk_block *b = asdk_turn_add_block(&t, ASDK_BLOCK_TEXT);
                CHECK(b);
                asdk_buf_append(&b->text, "x", 1);
                static const char *const stops[] = { "end_turn", "max_tokens", "pause_turn" };
                snprintf(t.stop_reason, sizeof t.stop_reason, "%s", ntools ? "tool_use" : stops[next() % 3]);
                tool_calls += ntools;
            }
            if (usage < 6) {
                int64_t input = upto(ib);
                t.usage.cache_read_input_tokens = chance(50) ? upto(input) : 0;
                t.usage.cache_creation_input_tokens = caching ? upto(input - t.usage.cache_read_input_tokens) : 0;
                t.usage.cache_creation_1h_input_tokens = chance(30) ? upto(t.usage.cache_creation_input_tokens) : 0;
                t.usage.input_tokens = input - t.usage.cache_read_input_tokens - t.usage.cache_creation_input_tokens;
                t.usage.output_tokens = upto(mt);
                t.has_usage = 1;
            } else if (usage >= 8) {
                t.usage.input_tokens = chance(50) ? absurd(ib) : upto(ib);
                t.usage.output_tokens = chance(50) ? absurd(mt) : upto(mt);
                t.usage.cache_read_input_tokens = chance(30) ? absurd(ib) : 0;
                t.has_usage = 1;
            }
            t.complete = kind != 2 && !chance(8);
            t.began = t.nblocks > 0;
            if (kind != 2 && chance(8)) asdk_buf_append(&t.error_type, "overloaded_error", 16);
            /* a failed attempt with no 2xx response has no turn, as the driver passes it */
            if (in.http_status == 200) in.turn = &t;
        }
        int64_t reported_in = 0, reported_out = 0;
        if (in.turn && t.has_usage) {
            const asdk_usage *u = &t.usage;
            reported_in = sat(sat(u->input_tokens, u->cache_creation_input_tokens), u->cache_read_input_tokens);
            reported_out = u->output_tokens;
            int64_t c_here = c.price ? usage_cost(&price, u) : 0;
            tokens = sat(tokens, sat(reported_in, reported_out));
            cost = sat(cost, c_here);
            int64_t bound_tokens = sat(ib, mt);
            int64_t bc = c.price ? bound_cost(&price, ib, mt, caching) : 0;
            excess_tokens = sat(reported_in, reported_out) > bound_tokens ? sat(reported_in, reported_out) - bound_tokens : 0;
            excess_usd = c_here > bc ? c_here - bc : 0;
        } else if (billed_maybe) {
            tokens = sat(tokens, sat(ib, mt));
            if (c.price) cost = sat(cost, bound_cost(&price, ib, mt, caching));
            excess_tokens = excess_usd = 0;
        } else {
            excess_tokens = excess_usd = 0;
        }
        st = asdk_loop_response(l, &in);
        asdk_turn_free(&t);
        CHECK(asdk_loop_tokens(l) == tokens);
        CHECK(!c.price || asdk_loop_cost_micros(l) == cost);
    }
    /* ---- at the end ---- */
    CHECK(s.results == 1);
    turn_checks++;
    if (c.max_turns && asdk_loop_turns(l) > c.max_turns) overruns++;
    if (c.max_tokens) {
        token_checks++;
        if (tokens > sat(c.max_tokens, excess_tokens)) overruns++;
    }
    if (c.max_budget_micros) {
        usd_checks++;
        if (cost > sat(c.max_budget_micros, excess_usd)) overruns++;
    }
    (void)tool_calls;
    asdk_loop_free(l);
}

int main(int argc, char **argv)
{
    long runs = argc > 1 ? atol(argv[1]) : 10000;
    seed0 = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    rng_state = seed0 ? seed0 : 0x9E3779B97F4A7C15ULL;
    for (run_no = 0; run_no < runs; run_no++) one_run();
    printf("budget property: %ld runs, %ld overruns (turns %ld, tokens %ld, usd %ld checks)\n", runs, overruns,
           turn_checks, token_checks, usd_checks);
    return overruns ? 1 : 0;
}
