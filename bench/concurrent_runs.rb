# frozen_string_literal: true

# Many :api runs at once in one process: wall time against the server-latency ideal, and peak RSS. Numbers only.
#
#   ruby bench/concurrent_runs.rb [--delay MS] [--servers K] [--ns 10,100,1000] [--thread-ns 10,100] [--ruby-server]
#                                                                                  (bundle exec rake compile first)
# Each run is 3 model turns — tool_use, tool_use, final text — of a trivial Ruby tool (lookup_order, ~200 bytes of
# JSON back). The server — K processes of their own on different ports, runs spread round-robin; default K = 2 —
# holds every answer DELAY ms (default 500) before its headers, then streams it as the Messages API does (each SSE
# event written on its own). It picks each answer from the conversation in the request, so concurrent runs cannot
# take each other's turns. The server is bench/support/agent_turn_server.js when `node` is on PATH (one event loop;
# about half the CPU of the Ruby server at N = 1,000, which leaves more of the machine to the client), else, or with
# --ruby-server, bench/support/agent_turn_server.rb (the project's FakeServer, a thread per connection); both send
# the same bytes, one write per event.
#
#   ideal = 3 × DELAY: what a run takes when the client and the server cost nothing.
#
# query_all: RubyLLM::AgentSDK.query_all(N jobs, transport: :api, session_store: :memory, tools: [LookupOrder])
#   — one thread, one curl multi handle; for N in --ns.
# threads:   N Ruby threads each calling RubyLLM::AgentSDK.query (its own runner and connection); for N in --thread-ns.
#
# Ruby server processes run with a larger initial Ruby heap (SERVER_GC_ENV below): FakeServer keeps every request
# it answered (parsed), and with Ruby's default heap its GC (mostly marking those) takes a third of its CPU at N=1000.
# The client process runs with Ruby's defaults.
#
# Each (mode, N) runs in a fresh child process (so its peak RSS, VmHWM from /proc/self/status, is its own); wall
# time from the query_all call (or the first Thread.new) until the last result; client CPU (all threads) over the
# same span; the servers' CPU (from /proc) over the child's lifetime, to show whether they kept up.
require "json"
require "rbconfig"
require_relative "support/fake_server_process"

ROOT = File.expand_path("..", __dir__)
TOOL_TURNS = 2
TURNS = TOOL_TURNS + 1
SERVER_GC_ENV = { "RUBY_GC_HEAP_INIT_SLOTS" => "1500000", "RUBY_GC_MALLOC_LIMIT" => "100000000",
                  "RUBY_GC_OLDMALLOC_LIMIT" => "200000000" }.freeze
SYSTEM_PROMPT = "You are the support agent of Example Shop. Use lookup_order before answering about an order. " * 10
# The last turn's text, as both servers send it: a run is right when its result is a success of TURNS turns with it.
FINAL_TEXT = "Your order has shipped with DHL Express, tracking number 1Z999AA10123456784; it should arrive on Friday."

# ---- child: one (mode, N) measurement ---------------------------------------------------------------------------
if ARGV[0] == "--child"
  mode, n, urls = ARGV[1], Integer(ARGV[2]), ARGV[3].split(",")
  $LOAD_PATH.unshift File.join(ROOT, "lib")
  require "ruby_llm/agent_sdk"

  class LookupOrder < RubyLLM::AgentSDK::Tool
    description "Look up an order by its number"
    param :order_number, :string, required: true
    def call(order_number:)
      { "order_number" => order_number, "status" => "shipped", "carrier" => "DHL Express",
        "tracking" => "1Z999AA10123456784", "estimated_delivery" => "2026-03-06",
        "items" => [{ "sku" => "CI-CASS-24", "name" => "Cast-iron casserole 24 cm", "qty" => 1 }] }
    end
  end

  shared = { transport: :api, model: "claude-sonnet-4-5", api_key: "sk-ant-bench-0000", system_prompt: SYSTEM_PROMPT,
             session_store: :memory, tools: [LookupOrder], max_turns: TURNS + 1, max_retries: 0,
             request_timeout: 120, idle_timeout: 120 }
  results = Array.new(n)
  rss_before = BenchUtil.rss_mb
  cpu0, wall0 = BenchUtil.cpu_now, BenchUtil.wall_now
  case mode
  when "query_all"
    jobs = Array.new(n) { |i| { prompt: "Where is my order ORD-#{i}?", base_url: urls[i % urls.size] } }
    RubyLLM::AgentSDK.query_all(jobs, **shared) { |i, m| results[i] = m if m.result? }
  when "threads"
    threads = Array.new(n) do |i|
      Thread.new do
        RubyLLM::AgentSDK.query("Where is my order ORD-#{i}?", **shared, base_url: urls[i % urls.size]) do |m|
          results[i] = m if m.result?
        end
      end
    end
    threads.each(&:join)
  end
  wall, cpu = BenchUtil.wall_now - wall0, BenchUtil.cpu_now - cpu0
  right = ->(r) { r.subtype == "success" && r.num_turns == TURNS && r.content == FINAL_TEXT }
  ok = results.count { |r| r && right.call(r) }
  errors = results.compact.reject(&right).map { |r| "#{r.subtype}, #{r.num_turns} turns: #{r.content.to_s[0, 120]}" }
                  .tally.first(3)
  puts JSON.generate(wall: wall, cpu: cpu, ok: ok, hwm: BenchUtil.peak_rss_mb, rss_before: rss_before, errors: errors)
  exit
end

# ---- parent ------------------------------------------------------------------------------------------------------
args = ARGV.dup
opt = lambda do |name, default|
  (i = args.index(name)) ? args.slice!(i, 2).last : default
end
delay = Float(opt.call("--delay", "500")) / 1000
servers = Integer(opt.call("--servers", "2"))
ns = opt.call("--ns", "10,100,1000").split(",").reject(&:empty?).map { |x| Integer(x) }
thread_ns = opt.call("--thread-ns", "10,100").split(",").reject(&:empty?).map { |x| Integer(x) }
server_kind = (args.delete("--ruby-server") || FakeServerProcess.node.nil?) ? :ruby : :node
abort "unknown argument(s): #{args.join(' ')}" if args.any?
ideal = TURNS * delay

puts "concurrent :api runs — #{TURNS} turns each (#{TOOL_TURNS} tool_use + text), server delay #{(delay * 1000).round} ms " \
     "per answer, ideal #{ideal.round(2)} s; #{servers} fake server process(es); Ruby #{RUBY_VERSION}, " \
     "#{Etc.nprocessors} cores"
header = lambda do |server_label|
  puts "server: #{server_label}"
  puts format("%-10s %6s %9s %8s %9s %10s %12s %14s  %s", "mode", "N", "wall s", "/ideal", "ok", "peak RSS",
              "client CPU", "server CPU", "notes")
  header = nil
end

measure = lambda do |mode, n|
  procs = Array.new(servers) do
    FakeServerProcess.agent_turns(delay: delay, tool_turns: TOOL_TURNS, server: server_kind, env: SERVER_GC_ENV)
  end
  header&.call(procs.first.label)
  begin
    before = procs.map(&:cpu)
    out = IO.popen([RbConfig.ruby, __FILE__, "--child", mode, n.to_s, procs.map(&:base_url).join(",")], &:read)
    server_cpu = procs.each_with_index.map { |p, i| p.cpu - before[i] }
  ensure
    procs.each(&:stop)
  end
  r = JSON.parse(out.lines.last.to_s) rescue nil
  unless $?.success? && r
    puts format("%-10s %6d  child failed", mode, n)
    next
  end
  notes = []
  notes << "errors: #{r['errors'].map { |e, c| "#{c}× #{e}" }.join('; ')}" if r["errors"].any?
  busiest = server_cpu.max
  notes << format("busiest server at %d%% of a core", busiest / r["wall"] * 100) if busiest / r["wall"] > 0.6
  puts format("%-10s %6d %9.3f %7.2f× %4d/%-4d %7.1f MB %10.2f s %14s  %s", mode, n, r["wall"], r["wall"] / ideal, r["ok"],
              n, r["hwm"], r["cpu"], server_cpu.map { |c| format("%.2f", c) }.join("+") + " s", notes.join(", "))
end

ns.each { |n| measure.call("query_all", n) }
thread_ns.each { |n| measure.call("threads", n) }
puts "peak RSS: VmHWM of the child process (Ruby + the gem loaded: see N=10); server CPU: per server process, " \
     "over the child's whole life (the child's start-up included)"
