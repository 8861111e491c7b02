# frozen_string_literal: true

require "timeout"

# The :cli transport's fault matrix. Every case checks, besides its own typed outcome:
#   - a time bound (generous: a hang is "not done within BOUND s", never a tight timing),
#   - no child or zombie of this process left, and nothing left in the CLI's process group,
#   - the transcript kept: what the CLI sent before the fault was yielded,
#   - no key anywhere: the key goes in through env:, and the imitation CLI even prints it on stderr.
# spec/support/bin/fault-cli imitates the faults the real CLI cannot be made to show; the real CLI runs against a
# FakeServer for the ones it can.
RSpec.describe "CLI transport faults" do
  key = "sk-ant-FAULT-SECRET"
  fault_cli = File.expand_path("../support/bin/fault-cli", __dir__)
  bound = 30

  around { |example| Dir.mktmpdir("agent_sdk_faults") { |dir| @dir = dir; example.run } }

  outcome_struct = Struct.new(:messages, :error, :stderr, :pid, :seconds, keyword_init: true) do
    def contents = messages.map(&:content)
  end

  # Runs one query in a thread under the time bound; never raises what the query raised (see #error).
  define_method(:run_query) do |prompt = "ping", limit: bound, **options|
    stderr = Queue.new
    query = SDK::Query.new(prompt, **options, stderr: ->(line) { stderr << line })
    messages = []
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    thread = Thread.new do
      query.each { |m| messages << m }
      nil
    rescue StandardError => e
      e
    end
    thread.report_on_exception = false
    unless thread.join(limit)
      thread.kill.join(10)
      raise "not done within #{limit} s"
    end
    outcome_struct.new(messages: messages, error: thread.value, stderr: Array.new(stderr.size) { stderr.pop },
                pid: query.instance_variable_get(:@transport).pid,
                seconds: Process.clock_gettime(Process::CLOCK_MONOTONIC) - started)
  end

  define_method(:fault) do |mode, env: {}, **options|
    run_query(cli_path: fault_cli, env: { "ANTHROPIC_API_KEY" => key, "FAULT_CLI_MODE" => mode }.merge(env), **options)
  end

  # Every process in process group pgid (from /proc: nothing is asked of them). Zombies of this process count; an
  # orphan's zombie is init's to reap (child_processes covers ours).
  def group_members(pgid)
    Dir.glob("/proc/[0-9]*/stat").filter_map do |stat|
      comm, rest = File.read(stat).match(/\((.*)\) (.*)/m).captures
      state, ppid, pgrp = rest.split
      next if state == "Z" && Integer(ppid) != Process.pid

      "#{File.basename(File.dirname(stat))} #{comm} #{state}" if Integer(pgrp) == pgid
    rescue Errno::ENOENT, Errno::ESRCH
      nil
    end
  end

  # Gone within a moment: a KILL is delivered asynchronously, so the group cleanup may return a few milliseconds before
  # the kernel has ended the process (seen once under a loaded CI machine).
  def process_gone?(pid, within: 1.0)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + within
    until dead?(pid)
      return false if Process.clock_gettime(Process::CLOCK_MONOTONIC) >= deadline

      sleep 0.01
    end
    true
  end

  def dead?(pid)
    Process.kill(0, pid)
    File.read("/proc/#{pid}/stat").match(/\) (\S)/)[1] == "Z" # an orphan that init has not reaped yet
  rescue Errno::ESRCH, Errno::ENOENT
    true
  end

  define_method(:expect_clean) do |outcome|
    expect(outcome.pid).to be_a(Integer)
    expect(child_processes).to be_empty
    expect(group_members(outcome.pid)).to be_empty
    texts = outcome.messages.map(&:raw) + outcome.stderr
    texts += [outcome.error.message, outcome.error.backtrace.to_a.join] if outcome.error
    texts << outcome.error.stderr.to_s if outcome.error.respond_to?(:stderr)
    expect(texts.join("\n")).not_to include(key)
  end

  def expect_transcript(outcome)
    expect(outcome.messages.first(2).map(&:type)).to eq(%i[system assistant])
    expect(outcome.contents).to include("before the fault")
  end

  def grandchild_pid
    path = File.join(@dir, "grandchild.pid")
    Integer(File.read(path))
  end

  describe "the CLI dies mid-stream" do
    # A CLI that ends before its result: ProcessError with its exit code and stderr tail, after the lines it sent.
    def expect_process_error(outcome, exit_code:, stderr:, message: nil)
      expect(outcome.error).to be_a(SDK::ProcessError)
      expect(outcome.error.exit_code).to eq(exit_code)
      expect(outcome.error.message).to include(message) if message
      expect(outcome.error.stderr).to include(stderr)
      expect_transcript(outcome)
      expect_clean(outcome)
    end

    it "by SIGSEGV: ProcessError with the signal, after the lines it sent", fault: true do
      expect_process_error(fault("segv"), exit_code: -Signal.list.fetch("SEGV"), stderr: "ANTHROPIC_API_KEY=[REDACTED]",
                                          message: "without a result (killed by SIGSEGV)")
    end

    it "with exit 1: ProcessError with the exit code and the stderr tail", fault: true do
      outcome = fault("exit1")
      expect(outcome.stderr).to include("fatal: something broke", "debug: ANTHROPIC_API_KEY=[REDACTED]")
      expect_process_error(outcome, exit_code: 1, stderr: "fatal: something broke")
    end

    it "with exit 0 and no result (defect 11): ProcessError 'exited without a result', exit code 0", fault: true do
      expect_process_error(fault("no_result"), exit_code: 0, stderr: "stopping early",
                                               message: "exited without a result (exit status 0)")
    end
  end

  it "junk on stdout: each bad line is a parse_error message and the run goes on to its result", fault: true do
    outcome = fault("junk")
    expect(outcome.error).to be_nil
    # Lines that do not start with "{" (debug output, binary noise, a bare array) are skipped by the framer.
    expect(outcome.messages.map(&:type)).to eq(%i[system assistant parse_error parse_error result])
    expect(outcome.messages.select { |m| m.type == :parse_error }.map(&:subtype)).to eq(%w[invalid_utf8 invalid_json])
    expect(outcome.messages.last.subtype).to eq("success")
    expect_transcript(outcome)
    expect_clean(outcome)
  end

  it "junk on stdout with strict_parsing: JSONDecodeError, and the CLI is stopped", fault: true do
    outcome = fault("junk", strict_parsing: true)
    expect(outcome.error).to be_a(SDK::JSONDecodeError)
    expect_transcript(outcome)
    expect_clean(outcome)
  end

  it "initialize hangs: ControlTimeoutError after control_timeout, and the CLI is stopped", fault: true do
    outcome = fault("ok", env: { "FAULT_INIT" => "hang" }, control_timeout: 1, close_timeout: 0.5)
    expect(outcome.error).to be_a(SDK::ControlTimeoutError)
    expect(outcome.messages).to be_empty
    expect_clean(outcome)
  end

  it "a line over max_buffer_size: a line_too_long message, the line dropped, the run goes on", fault: true do
    outcome = fault("oversized", env: { "FAULT_BYTES" => (8 * 1024 * 1024).to_s }, max_buffer_size: 1024 * 1024)
    expect(outcome.error).to be_nil
    expect(outcome.messages.map(&:type)).to eq(%i[system assistant parse_error result])
    expect(outcome.messages[2].subtype).to eq("line_too_long")
    expect(outcome.messages[2]["bytes"]).to be > 8 * 1024 * 1024
    expect_transcript(outcome)
    expect_clean(outcome)
  end

  it "a stderr flood (16 MiB) does not block the CLI; the kept tail is bounded", fault: true do
    outcome = fault("stderr_flood", env: { "FAULT_BYTES" => (16 * 1024 * 1024).to_s })
    expect(outcome.error).to be_nil
    expect(outcome.messages.last.subtype).to eq("success")
    expect(outcome.stderr.size).to be > 16_000
    expect_transcript(outcome)
    expect_clean(outcome)
  end

  it "a CLI that ignores stdin EOF and TERM is KILLed after close_timeout + the TERM grace", fault: true do
    outcome = fault("term_ignored", close_timeout: 0.5)
    expect(outcome.error).to be_nil
    expect(outcome.messages.last.subtype).to eq("success")
    expect(process_gone?(outcome.pid)).to be(true)
    expect(outcome.seconds).to be < bound
    expect_transcript(outcome)
    expect_clean(outcome)
  end

  describe "grandchildren (defect 6: the group is cleaned up even when the CLI exits by itself)" do
    define_method(:grandchild_fault) do |kind, env: {}|
      fault("grandchild", env: { "FAULT_GRANDCHILD" => kind, "FAULT_PID_FILE" => File.join(@dir, "grandchild.pid") }
                                 .merge(env))
    end

    it "one that ignores stdin and sleeps is TERMed when the CLI exits normally", fault: true do
      outcome = grandchild_fault("sleep")
      expect(outcome.error).to be_nil
      expect(outcome.messages.last.subtype).to eq("success")
      expect(process_gone?(grandchild_pid)).to be(true)
      expect_transcript(outcome)
      expect_clean(outcome)
    end

    it "one that also ignores TERM is KILLed", fault: true do
      outcome = grandchild_fault("ignore_term")
      expect(outcome.error).to be_nil
      expect(process_gone?(grandchild_pid)).to be(true)
      expect_transcript(outcome)
      expect_clean(outcome)
    end

    it "one that holds the CLI's stdout open does not hang a CLI that exits without a result", fault: true do
      outcome = grandchild_fault("holds_stdout", env: { "FAULT_NO_RESULT" => "1" })
      expect(outcome.error).to be_a(SDK::ProcessError)
      expect(outcome.error.message).to include("exited without a result")
      expect(process_gone?(grandchild_pid)).to be(true)
      expect_transcript(outcome)
      expect_clean(outcome)
    end
  end

  # Defect 3: a forked child inherits the Query objects, the at_exit hook and the finalizers, not the CLI.
  describe "fork while a query runs in another thread" do
    let(:go) { File.join(@dir, "go") }
    let(:options) do
      { cli_path: fault_cli, env: { "ANTHROPIC_API_KEY" => key, "FAULT_CLI_MODE" => "wait_file", "FAULT_GO_FILE" => go } }
    end

    before { skip "fork is not available" unless Process.respond_to?(:fork) }

    def wait_started(query_thread_messages)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 30
      sleep 0.02 until query_thread_messages.size >= 2 || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
      expect(query_thread_messages.size).to be >= 2
    end

    define_method(:check_fork) do |&child_body|
      query = SDK::Query.new("ping", **options)
      messages = Queue.new
      error = nil
      thread = Thread.new do
        query.each { |m| messages << m }
      rescue StandardError => e
        error = e
      end
      thread.report_on_exception = false
      wait_started(messages)
      cli_pid = query.instance_variable_get(:@transport).pid

      child = fork(&child_body)
      _, status = Timeout.timeout(bound) { Process.wait2(child) }
      expect(status).to be_success, "the forked child ended with #{status.inspect}"
      expect(Process.kill(0, cli_pid)).to eq(1) # the parent's CLI still runs
      expect(group_members(cli_pid)).not_to be_empty

      FileUtils.touch(go)
      raise "not done within #{bound} s" unless thread.join(bound)

      seen = Array.new(messages.size) { messages.pop }
      expect(error).to be_nil
      expect(seen.map(&:type)).to eq(%i[system assistant result])
      expect(seen.last.subtype).to eq("success")
      expect(child_processes).to be_empty
      expect(group_members(cli_pid)).to be_empty
    end

    it "the child leaves with exit!: the parent's query completes", fault: true do
      check_fork { exit!(0) }
    end

    it "the child exits normally (at_exit and finalizers run there): the parent's query completes", fault: true do
      check_fork { exit 0 }
    end

    it "a child that GCs a dropped Enumerator does not kill the parent's CLI", fault: true do
      enum = SDK.query("ping", **options)
      expect(enum.next.type).to eq(:system)
      cli_pid = child_processes.map { |line| Integer(line[/\A\d+/]) }.first
      child = fork do
        enum = nil
        GC.start
        sleep 0.2 # finalizers run after the GC, at the next interrupt check
        GC.start
        exit!(0)
      end
      _, status = Timeout.timeout(bound) { Process.wait2(child) }
      expect(status).to be_success, "the forked child ended with #{status.inspect}"
      expect(Process.kill(0, cli_pid)).to eq(1)

      FileUtils.touch(go)
      rest = Timeout.timeout(bound) { [enum.next, enum.next] }
      expect(rest.map(&:type)).to eq(%i[assistant result])
      expect { enum.next }.to raise_error(StopIteration)
      expect(child_processes).to be_empty
      expect(group_members(cli_pid)).to be_empty
    end

    it "a child that tries to use the parent's Client gets CLIConnectionError, and the parent's Client works on",
       fault: true do
      client = SDK::Client.new(cli_path: fault_cli,
                               env: { "ANTHROPIC_API_KEY" => key, "FAULT_CLI_MODE" => "ok" })
      expect(client.query("one").last.subtype).to eq("success")
      reader, writer = IO.pipe
      child = fork do
        reader.close
        begin
          client.query("two")
          writer.write("no error")
        rescue SDK::CLIConnectionError => e
          writer.write(e.message)
        end
        exit!(0)
      end
      writer.close
      Process.wait2(child)
      expect(reader.read).to include("belongs to process #{Process.pid}")
      expect(client.instance_variable_get(:@cli).pid).to satisfy { |pid| Process.kill(0, pid) == 1 }
    ensure
      client&.close
      reader&.close
      expect(child_processes).to be_empty
    end
  end

  describe "the real CLI against a misbehaving server" do
    define_method(:real) do |turn, env: {}, &block|
      with_real_cli([], default: turn) do |server, options, _cwd|
        options[:env].merge!("ANTHROPIC_API_KEY" => key, "CLAUDE_CODE_MAX_RETRIES" => "0").merge!(env)
        block.call(server, options)
      end
    end

    it "a 500: the CLI's result is an error naming the status", fault: true do
      real({ status: 500, error: { message: "upstream exploded" } }) do |_server, options|
        outcome = run_query(**options)
        expect(outcome.error).to be_nil
        result = outcome.messages.last
        expect(result).to be_result
        expect(result.is_error).to be(true)
        expect(result["api_error_status"]).to eq(500)
        expect(outcome.messages.first).to be_init
        expect_clean(outcome)
      end
    end

    it "a 401 whose body echoes the key: the key reaches no message", fault: true do
      real({ status: 401, error: { message: "invalid x-api-key #{key}" } }) do |_server, options|
        outcome = run_query(**options)
        expect(outcome.error).to be_nil
        expect(outcome.messages.last.is_error).to be(true)
        expect(outcome.messages.last["api_error_status"]).to eq(401)
        expect_clean(outcome)
      end
    end

    it "a server that hangs: Query#cancel ends the run with error_cancelled (the CLI's own subtype kept)", fault: true do
      real({ text: "never", fault: "stall" }) do |server, options|
        query = SDK::Query.new("ping", **options)
        canceller = Thread.new do
          server.wait_for_requests(1, agent: true, timeout: bound)
          sleep 0.5
          query.cancel
        end
        messages = []
        Timeout.timeout(bound) { query.each { |m| messages << m } }
        canceller.join(bound)
        expect([messages.last.subtype, messages.last["cli_subtype"]]).to eq(%w[error_cancelled error_during_execution])
        expect(messages.first).to be_init
        expect_clean(outcome_struct.new(messages: messages, stderr: [], pid: query.instance_variable_get(:@transport).pid))
      end
    end

    it "a server that hangs and the caller gives up (Timeout::Error raised in its thread): the CLI is stopped",
       fault: true do
      real({ text: "never", fault: "stall" }) do |server, options|
        messages = []
        query = SDK::Query.new("ping", **options, close_timeout: 2)
        caller_thread = Thread.current
        giver_up = Thread.new do
          server.wait_for_requests(1, agent: true, timeout: bound)
          sleep 0.5
          caller_thread.raise(Timeout::Error, "caller gave up")
        end
        expect { Timeout.timeout(bound) { query.each { |m| messages << m } } }.to raise_error(Timeout::Error, "caller gave up")
        giver_up.join
        expect(messages.first).to be_init
        expect_clean(outcome_struct.new(messages: messages, stderr: [], pid: query.instance_variable_get(:@transport).pid))
      end
    end
  end
end
