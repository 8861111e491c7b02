# frozen_string_literal: true

require "json"

module RubyLLM
  module AgentSDK
    module Command
      # How `agent-sdk run` and `agent-sdk replay` print Messages: plain lines, one or more per message (what a person
      # reads), or with json: true the Message's wire hash, one JSON object per line (NDJSON). Messages a person does
      # not need (stream events, the CLI's bookkeeping lines) print nothing in plain mode.
      class Transcript
        TOOL_INPUT_CHARS = 200
        TOOL_RESULT_CHARS = 160

        def initialize(json: false)
          @json = json
        end

        # The lines (without newlines) that print message.
        def lines(message)
          return [JSON.generate(message.to_h)] if @json
          return [] if message["isMeta"] # the CLI's own transcripts: caveats and command echoes, not the conversation

          lines = message_lines(message)
          message.parent_tool_use_id || message["isSidechain"] ? lines.map { |line| "  | #{line}" } : lines
        end

        # "1,234 in / 56 out" from a usage Hash (input counts cached tokens too), or nil.
        def self.tokens(usage)
          return nil unless usage.is_a?(Hash)

          input = usage.values_at("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens").sum(&:to_i)
          "#{delimit(input)} in / #{delimit(usage["output_tokens"].to_i)} out"
        end

        def self.delimit(number)
          number.to_s.reverse.scan(/\d{1,3}/).join(",").reverse
        end

        private

        def message_lines(message)
          case message.type
          when :system then system_lines(message)
          when :assistant then assistant_lines(message)
          when :user then user_lines(message)
          when :result then result_lines(message)
          when :parse_error then ["unreadable line (#{message.subtype}, #{message["bytes"]} bytes): #{message.content}"]
          else []
          end
        end

        def system_lines(message)
          return ["system: #{message.subtype || "message"}#{": #{message.content}" if message.content}"] unless message.init?

          data = message.to_h
          details = ["session #{message.session_id}", ("model #{message.model}" if message.model),
                     ("cwd #{data["cwd"]}" if data["cwd"])].compact
          ["init: #{details.join(" · ")}"]
        end

        def assistant_lines(message)
          lines = []
          lines.concat(prefixed("assistant: ", message.content)) if message.content && !message.content.empty?
          message.tool_calls.each do |call|
            lines << "-> #{call[:name]} #{truncate(JSON.generate(call[:input]), TOOL_INPUT_CHARS)}"
          end
          lines
        end

        def user_lines(message)
          content = message.to_h.dig("message", "content")
          results = content.is_a?(Array) ? content.select { |b| b.is_a?(Hash) && b["type"] == "tool_result" } : []
          return prefixed("user: ", message.content) if results.empty?

          results.map do |block|
            text = tool_result_text(block["content"]).strip.lines.first.to_s.strip
            "<- #{"error: " if block["is_error"]}#{truncate(text, TOOL_RESULT_CHARS)}"
          end
        end

        def result_lines(message)
          data = message.to_h
          parts = ["result: #{message.subtype || "done"}#{" (is_error)" if message.is_error && message.subtype == "success"}"]
          parts << "#{message.num_turns} turn#{"s" unless message.num_turns == 1}" if message.num_turns
          parts << "#{self.class.tokens(message.usage)} tokens" if message.usage
          parts << format("$%.6f", message.total_cost_usd) if message.total_cost_usd
          parts << format("%.1f s", message.duration_ms / 1000.0) if message.duration_ms
          lines = [parts.join(" · ")]
          errors = Array(data["errors"]).map(&:to_s).reject(&:empty?)
          lines.concat(errors.map { |error| "error: #{error}" })
          lines
        end

        def tool_result_text(content)
          return content.to_s unless content.is_a?(Array)

          content.map { |b| b.is_a?(Hash) ? b["text"].to_s : b.to_s }.join("\n")
        end

        def prefixed(prefix, text)
          indent = " " * prefix.size
          text.to_s.split("\n").each_with_index.map { |line, i| "#{i.zero? ? prefix : indent}#{line}".rstrip }
        end

        def truncate(text, limit)
          text.size > limit ? "#{text[0, limit - 1]}…" : text
        end
      end
    end
  end
end
