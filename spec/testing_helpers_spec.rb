# frozen_string_literal: true

require "open3"
require "ruby_llm/agent_sdk/testing/rspec"

# The app-facing test helpers (ruby_llm/agent_sdk/testing): stubs on both transports, recorded runs, the RSpec
# matchers and (in a child process) the Minitest assertions. No Rails here: spec/rails/testing_helpers_spec.rb runs
# them against the dummy app's AgentJob and rows.
RSpec.describe RubyLLM::AgentSDK::Testing::Helpers do
  include RealCLI::Helpers # child_processes

  let(:init) { '{"type":"system","subtype":"init","session_id":"test-123"}' }
  let(:done) { '{"type":"result","subtype":"success","content":"Done"}' }
  let(:tmp) { Dir.mktmpdir("agent_sdk_testing") }
  let(:marker) { File.join(tmp, "cli-started") }
  # A `claude` that leaves a mark if anything ever starts it.
  let(:cli_path) do
    path = File.join(tmp, "claude")
    File.write(path, "#!/bin/sh\ntouch '#{marker}'\nsleep 5\n")
    File.chmod(0o755, path)
    path
  end
  let(:options) { { transport: :cli, cli_path: cli_path } }

  after { FileUtils.rm_rf(tmp) }

  def expect_no_cli_started
    expect(File.exist?(marker)).to be(false)
    expect(child_processes).to eq([])
  end

  it "keeps seed 000's allow_any_instance_of(CLI).to receive(:stream) mock working through RubyLLM::AgentSDK.query" do
    allow_any_instance_of(RubyLLM::AgentSDK::CLI).to receive(:stream).and_yield(
      '{"type":"system","subtype":"init","session_id":"test-123"}'
    ).and_yield(
      '{"type":"result","subtype":"success","content":"Done"}'
    )

    messages = []
    SDK.query("Test prompt", **options) { |message| messages << message }

    expect(messages.map(&:type)).to eq(%i[system result])
    expect(messages.first.session_id).to eq("test-123")
    expect(messages.last.content).to eq("Done")
    expect_no_cli_started
  end

  it "costs production one registry read: without a stub, a query builds its real transport and loads no helper" do
    code = 'require "agent_sdk"; q = RubyLLM::AgentSDK::Query.new("x", transport: :cli); ' \
           'p [q.instance_variable_get(:@transport).class, $LOADED_FEATURES.grep(%r{agent_sdk/testing}).map { File.basename(_1) }]'
    out, err, status = Open3.capture3(RbConfig.ruby, "-w", "-I", File.expand_path("../lib", __dir__), "-e", code)

    expect(status).to be_success, err
    expect([out, err]).to eq([%([RubyLLM::AgentSDK::CLI, ["testing.rb"]]\n), ""])
  end

  describe "#stub_agent_stream" do
    it "replaces the CLI: the lines come out as Messages, nothing is started, the run is recorded" do
      stub_agent_stream(init, { "type" => "assistant", "message" => { "content" => [{ "type" => "text", "text" => "Hi" }] } }, done)

      messages = SDK.query("Test prompt", **options, model: "claude-haiku-4-5").to_a

      expect(messages.map(&:type)).to eq(%i[system assistant result])
      expect(messages[1].content).to eq("Hi")
      expect_no_cli_started
      expect(agent_runs.size).to eq(1)
      expect(agent_runs.first.prompt).to eq("Test prompt")
      expect(agent_runs.first.options.model).to eq("claude-haiku-4-5")
      expect(agent_runs.first.messages).to eq(messages)
    end

    it "replaces the :api loop: no request reaches the server; the store gets the prompt line, then each line before it is yielded" do
      store = SDK::SessionStore::Memory.new
      stored_when_yielded = []
      with_fake_model_server([{ text: "from the server" }], transport: :api) do |server|
        stub_agent_stream(init, done) do
          SDK.query("Test prompt", model: "claude-haiku-4-5", session_store: store) do |message|
            stored_when_yielded << store.lines("test-123").size
          end
        end
        expect(server.requests).to eq([])
      end

      lines = store.lines("test-123")
      expect(lines.size).to eq(3)
      expect(JSON.parse(lines[0])).to include("type" => "user", "session_id" => "test-123",
                                              "message" => { "role" => "user", "content" => "Test prompt" })
      expect(lines.drop(1)).to eq([init, done])
      expect(stored_when_yielded).to eq([2, 3])
      expect(agent_runs.map(&:transport)).to eq([:api])
    end

    it "stores a line that is not JSON as the parse error it is yielded as (:api stores are handed parseable lines)" do
      store = SDK::SessionStore::Memory.new
      stub_agent_stream(init, "not json", done)
      SDK.query("x", transport: :api, model: "m", api_key: "sk-ant-test-1234567890", session_store: store).to_a

      expect(store.lines("test-123").map { |line| JSON.parse(line)["type"] }).to eq(%w[user system parse_error result])
    end

    it "stubs Client#query on both transports and query_all" do
      stub_agent_stream(init, done)

      client = SDK::Client.new(**options)
      expect(client.query("one").map(&:type)).to eq(%i[system result])
      expect(client.session_id).to eq("test-123")
      expect(client.query("two").last).to be_result
      client.close
      api = SDK::Client.new(transport: :api, model: "m", api_key: "sk-ant-test-1234567890")
      api.query("three")
      seen = []
      SDK.query_all([{ prompt: "four" }, { prompt: "five" }], model: "m", api_key: "sk-ant-test-1234567890") { |i, m| seen << [i, m.type] }

      expect(seen).to eq([[0, :system], [0, :result], [1, :system], [1, :result]])
      expect(agent_runs.map(&:prompt)).to eq(%w[one two three four five])
      expect(agent_runs.last(3).map { |run| run.options.resume }).to eq([nil, nil, nil])
      expect_no_cli_started
    end

    it "resumes a stubbed :api Client conversation under the session id of its first turn" do
      stub_agent_run(text: "ok")
      client = SDK::Client.new(transport: :api, model: "m", api_key: "sk-ant-test-1234567890")
      first = client.query("one").first.session_id
      client.query("two")

      expect(agent_runs.last.options.resume).to eq(first)
      expect(agent_runs.last.messages.map(&:session_id).uniq).to eq([first])
    end

    it "yields the lines up to the first result, parse errors as the real transports do, and raises an Exception given as a line" do
      stub_agent_stream(init, "not json", done, '{"type":"assistant"}')
      expect(SDK.query("x", **options).map(&:type)).to eq(%i[system parse_error result])

      stub_agent_stream(init, SDK::ProcessError.new("Claude Code CLI exited without a result", exit_code: 1, stderr: ""))
      seen = []
      expect { SDK.query("x", **options) { |m| seen << m.type } }.to raise_error(SDK::ProcessError, /without a result/)
      expect(seen).to eq([:system])
    end

    it "ends with an error_cancelled result when the query is cancelled" do
      stub_agent_run(text: "never seen", tool_calls: [{ name: "lookup_order" }])
      query = SDK::Query.new("x", **options)
      types = []
      query.each do |message|
        types << message.type
        query.cancel
      end

      expect(types).to eq(%i[system result])
      expect(agent_runs.last.result.subtype).to eq("error_cancelled")
    end

    it "nests: the innermost stub wins while its block runs, the outer one is back after it, none after both" do
      outer = []
      inner = []
      stub_agent_stream(init, done) do
        outer << SDK.query("a", **options).to_a.last.content
        stub_agent_run(text: "inner") { inner << SDK.query("b", **options).to_a.last.content }
        outer << SDK.query("c", **options).to_a.last.content
      end

      expect(outer).to eq(%w[Done Done])
      expect(inner).to eq(["inner"])
      expect(RubyLLM::AgentSDK::Testing.stubbed_transport).to be_nil
      expect(agent_runs.map(&:prompt)).to eq(%w[a b c])
    end

    it "holds in other threads of the process (a job on an in-process queue, a tool thread)" do
      stub_agent_run(text: "from a thread")
      threads = Array.new(4) { |i| Thread.new { SDK.query("thread #{i}", **options).to_a.last.content } }

      expect(threads.map(&:value)).to eq(["from a thread"] * 4)
      expect(agent_runs.map(&:prompt)).to match_array(["thread 0", "thread 1", "thread 2", "thread 3"])
      expect_no_cli_started
    end

    it "stays until unstub_agent_runs without a block, which also forgets the runs" do
      stub_agent_stream(init, done)
      SDK.query("x", **options).to_a
      expect(RubyLLM::AgentSDK::Testing.stubbed_transport).not_to be_nil

      unstub_agent_runs

      expect(RubyLLM::AgentSDK::Testing.stubbed_transport).to be_nil
      expect(agent_runs).to eq([])
    end

    it "is removed after each example by the RSpec integration" do
      group = RSpec.describe("an app's spec") { it("stubs") { stub_agent_stream('{"type":"result"}') } }
      expect(group.run(RSpec::Core::NullReporter)).to be(true)
      RSpec.world.example_groups.delete(group)

      expect(RubyLLM::AgentSDK::Testing.stubbed_transport).to be_nil
    end
  end

  describe "#stub_agent_run" do
    let(:calls) do
      [{ name: "lookup_order", input: { "order_number" => "ORD-1" }, result: { status: "shipped" } },
       { name: "refund", input: { "order_number" => "ORD-1", "amount" => 5 }, is_error: true, result: "refused" }]
    end

    it "gives a :cli run init, one line per tool_use block, one per tool_result, the text and a result" do
      stub_agent_run(text: "It shipped", tool_calls: calls, cost: 0.0125, turns: 3, session_id: "sess-1")
      messages = SDK.query("Where is ORD-1?", **options, model: "claude-haiku-4-5").to_a

      expect(messages.map(&:type)).to eq(%i[system assistant assistant user user assistant result])
      expect(messages.first).to be_init
      expect(messages.first.model).to eq("claude-haiku-4-5")
      expect(messages.map(&:session_id).uniq).to eq(["sess-1"])
      expect(messages[1].tool_calls).to eq([{ id: "toolu_stub_01", name: "lookup_order", input: { "order_number" => "ORD-1" } }])
      expect(messages[2].tool_calls.map { |c| c[:name] }).to eq(["refund"])
      expect(messages[1].to_h.dig("message", "id")).to eq(messages[2].to_h.dig("message", "id"))
      expect(messages[3].content).to eq('{"status":"shipped"}')
      expect(messages[4]).to be_error
      expect(messages[5].content).to eq("It shipped")
      result = messages.last
      expect([result.subtype, result.content, result.num_turns, result.total_cost_usd]).to eq(["success", "It shipped", 3, 0.0125])
      expect(result.usage).to include("input_tokens" => 200, "output_tokens" => 40)
      expect(result).not_to be_error
      expect_no_cli_started
    end

    it "gives an :api run whole messages and a result with total_cost_micros, under the resumed session id" do
      store = SDK::SessionStore::Memory.new
      stub_agent_run(text: "It shipped", tool_calls: calls, cost: 0.0125)
      messages = SDK.query("Where?", transport: :api, model: "claude-haiku-4-5", api_key: "sk-ant-test-1234567890",
                                     session_store: store, resume: "sess-9").to_a

      expect(messages.map(&:type)).to eq(%i[system assistant user assistant result])
      expect(messages.first.to_h).to include("transport" => "api", "provider" => "anthropic")
      expect(messages[1].tool_calls.map { |c| c[:name] }).to eq(%w[lookup_order refund])
      expect(messages.last["total_cost_micros"]).to eq(12_500)
      expect(messages.last.num_turns).to eq(2)
      expect(store.lines("sess-9").size).to eq(6) # the prompt line, then every message
    end

    it "makes an error run with another subtype" do
      stub_agent_run(text: "Stopped", subtype: "error_max_turns")
      expect(SDK.query("x", **options).to_a.last).to be_error
    end
  end

  describe "#with_fake_model_server" do
    it "points :api runs at the server for the block, and restores config.query_options after" do
      SDK.config.query_options = { max_retries: 0 }
      with_fake_model_server([{ text: "from the fake model" }], transport: :api) do |server|
        result = SDK.query("Hi", model: "claude-haiku-4-5").to_a.last
        expect(result.content).to eq("from the fake model")
        expect(server.agent_requests.size).to eq(1)
        expect(SDK.config.query_options).to include(max_retries: 0, base_url: server.base_url)
      end
      expect(SDK.config.query_options).to eq({ max_retries: 0 })
    ensure
      SDK.config.reset!
    end

    it "gives :cli runs an env with the server's URL, a test key and a private HOME" do
      with_fake_model_server do |server|
        env = SDK::Options.build(model: "m").env
        expect(env["ANTHROPIC_BASE_URL"]).to eq(server.base_url)
        expect(env["HOME"]).to start_with(Dir.tmpdir)
        expect(SDK::Options.build.transport).to eq(:cli)
      end
      expect(SDK.config.query_options).to eq({})
    end
  end

  describe "have_run_agent" do
    before { stub_agent_run(text: "ok") }

    it "passes for runs the block started, filtered by prompt, options and count" do
      expect { SDK.query("Please refund ORD-1", **options, model: "claude-haiku-4-5").to_a }
        .to have_run_agent.with_prompt(/refund/).with_options(model: "claude-haiku-4-5", transport: :cli)
      expect { 2.times { SDK.query("x", **options).to_a } }.to have_run_agent.times(2)
      expect { nil }.not_to have_run_agent
      expect(agent_runs).to have_run_agent.times(3)
    end

    it "fails listing the runs it saw" do
      expect do
        expect { SDK.query("Where is ORD-1?", **options, model: "claude-haiku-4-5").to_a }
          .to have_run_agent.with_prompt(/refund/)
      end.to raise_error(RSpec::Expectations::ExpectationNotMetError,
                         /to run an agent with a prompt matching \/refund\/, but 0 of the 1 run matched:\n  1\. "Where is ORD-1\?" \(transport: :cli, model: "claude-haiku-4-5"\)/)
      expect { expect { nil }.to have_run_agent }
        .to raise_error(RSpec::Expectations::ExpectationNotMetError, /no stubbed agent run started/)
      expect { expect { SDK.query("x", **options).to_a }.to have_run_agent.twice }
        .to raise_error(RSpec::Expectations::ExpectationNotMetError, /2 times, but 1 of the 1 run matched/)
      expect { expect { SDK.query("x", **options).to_a }.not_to have_run_agent }
        .to raise_error(RSpec::Expectations::ExpectationNotMetError, /not to run an agent, but 1 of the 1 run matched/)
    end

    it "never shows a key in its message" do
      key = "sk-ant-api03-secret-#{"x" * 24}"
      expect do
        expect { SDK.query("x", transport: :api, model: "m", api_key: key).to_a }
          .to have_run_agent.with_options(api_key: "sk-ant-api03-other-#{"y" * 24}")
      end.to raise_error(RSpec::Expectations::ExpectationNotMetError) { |e|
        expect(e.message).to include("api_key: [REDACTED]")
        expect(e.message).not_to include("secret")
        expect(e.message).not_to include("other")
      }
    end

    it "refuses an option that does not exist" do
      expect { have_run_agent.with_options(modle: "m") }.to raise_error(ArgumentError, /unknown option :modle/)
    end
  end

  describe "have_called_tool" do
    before do
      stub_agent_run(text: "ok", tool_calls: [{ name: "lookup_order", input: { "order_number" => "ORD-1", "items" => true } }])
    end

    it "matches tool calls in runs, a run's messages, or the runs a block started; with: is a subset of the input" do
      messages = SDK.query("x", **options).to_a

      expect(agent_runs).to have_called_tool(:lookup_order).with("order_number" => "ORD-1")
      expect(agent_runs.last).to have_called_tool("lookup_order").with(order_number: /\AORD-\d\z/).once
      expect(messages).to have_called_tool(:lookup_order)
      expect(agent_runs).not_to have_called_tool(:refund)
      expect { SDK.query("y", **options).to_a }.to have_called_tool(:lookup_order).times(1)
      expect(agent_runs).to have_called_tool(:lookup_order).twice
    end

    it "matches the CLI's name for a Ruby tool (mcp__agent_sdk__lookup_order)" do
      stub_agent_run(text: "ok", tool_calls: [{ name: "mcp__agent_sdk__lookup_order", input: {} }])
      SDK.query("x", **options).to_a
      expect(agent_runs).to have_called_tool(:lookup_order)
    end

    it "fails listing the calls it saw" do
      SDK.query("x", **options).to_a
      expect { expect(agent_runs).to have_called_tool(:lookup_order).with("order_number" => "ORD-2") }
        .to raise_error(RSpec::Expectations::ExpectationNotMetError,
                        /expected to call the tool "lookup_order" with \{"order_number"=>"ORD-2"\}, but 0 of the 1 tool call matched:\n  lookup_order \{"order_number":"ORD-1","items":true\}/)
      expect { expect(agent_runs).not_to have_called_tool(:lookup_order) }
        .to raise_error(RSpec::Expectations::ExpectationNotMetError, /expected not to call the tool "lookup_order"/)
      expect { expect([]).to have_called_tool(:lookup_order) }
        .to raise_error(RSpec::Expectations::ExpectationNotMetError, /but no tool was called/)
    end
  end

  it "gives Minitest the same assertions (spec/testing_minitest_test.rb, in its own process)" do
    test = File.expand_path("testing_minitest_test.rb", __dir__)
    out, err, status = Open3.capture3(RbConfig.ruby, "-w", "-I", File.expand_path("../lib", __dir__), test)

    expect(status).to be_success, out + err
    expect(out).to match(/\d+ runs, \d+ assertions, 0 failures, 0 errors, 0 skips/)
    expect(out).to include("teardown unstubbed: true")
    expect(err).to eq("")
  end
end
