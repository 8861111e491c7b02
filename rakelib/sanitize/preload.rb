# frozen_string_literal: true

# Loaded by rspec (`--require`) in a sanitizer run, before spec_helper.
#
# 1. Loads the instrumented extension from AGENT_SDK_SANITIZED_LIB: once it is in $LOADED_FEATURES under that load-path
#    entry, spec_helper's `require "agent_sdk/agent_sdk"` finds it loaded, and lib/agent_sdk/agent_sdk.so (the normal
#    build, untouched) is never mapped into this process.
# 2. Drops LD_PRELOAD from ENV, so that only this process runs with the sanitizer runtime: the children the specs spawn
#    (the claude CLI under node, `ruby -w` in spec/warnings_spec.rb, fake servers) run as they do in production and load
#    the normal extension. Forked children keep the runtime, as they keep the instrumented code.
lib = ENV.fetch("AGENT_SDK_SANITIZED_LIB")
ENV.delete("LD_PRELOAD")
$LOAD_PATH.unshift(lib)
require "agent_sdk/agent_sdk"
loaded = $LOADED_FEATURES.grep(%r{/agent_sdk/agent_sdk\.so\z})
abort "sanitize: expected the instrumented extension from #{lib}, loaded #{loaded.inspect}" unless loaded == [File.join(lib, "agent_sdk/agent_sdk.so")]
