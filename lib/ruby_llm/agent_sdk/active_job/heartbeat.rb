# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    module ActiveJob
      # While a job runs a session, a thread renews the claim's heartbeat_at every config.heartbeat_interval seconds
      # (also during a long model wait or tool call, when no message comes) and looks at the cancel flag. It stops
      # the query when the session is cancelled or the claim is no longer this worker's. It checks out its own
      # connection, inside the app's executor, for each tick.
      class Heartbeat
        def self.start(session, token:, interval:, &on_stop)
          new(session.class, session.id, token, interval, on_stop).tap(&:start)
        end

        def initialize(session_class, id, token, interval, on_stop)
          @session_class = session_class
          @id = id
          @token = token
          @interval = interval
          @on_stop = on_stop
          @mutex = Mutex.new
          @wakeup = ConditionVariable.new
          @stopped = false
        end

        def start
          @thread = Thread.new do
            Thread.current.name = "agent_sdk heartbeat #{@id}"
            Thread.current.report_on_exception = false
            run
          end
        end

        def stop
          @mutex.synchronize do
            @stopped = true
            @wakeup.signal
          end
          @thread&.join(5) || @thread&.kill
        end

        private

        def run
          loop do
            break if wait_or_stop

            reason = tick
            next unless reason

            @on_stop.call(reason)
            break
          end
        end

        # Sleeps one interval; true when told to stop.
        def wait_or_stop
          @mutex.synchronize do
            @wakeup.wait(@mutex, @interval) unless @stopped
            @stopped
          end
        end

        def tick
          AgentSDK.config.wrap_callback do
            @session_class.connection_pool.with_connection do
              next :lost unless @session_class.heartbeat(@id, token: @token)

              :cancelled if @session_class.unscoped.where(id: @id).where.not(cancel_requested_at: nil).exists?
            end
          end
        rescue StandardError => e
          AgentSDK.logger.warn(Redaction.text("agent_sdk: heartbeat of session #{@id} failed: #{e.class}: #{e.message}"))
          nil
        end
      end
    end
  end
end
