# frozen_string_literal: true

require "bigdecimal"

module AgentSDKSpec
  # Sessions and messages as the dashboard reads them, written with insert_all in batches: spread over `days` days up
  # to `today` (UTC), a mix of statuses, models, transports and owners; each session one assistant row with 1–3 tool
  # calls and one user row whose metadata "tool_errors" names the calls that failed (as the Recorder writes it).
  # Deterministic for a seed. The dashboard's specs (a few dozen rows) and bench/dashboard.rb (100,000) share it.
  module DashboardRows
    STATUSES = [["completed", 70], ["failed", 12], ["cancelled", 5], ["running", 8], ["awaiting_approval", 2],
                ["pending", 3]].flat_map { |status, n| [status] * n }.freeze
    MODELS = %w[claude-sonnet-4-5 claude-haiku claude-opus-4-1].freeze
    TRANSPORTS = %w[cli api].freeze
    TOOLS = %w[Read Bash Grep lookup_order].freeze
    REASONS = %w[error_max_turns error_max_budget_usd RubyLLM::AgentSDK::ProcessError Timeout::Error].freeze

    module_function

    # Returns the number of sessions written.
    def insert(sessions:, messages:, count:, today:, days:, user_ids:, seed: 1, batch: 5_000)
      random = Random.new(seed)
      next_id = sessions.maximum(:id).to_i + 1
      start = Time.utc(today.year, today.month, today.day) - ((days - 1) * 86_400)
      span = days * 86_400
      (0...count).each_slice(batch) do |slice|
        session_rows = []
        message_rows = []
        slice.each do |i|
          id = next_id + i
          row = session_row(random, id, start + random.rand(span), user_ids)
          session_rows << row
          message_rows.concat(message_rows_for(random, id, row[:created_at]))
        end
        sessions.insert_all!(session_rows)
        messages.insert_all!(message_rows)
      end
      [sessions, messages].each do |model|
        connection = model.connection
        connection.reset_pk_sequence!(model.table_name) if connection.respond_to?(:reset_pk_sequence!)
      end
      count
    end

    def session_row(random, id, created_at, user_ids)
      status = STATUSES[random.rand(STATUSES.size)]
      finished = %w[completed failed cancelled].include?(status)
      turns = 1 + (random.rand**2 * 30).floor # most runs short, a long tail
      {
        id: id, user_id: user_ids[random.rand(user_ids.size)], status: status,
        transport: TRANSPORTS[random.rand(TRANSPORTS.size)], model_id: MODELS[random.rand(MODELS.size)],
        prompt: "Run #{id}", num_turns: turns, total_cost_usd: BigDecimal((turns * (0.002 + random.rand * 0.03)).round(6).to_s),
        failure_reason: status == "failed" ? REASONS[random.rand(REASONS.size)] : nil,
        created_at: created_at, updated_at: created_at, finished_at: finished ? created_at + 60 : nil,
        metadata: {}
      }
    end

    def message_rows_for(random, session_id, at)
      calls = Array.new(1 + random.rand(3)) { |k| { "id" => "toolu_#{session_id}_#{k}", "name" => TOOLS[random.rand(TOOLS.size)], "input" => {} } }
      failed = calls.select { random.rand < 0.06 }.map { |c| c["name"] }
      [
        { agent_session_id: session_id, position: 1, message_type: "assistant", content: "Working on it", subtype: nil,
          tool_calls: calls, metadata: {}, pending: false, created_at: at, updated_at: at },
        { agent_session_id: session_id, position: 2, message_type: "user", content: nil, subtype: nil, tool_calls: [],
          metadata: failed.empty? ? {} : { "is_error" => true, "tool_errors" => failed }, pending: false,
          created_at: at, updated_at: at }
      ]
    end
  end
end
