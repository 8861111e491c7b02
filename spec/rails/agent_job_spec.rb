# frozen_string_literal: true

require_relative "../rails_helper"
require_relative "support/agent_config"

# The job module end to end on the dummy app: the :api loop against the fake server, the :cli transport against the
# fault CLI where a crash is needed. Every path ends in a status that says what happened, with its messages.
RSpec.describe RubyLLM::AgentSDK::ActiveJob::SessionJob, :rails do
  include AgentConfigHelpers

  let(:user) { User.create!(name: "ada") }
  let(:session) { AgentSession.create!(user: user, prompt: "Where is order 1042?") }

  # A tool that looks at what is already in the database when the loop calls it.
  let(:lookup) do
    seen = rows_seen
    Class.new(RubyLLM::AgentSDK::Tool) do
      tool_name "lookup_order"
      description "Looks an order up"
      param :number, :string, required: true
      define_method(:call) do |number:|
        seen << AgentMessage.order(:position).pluck(:message_type)
        raise ActiveRecord::RecordNotFound, "no order #{number}" if number == "missing"

        { number: number, status: "shipped" }
      end
    end
  end
  let(:rows_seen) { [] }

  let(:tool_turns) do
    [{ tool_use: { name: "lookup_order", input: { "number" => "1042" } }, usage: { input_tokens: 120, output_tokens: 30 } },
     { text: "It shipped on Monday.", usage: { input_tokens: 200, output_tokens: 12, cache_read_input_tokens: 50 } }]
  end

  it "claims, records every message in order with the totals, and completes" do
    with_api_server(tool_turns, tools: [lookup]) do
      AgentJob.perform_now(session.id, session.prompt)
    end
    session.reload
    expect(session.status).to eq("completed")
    expect(session.agent_messages.map { |m| [m.position, m.message_type, m.subtype] })
      .to eq([[1, "user", nil], [2, "system", "init"], [3, "assistant", nil], [4, "user", nil], [5, "assistant", nil],
              [6, "result", "success"]])
    expect(session.agent_messages.third.tool_calls).to match([include("name" => "lookup_order", "input" => { "number" => "1042" })])
    expect(session.agent_messages.fourth.content).to include("shipped")
    expect(session).to have_attributes(claude_session_id: be_present, transport: "api", result: "It shipped on Monday.",
                                       num_turns: 2, input_tokens: 320, output_tokens: 42, cache_read_tokens: 50,
                                       claimed_by: nil, failure_reason: nil)
    expect(session.total_cost_usd).to be > 0
    expect([session.started_at, session.heartbeat_at, session.finished_at]).to all(be_present)
    # the tool ran after the assistant message that called it was stored, before the next model call
    expect(rows_seen).to eq([%w[user system assistant]])
    expect(session.agent_messages.last.to_message).to be_result
  end

  it "resumes an :api conversation from the stored rows" do
    with_api_server(tool_turns, tools: [lookup]) { AgentJob.perform_now(session.id) }
    with_api_server([{ text: "The one before shipped too." }], tools: [lookup]) do |server|
      session.reload.resume!("And the order before it?")
      perform_enqueued_jobs
      sent = server.agent_requests.last[:body]["messages"]
      expect(sent.map { |m| m["role"] }).to eq(%w[user assistant user assistant user])
      expect(sent.last["content"].to_s).to include("And the order before it?")
    end
    session.reload
    expect(session).to have_attributes(status: "completed", result: "The one before shipped too.", num_turns: 3)
    expect(session.agent_messages.where(message_type: "result").count).to eq(2)
  end

  it "sends a tool's exception to the model and completes" do
    turns = [{ tool_use: { name: "lookup_order", input: { "number" => "missing" } } }, { text: "I could not find it." }]
    with_api_server(turns, tools: [lookup]) { AgentJob.perform_now(session.id) }
    session.reload
    tool_result = session.agent_messages.find_by(position: 4)
    expect(tool_result.content).to include("RecordNotFound")
    expect(tool_result.metadata).to include("is_error" => true)
    expect(session.status).to eq("completed")
  end

  it "fails a run the API refused for good, and does not retry it" do
    with_api_server([{ status: 401 }]) { AgentJob.perform_now(session.id) }
    session.reload
    expect(session).to have_attributes(status: "failed", failure_reason: "error_during_execution", claimed_by: nil)
    expect(session.error_message).to match(/401|authentication/i)
    expect(enqueued_jobs).to be_empty
    expect(session.agent_messages.pluck(:message_type)).to eq(%w[user system result])
  end

  it "retries a transient API failure, and the second attempt completes" do
    with_api_server([{ status: 529 }, { text: "Back again." }]) do
      AgentJob.perform_now(session.id)
      expect(session.reload).to have_attributes(status: "failed", failure_reason: "error_during_execution")
      expect(enqueued_jobs.size).to eq(1)
      perform_enqueued_jobs
    end
    expect(session.reload).to have_attributes(status: "completed", result: "Back again.")
  end

  it "fails on a budget stop with the result's subtype, without retrying" do
    with_api_server(tool_turns, tools: [lookup], max_budget_usd: 0.000001) { AgentJob.perform_now(session.id) }
    expect(session.reload).to have_attributes(status: "failed", failure_reason: "error_max_budget_usd")
    expect(enqueued_jobs).to be_empty
  end

  it "marks the session failed, keeps its messages and re-raises when the CLI crashes (then retries)" do
    fault_cli = File.expand_path("../support/bin/fault-cli", __dir__)
    with_agent_config(transport: :cli, query_options: { cli_path: fault_cli, env: { "FAULT_CLI_MODE" => "segv" } }) do
      AgentJob.perform_now(session.id)
    end
    session.reload
    expect(session).to have_attributes(status: "failed", failure_reason: "RubyLLM::AgentSDK::ProcessError", claimed_by: nil)
    expect(session.agent_messages.pluck(:message_type)).to eq(%w[user system assistant])
    expect(enqueued_jobs.map { |j| j["job_class"] }).to eq(["AgentJob"])
  end

  it "fails a stream that ended without a result" do
    allow_any_instance_of(RubyLLM::AgentSDK::CLI).to receive(:stream)
      .and_yield('{"type":"system","subtype":"init","session_id":"s-9"}')
    with_agent_config(transport: :cli) { AgentJob.perform_now(session.id) }
    expect(session.reload).to have_attributes(status: "failed", failure_reason: "no_result", claude_session_id: "s-9")
  end

  it "fails an API failure the CLI reports as success with is_error, from error? and not the subtype" do
    allow_any_instance_of(RubyLLM::AgentSDK::CLI).to receive(:stream)
      .and_yield('{"type":"system","subtype":"init","session_id":"s-9"}')
      .and_yield('{"type":"result","subtype":"success","is_error":true,"result":"API Error: 401 invalid x-api-key"}')
    with_agent_config(transport: :cli) { AgentJob.perform_now(session.id) }
    expect(session.reload).to have_attributes(status: "failed", failure_reason: "api_error")
    expect(enqueued_jobs).to be_empty
  end

  it "discards a run whose options are invalid, marking the session" do
    with_agent_config(transport: :api, model: "claude-sonnet-4-5", query_options: { max_turns: -1 }) do
      AgentJob.perform_now(session.id)
    end
    expect(session.reload).to have_attributes(status: "failed", failure_reason: "ArgumentError")
    expect(enqueued_jobs).to be_empty
  end

  it "does not run a session another worker holds" do
    AgentSession.claim(session.id, token: "other-worker")
    with_api_server([{ text: "never" }]) do |server|
      AgentJob.perform_now(session.id)
      expect(server.agent_requests).to be_empty
    end
    expect(session.reload).to have_attributes(status: "running", claimed_by: "other-worker")
  end

  it "enqueues a job over the per-user cap again later, without running the query" do
    AgentSession.create!(user: user, prompt: "busy", status: "running", claimed_by: "w1")
    with_api_server([{ text: "never" }], max_running_per_user: 1) do |server|
      AgentJob.perform_now(session.id)
      expect(server.agent_requests).to be_empty
    end
    expect(session.reload.status).to eq("pending")
    expect(enqueued_jobs.size).to eq(1)
    expect(enqueued_jobs.first["scheduled_at"]).to be_present
  end

  it "broadcasts the status, then each message, then the final status, over Turbo Streams" do
    broadcasts = nil
    with_api_server(tool_turns, tools: [lookup]) do
      broadcasts = capture_turbo_stream_broadcasts(session) { AgentJob.perform_now(session.id) }
    end
    actions = broadcasts.map { |b| [b["action"], b["target"]] }
    status_target = ActionView::RecordIdentifier.dom_id(session, :status)
    expect(actions.first).to eq(["replace", status_target])
    expect(actions.last).to eq(["replace", status_target])
    expect(actions[1..-2]).to eq([["append", "agent_messages"]] * 6)
    expect(broadcasts.last.to_html).to include("completed")
    expect(broadcasts[5].to_html).to include("It shipped on Monday.")
    row = session.agent_messages.find_by(position: 5)
    expect(broadcasts[5].to_html).to include(ActionView::RecordIdentifier.dom_id(row))
  end

  it "goes on when a broadcast fails, and logs why" do
    log = StringIO.new
    with_api_server([{ text: "fine" }], message_partial: "agent_sessions/no_such_partial", logger: Logger.new(log)) do
      AgentJob.perform_now(session.id)
    end
    expect(session.reload.status).to eq("completed")
    expect(log.string).to include("broadcast", "no_such_partial")
  end

  it "keeps the API key out of every row, log line and notification" do
    log = StringIO.new
    events = []
    subscriber = ActiveSupport::Notifications.subscribe(/agent_sdk/) { |*args| events << args.inspect }
    key = AgentConfigHelpers::API_KEY
    turns = [{ tool_use: { name: "lookup_order", input: { "number" => key } } },
             { status: 401, error: { message: "invalid x-api-key: #{key}" } }]
    with_api_server(turns, tools: [lookup], logger: Logger.new(log)) { AgentJob.perform_now(session.id) }
    ActiveSupport::Notifications.unsubscribe(subscriber)
    rows = [AgentSession, AgentMessage].flat_map { |model| model.all.map { |r| r.attributes.values.join("|") } }
    expect(rows.join).not_to include(key)
    expect(rows.join).to include("[REDACTED]")
    expect(log.string).not_to include(key)
    expect(events.join).not_to include(key)
    expect(session.reload.status).to eq("failed")
  end

  describe "cancel! while it runs", :commits do
    it "stops the run in the middle of a model call and ends cancelled, with its messages" do
      with_api_server([{ text: "too late", delay: 30 }]) do
        id = session.id
        worker = Thread.new { AgentSession.connection_pool.with_connection { AgentJob.perform_now(id) } }
        Timeout.timeout(10) { sleep 0.02 until AgentMessage.where(agent_session_id: id, message_type: "system").exists? }
        expect(AgentSession.find(id).cancel!).to eq("running")
        expect(worker.join(10)).to be_truthy # long before the 30 s answer
      end
      session.reload
      expect(session).to have_attributes(status: "cancelled", claimed_by: nil, finished_at: be_present)
      expect(session.agent_messages.pluck(:message_type, :subtype)).to eq([["user", nil], %w[system init], %w[result error_cancelled]])
    end
  end
end
