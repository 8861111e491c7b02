#!/bin/sh
# Builds the fuzzers of the NDJSON framer and message extractor (ext/agent_sdk/core, no Ruby):
#   fuzz/build/fuzz_stream  libFuzzer + ASan + UBSan (clang, libclang-rt-dev):
#                             fuzz/build/fuzz_stream -max_total_time=60 -artifact_prefix=fuzz/build/ fuzz/corpus
#   fuzz/build/standalone   gcc + ASan + UBSan, no libFuzzer:        fuzz/build/standalone -n 100000 fuzz/corpus
# Run with --run to build and then run both briefly.
set -eu
cd "$(dirname "$0")"
CORE=../ext/agent_sdk/core
SRCS="fuzz_stream.c $CORE/ndjson.c $CORE/json_extract.c $CORE/utf8.c"
YAJL=$(pkg-config --cflags --libs yajl 2>/dev/null || echo "-lyajl")
FLAGS="-std=c99 -D_POSIX_C_SOURCE=200809L -g -O1 -Wall -Wextra -Werror -I$CORE -fno-omit-frame-pointer"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
mkdir -p build

${CC:-gcc} $FLAGS $SAN $SRCS standalone.c $YAJL -o build/standalone
echo "built fuzz/build/standalone"

if command -v clang >/dev/null 2>&1; then
  clang $FLAGS $SAN -fsanitize=fuzzer $SRCS $YAJL -o build/fuzz_stream
  echo "built fuzz/build/fuzz_stream"
else
  echo "clang not found (apt-get install clang): fuzz/build/fuzz_stream not built"
fi

if [ "${1:-}" = "--run" ]; then
  build/standalone -n 20000 corpus
  if [ -x build/fuzz_stream ]; then
    mkdir -p build/corpus
    build/fuzz_stream -max_total_time=30 -max_len=65536 -artifact_prefix=build/ build/corpus corpus
  fi
fi
