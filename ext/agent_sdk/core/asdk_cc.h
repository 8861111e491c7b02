/* asdk_cc.h — compiler attributes, spelled so that a compiler without them still builds the core (plain C99). */
#ifndef ASDK_CC_H
#define ASDK_CC_H

/* printf-style function: fmt is the format argument's position, first the first variadic one (1-based). Lets
 * -Wformat check every call, and keeps -Wsuggest-attribute=format (in Ruby's own warning flags) quiet. */
#if defined(__GNUC__) || defined(__clang__)
#define ASDK_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#define ASDK_PRINTF(fmt, first)
#endif

#endif
