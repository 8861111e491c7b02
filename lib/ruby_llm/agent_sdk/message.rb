# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    # One message of the stream, whichever transport produced it.
    #
    # Messages are built by the C extension in one pass over a stream-json line: the fields below are extracted,
    # the raw line is kept, and the full Hash is built only when #to_h is called (once).
    class Message
      # Instance variables set by the C parser (Native.parse_message): @type (Symbol), @subtype, @uuid, @session_id,
      # @content, @tool_calls (Array of {id:, name:, input:}), @tool_name, @model, @usage (Hash), @total_cost_usd,
      # @num_turns, @duration_ms, @duration_api_ms, @is_error, @stop_reason, @parent_tool_use_id, @raw (frozen String).
      attr_reader :type, :subtype, :uuid, :session_id, :content, :tool_calls, :tool_name, :model, :usage,
                  :total_cost_usd, :num_turns, :duration_ms, :duration_api_ms, :is_error, :stop_reason,
                  :parent_tool_use_id, :raw

      class << self
        # Parses one stream-json line. Raises JSONDecodeError on malformed JSON or invalid UTF-8.
        def parse(line)
          Native.parse_message(line)
        end

        # Builds a message from a Hash (string or symbol keys), as if that JSON had arrived on the stream.
        def from_h(hash)
          parse(JSON.generate(hash))
        end

        # A message standing for a line the parser could not use (non-strict mode).
        # subtype: "invalid_json", "invalid_utf8" or "line_too_long".
        def parse_error(subtype, excerpt:, bytes:)
          from_h(type: "parse_error", subtype: subtype, is_error: true, bytes: bytes,
                 content: excerpt.dup.force_encoding(Encoding::UTF_8).scrub)
        end
      end

      def init? = type == :system && subtype == "init"
      def result? = type == :result
      def assistant? = type == :assistant
      def user? = type == :user
      def system? = type == :system
      def stream_event? = type == :stream_event

      # True for error results, parse errors and tool results flagged is_error.
      def error?
        return true if is_error == true || type == :parse_error

        result? && !subtype.nil? && subtype != "success"
      end

      # What a result carries for output_format: (the CLI's --json-schema): the parsed object, or nil.
      def structured_output
        result? ? to_h["structured_output"] : nil
      end

      # The whole line as a Hash with string keys, built on first use.
      def to_h
        @to_h ||= Native.parse_json(@raw).freeze
      end

      def [](key)
        to_h[key.to_s]
      end

      def ==(other)
        other.is_a?(Message) && other.raw == raw
      end
      alias eql? ==

      def hash
        raw.hash
      end

      def inspect
        parts = ["type=#{type.inspect}"]
        parts << "subtype=#{subtype.inspect}" if subtype
        parts << "content=#{content.to_s[0, 60].inspect}" if content
        parts << "tool_calls=#{tool_calls.size}" unless tool_calls.empty?
        parts << "session_id=#{session_id.inspect}" if session_id
        "#<#{self.class.name} #{parts.join(" ")}>"
      end
    end
  end
end
