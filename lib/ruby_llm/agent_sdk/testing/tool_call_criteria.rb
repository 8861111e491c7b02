# frozen_string_literal: true

require "json"

module RubyLLM
  module AgentSDK
    module Testing
      # Which tool calls count for have_called_tool / assert_tool_called, found in stubbed runs (AgentRun), Messages,
      # or an AgentSession's agent_messages rows (their tool_calls column: [{"id", "name", "input"}]).
      #
      # A name matches the tool's own name and the CLI's spelling of a Ruby tool, mcp__<server>__<name>. `with:` is a
      # subset of the input: every key given must be there with a matching value (=== after string keys; nested
      # Hashes likewise), other keys may be there too.
      class ToolCallCriteria
        attr_reader :name, :input, :count

        # Every tool call in what is given, as { name: String, input: Hash } in order.
        def self.calls_in(source)
          case source
          when Array then source.flat_map { |item| calls_in(item) }
          when AgentRun then calls_in(source.messages)
          when Message then source.tool_calls.map { |call| normalize(call) }
          when Hash then [normalize(source)]
          else
            return calls_in(rows(source.agent_messages)) if source.respond_to?(:agent_messages)
            return calls_in(source.to_a) if defined?(::ActiveRecord::Relation) && source.is_a?(::ActiveRecord::Relation)
            return Array(source.tool_calls).map { |call| normalize(call) } if source.respond_to?(:tool_calls)
            return calls_in(source.to_a) if source.respond_to?(:to_a)

            raise ArgumentError, "no tool calls in a #{source.class}: give agent runs, Messages or an AgentSession"
          end
        end

        def self.rows(relation)
          relation = relation.reload if relation.respond_to?(:reload) # the job may have added rows since it was loaded
          relation.to_a
        end

        def self.normalize(call)
          call = call.transform_keys(&:to_s)
          input = call["input"]
          input = JSON.parse(input) if input.is_a?(String) # a json column read back as text by some adapters
          { name: call["name"].to_s, input: input.is_a?(Hash) ? input : {} }
        end

        def initialize(name, input: nil, count: nil)
          @name = name.to_s
          @input = input && stringify(input)
          @count = count
        end

        def with(input: @input, count: @count)
          self.class.new(name, input: input, count: count)
        end

        def matching(calls)
          calls.select { |call| name_match?(call[:name]) && (input.nil? || subset?(input, call[:input])) }
        end

        def satisfied_by?(calls)
          found = matching(calls).size
          count ? found == count : found.positive?
        end

        def description
          text = +"call the tool #{name.inspect}"
          text << " with #{input.inspect}" if input
          text << " #{count} time#{"s" unless count == 1}" if count
          text
        end

        def failure_message(calls)
          "expected to #{description}, but #{seen(calls)}"
        end

        def negated_failure_message(calls)
          "expected not to #{description}, but #{seen(calls)}"
        end

        private

        def name_match?(called)
          called == name || (called.start_with?("mcp__") && called.end_with?("__#{name}"))
        end

        def subset?(expected, actual)
          return false unless actual.is_a?(Hash)

          expected.all? do |key, value|
            next false unless actual.key?(key)

            value.is_a?(Hash) ? subset?(value, actual[key]) : value === actual[key]
          end
        end

        def stringify(value)
          value.is_a?(Hash) ? value.to_h { |k, v| [k.to_s, stringify(v)] } : value
        end

        def seen(calls)
          return "no tool was called" if calls.empty?

          list = calls.map { |call| "\n  #{call[:name]} #{Redaction.text(JSON.generate(call[:input]))}" }
          "#{matching(calls).size} of the #{calls.size} tool call#{"s" unless calls.size == 1} matched:#{list.join}"
        end
      end
    end
  end
end
