# frozen_string_literal: true

require "spec_helper"

# Tool.requires_approval in the core: the ToolRunner holds a turn with an undecided call, and transport :api ends the
# run with ApprovalRequired (the Rails job turns that into a pause: spec/rails/approvals_spec.rb).
RSpec.describe "Approval gates" do
  let(:ran) { [] }
  let(:gated) do
    log = ran
    Class.new(RubyLLM::AgentSDK::Tool) do
      tool_name "transfer"
      description "Moves money"
      requires_approval { |input, context| input["cents"] > context.fetch(:limit) }
      param :cents, :integer, required: true
      define_method(:call) { |cents:| log << cents && "moved #{cents}" }
    end
  end
  let(:free) do
    log = ran
    Class.new(RubyLLM::AgentSDK::Tool) do
      tool_name "balance"
      description "Reads the balance"
      define_method(:call) { log << :balance && "100" }
    end
  end

  it "asks the predicate with the input and the context; always without one; inherited; a raising predicate gates" do
    expect(gated.requires_approval?({ "cents" => 5 }, { limit: 10 })).to be(false)
    expect(gated.requires_approval?({ "cents" => 50 }, { limit: 10 })).to be(true)
    expect(gated.requires_approval?({ "cents" => 50 }, nil)).to be(true) # NoMethodError: fail closed
    always = Class.new(RubyLLM::AgentSDK::Tool) { requires_approval }
    expect(always.requires_approval?).to be(true)
    expect(Class.new(always).requires_approval?).to be(true)
    expect(free.requires_approval?).to be(false)
  end

  it "holds the whole turn while a call waits, and runs it with the decisions" do
    calls = [{ id: "t1", name: "balance", input: {} }, { id: "t2", name: "transfer", input: { "cents" => 50 } }]
    runner = RubyLLM::AgentSDK::ToolRunner.new([gated, free], context: { limit: 10 })
    results = runner.run(calls)
    expect(runner.awaiting).to eq([{ id: "t2", name: "transfer", input: { "cents" => 50 } }])
    expect(results.map { |r| r[:is_error] }).to eq([true, true])
    expect(results.last[:content]).to include("awaiting approval")
    expect(ran).to be_empty

    approved = RubyLLM::AgentSDK::ToolRunner.new([gated, free], context: { limit: 10 }, approvals: { "t2" => :approved })
    expect(approved.run(calls).map { |r| r[:content] }).to eq(["100", "moved 50"])
    expect(approved.awaiting).to be_empty
    rejected = RubyLLM::AgentSDK::ToolRunner.new([gated, free], context: { limit: 10 },
                                                                approvals: { "t2" => [:rejected, "too much"] })
    expect(rejected.run(calls).last).to include(is_error: true, content: "The user rejected this transfer call: too much")
    expect(ran).to contain_exactly(:balance, 50, :balance) # (a turn's calls run in parallel)
  end

  it "records an approved call in the execution store even without side_effect!: a repeated continuation replays it" do
    executions = RubyLLM::AgentSDK::ToolExecutions::Memory.new
    calls = [{ id: "t2", name: "transfer", input: { "cents" => 50 } }]
    2.times do
      runner = RubyLLM::AgentSDK::ToolRunner.new([gated], context: { limit: 10 }, executions: executions,
                                                          approvals: { "t2" => :approved })
      expect(runner.run(calls).first).to include(content: "moved 50", is_error: false)
    end
    expect(ran).to eq([50])
    expect(executions.calls.values).to contain_exactly(include(tool: "transfer", content: "moved 50"))
  end

  it "ends an :api run with ApprovalRequired after storing the assistant's tool_use, running nothing" do
    store = RubyLLM::AgentSDK::SessionStore::Memory.new
    RubyLLM::AgentSDK::Testing::FakeServer.open([{ tool_use: { name: "transfer", input: { "cents" => 50 } } }]) do |server|
      error = nil
      begin
        RubyLLM::AgentSDK.query("Move 50", transport: :api, model: "claude-sonnet-4-5", base_url: server.base_url,
                                           api_key: "sk-test", max_retries: 0, session_store: store, tools: [gated],
                                           context: { limit: 10 }) { |_| nil }
      rescue RubyLLM::AgentSDK::ApprovalRequired => e
        error = e
      end
      expect(error.pending).to eq([error.calls.first[:id]])
      expect(error.calls.first).to include(name: "transfer", input: { "cents" => 50 })
      expect(server.agent_requests.size).to eq(1)
    end
    expect(ran).to be_empty
  end
end
