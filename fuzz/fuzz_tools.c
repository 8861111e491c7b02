/* fuzz_tools.c — libFuzzer target for the tool layer: core/json_tree.c, core/schema.c, core/tools.c (no Ruby).
 *
 * Byte 0 picks what the rest of the input is (byte 0 % 4):
 *   0  a JSON value: parsed, canonicalised, validated against a fixed set of schemas (compiled once), checked
 *      through a registry of them, fingerprinted and deduplicated. Checks: canonical text parses back to an
 *      equal tree and is a fixed point; it is valid UTF-8; validating the text and its canonical form gives the
 *      same verdict and the same message (bounded, valid UTF-8); fingerprints agree; admit says DUPLICATE the
 *      second time exactly when the first was OK; a failed parse fails the same way everywhere.
 *   1  a schema text: compiled (an error must come with a reason); when it compiles, fixed sample values and
 *      the text itself are validated against it, with the same checks on messages.
 *   2  a result to cap: byte 1 picks the cap; the output is a prefix of the text within the cap plus the
 *      note, and valid UTF-8 whenever the text is.
 *   3  operations on a small seen set, checked against a plain array.
 * Leaks are caught by LeakSanitizer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_tree.h"
#include "schema.h"
#include "tools.h"
#include "utf8.h"

#include "fuzz_check.h"

static const char *const schemas[] = {
    "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"order_number\"],\"properties\":{"
    "\"order_number\":{\"type\":\"string\",\"minLength\":3,\"maxLength\":20,\"pattern\":\"^ORD\"},"
    "\"include_items\":{\"type\":\"boolean\"},\"qty\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100},"
    "\"status\":{\"enum\":[\"open\",\"shipped\",null,1.5]},"
    "\"items\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":3,\"items\":{\"type\":\"object\",\"required\":[\"sku\"],"
    "\"properties\":{\"sku\":{\"type\":[\"string\",\"integer\"]},\"n\":{\"exclusiveMinimum\":0,\"exclusiveMaximum\":1e3}},"
    "\"additionalProperties\":{\"type\":\"number\"}}}}}",
    "{\"type\":[\"array\",\"object\",\"null\"],\"items\":{\"items\":{\"items\":{\"const\":{\"a\":[1,{}]}}}},"
    "\"additionalProperties\":{\"additionalProperties\":{\"minimum\":0,\"exclusiveMinimum\":true}}}",
    "{\"properties\":{\"a\":false,\"b\":true,\"\\u0000\\n\\\"\":{\"maxLength\":0}},\"patternProperties\":{\"x\":{}},"
    "\"additionalProperties\":false,\"minItems\":2}",
    "true",
    "{\"enum\":[]}",
};
#define NSCHEMAS (sizeof schemas / sizeof schemas[0])

static asdk_schema *compiled[NSCHEMAS];
static asdk_tools *registry;

static void setup(void)
{
    if (registry) return;
    char err[300];
    registry = asdk_tools_new();
    CHECK(registry);
    for (size_t i = 0; i < NSCHEMAS; i++) {
        compiled[i] = asdk_schema_compile(schemas[i], strlen(schemas[i]), err, sizeof err);
        CHECK(compiled[i]);
        char name[16];
        snprintf(name, sizeof name, "tool_%zu", i);
        CHECK(asdk_tools_add(registry, name, strlen(name), schemas[i], strlen(schemas[i]), err, sizeof err) == 0);
    }
    /* A name given twice and a schema that does not compile are refused with a reason. */
    CHECK(asdk_tools_add(registry, "tool_0", 6, "{}", 2, err, sizeof err) == -1 && err[0]);
    CHECK(asdk_tools_add(registry, "x", 1, "{\"type\":1}", 10, err, sizeof err) == -1 && err[0]);
    CHECK(asdk_tools_count(registry) == NSCHEMAS);
}

/* A message for the model: valid UTF-8, bounded, no NUL, no raw newline. */
static void check_message(const asdk_buf *m)
{
    CHECK(asdk_utf8_valid(m->ptr ? m->ptr : "", m->len));
    CHECK(m->len < 64 * 1024);
    for (size_t i = 0; i < m->len; i++) CHECK(m->ptr[i] != '\0' && m->ptr[i] != '\n');
}

static long validate(const asdk_schema *s, const char *text, size_t len, asdk_buf *out)
{
    out->len = 0;
    long n = asdk_schema_validate(s, text, len, out);
    CHECK(n >= 0);
    CHECK((n == 0) == (out->len == 0));
    check_message(out);
    return n;
}

static void json_value(const char *p, size_t n)
{
    asdk_jtree t, t2;
    asdk_buf canon = { NULL, 0, 0 }, again = { NULL, 0, 0 }, m1 = { NULL, 0, 0 }, m2 = { NULL, 0, 0 };
    char err[160], err2[160];
    asdk_jtree_init(&t);
    asdk_jtree_init(&t2);
    asdk_jt_status st = asdk_jtree_parse(&t, p, n, err, sizeof err);
    asdk_jt_status cst = asdk_json_canonical(p, n, &canon, err2, sizeof err2);
    CHECK(st == cst);
    unsigned char fp1[ASDK_FINGERPRINT_LEN], fp2[ASDK_FINGERPRINT_LEN];

    if (st != ASDK_JT_OK) {
        CHECK(st != ASDK_JT_NOMEM && err[0] && !strcmp(err, err2));
        CHECK(asdk_tool_fingerprint("t", 1, p, n, fp1, err2, sizeof err2) == st);
        for (size_t i = 0; i < NSCHEMAS; i++) CHECK(validate(compiled[i], p, n, &m1) == 1);
        CHECK(asdk_tools_check(registry, "tool_0", 6, p, n, &m1) == ASDK_TOOL_INVALID);
        goto done;
    }
    CHECK(t.nodes <= ASDK_JT_MAX_NODES);
    CHECK(asdk_utf8_valid(canon.ptr ? canon.ptr : "", canon.len));
    /* The canonical text parses back to an equal tree and is its own canonical form. */
    CHECK(asdk_jtree_parse(&t2, canon.ptr, canon.len, err, sizeof err) == ASDK_JT_OK);
    CHECK(asdk_jt_equal(&t.root, &t2.root) && asdk_jt_equal(&t2.root, &t.root));
    CHECK(asdk_jt_write(&t2.root, &again) == 0);
    CHECK(again.len == canon.len && !memcmp(again.ptr, canon.ptr, canon.len));
    /* No whitespace, minimal escapes: never longer, except that an unpaired low surrogate escape (6 bytes)
     * becomes three U+FFFD (9 bytes). */
    CHECK(canon.len <= n + n / 2);

    CHECK(asdk_tool_fingerprint("t", 1, p, n, fp1, err, sizeof err) == ASDK_JT_OK);
    CHECK(asdk_tool_fingerprint("t", 1, canon.ptr, canon.len, fp2, err, sizeof err) == ASDK_JT_OK);
    CHECK(!memcmp(fp1, fp2, sizeof fp1));
    CHECK(asdk_tool_fingerprint("u", 1, p, n, fp2, err, sizeof err) == ASDK_JT_OK && memcmp(fp1, fp2, sizeof fp1));

    for (size_t i = 0; i < NSCHEMAS; i++) {
        long a = validate(compiled[i], p, n, &m1);
        long b = validate(compiled[i], canon.ptr, canon.len, &m2);
        CHECK(a == b && m1.len == m2.len && (!a || !memcmp(m1.ptr, m2.ptr, m1.len)));
        CHECK(asdk_schema_check(compiled[i], &t.root, &m2) == a);

        char name[16];
        snprintf(name, sizeof name, "tool_%zu", i);
        m1.len = 0;
        asdk_tool_status cs = asdk_tools_check(registry, name, strlen(name), p, n, &m1);
        /* A repeated key is refused whatever the schema says (tools.h); the canonical text repeats none. */
        CHECK(cs == (a || t.dup_key ? ASDK_TOOL_INVALID : ASDK_TOOL_OK));
        check_message(&m1);

        asdk_seen seen;
        asdk_seen_init(&seen, 4);
        unsigned char fp[ASDK_FINGERPRINT_LEN];
        m1.len = 0;
        asdk_tool_status first = asdk_tools_admit(registry, &seen, name, strlen(name), p, n, &m1, fp);
        CHECK(first == cs);
        m2.len = 0;
        asdk_tool_status second = asdk_tools_admit(registry, &seen, name, strlen(name), canon.ptr, canon.len, &m2, NULL);
        CHECK(second == (first == ASDK_TOOL_OK ? ASDK_TOOL_DUPLICATE : a ? first : ASDK_TOOL_OK));
        check_message(&m2);
        if (first == ASDK_TOOL_OK) {
            CHECK(asdk_seen_remove(&seen, fp) == 1 && seen.count == 0);
            m2.len = 0;
            CHECK(asdk_tools_admit(registry, &seen, name, strlen(name), p, n, &m2, NULL) == ASDK_TOOL_OK);
        }
        asdk_seen_free(&seen);
    }
    m1.len = 0;
    CHECK(asdk_tools_check(registry, p, n < 300 ? n : 300, "{}", 2, &m1) == ASDK_TOOL_UNKNOWN ||
          asdk_tools_schema(registry, p, n < 300 ? n : 300));
    check_message(&m1);
done:
    asdk_jtree_free(&t);
    asdk_jtree_free(&t2);
    asdk_buf_free(&canon);
    asdk_buf_free(&again);
    asdk_buf_free(&m1);
    asdk_buf_free(&m2);
}

static const char *const samples[] = {
    "null", "true", "0", "-1.5e3", "\"\"", "\"abc\"", "[]", "[1,\"a\",null]", "{}", "{\"a\":1,\"b\":[{}],\"c\":\"x\"}",
};

static void schema_text(const char *p, size_t n)
{
    char err[300];
    err[0] = 'x';
    asdk_schema *s = asdk_schema_compile(p, n, err, sizeof err);
    if (!s) {
        CHECK(err[0] && strlen(err) < sizeof err && asdk_utf8_valid(err, strlen(err)));
        return;
    }
    asdk_buf m = { NULL, 0, 0 };
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) validate(s, samples[i], strlen(samples[i]), &m);
    validate(s, p, n, &m);
    CHECK(asdk_schema_memsize(s) > 0);
    asdk_buf_free(&m);
    asdk_schema_free(s);
}

static void cap(const unsigned char *data, size_t size)
{
    if (size < 2) return;
    size_t limit = data[1];
    const char *text = (const char *)data + 2;
    size_t len = size - 2;
    asdk_buf out = { NULL, 0, 0 };
    CHECK(asdk_cap_result(text, len, limit, &out) == 0);
    size_t cut = asdk_cap_cut(text, len, limit);
    CHECK(cut <= len && (cut == len || cut <= limit) && (len > limit || cut == len));
    CHECK(out.len >= cut && (cut == 0 || !memcmp(out.ptr, text, cut)));
    if (cut < len) CHECK(out.len - cut < 80 && !memcmp(out.ptr + cut, "\n[truncated: showed ", 20));
    else CHECK(out.len == len);
    if (asdk_utf8_valid(text, len)) CHECK(asdk_utf8_valid(out.ptr ? out.ptr : "", out.len));
    asdk_buf_free(&out);
}

static void seen_ops(const unsigned char *data, size_t size)
{
    if (size < 2) return;
    size_t limit = 1 + data[1] % 24;
    asdk_seen s;
    asdk_seen_init(&s, limit);
    unsigned char model[24][ASDK_FINGERPRINT_LEN];
    size_t nmodel = 0;
    for (size_t i = 2; i < size; i++) {
        unsigned char fp[ASDK_FINGERPRINT_LEN];
        memset(fp, 0, sizeof fp);
        fp[0] = data[i] & 0x1f; /* few distinct keys, and the same low bits: many collisions */
        fp[31] = (unsigned char)(data[i] >> 5);
        size_t at = nmodel;
        for (size_t k = 0; k < nmodel; k++)
            if (!memcmp(model[k], fp, sizeof fp)) at = k;
        if (data[i] & 0x80 && (data[i] & 0x40)) {
            int r = asdk_seen_remove(&s, fp);
            CHECK(r == (at < nmodel));
            if (at < nmodel) memmove(model[at], model[at + 1], (nmodel - at - 1) * sizeof model[0]), nmodel--;
        } else {
            int r = asdk_seen_add(&s, fp);
            CHECK(r >= 0);
            CHECK(r == (at < nmodel));
            if (at == nmodel && nmodel < limit) memcpy(model[nmodel++], fp, sizeof fp);
        }
        CHECK(s.count == nmodel && s.count <= limit && (s.cap == 0 || (s.count + s.removed) * 2 <= s.cap));
    }
    asdk_seen_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    setup();
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 4) {
    case 0: json_value(p, n); break;
    case 1: schema_text(p, n); break;
    case 2: cap(data, size); break;
    default: seen_ops(data, size); break;
    }
    return 0;
}
