# frozen_string_literal: true

RSpec.describe RubyLLM::AgentSDK::Tool do
  module ToolSpecTools
    class LookupOrder < RubyLLM::AgentSDK::Tool
      description "Look up an order by its number"
      param :order_number, :string, required: true, description: "e.g. ORD-1234", min_length: 3, max_length: 20,
                                    pattern: /\AORD-\d+\z/
      param :include_items, :boolean
      param :limit, :integer, minimum: 1, maximum: 100
      param :status, :string, enum: %i[open shipped]
      param :skus, :array, items: :string, min_items: 1, max_items: 10
      param :filters, :object, description: "anything"
      param :weight, :number, minimum: 0.5
      timeout 5

      def call(order_number:, **) = order_number
    end

    class FetchHTTPPageTool < RubyLLM::AgentSDK::Tool
      input_schema(type: :object, properties: { url: { type: "string" } }, required: [:url])
    end

    module Admin
      class CancelOrder < RubyLLM::AgentSDK::Tool
        tool_name "cancel"
      end
    end
  end

  let(:tools) { ToolSpecTools }

  it "builds the JSON schema from params: String keys, additionalProperties false, required listed" do
    expect(tools::LookupOrder.input_schema).to eq(
      "type" => "object",
      "properties" => {
        "order_number" => { "type" => "string", "description" => "e.g. ORD-1234", "minLength" => 3, "maxLength" => 20,
                            "pattern" => "\\AORD-\\d+\\z" },
        "include_items" => { "type" => "boolean" },
        "limit" => { "type" => "integer", "minimum" => 1, "maximum" => 100 },
        "status" => { "type" => "string", "enum" => %w[open shipped] },
        "skus" => { "type" => "array", "items" => { "type" => "string" }, "minItems" => 1, "maxItems" => 10 },
        "filters" => { "type" => "object", "description" => "anything" },
        "weight" => { "type" => "number", "minimum" => 0.5 }
      },
      "required" => ["order_number"],
      "additionalProperties" => false
    )
    expect(tools::LookupOrder.input_schema).to be_frozen
    expect(tools::LookupOrder.input_schema.dig("properties", "skus", "items")).to be_frozen
  end

  it "names tools from the class: last segment, underscored, without _tool; or as told" do
    expect(tools::LookupOrder.tool_name).to eq("lookup_order")
    expect(tools::FetchHTTPPageTool.tool_name).to eq("fetch_http_page")
    expect(tools::Admin::CancelOrder.tool_name).to eq("cancel")
    expect(Class.new(described_class) { tool_name "anon" }.tool_name).to eq("anon")
    expect { Class.new(described_class).tool_name }.to raise_error(ArgumentError, /anonymous: give it a tool_name/)
  end

  it "gives the definition the Messages API takes" do
    expect(tools::LookupOrder.definition.keys).to eq(%w[name description input_schema])
    expect(tools::LookupOrder.definition["name"]).to eq("lookup_order")
    expect(tools::LookupOrder.description).to eq("Look up an order by its number")
    expect(tools::FetchHTTPPageTool.definition).to eq(
      "name" => "fetch_http_page",
      "input_schema" => { "type" => "object", "properties" => { "url" => { "type" => "string" } }, "required" => ["url"] }
    )
    expect(tools::Admin::CancelOrder.input_schema).to eq("type" => "object", "properties" => {}, "additionalProperties" => false)
  end

  it "keeps timeout, and per-call instances with the context; permitted? defaults to true" do
    expect(tools::LookupOrder.timeout).to eq(5)
    expect(tools::Admin::CancelOrder.timeout).to be_nil
    tool = tools::LookupOrder.new({ user: "ann" })
    expect(tool.context).to eq(user: "ann")
    expect(tool.permitted?(tool.context)).to be(true)
    expect(tool.call(order_number: "ORD-1")).to eq("ORD-1")
    expect { tools::Admin::CancelOrder.new.call }.to raise_error(NotImplementedError, /must define #call/)
  end

  it "lets subclasses inherit params, description and timeout" do
    child = Class.new(tools::LookupOrder) do
      tool_name "lookup_order_v2"
      param :note, :string
    end
    expect(child.input_schema["properties"].keys).to end_with("weight", "note")
    expect(child.description).to eq(tools::LookupOrder.description)
    expect(child.timeout).to eq(5)
    expect(tools::LookupOrder.input_schema["properties"]).not_to have_key("note")
  end

  describe "bad DSL use raises ArgumentError when the class is defined" do
    def define(&block)
      Class.new(described_class) do
        tool_name "t"
        class_eval(&block)
      end
    end

    {
      "an unknown type" => [proc { param :a, :strin }, /unknown type :strin; valid: string, integer, number, boolean, array, object/],
      "a bad param name" => [proc { param :"not ok", :string }, /a param name is a Symbol/],
      "a param name that is no keyword" => [proc { param :Order, :string }, /a param name is a Symbol/],
      "a param given twice" => [proc { param(:a, :string); param(:a, :integer) }, /defined twice/],
      "an unknown option" => [proc { param :a, :string, requred: true }, /unknown keyword: :requred/],
      "required: not boolean" => [proc { param :a, :string, required: "yes" }, /required: must be true or false/],
      "minimum on a string" => [proc { param :a, :string, minimum: 1 }, /minimum: applies to integer and number params, not string/],
      "min_length on an integer" => [proc { param :a, :integer, min_length: 1 }, /min_length: applies to string params/],
      "items on a string" => [proc { param :a, :string, items: :string }, /items: applies to array params/],
      "min above max" => [proc { param :a, :integer, minimum: 5, maximum: 1 }, /minimum \(5\) is greater than maximum \(1\)/],
      "a negative length" => [proc { param :a, :string, max_length: -1 }, /maxLength has an invalid value -1/],
      "an empty enum" => [proc { param :a, :string, enum: [] }, /enum must be a non-empty Array/],
      "enum values of another type" => [proc { param :a, :integer, enum: [1, "2"] }, /enum values \["2"\] are not integers/],
      "an unknown items type" => [proc { param :a, :array, items: :thing }, /items: unknown type :thing/],
      "a bad items schema" => [proc { param :a, :array, items: { type: "thing" } }, /unknown type "thing"/],
      "a bad description" => [proc { description "" }, /description must be a non-empty String/],
      "a bad timeout" => [proc { timeout 0 }, /timeout must be a positive number/],
      "a bad tool name" => [proc { tool_name "has space" }, /tool_name must match/],
      "params and input_schema" => [proc { param(:a, :string); input_schema(type: "object") }, /either param or input_schema/],
      "input_schema then params" => [proc { input_schema(type: "object") && param(:a, :string) }, /either param or input_schema/],
      "an input_schema that is no object schema" => [proc { input_schema(type: "string") }, /must have "type": "object"/],
      "an input_schema that does not compile" => [proc { input_schema(type: "object", properties: { a: { minimum: "x" } }) },
                                                  /input_schema: properties.a.minimum: must be a number/],
      "an input_schema that is no Hash" => [proc { input_schema("{}") }, /expected a Hash/]
    }.each do |what, (body, error)|
      it "for #{what}" do
        expect { define(&body) }.to raise_error(ArgumentError, error)
      end
    end
  end

  describe "as the tools: option" do
    it "takes Tool classes with distinct names" do
      opts = RubyLLM::AgentSDK::Options.new(tools: [tools::LookupOrder, tools::Admin::CancelOrder], context: { user: 1 })
      expect(opts.tools).to eq([tools::LookupOrder, tools::Admin::CancelOrder])
      expect(opts.context).to eq(user: 1)
      expect(opts.tool_result_max_bytes).to eq(4096)
    end

    it "rejects anything else, and two tools of one name" do
      expect { RubyLLM::AgentSDK::Options.new(tools: [String]) }.to raise_error(ArgumentError, /Tool subclasses/)
      expect { RubyLLM::AgentSDK::Options.new(tools: [tools::LookupOrder.new]) }.to raise_error(ArgumentError, /Tool subclasses/)
      twin = Class.new(described_class) { tool_name "lookup_order" }
      expect { RubyLLM::AgentSDK::Options.new(tools: [tools::LookupOrder, twin]) }
        .to raise_error(ArgumentError, /both named "lookup_order"/)
      expect { RubyLLM::AgentSDK::Options.new(tool_timeout: 0) }.to raise_error(ArgumentError, /positive number/)
    end

    it "starts the CLI with the SDK MCP server and the tools allowed" do
      opts = RubyLLM::AgentSDK::Options.new(cli_path: File.expand_path("support/bin/scripted-cli", __dir__),
                                            allowed_tools: %w[Read], tools: [tools::LookupOrder, tools::Admin::CancelOrder])
      argv = RubyLLM::AgentSDK::CLI.new(opts).build_argv
      expect(argv).to include("--allowedTools=Read,mcp__agent_sdk__lookup_order,mcp__agent_sdk__cancel")
      expect(argv).to include('--mcp-config={"mcpServers":{"agent_sdk":{"type":"sdk","name":"agent_sdk"}}}')
      expect(RubyLLM::AgentSDK::CLI.new(RubyLLM::AgentSDK::Options.new(cli_path: opts.cli_path)).build_argv.grep(/mcp/)).to be_empty
    end
  end
end
