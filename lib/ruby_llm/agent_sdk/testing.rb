# frozen_string_literal: true

require "ruby_llm/agent_sdk"

module RubyLLM
  module AgentSDK
    # Test support for the gem and for apps that use it:
    #
    # - FakeServer: a fake Anthropic Messages API that the real CLI (and the :api transport) can talk to offline;
    # - Helpers (stub_agent_stream, stub_agent_run, agent_runs, with_fake_model_server), with RSpec matchers
    #   (require "ruby_llm/agent_sdk/testing/rspec") and Minitest assertions (".../testing/minitest").
    #
    # The one seam between the gem and its stubs is below: Query, Client and query_all ask
    # Testing.stubbed_transport for a stand-in transport before they build a real one. It is nil unless a test
    # stubbed runs, so in production it costs one instance-variable read. The registry is process-wide, not
    # thread-local, on purpose: a job run by an in-process queue adapter, or a tool's own thread, must see the stub
    # the test installed. (Tests run in parallel threads of one process share it: parallelize with processes.)
    module Testing
      autoload :FakeServer, "ruby_llm/agent_sdk/testing/fake_server"
      autoload :Helpers, "ruby_llm/agent_sdk/testing/helpers"
      autoload :Stub, "ruby_llm/agent_sdk/testing/stub"
      autoload :StubbedTransport, "ruby_llm/agent_sdk/testing/stubbed_transport"
      autoload :AgentRun, "ruby_llm/agent_sdk/testing/agent_run"
      autoload :RunLines, "ruby_llm/agent_sdk/testing/run_lines"
      autoload :RunCriteria, "ruby_llm/agent_sdk/testing/run_criteria"
      autoload :ToolCallCriteria, "ruby_llm/agent_sdk/testing/tool_call_criteria"
      autoload :Matchers, "ruby_llm/agent_sdk/testing/matchers"
      autoload :Assertions, "ruby_llm/agent_sdk/testing/assertions"
      autoload :Replay, "ruby_llm/agent_sdk/testing/replay"

      @mutex = Mutex.new
      @stubs = [].freeze # installed stubs, innermost last
      @stubbed_transport = nil # @stubs.last, kept apart so the production check is one ivar read
      @runs = [].freeze # every stubbed run since the last reset, in start order

      class << self
        # The innermost installed Stub (it answers #open(prompt, options) with a transport), or nil.
        attr_reader :stubbed_transport

        def install(stub)
          @mutex.synchronize { @stubbed_transport = (@stubs = [*@stubs, stub].freeze).last }
          stub
        end

        def uninstall(stub)
          @mutex.synchronize { @stubbed_transport = (@stubs = @stubs.reject { |s| s.equal?(stub) }.freeze).last }
          nil
        end

        # A stored run (an AgentSession, or its lines) as an opened FakeServer that answers with the recorded
        # responses (Replay.server); with a block, yields it and stops it after.
        def replay(source, **options, &block)
          Replay.server(source, **options, &block)
        end

        # What stubbed runs started, in order (AgentRun), from any thread.
        def runs = @runs

        # The runs started while the block ran (the block's own threads included, if they ended with it).
        def runs_during
          before = runs.size
          yield
          runs.drop(before)
        end

        def record(run)
          @mutex.synchronize { @runs = [*@runs, run].freeze }
          run
        end

        # Removes every stub and forgets every run (the end of a test).
        def reset!
          @mutex.synchronize do
            @stubs = [].freeze
            @stubbed_transport = nil
            @runs = [].freeze
          end
        end
      end
    end
  end
end
