# frozen_string_literal: true

require "json"
require "securerandom"

module RubyLLM
  module AgentSDK
    module Testing
      # A transport that plays back a Stub's lines instead of starting a CLI or sending a request, taking the path the
      # real ones' lines take: each line becomes a Message through Query.to_message (non-strict parse errors
      # included), and the stream ends after its first result, as both real transports do.
      #
      # transport: :api also keeps what APITransport.drive keeps: with a session_store: in the options, the prompt line
      # and then every line are appended to it before the line is yielded (the Rails job's store records the rows,
      # and its Recorder drops the second sight of each message). Without one nothing is written (the real default, a
      # JSONL directory under ./tmp, is left alone).
      class StubbedTransport
        SESSION_ID = /"session_id"\s*:\s*"([^"]+)"/.freeze

        attr_reader :run

        def initialize(prompt, options, lines)
          @run = AgentRun.new(prompt, options)
          @lines = lines
          @cancel_reason = nil
        end

        def each(&block)
          Testing.record(@run)
          options = @run.options
          store = options.session_store if options.transport == :api
          session_id = self.session_id
          store&.append(session_id, prompt_line(session_id))
          @lines.each do |line|
            line = cancelled_line(session_id) if @cancel_reason
            raise line if line.is_a?(Exception)

            message = Query.to_message(line, options)
            store&.append(session_id, message.raw) # the line itself, or the parse error standing for it
            deliver(message, &block)
            break if Native.peek_type(line) == "result"
          end
          nil
        end

        # As APITransport#cancel (and, close enough, a CLI interrupt): the next line is an error_cancelled result.
        def cancel(reason = "cancelled")
          @cancel_reason ||= reason
          nil
        end

        # The run's session id: the one it resumes, else the first one its lines name, else a new one.
        def session_id
          @session_id ||= @run.options.resume || first_session_id || SecureRandom.uuid
        end

        private

        def first_session_id
          @lines.each { |line| return Regexp.last_match(1) if line.is_a?(String) && SESSION_ID =~ line }
          nil
        end

        def deliver(message)
          @run << message
          yield message
        end

        # What APITransport::Run#store_prompt stores first.
        def prompt_line(session_id)
          JSON.generate("type" => "user", "session_id" => session_id,
                        "message" => { "role" => "user", "content" => @run.prompt })
        end

        def cancelled_line(session_id)
          JSON.generate("type" => "result", "subtype" => "error_cancelled", "is_error" => true, "num_turns" => 0,
                        "result" => @cancel_reason, "session_id" => session_id, "uuid" => SecureRandom.uuid)
        end
      end
    end
  end
end
