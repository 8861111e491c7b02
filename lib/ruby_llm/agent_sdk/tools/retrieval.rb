# frozen_string_literal: true

require "json"

module RubyLLM
  module AgentSDK
    module Tools
      # A ready tool that searches your own table by meaning, for the agent (retrieval-augmented generation):
      #
      #   class Document < ApplicationRecord
      #     has_neighbors :embedding, normalize: true            # the neighbor gem: vector (pgvector) or cube
      #   end
      #
      #   SearchDocs = RubyLLM::AgentSDK::Tools::Retrieval.for(
      #     Document, column: :embedding, text: :content, limit: 5,
      #     scope: ->(context) { Document.where(user_id: context[:user].id) })   # each user sees their own
      #
      # The class it returns is a Tool (name "search_documents" unless `name:`) with one required param, `query`.
      # Its call embeds the query (EmbeddingClient: `client:`, else EmbeddingClient.default), takes the `limit`
      # nearest rows of the scope by `distance` ("cosine" or "euclidean", neighbor's nearest_neighbors) and returns
      # them as JSON, nearest first: [{"id", "text" (the first `excerpt` characters), "distance"}]. A scope lambda
      # gets the run's context (the query option `context:`); returning nil, or raising, refuses the call.
      # `embedding_model:` / `dimensions:` go to the client (default: the client's own), `client:` is an
      # EmbeddingClient or a lambda returning one.
      module Retrieval
        DISTANCES = %w[cosine euclidean].freeze

        module_function

        def for(model, column: :embedding, text: :content, limit: 5, distance: "cosine", scope: nil, excerpt: 500,
                name: nil, description: nil, client: nil, embedding_model: nil, dimensions: nil)
          require_neighbor!
          check!(model, column, limit, distance, scope, excerpt)
          settings = { model: model, column: column.to_sym, text: text.to_sym, limit: limit, distance: distance.to_s,
                       scope: scope, excerpt: excerpt, client: client,
                       embed_options: { model: embedding_model, dimensions: dimensions }.compact }.freeze
          label = model.model_name.human(count: 2).downcase
          Class.new(Tool) do
            tool_name(name || "search_#{model.model_name.plural}".gsub(/[^a-zA-Z0-9_-]/, "_")[0, 64])
            description(description || "Searches the #{label} by meaning and returns the #{limit} nearest, " \
                                       "nearest first, as JSON [{id, text, distance}]. Use it before answering " \
                                       "questions about them.")
            param :query, :string, required: true, min_length: 1, description: "What to look for, in plain words"
            define_singleton_method(:retrieval) { settings }
            define_method(:call) { |query:| Retrieval.search(settings, context, query) }
          end
        end

        # The tool's call: the JSON text the model reads. `settings` is the built class's `retrieval` (so an app can
        # run the same search without a model in the loop: Retrieval.search(Tool.retrieval, context, "query")).
        def search(settings, context, query)
          relation = relation_for(settings, context)
          client = settings[:client]
          client = client.call if client.respond_to?(:call) && !client.respond_to?(:embed)
          vector = (client || EmbeddingClient.default).embed(query, **settings[:embed_options])
          rows = relation.nearest_neighbors(settings[:column], vector, distance: settings[:distance]).limit(settings[:limit])
          JSON.generate(rows.map do |row|
            { id: row.id, text: row.public_send(settings[:text]).to_s[0, settings[:excerpt]],
              distance: row.neighbor_distance.to_f.round(6) }
          end)
        end

        def relation_for(settings, context)
          scope = settings[:scope]
          return settings[:model].all unless scope

          relation = scope.arity.zero? ? scope.call : scope.call(context)
          raise ArgumentError, "the retrieval scope gave no relation for this context" if relation.nil?

          relation
        end

        def require_neighbor!
          require "neighbor"
        rescue LoadError
          raise LoadError, "RubyLLM::AgentSDK::Tools::Retrieval needs the neighbor gem: add `gem \"neighbor\"` to " \
                           "your Gemfile (and has_neighbors to the model)"
        end

        def check!(model, column, limit, distance, scope, excerpt)
          unless model.is_a?(Class) && model < ::ActiveRecord::Base
            raise ArgumentError, "Retrieval.for: expected an ActiveRecord model, got #{model.inspect}"
          end
          unless model.respond_to?(:neighbor_attributes) && model.neighbor_attributes.key?(column.to_sym)
            raise ArgumentError, "Retrieval.for: #{model} has no `has_neighbors #{column.to_sym.inspect}`"
          end
          raise ArgumentError, "Retrieval.for: limit must be a positive Integer" unless limit.is_a?(Integer) && limit.positive?
          raise ArgumentError, "Retrieval.for: distance must be one of #{DISTANCES.join(", ")}" unless DISTANCES.include?(distance.to_s)
          raise ArgumentError, "Retrieval.for: scope must be a lambda (context) -> relation" unless scope.nil? || scope.respond_to?(:call)
          raise ArgumentError, "Retrieval.for: excerpt must be a positive Integer" unless excerpt.is_a?(Integer) && excerpt.positive?
        end
        private_class_method :relation_for, :require_neighbor!, :check!
      end
    end
  end
end
