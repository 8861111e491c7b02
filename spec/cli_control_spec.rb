# frozen_string_literal: true

require "timeout"

# The :cli runtime calls (set_model, set_permission_mode, interrupt, mcp_status) against the REAL claude CLI and the
# fake server: each waits for the CLI's answer and raises its refusal; timeout:, a Client used after close, and a
# hook slower than its timeout:. Bounds are generous ("not done within BOUND s" is a hang), never speed checks.
RSpec.describe "CLI control requests, timeout: and close" do
  bound = 60
  fault_cli = File.expand_path("support/bin/fault-cli", __dir__)

  def within(seconds, &block) = Timeout.timeout(seconds, &block)

  def monotonic = Process.clock_gettime(Process::CLOCK_MONOTONIC)

  describe "runtime calls on a Client" do
    it "set_permission_mode raises the CLI's refusal and the session stays in its mode; an accepted one applies" do
      with_real_cli([{ text: "one" }, { text: "two" }, { text: "three" }]) do |_server, options, _cwd|
        SDK::Client.open(**options) do |client|
          expect(client.query("one").first["permissionMode"]).to eq("default")
          expect { client.set_permission_mode(:bypass_permissions) }.to raise_error(SDK::ControlRequestError) { |e|
            expect(e.subtype).to eq("set_permission_mode")
            expect(e.cli_error).to include("bypassPermissions")
          }
          expect(client.query("two").first["permissionMode"]).to eq("default")
          expect(client.set_permission_mode(:plan)).to be_nil
          expect(client.query("three").first["permissionMode"]).to eq("plan")
        end
      end
    end

    it "set_model waits for the CLI, and the next model call uses the model; mcp_status lists the Ruby tools' server" do
      tool = Class.new(SDK::Tool) do
        tool_name "lookup"
        description "Look a thing up"
        define_method(:call) { |**| "found" }
      end
      with_real_cli([{ text: "one" }, { text: "two" }]) do |server, options, _cwd|
        SDK::Client.open(**options, tools: [tool]) do |client|
          client.query("one")
          expect(client.mcp_status).to include(include("name" => "agent_sdk", "status" => "connected"))
          expect(client.set_model("claude-haiku-4-5")).to be_nil
          client.query("two")
          expect(server.agent_requests.last.body["model"]).to eq("claude-haiku-4-5")
        end
      end
    end

    it "a control call from inside the query's block is answered (the block's thread reads for it)" do
      with_real_cli([{ text: "one" }, { text: "two" }]) do |_server, options, _cwd|
        SDK::Client.open(**options) do |client|
          statuses = []
          within(bound) { client.query("one") { |m| statuses << client.mcp_status if m.init? } }
          expect(statuses).to eq([[]])
          expect(client.query("two").last.content).to eq("two")
        end
      end
    end

    it "interrupt ends the run error_cancelled, keeps the CLI's subtype, and the Client goes on" do
      with_real_cli([{ text: "never", fault: "stall" }, { text: "after" }]) do |server, options, _cwd|
        SDK::Client.open(**options) do |client|
          interrupter = Thread.new do
            server.wait_for_requests(1, agent: true, timeout: bound)
            client.interrupt
          end
          result = within(bound) { client.query("one") }.last
          expect(interrupter.value).to be_nil
          expect([result.subtype, result["cli_subtype"], result.error?]).to eq(["error_cancelled", "error_during_execution", true])
          expect(client.query("two").last.content).to eq("after")
        end
      end
    end

    it "a CLI that does not answer raises ControlTimeoutError after control_timeout" do
      Dir.mktmpdir do |dir|
        go = File.join(dir, "go")
        client = SDK::Client.new(cli_path: fault_cli, control_timeout: 3,
                                 env: { "FAULT_CLI_MODE" => "wait_file", "FAULT_GO_FILE" => go })
        within(bound) { client.connect }
        reader = Thread.new { client.query("wait") }
        expect { within(bound) { client.set_model("claude-opus-4-1") } }.to raise_error(SDK::ControlTimeoutError, /set_model/)
        File.write(go, "")
        expect(within(bound) { reader.value }.last.content).to eq("ok")
      ensure
        client&.close
      end
      expect(child_processes).to be_empty
    end
  end

  describe "a Client after close" do
    it "raises ClientClosedError for every call, on both transports" do
      with_real_cli([{ text: "one" }]) do |_server, options, _cwd|
        client = SDK::Client.open(**options)
        client.query("one")
        client.close
        expect(client).to be_closed
        %i[interrupt mcp_status].each { |call| expect { client.public_send(call) }.to raise_error(SDK::ClientClosedError) }
        expect { client.query("again") }.to raise_error(SDK::ClientClosedError, /closed/)
        expect { client.set_model("claude-opus-4-1") }.to raise_error(SDK::ClientClosedError)
        expect { client.set_permission_mode(:plan) }.to raise_error(SDK::ClientClosedError)
        expect { client.connect }.to raise_error(SDK::ClientClosedError)
        expect(child_processes).to be_empty
      end
      api = SDK::Client.new(transport: :api, model: "claude-sonnet-4-5", api_key: "sk-ant-test-not-a-real-key",
                            base_url: "http://127.0.0.1:9")
      api.close
      expect { api.query("again") }.to raise_error(SDK::ClientClosedError)
    end
  end

  describe "timeout:" do
    # The CLI's start counts in a query's timeout: (it takes seconds on a loaded machine), so these start it first.
    it "ends a Client query whose model call hangs with error_timeout (the CLI's answer); the Client goes on" do
      with_real_cli([{ text: "never", fault: "stall" }, { text: "after" }]) do |_server, options, _cwd|
        SDK::Client.open(**options, timeout: 3) do |client|
          within(bound) { client.connect }
          result = within(bound) { client.query("hang") }.last
          expect([result.subtype, result.is_error, result["cli_subtype"]]).to eq(["error_timeout", true, "error_during_execution"])
          expect(result.content).to eq("the query did not finish within timeout: 3 s")
          expect(client.query("two").last).to have_attributes(subtype: "success", content: "after")
        end
        expect(child_processes).to be_empty
      end
    end

    it "an unreachable API: the CLI is stopped and reaped, and the result is error_timeout" do
      with_real_cli([]) do |_server, options, _cwd|
        port = TCPServer.open("127.0.0.1", 0).then { |s| s.addr[1].tap { s.close } }
        options[:env] = options[:env].merge("ANTHROPIC_BASE_URL" => "http://127.0.0.1:#{port}")
        query = SDK::Query.new("unreachable", **options, timeout: 3)
        messages = []
        within(bound) { query.each { |m| messages << m } }
        expect(messages.last).to have_attributes(subtype: "error_timeout", is_error: true)
        expect(messages.last.content).to include("timeout: 3 s")
        expect(child_processes).to be_empty
      end
    end

    it "a CLI that never answers initialize: error_timeout, the process stopped" do
      messages = within(bound) do
        SDK.query("x", cli_path: fault_cli, timeout: 1, env: { "FAULT_INIT" => "hang" }).to_a
      end
      expect(messages.map(&:subtype)).to eq(["error_timeout"])
      expect(child_processes).to be_empty
    end

    it "a single query: the deadline counts the CLI's start; the process is stopped and reaped either way" do
      with_real_cli([{ text: "never", fault: "stall" }]) do |_server, options, _cwd|
        messages = within(bound) { SDK.query("hang", **options, timeout: 2).to_a }
        expect(messages.last).to have_attributes(subtype: "error_timeout", is_error: true)
        expect(child_processes).to be_empty
      end
    end
  end

  describe "a hook slower than its timeout:" do
    turns = [{ tool_use: { name: "Read", input: { file_path: "/etc/hostname" } } }, { text: "went on" }]
    let(:log) { StringIO.new }

    around do |example|
      logger = SDK::Hooks.logger
      SDK::Hooks.logger = Logger.new(log)
      example.run
    ensure
      SDK::Hooks.logger = logger
    end

    it "PreToolUse: answered at the timeout as the CLI does itself (the tool denied), and the run goes on" do
      with_real_cli(turns) do |_server, options, _cwd|
        started = nil
        hook = { matcher: "Read", timeout: 1, handler: lambda { |_ctx|
          started = monotonic
          sleep 120
          SDK::Hooks::Result.approve
        } }
        messages = within(bound) { SDK.query("read it", **options, hooks: { pre_tool_use: [hook] }).to_a }
        expect(messages.last).to have_attributes(subtype: "success", content: "went on")
        denied = messages.find { |m| m.user? && m.is_error }
        expect(denied).not_to be_nil
        expect(monotonic - started).to be < bound
        expect(log.string).to include("hook PreToolUse did not answer within its timeout of 1 s")
      end
    end

    it "PostToolUse: no opinion at the timeout, the run goes on" do
      with_real_cli(turns) do |_server, options, _cwd|
        hook = { matcher: "Read", timeout: 1, handler: ->(_ctx) { sleep 120 } }
        messages = within(bound) do
          SDK.query("read it", **options, allowed_tools: %w[Read], hooks: { post_tool_use: [hook] }).to_a
        end
        expect(messages.last).to have_attributes(subtype: "success", content: "went on")
        expect(log.string).to include("hook PostToolUse did not answer within its timeout of 1 s")
      end
    end
  end
end
