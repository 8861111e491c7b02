# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    # Test support: a fake Anthropic Messages API server that the real CLI (and the :api transport) can talk to offline.
    module Testing
      autoload :FakeServer, "ruby_llm/agent_sdk/testing/fake_server"
    end
  end
end
