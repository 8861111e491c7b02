#!/bin/sh
# Builds the fuzzers of the C core (ext/agent_sdk/core, no Ruby). Targets:
#   fuzz_stream  NDJSON framer and message extractor (fuzz_stream.c)            corpus: fuzz/corpus
#   fuzz_sse     SSE framer, Anthropic and OpenAI assemblers (fuzz_sse.c)         corpus: fuzz/corpus
#   fuzz_tools   JSON trees, schema validation, canonical JSON, fingerprints,
#                the seen set, result capping (fuzz_tools.c)                      corpus: fuzz/corpus_tools
#   fuzz_loop    the agent loop driven by a scripted transport (fuzz_loop.c)      corpus: fuzz/corpus_loop
#   fuzz_driver  the driver (core/driver.c) with its loops and assemblers over a
#                fake HTTP layer that aborts, stalls, resets, rejects (fuzz_driver.c) corpus: fuzz/corpus_driver
# Each is built two ways:
#   fuzz/build/fuzz_<target>       libFuzzer + ASan + UBSan (clang, libclang-rt-dev), when clang is installed:
#                                    fuzz/build/fuzz_sse -max_total_time=60 -artifact_prefix=fuzz/build/ fuzz/corpus
#   fuzz/build/standalone[_<x>]    gcc + ASan + UBSan, no libFuzzer (standalone runs fuzz_stream and fuzz_sse):
#                                    fuzz/build/standalone_loop -n 100000 fuzz/corpus_loop
# Options: --standalone-only builds only the gcc drivers; --run builds, then runs each briefly.
set -eu
cd "$(dirname "$0")"
CORE=../ext/agent_sdk/core
STREAM_SRCS="$CORE/ndjson.c $CORE/json_extract.c $CORE/utf8.c $CORE/sse.c $CORE/turn.c $CORE/jwalk.c \
$CORE/asm_common.c $CORE/anthropic.c $CORE/openai.c $CORE/stream_asm.c $CORE/json_quote.c"
TOOLS_SRCS="$CORE/json_tree.c $CORE/schema.c $CORE/tools.c $CORE/utf8.c $CORE/json_quote.c"
LOOP_SRCS="$CORE/loop.c $CORE/budget.c $CORE/turn.c $CORE/json_quote.c"
DRIVER_SRCS="$CORE/driver.c $CORE/retry_after.c $CORE/lines.c $CORE/loop.c $CORE/budget.c $CORE/ndjson.c \
$CORE/json_extract.c $CORE/utf8.c $CORE/sse.c $CORE/turn.c $CORE/jwalk.c $CORE/asm_common.c $CORE/anthropic.c \
$CORE/openai.c $CORE/stream_asm.c $CORE/json_quote.c"
YAJL=$(pkg-config --cflags --libs yajl 2>/dev/null || echo "-lyajl")
CRYPTO=$(pkg-config --cflags --libs libcrypto 2>/dev/null || echo "-lcrypto")
FLAGS="-std=c99 -D_POSIX_C_SOURCE=200809L -g -O1 -Wall -Wextra -Werror -I$CORE -fno-omit-frame-pointer"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CC=${CC:-gcc}
mkdir -p build/obj

# shellcheck disable=SC2086
{
  # One driver for the two stream targets: each target's entry point is renamed.
  $CC $FLAGS $SAN -c fuzz_stream.c -DLLVMFuzzerTestOneInput=fuzz_stream_input -o build/obj/fuzz_stream.o
  $CC $FLAGS $SAN -c fuzz_sse.c -DLLVMFuzzerTestOneInput=fuzz_sse_input -o build/obj/fuzz_sse.o
  $CC $FLAGS $SAN -DASDK_FUZZ_ALL standalone.c build/obj/fuzz_stream.o build/obj/fuzz_sse.o $STREAM_SRCS $YAJL \
    -o build/standalone
  $CC $FLAGS $SAN standalone.c fuzz_tools.c $TOOLS_SRCS $YAJL $CRYPTO -lm -o build/standalone_tools
  $CC $FLAGS $SAN standalone.c fuzz_loop.c $LOOP_SRCS $YAJL $CRYPTO -o build/standalone_loop
  $CC $FLAGS $SAN standalone.c fuzz_driver.c $DRIVER_SRCS $YAJL $CRYPTO -o build/standalone_driver
}
echo "built fuzz/build/standalone fuzz/build/standalone_tools fuzz/build/standalone_loop fuzz/build/standalone_driver"

if [ "${1:-}" != "--standalone-only" ]; then
  if command -v clang >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    {
      clang $FLAGS $SAN -fsanitize=fuzzer fuzz_stream.c $STREAM_SRCS $YAJL -o build/fuzz_stream
      clang $FLAGS $SAN -fsanitize=fuzzer fuzz_sse.c $STREAM_SRCS $YAJL -o build/fuzz_sse
      clang $FLAGS $SAN -fsanitize=fuzzer fuzz_tools.c $TOOLS_SRCS $YAJL $CRYPTO -lm -o build/fuzz_tools
      clang $FLAGS $SAN -fsanitize=fuzzer fuzz_loop.c $LOOP_SRCS $YAJL $CRYPTO -o build/fuzz_loop
      clang $FLAGS $SAN -fsanitize=fuzzer fuzz_driver.c $DRIVER_SRCS $YAJL $CRYPTO -o build/fuzz_driver
    }
    echo "built fuzz/build/fuzz_stream fuzz/build/fuzz_sse fuzz/build/fuzz_tools fuzz/build/fuzz_loop fuzz/build/fuzz_driver"
  else
    echo "clang not found (apt-get install clang libclang-rt-14-dev): the libFuzzer targets were not built"
  fi
fi

if [ "${1:-}" = "--run" ]; then
  build/standalone -n 20000 corpus
  build/standalone_tools -n 20000 corpus_tools
  build/standalone_loop -n 20000 corpus_loop
  build/standalone_driver -n 20000 corpus_driver
  for t in stream:corpus sse:corpus tools:corpus_tools loop:corpus_loop driver:corpus_driver; do
    target=fuzz_${t%%:*}
    if [ -x build/$target ]; then
      mkdir -p build/corpus_$target
      build/$target -max_total_time=30 -max_len=65536 -artifact_prefix=build/ build/corpus_$target "${t#*:}"
    fi
  done
fi
