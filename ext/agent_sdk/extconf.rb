# frozen_string_literal: true

require "mkmf"

# System libraries, found through pkg-config when it is there, else by header and library name.
{
  "yajl" => ["yajl/yajl_parse.h", "yajl", "libyajl-dev"],
  "libcurl" => ["curl/curl.h", "curl", "libcurl4-openssl-dev"],
  "openssl" => ["openssl/rand.h", "crypto", "libssl-dev"]
}.each do |pkg, (header, lib, debian)|
  pkg_config(pkg)
  next if have_header(header) && have_library(lib)

  abort "agent_sdk: #{pkg} was not found. Install it with: apt-get install #{debian} pkg-config"
end

$CFLAGS << " -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wno-unused-parameter -fvisibility=hidden"
$CFLAGS << " -Werror" if ENV["AGENT_SDK_WERROR"]
if ENV["AGENT_SDK_SANITIZE"]
  $CFLAGS << " -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
  # Heap checks only: any rb_* call may raise, and Ruby's longjmp (not intercepted by ASan when Ruby itself is
  # not built with it) would leave our frames' stack redzones poisoned, failing later in Ruby's own code.
  # The fuzzers (fuzz/build.sh) check the core with full stack instrumentation.
  $CFLAGS << (RbConfig::CONFIG["CC"].to_s.include?("clang") ? " -mllvm -asan-stack=0" : " --param=asan-stack=0")
  $LDFLAGS << " -fsanitize=address,undefined"
end

# core/ holds plain C99 with no ruby.h; compile it into the same extension.
# Object files land flat in the build directory, so binding and core file names must not collide.
$srcs = (Dir[File.join(__dir__, "*.c")] + Dir[File.join(__dir__, "core", "*.c")]).map { |f| File.basename(f) }
$VPATH << "$(srcdir)/core"
$INCFLAGS << " -I$(srcdir)/core"

create_header
create_makefile("agent_sdk/agent_sdk")
