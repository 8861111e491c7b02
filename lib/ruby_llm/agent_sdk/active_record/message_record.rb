# frozen_string_literal: true

require "active_support/concern"

module RubyLLM
  module AgentSDK
    module ActiveRecord
      # The app's AgentMessage model: one row per message of the stream, in `position` order (never by timestamps,
      # which tie and skew). `raw` keeps the stream-json line (keys redacted), so `to_message` gives back the same
      # RubyLLM::AgentSDK::Message the job saw, and one partial renders a stored row and a live message alike.
      module MessageRecord
        extend ActiveSupport::Concern

        included do
          scope :assistants, -> { where(message_type: "assistant") }
          scope :results, -> { where(message_type: "result") }
          scope :users, -> { where(message_type: "user") }
          scope :tool_calls, -> { where(message_type: "assistant").where.not(tool_calls: nil).where.not(tool_calls: []) }
          scope :in_order, -> { order(:position) }
          # Seed 003: rows sent while the session ran wait as pending (negative positions) until a round promotes them.
          scope :delivered, -> { where(pending: false) }
          scope :undelivered, -> { where(pending: true) }
        end

        def to_message
          @to_message ||= raw.present? ? AgentSDK::Message.parse(raw) : AgentSDK::Message.from_h(fallback_hash)
        end

        def tool_call_names
          Array(tool_calls).map { |call| call["name"] || call[:name] }
        end

        private

        # A row written without its line (by hand, or by an app's own code): the columns as a stream-json line.
        def fallback_hash
          hash = { "type" => message_type, "subtype" => subtype, "uuid" => uuid, "content" => content }
          hash["is_error"] = true if metadata.is_a?(Hash) && metadata["is_error"]
          hash.compact
        end
      end
    end
  end
end
