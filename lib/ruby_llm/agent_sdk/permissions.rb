# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    # can_use_tool: ->(tool_name, input, context) { Permissions::Result.allow / .deny(message) }
    #
    # The CLI asks only when its own rules say "ask" (so not under :bypass_permissions), and only because the gem
    # starts it with `--permission-prompt-tool stdio` whenever can_use_tool is given.
    module Permissions
      # Context of one permission request.
      Context = Struct.new(:tool_use_id, :suggestions, :agent_id, :input, keyword_init: true)

      # What can_use_tool returns.
      class Result
        attr_reader :behavior, :message, :updated_input, :interrupt

        def self.allow(updated_input: nil) = new("allow", updated_input: updated_input)
        def self.deny(message = "Denied", interrupt: false) = new("deny", message: message.to_s, interrupt: interrupt)

        def initialize(behavior, message: nil, updated_input: nil, interrupt: false)
          @behavior = behavior
          @message = message
          @updated_input = updated_input
          @interrupt = interrupt
          freeze
        end

        def allow? = behavior == "allow"

        def to_cli(original_input)
          return { "behavior" => "allow", "updatedInput" => updated_input || original_input } if allow?

          { "behavior" => "deny", "message" => message, "interrupt" => interrupt }
        end
      end

      # Calls the callback; anything but an allow, and any exception, is a deny (fail closed).
      def self.decide(callback, tool_name, input, context)
        result = callback.call(tool_name, input, context)
        case result
        when Result then result
        when true then Result.allow
        else Result.deny(result.is_a?(String) ? result : "Denied by can_use_tool")
        end
      rescue StandardError, ScriptError => e
        Hooks.logger.error(Redaction.text("can_use_tool raised #{e.class}: #{e.message} — denying #{tool_name}"))
        Result.deny("Permission check failed (#{e.class}); denied")
      end
    end
  end
end
