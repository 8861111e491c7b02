# frozen_string_literal: true

require_relative "../rails_helper"
require_relative "support/agent_config"

# Testing.replay: a stored :api session becomes a FakeServer that answers a new run with the recorded responses.
RSpec.describe "RubyLLM::AgentSDK::Testing.replay", :rails do
  include AgentConfigHelpers
  include RubyLLM::AgentSDK::Testing::Helpers

  let(:calls) { [] }
  let(:lookup) do
    seen = calls
    Class.new(RubyLLM::AgentSDK::Tool) do
      tool_name "lookup_order"
      description "Looks an order up"
      param :number, :string, required: true
      define_method(:call) do |number:|
        seen << number
        raise ArgumentError, "no order #{number}" if number == "0"

        { number: number, status: "shipped" }
      end
    end
  end
  let(:script) do
    [{ thinking: "The user wants order 1042.", text: "Let me look that up.",
       tool_use: { name: "lookup_order", input: { "number" => "1042" } }, usage: { input_tokens: 120, output_tokens: 30 } },
     { tool_uses: [{ name: "lookup_order", input: { "number" => "0" } }, { name: "lookup_order", input: { "number" => "7" } }],
       usage: { input_tokens: 180, output_tokens: 20 } },
     { text: "Order 1042 shipped; order 0 does not exist.", usage: { input_tokens: 260, output_tokens: 14, cache_read_input_tokens: 90 } }]
  end

  def run_session(prompt, server)
    session = AgentSession.create!(prompt: prompt)
    with_agent_config(transport: :api, model: "claude-sonnet-4-5", heartbeat_interval: 0.05, tools: [lookup],
                      query_options: { base_url: server.base_url, api_key: AgentConfigHelpers::API_KEY, max_retries: 0,
                                       session_store: nil }) do
      AgentJob.perform_now(session.id)
    end
    session.reload
  end

  # What the model said in a session: the content blocks of each assistant row (no ids that a server invents).
  def assistant_blocks(session)
    session.agent_messages.where(message_type: "assistant").map do |m|
      JSON.parse(m.raw).dig("message", "content").map { |b| b.slice("type", "text", "thinking", "id", "name", "input") }
    end
  end

  it "answers a new run with the recorded responses: same assistant messages, same tool calls, same result" do
    original = RubyLLM::AgentSDK::Testing::FakeServer.open(script) { |server| run_session("Where is order 1042?", server) }
    expect(original.status).to eq("completed")
    recorded_calls = calls.dup
    calls.clear

    replayed = RubyLLM::AgentSDK::Testing.replay(original) do |server|
      expect(server.pending_turns).to eq(3)
      run_session("Where is order 1042?", server).tap { expect(server.pending_turns).to eq(0) }
    end

    expect(replayed.status).to eq("completed")
    expect(assistant_blocks(replayed)).to eq(assistant_blocks(original))
    expect(replayed.agent_messages.tool_calls.map(&:tool_calls)).to eq(original.agent_messages.tool_calls.map(&:tool_calls))
    # (a turn's two calls run in parallel threads: their order varies)
    expect(calls.sort).to eq(recorded_calls.sort)
    expect(calls.sort).to eq(%w[0 1042 7])
    expect(replayed.agent_messages.pluck(:message_type)).to eq(original.agent_messages.pluck(:message_type))
    expect(replayed).to have_attributes(result: original.result, num_turns: 3, input_tokens: original.input_tokens,
                                        output_tokens: original.output_tokens, cache_read_tokens: 90)
    # the tool's failure on "0" is reproduced: the bug report is now a spec
    errors = ->(session) { session.agent_messages.select { |m| m.metadata["is_error"] }.map(&:content) }
    expect(errors.call(replayed)).to eq(errors.call(original))
    expect(errors.call(replayed)).to match([start_with("ArgumentError: no order 0")])
  end

  it "works as the README shows: the stored lines' turns through with_fake_model_server" do
    original = RubyLLM::AgentSDK::Testing::FakeServer.open(script) { |server| run_session("Where is order 1042?", server) }
    lines = original.agent_messages.map(&:raw).join("\n").lines(chomp: true)
    turns = RubyLLM::AgentSDK::Testing::Replay.turns(lines)
    with_agent_config(tools: [lookup], model: "claude-sonnet-4-5", heartbeat_interval: 0.05) do # an app's config
      with_fake_model_server(turns, transport: :api) do
        session = AgentSession.create!(prompt: "Where is order 1042?")
        AgentJob.perform_now(session.id)
        expect(session.reload).to have_attributes(status: "completed", result: original.result, num_turns: 3)
        expect(assistant_blocks(session)).to eq(assistant_blocks(original))
      end
    end
  end

  it "replays a :cli session into the real CLI (one API response split into several lines is one turn)" do
    cli_turns = [{ text: "Checking.", tool_use: { name: "mcp__agent_sdk__lookup_order", input: { "number" => "1042" } } },
                 { text: "Order 1042 shipped." }]
    run_cli = lambda do |turns|
      with_real_cli(turns) do |_server, options, _cwd|
        session = AgentSession.create!(prompt: "Where is order 1042?")
        with_agent_config(transport: :cli, model: "claude-sonnet-4-5", heartbeat_interval: 0.05, tools: [lookup],
                          query_options: options.except(:model)) do
          AgentJob.perform_now(session.id)
        end
        session.reload
      end
    end
    original = run_cli.call(cli_turns)
    expect(original.status).to eq("completed")
    # the CLI wrote the first response as two lines (text, tool_use) with one message id
    expect(original.agent_messages.where(message_type: "assistant").count).to eq(3)
    turns = RubyLLM::AgentSDK::Testing::Replay.turns(original)
    expect(turns.map { |t| [t[:texts], t[:tool_uses].map { |u| u[:name] }] })
      .to eq([[["Checking."], ["mcp__agent_sdk__lookup_order"]], [["Order 1042 shipped."], []]])
    calls.clear
    replayed = run_cli.call(turns)
    expect(replayed).to have_attributes(status: "completed", result: "Order 1042 shipped.")
    expect(calls).to eq(["1042"])
    expect(replayed.agent_messages.tool_calls.map(&:tool_calls)).to eq(original.agent_messages.tool_calls.map(&:tool_calls))
  end

  it "returns an opened server without a block, and takes lines (CLI-split assistant messages are one turn)" do
    message = { "id" => "msg_1", "role" => "assistant", "model" => "claude-opus-4-1", "stop_reason" => nil,
                "usage" => { "input_tokens" => 5, "output_tokens" => 1 } }
    lines = [
      JSON.generate("type" => "system", "subtype" => "init"),
      JSON.generate("type" => "assistant", "message" => message.merge("content" => [{ "type" => "text", "text" => "A" }])),
      JSON.generate("type" => "assistant",
                    "message" => message.merge("stop_reason" => "tool_use", "usage" => { "input_tokens" => 5, "output_tokens" => 9 },
                                               "content" => [{ "type" => "tool_use", "id" => "toolu_x", "name" => "Glob",
                                                               "input" => { "pattern" => "*" } }])),
      JSON.generate("type" => "assistant", "parent_tool_use_id" => "toolu_x",
                    "message" => message.merge("id" => "msg_sub", "content" => [{ "type" => "text", "text" => "sub" }])),
      "not json",
      { "type" => "assistant", "message" => { "id" => "msg_2", "content" => [{ "type" => "text", "text" => "B" }] } }
    ]
    expect(RubyLLM::AgentSDK::Testing::Replay.turns(lines)).to eq(
      [{ texts: ["A"], tool_uses: [{ id: "toolu_x", name: "Glob", input: { "pattern" => "*" } }], stop_reason: "tool_use",
         model: "claude-opus-4-1", usage: { input_tokens: 5, output_tokens: 9 } },
       { texts: ["B"], tool_uses: [] }]
    )
    server = RubyLLM::AgentSDK::Testing.replay(lines)
    begin
      expect(server).to be_running
      expect(server.pending_turns).to eq(2)
    ensure
      server.stop
    end
  end
end
