# frozen_string_literal: true

# The :cli transport's latency: what a one-turn query waits for, cold and with the CLI started ahead. Numbers only.
#
#   ruby bench/cli_latency.rb [--runs N] [--settle S]   (bundle exec rake compile first; N = 10, S = 2 s)
#
# The real claude CLI (CLI.find: vendor/cli after bin/setup) against the project's fake Messages API server, in a
# process of its own (bin/fake-model-server, one text turn per query), with a throw-away HOME and cwd. For each mode,
# N runs; the median and the min–max of
#   prompt→first message  from handing over the prompt to the first message back (the CLI's system init)
#   prompt→result         from handing over the prompt to the result message
#
#   cold       RubyLLM::AgentSDK.query(prompt, **options): spawn, initialize, prompt (what a query costs with no pool)
#   prewarmed  RubyLLM::AgentSDK.query(prompt, pool: pool): a CLI the pool started and initialized (size 1; each run
#              waits until it is ready again, then S seconds — a pooled CLI waits for its prompt, and the CLI goes on
#              with some start-up work of its own after it has answered initialize); the pool's replacement starts
#              in the background as it does in an app (refill_delay after the checkout)
#   second     Client#query's second prompt on a process that has answered one already
#
# When `npm install` has been run in bench/node, the official TypeScript Agent SDK (@anthropic-ai/claude-agent-sdk) runs
# the same three modes in the same run (bench/node/cli_latency.mjs: query(), startup() + WarmQuery.query(), a second
# streamed user message), on the same CLI binary (pathToClaudeCodeExecutable), the same server and environment.
# Modes alternate between the two SDKs, so that a busy neighbour on the machine weighs on both alike.
require "json"
require "open3"
require "tmpdir"
require "fileutils"
require_relative "support/fake_server_process"

ROOT = File.expand_path("..", __dir__)
$LOAD_PATH.unshift File.join(ROOT, "lib")
require "ruby_llm/agent_sdk"

SDK = RubyLLM::AgentSDK
RUNS = Integer(ARGV[ARGV.index("--runs") + 1]) if ARGV.include?("--runs")
RUNS ||= 10
SETTLE = ARGV.include?("--settle") ? Float(ARGV[ARGV.index("--settle") + 1]) : 2.0
NODE_DIR = File.join(__dir__, "node")
NODE_SCRIPT = File.join(NODE_DIR, "cli_latency.mjs")

def loadavg = File.read("/proc/loadavg").split.first(3).join(" ")

def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

# [prompt→first message, prompt→result] of one query, from t0.
def timed(t0)
  first = nil
  result = nil
  yield(lambda do |message|
    first ||= now - t0
    result = now - t0 if message.result?
    raise "the query failed: #{message.content}" if message.result? && message.error?
  end)
  raise "no result" unless result

  [first, result]
end

def summary(values)
  sorted = values.sort
  mid = sorted.size / 2
  median = sorted.size.odd? ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2.0
  format("%6.3f s  (%5.3f–%5.3f)", median, sorted.first, sorted.last)
end

def median(values)
  sorted = values.sort
  sorted.size.odd? ? sorted[sorted.size / 2] : (sorted[sorted.size / 2 - 1] + sorted[sorted.size / 2]) / 2.0
end

def ruby_mode(mode, options, pool)
  Array.new(RUNS) do |i|
    case mode
    when :cold
      timed(now) { |see| SDK.query("question #{i}", **options) { |m| see.call(m) } }
    when :prewarmed
      pool.wait_ready(1, timeout: 120) or raise "the pool did not get a CLI ready"
      sleep SETTLE
      timed(now) { |see| SDK.query("question #{i}", pool: pool) { |m| see.call(m) } }
    when :second
      SDK::Client.open(**options) do |client|
        client.query("first question") { nil }
        timed(now) { |see| client.query("second question") { |m| see.call(m) } }
      end
    end
  end.transpose
end

def node_mode(mode, options)
  out, err, status = Open3.capture3("node", NODE_SCRIPT, mode.to_s, RUNS.to_s, SETTLE.to_s, options[:cli_path],
                                    options[:cwd], JSON.generate(options[:env]))
  raise "node failed: #{err}" unless status.success?

  report = JSON.parse(out.lines.last)
  [report["first"], report["result"], "#{report["sdk"]} (node #{report["node"]})"]
end

node = FakeServerProcess.node && File.directory?(File.join(NODE_DIR, "node_modules", "@anthropic-ai", "claude-agent-sdk"))
cli_path = SDK::CLI.find
cli_version = IO.popen([cli_path, "--version"], &:read).strip
server = FakeServerProcess.start([], default: { text: "pong" })
begin
Dir.mktmpdir("agent_sdk_cli_latency") do |dir|
  home = File.join(dir, "home")
  cwd = File.join(dir, "project")
  FileUtils.mkdir_p([home, cwd])
  env = { "ANTHROPIC_BASE_URL" => server.base_url, "ANTHROPIC_API_KEY" => "sk-ant-bench-not-a-real-key",
          "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC" => "1", "HOME" => home, "IS_SANDBOX" => "1" }
  options = { cli_path: cli_path, cwd: cwd, model: "claude-sonnet-4-5", env: env }
  pool = SDK::Pool.new(:bench, size: 1, **options)

  puts "claude CLI #{cli_version}, #{RUNS} runs per mode, settle #{SETTLE} s, #{Etc.nprocessors} CPUs, load average #{loadavg} at the start"
  puts "TypeScript SDK: skipped (node, or `npm install` in bench/node, missing)" unless node
  rows = []
  cpu_before = Process.times
  cold = ruby_mode(:cold, options, pool)
  cpu = Process.times
  cli_cpu = (cpu.cutime + cpu.cstime - cpu_before.cutime - cpu_before.cstime) / RUNS
  rows << ["agent_sdk (Ruby)", :cold, *cold]
  rows << ["TypeScript SDK", :cold, *node_mode(:cold, options)] if node
  rows << ["agent_sdk (Ruby)", :prewarmed, *ruby_mode(:prewarmed, options, pool)]
  rows << ["TypeScript SDK", :prewarmed, *node_mode(:prewarmed, options)] if node
  rows << ["agent_sdk (Ruby)", :second, *ruby_mode(:second, options, pool)]
  rows << ["TypeScript SDK", :second, *node_mode(:second, options)] if node
  pool.shutdown

  ts_version = rows.find { |row| row[0] == "TypeScript SDK" }&.last
  puts "TypeScript SDK: @anthropic-ai/claude-agent-sdk #{ts_version}" if ts_version
  puts format("%-18s %-10s %-28s %-28s", "", "mode", "prompt→first message", "prompt→result")
  rows.each do |sdk, mode, first, result|
    puts format("%-18s %-10s %-28s %-28s", sdk, mode, summary(first), summary(result))
  end
  puts format("CPU of the CLI per cold query (its user + system time, reaped): %.2f s", cli_cpu)
  ours = median(rows.find { |r| r[0].start_with?("agent_sdk") && r[1] == :prewarmed }[3])
  theirs = rows.find { |r| r[0] == "TypeScript SDK" && r[1] == :prewarmed }&.[](3)
  line = format("prewarmed prompt→result median: %.3f s (target ≤ 0.25 s)", ours)
  line += format("; TypeScript SDK startup(): %.3f s (ratio %.2f)", median(theirs), ours / median(theirs)) if theirs
  puts line
  puts "load average #{loadavg} at the end"
end
ensure
  server.stop
end
