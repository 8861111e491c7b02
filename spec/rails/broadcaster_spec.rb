# frozen_string_literal: true

require_relative "../rails_helper"
require_relative "support/agent_config"

RSpec.describe RubyLLM::AgentSDK::Broadcaster, :rails do
  include AgentConfigHelpers
  include ActionCable::TestHelper

  let(:session) { AgentSession.create!(prompt: "hi") }
  let(:now) { [100.0] }
  let(:broadcaster) { described_class.new(session, clock: -> { now.first }) }

  def delta(text)
    RubyLLM::AgentSDK::Message.from_h(type: "stream_event", content: text,
                                      event: { type: "content_block_delta", delta: { type: "text_delta", text: text } })
  end

  it "sends text deltas at most once per delta_interval, each with all the text so far" do
    sent = capture_turbo_stream_broadcasts(session) do
      broadcaster.delta(delta("Hel"))            # t=100.00: sent
      now[0] += 0.03
      broadcaster.delta(delta("lo"))             # too soon
      now[0] += 0.03
      broadcaster.delta(delta(" wor"))           # too soon
      now[0] += 0.05
      broadcaster.delta(delta("ld <b>"))         # t=100.11: sent
    end
    expect(sent.map { |b| [b["action"], b["target"]] }).to eq([["update", ActionView::RecordIdentifier.dom_id(session, :delta)]] * 2)
    expect(sent.map { |b| b.at_css("template").inner_html }).to eq(["Hel", "Hello world &lt;b&gt;"])
  end

  it "streams about 10 deltas a second however fast they come" do
    sent = capture_turbo_stream_broadcasts(session) do
      1000.times do
        broadcaster.delta(delta("x"))
        now[0] += 0.001 # a thousand deltas in one second
      end
    end
    expect(sent.size).to be_between(9, 11)
  end

  it "starts the delta over once the whole message is stored" do
    recorder = RubyLLM::AgentSDK::ActiveRecord::Recorder.new(session)
    sent = capture_turbo_stream_broadcasts(session) do
      broadcaster.delta(delta("first"))
      broadcaster.message(recorder.record(RubyLLM::AgentSDK::Message.from_h(type: "assistant", message: { content: [{ type: "text", text: "first" }] })))
      broadcaster.delta(delta("second"))
    end
    expect(sent.map { |b| b["action"] }).to eq(%w[update append update])
    expect(sent.last.at_css("template").inner_html).to eq("second")
  end

  it "broadcasts JSON through ActionCable when turbo-rails is not there" do
    allow(broadcaster).to receive(:turbo?).and_return(false)
    recorder = RubyLLM::AgentSDK::ActiveRecord::Recorder.new(session)
    row = recorder.record(RubyLLM::AgentSDK::Message.from_h(type: "assistant", message: { content: [{ type: "text", text: "hello" }] }))
    stream = described_class.stream_name(session)
    broadcaster.message(row)
    broadcaster.status
    broadcaster.delta(delta("partial"))
    sent = broadcasts(stream).map { |json| JSON.parse(json) }
    expect(sent.map { |b| b["type"] }).to eq(%w[message status delta])
    expect(sent[0]).to include("id" => row.id, "position" => 1, "message_type" => "assistant", "content" => "hello",
                               "session_id" => session.id)
    expect(sent[1]).to include("status" => "pending")
    expect(sent[2]).to include("text" => "partial")
  end

  it "logs a broadcast that fails and returns" do
    log = StringIO.new
    with_agent_config(logger: Logger.new(log), status_partial: "agent_sessions/missing") do
      expect { broadcaster.status }.not_to raise_error
    end
    expect(log.string).to include("status broadcast for session #{session.id} failed")
  end
end
