# frozen_string_literal: true

require "logger"

module RubyLLM
  module AgentSDK
    # Hooks run by the CLI through `hook_callback` control requests, before it acts.
    #
    #   hooks: { pre_tool_use: [{ matcher: "Bash", handler: ->(ctx) { Hooks::Result.deny("no shell") } }] }
    #
    # A handler gets a Context and returns a Result (or nil for "no opinion"). A handler that raises fails closed:
    # a tool event is denied, any other event stops the run; the error is logged through Hooks.logger.
    module Hooks
      # The hook events of Claude Code 2.1.x (the official SDK's HOOK_EVENTS), by their Ruby names. Which of them
      # a CLI run in stream-json mode really sends is in the README ("Hook events").
      EVENTS = {
        pre_tool_use: "PreToolUse", post_tool_use: "PostToolUse", post_tool_use_failure: "PostToolUseFailure",
        post_tool_batch: "PostToolBatch", notification: "Notification", user_prompt_submit: "UserPromptSubmit",
        user_prompt_expansion: "UserPromptExpansion", session_start: "SessionStart", session_end: "SessionEnd",
        stop: "Stop", stop_failure: "StopFailure", subagent_start: "SubagentStart", subagent_stop: "SubagentStop",
        pre_compact: "PreCompact", post_compact: "PostCompact", permission_request: "PermissionRequest",
        permission_denied: "PermissionDenied", setup: "Setup", teammate_idle: "TeammateIdle",
        task_created: "TaskCreated", task_completed: "TaskCompleted", elicitation: "Elicitation",
        elicitation_result: "ElicitationResult", config_change: "ConfigChange", worktree_create: "WorktreeCreate",
        worktree_remove: "WorktreeRemove", instructions_loaded: "InstructionsLoaded", cwd_changed: "CwdChanged",
        file_changed: "FileChanged", message_display: "MessageDisplay"
      }.freeze
      # A name in the CLI's own spelling: passed through as it is, so an event newer than this list still works.
      CLI_EVENT_NAME = /\A[A-Z][A-Za-z0-9]*\z/.freeze

      class << self
        attr_writer :logger

        def logger
          @logger ||= Logger.new($stderr, progname: "agent_sdk")
        end

        # :pre_tool_use / "pre_tool_use" / "PreToolUse" → "PreToolUse". Any CamelCase name goes to the CLI as it is
        # (events added after this list); an unknown snake_case name is a typo and raises.
        def event_name(event)
          key = event.to_s
          return key if key.match?(CLI_EVENT_NAME)

          EVENTS.fetch(key.to_sym) do
            raise ArgumentError, "unknown hook event #{event.inspect}; valid events: #{EVENTS.keys.join(", ")} " \
                                 "(or the CLI's own CamelCase name of a newer event)"
          end
        end

        # The hooks: option, validated: { "PreToolUse" => [Matcher, …], … } (frozen). Accepts its own output.
        def config(value)
          raise ArgumentError, "invalid value for hooks: #{value.inspect} (expected a Hash of event => [{matcher:, handler:}])" unless value.is_a?(Hash)

          value.to_h do |event, matchers|
            [event_name(event), Array(matchers).map { |m| Matcher.build(event, m) }.freeze]
          end.freeze
        end
      end

      # One matcher entry: which tools (a CLI matcher pattern, nil = all) and the handlers to call.
      Matcher = Struct.new(:matcher, :handlers, :timeout, keyword_init: true) do
        def self.build(event, spec)
          return spec if spec.is_a?(self)

          spec = { handler: spec } if spec.respond_to?(:call)
          raise ArgumentError, "hook for #{event.inspect} must be a Hash with :handler, got #{spec.inspect}" unless spec.is_a?(Hash)

          unknown = spec.keys - %i[matcher handler handlers timeout]
          raise ArgumentError, "unknown hook keys #{unknown.inspect}; valid: matcher, handler, handlers, timeout" if unknown.any?

          handlers = Array(spec[:handlers]) + Array(spec[:handler])
          if handlers.empty? || !handlers.all? { |h| h.respond_to?(:call) }
            raise ArgumentError, "hook for #{event.inspect} needs a callable :handler"
          end
          timeout = spec[:timeout]
          unless timeout.nil? || (timeout.is_a?(Numeric) && timeout.real? && timeout.finite? && timeout.positive?)
            raise ArgumentError, "hook timeout must be a finite positive number"
          end

          new(matcher: spec[:matcher]&.to_s, handlers: handlers.freeze, timeout: timeout).freeze
        end

        # Whether this entry applies to a tool, as the CLI decides it: no matcher, "" or "*" match every tool;
        # names and "A|B" lists match exactly; anything else is a regular expression.
        def matches?(tool_name)
          m = matcher
          return true if m.nil? || m.empty? || m == "*"
          return m.split("|").include?(tool_name) if m.match?(/\A[\w|-]+\z/)

          Regexp.new(m).match?(tool_name)
        rescue RegexpError
          false
        end
      end

      # What a handler sees. #input is the CLI's whole hook input (String keys).
      class Context
        attr_reader :event, :input, :tool_use_id

        def initialize(event, input, tool_use_id)
          @event = event
          @input = input || {}
          @tool_use_id = tool_use_id || @input["tool_use_id"]
        end

        def tool_name = input["tool_name"]
        def tool_input = input["tool_input"]
        def tool_response = input["tool_response"]
        def session_id = input["session_id"]
        def cwd = input["cwd"]
        def prompt = input["prompt"]
        def [](key) = input[key.to_s]
      end

      # What a handler returns. #to_cli(event) is the hook output the CLI expects for that event.
      class Result
        attr_reader :decision, :reason, :updated_input, :context

        def self.approve = new(:approve)
        def self.continue = new(:continue)
        def self.deny(reason = "Denied by hook") = new(:deny, reason: reason.to_s)
        def self.modify(input) = new(:modify, updated_input: input)
        def self.stop(reason = "Stopped by hook") = new(:stop, reason: reason.to_s)
        def self.add_context(text) = new(:continue, context: text.to_s)

        def initialize(decision, reason: nil, updated_input: nil, context: nil)
          @decision = decision
          @reason = reason
          @updated_input = updated_input
          @context = context
          freeze
        end

        def to_cli(event)
          tool_event = %w[PreToolUse PermissionRequest].include?(event)
          case decision
          when :approve
            tool_event ? specific(event, "permissionDecision" => "allow") : {}
          when :deny
            if tool_event
              specific(event, "permissionDecision" => "deny", "permissionDecisionReason" => reason)
            else
              { "decision" => "block", "reason" => reason }
            end
          when :modify
            specific(event, "permissionDecision" => "allow", "updatedInput" => updated_input)
          when :stop
            { "continue" => false, "stopReason" => reason }
          else
            context ? specific(event, "additionalContext" => context) : {}
          end
        end

        private

        def specific(event, fields)
          { "hookSpecificOutput" => { "hookEventName" => event }.merge(fields) }
        end
      end

      # Runs the handlers of one callback id; returns the CLI hook output Hash.
      #
      # With a timeout (the matcher's timeout:, seconds) the handlers run in a thread of their own, killed when the
      # timeout passes; the answer is then what the CLI itself does with a hook past its timeout, so the run goes on:
      # a tool event (PreToolUse, PermissionRequest) is denied, any other event has no opinion.
      def self.run(event, handlers, input, tool_use_id, timeout: nil)
        return call_handlers(event, handlers, input, tool_use_id) unless timeout

        thread = Thread.new do
          Thread.current.report_on_exception = false
          call_handlers(event, handlers, input, tool_use_id)
        end
        return thread.value if thread.join(timeout)

        thread.kill
        logger.warn("hook #{event} did not answer within its timeout of #{timeout} s; it was stopped")
        tool_event = %w[PreToolUse PermissionRequest].include?(event)
        tool_event ? Result.deny("Hook timed out after #{timeout} s").to_cli(event) : {}
      end

      def self.call_handlers(event, handlers, input, tool_use_id)
        ctx = Context.new(event, input, tool_use_id)
        output = {}
        handlers.each do |handler|
          result = handler.call(ctx)
          output = normalize(result, event)
          break unless output.empty?
        end
        output
      rescue StandardError, ScriptError => e
        logger.error(Redaction.text("hook #{event} raised #{e.class}: #{e.message} — failing closed"))
        reason = "Hook error (#{e.class}); failing closed"
        fail_closed = %w[PreToolUse PermissionRequest].include?(event) ? Result.deny(reason) : Result.stop(reason)
        fail_closed.to_cli(event)
      end

      def self.normalize(result, event)
        case result
        when nil, true then {}
        when false then Result.deny.to_cli(event)
        when Result then result.to_cli(event)
        when Hash then JSON.parse(JSON.generate(result))
        else raise TypeError, "hook returned #{result.class}; return a Hooks::Result, a Hash or nil"
        end
      end
      private_class_method :normalize, :call_handlers
    end
  end
end
