# frozen_string_literal: true

# Ruby tools under the :cli transport: the REAL claude CLI calls them through the in-process SDK MCP server
# (mcp_message control requests), offline against the FakeServer.
RSpec.describe "Ruby tools through the real claude CLI" do
  sdk = RubyLLM::AgentSDK

  module CLIToolsSpec
    CALLS = Queue.new

    class LookupOrder < RubyLLM::AgentSDK::Tool
      description "Look up an order by its number"
      param :order_number, :string, required: true, description: "e.g. ORD-1234"
      param :include_items, :boolean

      def permitted?(context) = context[:user] != "mallory"

      def call(order_number:, include_items: false)
        CALLS << { order_number: order_number, include_items: include_items, context: context }
        { "order_number" => order_number, "status" => "shipped", "user" => context[:user] }
      end
    end
  end

  let(:call_turn) { ->(input, id = "toolu_01Lookup") { { tool_use: { id: id, name: "mcp__agent_sdk__lookup_order", input: input } } } }

  def tool_results(server, request_index)
    server.agent_requests[request_index].body["messages"].flat_map do |m|
      m["content"].is_a?(Array) ? m["content"].select { |b| b["type"] == "tool_result" } : []
    end
  end

  before { CLIToolsSpec::CALLS.clear }

  it "runs a Ruby tool with the model's input and the context; the result reaches the CLI and the model" do
    turns = [call_turn.call({ "order_number" => "ORD-1" }), { text: "ORD-1 has shipped." }]
    with_real_cli(turns) do |server, options, _cwd|
      messages = sdk.query("Where is ORD-1?", **options, tools: [CLIToolsSpec::LookupOrder], context: { user: "ann" }).to_a

      init = messages.find(&:init?)
      expect(init.to_h["tools"]).to include("mcp__agent_sdk__lookup_order")
      expect(init.to_h["mcp_servers"]).to eq([{ "name" => "agent_sdk", "status" => "connected" }])

      expect(CLIToolsSpec::CALLS.size).to eq(1)
      expect(CLIToolsSpec::CALLS.pop).to eq(order_number: "ORD-1", include_items: false, context: { user: "ann" })

      expected = '{"order_number":"ORD-1","status":"shipped","user":"ann"}'
      user = messages.find(&:user?)
      expect(user.content).to eq(expected)
      expect(user.is_error).not_to eq(true)
      expect(user.to_h.dig("message", "content", 0, "tool_use_id")).to eq("toolu_01Lookup")

      expect(server.agent_requests.size).to eq(2)
      expect(server.agent_requests.first.body["tools"].find { |t| t["name"] == "mcp__agent_sdk__lookup_order" })
        .to include("description" => "Look up an order by its number", "input_schema" => CLIToolsSpec::LookupOrder.input_schema)
      result = tool_results(server, 1).first
      expect(result["tool_use_id"]).to eq("toolu_01Lookup")
      expect(result["is_error"]).not_to eq(true)
      expect(result["content"]).to eq([{ "type" => "text", "text" => expected }])
      expect(messages.last.subtype).to eq("success")
      expect(messages.last.content).to eq("ORD-1 has shipped.")
    end
  end

  it "answers invalid input with is_error to the model (the CLI does not check it: the runner does)" do
    turns = [call_turn.call({ "order_number" => 5, "foo" => 1 }), { text: "Sorry." }]
    with_real_cli(turns) do |server, options, _cwd|
      messages = sdk.query("Where is it?", **options, tools: [CLIToolsSpec::LookupOrder], context: { user: "ann" }).to_a

      expect(CLIToolsSpec::CALLS).to be_empty
      error = 'Invalid input for tool "lookup_order": unexpected property "foo"; order_number: expected string, got integer'
      user = messages.find(&:user?)
      expect(user.is_error).to be(true)
      expect(user.content).to eq(error)
      result = tool_results(server, 1).first
      expect(result["is_error"]).to be(true)
      expect(result["content"].to_s).to include(error)
    end
  end

  it "applies permitted?, and the CLI's own hooks (once) to Ruby tools" do
    hook_calls = []
    hooks = { pre_tool_use: [{ matcher: "mcp__agent_sdk__lookup_order", handler: lambda { |ctx|
      hook_calls << [ctx.tool_name, ctx.tool_input]
      ctx.tool_input["order_number"] == "ORD-3" ? sdk::Hooks::Result.deny("ORD-3 is under investigation") : nil
    } }] }
    turns = [{ tool_uses: [call_turn.call({ "order_number" => "ORD-2" }, "toolu_01A")[:tool_use],
                           call_turn.call({ "order_number" => "ORD-3" }, "toolu_01B")[:tool_use]] },
             { text: "Done." }]
    with_real_cli(turns) do |server, options, _cwd|
      sdk.query("Look up two orders", **options, tools: [CLIToolsSpec::LookupOrder], context: { user: "mallory" },
                                                 hooks: hooks).to_a

      expect(hook_calls).to contain_exactly(["mcp__agent_sdk__lookup_order", { "order_number" => "ORD-2" }],
                                            ["mcp__agent_sdk__lookup_order", { "order_number" => "ORD-3" }])
      expect(CLIToolsSpec::CALLS).to be_empty
      results = tool_results(server, 1).to_h { |r| [r["tool_use_id"], r] }
      expect(results["toolu_01A"]).to include("is_error" => true)
      expect(results["toolu_01A"]["content"].to_s).to include("lookup_order is not permitted in this context")
      expect(results["toolu_01B"]).to include("is_error" => true)
      expect(results["toolu_01B"]["content"].to_s).to include("ORD-3 is under investigation")
    end
  end

  it "counts repeated calls per query: a Client's next query may call the same tool again" do
    same = call_turn.call({ "order_number" => "ORD-7" })
    turns = [same, call_turn.call({ "order_number" => "ORD-7" }, "toolu_01Again"), { text: "first" }, same, { text: "second" }]
    with_real_cli(turns) do |server, options, _cwd|
      sdk::Client.open(**options, tools: [CLIToolsSpec::LookupOrder], context: { user: "ann" }) do |client|
        client.query("one")
        expect(tool_results(server, 1).last["is_error"]).not_to eq(true)
        repeat = tool_results(server, 2).last
        expect(repeat["is_error"]).to be(true)
        expect(repeat["content"].to_s).to include("already called with these arguments")
        expect(client.query("two").last.content).to eq("second")
      end
      expect(CLIToolsSpec::CALLS.size).to eq(2)
    end
  end
end
