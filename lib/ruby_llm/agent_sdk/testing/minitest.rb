# frozen_string_literal: true

require "minitest"
require "ruby_llm/agent_sdk/testing"

# In test/test_helper.rb: require "ruby_llm/agent_sdk/testing/minitest", then in a test case (ActiveSupport::TestCase,
# Minitest::Test): include RubyLLM::AgentSDK::Testing::Assertions — assert_agent_run, refute_agent_run,
# assert_tool_called, refute_tool_called and the helpers (stub_agent_stream, stub_agent_run, agent_runs,
# with_fake_model_server). Stubs are dropped after each test.
require "ruby_llm/agent_sdk/testing/assertions"
