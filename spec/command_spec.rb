# frozen_string_literal: true

require "open3"
require "pty"
require "rbconfig"
require "ruby_llm/agent_sdk/testing"

# exe/agent-sdk, run as a user runs it: a separate process, against the FakeServer (both transports; :cli is the real
# claude CLI), piped, in a pseudo-terminal, with Ctrl-C.
RSpec.describe "the agent-sdk command" do
  root = File.expand_path("..", __dir__)
  exe = [RbConfig.ruby, "-w", "-I", File.join(root, "lib"), File.join(root, "exe", "agent-sdk")].freeze
  deadline = 120 # seconds any one command may take before the spec gives up on it (a hang, not a slow machine)

  around do |example|
    Dir.mktmpdir("agent_sdk_command") do |dir|
      @dir = dir
      @home = File.join(dir, "home")
      FileUtils.mkdir_p(@home)
      example.run
    end
  end

  # Runs the command; [stdout, stderr, Process::Status]. Without a PATH of its own it gets this process's.
  define_method(:agent_sdk) do |*args, env: {}, stdin: ""|
    Open3.popen3({ "HOME" => @home, "AGENT_SDK_HOME" => nil }.merge(env), *exe, *args, chdir: @dir) do |i, o, e, thread|
      i.write(stdin)
      i.close
      out = Thread.new { o.read }
      err = Thread.new { e.read }
      unless thread.join(deadline)
        Process.kill(:KILL, thread.pid)
        raise "agent-sdk #{args.join(" ")} did not finish in #{deadline} s"
      end
      [out.value, err.value, thread.value]
    end
  end

  let(:turns) do
    [{ tool_use: { name: "Glob", input: { "pattern" => "*.rb" } }, usage: { input_tokens: 1_000, output_tokens: 20 } },
     { text: "One Ruby file.\nThat is all.", usage: { input_tokens: 1_200, output_tokens: 30 } }]
  end

  # [exit status, stderr] of a command that fails before it prints anything
  def failure(*args)
    out, err, status = agent_sdk(*args)
    expect(out).to eq("")
    [status.exitstatus, err]
  end

  def api_env(server)
    { "ANTHROPIC_BASE_URL" => server.base_url, "ANTHROPIC_API_KEY" => "sk-ant-test-not-a-real-key" }
  end

  def api_args(*extra)
    ["--transport", "api", "--model", "claude-sonnet-4-5", *extra]
  end

  # The lines of a run of `turns` (without the init and result lines, which carry ids and times).
  def conversation(output)
    output.lines(chomp: true).reject { |line| line.start_with?("init:", "result:", "user:", "replay:") }
  end

  describe "run" do
    it "prints the transcript as plain lines when piped (:api) and replay prints the session file the same way" do
      SDK::Testing::FakeServer.open(turns) do |server|
        out, err, status = agent_sdk("run", "Which Ruby files are here?", *api_args, env: api_env(server))
        expect([err, status.exitstatus]).to eq(["", 0])
        expect(out).not_to include("\e[")
        lines = out.lines(chomp: true)
        expect(lines.first).to match(/\Ainit: session \S+ · model claude-sonnet-4-5/)
        expect(lines[1..-2]).to match(["-> Glob {\"pattern\":\"*.rb\"}", /\A<- error: Unknown tool "Glob"/,
                                       "assistant: One Ruby file.", "           That is all."])
        expect(lines.last).to match(/\Aresult: success · 2 turns · 2,200 in \/ 50 out tokens · \$0\.\d{6} · \d+\.\d s\z/)
        expect(server.agent_requests.size).to eq(2)

        session = lines.first[/session (\S+)/, 1]
        replayed, err, status = agent_sdk("replay", File.join(@dir, "tmp", "agent_sdk", "sessions", "#{session}.jsonl"))
        expect([err, status.exitstatus]).to eq(["", 0])
        expect(replayed.lines(chomp: true)).to eq(["user: Which Ruby files are here?", *lines])
        expect(agent_sdk("replay", session).first).to eq(replayed) # a bare session id is found in the session store
      end
    end

    it "prints NDJSON with --json: one message's wire hash per line" do
      SDK::Testing::FakeServer.open(turns) do |server|
        out, err, status = agent_sdk("run", "Which Ruby files are here?", "--json", *api_args, env: api_env(server))
        expect([err, status.exitstatus]).to eq(["", 0])
        messages = out.lines.map { |line| JSON.parse(line) }
        expect(messages.map { |m| m["type"] }).to eq(%w[system assistant user assistant result])
        expect(messages.first).to include("subtype" => "init", "model" => "claude-sonnet-4-5")
        expect(messages[1].dig("message", "content", 0)).to include("type" => "tool_use", "name" => "Glob")
        expect(messages.last).to include("subtype" => "success", "num_turns" => 2, "result" => "One Ruby file.\nThat is all.")
        expect(messages.map { |m| m["session_id"] }.uniq.size).to eq(1)
      end
    end

    it "exits 1 with the error on a failed result, and 2 with the usage on bad arguments" do
      SDK::Testing::FakeServer.open(turns) do |server|
        out, err, status = agent_sdk("run", "Which Ruby files are here?", *api_args("--max-turns", "1"),
                                     env: api_env(server))
        expect(status.exitstatus).to eq(1)
        expect(out.lines(chomp: true)).to include(a_string_starting_with("result: error_max_turns · 1 turn · "),
                                                  "error: maximum number of turns reached")
        expect(err).to match(/\Aagent-sdk: the run failed \(error_max_turns\)/)
      end

      _, err, status = agent_sdk("run", "hi", "--frobnicate")
      expect(status.exitstatus).to eq(2)
      expect(err).to start_with("agent-sdk: invalid option: --frobnicate\n").and include("Usage: agent-sdk run")
      expect(failure("run", "hi", "--transport", "carrier-pigeon")).to match([2, /invalid argument: --transport carrier-pigeon/])
      expect(failure("run", "hi", "--max-turns", "0", "--transport", "api")).to match([2, /invalid value for max_turns: 0/])
      expect(failure("run")).to match([2, /a prompt is needed/])
      expect(failure("launch")).to match([2, /unknown command "launch".*Usage: agent-sdk COMMAND/m])
      help, err, status = agent_sdk("run", "--help")
      expect([err, status.exitstatus]).to eq(["", 0])
      expect(help).to include("--max-budget-usd USD", "--json", "--transport NAME")
    end

    it "stops quietly when its output is closed early (agent-sdk run … | head)" do
      SDK::Testing::FakeServer.open(turns) do |server|
        Open3.popen3({ "HOME" => @home }.merge(api_env(server)), *exe, "run", "hi", *api_args, chdir: @dir) do |i, o, e, thread|
          [i, o].each(&:close)
          expect(thread.join(deadline)).to be_truthy
          expect([thread.value.exitstatus, e.read]).to eq([141, ""])
        end
      end
    end

    it "reads the prompt from stdin when none is given" do
      SDK::Testing::FakeServer.open([{ text: "hello back" }]) do |server|
        out, _, status = agent_sdk("run", *api_args, env: api_env(server), stdin: "hello from a pipe\n")
        expect(status.exitstatus).to eq(0)
        expect(out).to include("assistant: hello back")
        expect(server.agent_requests.first.body["messages"].first["content"].to_s).to include("hello from a pipe")
      end
    end

    it "draws a live status line of turns, tokens and cost on a terminal, redrawn in place and cleared at the end" do
      slow = turns.map { |turn| turn.merge(delay: 0.6) } # the status line is redrawn while a turn is in flight
      SDK::Testing::FakeServer.open(slow) do |server|
        output = +""
        PTY.spawn({ "HOME" => @home }.merge(api_env(server)), *exe, "run", "Which Ruby files are here?", *api_args,
                  chdir: @dir) do |reader, _writer, pid|
          begin
            reader.each_char { |char| output << char }
          rescue Errno::EIO # the terminal's other end: the command exited
            nil
          end
          Process.wait(pid)
        end
        expect($?.exitstatus).to eq(0)
        clear = "\r\e[2K"
        statuses = output.split(clear).map { |part| part[/\Aturn \d+ · [\d,]+ in \/ [\d,]+ out tokens · \$\S+.*? s/] }.compact
        expect(statuses.size).to be >= 3 # redrawn: as messages arrive and while waiting
        expect(statuses.first).to start_with("turn 0 · 0 in / 0 out tokens")
        expect(statuses).to include(a_string_starting_with("turn 1 · 1,000 in / 20 out tokens · $0.003300 (est.) · "))
        expect(statuses.last).to start_with("turn 2 · 2,200 in / 50 out tokens · $0.007350 · ")
        expect(output).to include("-> Glob {\"pattern\":\"*.rb\"}\r\n", "assistant: One Ruby file.")
        expect(output).to end_with(clear) # the status line is erased at the end
      end
    end

    it "cancels the query on Ctrl-C (:api): exit 130 and an error_cancelled result" do
      SDK::Testing::FakeServer.open([{ text: "too late", delay: 60 }]) do |server|
        Open3.popen3({ "HOME" => @home }.merge(api_env(server)), *exe, "run", "wait", "--json", *api_args,
                     chdir: @dir) do |i, o, e, thread|
          i.close
          server.wait_for_requests(1, agent: true, timeout: deadline)
          Process.kill(:INT, thread.pid)
          expect(thread.join(deadline)).to be_truthy
          messages = o.read.lines.map { |line| JSON.parse(line) }
          expect(messages.last).to include("type" => "result", "subtype" => "error_cancelled")
          expect(e.read).to include("agent-sdk: cancelling")
          expect(thread.value.exitstatus).to eq(130)
        end
      end
    end

    context "with transport :cli (the real claude CLI)" do
      def cli_run_args(options, cwd)
        ["--transport", "cli", "--cli-path", options[:cli_path], "--cwd", cwd, "--model", "claude-sonnet-4-5",
         "--allowed-tools", "Glob"]
      end

      it "prints the same transcript, and replays the CLI's own transcript of the run in that format" do
        with_real_cli(turns) do |_server, options, cwd|
          File.write(File.join(cwd, "app.rb"), "puts 1\n")
          out, err, status = agent_sdk("run", "Which Ruby files are here?", *cli_run_args(options, cwd),
                                       env: options[:env])
          expect([err, status.exitstatus]).to eq(["", 0])
          expect(out).not_to include("\e[")
          expect(conversation(out)).to eq(["-> Glob {\"pattern\":\"*.rb\"}", "<- app.rb", "assistant: One Ruby file.",
                                           "           That is all."])
          expect(out.lines.last).to match(%r{\Aresult: success · 2 turns · 2,200 in / 50 out tokens})

          session = out[/\Ainit: session (\S+)/, 1]
          file = Dir.glob(File.join(options[:env]["HOME"], ".claude", "projects", "*", "#{session}.jsonl")).first
          expect(file).not_to be_nil
          replayed, err, status = agent_sdk("replay", file)
          expect([err, status.exitstatus]).to eq(["", 0])
          expect(replayed.lines.first).to eq("user: Which Ruby files are here?\n")
          expect(conversation(replayed)).to eq(conversation(out))
          # the CLI writes no result line: a tally ends the replay (the cost estimated from the pricing table)
          expect(replayed.lines.last).to eq("replay: 2 turns · 2,200 in / 50 out tokens · $0.007350 (est.)\n")

          json, = agent_sdk("replay", file, "--json")
          expect(json.lines.map { |line| JSON.parse(line)["sessionId"] }.uniq).to eq([session])
        end
      end

      it "cancels on Ctrl-C: exit 130, and the CLI it started is gone" do
        with_real_cli([{ text: "too late", delay: 60 }]) do |server, options, cwd|
          Open3.popen3({ "HOME" => @home }.merge(options[:env]), *exe, "run", "wait", *cli_run_args(options, cwd),
                       chdir: @dir) do |i, o, e, thread|
            i.close
            server.wait_for_requests(1, agent: true, timeout: deadline)
            cli_pids = Dir.glob("/proc/[0-9]*/stat").filter_map do |stat|
              fields = File.read(stat).sub(/.*\) /m, "").split
              File.basename(File.dirname(stat)).to_i if fields[1].to_i == thread.pid
            rescue Errno::ENOENT
              nil
            end
            expect(cli_pids).not_to be_empty
            Process.kill(:INT, thread.pid)
            expect(thread.join(deadline)).to be_truthy
            expect(thread.value.exitstatus).to eq(130)
            expect(o.read.lines).to include(a_string_starting_with("result: "))
            expect(e.read).to include("agent-sdk: cancelling")
            cli_pids.each { |pid| expect { Process.kill(0, pid) }.to raise_error(Errno::ESRCH) }
          end
        end
      end
    end
  end

  describe "install-cli" do
    def fake_npm(bin, version: "2.1.197")
      FileUtils.mkdir_p(bin)
      File.write(File.join(bin, "npm"), <<~SH)
        #!/bin/sh
        # records its argv, one argument a line, and installs a stand-in claude where npm would
        printf '%s\\n' "$@" > "#{bin}/npm.argv"
        prefix=$3
        mkdir -p "$prefix/node_modules/.bin"
        printf '#!/bin/sh\\necho "#{version} (Claude Code)"\\n' > "$prefix/node_modules/.bin/claude"
        chmod +x "$prefix/node_modules/.bin/claude"
      SH
      File.chmod(0o755, File.join(bin, "npm"))
    end

    it "npm-installs the pinned version into $AGENT_SDK_HOME/cli (an argv, no shell), where the gem then finds it" do
      bin = File.join(@dir, "bin")
      fake_npm(bin)
      home = File.join(@dir, "agent sdk home") # a space: an argv, not a shell line
      out, err, status = agent_sdk("install-cli", env: { "AGENT_SDK_HOME" => home, "PATH" => "#{bin}:/usr/bin:/bin" })
      expect([err, status.exitstatus]).to eq(["", 0])
      prefix = File.join(home, "cli")
      expect(File.read(File.join(bin, "npm.argv")).lines(chomp: true))
        .to eq(["install", "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error",
                "@anthropic-ai/claude-code@#{SDK::CLIInstall::PINNED_VERSION}"])
      claude = File.join(prefix, "node_modules", ".bin", "claude")
      expect(out).to include("installed Claude Code #{SDK::CLIInstall::PINNED_VERSION} at #{claude}",
                             "the gem uses it")
      expect(JSON.parse(File.read(File.join(prefix, "package.json")))).to include("private" => true)
    end

    it "says npm is missing, and exits 1" do
      empty = File.join(@dir, "empty-bin")
      FileUtils.mkdir_p(empty)
      out, err, status = agent_sdk("install-cli", env: { "PATH" => empty })
      expect(status.exitstatus).to eq(1)
      expect(out).to eq("")
      expect(err).to match(/\Aagent-sdk: npm not found on PATH: install Node\.js/)
      expect(Dir.exist?(File.join(@home, ".agent_sdk"))).to be(false)
    end
  end
end
