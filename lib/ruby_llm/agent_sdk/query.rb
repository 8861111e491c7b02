# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    # One single-shot run: turns what a transport yields into Messages.
    class Query
      def initialize(prompt, options)
        raise ArgumentError, "prompt must be a non-empty String" unless prompt.is_a?(String) && !prompt.strip.empty?

        @prompt = prompt
        @options = options
        @cli = CLI.new(options)
      end

      def each
        @cli.stream(@prompt) { |item| yield Query.to_message(item, @options) }
        nil
      end

      # An Enumerator whose child process is stopped even if it is dropped half-way.
      def to_enum
        enum = Enumerator.new { |y| each { |message| y << message } }
        ObjectSpace.define_finalizer(enum, CLI.finalizer(@cli))
        enum
      end

      def self.to_message(item, options)
        return item if item.is_a?(Message)

        Message.parse(item)
      rescue JSONDecodeError => e
        raise if options.strict_parsing

        subtype = e.message.match?(/utf-?8/i) ? "invalid_utf8" : "invalid_json"
        Message.parse_error(subtype, excerpt: e.line_excerpt.to_s, bytes: item.bytesize)
      end
    end
  end
end
