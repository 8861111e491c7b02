/* jwalk.h — one pass over a JSON document along a small table of known paths (plain C99, no Ruby).
 *
 * The provider assemblers describe the parts of a document they read as a tree of numbered nodes: for each
 * node, a list of edges "key → child node" (a NULL key: every element of an array). The walker runs the
 * document through asdk_extract_value (so: strict UTF-8, yajl's syntax check, depth <= 128, every string
 * handed out well-formed UTF-8) and reports scalars at known nodes, the opening and closing of known
 * containers, and — for edges flagged ASDK_JW_CAPTURE — a container value re-serialised as compact JSON text.
 * Everything else is tokenised and ignored. The root must be an object (node ASDK_JW_ROOT). */
#ifndef ASDK_JWALK_H
#define ASDK_JWALK_H

#include "json_quote.h"

#include "json_extract.h"

#define ASDK_JW_ROOT 1
#define ASDK_JW_CAPTURE 1 /* edge flag */

typedef struct {
    unsigned char child;         /* node 1..255; 0 ends a list */
    unsigned char flags;
    unsigned char klen;          /* strlen(key) */
    const char *key;             /* NULL: each element of the array */
} asdk_jw_edge;

/* List rows: ASDK_JW_KEY(child, flags, "key"), ASDK_JW_ELEMENT(child, flags), ASDK_JW_END. */
#define ASDK_JW_KEY(child, flags, key) { child, flags, (unsigned char)(sizeof(key) - 1), key }
#define ASDK_JW_ELEMENT(child, flags) { child, flags, 0, NULL }
#define ASDK_JW_END { 0, 0, 0, NULL }

/* Callbacks return 1 to go on, 0 to stop the pass (asdk_jw_run then fails with ASDK_JSON_ABORTED). Strings
 * are valid only during the call. Any callback may be NULL. */
typedef struct {
    const asdk_jw_edge *const *children; /* children[node]: its edges (NULL: a leaf), for node < nnodes */
    unsigned nnodes;
    int (*scalar)(void *ud, unsigned node, asdk_kind kind, const char *s, size_t n);
    int (*open)(void *ud, unsigned node, int is_map);
    int (*close)(void *ud, unsigned node, int is_map);
    /* A container at an ASDK_JW_CAPTURE edge, as compact JSON text (instead of open/close and the events
     * inside); kind is ASDK_JW_OBJECT or ASDK_JW_ARRAY. A scalar there goes to `scalar` as usual. */
    int (*captured)(void *ud, unsigned node, int kind, const char *json, size_t n);
} asdk_jw_schema;

#define ASDK_JW_OBJECT (-1)
#define ASDK_JW_ARRAY (-2)

/* Private state. */
typedef struct {
    const asdk_jw_schema *schema;
    void *ud;
    int depth;                                      /* open containers */
    unsigned char nodes[ASDK_JSON_MAX_DEPTH + 1];   /* node of each open container (0: ignored) */
    unsigned char is_array[ASDK_JSON_MAX_DEPTH + 1];
    unsigned char pending, pending_flags;           /* node and flags of the next value */
    unsigned char cap_node;
    int cap_depth;                                  /* > 0 while a captured container is open */
    int not_object;
    unsigned char first[ASDK_JSON_MAX_DEPTH + 1];   /* capture: no element written yet at this depth */
    asdk_buf cap;                                   /* capture text */
    asdk_extractor x;
} asdk_jwalk;

void asdk_jw_init(asdk_jwalk *w);
void asdk_jw_free(asdk_jwalk *w);

/* Walks json[0, len). Returns 0, or -1 with *err set (ASDK_JSON_ABORTED when a callback stopped it,
 * ASDK_JSON_NOT_OBJECT when the root is not an object). */
int asdk_jw_run(asdk_jwalk *w, const char *json, size_t len, const asdk_jw_schema *schema, void *ud,
                asdk_json_error *err);

/* 1 if json[0, len) is one valid JSON object (strict UTF-8, depth <= 128), else 0 with *err set. Uses the
 * walker's buffers. */
int asdk_jw_is_object(asdk_jwalk *w, const char *json, size_t len, asdk_json_error *err);

#endif
