# frozen_string_literal: true

require_relative "../rails_helper"

RSpec.describe RubyLLM::AgentSDK::ActiveRecord::SessionRecord, :rails do
  include ActiveSupport::Testing::TimeHelpers

  let(:user) { User.create!(name: "ada") }
  let(:session) { AgentSession.create!(user: user, prompt: "Summarise the tickets") }

  def add_message(session, type, content: nil, **attributes)
    position = (session.agent_messages.maximum(:position) || 0) + 1
    session.agent_messages.create!(position: position, message_type: type, content: content, **attributes)
  end

  it "starts pending with every status as an enum" do
    expect(session).to be_pending
    expect(AgentSession.statuses.keys).to eq(%w[pending running awaiting_approval completed failed cancelled])
  end

  describe "#run!" do
    it "enqueues the job with the prompt" do
      expect { session.run! }.to have_enqueued_job(AgentJob).with(session.id, "Summarise the tickets").on_queue("agents")
      expect(session.reload).to be_pending
    end

    it "takes a new prompt and clears an earlier failure" do
      session.update!(status: "failed", failure_reason: "no_result", error_message: "x")
      session.run!("Now the open ones")
      expect(session.reload).to have_attributes(prompt: "Now the open ones", status: "pending", failure_reason: nil)
    end

    it "refuses a running session and an empty prompt" do
      session.update!(status: "running")
      expect { session.run! }.to raise_error(RubyLLM::AgentSDK::SessionStateError, /running/)
      expect { AgentSession.new.run!("  ") }.to raise_error(ArgumentError, /prompt/)
      expect(enqueued_jobs).to be_empty
    end
  end

  describe "#resume!" do
    it "enqueues the job with resume: true once there is a conversation" do
      expect { session.resume!("more") }.to raise_error(RubyLLM::AgentSDK::SessionStateError, /no conversation/)
      session.update!(status: "completed", claude_session_id: "s-1")
      expect { session.resume!("more") }.to have_enqueued_job(AgentJob).with(session.id, "more", resume: true)
      expect(session.reload).to be_pending
    end
  end

  describe "#cancel!" do
    it "cancels a pending session at once" do
      expect(session.cancel!).to eq("cancelled")
      expect(session.finished_at).to be_present
    end

    it "asks a running session to stop, once" do
      session.update!(status: "running", claimed_by: "w")
      expect(session.cancel!).to eq("running")
      first = session.cancel_requested_at
      expect(first).to be_present
      expect(session).to be_cancel_requested
      travel(1.minute) { session.cancel! }
      expect(session.reload.cancel_requested_at).to eq(first)
    end

    it "leaves a finished session alone" do
      session.update!(status: "completed")
      expect(session.cancel!).to eq("completed")
      expect(session).not_to be_cancel_requested
    end
  end

  it "broadcasts the status badge when run!, resume! or cancel! change it" do
    status_target = ActionView::RecordIdentifier.dom_id(session, :status)
    sent = capture_turbo_stream_broadcasts(session) do
      session.run!
      session.cancel!
    end
    expect(sent.map { |b| [b["action"], b["target"]] }).to eq([["replace", status_target]] * 2)
    expect(sent.map { |b| b.at_css(".agent-status")&.text }).to eq(%w[pending cancelled])
  end

  it "answers latest_content, totals and recent" do
    add_message(session, "assistant", content: "first")
    add_message(session, "user", content: "tool output")
    add_message(session, "assistant", content: "second")
    session.update!(input_tokens: 10, output_tokens: 5, cache_read_tokens: 2, cache_creation_tokens: 1, num_turns: 2)
    expect(session.latest_content).to eq("second")
    expect(session.total_tokens).to eq(18)
    expect(session.totals).to include(num_turns: 2, input_tokens: 10)
    older = AgentSession.create!(prompt: "old", created_at: 1.day.ago)
    expect(AgentSession.recent.first).to eq(session)
    expect(AgentSession.recent).to include(older)
  end

  it "records a failure with a reason and a message without keys" do
    session.fail!("upstream", "token sk-ant-api03-#{'x' * 40} refused")
    expect(session.reload).to have_attributes(status: "failed", failure_reason: "upstream")
    expect(session.error_message).to eq("token [REDACTED] refused")
  end

  describe RubyLLM::AgentSDK::ActiveRecord::MessageRecord do
    it "gives back the Message a row was stored from, and has scopes by type" do
      recorder = RubyLLM::AgentSDK::ActiveRecord::Recorder.new(session)
      line = '{"type":"assistant","message":{"id":"m1","content":[{"type":"text","text":"Hi"},' \
             '{"type":"tool_use","id":"t1","name":"Read","input":{"path":"a.rb"}}]},"session_id":"s"}'
      row = recorder.record(RubyLLM::AgentSDK::Message.parse(line))
      recorder.record(RubyLLM::AgentSDK::Message.parse('{"type":"result","subtype":"success","result":"Hi","num_turns":1}'))
      expect(row.to_message).to eq(RubyLLM::AgentSDK::Message.parse(line))
      expect(row.to_message.tool_calls).to eq([{ id: "t1", name: "Read", input: { "path" => "a.rb" } }])
      expect(AgentMessage.assistants).to eq([row])
      expect(AgentMessage.tool_calls).to eq([row])
      expect(AgentMessage.results.count).to eq(1)
      expect(row.tool_call_names).to eq(["Read"])
    end

    it "renders a row written without its line" do
      row = add_message(session, "assistant", content: "typed by hand")
      expect(row.to_message).to have_attributes(type: :assistant, content: "typed by hand")
    end
  end
end
