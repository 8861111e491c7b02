# frozen_string_literal: true

require "active_support/concern"
require "socket"

module RubyLLM
  module AgentSDK
    module ActiveJob
      # The app's AgentJob (rails g agent_sdk:install):
      #
      #   class AgentJob < ApplicationJob
      #     include RubyLLM::AgentSDK::ActiveJob::SessionJob
      #     queue_as :agents
      #
      #     def build_options(session) = { cwd: Rails.root.to_s, allowed_tools: %w[Read Glob Grep] }
      #   end
      #
      #   AgentJob.perform_later(session.id, "Summarise the open tickets")   # or session.run! / session.resume!
      #
      # One run: claim the session (or return: another worker has it; over a cap: enqueue again later) → options from
      # config.agent_sdk, the session and build_options → query → each message recorded (row and totals in one
      # transaction) before the next one is read, then broadcast → the final status from the result (a stream that
      # ends without one is a failure too). An exception marks the session failed with its class and a scrubbed
      # message and goes on up, so retry_on / discard_on below (and the backend) apply. The claim is given back on
      # every way out, with cancel_requested_at cleared.
      #
      # Seed 003 (ActiveRecord::Delivery): `perform_later(session.id, message_id: row.id)` (what session.say! enqueues)
      # delivers a user row the app saved; a run that fails before any answer removes it and bounces its text back;
      # messages stored pending while the session runs are promoted after each completed round and answered in the
      # next one, by the same job.
      module SessionJob
        extend ActiveSupport::Concern

        # A run that may succeed if tried again: the API after the loop's retries, a CLI that died or stopped answering.
        RETRIABLE = [TransientError, ProcessError, CLIConnectionError, ControlTimeoutError].freeze
        # What can never succeed as it is: bad options, no CLI, a session in the wrong state, strict-parsing refusals.
        DISCARDED = [ArgumentError, CLINotFoundError, SessionStateError, JSONDecodeError].freeze
        # What the MCP server's runner answers a call that needs approval with (ToolRunner#approval).
        APPROVAL_REFUSAL = /\A([A-Za-z0-9_-]+) is awaiting approval\z/.freeze
        # A CLI result line that did not come through CLI::Results (a recorded or stubbed stream): an API that failed
        # after the CLI's own retries is `success` with is_error: true and this text. Mapped results carry api_error.
        CLI_TRANSIENT = /\bAPI Error: (?:429|5\d\d)\b|overloaded|Connection error|timed? ?out/i.freeze

        included do
          class_attribute :agent_session_class_name, default: "AgentSession"

          queue_as { AgentSDK.config.queue_name }
          discard_on(*DISCARDED)
          retry_on(*RETRIABLE, attempts: AgentSDK.config.job_attempts,
                               wait: ->(executions) { [(executions**4) + 2, AgentSDK.config.retry_wait_cap].min })
        end

        class_methods do
          def agent_session_class
            agent_session_class_name.constantize
          end
        end

        # message_id: a user row the caller saved and broadcast already (seed 003's immediate persist; see
        # ActiveRecord::Delivery): it is the prompt, it is not recorded again, and a failure before any answer removes
        # it and bounces its text back.
        def perform(session_id, prompt = nil, resume: false, message_id: nil)
          session_class = self.class.agent_session_class
          config = AgentSDK.config
          token = "#{Socket.gethostname}:#{Process.pid}:#{job_id}"
          return message_gone(session_id, message_id) if message_id && !ActiveRecord::Delivery.exists?(session_class, message_id)

          outcome = session_class.claim(session_id, token: token, per_user: config.max_running_per_user,
                                                    global: config.max_running)
          case outcome
          when :claimed
            session = session_class.find(session_id)
            run_session(session, prompt, resume, token, message_id)
          when :over_cap
            AgentSDK.logger.info("agent_sdk: session #{session_id} is over a running cap; " \
                                 "enqueued again in #{config.cap_retry_wait} s")
            self.class.set(wait: config.cap_retry_wait).perform_later(session_id, prompt, **rerun_arguments(resume, message_id))
          else
            AgentSDK.logger.info("agent_sdk: session #{session_id} not run (#{outcome})")
            ActiveRecord::Delivery.defer(session_class, session_id, message_id) if message_id && outcome != :missing
          end
          nil
        end

        # Options for this app's runs (any RubyLLM::AgentSDK.query option), over config.agent_sdk's and the session's.
        def build_options(_session)
          {}
        end

        private

        def run_session(session, prompt, resume, token, message_id = nil)
          delivery = ActiveRecord::Delivery.new(session, message_id: message_id)
          broadcaster = Broadcaster.new(session)
          broadcaster.status
          prompt, resume = delivery.first_round(prompt, resume, broadcaster)
          @agent_stop = nil
          query = recorder = result = heartbeat = nil
          approved, decided_prompt = continue_approved(session, broadcaster)
          prompt = decided_prompt if decided_prompt
          loop do
            recorder = ActiveRecord::Recorder.new(session)
            delivery.adopt(recorder)
            options = agent_options(session, resume || approved, recorder)
            recorder.secrets = run_secrets(options)
            # the :api loop stores its own prompt line; a row the app saved is the prompt already
            recorder.record_prompt(prompt) unless options.transport == :api || delivery.persisted?
            recorder.take_new_records.each { |row| broadcaster.message(row) }
            query = agent_query(prompt, options, session)
            heartbeat ||= Heartbeat.start(session, token: token, interval: AgentSDK.config.heartbeat_interval) do |reason|
              @agent_stop ||= reason
              query.cancel
            end
            result = stream(query, recorder, broadcaster)
            raise ApprovalRequired.new(@agent_awaiting, @agent_awaiting.map { |c| c[:id] }) if @agent_stop == :approval
            break unless (prompt = delivery.next_round(final_attributes(result, recorder), result, recorder, broadcaster))

            resume = true
          end
          @agent_no_retry = delivery.persisted? # the loop's retries were the retries: a failure has bounced, or stays
          finish(session, token, result, broadcaster, recorder)
        rescue ApprovalRequired => e
          pause(session, token, e, broadcaster)
        rescue Exception => e # rubocop:disable Lint/RescueException -- every way out leaves a status, then re-raises
          bounced = delivery&.exception!(e, recorder, broadcaster)
          abort_run(session, token, e, broadcaster, recorder) unless e.is_a?(TransientError) && e.result
          raise unless bounced

          AgentSDK.logger.warn(Redaction.text("agent_sdk: session #{session.id} failed before any answer, " \
                                              "its message bounced: #{e.class}: #{e.message}"))
        ensure
          heartbeat&.stop
          follow_up(delivery)
        end

        # Approval gates: a call that needs a decision ended the run (ApprovalRequired, transport :api). The calls are
        # stored, the claim is given back with status awaiting_approval (Claim never takes such a session) and the
        # page is told; approve! / reject! enqueue the continuation.
        def pause(session, token, error, broadcaster)
          unless ActiveRecord::ToolExecutionStore.available?
            missing = ArgumentError.new("tool calls #{error.pending.join(", ")} need approval, and the paused calls are kept " \
                                        "in agent_tool_executions: rails g agent_sdk:tool_executions")
            abort_run(session, token, missing, broadcaster, nil)
            raise missing
          end
          ActiveRecord::Approvals.record(session, error)
          session.class.release(session.id, token: token, attributes: { status: "awaiting_approval", result: nil })
          session.reload
          broadcaster.status
          broadcaster.approvals(session.pending_approvals)
        end

        # The continuation of a paused run: the held turn's calls run with their decisions and their results are
        # recorded as the transcript's last user turn, before the loop resumes it. True when there was one.
        def continue_approved(session, broadcaster)
          return false unless ActiveRecord::ToolExecutionStore.available? && ActiveRecord::Approvals.decided?(session)

          recorder = ActiveRecord::Recorder.new(session)
          options = agent_options(session, true, recorder)
          return [true, ActiveRecord::Approvals.apply_cli(session, options)] if options.transport == :cli

          rows = ActiveRecord::Approvals.apply(session, options, recorder) or return false
          rows.each { |row| broadcaster.message(row) }
          true
        end

        # :cli: the in-process MCP server refused a call that needs approval ("<tool> is awaiting approval", see
        # ToolRunner); the job notes it and interrupts the CLI, then pauses like :api (ApprovalRequired).
        def awaiting_call(message, query)
          return unless message.user? && message.is_error
          return unless (match = APPROVAL_REFUSAL.match(message.content.to_s))

          id = message.to_h.dig("message", "content", 0, "tool_use_id")
          call = @agent_calls[id] or return
          @agent_awaiting << { id: id, name: match[1], input: call[:input] || {} }
          return unless @agent_stop.nil?

          @agent_stop = :approval
          query.cancel
        end

        # Messages still pending once the claim is given back get a job of their own (ActiveRecord::Delivery).
        def follow_up(delivery)
          delivery&.follow_up(self.class)
        rescue StandardError => e
          AgentSDK.logger.error(Redaction.text("agent_sdk: pending messages not enqueued: #{e.class}: #{e.message}"))
        end

        # A message_id job whose row is gone (bounced by an earlier run, or deleted): nothing to deliver.
        def message_gone(session_id, message_id)
          AgentSDK.logger.info("agent_sdk: session #{session_id} not run (message #{message_id} is gone)")
          nil
        end

        # The arguments a job enqueued again gets (message_id only when there is one: older jobs' arguments stay).
        def rerun_arguments(resume, message_id)
          message_id ? { resume: resume, message_id: message_id } : { resume: resume }
        end

        def stream(query, recorder, broadcaster)
          result = nil
          @agent_calls = {}
          @agent_awaiting = []
          query.each do |message|
            next broadcaster.delta(message) if message.stream_event?

            recorder.record(message)
            recorder.take_new_records.each { |row| broadcaster.message(row) }
            result = message if message.result?
            message.tool_calls.each { |call| @agent_calls[call[:id]] = call } if message.assistant?
            awaiting_call(message, query)
            if @agent_stop.nil? && recorder.cancel_requested?
              @agent_stop = :cancelled
              query.cancel
            end
          end
          result
        end

        def agent_options(session, resume, recorder)
          given = {}
          given[:model] = session.model_id if session.model_id.present?
          given[:transport] = session.transport.to_sym if session.transport.present?
          own = build_options(session).to_h.transform_keys(&:to_sym)
          @agent_pool = own.key?(:pool) ? own.delete(:pool) : AgentSDK.config.default_pool
          options = Options.build(**given, **own)
          options = options.with(resume: session.claude_session_id) if resume && session.claude_session_id.present?
          if options.transport == :api
            options = options.with(session_store: ActiveRecord::SessionStore.new(session, recorder: recorder))
          end
          if options.tool_executions.nil? && ActiveRecord::ToolExecutionStore.available?
            options = options.with(tool_executions: ActiveRecord::ToolExecutionStore.new(session))
          end
          session.update_columns(transport: options.transport.to_s) if session.transport != options.transport.to_s
          options
        end

        # On a prewarmed CLI when build_options names a pool (pool: :name; pool: nil for none) or config.agent_sdk's
        # default_pool does, and the run's spawn-time options are the pool's: a first round, not a resume (a resumed
        # session's CLI starts with --resume), the same model and options. The session's own tool-execution store and
        # context (and build_options' hook handlers) are bound to that CLI (Pool::PER_CHECKOUT). Any other run starts
        # its CLI as usual.
        def agent_query(prompt, options, session)
          pool = @agent_pool && options.transport == :cli && Pool.fetch(@agent_pool)
          return Query.new(prompt, options) unless pool

          differ = pool.differences(options)
          return Query.new(prompt, options, pool: pool) if differ.empty?

          AgentSDK.logger.debug { "agent_sdk: session #{session.id} runs without pool #{pool.name.inspect} " \
                                  "(#{differ.map { |k| "#{k}:" }.join(", ")} differ from the pool's)" }
          Query.new(prompt, options)
        end

        # The run's key and the secret-named env values it passes the CLI: never written to a row.
        def run_secrets(options)
          env = options.env.select { |name, _| CLI::SECRET_ENV.match?(name.to_s) }.values
          [options.transport == :api ? options.resolved_api_key : nil, *env].compact.map(&:to_s)
        end

        def finish(session, token, result, broadcaster, recorder)
          attributes = final_attributes(result, recorder)
          session.class.release(session.id, token: token, attributes: attributes)
          session.reload
          broadcaster.status
          return unless attributes[:status] == "failed" && transient?(result) && !@agent_no_retry

          raise TransientError.new("session #{session.id}: #{result.content}", result: result)
        end

        def final_attributes(result, recorder)
          if @agent_stop == :cancelled
            { status: "cancelled" }
          elsif @agent_stop == :lost
            { status: "failed", failure_reason: "claim_lost", error_message: "another worker took the session over" }
          elsif result.nil?
            { status: "failed", failure_reason: "no_result", error_message: "the stream ended without a result" }
          elsif result.error?
            reason = result.subtype.nil? || result.subtype == "success" ? "api_error" : result.subtype
            { status: "failed", failure_reason: reason, error_message: result.content && recorder.redact(result.content) }
          else
            { status: "completed" }
          end
        end

        def transient?(result)
          return false unless result

          api_error = result["api_error"]
          return api_error["retriable"] == true if api_error.is_a?(Hash)

          result.subtype == "success" && result.is_error == true && CLI_TRANSIENT.match?(result.content.to_s)
        end

        def abort_run(session, token, error, broadcaster, recorder)
          reason = error.is_a?(StandardError) ? error.class.name : "interrupted"
          text = "#{error.class}: #{error.message}"
          message = (recorder ? recorder.redact(text) : Redaction.text(text))[0, 4000]
          attributes = { status: "failed", failure_reason: reason, error_message: message }
          return unless session.class.release(session.id, token: token, attributes: attributes)

          session.reload
          broadcaster&.status
        rescue StandardError => e
          AgentSDK.logger.error(Redaction.text("agent_sdk: could not mark session #{session.id} failed: " \
                                               "#{e.class}: #{e.message}"))
        end
      end
    end
  end
end
