#!/bin/sh
# Builds the fuzzers of the C core (ext/agent_sdk/core, no Ruby):
#   fuzz_stream  the NDJSON framer and message extractor (fuzz_stream.c)
#   fuzz_tools   JSON trees, schema validation, canonical JSON, fingerprints, the seen set, result capping
#                (fuzz_tools.c)
#   fuzz_loop    the agent loop state machine driven by a scripted transport (fuzz_loop.c)
# Each is built two ways:
#   fuzz/build/<name>             libFuzzer + ASan + UBSan (clang, libclang-rt-dev):
#                                   fuzz/build/fuzz_tools -max_total_time=60 -artifact_prefix=fuzz/build/ fuzz/corpus_tools
#   fuzz/build/standalone[_tools] gcc + ASan + UBSan, no libFuzzer:
#                                   fuzz/build/standalone_tools -n 100000 fuzz/corpus_tools
# Run with --run to build and then run them all briefly.
set -eu
cd "$(dirname "$0")"
CORE=../ext/agent_sdk/core
STREAM_SRCS="fuzz_stream.c $CORE/ndjson.c $CORE/json_extract.c $CORE/utf8.c"
TOOLS_SRCS="fuzz_tools.c $CORE/json_tree.c $CORE/schema.c $CORE/tools.c $CORE/utf8.c"
LOOP_SRCS="fuzz_loop.c $CORE/loop.c $CORE/budget.c $CORE/turn.c"
YAJL=$(pkg-config --cflags --libs yajl 2>/dev/null || echo "-lyajl")
CRYPTO=$(pkg-config --cflags --libs libcrypto 2>/dev/null || echo "-lcrypto")
FLAGS="-std=c99 -D_POSIX_C_SOURCE=200809L -g -O1 -Wall -Wextra -Werror -I$CORE -fno-omit-frame-pointer"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
mkdir -p build

${CC:-gcc} $FLAGS $SAN $STREAM_SRCS standalone.c $YAJL -o build/standalone
${CC:-gcc} $FLAGS $SAN $TOOLS_SRCS standalone.c $YAJL $CRYPTO -lm -o build/standalone_tools
${CC:-gcc} $FLAGS $SAN $LOOP_SRCS standalone.c $YAJL $CRYPTO -o build/standalone_loop
echo "built fuzz/build/standalone fuzz/build/standalone_tools fuzz/build/standalone_loop"

if command -v clang >/dev/null 2>&1; then
  clang $FLAGS $SAN -fsanitize=fuzzer $STREAM_SRCS $YAJL -o build/fuzz_stream
  clang $FLAGS $SAN -fsanitize=fuzzer $TOOLS_SRCS $YAJL $CRYPTO -lm -o build/fuzz_tools
  clang $FLAGS $SAN -fsanitize=fuzzer $LOOP_SRCS $YAJL $CRYPTO -o build/fuzz_loop
  echo "built fuzz/build/fuzz_stream fuzz/build/fuzz_tools fuzz/build/fuzz_loop"
else
  echo "clang not found (apt-get install clang): fuzz/build/fuzz_stream and fuzz/build/fuzz_tools not built"
fi

if [ "${1:-}" = "--run" ]; then
  build/standalone -n 20000 corpus
  build/standalone_tools -n 20000 corpus_tools
  build/standalone_loop -n 20000 corpus_loop
  if [ -x build/fuzz_stream ]; then
    mkdir -p build/corpus build/corpus_tools
    build/fuzz_stream -max_total_time=30 -max_len=65536 -artifact_prefix=build/ build/corpus corpus
    build/fuzz_tools -max_total_time=30 -max_len=65536 -artifact_prefix=build/ build/corpus_tools corpus_tools
  fi
fi
