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
if !ENV.fetch("AGENT_SDK_WERROR", "").empty? && ENV["AGENT_SDK_WERROR"] != "0"
  # CI (bin/test): warnings are errors, under the warning flags a Ruby built from source (rbenv, the official
  # images) compiles extensions with — Debian's packaged Ruby leaves them out. Each flag the compiler lacks
  # (gcc-only ones under clang) is dropped rather than failing the build.
  warnings = %w[-Wall -Wextra -Wno-unused-parameter -Wsuggest-attribute=format -Wsuggest-attribute=noreturn
                -Wmissing-noreturn -Wimplicit-fallthrough=0 -Wduplicated-cond -Wmisleading-indentation
                -Wpointer-arith -Wwrite-strings -Wold-style-definition -Wimplicit-function-declaration
                -Wimplicit-int -Wdeprecated-declarations -Wunused-variable -Wundef]
  $CFLAGS << " -Werror " << warnings.select { |flag| try_cflags("-Werror #{flag}") }.join(" ")
end
if ENV["AGENT_SDK_SANITIZE"]
  # Run with LD_PRELOAD of libasan/libubsan and ASAN_OPTIONS=use_sigaltstack=0 (Ruby installs its own).
  # asan-stack=0: Ruby raises with __builtin_longjmp, which ASan does not see, so the redzones of our stack frames
  # stay poisoned and the (uninstrumented) interpreter later trips over them: false stack-buffer-overflows.
  # Heap checks and UBSan stay on.
  $CFLAGS << " -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
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
