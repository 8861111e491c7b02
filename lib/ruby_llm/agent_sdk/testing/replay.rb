# frozen_string_literal: true

require "json"

module RubyLLM
  module AgentSDK
    module Testing
      # Turns a stored run back into a scripted FakeServer: each model response the run recorded (its assistant
      # lines: thinking, text, tool_use blocks with their ids, stop reason, usage, model) becomes one turn, in order,
      # so the same prompt run against the server gets the same answers and your tools are called with the same
      # inputs — a run seen in production becomes a spec:
      #
      #   RubyLLM::AgentSDK::Testing.replay(AgentSession.find(42)) do |server|
      #     AgentJob.perform_now(AgentSession.create!(prompt: "…").id)   # with base_url: server.base_url
      #   end
      #
      # `source`: a record with agent_messages (the Rails layer's AgentSession, rows in position order, their `raw`
      # lines), or the lines themselves (Strings, or Hashes already parsed). Assistant lines that share a message id
      # (the CLI writes one line per content block) are one turn; subagent lines (parent_tool_use_id set) are
      # left out, as are lines that do not parse. What the model never sent (API errors, a worker killed mid-call)
      # is not in the stored lines, so it is not replayed: the server answers past the end with its default turn.
      module Replay
        module_function

        # The FakeServer turns (Hashes) of a stored run.
        def turns(source)
          grouped = []
          lines(source).each do |line|
            next unless line["type"] == "assistant" && line["parent_tool_use_id"].nil? && line["message"].is_a?(Hash)

            message = line["message"]
            if grouped.last && message["id"] && grouped.last[:id] == message["id"]
              grouped.last[:messages] << message
            else
              grouped << { id: message["id"], messages: [message] }
            end
          end
          grouped.map { |group| turn(group[:messages]) }
        end

        # An opened FakeServer scripted with the run's turns (options go to FakeServer.new); with a block, yields it
        # and stops it after.
        def server(source, **options, &block)
          FakeServer.open(turns(source), **options, &block)
        end

        def lines(source)
          raw = if source.respond_to?(:agent_messages)
                  source.agent_messages.reorder(:position).pluck(:raw)
                else
                  Array(source)
                end
          raw.filter_map do |line|
            next line if line.is_a?(Hash)
            next if line.nil? || line.strip.empty?

            parsed = JSON.parse(line)
            parsed if parsed.is_a?(Hash)
          rescue JSON::ParserError
            nil
          end
        end

        def turn(messages)
          blocks = messages.flat_map { |m| Array(m["content"]) }.select { |b| b.is_a?(Hash) }
          thinking = blocks.select { |b| b["type"] == "thinking" }.map { |b| b["thinking"].to_s }
          texts = blocks.select { |b| b["type"] == "text" }.map { |b| b["text"].to_s }
          tool_uses = blocks.select { |b| b["type"] == "tool_use" }
                            .map { |b| { id: b["id"], name: b["name"], input: b["input"] || {} }.compact }
          last = messages.last
          usage = (last["usage"] || {}).slice(*FakeServer::Turn::USAGE_KEYS.map(&:to_s))
          turn = { texts: texts, tool_uses: tool_uses }
          turn[:thinking] = thinking.join("\n\n") unless thinking.empty?
          turn[:stop_reason] = last["stop_reason"] if last["stop_reason"]
          turn[:model] = last["model"] if last["model"]
          turn[:usage] = usage.transform_keys(&:to_sym) unless usage.empty?
          turn
        end
        private_class_method :lines, :turn
      end
    end
  end
end
