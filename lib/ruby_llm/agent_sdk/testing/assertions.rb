# frozen_string_literal: true

require "ruby_llm/agent_sdk/testing"

module RubyLLM
  module AgentSDK
    module Testing
      # Minitest assertions over stubbed runs (require "ruby_llm/agent_sdk/testing/minitest", then include this in a
      # test case). With a block they look at the runs the block started, else at every run of the test (agent_runs).
      #
      #   assert_agent_run(prompt: /refund/, options: { model: "claude-haiku-4-5" }) { AgentJob.perform_now(session.id) }
      #   assert_tool_called :lookup_order, session, with: { "order_number" => "ORD-1" }
      #
      # Includes Helpers; stubs and recorded runs are dropped after each test.
      module Assertions
        include Helpers

        # Returns the matching runs.
        def assert_agent_run(prompt: nil, options: {}, count: nil, &block)
          criteria = RunCriteria.new(prompt: prompt, options: options, count: count)
          runs = block ? Testing.runs_during(&block) : agent_runs
          assert(criteria.satisfied_by?(runs), -> { criteria.failure_message(runs) })
          criteria.matching(runs)
        end

        def refute_agent_run(prompt: nil, options: {}, &block)
          criteria = RunCriteria.new(prompt: prompt, options: options)
          runs = block ? Testing.runs_during(&block) : agent_runs
          refute(criteria.satisfied_by?(runs), -> { criteria.negated_failure_message(runs) })
        end

        # source: an AgentSession (its agent_messages rows), agent runs or Messages; default every run of the test.
        # with: a subset of the tool's input. Returns the matching calls ({ name:, input: }).
        def assert_tool_called(name, source = nil, with: nil, count: nil, &block)
          criteria = ToolCallCriteria.new(name, input: with, count: count)
          calls = ToolCallCriteria.calls_in(block ? Testing.runs_during(&block) : source || agent_runs)
          assert(criteria.satisfied_by?(calls), -> { criteria.failure_message(calls) })
          criteria.matching(calls)
        end

        def refute_tool_called(name, source = nil, with: nil, &block)
          criteria = ToolCallCriteria.new(name, input: with)
          calls = ToolCallCriteria.calls_in(block ? Testing.runs_during(&block) : source || agent_runs)
          refute(criteria.satisfied_by?(calls), -> { criteria.negated_failure_message(calls) })
        end

        def after_teardown
          Testing.reset!
          super
        end
      end
    end
  end
end
