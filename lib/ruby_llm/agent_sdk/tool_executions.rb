# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    # Where side-effect tool calls (Tool.side_effect!) are recorded, so that no call runs twice for the same key — not
    # when a model repeats it, not when a run is resumed after its worker died. A store answers two calls:
    #
    #   begin(key, tool:, input:)     [:run]                    recorded as started: run it now
    #                                 [:done, content, is_error] it finished before: the model gets this result again
    #                                 [:unknown]                it started and never finished: the outcome is unknown
    #   finish(key, content, is_error)  the call's result, once it has one
    #
    # Give one with `tool_executions:` (both transports). In Rails the job passes
    # RubyLLM::AgentSDK::ActiveRecord::ToolExecutionStore over the agent_tool_executions table.
    module ToolExecutions
      # What the model is told of a call that started before and never reported back.
      def self.unknown_outcome(tool_name)
        "#{tool_name} was started with this input earlier and never reported back (its worker stopped): whether it " \
          "took effect is unknown. Do not assume it did or did not; check before calling it again, or ask the user."
      end

      # In memory, for one process (tests, scripts).
      class Memory
        def initialize
          @calls = {}
          @mutex = Mutex.new
        end

        def begin(key, tool:, input:)
          @mutex.synchronize do
            call = @calls[key]
            next [:done, call[:content], call[:is_error]] if call&.key?(:content)
            next [:unknown] if call

            @calls[key] = { tool: tool, input: input }
            [:run]
          end
        end

        def finish(key, content, is_error)
          @mutex.synchronize { @calls.fetch(key).merge!(content: content, is_error: is_error) }
          nil
        end

        # { key => { tool:, input:, content:, is_error: } } (a copy).
        def calls
          @mutex.synchronize { @calls.transform_values(&:dup) }
        end
      end
    end
  end
end
