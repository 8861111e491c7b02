/* stream_asm.c — SSE framer + provider assembler (plain C99, no Ruby). See stream_asm.h. */
#include "stream_asm.h"

#include <stdio.h>

static asdk_asm_error *err_of(asdk_stream *s)
{
    return s->provider == ASDK_PROVIDER_OPENAI ? &s->u.openai.err : &s->u.anthropic.err;
}

const asdk_asm_error *asdk_stream_error(const asdk_stream *s)
{
    return s->provider == ASDK_PROVIDER_OPENAI ? &s->u.openai.err : &s->u.anthropic.err;
}

void asdk_stream_init(asdk_stream *s, asdk_provider provider, asdk_turn *turn, size_t max_event, size_t max_turn)
{
    s->provider = provider == ASDK_PROVIDER_OPENAI ? ASDK_PROVIDER_OPENAI : ASDK_PROVIDER_ANTHROPIC;
    asdk_sse_init(&s->sse, max_event ? max_event : ASDK_SSE_DEFAULT_MAX_EVENT);
    if (s->provider == ASDK_PROVIDER_OPENAI) asdk_openai_init(&s->u.openai, turn, max_turn);
    else asdk_anthropic_init(&s->u.anthropic, turn, max_turn);
}

void asdk_stream_free(asdk_stream *s)
{
    asdk_sse_free(&s->sse);
    if (s->provider == ASDK_PROVIDER_OPENAI) asdk_openai_free(&s->u.openai);
    else asdk_anthropic_free(&s->u.anthropic);
}

void asdk_stream_reset(asdk_stream *s)
{
    asdk_sse_reset(&s->sse);
    if (s->provider == ASDK_PROVIDER_OPENAI) asdk_openai_reset(&s->u.openai);
    else asdk_anthropic_reset(&s->u.anthropic);
}

void asdk_stream_on_text(asdk_stream *s, asdk_text_cb cb, void *ud)
{
    if (s->provider == ASDK_PROVIDER_OPENAI) {
        s->u.openai.on_text = cb;
        s->u.openai.ud = ud;
    } else {
        s->u.anthropic.on_text = cb;
        s->u.anthropic.ud = ud;
    }
}

static int on_event(void *ud, const char *type, size_t tlen, const char *data, size_t dlen, const char *id,
                    size_t idlen)
{
    (void)id;
    (void)idlen;
    asdk_stream *s = ud;
    asdk_asm_status st = s->provider == ASDK_PROVIDER_OPENAI ? asdk_openai_event(&s->u.openai, type, tlen, data, dlen)
                                                             : asdk_anthropic_event(&s->u.anthropic, type, tlen, data, dlen);
    return st == ASDK_ASM_OK;
}

static asdk_asm_status framed(asdk_stream *s, asdk_sse_status st)
{
    asdk_asm_error *e = err_of(s);
    switch (st) {
    case ASDK_SSE_OK: return ASDK_ASM_OK;
    case ASDK_SSE_ABORTED: return e->status; /* ABORTED, or the assembler's sticky error */
    case ASDK_SSE_TOO_BIG: {
        char message[160];
        snprintf(message, sizeof message, "an SSE event is larger than max_event_bytes (%zu)", s->sse.max_event);
        return asdk_asm_fail(e, ASDK_ASM_TOO_BIG, NULL, 0, message);
    }
    default: return asdk_asm_fail(e, ASDK_ASM_NOMEM, NULL, 0, "out of memory");
    }
}

static asdk_asm_status sticky(asdk_stream *s)
{
    asdk_asm_status st = err_of(s)->status;
    return st == ASDK_ASM_ABORTED ? ASDK_ASM_OK : st;
}

asdk_asm_status asdk_stream_feed(asdk_stream *s, const char *p, size_t n)
{
    asdk_asm_status st = sticky(s);
    if (st) return st;
    return framed(s, asdk_sse_feed(&s->sse, p, n, on_event, s));
}

asdk_asm_status asdk_stream_finish(asdk_stream *s)
{
    asdk_asm_status st = sticky(s);
    if (st) return st;
    st = framed(s, asdk_sse_finish(&s->sse, on_event, s));
    if (st) return st;
    return s->provider == ASDK_PROVIDER_OPENAI ? asdk_openai_finish(&s->u.openai) : asdk_anthropic_finish(&s->u.anthropic);
}

asdk_asm_status asdk_stream_parse_body(asdk_stream *s, const char *json, size_t n)
{
    asdk_asm_status st = sticky(s);
    if (st) return st;
    return s->provider == ASDK_PROVIDER_OPENAI ? asdk_openai_parse_body(&s->u.openai, json, n)
                                               : asdk_anthropic_parse_body(&s->u.anthropic, json, n);
}

int64_t asdk_stream_retry_ms(const asdk_stream *s)
{
    return asdk_sse_retry(&s->sse);
}
