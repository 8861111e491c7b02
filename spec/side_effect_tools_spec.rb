# frozen_string_literal: true

# Tool.side_effect!: with an execution store, a call is recorded before it runs and never runs twice for its key —
# across runners (a resumed run), across a worker that died inside the call, under :api's ToolRunner and :cli's
# SDK MCP server alike.
RSpec.describe "side-effect tools" do
  let(:log) { [] }
  let(:refund) do
    calls = log
    Class.new(RubyLLM::AgentSDK::Tool) do
      tool_name "issue_refund"
      description "Refunds an order"
      side_effect!
      param :order, :string, required: true
      param :cents, :integer, required: true
      define_method(:call) do |order:, cents:|
        calls << [order, cents]
        raise Interrupt if order == "die"   # the worker dies inside the call
        raise ArgumentError, "card declined" if order == "declined"

        "refunded #{cents} on #{order}"
      end
    end
  end
  let(:store) { RubyLLM::AgentSDK::ToolExecutions::Memory.new }

  def call(runner, input, id: "toolu_#{rand(1 << 30)}")
    runner.run([{ id: id, name: "issue_refund", input: input }]).first
  end

  def runner(**options) = RubyLLM::AgentSDK::ToolRunner.new([refund], executions: store, logger: Logger.new(nil), **options)

  it "runs a call once and gives a later run (a resumed one) the recorded result" do
    first = call(runner, { "order" => "A1", "cents" => 500 })
    again = call(runner, { "cents" => 500, "order" => "A1" }) # another run; key order does not matter
    expect([first[:content], again[:content]]).to eq(["refunded 500 on A1"] * 2)
    expect(again[:is_error]).to be(false)
    expect(log).to eq([["A1", 500]])
    other = call(runner, { "order" => "A1", "cents" => 700 })
    expect(other[:content]).to eq("refunded 700 on A1")
    expect(log.size).to eq(2)
  end

  it "replays an error the tool raised, without calling it again" do
    2.times { expect(call(runner, { "order" => "declined", "cents" => 1 })).to include(is_error: true, content: /card declined/) }
    expect(log.size).to eq(1)
  end

  it "does not run again a call that started and never finished: the model reads that its outcome is unknown" do
    expect { call(runner, { "order" => "die", "cents" => 9 }) }.to raise_error(Interrupt)
    result = call(runner, { "order" => "die", "cents" => 9 })
    expect(result).to include(is_error: true, content: /issue_refund was started with this input earlier and never reported back/)
    expect(log.size).to eq(1)
  end

  it "leaves a call that timed out unknown (it may have taken effect)" do
    slow = Class.new(refund) do
      tool_name "issue_refund"
      timeout 0.05
      define_method(:call) { |order:, cents:| sleep 5 }
    end
    first_run, resumed = Array.new(2) { RubyLLM::AgentSDK::ToolRunner.new([slow], executions: store) }
    expect(call(first_run, { "order" => "S", "cents" => 1 })).to include(is_error: true, content: /timed out/)
    expect(call(resumed, { "order" => "S", "cents" => 1 })).to include(is_error: true, content: /unknown/)
  end

  it "uses the tool's idempotency_key when it has one" do
    keyed = Class.new(refund) do
      tool_name "issue_refund"
      idempotency_key { |input, context| "#{context[:tenant]}:#{input['order']}" }
    end
    r = RubyLLM::AgentSDK::ToolRunner.new([keyed], executions: store, context: { tenant: "t1" })
    call(r, { "order" => "K", "cents" => 1 })
    expect(call(r, { "order" => "K", "cents" => 2 })[:content]).to eq("refunded 1 on K") # same key: the first result
    expect(store.calls.keys).to eq(["issue_refund:t1:K"])
  end

  it "runs tools that are not side effects as before, and every call without a store" do
    plain = Class.new(RubyLLM::AgentSDK::Tool) do
      tool_name "lookup"
      description "Looks up"
      param :q, :string, required: true
      define_method(:call) { |q:| "found #{q}" }
    end
    r = RubyLLM::AgentSDK::ToolRunner.new([plain, refund], executions: store, dedup: false)
    2.times { r.run([{ id: "t", name: "lookup", input: { "q" => "x" } }]) }
    expect(store.calls).to be_empty
    2.times { call(RubyLLM::AgentSDK::ToolRunner.new([refund]), { "order" => "N", "cents" => 1 }) }
    expect(log.size).to eq(2)
  end

  it "works through the :cli transport's SDK MCP server, whose runner is new each prompt" do
    server = RubyLLM::AgentSDK::SdkMcpServer.new([refund], executions: store)
    send = lambda do |id|
      server.handle("method" => "tools/call", "jsonrpc" => "2.0", "id" => id,
                    "params" => { "name" => "issue_refund", "arguments" => { "order" => "M", "cents" => 3 } })
    end
    first = send.call(1)
    server.reset # the next prompt
    second = send.call(2)
    expect([first, second].map { |r| r.dig("result", "content", 0, "text") }).to eq(["refunded 3 on M"] * 2)
    expect(log.size).to eq(1)
  end

  it "takes tool_executions: as an option on both transports" do
    expect(RubyLLM::AgentSDK::Options.new(tool_executions: :memory).tool_executions).to be_a(RubyLLM::AgentSDK::ToolExecutions::Memory)
    expect(RubyLLM::AgentSDK::Options.new(transport: :api, model: "m", tool_executions: store).tool_executions).to equal(store)
    expect { RubyLLM::AgentSDK::Options.new(tool_executions: Object.new) }.to raise_error(ArgumentError, /tool_executions/)
  end

  it "lets a person decide on a call whose earlier attempt's outcome is unknown, when the tool requires approval" do
    gated = Class.new(refund) do
      tool_name "issue_refund"
      requires_approval
    end
    first = RubyLLM::AgentSDK::ToolRunner.new([gated], executions: store, approvals: { "t1" => :approved })
    expect { call(first, { "order" => "die", "cents" => 9 }, id: "t1") }.to raise_error(Interrupt)
    # resumed: the model asks again; a person approves again, knowing the first attempt never reported back
    again = RubyLLM::AgentSDK::ToolRunner.new([gated], executions: store, approvals: { "t2" => :approved },
                                                       logger: Logger.new(nil))
    expect { call(again, { "order" => "die", "cents" => 9 }, id: "t2") }.to raise_error(Interrupt) # it ran again
    expect(log.size).to eq(2) # on the person's decision
    # without a new approval the call waits for one instead of running
    waiting = RubyLLM::AgentSDK::ToolRunner.new([gated], executions: store)
    expect(call(waiting, { "order" => "die", "cents" => 9 }, id: "t3")).to include(is_error: true, content: /awaiting approval/)
    expect(log.size).to eq(2)
  end
end
