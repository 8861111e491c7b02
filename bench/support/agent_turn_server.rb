# frozen_string_literal: true

# A fake Messages API process for bench/concurrent_runs.rb: RubyLLM::AgentSDK::Testing::FakeServer (as
# bin/fake-model-server runs it), whose turn is chosen per request from the conversation it carries, so that any
# number of concurrent runs each get their own sequence whatever order their requests arrive in:
# fewer than TOOL_TURNS tool results in the request → a tool_use of lookup_order, else the final text.
# Every answer waits DELAY seconds before its headers (FakeServer's `delay:`), then streams as usual.
# agent_turn_server.js sends the same bytes for about half the CPU; the bench uses it when `node` is on PATH.
#
#   ruby bench/support/agent_turn_server.rb DELAY_SECONDS TOOL_TURNS     prints the base URL, serves until TERM/INT
require "json"
require_relative "../../lib/ruby_llm/agent_sdk/testing/fake_server"

delay = Float(ARGV.fetch(0))
tool_turns = Integer(ARGV.fetch(1))
final_text = "Your order has shipped with DHL Express, tracking number 1Z999AA10123456784; it should arrive on Friday."

turn = lambda do |req|
  done = req.body["messages"].sum do |m|
    m["role"] == "user" && m["content"].is_a?(Array) ? m["content"].count { |b| b["type"] == "tool_result" } : 0
  end
  if done < tool_turns
    { text: "Let me check that.", tool_use: { name: "lookup_order", input: { order_number: "ORD-#{done}" } },
      usage: { input_tokens: 900 + 100 * done, output_tokens: 40 }, delay: delay }
  else
    { text: final_text, usage: { input_tokens: 1200, output_tokens: 30 }, delay: delay }
  end
end

server = RubyLLM::AgentSDK::Testing::FakeServer.new([], default: turn).start
$stdout.puts server.base_url
$stdout.flush

wake_r, wake_w = IO.pipe
%w[INT TERM].each do |signal|
  trap(signal) do
    wake_w.write_nonblock(".")
  rescue IOError, SystemCallError
    nil
  end
end
wake_r.read(1)
server.stop
