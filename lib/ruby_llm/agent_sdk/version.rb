# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    VERSION = "0.1.0"
  end
end
