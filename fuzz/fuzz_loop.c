/* fuzz_loop.c — the agent loop (core/loop.c) driven by a scripted transport made of the fuzzer's bytes.
 *
 * The bytes choose the limits, then, step by step, what the "server" answers (statuses, network failures,
 * retry hints, turns with text / tool calls / thinking, usage — reported, missing, or absurd (past the attempt's
 * bound, up to INT64_MAX), also on failed attempts —, stop reasons, early ends), what the tools return, and
 * cancellations. Checked: the state machine only moves along its edges, never makes more model calls than
 * max_turns allows, every emitted line is one well-formed JSON object with a type, the run ends with exactly one
 * result line, request bodies are well-formed JSON, no budget is overrun (before every attempt, billed so far +
 * the attempt's pre-call bound fits; at the end billed <= budget but for what the last attempt reported past its
 * own bound), and (under ASan) nothing leaks. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "fuzz_check.h"
#include "loop.h"

typedef struct {
    int lines, results;
    int64_t clock;
} sink;

static void check_json(const char *s, size_t n, int need_type)
{
    char *copy = malloc(n + 1);
    CHECK(copy);
    memcpy(copy, s, n);
    copy[n] = '\0';
    char err[128];
    yajl_val v = yajl_tree_parse(copy, err, sizeof err);
    if (!v || !YAJL_IS_OBJECT(v)) fprintf(stderr, "not a JSON object: %s\n%s\n", err, copy);
    CHECK(v && YAJL_IS_OBJECT(v));
    if (need_type) {
        const char *path[] = { "type", NULL };
        CHECK(yajl_tree_get(v, path, yajl_t_string));
    }
    yajl_tree_free(v);
    free(copy);
}

static int emit(void *ud, const char *line, size_t len)
{
    sink *s = ud;
    s->lines++;
    if (len > 16 && memcmp(line, "{\"type\":\"result\"", 16) == 0) s->results++;
    check_json(line, len, 1);
    return 1;
}

static int64_t sat(int64_t a, int64_t b) { return asdk_sat_add(a, b); }

static int64_t now_ms(void *ud) { return ((sink *)ud)->clock += 7; }
static double rnd(void *ud) { (void)ud; return 0.5; }

static const char *const texts[] = { "", "hello", "a \"quoted\" \\ line\nwith\tcontrol \x01 bytes", "\xc3\xa9t\xc3\xa9" };
static const char *const inputs[] = { "{}", "{\"q\":1}", "{\"a\":[1,2.5e3,null,true],\"b\":{\"c\":\"d\"}}" };
static const char *const stops[] = { "end_turn", "tool_use", "max_tokens", "pause_turn", "stop_sequence", "refusal", "" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bytes b = { data, size };
    sink s = { 0, 0, 1000 };
    asdk_price price = { 3000000, 3750000, 6000000, 300000, 15000000 };
    asdk_loop_config c = { 0 };
    c.provider = take(&b, 2) ? ASDK_PROVIDER_OPENAI : ASDK_PROVIDER_ANTHROPIC;
    c.model = "claude-sonnet-4-5";
    c.prompt = texts[take(&b, 4)];
    c.system_prompt = take(&b, 2) ? "system \"prompt\"" : NULL;
    c.tools_json = take(&b, 2) ? "[{\"name\":\"t\",\"input_schema\":{\"type\":\"object\"}}]" : NULL;
    c.transcript_json = take(&b, 4) == 0 ? "[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":"
                                           "[{\"type\":\"tool_use\",\"id\":\"x\",\"name\":\"t\",\"input\":{\"k\":[1]}}]}]"
                                         : NULL;
    c.max_turns = take(&b, 6);
    c.max_budget_micros = take(&b, 2) ? (int64_t)take(&b, 255) * 1000 : 0;
    c.max_tokens = take(&b, 2) ? (int64_t)take(&b, 255) * 500 : 0;
    c.max_output_tokens = 1 + (int64_t)take(&b, 255) * 40;
    c.max_retries = take(&b, 4);
    c.prompt_caching = (int)take(&b, 2);
    c.include_partial = (int)take(&b, 2);
    c.stream = 1;
    c.price = take(&b, 8) ? &price : NULL;
    if (!c.price) c.max_budget_micros = 0;

    char err[256];
    asdk_loop_io io = { emit, now_ms, rnd, &s };
    asdk_loop *l = asdk_loop_new(&c, &io, err, sizeof err);
    if (!l) return 0;
    asdk_loop_state st = asdk_loop_start(l);
    int calls = 0;
    int caching = c.prompt_caching && c.provider == ASDK_PROVIDER_ANTHROPIC;
    int64_t excess_tokens = 0, excess_usd = 0; /* what the last attempt reported past its own bound */
    for (int steps = 0; st != ASDK_LOOP_DONE && steps < 200; steps++) {
        if (take(&b, 32) == 0) {
            st = asdk_loop_cancel(l, take(&b, 2) ? "stop" : NULL);
            break;
        }
        switch (st) {
        case ASDK_LOOP_SEND: {
            const asdk_buf *body = asdk_loop_body(l);
            check_json(body->ptr, body->len, 0);
            int64_t mt = asdk_loop_request_max_tokens(l), ib = asdk_loop_request_input_bound(l);
            CHECK(mt >= 1 && mt <= c.max_output_tokens);
            int64_t bound_usd = c.price ? asdk_bound_cost_micros(c.price, ib, mt, caching) : 0;
            CHECK(!c.max_tokens || sat(asdk_loop_tokens(l), sat(ib, mt)) <= c.max_tokens);
            CHECK(!c.max_budget_micros || sat(asdk_loop_cost_micros(l), bound_usd) <= c.max_budget_micros);
            int64_t tokens_before = asdk_loop_tokens(l), cost_before = asdk_loop_cost_micros(l);
            calls++;
            asdk_turn t;
            asdk_turn_init(&t);
            asdk_loop_response_info in = { 0 };
            in.retry_after_ms = (int64_t)take(&b, 4) * 30000 - 1;
            in.should_retry = (int)take(&b, 3) - 1;
            unsigned kind = take(&b, 8);
            if (kind == 0) {
                in.net = (asdk_net_status)(1 + take(&b, 5));
                in.net_message = "network";
                if (in.net != ASDK_NET_CONNECT && take(&b, 2)) { /* a broken 2xx attempt that reported usage */
                    in.http_status = 200;
                    t.usage.input_tokens = take(&b, 255) * 10;
                    t.usage.output_tokens = take(&b, 2) ? (int64_t)INT64_MAX : take(&b, 255);
                    t.has_usage = 1;
                    t.began = (int)take(&b, 2);
                    in.turn = &t;
                }
            } else if (kind == 1) {
                static const int statuses[] = { 400, 401, 408, 409, 429, 500, 503, 529 };
                in.http_status = statuses[take(&b, 8)];
                in.error_body = take(&b, 2) ? "{\"type\":\"error\",\"error\":{\"type\":\"x\",\"message\":\"m\"}}" : "not json";
                in.error_body_len = strlen(in.error_body);
            } else {
                in.http_status = 200;
                for (unsigned i = 0, n = take(&b, 4); i < n; i++) {
                    asdk_block *blk = asdk_turn_add_block(&t, (asdk_block_type)(1 + take(&b, 4)));
                    CHECK(blk);
                    const char *text = blk->type == ASDK_BLOCK_TOOL_USE ? inputs[take(&b, 3)] : texts[take(&b, 4)];
                    asdk_buf_append(&blk->text, text, strlen(text));
                    asdk_buf_append(&blk->id, "toolu_1", 7);
                    asdk_buf_append(&blk->name, "t", 1);
                    if (c.include_partial && blk->type == ASDK_BLOCK_TEXT) asdk_loop_text_delta(l, i, text, strlen(text));
                }
                snprintf(t.stop_reason, sizeof t.stop_reason, "%s", stops[take(&b, 7)]);
                t.usage.input_tokens = take(&b, 255) * 10;
                t.usage.output_tokens = take(&b, 255);
                t.usage.cache_read_input_tokens = take(&b, 4) * 100;
                t.usage.cache_creation_input_tokens = take(&b, 4) * 100;
                t.usage.cache_creation_1h_input_tokens = take(&b, 2) * t.usage.cache_creation_input_tokens;
                switch (take(&b, 6)) {
                case 0: memset(&t.usage, 0, sizeof t.usage); break; /* no usage reported */
                case 1: t.usage.input_tokens = INT64_MAX, t.usage.cache_read_input_tokens = INT64_MAX / 2; /* fall through */
                case 2: t.usage.output_tokens = sat(mt, 1 + take(&b, 255)); t.has_usage = 1; break; /* absurd */
                default: t.has_usage = 1;
                }
                t.complete = take(&b, 6) != 0;
                t.began = (int)take(&b, 2);
                if (take(&b, 8) == 0) asdk_buf_append(&t.error_type, "overloaded_error", 16);
                in.turn = &t;
            }
            st = asdk_loop_response(l, &in);
            asdk_turn_free(&t);
            int64_t billed = asdk_loop_tokens(l) - tokens_before, billed_usd = asdk_loop_cost_micros(l) - cost_before;
            CHECK(billed >= 0 && billed_usd >= 0);
            excess_tokens = billed > sat(ib, mt) ? billed - sat(ib, mt) : 0;
            excess_usd = billed_usd > bound_usd ? billed_usd - bound_usd : 0;
            break;
        }
        case ASDK_LOOP_SLEEP:
            CHECK(asdk_loop_sleep_ms(l) >= 0);
            st = asdk_loop_resume(l);
            break;
        case ASDK_LOOP_TOOLS:
            for (size_t i = 0, n = asdk_loop_tool_count(l); i < n; i++) {
                CHECK(asdk_loop_tool_call(l, i));
                if (take(&b, 5)) {
                    const char *r = texts[take(&b, 4)];
                    asdk_loop_tool_result(l, i, r, strlen(r), (int)take(&b, 2));
                }
            }
            st = asdk_loop_resume(l);
            break;
        default: CHECK(!"unknown loop state");
        }
    }
    if (st != ASDK_LOOP_DONE) st = asdk_loop_cancel(l, "fuzz step limit");
    CHECK(st == ASDK_LOOP_DONE && s.results == 1);
    CHECK(!c.max_turns || asdk_loop_turns(l) <= c.max_turns);
    CHECK(asdk_loop_turns(l) <= calls);
    CHECK(!c.max_tokens || asdk_loop_tokens(l) <= sat(c.max_tokens, excess_tokens));
    CHECK(!c.max_budget_micros || asdk_loop_cost_micros(l) <= sat(c.max_budget_micros, excess_usd));
    asdk_loop_free(l);
    return 0;
}
