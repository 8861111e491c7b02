# frozen_string_literal: true

require "ruby_llm/agent_sdk/testing"

module RubyLLM
  module AgentSDK
    module Testing
      # RSpec matchers over stubbed runs (require "ruby_llm/agent_sdk/testing/rspec" includes them):
      #
      #   expect { AgentJob.perform_now(session.id) }
      #     .to have_run_agent.with_prompt(/refund/).with_options(model: "claude-haiku-4-5")
      #   expect(session).to have_called_tool(:lookup_order).with("order_number" => "ORD-1")
      #   expect { … }.to have_called_tool(:lookup_order).once       # agent_runs, Messages and AgentRuns work too
      module Matchers
        def have_run_agent
          HaveRunAgent.new
        end

        def have_called_tool(name)
          HaveCalledTool.new(name)
        end

        # What the two matchers share: the count, block expectations, and messages from the criteria.
        class Base
          def times(count)
            @criteria = @criteria.with(count: count)
            self
          end

          def once = times(1)
          def twice = times(2)
          def supports_block_expectations? = true
          def description = @criteria.description
          def failure_message = @criteria.failure_message(@seen)
          def failure_message_when_negated = @criteria.negated_failure_message(@seen)

          def matches?(actual)
            @seen = seen(actual.is_a?(Proc) ? Testing.runs_during(&actual) : actual)
            @criteria.satisfied_by?(@seen)
          end

          def does_not_match?(actual) = !matches?(actual)
        end

        # expect { … }.to have_run_agent (runs started in the block), or expect(agent_runs).to have_run_agent.
        class HaveRunAgent < Base
          def initialize
            super
            @criteria = RunCriteria.new
          end

          def with_prompt(prompt)
            @criteria = @criteria.with(prompt: prompt)
            self
          end

          def with_options(**options)
            @criteria = @criteria.with(options: options)
            self
          end

          private

          def seen(actual) = Array(actual)
        end

        # expect(session_or_runs).to have_called_tool(:name).with(input subset), or expect { … }.to have_called_tool.
        class HaveCalledTool < Base
          def initialize(name)
            super()
            @criteria = ToolCallCriteria.new(name)
          end

          def with(input = nil, **keywords)
            @criteria = @criteria.with(input: input || keywords)
            self
          end

          private

          def seen(actual) = ToolCallCriteria.calls_in(actual)
        end
      end
    end
  end
end
