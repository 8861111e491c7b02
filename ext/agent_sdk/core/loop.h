/* loop.h — the agent loop as a sans-I/O state machine (plain C99, no Ruby).
 *
 * model call → tool dispatch → results → next turn, until the model ends its turn or a limit is reached. The loop
 * does no I/O of its own: it says what it wants next (send a request, sleep before a retry, run tools, nothing)
 * and the driver does it and reports back. So one loop runs under RSpec through the Ruby driver, under a C test,
 * and under libFuzzer with a scripted transport, and one driver can run many loops on one curl multi handle.
 *
 *   asdk_loop_start        → SEND | DONE
 *   SEND:   send asdk_loop_body() to the provider; assemble the response into an asdk_turn;
 *           asdk_loop_response() → SEND (retry now) | SLEEP | TOOLS | DONE
 *   SLEEP:  wait asdk_loop_sleep_ms(), then asdk_loop_resume() → SEND
 *   TOOLS:  for i < asdk_loop_tool_count(): asdk_loop_tool_result(i, …); then asdk_loop_resume() → SEND | DONE
 *   any:    asdk_loop_cancel() → DONE
 *
 * Every message is handed to io.emit as one stream-json line — the same shapes the Claude Code CLI prints (system
 * init, assistant, user tool results, result, stream_event) — before the state that follows it is returned, so a
 * driver that delivers emitted lines before acting on the state never starts a model call before the caller has
 * seen (and could persist) everything before it.
 *
 * A result "error_during_execution" that ends the run on a failed attempt (an HTTP error status, an error event, a
 * connection failure or timeout, an unreadable response, after the retries it was allowed) carries
 * "api_error":{"status":529 | null (no response),"type":"overloaded_error" | null,"retriable":true | false}, where
 * retriable says whether the loop would have retried it had attempts remained. */
#ifndef ASDK_LOOP_H
#define ASDK_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "asdk_buf.h"
#include "budget.h"
#include "turn.h"

typedef enum { ASDK_LOOP_SEND = 1, ASDK_LOOP_SLEEP, ASDK_LOOP_TOOLS, ASDK_LOOP_DONE } asdk_loop_state;

typedef struct {
    /* One stream-json line (no newline). Return 0 to abort the run (the loop ends with an error result that is
     * not emitted). */
    int (*emit)(void *ud, const char *line, size_t len);
    int64_t (*now_ms)(void *ud);   /* a monotonic clock */
    double (*random)(void *ud);    /* uniform in [0, 1), for retry jitter */
    void *ud;
} asdk_loop_io;

typedef struct {
    asdk_provider provider;
    const char *model;              /* required */
    const char *system_prompt;      /* NULL: none */
    const char *prompt;             /* the user's prompt for this run; required */
    /* Tool definitions as a JSON array, already in the provider's shape (Anthropic: [{name, description,
     * input_schema}], OpenAI: [{type:"function", function:{…}}]); NULL: no tools. Copied. */
    const char *tools_json;
    const char *tool_names_json;    /* JSON array of the names, for the init message; NULL: [] */
    const char *session_id;         /* NULL: a new UUID v4 */
    const char *cwd;                /* for the init message; NULL: omitted */
    /* Earlier turns of a resumed session: a JSON array of messages in Anthropic shape ({role, content}); NULL: none. */
    const char *transcript_json;
    /* Limits are int64 all through (the Ruby binding refuses values outside 0..2**63-1 rather than cut them). */
    int64_t max_turns;              /* model calls; 0: unlimited */
    int64_t max_budget_micros;      /* 0: unlimited; needs price */
    int64_t max_tokens;             /* input + output tokens billed over the run; 0: unlimited */
    int64_t max_output_tokens;      /* per request, before clipping (Anthropic requires one); > 0 */
    int64_t max_retries;            /* per model call, after the first attempt */
    /* The whole run, from asdk_loop_start; 0: none. Past it the run ends "error_timeout": checked before every model
     * call; a driver ends a request or a back-off in progress at asdk_loop_deadline_ms with asdk_loop_expire. */
    int64_t timeout_ms;
    int prompt_caching;             /* Anthropic: cache_control on the system prompt, the last tool, the last message */
    int include_partial;            /* emit stream_event lines for text deltas (asdk_loop_text_delta) */
    int stream;                     /* ask for a streamed response (SSE) */
    const asdk_price *price;        /* NULL: unknown (then max_budget_micros must be 0); copied */
} asdk_loop_config;

/* What became of one attempt. */
typedef enum {
    ASDK_NET_OK = 0,   /* a complete HTTP response (any status) */
    ASDK_NET_CONNECT,  /* could not connect */
    ASDK_NET_TIMEOUT,
    ASDK_NET_BROKEN,   /* the connection failed mid-response */
    ASDK_NET_PROTOCOL, /* the body could not be understood (bad SSE / JSON) */
    ASDK_NET_OTHER
} asdk_net_status;

typedef struct {
    asdk_net_status net;
    const char *net_message;        /* for the result's errors; never contains secrets */
    int http_status;                /* 0 when there was no response */
    int64_t retry_after_ms;         /* from retry-after-ms / retry-after; -1: none */
    int should_retry;               /* x-should-retry: 1 true, 0 false, -1 absent */
    const char *error_body;         /* a non-2xx body (JSON error or text); NULL: none */
    size_t error_body_len;
    /* The assembled response of a 2xx status, also when the attempt then failed (the connection broke, the
     * body could not be read: pass net != OK and complete = 0): the loop bills its usage when has_usage, and
     * reads `began`. NULL when there was no 2xx response. The loop takes its contents (the turn is left empty
     * and may be reused). */
    asdk_turn *turn;
} asdk_loop_response_info;

/* What became of the last attempt (asdk_loop_last_attempt), for a driver that reports attempts and for the result
 * line's "api_error". Filled by every asdk_loop_response; no allocation. */
#define ASDK_ATTEMPT_ERROR_MAX 200 /* bytes of the failure's text kept (cut, NUL-terminated) */
#define ASDK_ATTEMPT_TYPE_MAX 64   /* bytes of the API's error type kept */

typedef struct {
    int64_t attempt;          /* 1-based within its model call */
    int http_status;          /* 0: there was no response */
    int has_usage;            /* the attempt reported usage: `usage` and `cost_micros` hold it */
    asdk_usage usage;         /* as reported (negative counts as 0) */
    int64_t cost_micros;      /* what `usage` cost; -1: no usage reported, or no price */
    int ok;                   /* the attempt gave a complete turn */
    int retriable;            /* failed, and the loop would retry it had attempts (and budget) remained */
    int retrying;             /* failed, and a retry is scheduled: after wait_ms */
    int64_t wait_ms;
    char error[ASDK_ATTEMPT_ERROR_MAX];     /* why it failed ("HTTP 529: Overloaded"); "" when ok */
    char error_type[ASDK_ATTEMPT_TYPE_MAX]; /* the API's error type (overloaded_error…); "" when none */
} asdk_loop_attempt;

/* Budgets (max_tokens, max_budget_usd) are hard:
 *  - every attempt, a retry too, is sent only if what was billed so far plus the attempt's pre-call bound fits
 *    every budget: its input tokens are bounded (asdk_loop_request_input_bound) and its max_tokens is clipped so
 *    that bound + max_tokens output (at the dearest input rate it can incur, for USD) fits; when too little is
 *    left the run ends with error_max_tokens / error_max_budget_usd instead of sending;
 *  - every attempt is billed what it reported (turn->has_usage), a failed or broken one too; one that reported
 *    nothing is charged its pre-call bound, unless it provably cost nothing (no connection, or an HTTP error
 *    status);
 *  - all sums saturate at INT64_MAX.
 * So as long as a provider bills no more than the request allowed (output <= max_tokens, input <= the bound),
 * billed totals never pass a budget; an attempt that reports more is billed it, and is the last. */

typedef struct asdk_loop asdk_loop;

/* NULL with err filled (up to errlen bytes) when the config is invalid or memory runs out. */
asdk_loop *asdk_loop_new(const asdk_loop_config *config, const asdk_loop_io *io, char *err, size_t errlen);
void asdk_loop_free(asdk_loop *loop);

asdk_loop_state asdk_loop_start(asdk_loop *loop);
asdk_loop_state asdk_loop_state_now(const asdk_loop *loop);

/* SEND: the request body (JSON) and the max_tokens it asks for (clipped to the budgets). Valid until the next call. */
const asdk_buf *asdk_loop_body(const asdk_loop *loop);
int64_t asdk_loop_request_max_tokens(const asdk_loop *loop);
/* SEND: the bound on the input tokens of the request (see the budgets above). */
int64_t asdk_loop_request_input_bound(const asdk_loop *loop);
asdk_loop_state asdk_loop_response(asdk_loop *loop, const asdk_loop_response_info *info);

/* While a streamed response arrives: emits a stream_event line for a text delta when include_partial is on.
 * Call it only for the first attempt that delivers content: a retried turn is not re-streamed (the driver knows
 * through asdk_turn.began on the failed attempt; the loop ignores deltas after a failed attempt that had begun). */
int asdk_loop_text_delta(asdk_loop *loop, size_t block_index, const char *text, size_t len);

/* The last attempt asdk_loop_response was told about (attempt 0: none yet). */
const asdk_loop_attempt *asdk_loop_last_attempt(const asdk_loop *loop);

/* SLEEP */
int64_t asdk_loop_sleep_ms(const asdk_loop *loop);

/* TOOLS: the calls of this turn, in order. */
size_t asdk_loop_tool_count(const asdk_loop *loop);
const asdk_block *asdk_loop_tool_call(const asdk_loop *loop, size_t i);
/* content is UTF-8 text (the driver serialises and caps it). Returns 0, or -1 (bad index / no memory). */
int asdk_loop_tool_result(asdk_loop *loop, size_t i, const char *content, size_t len, int is_error);

asdk_loop_state asdk_loop_resume(asdk_loop *loop);

/* Ends the run now with an "error_cancelled" result (emitted). Safe in any state but DONE. */
asdk_loop_state asdk_loop_cancel(asdk_loop *loop, const char *reason);
/* When the run's timeout_ms passes (now_ms clock), or -1: none (or not started). */
int64_t asdk_loop_deadline_ms(const asdk_loop *loop);
/* Ends the run now with an "error_timeout" result (emitted): its timeout_ms passed. Safe in any state but DONE. */
asdk_loop_state asdk_loop_expire(asdk_loop *loop);

/* Accounting, for drivers and tests. */
int64_t asdk_loop_turns(const asdk_loop *loop);
int64_t asdk_loop_cost_micros(const asdk_loop *loop);
int64_t asdk_loop_tokens(const asdk_loop *loop);
const char *asdk_loop_session_id(const asdk_loop *loop);

#endif
