# frozen_string_literal: true

require "active_support/concern"

module RubyLLM
  module AgentSDK
    module ActiveRecord
      # Keeps a vector column filled with the embedding of a text column, in a background job:
      #
      #   class Document < ApplicationRecord
      #     include RubyLLM::AgentSDK::ActiveRecord::Embeddable
      #
      #     has_neighbors :embedding, normalize: true   # the neighbor gem (cube needs normalize: for cosine)
      #     embeds :content, into: :embedding, model: "text-embedding-3-small"
      #   end
      #
      # After a commit that created the record or changed `content`, ActiveJob::EmbeddingJob is enqueued; it reads
      # the text as it is then, asks the EmbeddingClient (`client:`, else EmbeddingClient.default) and writes the
      # vector with update_columns (no callbacks, no new job). A blank text writes nil. `embed_now!` does the same
      # inline.
      module Embeddable
        extend ActiveSupport::Concern

        # One `embeds` declaration.
        Spec = Struct.new(:source, :into, :model, :dimensions, :client, :queue, keyword_init: true) do
          def client_for
            c = client.respond_to?(:call) && !client.respond_to?(:embed) ? client.call : client
            c || EmbeddingClient.default
          end
        end

        included do
          class_attribute :agent_sdk_embeddings, instance_writer: false, default: {}.freeze
          after_commit :enqueue_agent_sdk_embeddings, on: %i[create update]
        end

        class_methods do
          # Declares that `into` holds the embedding of `source`. model/dimensions go to the client; client: an
          # EmbeddingClient (or a lambda returning one); queue: the job's queue (default: EmbeddingJob's).
          def embeds(source, into:, model: nil, dimensions: nil, client: nil, queue: nil)
            source = source.to_sym
            into = into.to_sym
            raise ArgumentError, "#{self}.embeds #{source.inspect}: already declared" if agent_sdk_embeddings.key?(source)

            spec = Spec.new(source: source, into: into, model: model, dimensions: dimensions, client: client,
                            queue: queue).freeze
            self.agent_sdk_embeddings = agent_sdk_embeddings.merge(source => spec).freeze
            spec
          end
        end

        # Fills the vector column(s) now (all declared sources, or the one given). Returns self.
        def embed_now!(source = nil)
          specs = source ? [agent_sdk_embeddings.fetch(source.to_sym)] : agent_sdk_embeddings.values
          specs.each do |spec|
            text = public_send(spec.source)
            vector = if text.nil? || text.to_s.strip.empty?
                       nil
                     else
                       options = { model: spec.model, dimensions: spec.dimensions }.compact
                       spec.client_for.embed(text.to_s, **options)
                     end
            update_columns(spec.into => vector)
          end
          self
        end

        private

        def enqueue_agent_sdk_embeddings
          agent_sdk_embeddings.each_value do |spec|
            next unless saved_change_to_attribute?(spec.source.to_s)

            job = spec.queue ? AgentSDK::ActiveJob::EmbeddingJob.set(queue: spec.queue) : AgentSDK::ActiveJob::EmbeddingJob
            job.perform_later(self, spec.source.to_s)
          end
        end
      end
    end
  end
end
