# frozen_string_literal: true

require "json"

module RubyLLM
  module AgentSDK
    module ActiveRecord
      # Approval gates (Tool.requires_approval) of one AgentSession, kept as rows of agent_tool_executions (the table
      # side-effect calls are recorded in; no table of its own): key "approval:<tool_use_id>", status
      # awaiting_approval → approved | rejected, `result` the rejection's reason, `input` {"tool_use_id", "input",
      # "decided_by"}, finished_at set once the continuation has given the decision to the model.
      #
      # Every change is one conditional UPDATE: a decision only matches a row still awaiting_approval (a second one
      # is refused), and the continuation is enqueued by the decision whose UPDATE moved the session from
      # awaiting_approval to pending — exactly one, however many people decide at once.
      module Approvals
        PREFIX = "approval:"
        # The prompt of the continuation: the decided tool results are the same user turn (see README "Approval gates").
        CONTINUE = "(The pending tool calls were decided; their results are above. Continue.)"

        module_function

        def model = ToolExecutionStore.model

        def rows(session) = model.where(agent_session_id: session.id).where("#{model.connection.quote_column_name('key')} LIKE ?", "#{PREFIX}%")

        # The calls waiting for a decision: [{tool_use_id:, tool_name:, input:}].
        def pending(session)
          paused = session.class.unscoped.where(id: session.id, status: "awaiting_approval").select(:id)
          rows(session).where(status: "awaiting_approval", agent_session_id: paused).order(:id).map do |row|
            data = row.input.is_a?(Hash) ? row.input : JSON.parse(row.input.to_s)
            { tool_use_id: data["tool_use_id"], tool_name: row.tool_name, input: data["input"] }
          end
        end

        # The run paused on ApprovalRequired: one row per call that waits (inserting twice is a no-op).
        def record(session, error)
          now = Time.current
          error.pending.each do |id|
            call = error.calls.find { |c| c[:id] == id } or next
            model.transaction(requires_new: true) do
              model.create!(agent_session_id: session.id, key: "#{PREFIX}#{id}", tool_name: call[:name],
                            input: { "tool_use_id" => id, "input" => call[:input] }, status: "awaiting_approval",
                            created_at: now, updated_at: now)
            end
          rescue ::ActiveRecord::RecordNotUnique
            nil
          end
        end

        # approve! / reject!: the decision, then the continuation once none of the turn is left undecided.
        def decide(session, tool_use_id, status, reason: nil, by: nil)
          now = Time.current
          row = rows(session).find_by(key: "#{PREFIX}#{tool_use_id}")
          raise SessionStateError, "session #{session.id} has no tool call #{tool_use_id.inspect} awaiting approval" unless row

          data = (row.input.is_a?(Hash) ? row.input : JSON.parse(row.input.to_s)).merge("decided_by" => decider(by))
          paused = session.class.unscoped.where(id: session.id, status: "awaiting_approval").select(:id)
          decided = model.where(id: row.id, status: "awaiting_approval", agent_session_id: paused) # not after cancel!
                         .update_all(status: status, result: reason&.to_s, input: data, updated_at: now)
          if decided.zero?
            raise SessionStateError, "tool call #{tool_use_id.inspect} of session #{session.id} was decided already " \
                                     "(or the session is no longer awaiting approval)"
          end

          continue(session, now) unless rows(session).where(status: "awaiting_approval").exists?
          status
        end

        def continue(session, now)
          moved = session.class.unscoped.where(id: session.id, status: "awaiting_approval")
                         .update_all(status: "pending", finished_at: nil, heartbeat_at: now, updated_at: now) # handed to a job (RecoveryJob)
          return unless moved == 1

          session.reload
          Broadcaster.new(session).status
          session.class.agent_job_class.perform_later(session.id, CONTINUE, resume: true)
        end

        # Whether decisions wait to be given to the model (the continuation job has work).
        def decided?(session)
          rows(session).where(status: %w[approved rejected], finished_at: nil).exists?
        end

        # In the continuation job (holding the claim): the held turn's calls run through a ToolRunner with the
        # decisions (approved ones through the execution store, once), and their results become the user line that
        # ends the stored transcript. Returns the rows recorded (for broadcasting), or nil when nothing was decided.
        def apply(session, options, recorder)
          decided = rows(session).where(status: %w[approved rejected], finished_at: nil).to_a
          return nil if decided.empty?

          decisions = decided.to_h do |row|
            data = row.input.is_a?(Hash) ? row.input : JSON.parse(row.input.to_s)
            [data["tool_use_id"], row.status == "approved" ? :approved : [:rejected, row.result]]
          end
          turn = held_turn(session, decisions.keys.first)
          runner = ToolRunner.new(options.tools, context: options.context, hooks: options.hooks,
                                                 can_use_tool: options.can_use_tool, result_max_bytes: options.tool_result_max_bytes,
                                                 parallel: options.parallel_tool_calls != false, default_timeout: options.tool_timeout,
                                                 executions: options.tool_executions, approvals: decisions)
          results = runner.run(turn)
          blocks = results.map do |r|
            { "type" => "tool_result", "tool_use_id" => r[:tool_use_id], "content" => r[:content], "is_error" => r[:is_error] }
          end
          recorder.record_line(JSON.generate("type" => "user", "session_id" => session.claude_session_id,
                                             "message" => { "role" => "user", "content" => blocks }))
          model.where(id: decided.map(&:id)).update_all(finished_at: Time.current)
          recorder.take_new_records
        end

        # :cli: the CLI's transcript holds the refused result already, so the decisions go in the resumed prompt. The
        # approved calls run here (through the execution store, once); returns that prompt.
        def apply_cli(session, options)
          decided = rows(session).where(status: %w[approved rejected], finished_at: nil).order(:id).to_a
          calls = decided.map do |row|
            data = row.input.is_a?(Hash) ? row.input : JSON.parse(row.input.to_s)
            [row, data["tool_use_id"], { id: data["tool_use_id"], name: row.tool_name, input: data["input"] || {} }]
          end
          decisions = calls.to_h { |row, id, _| [id, row.status == "approved" ? :approved : [:rejected, row.result]] }
          runner = ToolRunner.new(options.tools, context: options.context, result_max_bytes: options.tool_result_max_bytes,
                                                 default_timeout: options.tool_timeout, executions: options.tool_executions,
                                                 approvals: decisions, parallel: false)
          results = runner.run(calls.map(&:last))
          lines = calls.zip(results).map do |(row, id, call), result|
            if row.status == "approved"
              "- #{call[:name]} (#{id}) was approved and has now run; its #{result[:is_error] ? "error" : "result"}: " \
                "#{result[:content]}"
            else
              "- #{call[:name]} (#{id}) was rejected: #{row.result}"
            end
          end
          model.where(id: decided.map(&:id)).update_all(finished_at: Time.current)
          "The tool calls that were awaiting approval have been decided:\n#{lines.join("\n")}\nContinue from there."
        end

        # The calls of the assistant turn that holds tool_use_id: [{id:, name:, input:}].
        def held_turn(session, tool_use_id)
          session.agent_messages.where(message_type: "assistant").reorder(position: :desc).limit(20).each do |row|
            calls = Array(row.tool_calls)
            next unless calls.any? { |c| c["id"] == tool_use_id }

            return calls.map { |c| { id: c["id"], name: c["name"], input: c["input"] || {} } }
          end
          raise SessionStateError, "session #{session.id}: the turn of tool call #{tool_use_id.inspect} is not stored"
        end

        def decider(by)
          return nil if by.nil?
          return by.to_gid_param if by.respond_to?(:to_gid_param)

          by.to_s
        end
        private_class_method :model, :rows, :continue, :held_turn, :decider
      end
    end
  end
end
