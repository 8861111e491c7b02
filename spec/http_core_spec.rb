# frozen_string_literal: true

require "open3"
require "rbconfig"
require "socket"
require_relative "../lib/ruby_llm/agent_sdk/testing"

# core/http.c without Ruby: spec/support/c/http_core_test.c, built with ASan (leak checks on) and UBSan, against a
# FakeServer. It covers what the Ruby binding does not use: cancel/start inside callbacks, free with requests
# outstanding, wakeup from another thread.
RSpec.describe "core/http.c on its own (C test under ASan/UBSan)" do
  root = File.expand_path("..", __dir__)
  core = File.join(root, "ext/agent_sdk/core")
  source = File.join(__dir__, "support/c/http_core_test.c")
  binary = File.join(root, "tmp/c/http_core_test")

  turns = {
    "text" => { text: "The quick brown fox jumps over the lazy dog. " * 4, chunk_delay: 0.01 },
    "stall" => { text: "never", fault: :stall }
  }.freeze

  it "passes" do
    cc = ENV.fetch("CC", "gcc")
    curl = `pkg-config --cflags --libs libcurl 2>/dev/null`.split
    skip "needs #{cc} and pkg-config libcurl" if curl.empty? || !system("command -v #{cc} >/dev/null 2>&1")

    FileUtils.mkdir_p(File.dirname(binary))
    cmd = [cc, "-std=c99", "-D_POSIX_C_SOURCE=200809L", "-g", "-O1", "-Wall", "-Wextra", "-Werror",
           "-fno-omit-frame-pointer", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
           "-I#{core}", source, File.join(core, "http.c"), "-o", binary, *curl, "-lpthread"]
    out, status = Open3.capture2e(*cmd)
    expect(status).to be_success, "build failed: #{cmd.join(' ')}\n#{out}"

    pick = ->(req) { turns.fetch(req.body["turn"]) }
    RubyLLM::AgentSDK::Testing::FakeServer.open([], default: pick) do |server|
      env = { "ASAN_OPTIONS" => "detect_leaks=1:abort_on_error=0", "UBSAN_OPTIONS" => "print_stacktrace=1" }
      out, status = Open3.capture2e(env, binary, server.base_url, closed_port.to_s)
      expect(status).to be_success, out
      expect(out).to include("10 passed, 0 failed")
    end
  end
end
