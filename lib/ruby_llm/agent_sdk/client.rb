# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    # A multi-turn conversation with one CLI process.
    #
    #   RubyLLM::AgentSDK::Client.open(model: "claude-sonnet-4-5") do |client|
    #     client.query("List the files") { |m| … }
    #     client.query("Now summarise them") { |m| … }   # same session, same process
    #   end
    #
    # #interrupt, #set_model, #set_permission_mode and #mcp_status may be called from another thread while #query
    # is reading, or from its block; each waits for the CLI's answer and raises its refusal (ControlRequestError)
    # or ControlTimeoutError. timeout: bounds each #query.
    #
    # Client.open(pool: :support) takes a prewarmed CLI (see Pool): its first query skips the CLI's start-up.
    #
    # With transport: :api there is no process: each query continues the client's session (resume through its
    # session store), and #interrupt cancels the run in flight.
    #
    # After #close every call raises ClientClosedError (a closed Client does not reconnect: open a new one with
    # resume: client.session_id). A query that passed its timeout: with a CLI that did not stop its turn in time
    # closes the Client too (its process was stopped).
    class Client
      attr_reader :options, :session_id

      def self.open(**options)
        client = new(**options)
        return client unless block_given?

        begin
          yield client
        ensure
          client.close
        end
      end

      # pool: a Pool or a pool's name: the client's conversation runs on one of its prewarmed CLIs (its own from then
      # on: it is stopped at #close), with the pool's spawn-time options and its own per-checkout ones
      # (Pool::PER_CHECKOUT).
      def initialize(pool: nil, **options)
        pool &&= Pool.fetch(pool)
        @options = pool ? pool.options_for(options) : Options.build(**options)
        @mutex = Mutex.new
        if api?
          @session_id = @options.resume
        else
          @cli = pool&.checkout(@options) || CLI.new(@options)
          ObjectSpace.define_finalizer(self, CLI.finalizer(@cli))
        end
      end

      def connect
        check_open!
        @cli&.connect
        self
      end

      def connected? = !@closed && (api? || @cli.connected?)

      def closed? = @closed == true || (!api? && @cli.stopped?)

      # Sends one prompt and yields every message up to and including its result; returns the result message.
      # Without a block, returns the messages as an Array.
      def query(prompt)
        raise ArgumentError, "prompt must be a non-empty String" unless prompt.is_a?(String) && !prompt.strip.empty?
        return to_enum(:query, prompt).to_a unless block_given?

        check_open!
        @mutex.synchronize do
          result = nil
          Instrumentation.query(@options) do |event|
            each_message(prompt) do |message|
              @session_id = message.session_id if message.session_id
              result = message if message.result?
              yield Instrumentation.observe(event, message)
            end
          end
          result
        end
      end

      # Stops the query in flight: its result ends "error_cancelled" (both transports).
      def interrupt
        check_open!
        return @run&.cancel("interrupted") if @run || api?

        @cli.interrupt
      end

      # :cli only. Raises ControlRequestError when the CLI refuses the mode; the run goes on in the mode it had.
      def set_permission_mode(mode)
        raise ArgumentError, "set_permission_mode is for transport: :cli" if api?

        check_open!
        @cli.set_permission_mode(mode)
      end

      # The model of the next queries (:api) or of the running CLI (:cli, ControlRequestError when refused).
      def set_model(model)
        check_open!
        return @cli.set_model(model) unless api?

        @mutex.synchronize { @options = @options.with(model: model) }
        nil
      end

      # :cli only: the CLI's MCP servers and their state ([{"name" =>, "status" =>, …}]).
      def mcp_status
        raise ArgumentError, "mcp_status is for transport: :cli" if api?

        check_open!
        @cli.mcp_status
      end

      # :cli with enable_file_checkpointing: true: puts back the files as they were before the user message
      # user_message_id (the uuid of that prompt's user message: the CLI replays it, see README); dry_run: true only
      # says what would change. Returns the CLI's answer; raises ControlRequestError with its reason when it cannot.
      def rewind_files(user_message_id, dry_run: false)
        raise ArgumentError, "rewind_files is for transport: :cli" if api?
        raise ArgumentError, "rewind_files needs enable_file_checkpointing: true" unless @options.enable_file_checkpointing

        check_open!
        @mutex.synchronize { @cli.rewind_files(user_message_id.to_s, dry_run: dry_run) }
      end

      def close
        @closed = true
        @cli&.close
      end

      private

      def api? = @options.transport == :api

      def check_open!
        return unless closed?

        raise ClientClosedError if @closed

        raise ClientClosedError, "this Client's CLI was stopped (a query passed its timeout: and the CLI did not end " \
                                 "its turn); open a new Client (resume: its session_id to continue)"
      end

      def each_message(prompt, &block)
        if (stub = Testing.stubbed_transport) # the test seam: no process, no request
          @run = stub.open(prompt, api? && @session_id ? @options.with(resume: @session_id) : @options)
          return @run.each(&block)
        end
        unless api?
          return @cli.run(prompt, deadline: CLI.deadline(@options)) { |item| yield Query.to_message(item, @options) }
        end

        @run = APITransport.new(prompt, @session_id ? @options.with(resume: @session_id) : @options)
        @run.each(&block)
      ensure
        @run = nil
      end
    end
  end
end
