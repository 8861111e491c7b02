#!/bin/sh
# Builds the fuzzers of the C core (ext/agent_sdk/core, no Ruby):
#   fuzz/build/fuzz_stream        libFuzzer + ASan + UBSan (clang): NDJSON framer and message extractor
#   fuzz/build/fuzz_sse           libFuzzer + ASan + UBSan (clang): SSE framer, Anthropic and OpenAI assemblers
#       fuzz/build/fuzz_sse -max_total_time=60 -artifact_prefix=fuzz/build/ fuzz/build/corpus_sse fuzz/corpus
#   fuzz/build/standalone_driver  gcc + ASan + UBSan, no libFuzzer: every input through both targets
#       fuzz/build/standalone_driver --iterations 100000 fuzz/corpus
# Options: --standalone-only builds only the standalone driver; --run builds, then runs each briefly.
set -eu
cd "$(dirname "$0")"
CORE=../ext/agent_sdk/core
CORE_SRCS="$CORE/ndjson.c $CORE/json_extract.c $CORE/utf8.c $CORE/sse.c $CORE/turn.c $CORE/jwalk.c \
$CORE/asm_common.c $CORE/anthropic.c $CORE/openai.c $CORE/stream_asm.c"
YAJL=$(pkg-config --cflags --libs yajl 2>/dev/null || echo "-lyajl")
FLAGS="-std=c99 -D_POSIX_C_SOURCE=200809L -g -O1 -Wall -Wextra -Werror -I$CORE -fno-omit-frame-pointer"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CC=${CC:-gcc}
mkdir -p build/obj

# One driver for both targets: each target's entry point is renamed.
$CC $FLAGS $SAN -c fuzz_stream.c -DLLVMFuzzerTestOneInput=fuzz_stream_input -o build/obj/fuzz_stream.o
$CC $FLAGS $SAN -c fuzz_sse.c -DLLVMFuzzerTestOneInput=fuzz_sse_input -o build/obj/fuzz_sse.o
# shellcheck disable=SC2086
$CC $FLAGS $SAN -DASDK_FUZZ_ALL standalone.c build/obj/fuzz_stream.o build/obj/fuzz_sse.o $CORE_SRCS $YAJL \
  -o build/standalone_driver
echo "built fuzz/build/standalone_driver"

if [ "${1:-}" != "--standalone-only" ]; then
  if command -v clang >/dev/null 2>&1; then
    for target in fuzz_stream fuzz_sse; do
      # shellcheck disable=SC2086
      clang $FLAGS $SAN -fsanitize=fuzzer $target.c $CORE_SRCS $YAJL -o build/$target
      echo "built fuzz/build/$target"
    done
  else
    echo "clang not found (apt-get install clang): the libFuzzer targets were not built"
  fi
fi

if [ "${1:-}" = "--run" ]; then
  build/standalone_driver --iterations 20000 corpus
  for target in fuzz_stream fuzz_sse; do
    if [ -x build/$target ]; then
      mkdir -p build/corpus_$target
      build/$target -max_total_time=30 -max_len=65536 -artifact_prefix=build/ build/corpus_$target corpus
    fi
  done
fi
