# frozen_string_literal: true

require_relative "../rails_helper"
require_relative "support/agent_config"

# The job records side-effect tool calls in agent_tool_executions: a resumed run never runs one twice.
RSpec.describe RubyLLM::AgentSDK::ActiveRecord::ToolExecutionStore, :rails do
  include AgentConfigHelpers

  let(:session) { AgentSession.create!(prompt: "Refund order A1") }
  let(:refunds) { [] }
  let(:refund) do
    done = refunds
    Class.new(RubyLLM::AgentSDK::Tool) do
      tool_name "issue_refund"
      description "Refunds an order"
      side_effect!
      param :order, :string, required: true
      define_method(:call) do |order:|
        done << order
        raise Interrupt if order == "die" # the worker dies inside the call

        "refunded #{order}"
      end
    end
  end

  def refund_turns(order, answer)
    [{ tool_use: { name: "issue_refund", input: { "order" => order } } }, { text: answer }]
  end

  def executions = described_class.model.where(agent_session_id: session.id)

  it "runs a refund once, and a resumed run that asks again gets the recorded result" do
    with_api_server(refund_turns("A1", "Refunded."), tools: [refund]) { AgentJob.perform_now(session.id) }
    expect(executions.pluck(:key, :tool_name, :status, :result, :is_error))
      .to match([[start_with("issue_refund:"), "issue_refund", "finished", "refunded A1", false]])

    with_api_server(refund_turns("A1", "It was refunded already."), tools: [refund]) do
      session.reload.resume!("Refund it again, please")
      perform_enqueued_jobs
    end
    expect(refunds).to eq(["A1"])
    expect(session.reload).to have_attributes(status: "completed", result: "It was refunded already.")
    replayed = session.agent_messages.where(message_type: "user").order(:position).last
    expect(replayed.content).to eq("refunded A1")
  end

  it "does not run again a refund its worker died inside: the model is told the outcome is unknown" do
    with_api_server(refund_turns("die", "never"), tools: [refund]) do
      expect { AgentJob.perform_now(session.id) }.to raise_error(Interrupt)
    end
    expect(session.reload).to have_attributes(status: "failed", failure_reason: "interrupted")
    expect(executions.pluck(:status)).to eq(["started"])

    with_api_server(refund_turns("die", "I cannot tell whether it went through."), tools: [refund]) do
      session.resume!("Did the refund go through?")
      perform_enqueued_jobs
    end
    expect(refunds).to eq(["die"])
    tool_result = session.agent_messages.where(message_type: "user").order(:position).last
    expect(tool_result.content).to include("never reported back", "unknown")
    expect(tool_result.metadata).to include("is_error" => true)
    expect(session.reload.status).to eq("completed")
  end

  it "keeps two sessions' calls apart, and stores long keys as their digest" do
    other = AgentSession.create!(prompt: "x")
    a = described_class.new(session)
    b = described_class.new(other)
    expect(a.begin("issue_refund:k", tool: "issue_refund", input: {})).to eq([:run])
    expect(b.begin("issue_refund:k", tool: "issue_refund", input: {})).to eq([:run])
    expect(a.begin("issue_refund:k", tool: "issue_refund", input: {})).to eq([:unknown])
    a.finish("issue_refund:k", "ok", false)
    expect(a.begin("issue_refund:k", tool: "issue_refund", input: {})).to eq([:done, "ok", false])
    long = "issue_refund:#{'x' * 500}"
    expect(a.begin(long, tool: "issue_refund", input: {})).to eq([:run])
    expect(executions.pluck(:key)).to include(start_with("sha256:"))
  end
end
