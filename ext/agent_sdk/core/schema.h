/* schema.h — JSON Schema validation of tool inputs (plain C99, no Ruby).
 *
 * A schema text is compiled once (asdk_schema_compile) into a tree of checks; asdk_schema_check then reports
 * every problem of a value, each with its path, in one message for the model, e.g.
 *
 *   missing required property "order_number"; items[2]: must be >= 1; unexpected property "foo"
 *
 * Keywords enforced: type (a name or an array of names; "integer" is a number written without fraction or
 * exponent), enum, const, properties, required, additionalProperties (false or a schema), items (one schema),
 * minimum, maximum, exclusiveMinimum, exclusiveMaximum (numbers, or draft-4 booleans), minLength, maxLength
 * (in code points), minItems, maxItems, and the boolean schemas true and false. Keywords that only apply to
 * one type are checked only on values of that type, as JSON Schema says. Not enforced (accepted, never a
 * problem): pattern, format, patternProperties (and additionalProperties beside it), $ref, allOf/anyOf/oneOf/
 * not, if/then/else, uniqueItems, minProperties/maxProperties, and any unknown keyword. A keyword with a value
 * of the wrong kind is a compile error.
 *
 * Memory: the compiled schema lives in the arena of its own parsed text (json_tree.h limits apply), and
 * validation allocates only the output message. Every walk is bounded by ASDK_JT_MAX_DEPTH. */
#ifndef ASDK_SCHEMA_H
#define ASDK_SCHEMA_H

#include <stddef.h>

#include "asdk_buf.h"
#include "json_tree.h"

/* At most this many problems are spelled out; the rest are counted ("; … and 3 more problems"). */
#define ASDK_SCHEMA_MAX_PROBLEMS 20

typedef struct asdk_schema asdk_schema;

/* Compiles the schema text json[0, len). Returns NULL with a one-line reason in err (errcap > 0), e.g.
 * "properties.age.minimum: must be a number", "invalid JSON (…)", "out of memory". */
asdk_schema *asdk_schema_compile(const char *json, size_t len, char *err, size_t errcap);

void asdk_schema_free(asdk_schema *s);

/* Checks a parsed value. Appends the problems, "; "-separated, to out (nothing when valid). Returns the number
 * of problems (0: valid), or -1 when out of memory. Safe to call from several threads on one schema. */
long asdk_schema_check(const asdk_schema *s, const asdk_jt_node *value, asdk_buf *out);

/* The same for a value text; text that cannot be parsed is one problem ("not valid JSON (…)", "nested more
 * than 64 levels deep", …). */
long asdk_schema_validate(const asdk_schema *s, const char *json, size_t len, asdk_buf *out);

/* Bytes of memory the compiled schema holds. */
size_t asdk_schema_memsize(const asdk_schema *s);

#endif
