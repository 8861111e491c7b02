# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    module Command
      # Turns, tokens and cost of a run as its messages go by: from each top-level model response (one per message
      # id: the CLI prints a line per content block) until the result, whose figures then win. Cost is estimated
      # from Pricing until a result gives the real one (nil when the model has no price).
      class Tally
        attr_reader :cost

        def initialize
          @turns = {}
          @cost = nil
          @result = nil
        end

        def count(message)
          case message.type
          when :assistant then count_turn(message) unless message.parent_tool_use_id || message["isSidechain"]
          when :result
            @result = message
            @cost = message.total_cost_usd if message.total_cost_usd
          end
          self
        end

        def turns = @result&.num_turns || @turns.size
        def estimated? = @result.nil? || @result.total_cost_usd.nil?

        # [input (cached tokens included), output]
        def tokens
          usages = @result&.usage.is_a?(Hash) ? [@result.usage] : @turns.values
          input = usages.sum { |u| u.values_at("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens").sum(&:to_i) }
          [input, usages.sum { |u| u["output_tokens"].to_i }]
        end

        # "2 turns · 2,200 in / 50 out tokens · $0.007350" ("(est.)" after an estimate, "$?" without a price).
        def summary(turn_word: true)
          input, output = tokens
          cost = @cost ? format("$%.6f%s", @cost, estimated? ? " (est.)" : "") : "$?"
          turns_text = turn_word ? "#{turns} turn#{"s" unless turns == 1}" : "turn #{turns}"
          "#{turns_text} · #{Transcript.delimit(input)} in / #{Transcript.delimit(output)} out tokens · #{cost}"
        end

        private

        def count_turn(message)
          id = message.to_h.dig("message", "id") || message.uuid || @turns.size
          @turns[id] = message.usage || {}
          estimate = estimate_cost(message.model)
          @cost = estimate if estimate && @result.nil?
        end

        # USD so far from the usage of each turn and the model's price (nil when the model has none).
        def estimate_cost(model)
          price = Pricing.price_for(model)
          return nil unless price

          micros = @turns.values.sum do |u|
            (u["input_tokens"].to_i * price[:input]) + (u["cache_creation_input_tokens"].to_i * price[:cache_write_5m]) +
              (u["cache_read_input_tokens"].to_i * price[:cache_read]) + (u["output_tokens"].to_i * price[:output])
          end
          micros / 1e12
        end
      end
    end
  end
end
