# frozen_string_literal: true

require "active_support"
require "active_support/log_subscriber"

module RubyLLM
  module AgentSDK
    # One log line per agent_sdk event (see Instrumentation): queries at info, HTTP attempts, retries and tool calls
    # at debug. Not loaded by `require "agent_sdk"`: the Railtie requires it, or `require
    # "ruby_llm/agent_sdk/log_subscriber"` by hand (it needs activesupport). The logger: `LogSubscriber.logger = …`,
    # else Rails.logger, else RubyLLM::AgentSDK.config.logger, else ActiveSupport::LogSubscriber.logger; with none,
    # every event is silenced and nobody counts as listening (no payload is built).
    #
    #   AgentSDK query (1234.5ms) api claude-sonnet-4-5 success turns=3 tokens=1200/340 cost=$0.0123
    class LogSubscriber < ::ActiveSupport::LogSubscriber
      if respond_to?(:subscribe_log_level) # Rails 7.1+: nothing is formatted when the level is off
        subscribe_log_level :query, :info
        %i[request retry tool_call].each { |event| subscribe_log_level event, :debug }
      end

      def logger
        self.class.logger || AgentSDK.config.logger || ::ActiveSupport::LogSubscriber.logger
      end

      def query(event)
        info { LogSubscriber.query_line(event) }
      end

      def request(event)
        debug { LogSubscriber.request_line(event) }
      end

      def retry(event)
        debug { LogSubscriber.retry_line(event) }
      end

      def tool_call(event)
        debug { LogSubscriber.tool_call_line(event) }
      end

      class << self
        def query_line(event)
          data = event.payload
          outcome = data[:exception] ? "raised #{data[:exception].first}" : data[:subtype] || "no result"
          parts = ["AgentSDK query (#{ms(event.duration)})", data[:transport], data[:model], outcome]
          parts << "turns=#{data[:num_turns]}" if data[:num_turns]
          parts << "tokens=#{data[:input_tokens] || 0}/#{data[:output_tokens] || 0}" if data[:input_tokens] || data[:output_tokens]
          parts << format("cost=$%.4f", data[:total_cost_usd]) if data[:total_cost_usd]
          parts.compact.join(" ")
        end

        def request_line(event)
          data = event.payload
          parts = ["AgentSDK request (#{ms(event.duration)})", data[:model], "attempt=#{data[:attempt]}", "status=#{data[:status]}"]
          parts << "ttfb=#{data[:ttfb_ms]}ms" if data[:ttfb_ms]
          parts << "tokens=#{data[:input_tokens] || 0}/#{data[:output_tokens] || 0}" if data[:input_tokens] || data[:output_tokens]
          parts << "cost_micros=#{data[:cost_micros]}" if data[:cost_micros]
          parts << "error=#{data[:error]}" if data[:error]
          parts.compact.join(" ")
        end

        def retry_line(event)
          data = event.payload
          ["AgentSDK retry", data[:model], "attempt=#{data[:attempt]}", "status=#{data[:status]}", "wait=#{data[:wait_ms]}ms",
           "reason=#{data[:reason]}"].compact.join(" ")
        end

        def tool_call_line(event)
          data = event.payload
          outcome = if data[:refused] then "refused=#{data[:refused]}"
                    elsif data[:is_error] then "error"
                    else "ok"
                    end
          "AgentSDK tool_call (#{ms(event.duration)}) #{data[:tool]} #{outcome}"
        end

        private

        def ms(duration)
          format("%.1fms", duration.to_f)
        end
      end

      attach_to :agent_sdk
    end
  end
end
