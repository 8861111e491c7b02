# frozen_string_literal: true

require "rspec/core"
require "ruby_llm/agent_sdk/testing"

# In spec/rails_helper.rb (or spec_helper.rb): require "ruby_llm/agent_sdk/testing/rspec". Every example group gets
# the helpers (stub_agent_stream, stub_agent_run, agent_runs, with_fake_model_server) and the matchers
# (have_run_agent, have_called_tool); stubs and recorded runs are dropped after each example.
RSpec.configure do |config|
  config.include RubyLLM::AgentSDK::Testing::Helpers
  config.include RubyLLM::AgentSDK::Testing::Matchers
  config.after { RubyLLM::AgentSDK::Testing.reset! }
end
