# frozen_string_literal: true

require "tmpdir"
require "ruby_llm/agent_sdk/testing"

module RubyLLM
  module AgentSDK
    module Testing
      # Test helpers for apps, for any test framework (the RSpec and Minitest integrations include this and unstub
      # after each test):
      #
      #   stub_agent_run(text: "It shipped", tool_calls: [{ name: "lookup_order", input: { "order_number" => "ORD-1" } }])
      #   AgentJob.perform_now(session.id)            # no CLI started, no request sent, on either transport
      #   agent_runs.last.prompt                      # what was asked, with which options and what came back
      #
      # Stubs are process-wide (a job running in another thread of the process sees them) and nest: the innermost wins.
      module Helpers
        # Every query (RubyLLM::AgentSDK.query, Query, Client#query, query_all) on any transport yields these lines
        # (JSON Strings, Hashes, Messages, or an Exception to raise there) instead of starting a CLI or sending a
        # request — while the block runs, or without a block until unstub_agent_runs (the end of the test).
        def stub_agent_stream(*lines, &block)
          with_agent_stub(Stub.new(lines), &block)
        end

        # A realistic run for the run's own transport (see RunLines): system init, one assistant turn with the tool
        # calls and their results when there are any, the final text, and a result with usage, cost and turns.
        #   tool_calls: [{ name: "lookup_order", input: { "order_number" => "ORD-1" }, result: "shipped" }]
        def stub_agent_run(text:, tool_calls: [], cost: 0.0021, turns: nil, session_id: nil, subtype: "success", &block)
          stub = Stub.new do |prompt, options|
            RunLines.build(prompt, options, text: text, tool_calls: tool_calls, cost: cost, turns: turns,
                                            session_id: session_id, subtype: subtype)
          end
          with_agent_stub(stub, &block)
        end

        # The stubbed runs so far (Testing::AgentRun: prompt, options, messages, tool_calls, result), from any thread.
        def agent_runs
          Testing.runs
        end

        # Removes every stub and forgets the recorded runs.
        def unstub_agent_runs
          Testing.reset!
        end

        # A FakeServer scripted with turns, and RubyLLM::AgentSDK.config.query_options pointing runs at it for the
        # block: base_url / api_key for :api; for :cli env (ANTHROPIC_BASE_URL, a test key, a private HOME, no
        # nonessential traffic). transport: defaults to config.transport, else :cli; given, it is set too. Runs stay
        # real (the CLI starts, requests are sent); only the model is fake. The options are restored after the block.
        def with_fake_model_server(turns = [], transport: nil, **server_options)
          FakeServer.open(turns, **server_options) do |server|
            Dir.mktmpdir("agent_sdk_home") do |home|
              with_query_options(fake_server_options(server, home, transport)) { yield server }
            end
          end
        end

        private

        def with_agent_stub(stub)
          Testing.install(stub)
          return stub unless block_given?

          begin
            yield stub
          ensure
            Testing.uninstall(stub)
          end
        end

        def fake_server_options(server, home, transport)
          key = "sk-ant-test-fake-server"
          given = transport ? { transport: transport.to_sym } : {}
          if (transport || AgentSDK.config.transport)&.to_sym == :api
            given.merge(base_url: server.base_url, api_key: key)
          else
            given.merge(env: { "ANTHROPIC_BASE_URL" => server.base_url, "ANTHROPIC_API_KEY" => key, "HOME" => home,
                               "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC" => "1" })
          end
        end

        # config.query_options with these over them (env: merged key by key) for the block.
        def with_query_options(options)
          config = AgentSDK.config
          saved = config.query_options
          merged = saved.to_h.transform_keys(&:to_sym)
                        .merge(options) { |key, old, new| key == :env ? old.to_h.merge(new) : new }
          begin
            config.query_options = merged
            yield
          ensure
            config.query_options = saved
          end
        end
      end
    end
  end
end
