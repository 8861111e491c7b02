# frozen_string_literal: true

RSpec.describe RubyLLM::AgentSDK::Options do
  it "rejects unknown options, naming the valid ones" do
    expect { described_class.new(max_turn: 3) }
      .to raise_error(ArgumentError, /unknown option :max_turn; valid options: .*max_turns/)
  end

  it "rejects bad values with what was expected" do
    expect { described_class.new(max_turns: 0) }.to raise_error(ArgumentError, /max_turns: 0 \(expected a positive Integer\)/)
    expect { described_class.new(max_budget_usd: -1) }.to raise_error(ArgumentError, /positive number/)
    expect { described_class.new(permission_mode: :yolo) }.to raise_error(ArgumentError, /:bypass_permissions/)
    expect { described_class.new(cwd: "/no/such/dir") }.to raise_error(ArgumentError, /existing directory/)
    expect { described_class.new(allowed_tools: [1]) }.to raise_error(ArgumentError, /Array of tool names/)
    expect { described_class.new(env: { "A" => 1 }) }.to raise_error(ArgumentError, /String => String/)
    expect { described_class.new(stderr: "log") }.to raise_error(ArgumentError, /#call/)
    expect { described_class.new(transport: :carrier_pigeon) }.to raise_error(ArgumentError, /:cli/)
    expect { described_class.new(extra_args: { "bad flag" => nil }) }.to raise_error(ArgumentError, /flag name/)
    expect { described_class.new(hooks: { before_everything: [] }) }.to raise_error(ArgumentError, /unknown hook event/)
    expect { described_class.new(hooks: { pre_tool_use: [{ matcher: "Bash" }] }) }.to raise_error(ArgumentError, /callable :handler/)
  end

  it "rejects NaN and infinity for every timeout and the budget, naming the option" do
    %i[tool_timeout connect_timeout idle_timeout request_timeout control_timeout close_timeout max_budget_usd].each do |name|
      [Float::NAN, Float::INFINITY, -Float::INFINITY].each do |bad|
        expect { described_class.new(name => bad) }
          .to raise_error(ArgumentError, /\Ainvalid value for #{name}: .* \(expected a finite positive number\)/)
      end
    end
    expect { RubyLLM::AgentSDK::ToolRunner.new([], default_timeout: Float::INFINITY) }.to raise_error(ArgumentError, /default_timeout/)
    expect { RubyLLM::AgentSDK::Hooks.config(pre_tool_use: [{ handler: ->(_) {}, timeout: Float::INFINITY }]) }
      .to raise_error(ArgumentError, /hook timeout/)
  end

  it "normalises values" do
    opts = described_class.new(permission_mode: "acceptEdits", allowed_tools: "Read, Glob", settings: { "a" => 1 },
                               env: { FOO: "1" })
    expect(opts.permission_mode).to eq(:accept_edits)
    expect(opts.cli_permission_mode).to eq("acceptEdits")
    expect(opts.allowed_tools).to eq(%w[Read Glob])
    expect(opts.settings).to eq('{"a":1}')
    expect(opts.env).to eq("FOO" => "1")
    expect(opts.max_buffer_size).to eq(32 * 1024 * 1024)
    expect(opts).to be_frozen
  end
end

RSpec.describe RubyLLM::AgentSDK::CLI do
  let(:fake_cli) { File.expand_path("support/bin/scripted-cli", __dir__) }

  it "maps every option to the CLI's real flags, values bound with = so they can never be read as flags" do
    Dir.mktmpdir do |dir|
      opts = RubyLLM::AgentSDK::Options.new(
        cli_path: fake_cli, model: "claude-sonnet-4-5", fallback_model: "claude-haiku-4-5", system_prompt: "-be terse",
        append_system_prompt: "extra", allowed_tools: %w[Read Glob], disallowed_tools: %w[Bash], permission_mode: :bypass_permissions,
        max_turns: 7, max_budget_usd: 1.5, resume: "--evil", fork_session: true, continue_conversation: true, add_dirs: [dir],
        settings: { "x" => 1 }, include_partial_messages: true, extra_args: { "debug-file" => "/tmp/x", "bare" => nil },
        can_use_tool: ->(*) {}
      )
      expect(described_class.new(opts).build_argv).to eq([
        fake_cli, "--output-format", "stream-json", "--verbose", "--input-format", "stream-json",
        "--system-prompt=-be terse", "--append-system-prompt=extra", "--allowedTools=Read,Glob", "--disallowedTools=Bash",
        "--max-turns=7", "--max-budget-usd=1.5", "--model=claude-sonnet-4-5", "--fallback-model=claude-haiku-4-5",
        "--permission-mode=bypassPermissions", "--permission-prompt-tool", "stdio", "--resume=--evil", "--fork-session",
        "--continue", "--add-dir=#{dir}", '--settings={"x":1}', "--include-partial-messages", "--debug-file=/tmp/x", "--bare"
      ])
    end
  end

  it "gives the CLI JSON that may carry credentials (--mcp-config, inline --settings) as 0600 files, removed at close" do
    files = RubyLLM::AgentSDK::CLI::Arguments::PrivateFiles.new
    argv = RubyLLM::AgentSDK::CLI::Arguments.with_private_json(
      ["claude", '--mcp-config={"mcpServers":{"web":{"headers":{"X-Token":"s3cr3t"}}}}', '--settings={"env":{"K":"v"}}',
       "--settings=/etc/claude/settings.json", "--model=x"], files
    )
    mcp, settings = argv[1..2].map { |arg| arg.split("=", 2).last }
    expect(argv.join(" ")).not_to include("s3cr3t")
    expect(argv[3..]).to eq(["--settings=/etc/claude/settings.json", "--model=x"])
    expect(File.read(mcp)).to include("s3cr3t")
    expect(JSON.parse(File.read(settings))).to eq("env" => { "K" => "v" })
    expect([mcp, settings].map { |path| File.stat(path).mode & 0o777 }).to eq([0o600, 0o600])
    expect(File.stat(File.dirname(mcp)).mode & 0o777).to eq(0o700)
    files.remove
    expect(File.exist?(File.dirname(mcp))).to be(false)
  end

  it "passes an empty system prompt when none is given, as the official SDKs do" do
    argv = described_class.new(RubyLLM::AgentSDK::Options.new(cli_path: fake_cli)).build_argv
    expect(argv).to include("--system-prompt=")
    expect(argv.grep(/--max-turns|--model|--permission/)).to be_empty
  end

  it "raises CLINotFoundError with install instructions when the CLI is missing" do
    expect { described_class.find("/nonexistent/claude") }
      .to raise_error(RubyLLM::AgentSDK::CLINotFoundError, %r{/nonexistent/claude.*npm install -g @anthropic-ai/claude-code}m)
    allow(described_class).to receive(:candidates).and_return(["/nonexistent/a/claude"])
    expect { described_class.find }.to raise_error(RubyLLM::AgentSDK::CLINotFoundError, /cli_path:/)
    expect { RubyLLM::AgentSDK.query("hi").first }.to raise_error(RubyLLM::AgentSDK::CLINotFoundError)
  end
end
