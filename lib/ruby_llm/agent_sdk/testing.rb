# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    # Test support: a fake Anthropic Messages API server that the real CLI (and the :api transport) can talk to offline.
    module Testing
    end
  end
end

require_relative "testing/fake_server"
