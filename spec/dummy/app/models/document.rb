# frozen_string_literal: true

# A user's document, searchable by meaning (the retrieval tool's specs; PostgreSQL with cube).
class Document < ApplicationRecord
  include RubyLLM::AgentSDK::ActiveRecord::Embeddable

  belongs_to :user
  has_neighbors :embedding, dimensions: 64, normalize: true
  embeds :content, into: :embedding, model: "fake-embedding-64"
end
