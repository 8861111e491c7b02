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
    # #interrupt may be called from another thread while #query is reading.
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

      def initialize(**options)
        @options = Options.new(**options)
        @cli = CLI.new(@options)
        @mutex = Mutex.new
        ObjectSpace.define_finalizer(self, CLI.finalizer(@cli))
      end

      def connect
        @cli.connect
        self
      end

      def connected? = @cli.connected?

      # Sends one prompt and yields every message up to and including its result; returns the result message.
      # Without a block, returns the messages as an Array.
      def query(prompt)
        raise ArgumentError, "prompt must be a non-empty String" unless prompt.is_a?(String) && !prompt.strip.empty?
        return to_enum(:query, prompt).to_a unless block_given?

        @mutex.synchronize do
          connect
          @cli.send_prompt(prompt)
          result = nil
          @cli.each_line do |item|
            message = Query.to_message(item, @options)
            @session_id = message.session_id if message.session_id
            result = message if message.result?
            yield message
          end
          result
        end
      end

      def interrupt = @cli.interrupt
      def set_permission_mode(mode) = @cli.set_permission_mode(mode)
      def set_model(model) = @cli.set_model(model)

      def close
        @cli.close
      end
    end
  end
end
