# frozen_string_literal: true

require "json"
require "securerandom"

module RubyLLM
  module AgentSDK
    module Testing
      class FakeServer
        # One scripted model answer, validated, rendered as an Anthropic message / SSE events or as OpenAI chat
        # completion chunks. Built from a Hash with Symbol or String keys (so JSON script files work unchanged).
        class Turn
          KEYS = %i[text texts tool_use tool_uses thinking stop_reason stop_sequence usage model
                    delay chunk_delay burst status error headers fault fault_after raw].freeze
          FAULTS = %i[reset_before_headers reset_mid_stream error_event stall].freeze
          ERROR_TYPES = {
            400 => "invalid_request_error", 401 => "authentication_error", 402 => "billing_error",
            403 => "permission_error", 404 => "not_found_error", 408 => "timeout_error", 413 => "request_too_large",
            429 => "rate_limit_error", 500 => "api_error", 504 => "timeout_error", 529 => "overloaded_error"
          }.freeze
          FINISH_REASONS = { "end_turn" => "stop", "stop_sequence" => "stop", "tool_use" => "tool_calls",
                             "max_tokens" => "length", "refusal" => "content_filter" }.freeze
          USAGE_KEYS = %i[input_tokens output_tokens cache_creation_input_tokens cache_read_input_tokens].freeze

          attr_reader :status, :headers, :fault, :delay, :chunk_delay, :burst, :raw

          def self.error_type(status)
            ERROR_TYPES.fetch(status) { status >= 500 ? "api_error" : "invalid_request_error" }
          end

          # The smallest value that validates against a (simple) JSON schema.
          def self.sample(schema)
            return schema["enum"].first if schema["enum"].is_a?(Array)

            case Array(schema["type"]).first
            when "object" then Array(schema["required"]).to_h { |k| [k, sample(schema.dig("properties", k) || {})] }
            when "array" then []
            when "string" then "OK"
            when "integer", "number" then 0
            when "boolean" then false
            end
          end

          # Procs stay Procs (called per request); Hashes are validated now.
          def self.check!(turn)
            turn.respond_to?(:call) ? turn : new(turn)
          end

          def initialize(hash)
            raise ArgumentError, "a fake server turn is a Hash or a Proc, got #{hash.inspect}" unless hash.is_a?(Hash)

            @h = symbolize(hash)
            unknown = @h.keys - KEYS
            raise ArgumentError, "unknown fake server turn key(s) #{unknown.inspect}; known: #{KEYS}" if unknown.any?

            @fault = @h[:fault]&.to_sym
            if @fault && !FAULTS.include?(@fault)
              raise ArgumentError, "unknown fault #{@fault.inspect}; known: #{FAULTS}"
            end

            @status = Integer(@h.fetch(:status, 200))
            @headers = (@h[:headers] || {}).to_h { |k, v| [k.to_s.downcase, v.to_s] }
            @delay = @h[:delay].to_f
            @chunk_delay = @h[:chunk_delay].to_f
            @burst = @h[:burst] ? true : false # the whole stream in one socket write (no chunk_delay, no fault)
            raise ArgumentError, "burst: excludes chunk_delay and fault" if @burst && (@chunk_delay.positive? || @fault)
            @raw = @h[:raw] && raw_pieces(@h[:raw])
            @tool_uses = (@h[:tool_uses] || Array(@h[:tool_use] && [@h[:tool_use]])).map { |t| symbolize(t) }
            @tool_uses.each { |t| raise ArgumentError, "tool_use needs a name: #{t.inspect}" unless t[:name] }
          end

          def error?
            !@raw && @status >= 300
          end

          # The error object: `{type:, message:}`; the type defaults from the status (or overloaded for error events).
          def error
            given = symbolize(@h[:error] || {})
            type = given[:type] || (error? ? self.class.error_type(@status) : "overloaded_error")
            { type: type, message: given[:message] || default_error_message(type) }
          end

          # How many events go out before a mid-stream fault: `fault_after:`, else half of them (at least one).
          def fault_after(total)
            @h[:fault_after] ? Integer(@h[:fault_after]).clamp(0, total) : [total / 2, 1].max
          end

          # The complete Anthropic message for this turn (what a non-streaming request returns).
          def message(request)
            content = []
            content << { type: "thinking", thinking: @h[:thinking].to_s, signature: signature } if @h[:thinking]
            Array(@h[:texts] || @h[:text]).each { |t| content << { type: "text", text: t.to_s } }
            @tool_uses.each do |t|
              content << { type: "tool_use", id: t[:id] || "toolu_01#{SecureRandom.alphanumeric(22)}",
                           name: t[:name].to_s, input: t[:input] || {} }
            end
            { id: "msg_01#{SecureRandom.alphanumeric(22)}", type: "message", role: "assistant",
              model: @h[:model] || request.body&.fetch("model", nil) || "claude-fake",
              content: content, stop_reason: stop_reason, stop_sequence: @h[:stop_sequence],
              usage: usage(request, content) }
          end

          # Anthropic SSE events, as [name, data] pairs, in the order the real API sends them.
          def events(msg)
            start = msg.merge(content: [], stop_reason: nil, stop_sequence: nil,
                              usage: msg[:usage].merge(output_tokens: 1))
            out = [["message_start", { type: "message_start", message: start }], ["ping", { type: "ping" }]]
            msg[:content].each_with_index { |block, i| out.concat(block_events(block, i)) }
            out << ["message_delta", { type: "message_delta", usage: msg[:usage],
                                       delta: { stop_reason: msg[:stop_reason], stop_sequence: msg[:stop_sequence] } }]
            out << ["message_stop", { type: "message_stop" }]
          end

          # OpenAI chat.completion.chunk payloads (the caller adds the final [DONE]).
          def chunks(msg)
            base = { id: "chatcmpl-#{msg[:id]}", object: "chat.completion.chunk", created: Time.now.to_i,
                     model: msg[:model] }
            choice = lambda do |delta, finish = nil|
              base.merge(choices: [{ index: 0, delta: delta, finish_reason: finish }])
            end
            out = [choice.call({ role: "assistant", content: "" })]
            text_blocks(msg).each { |t| words(t).each { |p| out << choice.call({ content: p }) } }
            tool_calls(msg).each_with_index do |call, i|
              out << choice.call({ tool_calls: [{ index: i, id: call[:id], type: "function",
                                                  function: { name: call[:function][:name], arguments: "" } }] })
              pieces(call[:function][:arguments]).each do |frag|
                out << choice.call({ tool_calls: [{ index: i, function: { arguments: frag } }] })
              end
            end
            out << choice.call({}, finish_reason(msg))
            out << base.merge(choices: [], usage: openai_usage(msg))
          end

          # OpenAI non-streaming chat.completion.
          def completion(msg)
            calls = tool_calls(msg)
            text = text_blocks(msg).join
            message = { role: "assistant", content: text.empty? && calls.any? ? nil : text }
            message[:tool_calls] = calls if calls.any?
            { id: "chatcmpl-#{msg[:id]}", object: "chat.completion", created: Time.now.to_i, model: msg[:model],
              choices: [{ index: 0, message: message, finish_reason: finish_reason(msg) }], usage: openai_usage(msg) }
          end

          private

          # raw: bytes sent as they are, for what a real server must never send (bad JSON or UTF-8, a wrong
          # content type, a stream cut in the middle of an event): a String, or an Array of Strings sent as separate
          # writes `chunk_delay:` apart. The head is `status:` and `headers:` (content-type text/event-stream unless
          # given); the body is chunked and ended properly, unless `fault: :reset_mid_stream` cuts it.
          def raw_pieces(raw)
            pieces = raw.is_a?(String) ? [raw] : raw
            unless pieces.is_a?(Array) && pieces.all?(String)
              raise ArgumentError, "raw: is a String or an Array of Strings, got #{raw.class}"
            end
            if @fault && @fault != :reset_mid_stream
              raise ArgumentError, "raw: takes no fault but :reset_mid_stream"
            end

            pieces.map { |piece| piece.dup.force_encoding(Encoding::BINARY) }
          end

          def symbolize(hash)
            hash.to_h { |k, v| [k.to_sym, v] }
          end

          def default_error_message(type)
            { "overloaded_error" => "Overloaded", "rate_limit_error" => "Rate limited (fake server)" }
              .fetch(type, "#{type} (fake server)")
          end

          def stop_reason
            (@h[:stop_reason] || (@tool_uses.any? ? "tool_use" : "end_turn")).to_s
          end

          def signature
            ["fake-signature:#{SecureRandom.hex(8)}"].pack("m0")
          end

          # Given usage wins; otherwise ~4 bytes a token of the request body and of the produced content.
          def usage(request, content)
            out_bytes = content.sum { |b| (b[:text] || b[:thinking] || JSON.generate(b[:input] || {})).bytesize }
            defaults = { input_tokens: [request.raw_body.to_s.bytesize / 4, 1].max,
                         cache_creation_input_tokens: 0, cache_read_input_tokens: 0,
                         output_tokens: [out_bytes / 4, 1].max }
            defaults.merge(symbolize(@h[:usage] || {}).slice(*USAGE_KEYS)).transform_values { |v| Integer(v) }
          end

          def block_events(block, index)
            delta = ->(d) { ["content_block_delta", { type: "content_block_delta", index: index, delta: d }] }
            start, deltas =
              case block[:type]
              when "text"
                [{ type: "text", text: "" }, words(block[:text]).map { |p| delta.call(type: "text_delta", text: p) }]
              when "thinking"
                [{ type: "thinking", thinking: "" },
                 words(block[:thinking]).map { |p| delta.call(type: "thinking_delta", thinking: p) } <<
                   delta.call(type: "signature_delta", signature: block[:signature])]
              else # tool_use: the first input_json_delta is empty, as the real API sends it
                fragments = ["", *pieces(JSON.generate(block[:input]))]
                [block.merge(input: {}), fragments.map { |p| delta.call(type: "input_json_delta", partial_json: p) }]
              end
            [["content_block_start", { type: "content_block_start", index: index, content_block: start }], *deltas,
             ["content_block_stop", { type: "content_block_stop", index: index }]]
          end

          # Text streams one word (with its trailing whitespace) per delta, so `chunk_delay` scales with its length.
          def words(str)
            str.to_s.scan(/\S+\s*|\s+/)
          end

          # Splits a string into a few character-aligned pieces (so every delta is valid UTF-8).
          def pieces(str)
            chars = str.to_s.chars
            return [] if chars.empty?

            chars.each_slice((chars.size / 3.0).ceil.clamp(1, 256)).map(&:join)
          end

          def text_blocks(msg)
            msg[:content].select { |b| b[:type] == "text" }.map { |b| b[:text] }
          end

          def tool_calls(msg)
            msg[:content].select { |b| b[:type] == "tool_use" }.map do |b|
              { id: b[:id], type: "function", function: { name: b[:name], arguments: JSON.generate(b[:input]) } }
            end
          end

          def finish_reason(msg)
            FINISH_REASONS.fetch(msg[:stop_reason], "stop")
          end

          def openai_usage(msg)
            u = msg[:usage]
            prompt = u[:input_tokens] + u[:cache_read_input_tokens] + u[:cache_creation_input_tokens]
            { prompt_tokens: prompt, completion_tokens: u[:output_tokens], total_tokens: prompt + u[:output_tokens],
              prompt_tokens_details: { cached_tokens: u[:cache_read_input_tokens] } }
          end
        end
      end
    end
  end
end
