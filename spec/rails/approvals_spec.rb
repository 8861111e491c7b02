# frozen_string_literal: true

require_relative "../rails_helper"
require_relative "support/agent_config"

# Approval gates (Tool.requires_approval) on transport :api: a call that needs a decision pauses the session without
# holding a worker; approve! runs it once (through agent_tool_executions) and reject! gives the model the reason.
RSpec.describe RubyLLM::AgentSDK::ActiveRecord::Approvals, :rails do
  include AgentConfigHelpers
  include RealCLI::Helpers

  let(:session) { AgentSession.create!(prompt: "Refund order A1") }
  let(:refunds) { [] }
  let(:refund) do
    done = refunds
    Class.new(RubyLLM::AgentSDK::Tool) do
      tool_name "issue_refund"
      description "Refunds an order"
      side_effect!
      requires_approval { |input, _context| input["amount_cents"] > 10_000 }
      param :order, :string, required: true
      param :amount_cents, :integer, required: true
      define_method(:call) do |order:, amount_cents:|
        done << [order, amount_cents]
        "refunded #{order} (#{amount_cents})"
      end
    end
  end

  def refund_turns(amount, *answers)
    [{ tool_use: { name: "issue_refund", input: { "order" => "A1", "amount_cents" => amount } } },
     *answers.map { |a| { text: a } }]
  end

  def tool_results(request)
    request.body["messages"].flat_map { |m| m["content"].is_a?(Array) ? m["content"] : [] }
                            .select { |b| b["type"] == "tool_result" }
  end

  def pause(server)
    broadcasts = capture_turbo_stream_broadcasts(session) { AgentJob.perform_now(session.id) }
    expect(server.agent_requests.size).to eq(1)
    [session.reload.pending_approvals.first, broadcasts]
  end

  it "pauses: status awaiting_approval, the call stored and broadcast, no claim held, the tool not run" do
    with_api_server(refund_turns(50_000, "unused"), tools: [refund]) do |server|
      call, broadcasts = pause(server)
      expect(session).to have_attributes(status: "awaiting_approval", claimed_by: nil)
      expect(call).to match(tool_use_id: start_with("toolu_"), tool_name: "issue_refund",
                            input: { "order" => "A1", "amount_cents" => 50_000 })
      expect(refunds).to be_empty
      approval = broadcasts.find { |b| b["target"] == ActionView::RecordIdentifier.dom_id(session, :approvals) }
      expect(approval.to_html).to include(call[:tool_use_id], "issue_refund", "Approve", "Reject")
      expect(broadcasts.map { |b| b.to_html }.join).to include("awaiting_approval")
      # the claim never takes a paused session: a stray job does nothing
      expect(AgentSession.claim(session.id, token: "other")).to eq(:finished)
      expect { session.resume!("go on") }.to raise_error(RubyLLM::AgentSDK::SessionStateError, /awaiting approval/)
      expect(enqueued_jobs).to be_empty
    end
  end

  it "approve! runs the tool exactly once and the run completes" do
    with_api_server(refund_turns(50_000, "Refunded 500 USD."), tools: [refund]) do |server|
      call, = pause(server)
      user = User.create!(name: "Ada")
      session.approve!(call[:tool_use_id], by: user)
      expect(enqueued_jobs.size).to eq(1)
      perform_enqueued_jobs
      expect(refunds).to eq([["A1", 50_000]])
      expect(session.reload).to have_attributes(status: "completed", result: "Refunded 500 USD.")
      second = server.agent_requests.last
      expect(tool_results(second)).to eq([{ "type" => "tool_result", "tool_use_id" => call[:tool_use_id],
                                            "content" => "refunded A1 (50000)" }])
      expect(second.body["messages"].map { |m| m["role"] }).to eq(%w[user assistant user])
      executions = RubyLLM::AgentSDK::ActiveRecord::ToolExecutionStore.model.where(agent_session_id: session.id)
      expect(executions.where(tool_name: "issue_refund", status: "finished").count).to eq(1)
      expect(executions.find_by(status: "approved").input).to include("decided_by" => user.to_gid_param)
      # the decision was given once: a second approve! is refused, and nothing runs again
      expect { session.approve!(call[:tool_use_id]) }.to raise_error(RubyLLM::AgentSDK::SessionStateError, /decided already/)
      expect(refunds.size).to eq(1)
    end
  end

  it "reject! gives the model the reason as an is_error tool result, and refuses a second decision" do
    with_api_server(refund_turns(50_000, "I could not refund it: over the limit."), tools: [refund]) do |server|
      call, = pause(server)
      session.reject!(call[:tool_use_id], reason: "Over the 100 USD limit without a manager")
      expect { session.approve!(call[:tool_use_id]) }.to raise_error(RubyLLM::AgentSDK::SessionStateError, /decided already/)
      expect { session.reject!(call[:tool_use_id], reason: "again") }.to raise_error(RubyLLM::AgentSDK::SessionStateError)
      expect(enqueued_jobs.size).to eq(1)
      perform_enqueued_jobs
      expect(refunds).to be_empty
      expect(session.reload.status).to eq("completed")
      result = tool_results(server.agent_requests.last).first
      expect(result).to include("tool_use_id" => call[:tool_use_id], "is_error" => true)
      expect(result["content"]).to include("rejected", "Over the 100 USD limit without a manager")
    end
  end

  it "does not pause when the predicate is false" do
    with_api_server(refund_turns(500, "Refunded 5 USD."), tools: [refund]) do
      AgentJob.perform_now(session.id)
    end
    expect(session.reload.status).to eq("completed")
    expect(session.pending_approvals).to be_empty
    expect(refunds).to eq([["A1", 500]])
  end

  it "cancel! ends a paused session: its calls can no longer be decided" do
    with_api_server(refund_turns(50_000, "unused"), tools: [refund]) do |server|
      call, = pause(server)
      expect(session.cancel!).to eq("cancelled")
      expect(session.pending_approvals).to be_empty
      expect { session.approve!(call[:tool_use_id]) }.to raise_error(RubyLLM::AgentSDK::SessionStateError, /no longer awaiting/)
      expect(enqueued_jobs).to be_empty
      expect(refunds).to be_empty
    end
  end

  it "runs the turn's other calls only once the turn is decided, and continues after the last decision" do
    lookup_calls = []
    lookup = Class.new(RubyLLM::AgentSDK::Tool) do
      tool_name "lookup_order"
      description "Looks up an order"
      param :order, :string, required: true
      define_method(:call) { |order:| lookup_calls << order && "order #{order}: paid" }
    end
    turns = [{ tool_uses: [{ name: "lookup_order", input: { "order" => "A1" } },
                          { name: "issue_refund", input: { "order" => "A1", "amount_cents" => 20_000 } },
                          { name: "issue_refund", input: { "order" => "B2", "amount_cents" => 30_000 } }] },
             { text: "One refunded, one refused." }]
    with_api_server(turns, tools: [refund, lookup]) do |server|
      AgentJob.perform_now(session.id)
      expect(lookup_calls).to be_empty
      first, second = session.reload.pending_approvals.map { |c| c[:tool_use_id] }
      session.approve!(first)
      expect(enqueued_jobs).to be_empty # B2 still waits
      expect(session.reload.status).to eq("awaiting_approval")
      session.reject!(second, reason: "B2 was never paid")
      perform_enqueued_jobs
      expect([lookup_calls, refunds]).to eq([["A1"], [["A1", 20_000]]])
      expect(session.reload.status).to eq("completed")
      results = tool_results(server.agent_requests.last)
      expect(results.map { |r| r["is_error"] }).to eq([nil, nil, true])
      expect(results.last["content"]).to include("B2 was never paid")
    end
  end

  it "under :cli a call that needs approval is refused, never run (the MCP server's runner)" do
    server = RubyLLM::AgentSDK::SdkMcpServer.new([refund])
    reply = server.handle("jsonrpc" => "2.0", "id" => 1, "method" => "tools/call",
                          "params" => { "name" => "issue_refund", "arguments" => { "order" => "A1", "amount_cents" => 50_000 } })
    expect(reply.dig("result", "isError")).to be(true)
    expect(reply.dig("result", "content", 0, "text")).to include("awaiting approval")
    expect(refunds).to be_empty
  end

  describe "under :cli (the real claude CLI against the FakeServer)" do
    def cli_turns(answer)
      [{ tool_use: { id: "toolu_01Refund", name: "mcp__agent_sdk__issue_refund",
                     input: { "order" => "A1", "amount_cents" => 50_000 } } },
       # the CLI may send its next request before the job's interrupt lands (that one then takes this slow turn and is
       # aborted) or not (the resumed run gets it): either way the resumed run is answered with `answer`
       { text: answer, delay: 2 },
       { text: answer }]
    end

    def with_cli_config(turns)
      with_real_cli(turns) do |server, options, _cwd|
        with_agent_config(transport: :cli, model: "claude-sonnet-4-5", heartbeat_interval: 0.05, tools: [refund],
                          query_options: options.except(:model)) { yield server }
      end
    end

    def last_user_text(server)
      server.agent_requests.last.body["messages"].last["content"].then { |c| c.is_a?(String) ? c : c.map { |b| b["text"] }.join }
    end

    it "pauses on the refused call, and approve! runs it once and resumes the CLI session with the result" do
      with_cli_config(cli_turns("Refunded 500 USD.")) do |server|
        AgentJob.perform_now(session.id)
        expect(session.reload).to have_attributes(status: "awaiting_approval", claimed_by: nil)
        expect(session.pending_approvals).to eq([{ tool_use_id: "toolu_01Refund", tool_name: "issue_refund",
                                                   input: { "order" => "A1", "amount_cents" => 50_000 } }])
        expect(refunds).to be_empty
        session.approve!("toolu_01Refund", by: "ada")
        perform_enqueued_jobs
        expect(refunds).to eq([["A1", 50_000]])
        expect(session.reload).to have_attributes(status: "completed", result: "Refunded 500 USD.")
        expect(last_user_text(server)).to include("issue_refund (toolu_01Refund) was approved", "refunded A1 (50000)")
      end
    end

    it "reject! resumes with the reason in the prompt; the tool never runs" do
      with_cli_config(cli_turns("Not refunded.")) do |server|
        AgentJob.perform_now(session.id)
        session.reload.reject!("toolu_01Refund", reason: "needs a manager")
        perform_enqueued_jobs
        expect(refunds).to be_empty
        expect(session.reload).to have_attributes(status: "completed", result: "Not refunded.")
        expect(last_user_text(server)).to include("issue_refund (toolu_01Refund) was rejected: needs a manager")
      end
    end
  end

  it "refuses a decision on an unknown call" do
    expect { session.approve!("toolu_nope") }.to raise_error(RubyLLM::AgentSDK::SessionStateError, /no tool call/)
  end
end
