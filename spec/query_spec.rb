# frozen_string_literal: true

RSpec.describe RubyLLM::AgentSDK do
  describe ".query through the CLI#stream seam" do
    it "yields messages from the lines CLI#stream yields" do
      allow_any_instance_of(RubyLLM::AgentSDK::CLI).to receive(:stream).and_yield('{"type":"system","subtype":"init","session_id":"test-123"}').and_yield('{"type":"result","subtype":"success","content":"Done"}')

      messages = []
      described_class.query("Hello") { |message| messages << message }

      expect(messages.size).to eq(2)
      expect(messages.first).to be_init
      expect(messages.first.session_id).to eq("test-123")
      expect(messages.last).to be_result
      expect(messages.last.content).to eq("Done")
    end

    it "returns an Enumerator without a block" do
      allow_any_instance_of(RubyLLM::AgentSDK::CLI).to receive(:stream)
        .and_yield('{"type":"assistant","message":{"content":[{"type":"text","text":"Hi"}]}}')
        .and_yield('{"type":"result","subtype":"success","result":"Hi"}')
      enum = described_class.query("Hello")
      expect(enum).to be_an(Enumerator)
      expect(enum.map(&:type)).to eq(%i[assistant result])
    end

    it "validates the prompt and options before starting anything" do
      expect(RubyLLM::AgentSDK::CLI).not_to receive(:find)
      expect { described_class.query("") }.to raise_error(ArgumentError, /prompt/)
      expect { described_class.query("hi", max_turns: "3") }.to raise_error(ArgumentError, /max_turns/)
    end
  end

  describe "protocol edge cases (scripted stand-in CLI)" do
    let(:script) { File.expand_path("support/bin/scripted-cli", __dir__) }

    def run(mode, **options, &block)
      env = { "SCRIPTED_CLI_MODE" => mode }.merge(options.delete(:env) || {})
      described_class.query("ping", cli_path: script, env: env, **options, &block)
    end

    it "drops a line over max_buffer_size, reports it, and keeps reading (the child never blocks)" do
      messages = run("flood", max_buffer_size: 1024 * 1024, env: { "FLOOD_BYTES" => (40 * 1024 * 1024).to_s }).to_a
      expect(messages.map(&:type)).to eq(%i[system parse_error parse_error assistant result])
      too_long = messages[1]
      expect(too_long.subtype).to eq("line_too_long")
      expect(too_long).to be_error
      expect(too_long["bytes"]).to be > 40 * 1024 * 1024
      expect(too_long.content).to start_with('{"type":"assistant","blob":"xxx')
      expect(messages[2].subtype).to eq("invalid_utf8")
      expect(messages[3].content).to eq("ping")
      expect(messages.last.content).to eq("ok")
    end

    it "raises JSONDecodeError in strict mode, and still stops the child" do
      expect { run("flood", strict_parsing: true, max_buffer_size: 4096, env: { "FLOOD_BYTES" => "10000" }).to_a }
        .to raise_error(RubyLLM::AgentSDK::JSONDecodeError, /exceeds max_buffer_size.*"\{\\"type\\":\\"assistant\\"/)
      expect(child_processes).to be_empty
    end

    it "raises ProcessError with the exit code and stderr when the CLI dies" do
      expect { run("crash").to_a }.to raise_error(RubyLLM::AgentSDK::ProcessError) { |e|
        expect(e.exit_code).to eq(3)
        expect(e.stderr).to include("fatal: something broke")
        expect(e.message).to include("fatal: something broke")
      }
      expect(child_processes).to be_empty
    end

    it "raises ControlTimeoutError when the CLI never answers initialize, and kills it" do
      expect { run("silent", control_timeout: 0.5, close_timeout: 0.2).to_a }
        .to raise_error(RubyLLM::AgentSDK::ControlTimeoutError)
      expect(child_processes).to be_empty
    end

    it "answers hook_callback requests; a raising handler fails closed" do
      logged = StringIO.new
      RubyLLM::AgentSDK::Hooks.logger = Logger.new(logged)
      hooks = { pre_tool_use: [{ matcher: "Bash", handler: ->(_ctx) { raise "oops" } }] }
      result = run("hook", hooks: hooks).to_a.last
      answer = JSON.parse(result.content)
      expect(answer.dig("response", "request_id")).to eq("cli_1")
      expect(answer.dig("response", "response", "hookSpecificOutput"))
        .to include("hookEventName" => "PreToolUse", "permissionDecision" => "deny")
      expect(logged.string).to include("RuntimeError: oops")
    ensure
      RubyLLM::AgentSDK::Hooks.logger = nil
    end

    it "passes the hook handler a context with the tool call" do
      seen = nil
      hooks = { pre_tool_use: [{ matcher: "Bash", handler: ->(ctx) { seen = ctx; RubyLLM::AgentSDK::Hooks::Result.modify("command" => "ls") } }] }
      answer = JSON.parse(run("hook", hooks: hooks).to_a.last.content)
      expect([seen.event, seen.tool_name, seen.tool_input, seen.tool_use_id]).to eq(["PreToolUse", "Bash", { "command" => "rm -rf /" }, "toolu_1"])
      expect(answer.dig("response", "response", "hookSpecificOutput", "updatedInput")).to eq("command" => "ls")
    end
  end

  describe RubyLLM::AgentSDK::Hooks::Result do
    it "speaks the CLI's hook output for each decision" do
      expect(described_class.deny("nope").to_cli("PreToolUse")).to eq(
        "hookSpecificOutput" => { "hookEventName" => "PreToolUse", "permissionDecision" => "deny", "permissionDecisionReason" => "nope" }
      )
      expect(described_class.deny("nope").to_cli("UserPromptSubmit")).to eq("decision" => "block", "reason" => "nope")
      expect(described_class.approve.to_cli("PreToolUse").dig("hookSpecificOutput", "permissionDecision")).to eq("allow")
      expect(described_class.stop("enough").to_cli("PostToolUse")).to eq("continue" => false, "stopReason" => "enough")
      expect(described_class.add_context("ctx").to_cli("UserPromptSubmit"))
        .to eq("hookSpecificOutput" => { "hookEventName" => "UserPromptSubmit", "additionalContext" => "ctx" })
      expect(described_class.continue.to_cli("Stop")).to eq({})
    end
  end

  describe RubyLLM::AgentSDK::Permissions do
    it "fails closed when the callback raises or returns something else" do
      RubyLLM::AgentSDK::Hooks.logger = Logger.new(File::NULL)
      expect(described_class.decide(->(*) { raise "x" }, "Bash", {}, nil).behavior).to eq("deny")
      expect(described_class.decide(->(*) { :maybe }, "Bash", {}, nil).behavior).to eq("deny")
      expect(described_class.decide(->(*) { true }, "Bash", {}, nil).to_cli("a" => 1)).to eq("behavior" => "allow", "updatedInput" => { "a" => 1 })
    ensure
      RubyLLM::AgentSDK::Hooks.logger = nil
    end
  end
end
