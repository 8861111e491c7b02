# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    # ActiveSupport::Notifications events, when ActiveSupport is loaded (the gem does not load it):
    #
    #   query.agent_sdk      around Query#each / Client#query: transport, model, subtype, is_error, num_turns, tokens,
    #                        total_cost_usd, session_id (an exception inside gets AS's :exception keys)
    #   request.agent_sdk    transport: :api, one per HTTP attempt: model, attempt, status, tokens, cost_micros, ttfb_ms,
    #                        total_ms, error
    #   retry.agent_sdk      transport: :api, when the loop schedules a retry: model, attempt, status, wait_ms, reason
    #   tool_call.agent_sdk  one per tool call (both transports): tool, tool_use_id, is_error, refused
    #
    # Payloads hold figures and names only: never an option, a header, an env or a key. Nothing is built for an
    # event nobody subscribes to (listening?), and without ActiveSupport #instrument just yields.
    module Instrumentation
      NAMESPACE = "agent_sdk"
      EVENTS = %i[query request retry tool_call].to_h { |name| [name, "#{name}.#{NAMESPACE}".freeze] }.freeze

      # The query payload's keys, all present (nil until the run says).
      QUERY_KEYS = %i[transport model subtype is_error num_turns input_tokens output_tokens cache_read_tokens
                      cache_creation_tokens total_cost_usd session_id].freeze
      USAGE_KEYS = { input_tokens: "input_tokens", output_tokens: "output_tokens",
                     cache_read_tokens: "cache_read_input_tokens",
                     cache_creation_tokens: "cache_creation_input_tokens" }.freeze
      private_constant :USAGE_KEYS

      module_function

      def event_name(name)
        EVENTS[name] || "#{name}.#{NAMESPACE}"
      end

      # True when someone subscribes to the event (always false without ActiveSupport::Notifications).
      def listening?(name)
        return false unless defined?(::ActiveSupport::Notifications)

        ::ActiveSupport::Notifications.notifier.listening?(event_name(name))
      end

      # ActiveSupport::Notifications.instrument("#{name}.agent_sdk", payload) { |payload| … }, or just the yield.
      def instrument(name, payload = {}, &block)
        return (block ? yield(payload) : nil) unless defined?(::ActiveSupport::Notifications)

        ::ActiveSupport::Notifications.instrument(event_name(name), payload, &block)
      end

      # An event whose start and end the caller measured (Process::CLOCK_MONOTONIC seconds): a tool call that ran in
      # a thread of its own, an HTTP attempt timed in C.
      def publish(name, started, finished, payload)
        return unless defined?(::ActiveSupport::Notifications)

        notifications = ::ActiveSupport::Notifications
        notifications.publish_event(notifications::Event.new(event_name(name), started, finished,
                                                             notifications.instrumenter.id, payload))
      end

      # Runs one query inside query.agent_sdk, yielding its payload (nil when nobody listens): pass each message
      # through #observe so the payload gets the run's figures.
      def query(options)
        return yield(nil) unless listening?(:query)

        payload = QUERY_KEYS.to_h { |key| [key, nil] }
        payload[:transport] = options.transport
        payload[:model] = options.model
        instrument(:query, payload) { yield payload }
      end

      # Fills the query payload from the init (model, session) and result messages; returns the message.
      def observe(payload, message)
        return message unless payload

        if message.init?
          payload[:model] ||= message.model
          payload[:session_id] ||= message.session_id
        elsif message.result?
          result(payload, message)
        end
        message
      end

      def result(payload, message)
        payload[:subtype] = message.subtype
        payload[:is_error] = message.error?
        payload[:num_turns] = message.num_turns
        payload[:total_cost_usd] = message.total_cost_usd
        payload[:session_id] = message.session_id || payload[:session_id]
        usage = message.usage.is_a?(Hash) ? message.usage : {}
        USAGE_KEYS.each { |key, field| payload[key] = usage[field] }
      end

      # A :request or :retry record from Native::Runner (a Hash of figures made in C): the model is added and the
      # error text scrubbed once more. A request's Notifications duration is its total_ms.
      def attempt(event, model, payload)
        payload[:model] = model
        text = event == :request ? :error : :reason
        payload[text] = Redaction.text(payload[text]) if payload[text]
        return instrument(event, payload) unless event == :request

        finished = Process.clock_gettime(Process::CLOCK_MONOTONIC)
        publish(:request, finished - (payload[:total_ms].to_i / 1000.0), finished, payload)
      end
    end
  end
end
