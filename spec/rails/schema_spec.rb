# frozen_string_literal: true

require "rails_helper"

# The dummy's tables are the ones `rails g agent_sdk:install` writes (/work/plan-rails.md): model and job specs run
# on this schema, so it must be that shape, on SQLite and on PostgreSQL.
RSpec.describe "the dummy app's schema" do
  let(:connection) { ActiveRecord::Base.connection }
  let(:json_type) { connection.adapter_name.match?(/postg/i) ? :jsonb : :json }

  def columns(table)
    connection.columns(table).to_h { |c| [c.name, c] }
  end

  def indexes(table)
    connection.indexes(table).to_h { |i| [i.columns, i] }
  end

  it "has agent_sessions with every column of the plan" do
    cols = columns("agent_sessions")
    expect(cols.keys).to match_array(%w[
      id user_id claude_session_id status transport model_id prompt result failure_reason error_message
      total_cost_usd num_turns input_tokens output_tokens cache_read_tokens cache_creation_tokens
      started_at finished_at heartbeat_at claimed_by claimed_at cancel_requested_at recoveries metadata created_at updated_at
    ])
    expect(cols["status"]).to have_attributes(type: :string, null: false, default: "pending")
    expect(cols["total_cost_usd"]).to have_attributes(type: :decimal, precision: 12, scale: 6)
    expect(cols["total_cost_usd"].default.to_d).to eq(0)
    expect(cols.values_at(*%w[input_tokens output_tokens cache_read_tokens cache_creation_tokens]).map(&:sql_type))
      .to all(match(/bigint/i))
    expect(cols["num_turns"]).to have_attributes(type: :integer, default: "0")
    expect(cols["recoveries"]).to have_attributes(type: :integer, default: "0", null: false) # RecoveryJob's count
    expect(cols["metadata"].type).to eq(json_type)
    expect(%w[prompt result error_message].map { |c| cols[c].type }).to all(eq(:text))
    expect(%w[started_at finished_at heartbeat_at claimed_at cancel_requested_at].map { |c| cols[c].type }).to all(eq(:datetime))
  end

  it "indexes agent_sessions for the job's queries and the dashboard's filters" do
    expect(indexes("agent_sessions").keys).to match_array([%w[claude_session_id], %w[status heartbeat_at], %w[user_id status],
                                                           %w[created_at], %w[status created_at], %w[model_id created_at],
                                                           %w[transport created_at], %w[user_id created_at]])
    expect(connection.foreign_keys("agent_sessions").map(&:to_table)).to eq(["users"])
  end

  it "has agent_messages with every column of the plan" do
    cols = columns("agent_messages")
    expect(cols.keys).to match_array(%w[id agent_session_id position message_type subtype content uuid tool_calls metadata raw
                                        pending created_at updated_at])
    expect([cols["pending"].type, cols["pending"].null, AgentMessage.new.pending]).to eq([:boolean, false, false])
    expect(cols["agent_session_id"].null).to be(false)
    expect(cols["position"]).to have_attributes(type: :integer, null: false)
    expect(cols["message_type"]).to have_attributes(type: :string, null: false)
    expect([cols["tool_calls"].type, cols["metadata"].type]).to eq([json_type, json_type])
    expect(%w[content raw].map { |c| cols[c].type }).to all(eq(:text))
  end

  it "indexes agent_messages by position (unique), uuid and type" do
    idx = indexes("agent_messages")
    expect(idx.keys).to match_array([%w[agent_session_id position], %w[uuid], %w[agent_session_id message_type]])
    expect(idx[%w[agent_session_id position]].unique).to be(true)
    expect(connection.foreign_keys("agent_messages").map(&:to_table)).to eq(["agent_sessions"])
  end

  it "puts Solid Queue's tables in the queue database, not the primary" do
    expect(SolidQueue::Record.connection.tables).to include("solid_queue_jobs", "solid_queue_ready_executions",
                                                            "solid_queue_scheduled_executions", "solid_queue_processes")
    expect(connection.tables).not_to include("solid_queue_jobs")
    expect(SolidQueue::Record.connection_db_config.name).to eq("queue")
  end

  it "round-trips the json columns' defaults and values through the models" do
    user = User.create!(name: "ada")
    session = user.agent_sessions.create!(prompt: "hi", metadata: { "tags" => %w[a b], "n" => 1 })
    message = session.agent_messages.create!(position: 0, message_type: "assistant",
                                             tool_calls: [{ "id" => "t1", "name" => "Read", "input" => { "file_path" => "a" } }])
    session.reload
    message.reload
    expect(session.metadata).to eq("tags" => %w[a b], "n" => 1)
    expect(session.status).to eq("pending")
    expect(message.tool_calls).to eq([{ "id" => "t1", "name" => "Read", "input" => { "file_path" => "a" } }])
    expect(message.metadata).to eq({})
    expect(AgentSession.new.metadata).to eq({})
    expect(AgentMessage.new.tool_calls).to eq([])
  end

  it "has the models of the install generator, with the gem's concerns" do
    expect(AgentSession.include?(RubyLLM::AgentSDK::ActiveRecord::SessionRecord)).to be(true)
    expect(AgentMessage.include?(RubyLLM::AgentSDK::ActiveRecord::MessageRecord)).to be(true)
    expect(AgentJob.include?(RubyLLM::AgentSDK::ActiveJob::SessionJob)).to be(true)
    expect(AgentJob.queue_name).to eq("agents")
    expect(AgentSession.reflect_on_association(:agent_messages).options).to include(dependent: :destroy)
    expect(User.reflect_on_association(:agent_sessions)).not_to be_nil
  end

  it "stores jsonb on PostgreSQL (queried with @>)", if: ENV["AGENT_SDK_DB"] == "postgresql" do
    AgentSession.create!(prompt: "p", metadata: { "tags" => %w[x y] })
    expect(connection.select_value("SELECT pg_typeof(metadata)::text FROM agent_sessions LIMIT 1")).to eq("jsonb")
    expect(AgentSession.where("metadata @> ?", { tags: ["x"] }.to_json).count).to eq(1)
  end
end
