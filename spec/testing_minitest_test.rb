# frozen_string_literal: true

# The Minitest side of ruby_llm/agent_sdk/testing, run by spec/testing_helpers_spec.rb in its own process:
#   ruby -w -Ilib spec/testing_minitest_test.rb
require "minitest/autorun"
require "ruby_llm/agent_sdk/testing/minitest"

class AgentSDKTestingAssertionsTest < Minitest::Test
  include RubyLLM::AgentSDK::Testing::Assertions

  SDK = RubyLLM::AgentSDK
  OPTIONS = { transport: :cli, cli_path: "/nonexistent/claude-must-not-start" }.freeze
  LOOKUP = { name: "lookup_order", input: { "order_number" => "ORD-1" } }.freeze

  @unstubbed = []
  class << self
    attr_reader :unstubbed
  end
  Minitest.after_run { puts "teardown unstubbed: #{!unstubbed.empty? && unstubbed.all?}" }

  def after_teardown
    super
    self.class.unstubbed << SDK::Testing.stubbed_transport.nil?
  end

  def test_assert_agent_run_passes_for_a_matching_run_and_returns_the_runs
    stub_agent_run(text: "ok")
    runs = assert_agent_run(prompt: /refund/, options: { model: "claude-haiku-4-5" }) do
      SDK.query("Please refund ORD-1", **OPTIONS, model: "claude-haiku-4-5").to_a
    end
    assert_equal ["Please refund ORD-1"], runs.map(&:prompt)
    assert_agent_run(count: 1)
  end

  def test_assert_agent_run_fails_with_what_it_saw
    stub_agent_run(text: "ok")
    error = assert_raises(Minitest::Assertion) do
      assert_agent_run(prompt: /refund/) { SDK.query("Where is ORD-1?", **OPTIONS).to_a }
    end
    assert_match(/expected the block to run an agent with a prompt matching \/refund\/, but 0 of the 1 run matched/, error.message)
    assert_match(/1\. "Where is ORD-1\?"/, error.message)
  end

  def test_refute_agent_run
    stub_agent_run(text: "ok")
    refute_agent_run { nil }
    error = assert_raises(Minitest::Assertion) { refute_agent_run { SDK.query("x", **OPTIONS).to_a } }
    assert_match(/expected the block not to run an agent/, error.message)
  end

  def test_assert_tool_called_in_runs_and_messages
    stub_agent_run(text: "ok", tool_calls: [LOOKUP])
    messages = SDK.query("x", **OPTIONS).to_a
    calls = assert_tool_called(:lookup_order, with: { "order_number" => "ORD-1" })
    assert_equal [{ name: "lookup_order", input: { "order_number" => "ORD-1" } }], calls
    assert_tool_called(:lookup_order, messages, count: 1)
    assert_tool_called(:lookup_order) { SDK.query("y", **OPTIONS).to_a }
    refute_tool_called(:refund)
  end

  def test_assert_tool_called_fails_with_the_calls_it_saw
    stub_agent_run(text: "ok", tool_calls: [LOOKUP])
    SDK.query("x", **OPTIONS).to_a
    error = assert_raises(Minitest::Assertion) { assert_tool_called(:lookup_order, with: { order_number: "ORD-2" }) }
    assert_match(/call the tool "lookup_order" with \{"order_number"=>"ORD-2"\}, but 0 of the 1 tool call matched:\n  lookup_order \{"order_number":"ORD-1"\}/,
                 error.message)
    error = assert_raises(Minitest::Assertion) { refute_tool_called(:lookup_order) }
    assert_match(/expected not to call the tool "lookup_order"/, error.message)
  end

  def test_stub_agent_stream_without_a_block_lasts_the_test
    stub_agent_stream('{"type":"system","subtype":"init","session_id":"s-1"}', '{"type":"result","subtype":"success"}')
    assert_equal %i[system result], SDK.query("x", **OPTIONS).map(&:type)
    refute_nil SDK::Testing.stubbed_transport
  end
end
