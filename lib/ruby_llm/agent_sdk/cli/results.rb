# frozen_string_literal: true

require "json"

module RubyLLM
  module AgentSDK
    class CLI
      # The CLI's result line in the subtypes both transports share (README, "Result subtypes"):
      #   - a run this side stopped ends "error_cancelled" (interrupt / Query#cancel) or "error_timeout" (timeout:),
      #     where the CLI says "error_during_execution";
      #   - an API failure after the CLI's retries, which the CLI reports as "success" with is_error: true, ends
      #     "error_during_execution" with an "api_error" like the :api loop's: {"status" => 529 | nil (no response),
      #     "type" => "overloaded_error" | nil, "retriable" => true | false}.
      # Every field the CLI sent stays (api_error_status, terminal_reason, …); a changed subtype is kept as
      # "cli_subtype". Other result lines pass through untouched (the same String).
      module Results
        # The Messages API's error type for a status, when the CLI's text does not carry one.
        API_ERROR_TYPES = {
          400 => "invalid_request_error", 401 => "authentication_error", 402 => "billing_error",
          403 => "permission_error", 404 => "not_found_error", 408 => "timeout_error", 413 => "request_too_large",
          429 => "rate_limit_error", 500 => "api_error", 504 => "timeout_error", 529 => "overloaded_error"
        }.freeze
        STATUS_IN_TEXT = /\AAPI Error: (\d{3})\b/.freeze
        TYPE_IN_TEXT = /"type"\s*:\s*"(\w+_error)"/.freeze
        API_ERROR_TEXT = /\AAPI Error\b/.freeze
        ENDED = { cancelled: "error_cancelled", timeout: "error_timeout" }.freeze

        module_function

        # line: the CLI's raw result line. ended: nil, :cancelled or :timeout — what this side did to the run.
        # timeout: the seconds of timeout: (for the text of an error_timeout result).
        def map(line, ended: nil, timeout: nil)
          result = Native.parse_json(line)
          subtype = result["subtype"]
          if ended && subtype == "error_during_execution"
            result["subtype"] = ENDED.fetch(ended)
            result["result"] ||= timeout_text(timeout) if ended == :timeout
          elsif subtype == "success" && result["is_error"] == true
            result["subtype"] = "error_during_execution"
            api_error = api_error(result)
            result["api_error"] = api_error if api_error
          else
            return line
          end
          result["cli_subtype"] = subtype
          JSON.generate(result)
        end

        # The result this side writes when the CLI did not end a timed-out run itself (it was then stopped).
        def timeout_result(session_id:, started:, timeout:)
          text = timeout_text(timeout)
          JSON.generate("type" => "result", "subtype" => "error_timeout", "is_error" => true,
                        "duration_ms" => ((Process.clock_gettime(Process::CLOCK_MONOTONIC) - started) * 1000).round,
                        "num_turns" => 0, "result" => text, "errors" => [text], "session_id" => session_id,
                        "total_cost_usd" => nil)
        end

        def timeout_text(timeout)
          format("the query did not finish within timeout: %<s>g s", s: timeout)
        end

        # nil unless the result reads as an API failure (a status, or the CLI's "API Error" text).
        def api_error(result)
          text = result["result"].to_s
          status = result["api_error_status"]
          status = Integer(text[STATUS_IN_TEXT, 1]) if status.nil? && text.match?(STATUS_IN_TEXT)
          return nil unless status.is_a?(Integer) || text.match?(API_ERROR_TEXT)

          type = text[TYPE_IN_TEXT, 1] || (status && API_ERROR_TYPES.fetch(status) { status >= 500 ? "api_error" : nil })
          { "status" => status, "type" => type, "retriable" => retriable?(status) }
        end

        # As the :api loop decides it: no response (a connection that failed), 408, 409, 429 and 5xx.
        def retriable?(status)
          status.nil? || [408, 409, 429].include?(status) || status >= 500
        end
      end
    end
  end
end
