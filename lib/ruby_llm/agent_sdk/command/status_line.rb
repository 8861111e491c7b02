# frozen_string_literal: true

require "io/console"

module RubyLLM
  module AgentSDK
    module Command
      # The live line of `agent-sdk run` on a terminal: turns, tokens, cost (estimated from Pricing until the
      # result gives the real figure) and time, redrawn in place (carriage return, erase line) under the transcript
      # as messages arrive and every TICK seconds, and erased at the end. Only ever used on a TTY.
      class StatusLine
        CLEAR = "\r\e[2K"
        TICK = 0.5

        def initialize(io)
          @io = io
          @mutex = Mutex.new
          @started = now
          @turns = {} # top-level model responses (one per message id; the CLI prints a line per content block)
          @cost = nil
          @drawn = false
        end

        # Prints lines above the status line and redraws it with message counted in.
        def print(lines, message = nil)
          @mutex.synchronize do
            count(message) if message
            @io.write(CLEAR) if @drawn
            lines.each { |line| @io.write("#{line}\n") }
            draw
          end
        end

        # Writes text to another stream of the same terminal (stderr) without tearing the status line.
        def notice(stream, text)
          @mutex.synchronize do
            @io.write(CLEAR) if @drawn
            @drawn = false
            stream.write("#{text}\n")
            draw
          end
        end

        def start
          @ticker = Thread.new do
            loop do
              sleep TICK
              @mutex.synchronize { draw }
            end
          end
          self
        end

        # Stops redrawing and erases the line.
        def finish
          @ticker&.kill&.join
          @mutex.synchronize do
            @io.write(CLEAR) if @drawn
            @drawn = false
            @io.flush
          end
        end

        def text
          usages = @result_usage ? [@result_usage] : @turns.values
          input = usages.sum { |u| u.values_at("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens").sum(&:to_i) }
          output = usages.sum { |u| u["output_tokens"].to_i }
          turns = @result_turns || @turns.size
          cost = @cost ? format("$%.6f%s", @cost, @result_turns ? "" : " (est.)") : "$?"
          "turn #{turns} · #{Transcript.delimit(input)} in / #{Transcript.delimit(output)} out tokens · #{cost} · " \
            "#{format("%.1f", now - @started)} s"
        end

        private

        def count(message)
          case message.type
          when :assistant then count_turn(message)
          when :result
            @result_turns = message.num_turns
            @cost = message.total_cost_usd if message.total_cost_usd
            @result_usage = message.usage if message.usage.is_a?(Hash)
          end
        end

        def count_turn(message)
          return if message.parent_tool_use_id

          id = message.to_h.dig("message", "id") || message.uuid || @turns.size
          @turns[id] = message.usage || {}
          estimate = estimate_cost(message.model)
          @cost = estimate if estimate
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

        def draw
          width = (@io.winsize[1] rescue 80) # rubocop:disable Style/RescueModifier -- not every TTY reports a size
          line = text
          line = "#{line[0, width - 2]}…" if width.positive? && line.size >= width
          @io.write("#{CLEAR}#{line}")
          @io.flush
          @drawn = true
        end

        def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      end
    end
  end
end
