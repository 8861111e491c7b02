# frozen_string_literal: true

# The JSON-RPC side of the in-process MCP server, message by message as the real CLI sends them
# (recorded from claude 2.1.x; see SdkMcpServer). spec/cli_tools_spec.rb runs it against the real CLI.
RSpec.describe RubyLLM::AgentSDK::SdkMcpServer do
  module MCPSpecTools
    class Greet < RubyLLM::AgentSDK::Tool
      description "Greets someone"
      param :name, :string, required: true
      def call(name:) = "Hello, #{name} (#{context})"
    end

    class Untitled < RubyLLM::AgentSDK::Tool
      def call = "ok"
    end
  end

  subject(:server) { described_class.new([MCPSpecTools::Greet, MCPSpecTools::Untitled], context: "ctx") }

  let(:client_info) { { "name" => "claude-code", "version" => "2.1.197" } }

  it "answers initialize with the client's protocol version, the tools capability and its name" do
    reply = server.handle("method" => "initialize", "jsonrpc" => "2.0", "id" => 0,
                          "params" => { "protocolVersion" => "2025-11-25", "capabilities" => {}, "clientInfo" => client_info })
    expect(reply).to eq("jsonrpc" => "2.0", "id" => 0,
                        "result" => { "protocolVersion" => "2025-11-25", "capabilities" => { "tools" => {} },
                                      "serverInfo" => { "name" => "agent_sdk", "version" => RubyLLM::AgentSDK::VERSION } })
  end

  it "acknowledges notifications with a success (an error would mark the server failed)" do
    expect(server.handle("method" => "notifications/initialized", "jsonrpc" => "2.0")).to eq("jsonrpc" => "2.0", "result" => {})
    expect(server.handle("method" => "notifications/cancelled", "jsonrpc" => "2.0", "params" => {}))
      .to eq("jsonrpc" => "2.0", "result" => {})
  end

  it "lists the tools with their input schemas" do
    reply = server.handle("method" => "tools/list", "jsonrpc" => "2.0", "id" => 1)
    expect(reply["result"]["tools"]).to eq([
      { "name" => "greet", "description" => "Greets someone", "inputSchema" => MCPSpecTools::Greet.input_schema },
      { "name" => "untitled", "inputSchema" => MCPSpecTools::Untitled.input_schema }
    ])
  end

  it "calls a tool through the ToolRunner, errors as isError results" do
    call = lambda { |arguments, id = 2|
      server.handle("method" => "tools/call", "jsonrpc" => "2.0", "id" => id,
                    "params" => { "name" => "greet", "arguments" => arguments,
                                  "_meta" => { "claudecode/toolUseId" => "toolu_1", "progressToken" => id } })
    }
    expect(call.call({ "name" => "Ann" })).to eq(
      "jsonrpc" => "2.0", "id" => 2,
      "result" => { "content" => [{ "type" => "text", "text" => "Hello, Ann (ctx)" }], "isError" => false }
    )
    expect(call.call({ "name" => "Ann" }, 3)["result"]).to include("isError" => true)
    expect(call.call({ "name" => 1 }, 4)["result"]["content"].first["text"])
      .to eq('Invalid input for tool "greet": name: expected string, got integer')
    server.reset
    expect(call.call({ "name" => "Ann" }, 5)["result"]).to include("isError" => false)
  end

  it "answers an unknown method with JSON-RPC error -32601, and ping with an empty result" do
    expect(server.handle("method" => "resources/list", "jsonrpc" => "2.0", "id" => 7))
      .to eq("jsonrpc" => "2.0", "id" => 7, "error" => { "code" => -32_601, "message" => "Method not found: resources/list" })
    expect(server.handle("method" => "ping", "jsonrpc" => "2.0", "id" => 8)).to eq("jsonrpc" => "2.0", "id" => 8, "result" => {})
  end

  it "names the tools for the CLI and its --mcp-config entry" do
    expect(server.cli_tool_names).to eq(%w[mcp__agent_sdk__greet mcp__agent_sdk__untitled])
    expect(server.mcp_config).to eq("type" => "sdk", "name" => "agent_sdk")
  end
end
