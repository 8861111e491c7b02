# frozen_string_literal: true

require "active_job"

module RubyLLM
  module AgentSDK
    module ActiveJob
      # Fills one record's vector column (ActiveRecord::Embeddable#embed_now!). A record deleted before the job ran
      # is skipped; an embeddings API that failed in a way worth retrying (EmbeddingError#retriable?) is retried with
      # back-off, one that cannot succeed (a bad key, a bad model) is not.
      class EmbeddingJob < ::ActiveJob::Base
        queue_as :default

        discard_on ::ActiveJob::DeserializationError
        retry_on EmbeddingError, attempts: 5, wait: :polynomially_longer do |_job, error|
          raise error # out of attempts: let the backend record the failure
        end

        def perform(record, source)
          record.embed_now!(source)
        rescue EmbeddingError => e
          raise if e.retriable?

          AgentSDK.logger&.warn("[agent_sdk] embedding #{record.class}##{record.id} #{source}: #{e.message}")
        end
      end
    end
  end
end
