# frozen_string_literal: true

require "rbconfig"

# The options the official Agent SDK has, on the REAL claude CLI (offline, the fake server as the model): the flags
# the CLI was started with (read from /proc while it runs) and what each one changes in the run.
RSpec.describe "CLI options at parity with the official Agent SDK" do
  MCP_ECHO = File.expand_path("support/bin/mcp-echo-server", __dir__)

  module CLIOptionsSpec
    class Lookup < RubyLLM::AgentSDK::Tool
      description "Looks something up"
      def call = "looked up"
    end
  end

  # The argv of the running CLI (this process's child), read from /proc in a hook the CLI calls on every prompt.
  def argv_probe(into)
    { user_prompt_submit: [{ handler: lambda { |_ctx|
      into.concat(running_cli_argv)
      nil
    } }] }
  end

  def running_cli_argv
    Dir.glob("/proc/[0-9]*/stat").each do |stat|
      fields = File.read(stat).match(/\) (.*)/m)[1].split
      next unless Integer(fields[1]) == Process.pid

      argv = File.read(File.join(File.dirname(stat), "cmdline")).split("\0")
      return argv.map { |arg| with_file_contents(arg) } if argv.include?("stream-json")
    rescue Errno::ENOENT, Errno::ESRCH
      next
    end
    []
  end

  # A --mcp-config / --settings JSON is a file only this user can read while the CLI runs, never JSON in its argv:
  # read back here (the path kept in private_paths, to check it is gone once the query ended).
  def with_file_contents(arg)
    flag, path = arg.split("=", 2)
    return arg unless SDK::CLI::Arguments::PRIVATE_JSON_FLAGS.include?(flag) && path && File.file?(path)
    raise "#{path} can be read by other users" unless (File.stat(path).mode & 0o077).zero?

    private_paths << path
    "#{flag}=#{File.read(path)}"
  end

  def private_paths = (@private_paths ||= [])

  def run_cli(prompt, options, **extra)
    argv = []
    hooks = argv_probe(argv).merge(extra.delete(:hooks) || {})
    messages = SDK.query(prompt, **options, **extra, hooks: hooks).to_a
    [messages, argv]
  end

  describe "hook events" do
    it "accepts every event of the CLI by name; a tool run calls the ones this CLI fires in stream-json mode" do
      fired = Queue.new
      hooks = SDK::Hooks::EVENTS.keys.to_h { |event| [event, [{ handler: ->(ctx) { fired << ctx.event && nil } }]] }
      turns = [{ tool_use: { name: "Bash", input: { "command" => "echo hi > made.txt", "description" => "write" } } },
               { tool_use: { name: "Read", input: { "file_path" => "/nonexistent/agent_sdk/none.txt" } } },
               { text: "done" }]
      with_real_cli(turns) do |_server, options, cwd|
        messages = SDK.query("Do it", **options, hooks: hooks, permission_mode: :bypass_permissions).to_a

        expect(messages.last.subtype).to eq("success")
        expect(File.read(File.join(cwd, "made.txt"))).to eq("hi\n")
        events = []
        events << fired.pop until fired.empty?
        expect(events.uniq).to include("UserPromptSubmit", "PreToolUse", "PostToolUse", "PostToolUseFailure",
                                       "PostToolBatch", "MessageDisplay", "Stop")
        expect(events.count("PreToolUse")).to eq(2)
        expect(events & %w[SessionStart SessionEnd Notification]).to be_empty
      end
    end

    it "calls StopFailure when the API fails, and passes an event name it does not know to the CLI as it is" do
      fired = Queue.new
      hooks = { stop_failure: [{ handler: ->(ctx) { fired << [ctx.event, ctx["error"]] && nil } }],
                "SomeFutureEvent" => [{ handler: ->(_ctx) { fired << :future && nil } }] }
      with_real_cli([{ status: 400, error: { message: "bad request from the fake server" } }]) do |_server, options, _cwd|
        messages = SDK.query("Hello", **options, hooks: hooks).to_a

        expect(messages.last).to be_result
        expect(messages.last.content).to include("bad request from the fake server")
        event, error = fired.pop
        expect(event).to eq("StopFailure")
        expect(error).to be_a(String)
        expect(fired).to be_empty
      end
    end

    it "refuses a misspelt snake_case event, naming the valid ones" do
      expect { SDK::Options.new(hooks: { post_tool_batchh: [->(_) {}] }) }
        .to raise_error(ArgumentError, /unknown hook event :post_tool_batchh; valid events: .*post_tool_batch/)
    end
  end

  describe "agents:" do
    it "sends the subagents in the initialize request: listed in init, and the Task tool runs one with its prompt" do
      agents = { reviewer: { description: "Reviews code for bugs", prompt: "You are a strict code reviewer.",
                             tools: %w[Read Grep], model: "inherit" } }
      started = Queue.new
      hooks = { subagent_start: [{ handler: ->(ctx) { started << ctx["agent_type"] && nil } }] }
      turns = [{ tool_use: { name: "Task", input: { "description" => "review", "prompt" => "Review main.rb",
                                                    "subagent_type" => "reviewer" } } },
               { text: "No bugs found." }, { text: "The reviewer found no bugs." }]
      with_real_cli(turns) do |server, options, _cwd|
        messages, argv = run_cli("Review my code", options, agents: agents, hooks: hooks,
                                                            permission_mode: :bypass_permissions)

        expect(argv.grep(/agents/)).to be_empty # the initialize request carries them, as in the official SDK
        expect(messages.find(&:init?)["agents"]).to include("reviewer")
        expect(started.pop).to eq("reviewer")
        sub = server.agent_requests.find { |req| req.body["system"].to_s.include?("You are a strict code reviewer.") }
        expect(sub).not_to be_nil
        expect(sub.body["tools"].map { |t| t["name"] }).to contain_exactly("Read", "Grep")
        expect(messages.last.content).to eq("The reviewer found no bugs.")
      end
    end

    it "refuses an agent without a prompt, or with a key the CLI does not take" do
      expect { SDK::Options.new(agents: { a: { description: "x" } }) }.to raise_error(ArgumentError, /needs prompt:/)
      expect { SDK::Options.new(agents: { a: { description: "x", prompt: "y", colour: "red" } }) }
        .to raise_error(ArgumentError, /unknown key\(s\) :colour; valid: description, prompt/)
    end
  end

  describe "output_format:" do
    it "starts the CLI with --json-schema; the model's StructuredOutput call is Message#structured_output" do
      schema = { type: "object", properties: { order: { type: "integer" }, status: { type: "string" } },
                 required: %w[order status] }
      turns = [{ tool_use: { name: "StructuredOutput", input: { "order" => 42, "status" => "shipped" } } }]
      with_real_cli(turns) do |server, options, _cwd|
        messages, argv = run_cli("Where is order 42?", options, output_format: { type: "json_schema", schema: schema })

        expect(argv).to include("--json-schema=#{JSON.generate(schema)}")
        expect(server.agent_requests.first.body["tools"].map { |t| t["name"] }).to include("StructuredOutput")
        result = messages.last
        expect(result.subtype).to eq("success")
        expect(result.structured_output).to eq("order" => 42, "status" => "shipped")
        expect(messages.find(&:init?).structured_output).to be_nil
      end
    end

    it "is refused on transport :api, and a schema that is not a Hash is refused" do
      expect { SDK::Options.new(transport: :api, output_format: { type: "object" }) }
        .to raise_error(ArgumentError, /:output_format is not valid with transport: :api/)
      expect { SDK::Options.new(output_format: [1]) }.to raise_error(ArgumentError, /expected a JSON schema Hash/)
    end
  end

  describe "mcp_servers:" do
    it "starts a stdio MCP server next to the Ruby tools' server: both connected in init, its tool answers the model" do
      servers = { echo: { command: RbConfig.ruby, args: [MCP_ECHO], env: { "ECHO_PREFIX" => "echoed: " } } }
      turns = [{ tool_use: { name: "mcp__echo__echo", input: { "text" => "hello" } } }, { text: "It said hello." }]
      with_real_cli(turns) do |server, options, _cwd|
        # The CLI connects MCP servers in the background; MCP_CONNECTION_NONBLOCKING=0 makes the first turn wait.
        options = options.merge(env: options[:env].merge("MCP_CONNECTION_NONBLOCKING" => "0"))
        messages, argv = run_cli("Echo hello", options, mcp_servers: servers, tools: [CLIOptionsSpec::Lookup],
                                                        allowed_tools: %w[mcp__echo__echo])

        config = JSON.parse(argv.grep(/\A--mcp-config=/).first.delete_prefix("--mcp-config="))
        expect(private_paths.size).to eq(1)
        expect(private_paths).to all(satisfy { |path| !File.exist?(File.dirname(path)) })
        expect(config["mcpServers"].keys).to contain_exactly("echo", "agent_sdk")
        expect(config["mcpServers"]["echo"]).to include("type" => "stdio", "command" => RbConfig.ruby)
        status = messages.find(&:init?)["mcp_servers"].to_h { |s| [s["name"], s["status"]] }
        expect(status).to eq("echo" => "connected", "agent_sdk" => "connected")
        result = server.agent_requests[1].body["messages"].last["content"].find { |b| b["type"] == "tool_result" }
        expect(result["content"].to_s).to include("echoed: hello")
        expect(messages.last.content).to eq("It said hello.")
      end
    end

    it "validates each server by type, never taking the Ruby tools' name, and hides env and header values" do
      expect { SDK::Options.new(mcp_servers: { x: { type: "ws", url: "ws://x" } }) }
        .to raise_error(ArgumentError, /type "ws" \(valid: stdio, sse, http/)
      expect { SDK::Options.new(mcp_servers: { x: { type: "http" } }) }.to raise_error(ArgumentError, /needs url:/)
      expect { SDK::Options.new(mcp_servers: { agent_sdk: { command: "x" } }) }
        .to raise_error(ArgumentError, /name of the Ruby tools' server/)
      options = SDK::Options.new(mcp_servers: { web: { type: "sse", url: "https://mcp.example", headers: { "X-Token" => "s3cr3t-value" } } })
      expect(options.inspect).not_to include("s3cr3t-value")
    end
  end

  describe "setting_sources:, plugins:, cli_tools:, sandbox:" do
    it "loads only the setting sources named (a project's deny rule applies only with :project)" do
      with_real_cli([{ text: "ok" }, { text: "ok" }]) do |_server, options, cwd|
        FileUtils.mkdir_p(File.join(cwd, ".claude"))
        File.write(File.join(cwd, ".claude/settings.json"), JSON.generate(permissions: { deny: ["Bash"] }))

        with_project, argv = run_cli("Hi", options, setting_sources: [:project])
        without_project, = run_cli("Hi", options, setting_sources: %i[user local])

        expect(argv).to include("--setting-sources=project")
        expect(with_project.find(&:init?)["tools"]).not_to include("Bash")
        expect(without_project.find(&:init?)["tools"]).to include("Bash")
      end
    end

    it "loads a local plugin directory (--plugin-dir): init lists the plugin and its command" do
      with_real_cli([{ text: "ok" }]) do |_server, options, cwd|
        plugin = File.join(cwd, "..", "demo-plugin")
        FileUtils.mkdir_p([File.join(plugin, ".claude-plugin"), File.join(plugin, "commands")])
        File.write(File.join(plugin, ".claude-plugin/plugin.json"), JSON.generate(name: "demo-plugin", version: "1.0.0"))
        File.write(File.join(plugin, "commands/greet.md"), "Say hello")

        messages, argv = run_cli("Hi", options, plugins: [{ type: "local", path: plugin }])

        expect(argv).to include("--plugin-dir=#{File.expand_path(plugin)}")
        init = messages.find(&:init?)
        expect(init["plugins"].map { |p| p["name"] }).to eq(["demo-plugin"])
        expect(init["slash_commands"]).to include("demo-plugin:greet")
      end
    end

    it "gives the CLI only the built-in tools named in cli_tools: (--tools), none with []" do
      with_real_cli([{ text: "ok" }, { text: "ok" }]) do |server, options, _cwd|
        messages, argv = run_cli("Hi", options, cli_tools: %w[Read Bash])
        bare, bare_argv = run_cli("Hi", options, cli_tools: [])

        expect(argv).to include("--tools=Read,Bash")
        expect(messages.find(&:init?)["tools"]).to contain_exactly("Read", "Bash")
        expect(server.agent_requests.first.body["tools"].map { |t| t["name"] }).to contain_exactly("Read", "Bash")
        expect(bare_argv).to include("--tools=")
        expect(bare.find(&:init?)["tools"]).to eq([])
      end
    end

    it "puts sandbox: into the CLI's settings (merged with settings:), camelCased as the CLI reads it" do
      with_real_cli([{ text: "ok" }]) do |_server, options, _cwd|
        sandbox = { enabled: false, network: { allowed_domains: ["example.com"] }, excluded_commands: ["git"] }
        messages, argv = run_cli("Hi", options, sandbox: sandbox, settings: { "cleanupPeriodDays" => 3 })

        settings = JSON.parse(argv.grep(/\A--settings=/).first.delete_prefix("--settings="))
        expect(settings).to eq("cleanupPeriodDays" => 3,
                               "sandbox" => { "enabled" => false, "network" => { "allowedDomains" => ["example.com"] },
                                              "excludedCommands" => ["git"] })
        expect(messages.last.subtype).to eq("success")
      end
      expect(SDK::Options.new(sandbox: { enabled: true }).sandbox).to eq("enabled" => true, "failIfUnavailable" => true)
      expect { SDK::Options.new(sandbox: { enabled: true }, settings: "/etc/claude.json") }
        .to raise_error(ArgumentError, /sandbox: cannot be combined with a settings file path/)
      expect { SDK::Options.new(sandbox: { enable: true }) }.to raise_error(ArgumentError, /unknown key\(s\) :enable/)
    end
  end

  describe "max_thinking_tokens:, effort:, betas:" do
    it "reach the Messages API request: a thinking budget, the effort and a beta header" do
      with_real_cli([{ text: "ok" }, { text: "ok" }]) do |server, options, _cwd|
        _, argv = run_cli("Hi", options, model: "claude-opus-4-5", max_thinking_tokens: 2048, effort: :low,
                                         betas: ["context-1m-2025-08-07"])
        _, off_argv = run_cli("Hi", options, max_thinking_tokens: 0)

        expect(argv).to include("--max-thinking-tokens=2048", "--effort=low", "--betas=context-1m-2025-08-07")
        first, second = server.agent_requests
        expect(first.body["thinking"]).to eq("type" => "enabled", "budget_tokens" => 2048)
        expect(first.body.dig("output_config", "effort")).to eq("low")
        expect(first.headers["anthropic-beta"].split(",")).to include("context-1m-2025-08-07")
        expect(off_argv).to include("--thinking=disabled")
        expect(second.body["thinking"]).to eq("type" => "disabled")
      end
    end

    it "refuses an effort the CLI does not know, and each on transport :api" do
      expect { SDK::Options.new(effort: :extreme) }.to raise_error(ArgumentError, /one of :low, :medium, :high, :xhigh, :max/)
      expect { SDK::Options.new(transport: :api, betas: ["x"]) }.to raise_error(ArgumentError, /:betas is not valid/)
    end
  end

  describe "enable_file_checkpointing: and Client#rewind_files" do
    it "puts a file the run changed back as it was before the prompt, answering the CLI's dry run first" do
      with_real_cli do |server, options, cwd|
        notes = File.join(cwd, "notes.txt")
        File.write(notes, "original\n")
        server.script([{ tool_use: { name: "Read", input: { "file_path" => notes } } },
                       { tool_use: { name: "Write", input: { "file_path" => notes, "content" => "changed\n" } } },
                       { text: "Changed." }])
        argv = []
        SDK::Client.open(**options, permission_mode: :bypass_permissions, enable_file_checkpointing: true,
                                    hooks: argv_probe(argv)) do |client|
          messages = client.query("Change the notes")
          expect(File.read(notes)).to eq("changed\n")
          prompt = messages.find(&:user?)
          expect(prompt.content).to eq("Change the notes")

          expect(argv).to include("--replay-user-messages")
          expect(client.rewind_files(prompt.uuid, dry_run: true))
            .to include("canRewind" => true, "filesChanged" => [notes], "insertions" => 1, "deletions" => 1)
          expect(File.read(notes)).to eq("changed\n")
          expect(client.rewind_files(prompt.uuid)).to eq("canRewind" => true)
          expect(File.read(notes)).to eq("original\n")
          expect { client.rewind_files("00000000-0000-4000-8000-000000000000") }
            .to raise_error(SDK::ControlRequestError, /No file checkpoint found/)
        end
      end
    end

    it "is refused without the option" do
      client = SDK::Client.new(cli_path: RealCLI.path || "/bin/true")
      expect { client.rewind_files("x") }.to raise_error(ArgumentError, /enable_file_checkpointing: true/)
    end
  end

  describe "streaming input" do
    it "writes each user message of an Enumerable as it comes, one turn and one result each, to one CLI" do
      inbox = Queue.new
      prompts = Enumerator.new do |y|
        while (prompt = inbox.pop) != :done
          y << prompt
        end
      end
      with_real_cli([{ text: "first answer" }, { text: "second answer" }]) do |server, options, _cwd|
        inbox << "First question"
        seen = []
        SDK.query(prompts, **options) do |message|
          seen << message
          next unless message.result?

          # the second message is written only now, after the first result: it reaches the model in the same session
          inbox << (seen.count(&:result?) == 1 ? { content: [{ type: "text", text: "Second question" }] } : :done)
        end

        expect(seen.select(&:result?).map(&:content)).to eq(["first answer", "second answer"])
        expect(seen.map(&:session_id).compact.uniq.size).to eq(1)
        texts = server.agent_requests.last.body["messages"].map { |m| JSON.generate(m["content"]) }
        expect(texts.join).to include("First question", "first answer", "Second question")
      end
    end

    it "is refused on transport :api, and a bad streamed message raises" do
      expect { SDK::Query.new(["x"], transport: :api, api_key: "sk-ant-test-not-a-real-key") }
        .to raise_error(ArgumentError, /needs transport: :cli/)
      with_real_cli do |_server, options, _cwd|
        expect { SDK.query([42], **options).to_a }.to raise_error(ArgumentError, /non-empty String or \{content:/)
      end
    end
  end
end
