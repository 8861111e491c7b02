/* schema.c — JSON Schema compiled to a tree of checks, and validation with every problem reported (plain C99,
 * no Ruby). See schema.h. */
#include "schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "asdk_cc.h"
#include "utf8.h"

enum {
    T_NULL = 1 << 0,
    T_BOOLEAN = 1 << 1,
    T_INTEGER = 1 << 2,
    T_NUMBER = 1 << 3,
    T_STRING = 1 << 4,
    T_ARRAY = 1 << 5,
    T_OBJECT = 1 << 6
};

static const struct {
    const char *name;
    unsigned bit;
} type_names[] = {
    { "string", T_STRING }, { "integer", T_INTEGER }, { "number", T_NUMBER }, { "boolean", T_BOOLEAN },
    { "array", T_ARRAY },   { "object", T_OBJECT },   { "null", T_NULL },
};
#define NTYPES (sizeof type_names / sizeof type_names[0])

enum { ADDL_ANY = 0, ADDL_NONE, ADDL_SCHEMA };

typedef struct snode snode;
struct snode {
    unsigned types;      /* allowed types; 0: any */
    unsigned char never; /* the schema `false` */
    unsigned char addl;  /* ADDL_* */
    const asdk_jt_node *minimum, *maximum, *xminimum, *xmaximum; /* NUMBER nodes, kept for their text */
    size_t min_length, max_length, min_items, max_items;         /* max: SIZE_MAX when absent */
    const asdk_jt_node *enum_values;                             /* ARRAY */
    const asdk_jt_node *const_value;
    const asdk_jt_node *props; /* the "properties" OBJECT: its keys, sorted */
    snode *prop_schemas;       /* parallel to props->keys */
    const asdk_jt_node *required; /* ARRAY of STRING */
    snode *additional;            /* ADDL_SCHEMA */
    snode *items;
};

struct asdk_schema {
    asdk_jtree tree; /* the schema text; compiled nodes live in its arena */
    snode *root;
};

/* ---- paths ------------------------------------------------------------------------------------------- */

#define PATH_CAP 1024
#define KEY_SHOWN 64 /* bytes of a key or value shown in a message */

typedef struct {
    char buf[PATH_CAP];
    size_t len;
} path_t;

/* Length of the longest prefix of s[0, n) that is at most max bytes and ends on a character boundary. */
static size_t utf8_prefix(const char *s, size_t n, size_t max)
{
    if (n <= max) return n;
    size_t cut = max;
    for (int i = 0; i < 3 && cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80; i++) cut--;
    return cut;
}

/* Writes s[0, n) quoted and escaped as a JSON string, at most KEY_SHOWN bytes of it (then "…"), to dst
 * (which has room for KEY_SHOWN * 6 + 8 bytes). Returns the length written. */
#define QUOTED_CAP (KEY_SHOWN * 6 + 8)
static size_t quote(char *dst, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t shown = utf8_prefix(s, n, KEY_SHOWN), o = 0;
    dst[o++] = '"';
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)c;
        } else if (c < 0x20) {
            memcpy(dst + o, "\\u00", 4);
            dst[o + 4] = hex[c >> 4];
            dst[o + 5] = hex[c & 15];
            o += 6;
        } else {
            dst[o++] = (char)c;
        }
    }
    if (shown < n) {
        memcpy(dst + o, "\xE2\x80\xA6", 3); /* … */
        o += 3;
    }
    dst[o++] = '"';
    dst[o] = '\0';
    return o;
}

static int simple_key(const char *s, size_t n)
{
    if (!n || n > KEY_SHOWN) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '$'))
            return 0;
    }
    return 1;
}

/* Appends a segment; returns the previous length, for path_pop. A segment that does not fit becomes "…". */
static size_t path_push(path_t *p, const char *seg, size_t n)
{
    size_t old = p->len;
    if (p->len + n + 4 >= PATH_CAP) {
        if (p->len < 3 || memcmp(p->buf + p->len - 3, "\xE2\x80\xA6", 3)) {
            memcpy(p->buf + p->len, "\xE2\x80\xA6", 3);
            p->len += 3;
        }
    } else {
        memcpy(p->buf + p->len, seg, n);
        p->len += n;
    }
    p->buf[p->len] = '\0';
    return old;
}

static size_t path_push_key(path_t *p, const char *key, size_t n)
{
    char seg[QUOTED_CAP + 4];
    size_t k = 0;
    if (simple_key(key, n)) {
        if (p->len) seg[k++] = '.';
        memcpy(seg + k, key, n);
        k += n;
    } else {
        seg[k++] = '[';
        k += quote(seg + k, key, n);
        seg[k++] = ']';
    }
    return path_push(p, seg, k);
}

static size_t path_push_index(path_t *p, size_t i)
{
    char seg[32];
    int k = snprintf(seg, sizeof seg, "[%zu]", i);
    return path_push(p, seg, (size_t)k);
}

static void path_pop(path_t *p, size_t old)
{
    p->len = old;
    p->buf[old] = '\0';
}

/* ---- compiling --------------------------------------------------------------------------------------- */

typedef struct {
    asdk_schema *s;
    path_t path;
    char *err;
    size_t errcap;
    int failed;
} cctx;

static int cfail(cctx *c, const char *fmt, ...) ASDK_PRINTF(2, 3);
static int cfail(cctx *c, const char *fmt, ...)
{
    if (c->failed) return -1;
    c->failed = 1;
    if (!c->errcap) return -1;
    char what[QUOTED_CAP + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int n = c->path.len ? snprintf(c->err, c->errcap, "%s: %s", c->path.buf, what)
                        : snprintf(c->err, c->errcap, "%s", what);
    if (n >= 0 && (size_t)n >= c->errcap) c->err[asdk_utf8_trim(c->err, c->errcap - 1)] = '\0';
    return -1;
}

#define IS(key, lit) ((key).len == sizeof(lit) - 1 && !memcmp((key).s, lit, sizeof(lit) - 1))

static int count_value(cctx *c, const asdk_jt_node *v, size_t *out)
{
    if (v->type != ASDK_JT_NUMBER || !asdk_jt_is_integer(v) || v->s[0] == '-')
        return cfail(c, "must be a non-negative integer");
    double d = asdk_jt_number(v);
    *out = d >= (double)(SIZE_MAX / 2) ? SIZE_MAX / 2 : (size_t)d;
    return 0;
}

static int compile(cctx *c, const asdk_jt_node *j, snode *out);

static int compile_child(cctx *c, const asdk_jt_node *j, snode **out)
{
    *out = asdk_jtree_alloc(&c->s->tree, sizeof **out);
    if (!*out) return cfail(c, "out of memory");
    return compile(c, j, *out);
}

static int compile_type(cctx *c, const asdk_jt_node *v, unsigned *types)
{
    const asdk_jt_node *names = v;
    size_t n = 1;
    if (v->type == ASDK_JT_ARRAY) {
        if (!v->len) return cfail(c, "must not be empty");
        names = v->items;
        n = v->len;
    }
    for (size_t i = 0; i < n; i++) {
        if (names[i].type != ASDK_JT_STRING) return cfail(c, "must be a type name or an array of type names");
        size_t t = 0;
        while (t < NTYPES && !(strlen(type_names[t].name) == names[i].len &&
                               !memcmp(type_names[t].name, names[i].s, names[i].len)))
            t++;
        if (t == NTYPES) {
            char q[QUOTED_CAP];
            quote(q, names[i].s, names[i].len);
            return cfail(c, "unknown type %s", q);
        }
        *types |= type_names[t].bit;
    }
    return 0;
}

static int compile(cctx *c, const asdk_jt_node *j, snode *out)
{
    memset(out, 0, sizeof *out);
    out->max_length = out->max_items = SIZE_MAX;
    if (j->type == ASDK_JT_TRUE) return 0;
    if (j->type == ASDK_JT_FALSE) {
        out->never = 1;
        return 0;
    }
    if (j->type != ASDK_JT_OBJECT) return cfail(c, "a schema must be an object or a boolean");

    int patterned = 0, xmin_flag = 0, xmax_flag = 0;
    for (size_t i = 0; i < j->len; i++) {
        asdk_jt_key key = j->keys[i];
        const asdk_jt_node *v = &j->items[i];
        size_t mark = path_push_key(&c->path, key.s, key.len);
        int r = 0;
        if (IS(key, "type")) {
            r = compile_type(c, v, &out->types);
        } else if (IS(key, "enum")) {
            if (v->type != ASDK_JT_ARRAY) r = cfail(c, "must be an array");
            out->enum_values = v;
        } else if (IS(key, "const")) {
            out->const_value = v;
        } else if (IS(key, "minimum") || IS(key, "maximum")) {
            if (v->type != ASDK_JT_NUMBER) r = cfail(c, "must be a number");
            *(IS(key, "minimum") ? &out->minimum : &out->maximum) = v;
        } else if (IS(key, "exclusiveMinimum") || IS(key, "exclusiveMaximum")) {
            int is_min = IS(key, "exclusiveMinimum");
            if (v->type == ASDK_JT_TRUE || v->type == ASDK_JT_FALSE) /* draft 4: a modifier of minimum/maximum */
                *(is_min ? &xmin_flag : &xmax_flag) = v->type == ASDK_JT_TRUE;
            else if (v->type == ASDK_JT_NUMBER) *(is_min ? &out->xminimum : &out->xmaximum) = v;
            else r = cfail(c, "must be a number");
        } else if (IS(key, "minLength")) {
            r = count_value(c, v, &out->min_length);
        } else if (IS(key, "maxLength")) {
            r = count_value(c, v, &out->max_length);
        } else if (IS(key, "minItems")) {
            r = count_value(c, v, &out->min_items);
        } else if (IS(key, "maxItems")) {
            r = count_value(c, v, &out->max_items);
        } else if (IS(key, "required")) {
            if (v->type != ASDK_JT_ARRAY) r = cfail(c, "must be an array of property names");
            for (size_t k = 0; !r && k < v->len; k++)
                if (v->items[k].type != ASDK_JT_STRING) r = cfail(c, "must be an array of property names");
            out->required = v;
        } else if (IS(key, "properties")) {
            if (v->type != ASDK_JT_OBJECT) {
                r = cfail(c, "must be an object of schemas");
            } else if (v->len) {
                out->props = v;
                out->prop_schemas = asdk_jtree_alloc(&c->s->tree, v->len * sizeof *out->prop_schemas);
                if (!out->prop_schemas) r = cfail(c, "out of memory");
                for (size_t k = 0; !r && k < v->len; k++) {
                    size_t m = path_push_key(&c->path, v->keys[k].s, v->keys[k].len);
                    r = compile(c, &v->items[k], &out->prop_schemas[k]);
                    path_pop(&c->path, m);
                }
            }
        } else if (IS(key, "additionalProperties")) {
            if (v->type == ASDK_JT_FALSE) {
                out->addl = ADDL_NONE;
            } else if (v->type == ASDK_JT_OBJECT) {
                out->addl = ADDL_SCHEMA;
                r = compile_child(c, v, &out->additional);
            } else if (v->type != ASDK_JT_TRUE) {
                r = cfail(c, "must be a boolean or a schema");
            }
        } else if (IS(key, "items")) {
            if (v->type == ASDK_JT_ARRAY) r = cfail(c, "the tuple form (an array of schemas) is not supported");
            else r = compile_child(c, v, &out->items);
        } else if (IS(key, "patternProperties")) {
            patterned = 1;
        } else if (IS(key, "pattern")) {
            if (v->type != ASDK_JT_STRING) r = cfail(c, "must be a string");
        }
        path_pop(&c->path, mark);
        if (r) return -1;
    }
    /* Draft 4 spelled exclusive bounds as boolean modifiers of minimum/maximum. */
    if (xmin_flag && out->minimum) {
        out->xminimum = out->minimum;
        out->minimum = NULL;
    }
    if (xmax_flag && out->maximum) {
        out->xmaximum = out->maximum;
        out->maximum = NULL;
    }
    /* Which names patternProperties covers is not known here, so no name is called unexpected. */
    if (patterned && out->addl != ADDL_ANY) {
        out->addl = ADDL_ANY;
        out->additional = NULL;
    }
    return 0;
}

asdk_schema *asdk_schema_compile(const char *json, size_t len, char *err, size_t errcap)
{
    asdk_schema *s = calloc(1, sizeof *s);
    if (!s) {
        if (errcap) snprintf(err, errcap, "out of memory");
        return NULL;
    }
    asdk_jtree_init(&s->tree);
    cctx c;
    memset(&c, 0, sizeof c);
    c.s = s;
    c.err = err;
    c.errcap = errcap;
    if (asdk_jtree_parse(&s->tree, json, len, err, errcap) != ASDK_JT_OK ||
        compile_child(&c, &s->tree.root, &s->root)) {
        asdk_schema_free(s);
        return NULL;
    }
    return s;
}

void asdk_schema_free(asdk_schema *s)
{
    if (!s) return;
    asdk_jtree_free(&s->tree);
    free(s);
}

size_t asdk_schema_memsize(const asdk_schema *s)
{
    return s ? sizeof *s + s->tree.bytes : 0;
}

/* ---- checking ---------------------------------------------------------------------------------------- */

typedef struct {
    asdk_buf *out;
    long problems;
    int nomem;
    path_t path;
} vctx;

static void append(vctx *c, const char *s, size_t n)
{
    if (!c->nomem && asdk_buf_append(c->out, s, n)) c->nomem = 1;
}

static void problem(vctx *c, const char *fmt, ...) ASDK_PRINTF(2, 3);
static void problem(vctx *c, const char *fmt, ...)
{
    if (++c->problems > ASDK_SCHEMA_MAX_PROBLEMS) return;
    char what[QUOTED_CAP + 64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof what) n = (int)asdk_utf8_trim(what, sizeof what - 1);
    if (c->problems > 1) append(c, "; ", 2);
    if (c->path.len) {
        append(c, c->path.buf, c->path.len);
        append(c, ": ", 2);
    }
    append(c, what, (size_t)n);
}

/* "string or null" for the allowed types of s. */
static void type_list(unsigned types, char *dst, size_t cap)
{
    size_t o = 0;
    dst[0] = '\0';
    for (size_t t = 0; t < NTYPES; t++) {
        if (!(types & type_names[t].bit)) continue;
        int k = snprintf(dst + o, cap - o, "%s%s", o ? " or " : "", type_names[t].name);
        if (k < 0 || (size_t)k >= cap - o) break;
        o += (size_t)k;
    }
}

static int type_ok(unsigned types, const asdk_jt_node *v)
{
    switch (v->type) {
    case ASDK_JT_NULL: return (types & T_NULL) != 0;
    case ASDK_JT_FALSE:
    case ASDK_JT_TRUE: return (types & T_BOOLEAN) != 0;
    case ASDK_JT_NUMBER: return (types & T_NUMBER) || ((types & T_INTEGER) && asdk_jt_is_integer(v));
    case ASDK_JT_STRING: return (types & T_STRING) != 0;
    case ASDK_JT_ARRAY: return (types & T_ARRAY) != 0;
    default: return (types & T_OBJECT) != 0;
    }
}

/* The canonical text of v, cut to KEY_SHOWN bytes, into dst (QUOTED_CAP bytes). */
static void show_value(vctx *c, const asdk_jt_node *v, char *dst)
{
    asdk_buf b = { NULL, 0, 0 };
    if (v->type == ASDK_JT_STRING) {
        quote(dst, v->s, v->len);
    } else if (asdk_jt_write(v, &b)) {
        c->nomem = 1;
        dst[0] = '\0';
    } else {
        size_t n = utf8_prefix(b.ptr, b.len, KEY_SHOWN);
        memcpy(dst, b.ptr, n);
        if (n < b.len) memcpy(dst + n, "\xE2\x80\xA6", 3), n += 3;
        dst[n] = '\0';
    }
    asdk_buf_free(&b);
}

static void enum_problem(vctx *c, const asdk_jt_node *values)
{
    if (values->len == 0) {
        problem(c, "no value is allowed (the enum is empty)");
        return;
    }
    asdk_buf list = { NULL, 0, 0 };
    char one[QUOTED_CAP];
    size_t shown = values->len < 10 ? values->len : 10;
    for (size_t i = 0; i < shown && !c->nomem; i++) {
        show_value(c, &values->items[i], one);
        if ((i && asdk_buf_append(&list, ", ", 2)) || asdk_buf_append(&list, one, strlen(one))) c->nomem = 1;
    }
    if (shown < values->len && asdk_buf_append(&list, ", \xE2\x80\xA6", 5)) c->nomem = 1;
    if (!c->nomem && !asdk_buf_append(&list, "", 1)) {
        if (++c->problems <= ASDK_SCHEMA_MAX_PROBLEMS) {
            if (c->problems > 1) append(c, "; ", 2);
            if (c->path.len) {
                append(c, c->path.buf, c->path.len);
                append(c, ": ", 2);
            }
            append(c, values->len == 1 ? "must be " : "must be one of ", values->len == 1 ? 8 : 15);
            append(c, list.ptr, list.len - 1);
        }
    }
    asdk_buf_free(&list);
}

static size_t code_points(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

static void check(vctx *c, const snode *s, const asdk_jt_node *v)
{
    if (c->nomem) return;
    if (s->never) {
        problem(c, "is not allowed");
        return;
    }
    if (s->types && !type_ok(s->types, v)) {
        char want[120];
        type_list(s->types, want, sizeof want);
        problem(c, "expected %s, got %s", want, asdk_jt_type_name(v));
        return;
    }
    if (s->enum_values) {
        size_t i = 0;
        while (i < s->enum_values->len && !asdk_jt_equal(&s->enum_values->items[i], v)) i++;
        if (i == s->enum_values->len) enum_problem(c, s->enum_values);
    }
    if (s->const_value && !asdk_jt_equal(s->const_value, v)) {
        char want[QUOTED_CAP];
        show_value(c, s->const_value, want);
        problem(c, "must be %s", want);
    }

    switch (v->type) {
    case ASDK_JT_NUMBER: {
        double x = asdk_jt_number(v);
        if (s->minimum && !(x >= asdk_jt_number(s->minimum))) problem(c, "must be >= %s", s->minimum->s);
        if (s->xminimum && !(x > asdk_jt_number(s->xminimum))) problem(c, "must be > %s", s->xminimum->s);
        if (s->maximum && !(x <= asdk_jt_number(s->maximum))) problem(c, "must be <= %s", s->maximum->s);
        if (s->xmaximum && !(x < asdk_jt_number(s->xmaximum))) problem(c, "must be < %s", s->xmaximum->s);
        break;
    }
    case ASDK_JT_STRING: {
        if (!s->min_length && s->max_length == SIZE_MAX) break;
        size_t n = code_points(v->s, v->len);
        if (n < s->min_length)
            problem(c, "must be at least %zu character%s long", s->min_length, s->min_length == 1 ? "" : "s");
        if (n > s->max_length)
            problem(c, "must be at most %zu character%s long", s->max_length, s->max_length == 1 ? "" : "s");
        break;
    }
    case ASDK_JT_ARRAY:
        if (v->len < s->min_items)
            problem(c, "must have at least %zu item%s", s->min_items, s->min_items == 1 ? "" : "s");
        if (v->len > s->max_items)
            problem(c, "must have at most %zu item%s", s->max_items, s->max_items == 1 ? "" : "s");
        if (s->items) {
            for (size_t i = 0; i < v->len && !c->nomem; i++) {
                size_t mark = path_push_index(&c->path, i);
                check(c, s->items, &v->items[i]);
                path_pop(&c->path, mark);
            }
        }
        break;
    case ASDK_JT_OBJECT: {
        char q[QUOTED_CAP];
        for (size_t i = 0; s->required && i < s->required->len; i++) {
            const asdk_jt_node *name = &s->required->items[i];
            if (!asdk_jt_get(v, name->s, name->len)) {
                quote(q, name->s, name->len);
                problem(c, "missing required property %s", q);
            }
        }
        /* Both key lists are sorted: walk them together. */
        size_t np = s->props ? s->props->len : 0, p = 0;
        for (size_t i = 0; i < v->len && !c->nomem; i++) {
            const asdk_jt_key *k = &v->keys[i];
            int cmp = 1;
            while (p < np) {
                const asdk_jt_key *pk = &s->props->keys[p];
                int d = memcmp(pk->s, k->s, pk->len < k->len ? pk->len : k->len);
                cmp = d ? d : (pk->len > k->len) - (pk->len < k->len);
                if (cmp >= 0) break;
                p++;
            }
            const snode *sub = NULL;
            if (p < np && cmp == 0) sub = &s->prop_schemas[p];
            else if (s->addl == ADDL_SCHEMA) sub = s->additional;
            else if (s->addl == ADDL_NONE) {
                quote(q, k->s, k->len);
                problem(c, "unexpected property %s", q);
                continue;
            }
            if (!sub) continue;
            size_t mark = path_push_key(&c->path, k->s, k->len);
            check(c, sub, &v->items[i]);
            path_pop(&c->path, mark);
        }
        break;
    }
    default:
        break;
    }
}

long asdk_schema_check(const asdk_schema *s, const asdk_jt_node *value, asdk_buf *out)
{
    vctx c;
    c.out = out;
    c.problems = 0;
    c.nomem = 0;
    c.path.len = 0;
    c.path.buf[0] = '\0';
    check(&c, s->root, value);
    if (c.problems > ASDK_SCHEMA_MAX_PROBLEMS) {
        char more[64];
        long rest = c.problems - ASDK_SCHEMA_MAX_PROBLEMS;
        int n = snprintf(more, sizeof more, "; \xE2\x80\xA6 and %ld more problem%s", rest, rest == 1 ? "" : "s");
        append(&c, more, (size_t)n);
    }
    return c.nomem ? -1 : c.problems;
}

long asdk_schema_validate(const asdk_schema *s, const char *json, size_t len, asdk_buf *out)
{
    asdk_jtree t;
    char why[160];
    asdk_jtree_init(&t);
    asdk_jt_status st = asdk_jtree_parse(&t, json, len, why, sizeof why);
    if (st == ASDK_JT_NOMEM) return -1;
    if (st != ASDK_JT_OK) {
        if (asdk_buf_append(out, "input is ", 9) || asdk_buf_append(out, why, strlen(why))) return -1;
        return 1;
    }
    long r = asdk_schema_check(s, &t.root, out);
    asdk_jtree_free(&t);
    return r;
}
