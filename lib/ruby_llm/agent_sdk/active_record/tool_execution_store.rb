# frozen_string_literal: true

require "digest"

module RubyLLM
  module AgentSDK
    module ActiveRecord
      # The tool execution store (see RubyLLM::AgentSDK::ToolExecutions) of one AgentSession, over the
      # agent_tool_executions table (rails g agent_sdk:tool_executions). A call's row is inserted before the tool runs;
      # the unique index on [agent_session_id, key] makes the insert the decision, so two workers that resume the same
      # session can never both run it. The job passes one to every run when the table exists.
      class ToolExecutionStore
        TABLE = "agent_tool_executions"
        # Keys longer than this are stored as their SHA-256 (a custom idempotency_key may be long).
        MAX_KEY = 191

        # The table's rows. It uses ActiveRecord::Base's connection: an app whose sessions live in another database
        # points it there (`RubyLLM::AgentSDK::ActiveRecord::ToolExecutionStore.model.connects_to(...)`).
        def self.model
          @model ||= begin
            klass = Class.new(::ActiveRecord::Base) { self.table_name = TABLE }
            const_set(:Execution, klass)
          end
        end

        # Whether the app has the table (looked up once per process, then cached).
        def self.available?
          return @available unless @available.nil?

          @available = model.table_exists?
        end

        def initialize(session)
          @session = session
        end

        def begin(key, tool:, input:)
          key = stored_key(key)
          model.transaction(requires_new: true) do # a savepoint: a duplicate must not abort a caller's transaction
            model.create!(agent_session_id: @session.id, key: key, tool_name: tool, input: input, status: "started")
          end
          [:run]
        rescue ::ActiveRecord::RecordNotUnique
          row = model.find_by!(agent_session_id: @session.id, key: key)
          row.status == "finished" ? [:done, row.result, row.is_error] : [:unknown]
        end

        def finish(key, content, is_error)
          now = Time.current
          model.where(agent_session_id: @session.id, key: stored_key(key), status: "started")
               .update_all(status: "finished", result: content, is_error: is_error ? true : false, finished_at: now,
                           updated_at: now)
          nil
        end

        private

        def model = self.class.model

        def stored_key(key)
          key = key.to_s
          key.bytesize > MAX_KEY ? "sha256:#{Digest::SHA256.hexdigest(key)}" : key
        end
      end
    end
  end
end
