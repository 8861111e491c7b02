# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    module ActiveRecord
      # Seed 003's delivery guarantees for the user's own messages (agent_messages rows of type "user" that the app
      # saved itself, with `session.say!(text)` or by hand):
      #
      # - **Immediate persist.** `AgentJob.perform_later(session.id, message_id: row.id)`: the row is the prompt and is
      #   not written a second time (the `:api` loop's own prompt line fills in that row's raw and metadata).
      # - **Bounce-back.** A run that fails before any model call succeeded (no assistant message came back) removes
      #   the round's message rows and broadcasts their text back to the input field (Broadcaster#bounce); an
      #   authentication failure (HTTP 401/403, `authentication_error`) also broadcasts `authentication_required`.
      # - **Pending messages.** A message saved while the session runs is stored `pending` at a negative position
      #   (−1, −2, … in the order sent: below every delivered row, so the running Recorder's positions never meet it).
      #   When a round completes, the job holding the claim promotes them (pending false, the next positions at the end
      #   of the transcript, broadcast) and runs again with them as the prompt, while any were promoted.
      #
      # One Delivery is one job run of a session, used by the worker that holds its claim.
      class Delivery
        class << self
          # Saves the user's message with one INSERT … SELECT: pending (at the next negative position) when the
          # session is running at that moment, else delivered at the next position. Returns the row. On PostgreSQL
          # the SELECT locks the session row (FOR UPDATE), so the job's release, which changes the status, comes
          # wholly before or after it: a row stored pending is committed before the job looks for pending rows after
          # its release (SQLite runs one writer at a time anyway).
          def insert_message(session, text)
            model, reflection = tables(session)
            conn = connection(model)
            t = model.quoted_table_name
            fk = conn.quote_column_name(reflection.foreign_key)
            pk = conn.quote_column_name(session.class.primary_key)
            running = "s.#{conn.quote_column_name('status')} = 'running'"
            sql = <<~SQL.squish
              INSERT INTO #{t} (#{fk}, position, message_type, content, pending, created_at, updated_at)
              SELECT s.#{pk},
                     CASE WHEN #{running} THEN (#{next_pending_position(t, fk, "s.#{pk}")})
                          ELSE (SELECT COALESCE(MAX(CASE WHEN m.position > 0 THEN m.position END), 0) + 1
                                FROM #{t} m WHERE m.#{fk} = s.#{pk}) END,
                     'user', ?, CASE WHEN #{running} THEN ? ELSE ? END, ?, ?
              FROM #{session.class.quoted_table_name} s WHERE s.#{pk} = ?#{' FOR UPDATE' if postgresql?(conn)}
            SQL
            now = Time.current
            attempts = 0
            begin
              id = conn.insert(model.sanitize_sql_array([sql, text, true, false, now, now, session.id]), "AgentSDK say",
                               model.primary_key)
            rescue ::ActiveRecord::RecordNotUnique
              # two messages of one session in the same instant took the same position: the next try sees the other
              retry if (attempts += 1) < 5
              raise
            end
            model.find(id)
          end

          # The job's claim found the session running under another worker (:busy): the message waits as pending
          # for that run. Or it found the session finished (another job claimed it between say! and this job, and
          # ended it, completed or failed): it goes back to pending status and the job is enqueued again. A row a
          # round took already (metadata "delivered_at") is left alone, and so is a session the user cancelled.
          def defer(session_class, session_id, message_id)
            session = session_class.find_by(id: session_id) or return
            model, reflection = tables(session)
            row = model.find_by(id: message_id)
            return if row.nil? || delivered?(row)

            conn = connection(model)
            t = model.quoted_table_name
            fk = conn.quote_column_name(reflection.foreign_key)
            sql = <<~SQL.squish
              UPDATE #{t} SET pending = ?, position = (SELECT p FROM (#{next_pending_position(t, fk, '?')}) agent_sdk_p)
              WHERE #{conn.quote_column_name(model.primary_key)} = ? AND pending = ? AND EXISTS
                (SELECT 1 FROM #{session_class.quoted_table_name} s WHERE s.#{conn.quote_column_name(session_class.primary_key)} = ?
                 AND s.#{conn.quote_column_name('status')} = 'running')
            SQL
            return if conn.update(model.sanitize_sql_array([sql, true, session_id, message_id, false, session_id])) == 1
            return unless model.where(id: message_id, pending: false).exists?

            # (not a session the user cancelled: that one stays cancelled, with the message shown)
            requeued = session_class.unscoped.where(id: session_id, status: %w[completed failed], claimed_by: nil)
                                    .update_all(status: "pending", updated_at: Time.current)
            return if requeued.zero?

            session_class.agent_job_class.perform_later(session_id, nil, resume: true, message_id: message_id)
          end

          # True when the message row is there to deliver (a bounced one is gone).
          def exists?(session_class, message_id)
            reflection = session_class.reflect_on_association(:agent_messages) or
              raise ArgumentError, "#{session_class} needs has_many :agent_messages"
            reflection.klass.where(id: message_id).exists?
          end

          # True once a round took the row as (part of) its prompt.
          def delivered?(row)
            row.metadata.is_a?(Hash) && row.metadata.key?("delivered_at")
          end

          private

          def tables(session)
            reflection = session.class.reflect_on_association(:agent_messages) or
              raise ArgumentError, "#{session.class} needs has_many :agent_messages"
            [reflection.klass, reflection]
          end

          def postgresql?(conn) = conn.adapter_name.match?(/postg/i)

          def connection(model) = model.respond_to?(:lease_connection) ? model.lease_connection : model.connection

          # One below the lowest position there is, or −1: pending rows, in the order they were sent. (In a derived
          # table for the UPDATE: MySQL refuses a subquery on the table being updated.)
          def next_pending_position(table, fk, session_id_sql)
            "SELECT CASE WHEN MIN(m.position) < 0 THEN MIN(m.position) - 1 ELSE -1 END AS p FROM #{table} m " \
              "WHERE m.#{fk} = #{session_id_sql}"
          end
        end

        # What the CLI says (in a result's text) when the API refused the key.
        CLI_AUTH = Regexp.union(/\bAPI Error: 40[13]\b/, /authentication_error|permission_error/,
                                /invalid (?:x-)?api[- _]key/i, %r{Please run /login}, /OAuth token/i).freeze
        SEPARATOR = "\n\n"

        # The rows the current round delivers (the message_id row, or the promoted ones).
        attr_reader :rows

        def initialize(session, message_id: nil)
          @session = session
          reflection = session.class.reflect_on_association(:agent_messages) or
            raise ArgumentError, "#{session.class} needs has_many :agent_messages"
          @messages = reflection.klass
          @foreign_key = reflection.foreign_key
          @rows = []
          @rounds = 0
          @bounced = false
          return unless message_id

          row = scope.find_by(id: message_id) or
            raise SessionStateError, "session #{session.id} has no message #{message_id} to deliver"
          @rows = [row]
        end

        # True when the round's prompt is rows the app saved (so the job records no prompt row of its own).
        def persisted?
          !@rows.empty?
        end

        def bounced?
          @bounced
        end

        # Rounds run so far (the job runs another after each completed round that promoted messages).
        attr_reader :rounds

        # The first round's prompt and resume flag. A message row continues the conversation; a job given neither a
        # prompt nor a message delivers the pending messages there are (a follow-up the job enqueued), else the
        # session's prompt.
        def first_round(prompt, resume, broadcaster)
          @rounds = 1
          if persisted?
            to_end!
            return [text, true]
          end
          return [prompt, resume] if prompt.present?

          promote!(broadcaster) ? [text, true] : [@session.prompt, resume]
        end

        # Before a round: the Recorder takes the round's first user line (the :api loop's prompt) as the first row.
        def adopt(recorder)
          recorder.adopt(@rows.first) if persisted?
        end

        # After a round ended with these final attributes: bounces it when it failed before any answer, or promotes
        # the pending messages after one that completed. Returns the next round's prompt, or nil (the run is over).
        def next_round(attributes, result, recorder, broadcaster)
          if attributes[:status] == "failed" && bounce?(recorder)
            bounce!(broadcaster, auth_failure: auth_failure?(result), message: attributes[:error_message])
            return nil
          end
          return nil unless attributes[:status] == "completed" && promote!(broadcaster)

          @rounds += 1
          text
        end

        # An exception ended the round: bounced (true) when it came before any answer.
        def exception!(error, recorder, broadcaster)
          return false unless error.is_a?(StandardError) && bounce?(recorder)

          bounce!(broadcaster, auth_failure: false, message: nil)
          true
        end

        # The pending messages become the next prompt: marked delivered at the next positions, in the order sent, and
        # broadcast. False when there were none.
        def promote!(broadcaster)
          pending = scope.where(pending: true).reorder(position: :desc).to_a
          return false if pending.empty?

          position = [scope.where(pending: false).maximum(:position).to_i, 0].max
          now = Time.current
          @session.class.transaction do
            pending.each do |row|
              position += 1
              row.update_columns(pending: false, position: position, updated_at: now)
            end
          end
          mark_delivered(pending)
          pending.each { |row| broadcaster.promoted(row) }
          @rows = pending
          true
        end

        # After the claim was given back: messages still pending (sent as the run ended, or after a round that did
        # not complete) get a follow-up job, so none is left unanswered.
        def follow_up(job_class)
          return unless scope.where(pending: true).exists?
          return unless @session.class.unscoped.where(id: @session.id).where.not(status: "running")
                                .update_all(status: "pending", updated_at: Time.current) == 1

          job_class.perform_later(@session.id, nil, resume: true)
        end

        private

        def scope
          @messages.where(@foreign_key => @session.id)
        end

        # A row saved while the session was queued (before this job's claim) can have rows of an earlier run after
        # it: it moves to the end, where its answer will be (the holder of the claim is the only writer of positions).
        def to_end!
          row = @rows.first
          last = scope.where(pending: false).where.not(id: row.id).maximum(:position).to_i
          row.update_columns(position: last + 1, updated_at: Time.current) if row.position <= last
          mark_delivered(@rows)
        end

        def mark_delivered(rows)
          now = Time.current
          rows.each do |row|
            metadata = row.metadata.is_a?(Hash) ? row.metadata : {}
            row.update_columns(metadata: metadata.merge("delivered_at" => now.utc.iso8601(6)), updated_at: now)
          end
        end

        def text
          @rows.map { |row| row.content.to_s }.join(SEPARATOR)
        end

        def bounce?(recorder)
          persisted? && !@bounced && !(recorder && recorder.answered?)
        end

        def bounce!(broadcaster, auth_failure:, message:)
          @bounced = true
          @messages.where(id: @rows.map(&:id)).delete_all
          broadcaster.bounce(@rows, text)
          broadcaster.authentication_required(message) if auth_failure
        end

        def auth_failure?(result)
          return false unless result

          api_error = result["api_error"]
          if api_error.is_a?(Hash)
            return [401, 403].include?(api_error["status"].to_i) ||
                   %w[authentication_error permission_error].include?(api_error["type"].to_s)
          end

          CLI_AUTH.match?(result.content.to_s)
        end
      end
    end
  end
end
