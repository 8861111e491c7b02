# frozen_string_literal: true

# The CLI transport against the REAL claude binary, offline, with the project's fake Messages API as the model.
RSpec.describe "CLI transport against the real claude CLI" do

  def tool_results(server, request_index)
    server.agent_requests[request_index].body["messages"].flat_map do |m|
      m["content"].is_a?(Array) ? m["content"].select { |b| b["type"] == "tool_result" } : []
    end
  end

  it "runs a tool turn (Glob) then a final text, with every message field filled in" do
    turns = [{ tool_use: { name: "Glob", input: { "pattern" => "*.txt" } }, usage: { input_tokens: 1200, output_tokens: 40 } },
             { text: "There is one text file: notes.txt", usage: { input_tokens: 1400, output_tokens: 12 } }]
    with_real_cli(turns) do |server, options, cwd|
      File.write(File.join(cwd, "notes.txt"), "hello")
      messages = SDK.query("Which text files are here?", **options, allowed_tools: %w[Glob]).to_a

      init = messages.find(&:init?)
      expect(init.session_id).to match(/\A\h{8}-\h{4}-\h{4}-\h{4}-\h{12}\z/)
      call = messages.find { |m| m.assistant? && m.tool_calls.any? }
      expect(call.tool_calls.first).to include(name: "Glob", input: { "pattern" => "*.txt" })
      expect(call.tool_name).to eq("Glob")
      expect(call.model).to eq("claude-sonnet-4-5")
      tool_result = messages.find { |m| m.user? && m.content.to_s.include?("notes.txt") }
      expect(tool_result).not_to be_nil
      expect(tool_result.is_error).not_to eq(true)

      result = messages.last
      expect(result).to be_result
      expect(result.subtype).to eq("success")
      expect(result.content).to eq("There is one text file: notes.txt")
      expect(result.num_turns).to eq(2)
      expect(result.total_cost_usd).to be > 0
      expect(result.usage["output_tokens"]).to be >= 52
      expect(result.session_id).to eq(init.session_id)
      expect(messages.map(&:uuid).compact.uniq.size).to eq(messages.count(&:uuid))
      expect(server.agent_requests.size).to eq(2)
      expect(tool_results(server, 1).first["content"].to_s).to include("notes.txt")
    end
  end

  it "runs a pre_tool_use hook that denies: the tool never runs and the model sees our reason as an error" do
    seen = []
    hooks = { pre_tool_use: [{ matcher: "Bash", handler: lambda { |ctx|
      seen << [ctx.tool_name, ctx.tool_input["command"], ctx.session_id]
      SDK::Hooks::Result.deny("Shell access is disabled for this agent")
    } }] }
    turns = [{ tool_use: { name: "Bash", input: { "command" => "touch pwned.txt", "description" => "make a file" } } },
             { text: "I could not run the command." }]
    with_real_cli(turns) do |server, options, cwd|
      messages = SDK.query("Create a file", **options, hooks: hooks, permission_mode: :bypass_permissions).to_a

      expect(seen.size).to eq(1)
      expect(seen.first[0, 2]).to eq(["Bash", "touch pwned.txt"])
      expect(File.exist?(File.join(cwd, "pwned.txt"))).to be(false)
      denied = messages.find { |m| m.user? && m.is_error }
      expect(denied.content).to include("Shell access is disabled for this agent")
      expect(messages.last.subtype).to eq("success")
      result = tool_results(server, 1).first
      expect(result["is_error"]).to be(true)
      expect(result["content"].to_s).to include("Shell access is disabled for this agent")
    end
  end

  it "asks can_use_tool when the CLI's rules say ask, and a deny reaches the model as an error" do
    asked = []
    can_use_tool = lambda { |name, input, context|
      asked << [name, input, context.tool_use_id]
      SDK::Permissions::Result.deny("Writing files needs a human")
    }
    turns = [{ tool_use: { name: "Write", input: { "file_path" => "/tmp/agent_sdk_never_written.txt", "content" => "x" } } },
             { text: "Understood." }]
    with_real_cli(turns) do |server, options, _cwd|
      messages = SDK.query("Write a file", **options, can_use_tool: can_use_tool, permission_mode: :default).to_a

      expect(asked.map(&:first)).to eq(["Write"])
      expect(asked.first[1]).to include("file_path" => "/tmp/agent_sdk_never_written.txt")
      expect(asked.first[2]).to start_with("toolu_")
      expect(File.exist?("/tmp/agent_sdk_never_written.txt")).to be(false)
      expect(messages.find { |m| m.user? && m.is_error }.content).to include("Writing files needs a human")
      expect(tool_results(server, 1).first["is_error"]).to be(true)
    end
  end

  it "stops at max_turns with result error_max_turns" do
    loop_turn = { tool_use: { name: "Glob", input: { "pattern" => "*" } } }
    with_real_cli([loop_turn, loop_turn, loop_turn, { text: "never reached" }]) do |server, options, _cwd|
      result = SDK.query("Keep looking", **options, allowed_tools: %w[Glob], max_turns: 2).to_a.last
      expect(result).to be_result
      expect(result.subtype).to eq("error_max_turns")
      expect(result).to be_error
      expect(server.agent_requests.size).to eq(2)
    end
  end

  it "resumes a session: the second query continues the first one's transcript" do
    with_real_cli([{ text: "Your number is 42." }, { text: "It was 42." }]) do |server, options, _cwd|
      first = SDK.query("Remember the number 42", **options).to_a
      session_id = first.last.session_id
      second = SDK.query("What was the number?", **options, resume: session_id).to_a

      expect(second.last.content).to eq("It was 42.")
      expect(second.last.session_id).to eq(session_id)
      transcript = JSON.generate(server.agent_requests.last.body["messages"])
      expect(transcript).to include("Remember the number 42", "Your number is 42.", "What was the number?")
    end
  end

  it "keeps one process across several queries of a Client, and interrupt stops a long run" do
    slow = { text: "word " * 400, chunk_delay: 0.05 } # ~20 s if not interrupted
    with_real_cli([{ text: "first answer" }, slow, { text: "after the interrupt" }]) do |server, options, _cwd|
      SDK::Client.open(**options) do |client|
        first = client.query("one")
        expect(first.last.content).to eq("first answer")
        pid = client.instance_variable_get(:@cli).pid

        # Interrupt from another thread once the slow model call is under way.
        interrupter = Thread.new do
          server.wait_for_requests(2, agent: true, timeout: 30)
          sleep 0.5
          client.interrupt
        end
        started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
        second = client.query("two")
        elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
        interrupter.join
        expect(second.last).to be_result
        expect(second.last.subtype).to eq("error_cancelled")
        expect(second.map(&:content).join).to include("[Request interrupted by user]")
        expect(second.map(&:content).join).not_to include("word " * 100)
        expect(elapsed).to be < 15

        third = client.query("three")
        expect(third.last.content).to eq("after the interrupt")
        expect(client.instance_variable_get(:@cli).pid).to eq(pid)
        expect(client.session_id).to eq(first.first.session_id)
      end
      expect(child_processes).to be_empty
    end
  end

  it "raises ProcessError carrying the CLI's stderr when it exits non-zero" do
    with_real_cli do |_server, options, _cwd|
      expect { SDK.query("hi", **options, extra_args: { "no-such-flag" => nil }).to_a }
        .to raise_error(SDK::ProcessError) { |e|
          expect(e.exit_code).not_to eq(0)
          expect(e.stderr).to include("no-such-flag")
        }
    end
  end

  it "leaves no child behind after 50 queries, some broken off early" do
    with_real_cli([], default: { text: "ok" }) do |_server, options, _cwd|
      50.times do |i|
        case i % 5
        when 0 then SDK.query("q#{i}", **options) { |m| break if m.init? }  # break out of the block
        when 1 then SDK.query("q#{i}", **options).first                     # Enumerator cut short
        when 2 then expect { SDK.query("q#{i}", **options) { raise IOError, "consumer failed" } }.to raise_error(IOError)
        when 3 then e = SDK.query("q#{i}", **options); e.next; e = nil       # dropped mid-stream (finalizer)
        else expect(SDK.query("q#{i}", **options).to_a.last).to be_result
        end
      end
      GC.start
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 10
      sleep 0.1 until child_processes.empty? || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
      expect(child_processes).to be_empty
    end
  end
end
