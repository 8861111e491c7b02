# frozen_string_literal: true

# Soak of the prewarmed CLI pool: many queries from concurrent callers while CLIs are SIGKILLed at random, idle
# (ready in the pool) and busy (answering a query). Prints progress and RSS over time; exits non-zero on a failure.
#
#   ruby bench/cli_pool_soak.rb [--queries 200] [--size 4] [--threads 8] [--kill-every 4]   (rake compile first)
#
# A kill picks, at random, a ready CLI (idle) or another CLI child (busy: answering a query, or being started by the
# pool). On 2 cores a query costs ~2 s of CLI CPU, so 8 callers use CLIs faster than one background start refills
# the pool: most queries then start their own (pool misses) — what an app sees when demand outgrows its pool.
#
# The real claude CLI against bin/fake-model-server (each answer held 0.3 s, so that queries are busy long enough
# to be killed), a throw-away HOME and cwd. Passes when
#   - every query ended with a result or a typed error (RubyLLM::AgentSDK::Error), nothing else, nothing hanging;
#   - after pool.shutdown no process is left: no child of this process but the server, and no process anywhere
#     with this run's HOME in its environment (a CLI or anything it started);
#   - RSS stays bounded: this process's RSS and the sum over its CLI children's, printed every few seconds (the
#     check: this process's RSS at the end is under twice what it was after the first 20 queries, + 50 MB).
require "json"
require "tmpdir"
require "fileutils"
require_relative "support/fake_server_process"

ROOT = File.expand_path("..", __dir__)
$LOAD_PATH.unshift File.join(ROOT, "lib")
require "ruby_llm/agent_sdk"

SDK = RubyLLM::AgentSDK

def arg(name, default)
  i = ARGV.index("--#{name}")
  i ? Float(ARGV[i + 1]) : default
end

QUERIES = arg("queries", 200).to_i
SIZE = arg("size", 4).to_i
THREADS = arg("threads", 8).to_i
KILL_EVERY = arg("kill-every", 4.0)

def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

def rss_kb(pid)
  File.read("/proc/#{pid}/status")[/^VmRSS:\s+(\d+)/, 1].to_i
rescue SystemCallError
  0
end

# [pid, ppid] of every process.
def process_table
  Dir.glob("/proc/[0-9]*/stat").filter_map do |stat|
    fields = File.read(stat).split(") ", 2).last.split
    [Integer(File.basename(File.dirname(stat))), Integer(fields[1]), fields[0]]
  rescue SystemCallError
    nil
  end
end

def children(except)
  process_table.select { |pid, ppid, state| ppid == Process.pid && pid != except && state != "X" }.map(&:first)
end

# Processes (any parent) with this run's HOME in their environment.
def with_home(home)
  marker = "HOME=#{home}\0"
  process_table.map(&:first).select do |pid|
    pid != Process.pid && File.binread("/proc/#{pid}/environ").include?(marker)
  rescue SystemCallError
    false
  end
end

server = FakeServerProcess.start([], default: { text: "soak", delay: 0.3 })
failures = []
begin
  Dir.mktmpdir("agent_sdk_pool_soak") do |dir|
    home = File.join(dir, "home")
    cwd = File.join(dir, "project")
    FileUtils.mkdir_p([home, cwd])
    env = { "ANTHROPIC_BASE_URL" => server.base_url, "ANTHROPIC_API_KEY" => "sk-ant-soak-not-a-real-key",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC" => "1", "HOME" => home, "IS_SANDBOX" => "1" }
    pool = SDK::Pool.new(:soak, size: SIZE, check_interval: 0.5, cli_path: SDK::CLI.find, cwd: cwd,
                                model: "claude-sonnet-4-5", env: env)
    puts "#{QUERIES} queries, pool of #{SIZE}, #{THREADS} callers, a SIGKILL every ~#{KILL_EVERY} s; " \
         "#{Etc.nprocessors} CPUs, load average #{File.read("/proc/loadavg").split.first(3).join(" ")}"
    started = now
    pool.wait_ready(SIZE, timeout: 300) or abort "the pool did not fill in 300 s"
    puts format("pool ready after %.1f s", now - started)

    todo = Queue.new
    QUERIES.times { |i| todo << i }
    outcomes = Queue.new
    done = false
    kills = Hash.new(0)
    baseline_rss = nil
    samples = []

    killer = Thread.new do
      until done
        sleep rand * 2 * KILL_EVERY
        ready = pool.ready_pids
        busy = children(server.pid) - ready
        kind, pids = rand < 0.5 ? [:idle, ready] : [:busy, busy]
        kind, pids = (kind == :idle ? [:busy, busy] : [:idle, ready]) if pids.empty?
        next if pids.empty? || done

        begin
          Process.kill("KILL", pids.sample)
          kills[kind] += 1
        rescue Errno::ESRCH
          nil
        end
      end
    end

    monitor = Thread.new do
      until done
        kids = children(server.pid)
        sample = { t: now - started, done: outcomes.size, ruby_mb: rss_kb(Process.pid) / 1024.0,
                   clis: kids.size, clis_mb: kids.sum { |pid| rss_kb(pid) } / 1024.0 }
        samples << sample
        baseline_rss ||= sample[:ruby_mb] if sample[:done] >= 20
        stats = pool.stats
        puts format("%6.1f s  %3d/%d done  ruby %6.1f MB  %2d CLIs %7.1f MB  ready %d starting %d misses %d kills %s",
                    sample[:t], sample[:done], QUERIES, sample[:ruby_mb], sample[:clis], sample[:clis_mb],
                    stats[:ready], stats[:starting], stats[:misses], kills.to_h.inspect)
        sleep 5
      end
    end

    callers = Array.new(THREADS) do
      Thread.new do
        loop do
          i = begin
            todo.pop(true)
          rescue ThreadError
            break
          end
          outcome = begin
            result = nil
            SDK.query("question #{i}", pool: pool) { |message| result = message if message.result? }
            result ? :result : :no_result
          rescue SDK::Error => e
            e.class.name.split("::").last.to_sym
          rescue StandardError => e
            "untyped #{e.class}: #{e.message}"
          end
          outcomes << outcome
        end
      end
    end
    callers.each { |thread| thread.join(1800) || failures << "a caller did not finish in 30 min" }
    done = true
    [killer, monitor].each { |thread| thread.join(15) }
    elapsed = now - started

    results = Array.new(outcomes.size) { outcomes.pop }
    tally = results.tally
    puts format("%d queries in %.1f s: %s", results.size, elapsed, tally.inspect)
    puts "kills: #{kills.to_h.inspect}; pool: #{pool.stats.inspect}"
    failures << "#{QUERIES - results.size} queries without an outcome" if results.size != QUERIES
    bad = results.reject { |r| r.is_a?(Symbol) && r != :no_result }
    failures << "queries without a result or a typed error: #{bad.tally.inspect}" unless bad.empty?

    ruby_peak = samples.map { |s| s[:ruby_mb] }.max.to_f
    clis_peak = samples.map { |s| s[:clis_mb] }.max.to_f
    final_rss = rss_kb(Process.pid) / 1024.0
    puts format("RSS: ruby after 20 queries %.1f MB, peak %.1f MB, at the end %.1f MB; CLIs peak %.1f MB (%d at most)",
                baseline_rss.to_f, ruby_peak, final_rss, clis_peak, samples.map { |s| s[:clis] }.max.to_i)
    failures << format("ruby RSS grew from %.1f to %.1f MB", baseline_rss, final_rss) if baseline_rss && final_rss > 2 * baseline_rss + 50

    pool.shutdown
    deadline = now + 30
    sleep 0.1 until (children(server.pid).empty? && with_home(home).empty?) || now > deadline
    left = children(server.pid) | with_home(home)
    puts "after shutdown: #{left.empty? ? "no process left" : "left: #{left.inspect}"}"
    failures << "processes left behind: #{left.inspect}" unless left.empty?
  end
ensure
  server.stop
end
if failures.empty?
  puts "PASS"
else
  puts "FAIL: #{failures.join("; ")}"
  exit 1
end
