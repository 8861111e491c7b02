# frozen_string_literal: true

require "json"
require_relative "agent_sdk/version"
require_relative "agent_sdk/redaction"
require_relative "agent_sdk/errors"
require_relative "agent_sdk/configuration"
require_relative "agent_sdk/instrumentation"
require "agent_sdk/agent_sdk"
require_relative "agent_sdk/message"
require_relative "agent_sdk/hooks"
require_relative "agent_sdk/permissions"
require_relative "agent_sdk/tool"
require_relative "agent_sdk/tool_executions"
require_relative "agent_sdk/tool_runner"
require_relative "agent_sdk/sdk_mcp_server"
require_relative "agent_sdk/options"
require_relative "agent_sdk/child_process"
require_relative "agent_sdk/cli_install"
require_relative "agent_sdk/cli"
require_relative "agent_sdk/api_transport"
require_relative "agent_sdk/query"
require_relative "agent_sdk/client"
require_relative "agent_sdk/pool"
require_relative "agent_sdk/pricing"
require_relative "agent_sdk/session_store"

module RubyLLM
  # Run LLM agents from Ruby: RubyLLM::AgentSDK.query(prompt, **options) { |message| … }
  module AgentSDK
    autoload :Testing, "ruby_llm/agent_sdk/testing"
    autoload :Broadcaster, "ruby_llm/agent_sdk/broadcaster"
    autoload :EmbeddingClient, "ruby_llm/agent_sdk/embedding_client"
    autoload :EmbeddingError, "ruby_llm/agent_sdk/embedding_client"
    autoload :Command, "ruby_llm/agent_sdk/command" # the agent-sdk executable (exe/agent-sdk)

    # Ready-made tools (Retrieval needs the neighbor gem; loaded on first use).
    module Tools
      autoload :Retrieval, "ruby_llm/agent_sdk/tools/retrieval"
    end

    # The Rails layer: loaded on first use, so a plain `require "agent_sdk"` loads no Rails code.
    module ActiveRecord
      autoload :Claim, "ruby_llm/agent_sdk/active_record/claim"
      autoload :SessionRecord, "ruby_llm/agent_sdk/active_record/session_record"
      autoload :MessageRecord, "ruby_llm/agent_sdk/active_record/message_record"
      autoload :Recorder, "ruby_llm/agent_sdk/active_record/recorder"
      autoload :SessionStore, "ruby_llm/agent_sdk/active_record/session_store"
      autoload :Delivery, "ruby_llm/agent_sdk/active_record/delivery"
      autoload :ActsAsAgent, "ruby_llm/agent_sdk/active_record/acts_as_agent"
      autoload :AgentMethods, "ruby_llm/agent_sdk/active_record/acts_as_agent"
      autoload :StateStore, "ruby_llm/agent_sdk/active_record/acts_as_agent"
      autoload :ToolExecutionStore, "ruby_llm/agent_sdk/active_record/tool_execution_store"
      autoload :Approvals, "ruby_llm/agent_sdk/active_record/approvals"
      autoload :Embeddable, "ruby_llm/agent_sdk/active_record/embeddable"
    end

    module ActiveJob
      autoload :SessionJob, "ruby_llm/agent_sdk/active_job/session_job"
      autoload :Heartbeat, "ruby_llm/agent_sdk/active_job/heartbeat"
      autoload :AskJob, "ruby_llm/agent_sdk/active_job/ask_job"
      autoload :EmbeddingJob, "ruby_llm/agent_sdk/active_job/embedding_job"
      autoload :RecoveryJob, "ruby_llm/agent_sdk/active_job/recovery_job"
    end

    # Runs one agent query and yields each Message as it streams. Without a block, returns an Enumerator.
    # Options are validated before anything starts (ArgumentError names the valid ones). pool: :name runs it on a
    # prewarmed CLI of that pool (config.agent_sdk.pool; see Pool), with the pool's options.
    def self.query(prompt, pool: nil, **options, &block)
      run = pool ? Query.new(prompt, pool: pool, **options) : Query.new(prompt, Options.build(**options))
      return run.to_enum unless block

      run.each(&block)
    end

    # Runs several :api queries at once, on one connection pool from this thread, and yields (index, message) as
    # they stream — a worker process can drive many runs without a thread each. Tools still run in Ruby.
    #
    #   RubyLLM::AgentSDK.query_all([{ prompt: "…", model: "claude-haiku-4-5" }, …], tools: [LookupOrder]) { |i, m| … }
    def self.query_all(jobs, **shared, &block)
      raise ArgumentError, "query_all needs a block" unless block
      raise ArgumentError, "jobs must be an Array of {prompt:, **options}" unless jobs.is_a?(Array) && jobs.all?(Hash)

      base = Options.build(transport: :api, **shared)
      runs = jobs.map do |job|
        prompt = job.fetch(:prompt) { raise ArgumentError, "every job needs a prompt:" }
        raise ArgumentError, "prompt must be a non-empty String" unless prompt.is_a?(String) && !prompt.strip.empty?

        own = job.except(:prompt)
        APITransport::Run.new(prompt, own.empty? ? base : base.with(**own))
      end
      if (stub = Testing.stubbed_transport) # the test seam: the runs one after another, no request
        runs.each_with_index { |run, i| stub.open(run.prompt, run.options).each { |message| block.call(i, message) } }
      elsif !runs.empty?
        APITransport.run_all(runs, &block)
      end
      nil
    end

    # transport: :api keeps keep-alive connections per thread, which every query and Client turn on that thread
    # reuses. This closes the calling thread's (a worker's shutdown hook, say); the next query opens new ones.
    def self.close_connections
      APITransport.close_thread_connections
    end
  end
end

require_relative "agent_sdk/rails/railtie" if defined?(::Rails::Railtie)
