# frozen_string_literal: true

require "bigdecimal"

module RubyLLM
  module AgentSDK
    module ActiveRecord
      # The one path a message takes into the database: its row and the session's totals in one transaction, before
      # the caller goes on (so before the next model call). The job, the :api session store and anything else that
      # persists a run write through a Recorder; broadcasting happens after it returns, once the rows are committed.
      #
      #   recorder = Recorder.new(session)
      #   RubyLLM::AgentSDK.query(prompt, **options) { |message| row = recorder.record(message) }
      #
      # One Recorder is one run of a session, by the worker that holds its claim: positions continue from the last
      # stored row, and the result's figures are added to what the session had when the run began.
      class Recorder
        USAGE_COLUMNS = { input_tokens: "input_tokens", output_tokens: "output_tokens",
                          cache_read_tokens: "cache_read_input_tokens",
                          cache_creation_tokens: "cache_creation_input_tokens" }.freeze
        # Redacting a line costs ~10 µs a KiB; lines longer than this are cut first (the row keeps the excerpt).
        MAX_RAW_BYTES = 1024 * 1024

        attr_reader :session
        # Values to keep out of every row besides what Redaction already hides (the run's own API key, which may not
        # look like one): the job sets them from the run's options.
        attr_accessor :secrets

        def initialize(session)
          @session = session
          @reflection = session.class.reflect_on_association(:agent_messages) or
            raise ArgumentError, "#{session.class} needs has_many :agent_messages"
          # (pending messages, seed 003, wait at negative positions: the run's own rows go on after the delivered ones)
          @position = [@reflection.klass.where(@reflection.foreign_key => session.id).maximum(:position).to_i, 0].max
          @base = SessionRecord::TOTALS.index_with { |name| session[name] || 0 }
          @counted = {} # ids of the assistant messages in the running totals (the CLI splits one turn into several)
          @pending = nil
          @secrets = []
          @fresh = []
          # (a scoped has_many, as the generated one, has no automatic inverse_of)
          @inverse = @reflection.inverse_of&.name ||
                     @reflection.klass.reflect_on_all_associations(:belongs_to)
                                .find { |a| a.foreign_key.to_s == @reflection.foreign_key.to_s }&.name
          @cancel_requested = false
          @adopted = nil
          @answered = false
          @tool_names = {} # tool_use id => tool name, of the calls this run recorded (for "tool_errors")
        end

        # A user row the app saved already (immediate persist, seed 003): the run's first user line — the :api loop's
        # prompt — fills in its raw and metadata instead of becoming a row of its own.
        def adopt(row)
          @adopted = row
        end

        # True once a model call of this run succeeded: an assistant message came back (not the CLI's "<synthetic>"
        # one that reports an API error).
        def answered?
          @answered
        end

        # True once a write found the session's cancel flag set (checked by the same UPDATE: no query of its own).
        def cancel_requested?
          @cancel_requested
        end

        # Persists a Message (stream events are not rows: nil). Returns the row. The same message handed over twice in
        # a row — by the :api session store, then by the query's block — is written once.
        def record(message)
          if @pending && @pending[0] == message.raw
            row = @pending[1]
            @pending = nil
            return row
          end
          return nil if message.stream_event?

          @answered = true if message.assistant? && message.model != "<synthetic>"
          return record_adopted(message) if @adopted && message.user? && !@answered

          row = @reflection.klass.new(row_attributes(message))
          row.association(@inverse).target = session if @inverse # belongs_to is satisfied without a SELECT
          session.class.transaction do
            row.save!
            write_session(session_changes(message))
          end
          @pending = [message.raw, row]
          @fresh << row
          row
        end

        # The rows written since the last call, in order: what a broadcaster has not sent yet (the :api loop's prompt
        # line reaches the store but is never yielded).
        def take_new_records
          rows = @fresh
          @fresh = []
          rows
        end

        # A stream-json line, as a session store receives it.
        def record_line(line)
          record(AgentSDK::Message.parse(line))
        end

        # The user's prompt as a row of the transcript (the :api loop stores its own; the CLI echoes none).
        def record_prompt(prompt)
          record(AgentSDK::Message.from_h("type" => "user", "session_id" => session.claude_session_id,
                                          "message" => { "role" => "user", "content" => prompt }))
        end

        # Text as rows hold it: Redaction, then the run's own secrets.
        def redact(text)
          text = Redaction.text(text)
          @secrets.each do |secret|
            text = text.gsub(secret, Redaction::MARK) if secret.to_s.length >= 8 && text.include?(secret)
          end
          text
        end

        private

        def record_adopted(message)
          row = @adopted
          @adopted = nil
          raw = message.raw.bytesize > MAX_RAW_BYTES ? message.raw.byteslice(0, MAX_RAW_BYTES).scrub : message.raw
          session.class.transaction do
            metadata = (row.metadata.is_a?(Hash) ? row.metadata : {}).merge(metadata(message))
            row.update_columns(raw: redact(raw), uuid: message.uuid, metadata: metadata, updated_at: Time.current)
            write_session(session_changes(message))
          end
          @pending = [message.raw, row]
          row
        end

        # The session's new totals, in the UPDATE that also tells whether cancel! was called since the last message.
        # One statement per message on the hot path: its SQL is built once per set of columns, not through a
        # relation each time (that costs more than the UPDATE itself).
        def write_session(changes)
          sql = update_sql(changes.keys)
          values = [*changes.values, session.id]
          if connection.update(model.sanitize_sql_array([sql, *values])).zero?
            model.unscoped.where(id: session.id).update_all(changes)
            @cancel_requested = true
          end
          changes.each { |name, value| session[name] = value }
          session.clear_attribute_changes(changes.keys)
        end

        def update_sql(columns)
          @update_sql ||= {}
          @update_sql[columns] ||= begin
            sets = columns.map { |c| "#{connection.quote_column_name(c)} = ?" }.join(", ")
            key = connection.quote_column_name(model.primary_key)
            "UPDATE #{model.quoted_table_name} SET #{sets} WHERE #{key} = ? " \
              "AND #{connection.quote_column_name('cancel_requested_at')} IS NULL"
          end
        end

        def model = session.class

        # lease_connection is Rails 7.2's name for what `connection` was (which later Rails may refuse by setting).
        def connection = model.respond_to?(:lease_connection) ? model.lease_connection : model.connection

        def row_attributes(message)
          @position += 1
          raw = message.raw.bytesize > MAX_RAW_BYTES ? message.raw.byteslice(0, MAX_RAW_BYTES).scrub : message.raw
          {
            @reflection.foreign_key => session.id, position: @position, message_type: message.type.to_s,
            subtype: message.subtype, content: message.content && redact(message.content), uuid: message.uuid,
            tool_calls: tool_calls(message), metadata: metadata(message), raw: redact(raw)
          }
        end

        # A tool's input may hold anything the model saw: redacted like the line (only parsed back when it changed).
        def tool_calls(message)
          return [] if message.tool_calls.empty?

          calls = message.tool_calls.map { |call| { "id" => call[:id], "name" => call[:name], "input" => call[:input] } }
          calls.each { |call| @tool_names[call["id"]] = call["name"] if call["id"] }
          json = JSON.generate(calls)
          clean = redact(json)
          clean == json ? calls : JSON.parse(clean)
        end

        def metadata(message)
          { "model" => message.model, "usage" => message.usage, "is_error" => (true if message.is_error),
            "parent_tool_use_id" => message.parent_tool_use_id, "session_id" => message.session_id,
            "tool_errors" => (tool_errors(message) if message.user? && message.is_error) }.compact
        end

        # The names of the tools whose tool_result blocks in this user line are errors (one entry per result): what
        # the dashboard's tool error rate counts. Only error lines are parsed again (they are rare).
        def tool_errors(message)
          blocks = JSON.parse(message.raw).dig("message", "content")
          return nil unless blocks.is_a?(Array)

          ids = blocks.select { |b| b.is_a?(Hash) && b["type"] == "tool_result" && b["is_error"] == true }
                      .map { |b| b["tool_use_id"] }
          ids.empty? ? nil : ids.map { |id| @tool_names[id] || stored_tool_name(id) || "unknown" }
        rescue JSON::ParserError
          nil
        end

        # A call of an earlier run (an approval's continuation): from the session's last assistant rows.
        def stored_tool_name(id)
          rows = @reflection.klass.where(@reflection.foreign_key => session.id, message_type: "assistant")
                            .order(position: :desc).limit(50).pluck(:tool_calls)
          rows.each do |calls|
            call = Array(calls).find { |c| c.is_a?(Hash) && c["id"] == id }
            return call["name"] if call
          end
          nil
        end

        def session_changes(message)
          now = Time.current
          changes = { heartbeat_at: now, updated_at: now }
          if message.init?
            changes[:claude_session_id] = message.session_id if message.session_id
            changes[:model_id] = message.model if message.model && session.model_id.blank?
          elsif message.result?
            changes.merge!(result_totals(message))
            changes[:result] = message.content && redact(message.content)
          elsif message.assistant? && message.usage && !counted?(message)
            USAGE_COLUMNS.each { |column, key| changes[column] = session[column].to_i + message.usage[key].to_i }
          end
          changes
        end

        # The result's figures are the run's own totals: added to the session's from before the run.
        def result_totals(message)
          usage = message.usage || {}
          totals = USAGE_COLUMNS.to_h { |column, key| [column, @base[column].to_i + usage[key].to_i] }
          totals[:num_turns] = @base[:num_turns].to_i + message.num_turns.to_i
          cost = exact_cost(message)
          totals[:total_cost_usd] = BigDecimal(@base[:total_cost_usd].to_s) + cost if cost
          totals
        end

        # :api results carry integer micro-dollars; the CLI's a Float of USD.
        def exact_cost(message)
          micros = message["total_cost_micros"] if message.type == :result
          return BigDecimal(micros) / 1_000_000 if micros.is_a?(Integer)

          message.total_cost_usd && BigDecimal(message.total_cost_usd.to_s)
        end

        def counted?(message)
          id = message.to_h.dig("message", "id")
          return false unless id
          return true if @counted.key?(id)

          @counted[id] = true
          false
        end
      end
    end
  end
end
