# frozen_string_literal: true

require "json"

module RubyLLM
  module AgentSDK
    # One pricing table (prices.json beside this file), extendable by the app:
    #
    #   RubyLLM::AgentSDK::Pricing.register("my-finetune", input: 2, output: 8, cache_read: 0.2)
    #   RubyLLM::AgentSDK::Pricing.load_file(Rails.root.join("config/llm_prices.json"))
    #
    # Prices are USD per million tokens; the C core works in integer micro-dollars per million tokens, and a model
    # matches the longest registered prefix of its id. A USD budget on a model with no price is an error at start.
    module Pricing
      FIELDS = %i[input cache_write_5m cache_write_1h cache_read output].freeze
      @table = {}
      @mutex = Mutex.new

      class << self
        def register(model, input:, output:, cache_write_5m: nil, cache_write_1h: nil, cache_read: nil)
          usd = { input: input, cache_write_5m: cache_write_5m || input, cache_write_1h: cache_write_1h || input,
                  cache_read: cache_read || input, output: output }
          micros = usd.to_h { |field, value| [field, to_micros(model, field, value)] }
          @mutex.synchronize { @table = @table.merge(model.to_s => micros.freeze).freeze }
          micros
        end

        def load_file(path)
          JSON.parse(File.read(path)).each do |model, prices|
            next if model.start_with?("_")

            register(model, **prices.transform_keys(&:to_sym))
          end
        end

        # {input:, cache_write_5m:, cache_write_1h:, cache_read:, output:} in micro-dollars per million tokens, or nil.
        def price_for(model)
          table = @table
          key = table.keys.select { |prefix| model.to_s.start_with?(prefix) }.max_by(&:length)
          key && table[key]
        end

        # The five integers the C core takes, or nil.
        def price_array(model)
          price_for(model)&.values_at(*FIELDS)
        end

        def models = @table.keys

        private

        def to_micros(model, field, value)
          unless value.is_a?(Numeric) && value.real? && value >= 0
            raise ArgumentError, "price #{field} of #{model} must be a non-negative number of USD per million tokens"
          end

          (Rational(value.to_s) * 1_000_000).ceil # exact for decimal prices; never rounds a price down
        end
      end

      load_file(File.join(__dir__, "prices.json"))
    end
  end
end
