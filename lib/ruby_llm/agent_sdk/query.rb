# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    # One single-shot run, on either transport: turns what the transport yields into Messages.
    #
    #   query = RubyLLM::AgentSDK::Query.new("Where is order 42?", transport: :api, model: "claude-sonnet-4-5")
    #   Thread.new { sleep 30; query.cancel }
    #   query.each { |message| … }
    class Query
      # pool: a Pool or the name of one (config.agent_sdk.pool): the run takes one of its prewarmed CLIs and so its
      # spawn-time options (given ones must match them); per-checkout ones (context:, tool_executions:, hook handlers,
      # …: Pool::PER_CHECKOUT) are this run's.
      def initialize(prompt, options = nil, pool: nil, **kwargs)
        streamed = prompt.respond_to?(:each) && !prompt.is_a?(String) && !prompt.is_a?(Hash)
        unless streamed || (prompt.is_a?(String) && !prompt.strip.empty?)
          raise ArgumentError, "prompt must be a non-empty String (or, on :cli, an Enumerable of user messages)"
        end
        raise ArgumentError, "pass options as keywords or one Options, not both" if options && !kwargs.empty?

        pool &&= Pool.fetch(pool)
        @options = pool ? pooled_options(pool, options, kwargs) : (options || Options.build(**kwargs))
        raise ArgumentError, "streaming input (an Enumerable prompt) needs transport: :cli" if streamed && @options.transport == :api
        @prompt = prompt
        # The test seam (nil outside tests): a stubbed transport from Testing.stubbed_transport, else the real one.
        @transport = Testing.stubbed_transport&.open(prompt, @options) || pool&.checkout(@options) ||
                     (@options.transport == :api ? APITransport.new(prompt, @options) : CLI.new(@options))
      end

      # Yields each Message; the run is one query.agent_sdk event (Instrumentation) when someone subscribes.
      def each(&block)
        Instrumentation.query(@options) do |event|
          if @transport.is_a?(CLI)
            @transport.stream(@prompt) { |item| yield Instrumentation.observe(event, Query.to_message(item, @options)) }
          elsif event
            @transport.each { |message| yield Instrumentation.observe(event, message) }
          else
            @transport.each(&block)
          end
        end
        nil
      end

      # Stops the run from another thread (or from the block): it ends with an "error_cancelled" result on both
      # transports. :api aborts the request in flight; :cli sends the CLI an interrupt and waits for its answer.
      def cancel
        @transport.is_a?(CLI) ? @transport.interrupt : @transport.cancel
      end

      # An Enumerator whose child process (:cli) is stopped even if it is dropped half-way.
      def to_enum
        enum = Enumerator.new { |y| each { |message| y << message } }
        ObjectSpace.define_finalizer(enum, CLI.finalizer(@transport)) if @transport.is_a?(CLI)
        enum
      end

      def self.to_message(item, options)
        return item if item.is_a?(Message)

        Message.parse(item)
      rescue JSONDecodeError => e
        raise if options.strict_parsing

        subtype = e.message.match?(/utf-?8/i) ? "invalid_utf8" : "invalid_json"
        Message.parse_error(subtype, excerpt: e.line_excerpt.to_s, bytes: item.bytesize)
      end

      private

      def pooled_options(pool, options, kwargs)
        return pool.options_for(kwargs) unless options
        differ = pool.differences(options)
        return options if differ.empty?

        raise ArgumentError, "a query through pool #{pool.name.inspect} takes the pool's spawn-time options; " \
                             "#{differ.map { |k| "#{k}:" }.join(", ")} differ (run it without pool:)"
      end
    end
  end
end
