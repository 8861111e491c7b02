# frozen_string_literal: true

require "rails_helper"

# The dummy's partials (what the broadcasts render): a live RubyLLM::AgentSDK::Message and a stored row's
# to_message render alike; the status badge has the id the broadcasts replace.
RSpec.describe "agent_sessions views" do
  let(:assistant) do
    RubyLLM::AgentSDK::Message.from_h(
      type: "assistant", uuid: "u-1",
      message: { content: [{ type: "text", text: "Reading <the> file" },
                           { type: "tool_use", id: "t1", name: "Read", input: { file_path: "a.rb" } }] }
    )
  end
  let(:result) do
    RubyLLM::AgentSDK::Message.from_h(type: "result", subtype: "success", result: "done", num_turns: 2,
                                      total_cost_usd: 0.0123, duration_ms: 1500,
                                      usage: { input_tokens: 30, output_tokens: 40 })
  end

  def render_message(message, **locals)
    ApplicationController.render(partial: "agent_sessions/message", locals: { message: message, **locals })
  end

  it "renders an assistant message: its text (escaped) and its tool calls" do
    html = render_message(assistant)
    expect(html).to include('data-message-type="assistant"', "Reading &lt;the&gt; file")
    expect(html).to include('data-tool="Read"', "a.rb")
  end

  it "renders a result with its stats" do
    html = render_message(result)
    expect(html).to include('data-message-type="result"', 'data-subtype="success"', "done")
    expect(html).to match(%r{data-stat="num_turns">2<}).and include("$0.0123", "1500 ms", "30 in / 40 out")
  end

  it "renders a stored row (to_message) like the live message, with the row's dom id" do
    session = AgentSession.create!(prompt: "hi")
    row = session.agent_messages.create!(position: 0, message_type: "assistant", raw: assistant.raw)
    html = render_message(row.to_message, agent_message: row, session: session)
    expect(html).to include(%(id="agent_message_#{row.id}"))
    expect(html.sub(/ id="agent_message_\d+"/, "")).to eq(render_message(assistant))
  end

  it "renders the status badge with the id the broadcasts replace" do
    session = AgentSession.create!(prompt: "hi", status: "running")
    html = ApplicationController.render(partial: "agent_sessions/status", locals: { session: session })
    expect(html).to include(%(id="status_agent_session_#{session.id}"), "agent-status--running", ">running<")
  end

  describe "GET /agent_sessions/:id", type: :request do
    it "shows the stored messages in order, the badge and the stream it subscribes to" do
      session = AgentSession.create!(prompt: "hi", status: "completed")
      session.agent_messages.create!(position: 1, message_type: "result", raw: result.raw)
      session.agent_messages.create!(position: 0, message_type: "assistant", raw: assistant.raw)
      get "/agent_sessions/#{session.id}"
      expect(response).to have_http_status(:ok)
      body = response.body
      expect(body).to include("<turbo-cable-stream-source", %(id="status_agent_session_#{session.id}"))
      expect(body.index("Reading &lt;the&gt; file")).to be < body.index("30 in / 40 out")
    end

    it "shows pending messages apart, after the transcript, and the input a bounce-back refills" do
      session = AgentSession.create!(prompt: "hi", status: "running")
      session.agent_messages.create!(position: 1, message_type: "assistant", raw: assistant.raw)
      session.agent_messages.create!(position: -1, message_type: "user", content: "sent while busy", pending: true)
      get "/agent_sessions/#{session.id}"
      body = response.body
      pending_list = %(id="pending_messages_agent_session_#{session.id}")
      expect(body).to include(pending_list, %(id="input_agent_session_#{session.id}"))
      expect(body.index("Reading &lt;the&gt; file")).to be < body.index(pending_list)
      expect(body.index(pending_list)).to be < body.index("sent while busy")
    end
  end
end
