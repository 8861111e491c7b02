# frozen_string_literal: true

require "rails_helper"
require "ruby_llm/agent_sdk/testing/rspec"

# The app-facing test helpers against the dummy app: its AgentJob, its AgentSession / AgentMessage rows.
RSpec.describe "RubyLLM::AgentSDK::Testing in a Rails app" do
  let(:user) { User.create!(name: "Ada") }
  let(:prompt) { "Where is ORD-1?" }
  let(:lookup) { { name: "lookup_order", input: { "order_number" => "ORD-1" }, result: { status: "shipped" } } }

  def new_session(transport, **attributes)
    AgentSession.create!(user: user, prompt: prompt, transport: transport, model_id: "claude-haiku-4-5", **attributes)
  end

  def rows(session)
    session.agent_messages.reload.map { |row| [row.position, row.message_type] }
  end

  it "keeps seed 000's CLI#stream mock working for AgentJob" do
    session = new_session("cli")
    allow_any_instance_of(RubyLLM::AgentSDK::CLI).to receive(:stream).and_yield(
      '{"type":"system","subtype":"init","session_id":"test-123"}'
    ).and_yield(
      '{"type":"result","subtype":"success","content":"Done"}'
    )

    AgentJob.perform_now(session.id, "Test prompt")

    session.reload
    expect(session.status).to eq("completed")
    expect(session.claude_session_id).to eq("test-123")
  end

  %w[cli api].each do |transport|
    it "runs AgentJob on #{transport} from stub_agent_run: one row a message, totals, and the tool call on the session" do
      session = new_session(transport)
      stub_agent_run(text: "It shipped", tool_calls: [lookup], cost: 0.0125, session_id: "sess-#{transport}")

      expect { AgentJob.perform_now(session.id) }
        .to have_run_agent.with_prompt(prompt).with_options(transport: transport.to_sym, model: "claude-haiku-4-5").once

      session.reload
      expect(rows(session)).to eq(%w[user system assistant user assistant result].each_with_index.map { |type, i| [i + 1, type] })
      expect(session).to have_attributes(status: "completed", claude_session_id: "sess-#{transport}", result: "It shipped",
                                         num_turns: 2, total_cost_usd: BigDecimal("0.0125"))
      expect(session.input_tokens).to eq(200)
      expect(session).to have_called_tool(:lookup_order).with("order_number" => "ORD-1").once
      expect(session.agent_messages.last.to_message).to eq(agent_runs.last.result)
    end
  end

  it "stores the :api prompt line and every message once: the store's append and the query's block see the same line" do
    session = new_session("api")
    stub_agent_stream({ type: "system", subtype: "init", session_id: "s-1" },
                      { type: "result", subtype: "success", result: "Done", num_turns: 1, session_id: "s-1" })

    AgentJob.perform_now(session.id)

    expect(rows(session)).to eq([[1, "user"], [2, "system"], [3, "result"]])
    expect(session.agent_messages.first.to_message.to_h.dig("message", "content")).to eq(prompt)
    expect(session.reload.status).to eq("completed")
  end

  it "resumes an :api session from its rows under the same session id" do
    session = new_session("api")
    stub_agent_run(text: "first")
    AgentJob.perform_now(session.id)
    first_id = session.reload.claude_session_id

    stub_agent_run(text: "second") { perform_enqueued_jobs { session.resume!("And ORD-2?") } }

    expect(agent_runs.last.options.resume).to eq(first_id)
    expect(session.reload.claude_session_id).to eq(first_id)
    expect(session.agent_messages.results.map(&:content)).to eq(%w[first second])
  end

  it "fails the session from an exception given as a line, keeping the messages before it" do
    session = new_session("cli")
    stub_agent_stream('{"type":"system","subtype":"init","session_id":"s-2"}',
                      RubyLLM::AgentSDK::ProcessError.new("Claude Code CLI exited without a result", exit_code: 1, stderr: ""))

    AgentJob.perform_now(session.id) # retry_on takes the ProcessError: enqueued again

    expect(session.reload).to have_attributes(status: "failed", failure_reason: "RubyLLM::AgentSDK::ProcessError")
    expect(rows(session)).to eq([[1, "user"], [2, "system"]])
  end

  it "lists the session's tool calls when have_called_tool fails" do
    session = new_session("api")
    stub_agent_run(text: "ok", tool_calls: [lookup])
    AgentJob.perform_now(session.id)

    expect { expect(session).to have_called_tool(:refund) }
      .to raise_error(RSpec::Expectations::ExpectationNotMetError,
                      /expected to call the tool "refund", but 0 of the 1 tool call matched:\n  lookup_order \{"order_number":"ORD-1"\}/)
  end

  describe "with committed rows", :commits do
    it "holds for a job that runs in another thread (an in-process queue adapter)" do
      session = new_session("api")
      stub_agent_run(text: "from the worker thread", tool_calls: [lookup])

      Thread.new { Rails.application.executor.wrap { AgentJob.perform_now(session.id) } }.join

      expect(session.reload).to have_attributes(status: "completed", result: "from the worker thread")
      expect(session).to have_called_tool(:lookup_order)
      expect(agent_runs.size).to eq(1)
    end

    it "runs AgentJob for real against with_fake_model_server (:api)" do
      session = new_session("api")
      with_fake_model_server([{ text: "Hello from the fake model" }], transport: :api) do |server|
        AgentJob.perform_now(session.id)
        expect(server.agent_requests.size).to eq(1)
      end

      expect(session.reload).to have_attributes(status: "completed", result: "Hello from the fake model")
      expect(agent_runs).to eq([]) # a real run, not a stubbed one
      expect(RubyLLM::AgentSDK.config.query_options).to eq({})
    end
  end
end
