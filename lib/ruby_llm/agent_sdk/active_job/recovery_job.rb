# frozen_string_literal: true

require "active_job"

module RubyLLM
  module AgentSDK
    module ActiveJob
      # Resumes the runs whose worker died. A running session's job renews heartbeat_at every
      # config.heartbeat_interval seconds; one whose heartbeat is older than config.recovery_after (a worker that was
      # kill -9ed, lost its machine, or hung) is taken over with one conditional UPDATE (Claim#take_over) and:
      # - its job is enqueued again (the session's agent_job_class: the app's AgentJob) with resume: true — :api
      #   resumes from the transcript stored in agent_messages, :cli with resume: claude_session_id; a session that
      #   never got a claude_session_id is run again from its prompt; recoveries goes up by one;
      # - after config.max_recoveries of those, it is failed with failure_reason "abandoned";
      # - a session cancel! had asked to stop is cancelled;
      # - a session still pending recovery_after after it was handed to a job (run!, resume! or this job set its
      #   heartbeat_at; its job died with a worker between the backend taking it and the claim, or was lost) gets
      #   its job enqueued again, as above (requeued; not counted in recoveries). A job that was only waiting in a
      #   long queue then has a twin: the claim runs one. A session created and never run! is left alone.
      #
      # Run it every minute (config/recurring.yml, which rails g agent_sdk:install writes for Solid Queue), or from
      # cron with bin/rails agent_sdk:recover. Any number may run at once, in any processes: the UPDATE decides, so
      # each stale run is taken over once.
      #
      #   RubyLLM::AgentSDK::ActiveJob::RecoveryJob.perform_later                  # AgentSession
      #   RubyLLM::AgentSDK::ActiveJob::RecoveryJob.perform_now("SupportSession") # another SessionRecord model
      class RecoveryJob < ::ActiveJob::Base
        # What the resumed run is sent: the conversation so far is in its transcript (or the CLI's session).
        PROMPT = "Your previous run was interrupted before it finished (its worker stopped). " \
                 "Continue from where it stopped."

        class_attribute :agent_session_class_name, default: "AgentSession"

        queue_as { AgentSDK.config.queue_name }

        # Returns { recovered: [ids], abandoned: [ids], cancelled: [ids], requeued: [ids] }: what this run took over.
        def perform(session_class_name = nil, now: Time.current)
          session_class = (session_class_name || self.class.agent_session_class_name).to_s.constantize
          config = AgentSDK.config
          stale_before = now - config.recovery_after.to_f
          taken = { recovered: [], abandoned: [], cancelled: [], requeued: [] }
          session_class.stale(stale_before: stale_before).each do |id, token|
            outcome = session_class.take_over(id, token: token, stale_before: stale_before,
                                                  max_recoveries: config.max_recoveries.to_i, now: now)
            next unless outcome

            taken[outcome] << id
            after_take_over(session_class, id, outcome, token)
          end
          session_class.stale_pending(stale_before: stale_before).each do |id|
            next unless session_class.requeue_stale(id, stale_before: stale_before, now: now)

            taken[:requeued] << id
            after_take_over(session_class, id, :requeued, nil)
          end
          taken
        end

        private

        def after_take_over(session_class, id, outcome, token)
          session = session_class.find(id)
          Instrumentation.instrument(:recover, session_id: id, outcome: outcome, recoveries: session.recoveries)
          why = token ? "had no heartbeat from #{Redaction.text(token)}" : "was pending with no sign of its job"
          AgentSDK.logger.warn("agent_sdk: session #{id} #{why}: #{outcome}")
          if %i[recovered requeued].include?(outcome)
            resume = session.claude_session_id.present?
            session_class.agent_job_class.perform_later(id, resume ? PROMPT : nil, resume: resume)
          end
          Broadcaster.new(session).status
        end
      end
    end
  end
end
