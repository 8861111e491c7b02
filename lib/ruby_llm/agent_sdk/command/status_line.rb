# frozen_string_literal: true

require "io/console"

module RubyLLM
  module AgentSDK
    module Command
      # The live line of `agent-sdk run` on a terminal: turns, tokens, cost (Tally) and time, redrawn in place
      # (carriage return, erase line) under the transcript as messages arrive and every TICK seconds, and erased at the
      # end. Only ever used on a TTY.
      class StatusLine
        CLEAR = "\r\e[2K"
        TICK = 0.5

        def initialize(io)
          @io = io
          @mutex = Mutex.new
          @started = now
          @tally = Tally.new
          @drawn = false
        end

        # Prints lines above the status line and redraws it with message counted in.
        def print(lines, message = nil)
          @mutex.synchronize do
            @tally.count(message) if message
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
          "#{@tally.summary(turn_word: false)} · #{format("%.1f", now - @started)} s"
        end

        private

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
