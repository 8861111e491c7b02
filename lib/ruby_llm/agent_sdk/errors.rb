# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    # Base class of every error the gem raises on purpose. Its message never carries a key (Redaction.text): they
    # are built from CLI stderr, server bodies and option values, any of which may echo one.
    class Error < StandardError
      def initialize(message = nil)
        message.nil? ? super() : super(Redaction.text(message))
      end
    end

    # The `claude` executable could not be found.
    class CLINotFoundError < Error
      def initialize(message = nil)
        super(message || "Claude Code CLI not found. Install it with `agent-sdk install-cli` (the version this gem " \
                         "pins) or `npm install -g @anthropic-ai/claude-code` (or `bin/setup` in this gem's " \
                         "checkout), or pass cli_path: to point at the executable.")
      end
    end

    # The CLI could not be started or its pipes broke.
    class CLIConnectionError < Error; end

    # The CLI exited with a non-zero status.
    class ProcessError < Error
      attr_reader :exit_code, :stderr

      def initialize(message, exit_code: nil, stderr: nil)
        @exit_code = exit_code
        @stderr = stderr && Redaction.text(stderr)
        detail = stderr.to_s.strip
        super(detail.empty? ? message : "#{message}\n#{detail}")
      end
    end

    # A line of output was not valid JSON, was not valid UTF-8, or was longer than max_buffer_size.
    class JSONDecodeError < Error
      attr_reader :line_excerpt

      def initialize(message, line_excerpt: nil)
        @line_excerpt = line_excerpt && Redaction.text(line_excerpt)
        super(line_excerpt ? "#{message}: #{line_excerpt.inspect}" : message)
      end
    end

    # A control request (initialize, interrupt, set_model, …) got no answer within control_timeout.
    class ControlTimeoutError < Error; end

    # The CLI answered a control request with an error: `subtype` is the request ("set_permission_mode", …),
    # `cli_error` the CLI's own text (e.g. "Cannot set permission mode to bypassPermissions because …").
    class ControlRequestError < CLIConnectionError
      attr_reader :subtype, :cli_error

      def initialize(subtype, cli_error)
        @subtype = subtype
        @cli_error = cli_error && Redaction.text(cli_error.to_s)
        super("#{subtype} failed: #{cli_error}")
      end
    end

    # A Client used after #close (query, set_model, set_permission_mode, interrupt, mcp_status). A closed Client
    # stays closed: open a new one (resume: client.session_id continues the conversation).
    class ClientClosedError < Error
      def initialize(message = "this Client is closed; open a new one (resume: its session_id to continue)")
        super
      end
    end

    # A run ended by a failure that may pass if the run is tried again: an `:api` result whose `api_error` is
    # retriable (429, 5xx, overloaded, a connection that failed) after the loop's own retries. Raised by the Rails
    # job (ActiveJob::SessionJob) so the backend's retry applies; `result` is the result Message.
    class TransientError < Error
      attr_reader :result

      def initialize(message = nil, result: nil)
        @result = result
        super(message)
      end
    end

    # run!, resume! or cancel! on a session in a status that does not allow it (running, or no conversation yet).
    class SessionStateError < Error; end

    # Raised out of a run (transport :api) when a tool call needs a person's decision (Tool.requires_approval): no
    # call of that turn ran. `calls` are the turn's calls ([{id:, name:, input:}], input a Hash), `pending` the ids
    # that wait for approval. Resume with the decided results as the next user turn (the Rails job does).
    class ApprovalRequired < Error
      attr_reader :calls, :pending

      def initialize(calls, pending)
        @calls = calls
        @pending = pending
        super("tool calls awaiting approval: #{pending.join(", ")}")
      end
    end
  end
end
