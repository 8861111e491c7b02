# frozen_string_literal: true

require "json"
require_relative "agent_sdk/version"
require_relative "agent_sdk/errors"
require "agent_sdk/agent_sdk"
require_relative "agent_sdk/message"
require_relative "agent_sdk/hooks"
require_relative "agent_sdk/permissions"
require_relative "agent_sdk/tool"
require_relative "agent_sdk/tool_runner"
require_relative "agent_sdk/sdk_mcp_server"
require_relative "agent_sdk/options"
require_relative "agent_sdk/child_process"
require_relative "agent_sdk/cli"
require_relative "agent_sdk/query"
require_relative "agent_sdk/client"

module RubyLLM
  # Run LLM agents from Ruby: RubyLLM::AgentSDK.query(prompt, **options) { |message| … }
  module AgentSDK
    autoload :Testing, "ruby_llm/agent_sdk/testing"

    # Runs one agent query and yields each Message as it streams. Without a block, returns an Enumerator.
    # Options are validated before anything starts (ArgumentError names the valid ones).
    def self.query(prompt, **options, &block)
      run = Query.new(prompt, Options.new(**options))
      return run.to_enum unless block

      run.each(&block)
    end
  end
end
