# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    module ActiveRecord
      # A session store (append / lines, see RubyLLM::AgentSDK::SessionStore) over one AgentSession's agent_messages,
      # so `transport: :api` resumes a conversation from the database. The job passes one to every :api run:
      #
      #   store = SessionStore.new(session)           # or SessionStore.new(session, recorder: recorder)
      #   RubyLLM::AgentSDK.query(prompt, transport: :api, session_store: store, resume: session.claude_session_id)
      #
      # Appending goes through the Recorder, so the lines the loop stores (its prompt, each message, and what is still
      # undelivered when a run is cut short) become rows exactly like the messages the caller is handed.
      class SessionStore
        attr_reader :recorder

        def initialize(session, recorder: Recorder.new(session))
          @session = session
          @recorder = recorder
        end

        def append(_session_id, line)
          @recorder.record_line(line)
          nil
        end

        # The stored lines of this session id, in order; nil when it has none.
        def lines(session_id)
          rows = @session.agent_messages.reorder(:position).pluck(:raw, :metadata)
          lines = rows.filter_map { |raw, metadata| raw if raw.present? && session_of(metadata) == session_id.to_s }
          lines.empty? ? nil : lines
        end

        private

        def session_of(metadata)
          metadata = JSON.parse(metadata) if metadata.is_a?(String) # a json column read back as text by some adapters
          metadata.is_a?(Hash) ? metadata["session_id"].to_s : ""
        end
      end
    end
  end
end
