# frozen_string_literal: true

require "etc"
require "fileutils"
require "json"
require "tmpdir"
require "rbconfig"

# A fake Messages API server as a child process (its CPU is not counted in the client's), for the benchmarks.
#
#   server = FakeServerProcess.start(turns)          # bin/fake-model-server with these turns (FakeServer::Turn hashes)
#   server = FakeServerProcess.agent_turns(delay: 0.3, tool_turns: 2)   # Node when on PATH, else Ruby (server:)
#   server.base_url   # "http://127.0.0.1:PORT"
#   server.label      # what runs it: "node v20.20.2 bench/support/agent_turn_server.js"
#   server.cpu        # CPU seconds the server process used so far (user + system, from /proc)
#   server.stop
class FakeServerProcess
  ROOT = File.expand_path("../..", __dir__)
  BIN = File.join(ROOT, "bin", "fake-model-server")

  attr_reader :base_url, :pid, :label

  def self.start(turns, default: nil)
    dir = Dir.mktmpdir("agent_sdk_bench")
    script = File.join(dir, "turns.json")
    File.write(script, JSON.generate(default ? { turns: turns, default: default } : turns))
    new([RbConfig.ruby, BIN, "--port", "0", "--script", script], dir: dir, label: "ruby bin/fake-model-server")
  end

  # Turns chosen per request from the conversation: bench/support/agent_turn_server.js (server: :node, the default
  # when `node` is on PATH) or agent_turn_server.rb (server: :ruby; `env` is for it), which answer alike.
  def self.agent_turns(delay:, tool_turns:, server: node ? :node : :ruby, env: {})
    args = [delay.to_s, tool_turns.to_s]
    case server
    when :node
      raise "node not found on PATH" unless node

      new([node, File.join(__dir__, "agent_turn_server.js"), *args],
          label: "node #{node_version} bench/support/agent_turn_server.js")
    when :ruby
      new([RbConfig.ruby, File.join(__dir__, "agent_turn_server.rb"), *args],
          env: env, label: "ruby bench/support/agent_turn_server.rb")
    else raise ArgumentError, "server: :node or :ruby, got #{server.inspect}"
    end
  end

  # The `node` executable on PATH, or nil.
  def self.node
    return @node if defined?(@node)

    @node = ENV.fetch("PATH", "").split(File::PATH_SEPARATOR).map { |dir| File.join(dir, "node") }
               .find { |f| File.file?(f) && File.executable?(f) }
  end

  def self.node_version
    @node_version ||= IO.popen([node, "--version"], &:read).strip
  end

  def initialize(argv, label:, dir: nil, env: {})
    @dir = dir
    @label = label
    @out_r, out_w = IO.pipe
    @pid = Process.spawn(env, *argv, out: out_w, in: File::NULL)
    out_w.close
    @base_url = @out_r.gets&.chomp or raise "fake server did not start: #{argv.inspect}"
  end

  # utime + stime of the server process (all its threads: Node's too), seconds.
  def cpu
    fields = File.read("/proc/#{@pid}/stat").split(") ", 2).last.split
    (Integer(fields[11]) + Integer(fields[12])).fdiv(Etc.sysconf(Etc::SC_CLK_TCK))
  end

  def stop
    Process.kill("TERM", @pid)
    Process.wait(@pid)
  rescue Errno::ESRCH, Errno::ECHILD
    nil
  ensure
    @out_r.close unless @out_r.closed?
    FileUtils.rm_rf(@dir) if @dir
  end
end

module BenchUtil
  module_function

  def cpu_now = Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID)
  def wall_now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

  # Peak resident set size of this process, MB (VmHWM).
  def peak_rss_mb
    kb = File.read("/proc/self/status")[/^VmHWM:\s+(\d+)/, 1]
    kb ? Integer(kb) / 1024.0 : nil
  end

  def rss_mb
    kb = File.read("/proc/self/status")[/^VmRSS:\s+(\d+)/, 1]
    kb ? Integer(kb) / 1024.0 : nil
  end
end
