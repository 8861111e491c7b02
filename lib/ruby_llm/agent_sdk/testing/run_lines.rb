# frozen_string_literal: true

require "json"
require "securerandom"

module RubyLLM
  module AgentSDK
    module Testing
      # The stream-json lines of one plausible run, shaped like the given transport's: system init → (assistant
      # tool_use → user tool_result) when there are tool calls → assistant text → result with usage, cost and turns.
      # :cli splits an assistant message into one line per content block and a user message into one line per
      # tool result, as Claude Code does; :api sends whole messages and its result carries total_cost_micros.
      #
      #   RunLines.build("Where is ORD-1?", options, text: "It shipped",
      #                  tool_calls: [{ name: "lookup_order", input: { "order_number" => "ORD-1" }, result: "shipped" }])
      module RunLines
        TURN_USAGE = { "input_tokens" => 100, "cache_creation_input_tokens" => 0, "cache_read_input_tokens" => 0,
                       "output_tokens" => 20 }.freeze

        class << self
          # tool_calls: [{ name:, input: {}, id: nil, result: "ok", is_error: false }] (String or Symbol keys).
          def build(_prompt, options, text:, tool_calls: [], cost: 0.0021, turns: nil, session_id: nil, subtype: "success")
            cli = options.transport != :api
            session_id ||= options.resume || SecureRandom.uuid
            model = options.model || "claude-sonnet-4-5"
            calls = tool_calls.each_with_index.map { |call, i| tool_call(call, i) }
            base = { "parent_tool_use_id" => nil, "session_id" => session_id }
            assistant_turns = [*([tool_use_blocks(calls)] unless calls.empty?), [{ "type" => "text", "text" => text }]]

            lines = [init(options, calls, model, session_id, cli)]
            assistant_turns.each_with_index do |blocks, i|
              lines.concat(assistant(blocks, model, base, cli, last: i == assistant_turns.size - 1))
              lines.concat(tool_results(calls, base, cli)) if i.zero? && !calls.empty?
            end
            lines << result(text, cost, turns || assistant_turns.size, assistant_turns.size, subtype, session_id, cli)
          end

          private

          def tool_call(call, index)
            call = call.to_h.transform_keys(&:to_sym)
            name = call.fetch(:name) { raise ArgumentError, "every tool call needs a name:" }.to_s
            result = call.fetch(:result, "ok")
            { id: call[:id] || format("toolu_stub_%02d", index + 1), name: name, input: call.fetch(:input, {}),
              result: result.is_a?(String) ? result : JSON.generate(result), is_error: call.fetch(:is_error, false) }
          end

          def init(options, calls, model, session_id, cli)
            line = { "type" => "system", "subtype" => "init" }
            line["cwd"] = options.cwd || Dir.pwd if cli
            line.merge!("tools" => calls.map { |c| c[:name] }.uniq, "mcp_servers" => [], "model" => model,
                        "permissionMode" => options.cli_permission_mode || "default")
            line.merge!(cli ? { "apiKeySource" => "none" } : { "transport" => "api", "provider" => options.provider.to_s })
            line.merge("session_id" => session_id, "uuid" => SecureRandom.uuid)
          end

          def tool_use_blocks(calls)
            calls.map { |c| { "type" => "tool_use", "id" => c[:id], "name" => c[:name], "input" => c[:input] } }
          end

          # One assistant message; the CLI writes one line per content block, all with the message's id and usage.
          def assistant(blocks, model, base, cli, last:)
            id = "msg_stub_#{SecureRandom.hex(8)}"
            message = lambda do |content|
              { "type" => "assistant",
                "message" => { "id" => id, "type" => "message", "role" => "assistant", "model" => model, "content" => content,
                               "stop_reason" => last ? "end_turn" : "tool_use", "stop_sequence" => nil, "usage" => TURN_USAGE },
                **base, "uuid" => SecureRandom.uuid }
            end
            cli ? blocks.map { |block| message.call([block]) } : [message.call(blocks)]
          end

          def tool_results(calls, base, cli)
            results = calls.map do |c|
              { "type" => "tool_result", "tool_use_id" => c[:id], "content" => c[:result], "is_error" => c[:is_error] }
            end
            message = lambda do |content|
              { "type" => "user", "message" => { "role" => "user", "content" => content }, **base, "uuid" => SecureRandom.uuid }
            end
            cli ? results.map { |r| message.call([r]) } : [message.call(results)]
          end

          def result(text, cost, turns, assistant_count, subtype, session_id, cli)
            usage = TURN_USAGE.transform_values { |v| v * assistant_count }
            line = { "type" => "result", "subtype" => subtype, "is_error" => subtype != "success", "duration_ms" => 1200,
                     "duration_api_ms" => 1000, "num_turns" => turns, "result" => text, "stop_reason" => "end_turn",
                     "total_cost_usd" => cost.to_f }
            line["total_cost_micros"] = (cost.to_r * 1_000_000).round unless cli
            line.merge("usage" => usage, "session_id" => session_id, "uuid" => SecureRandom.uuid)
          end
        end
      end
    end
  end
end
