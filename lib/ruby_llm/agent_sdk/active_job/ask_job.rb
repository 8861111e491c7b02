# frozen_string_literal: true

require "active_job"

module RubyLLM
  module AgentSDK
    module ActiveJob
      # What `record.ask_later(prompt)` enqueues for an acts_as_agent record: `record.ask(prompt)` in a worker, on
      # config.agent_sdk's queue. The record travels as a GlobalID (a deleted record discards the job); the result
      # lands in the record's state column and totals, as with ask. Not retried: a run that failed half-way has
      # already sent the prompt, and asking again would send it twice.
      class AskJob < ::ActiveJob::Base
        queue_as { AgentSDK.config.queue_name }
        discard_on ::ActiveJob::DeserializationError

        def perform(record, prompt)
          record.ask(prompt)
          nil
        end
      end
    end
  end
end
